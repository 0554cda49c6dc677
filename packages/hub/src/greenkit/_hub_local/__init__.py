"""Which hub (and loop) belongs to the current native thread.

Kept apart from ``greenkit.hub`` so low-level objects (Waiter, the sync
primitives) can find the current hub without importing the Hub class.
"""

from __future__ import annotations

import _thread
from typing import Any

__all__ = [
    "get_hub",
    "get_hub_noargs",
    "get_hub_if_exists",
    "get_hub_class",
    "set_hub",
    "set_default_hub_class",
    "get_loop",
    "set_loop",
]


class _Threadlocal(_thread._local):
    # Class attributes are the defaults every new thread sees.
    hub: Any = None
    loop: Any = None
    Hub: Any = None


# The original, never monkey-patched, thread-local type: a hub belongs to a
# native thread, whatever threading looks like after patching.
_threadlocal = _Threadlocal()
_default_hub_class: Any = None


def get_hub_class() -> Any:
    """The class ``get_hub()`` instantiates in this thread (``Hub`` unless changed)."""
    hubtype = _threadlocal.Hub
    if hubtype is None:
        hubtype = _threadlocal.Hub = _default_hub_class or _import_hub_class()
    return hubtype


def _import_hub_class() -> Any:
    from greenkit.hub import Hub

    return Hub


def set_default_hub_class(hubtype: Any) -> None:
    """Make ``hubtype`` the class of hubs created from now on, in every thread."""
    global _default_hub_class
    _default_hub_class = hubtype
    _threadlocal.Hub = hubtype


def get_hub() -> Any:
    """Return this thread's hub, creating it on first use."""
    hub = _threadlocal.hub
    if hub is None:
        hub = _threadlocal.hub = get_hub_class()()
    return hub


get_hub_noargs = get_hub


def get_hub_if_exists() -> Any:
    """Return this thread's hub, or None if it has none yet."""
    return _threadlocal.hub


def set_hub(hub: Any) -> None:
    """Make ``hub`` this thread's hub (None forgets it)."""
    _threadlocal.hub = hub


def get_loop() -> Any:
    """A loop kept for this thread by a hub destroyed without its loop, or None."""
    return _threadlocal.loop


def set_loop(loop: Any) -> None:
    """Keep ``loop`` for the next hub of this thread (None forgets it)."""
    _threadlocal.loop = loop
