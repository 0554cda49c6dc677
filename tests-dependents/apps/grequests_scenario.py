"""grequests (which monkey-patches everything when imported) fetching 30
slow URLs with ``grequests.map`` from gevent's pywsgi in the same
process."""

from __future__ import annotations

import time

import gevent
import grequests  # monkey-patches the whole standard library when imported
from scenario import report, slow_server

COUNT, SLEEP = 30, 0.5
server = slow_server(SLEEP)
base = f"http://127.0.0.1:{server.server_port}"
start = time.monotonic()
responses = grequests.map(
    [grequests.get(f"{base}/{i}", timeout=20) for i in range(COUNT)], size=COUNT
)
elapsed = time.monotonic() - start
server.stop()
report(
    {
        "answers": [[r.status_code, r.text] if r is not None else None for r in responses],
        "patched": gevent.monkey.is_module_patched("socket"),
        "elapsed": elapsed,
    }
)
