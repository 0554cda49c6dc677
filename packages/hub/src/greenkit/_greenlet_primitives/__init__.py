"""Low-level greenlet helpers for debugging.

``get_reachable_greenlets()`` answers "which greenlets are still alive in
memory?", e.g. to check that a thread's hub and its greenlets are freed once
the thread is done with them (the name is gevent's).
"""

from __future__ import annotations

import gc

from greenlet import greenlet

__all__ = ["get_reachable_greenlets"]


def get_reachable_greenlets() -> list[greenlet]:
    """Every greenlet object the garbage collector tracks (any thread, dead or
    alive), i.e. every one that has not been freed yet."""
    return [obj for obj in gc.get_objects() if isinstance(obj, greenlet)]
