"""``python slow_server.py PORT SECONDS``: gevent's pywsgi (greenkit's,
through the alias) serving an application whose every request sleeps
SECONDS with ``gevent.sleep``; SIGTERM stops it cleanly (exit 0)."""

from __future__ import annotations

import signal
import sys
from typing import Any

import gevent
from gevent.pywsgi import WSGIServer

PORT, SECONDS = int(sys.argv[1]), float(sys.argv[2])


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    gevent.sleep(SECONDS)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"slept " + environ["PATH_INFO"].encode()]


server = WSGIServer(("127.0.0.1", PORT), app, log=None)
gevent.signal_handler(signal.SIGTERM, server.stop)
print(f"listening on {PORT}", flush=True)
server.serve_forever()
print("stopped", flush=True)
