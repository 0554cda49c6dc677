"""geventhttpclient's ``HTTPClient`` (a pool of 50 connections) fetching 50
slow URLs from gevent's pywsgi in the same process, in 50 greenlets,
beside 50 sleeping greenlets."""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import time  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from geventhttpclient import HTTPClient  # noqa: E402
from scenario import report, sleepers, slow_server  # noqa: E402

COUNT, SLEEP = 50, 0.5
server = slow_server(SLEEP)
client = HTTPClient("127.0.0.1", server.server_port, concurrency=COUNT)


def fetch(index: int) -> list[Any]:
    response = client.get(f"/{index}")
    return [response.status_code, response.read().decode()]


start = time.monotonic()
naps = sleepers(COUNT, SLEEP)
jobs = [gevent.spawn(fetch, i) for i in range(COUNT)]
gevent.joinall(jobs + naps, timeout=30, raise_error=True)
elapsed = time.monotonic() - start
client.close()
server.stop()
report(
    {
        "answers": [job.value for job in jobs],
        "naps": sum(bool(n.value) for n in naps),
        "elapsed": elapsed,
    }
)
