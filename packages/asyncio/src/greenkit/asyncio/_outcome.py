"""Carry a call's outcome (value or exception) as a value.

A function run for a coroutine in the hub's thread pool or in a greenlet
reports its exception to the awaiting coroutine, which re-raises it: the
pool or greenlet must not also report it as an unhandled error on stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["capture", "unwrap"]


def capture(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[bool, Any]:
    """``(True, func(*args, **kwargs))``, or ``(False, exception)`` for an Exception.

    Other BaseExceptions (GreenletExit from a kill, SystemExit, ...) propagate.
    """
    try:
        return True, func(*args, **kwargs)
    except Exception as exc:
        return False, exc


def unwrap(outcome: tuple[bool, Any]) -> Any:
    """The value of a captured outcome, or raise its exception (traceback kept)."""
    ok, value = outcome
    if ok:
        return value
    raise value
