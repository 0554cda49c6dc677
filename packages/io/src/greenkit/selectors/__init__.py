"""A cooperative selector for the standard ``selectors`` module.

:class:`GreenSelector` (also under gevent's name, :class:`GeventSelector`)
has the ``selectors.BaseSelector`` interface; its :meth:`~GreenSelector.select`
blocks only the calling greenlet.  It is the :data:`DefaultSelector` here,
and monkey patching makes it ``selectors.DefaultSelector``.  Every other
public name of ``selectors`` is re-exported unchanged.
"""

from __future__ import annotations

import os as _os
import selectors as _selectors
from typing import Any

import greenkit.select as _gselect

__implements__ = ["DefaultSelector"]
__extensions__ = ["GeventSelector", "GreenSelector"]
__imports__ = [
    name
    for name in (
        "BaseSelector",
        "SelectorKey",
        "EVENT_READ",
        "EVENT_WRITE",
        "SelectSelector",
        "PollSelector",
        "EpollSelector",
        "DevpollSelector",
        "KqueueSelector",
    )
    if hasattr(_selectors, name)
]
__all__ = __implements__ + __extensions__ + __imports__

for _name in __imports__:
    globals()[_name] = getattr(_selectors, _name)
del _name

EVENT_READ = _selectors.EVENT_READ
EVENT_WRITE = _selectors.EVENT_WRITE
_POLLIN = _gselect.POLLIN
_POLLOUT = _gselect.POLLOUT


class GreenSelector(_selectors._BaseSelectorImpl):
    """A selector whose ``select()`` waits cooperatively (through
    :class:`greenkit.select.poll`).

    Registering a descriptor that is already closed raises ValueError, so
    that libev is never asked to watch it.
    """

    def register(self, fileobj: Any, events: int, data: Any = None) -> _selectors.SelectorKey:
        key = super().register(fileobj, events, data)
        try:
            _os.fstat(key.fd)
        except OSError:
            super().unregister(fileobj)
            raise ValueError(f"Invalid file descriptor: {key.fd}") from None
        return key

    def select(self, timeout: float | None = None) -> list[tuple[_selectors.SelectorKey, int]]:
        """Wait up to ``timeout`` seconds (None: forever; <= 0: do not wait)
        for registered objects to become ready: a list of ``(key, events)``."""
        poller = _gselect.poll()
        registered = self.get_map()
        for key in registered.values():
            mask = _POLLIN if key.events & EVENT_READ else 0
            mask |= _POLLOUT if key.events & EVENT_WRITE else 0
            poller.register(key.fd, mask)
        milliseconds: float | None
        if timeout is None:
            milliseconds = None
        elif timeout <= 0:
            milliseconds = 0
        else:
            milliseconds = timeout * 1000
        ready = []
        for fd, flags in poller.poll(milliseconds):
            events = 0
            if flags & ~_POLLIN:
                events |= EVENT_WRITE
            if flags & ~_POLLOUT:
                events |= EVENT_READ
            found = registered.get(fd)
            if found is not None and found.events & events:
                ready.append((found, found.events & events))
        return ready


#: gevent's name for :class:`GreenSelector`.
GeventSelector = GreenSelector

#: The selector to use under greenkit.
DefaultSelector = GreenSelector
