"""``python slow_server.py PORT SECONDS``: gevent's pywsgi (greenkit's,
through the alias) answering every request after ``gevent.sleep(SECONDS)``;
SIGTERM stops it cleanly (exit 0)."""

from __future__ import annotations

import signal
import sys

import gevent
from scenario import slow_server

PORT, SECONDS = int(sys.argv[1]), float(sys.argv[2])
server = slow_server(SECONDS, PORT)
gevent.signal_handler(signal.SIGTERM, server.stop)
print(f"listening on {PORT}", flush=True)
server.serve_forever()
print("stopped", flush=True)
