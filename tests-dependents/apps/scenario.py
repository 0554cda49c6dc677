"""Shared by the scenarios: ``report(value)`` prints the ``RESULT <json>``
line the test reads, ``sleepers(n, seconds)`` spawns greenlets that only
sleep, to show the hub kept running beside the work, and
``slow_server(seconds)`` starts gevent's pywsgi serving requests that each
sleep that long."""

from __future__ import annotations

import json
import sys
from typing import Any

import gevent
from gevent.pywsgi import WSGIServer


def report(value: Any) -> None:
    """Hand ``value`` to the test (one JSON line on stdout)."""
    sys.stdout.write("RESULT " + json.dumps(value) + "\n")
    sys.stdout.flush()


def sleepers(count: int, seconds: float) -> list[Any]:
    """``count`` greenlets that sleep ``seconds`` and return True."""

    def nap() -> bool:
        gevent.sleep(seconds)
        return True

    return [gevent.spawn(nap) for _ in range(count)]


def slow_server(seconds: float, port: int = 0) -> WSGIServer:
    """A started pywsgi server on 127.0.0.1:``port`` (0: any free port)
    answering ``slept <path>`` to every request after ``gevent.sleep(seconds)``."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        gevent.sleep(seconds)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slept " + environ["PATH_INFO"].encode()]

    server = WSGIServer(("127.0.0.1", port), app, log=None)
    server.start()
    return server
