"""Which hub (and loop) belongs to the current native thread.

Kept apart from ``greenkit.hub`` so low-level objects (Waiter, the sync
primitives) can find the current hub without importing the Hub class.

This is the hub's seam for the distributions above it (timeout, sync,
greenlets, io...): they find the calling thread's hub with
:func:`get_hub` (created on first use) or :func:`get_hub_if_exists`, or,
on their hot paths, by reading ``this_thread.hub`` (an attribute read
costs less than a call).  Nothing outside this module assigns to
``this_thread``; :func:`set_hub` and :func:`set_loop` do.
"""

from __future__ import annotations

import _thread
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greenkit._interfaces import LoopProtocol
    from greenkit.hub import Hub

__all__ = [
    "get_hub",
    "get_hub_noargs",
    "get_hub_if_exists",
    "get_hub_class",
    "set_hub",
    "set_default_hub_class",
    "get_loop",
    "set_loop",
    "this_thread",
]


class _Threadlocal(_thread._local):
    # Class attributes are the defaults every new thread sees.
    #: This thread's hub, None until :func:`get_hub` creates it.
    hub: Hub | None = None
    #: A loop kept by a destroyed hub for the thread's next hub.
    loop: LoopProtocol | None = None
    #: The class :func:`get_hub` instantiates in this thread.
    Hub: type[Hub] | None = None


#: The calling native thread's record (``this_thread.hub``: its hub or None).
#: Read-only outside this module.  The original, never monkey-patched,
#: thread-local type: a hub belongs to a native thread, whatever threading
#: looks like after patching.
this_thread = _Threadlocal()
_default_hub_class: type[Hub] | None = None


def get_hub_class() -> type[Hub]:
    """The class ``get_hub()`` instantiates in this thread (``Hub`` unless changed)."""
    hubtype = this_thread.Hub
    if hubtype is None:
        hubtype = this_thread.Hub = _default_hub_class or _import_hub_class()
    return hubtype


def _import_hub_class() -> type[Hub]:
    from greenkit.hub import Hub

    return Hub


def set_default_hub_class(hubtype: type[Hub]) -> None:
    """Make ``hubtype`` the class of hubs created from now on, in every thread."""
    global _default_hub_class
    _default_hub_class = hubtype
    this_thread.Hub = hubtype


def get_hub() -> Hub:
    """Return this thread's hub, creating it on first use."""
    hub = this_thread.hub
    if hub is None:
        hub = this_thread.hub = get_hub_class()()
    return hub


get_hub_noargs = get_hub


def get_hub_if_exists() -> Hub | None:
    """Return this thread's hub, or None if it has none yet."""
    return this_thread.hub


def set_hub(hub: Hub | None) -> None:
    """Make ``hub`` this thread's hub (None forgets it)."""
    this_thread.hub = hub


def get_loop() -> LoopProtocol | None:
    """A loop kept for this thread by a hub destroyed without its loop, or None."""
    return this_thread.loop


def set_loop(loop: LoopProtocol | None) -> None:
    """Keep ``loop`` for the next hub of this thread (None forgets it)."""
    this_thread.loop = loop
