"""Shared by the in-process scenarios: ``report(value)`` prints the
``RESULT <json>`` line the test reads, and ``sleepers(n, seconds)`` spawns
greenlets that only sleep, to show the hub kept running beside the work."""

from __future__ import annotations

import json
import sys
from typing import Any

import gevent


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
