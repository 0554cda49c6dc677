"""Cooperative counterparts of ``select.select`` and ``select.poll``.

Both first ask the system, without blocking, whether anything is ready
(which also validates the arguments and reports closed descriptors the way
the standard library does); only if nothing is ready do they start io
watchers and park the calling greenlet until one fires or the timeout
expires.  Every other public name of ``select`` (``error``, ``POLLIN``,
``epoll``, ...) is re-exported unchanged.  Monkey patching copies
``__implements__`` into ``select``.
"""

from __future__ import annotations

import os as _os
import select as _select
from collections.abc import Iterable
from errno import EBADF
from typing import Any

from greenkit._stdlib_mirror import reexport
from greenkit.event import Event
from greenkit.hub import get_hub, sleep

__implements__ = ["select"]
if hasattr(_select, "poll"):
    __implements__.append("poll")
__imports__ = ["error"]
__extensions__: list[str] = []
__all__ = __implements__ + __imports__ + __extensions__

# Re-export the rest of ``select``.
reexport(globals(), _select, __implements__)

error = _select.error
#: The unpatched ``select.select`` (non-blocking checks go through it).
_original_select = _select.select
_original_poll = getattr(_select, "poll", None)

_READ = 1
_WRITE = 2
POLLIN: int = getattr(_select, "POLLIN", 1)
POLLPRI: int = getattr(_select, "POLLPRI", 2)
POLLOUT: int = getattr(_select, "POLLOUT", 4)
POLLNVAL: int = getattr(_select, "POLLNVAL", 32)


def _fileno(obj: Any) -> int:
    """The descriptor of ``obj`` (an int or an object with ``fileno()``), as
    ``select`` and ``poll`` want it."""
    if isinstance(obj, int):
        fd = obj
    else:
        try:
            method = obj.fileno
        except AttributeError:
            raise TypeError("argument must be an int, or have a fileno() method.") from None
        fd = method()
        if not isinstance(fd, int):
            raise TypeError("fileno() returned a non-integer")
    if fd < 0:
        raise ValueError(f"file descriptor cannot be a negative integer ({fd})")
    return fd


class _Readiness:
    """Collects what the io watchers report and wakes the waiting greenlet."""

    def __init__(self) -> None:
        self.event = Event()
        self.watchers: list[Any] = []
        self.ready: dict[Any, int] = {}

    def add(self, key: Any, events: int) -> None:
        self.ready[key] = self.ready.get(key, 0) | events
        self.event.set()

    def _fired(self, watcher: Any, key: Any, events: int) -> None:
        watcher.stop()
        self.add(key, events)

    def watch(self, loop: Any, fd: int, key: Any, events: int, on_bad_fd: int) -> None:
        """Start a watcher on ``fd`` reporting ``events`` for ``key``; a
        descriptor libev refuses is reported at once with ``on_bad_fd``."""
        try:
            watcher = loop.io(fd, events)
            self.watchers.append(watcher)
            watcher.start(self._fired, watcher, key, events)
        except OSError as ex:
            if ex.errno != EBADF:
                raise
            self.add(key, on_bad_fd)

    def close(self) -> None:
        for watcher in self.watchers:
            watcher.close()

    def wait(self, timeout: float | None) -> None:
        """Wait (unless something is ready already), then release the watchers."""
        try:
            if not self.ready:
                self.event.wait(timeout)
        finally:
            self.close()


def select(
    rlist: Iterable[Any], wlist: Iterable[Any], xlist: Iterable[Any], timeout: float | None = None
) -> tuple[list[Any], list[Any], list[Any]]:
    """Wait until some of the objects are ready; like ``select.select``, but
    only the calling greenlet blocks.

    Objects are descriptors or have ``fileno()``; a closed descriptor raises
    ``OSError(EBADF)`` and a bad object TypeError, as in the standard
    library.  ``xlist`` is checked when called but not waited on.  Returns
    ``(readable, writable, exceptional)``.
    """
    if timeout is not None:
        if not isinstance(timeout, (int, float)):
            raise TypeError("timeout must be a float or None")
        if timeout < 0:
            raise ValueError("timeout must be non-negative")
    # Sequences go to the system select as they are (it reads them live, as
    # the standard library does); other iterables are read once.
    rlist, wlist, xlist = (
        objects if isinstance(objects, (list, tuple)) else list(objects)
        for objects in (rlist, wlist, xlist)
    )
    ready = _original_select(rlist, wlist, xlist, 0)
    if timeout == 0 or any(ready):
        # select() is where loops written for threads (asyncore, servers
        # polling in a thread) give others a turn: always yield once, or one
        # such loop whose descriptors stay ready would starve every greenlet.
        sleep(0)
        return ready
    loop = get_hub().loop
    readiness = _Readiness()
    try:
        for objects, events in ((rlist, _READ), (wlist, _WRITE)):
            for obj in objects:
                # A descriptor closed meanwhile is returned as ready, so that
                # the caller's next operation on it reports the error.
                readiness.watch(loop, _fileno(obj), (events, obj), events, events)
    except BaseException:
        readiness.close()
        raise
    readiness.wait(timeout)
    keys = list(readiness.ready)
    return (
        [obj for events, obj in keys if events == _READ],
        [obj for events, obj in keys if events == _WRITE],
        [],
    )


def _invalid(fd: int) -> bool:
    try:
        _os.fstat(fd)
    except OSError:
        return True
    return False


class poll:
    """A cooperative ``select.poll`` object.

    ``register``/``modify``/``unregister`` behave like the standard
    library's; :meth:`poll` blocks only the calling greenlet.  A registered
    descriptor that was closed is reported with ``POLLNVAL``.
    """

    def __init__(self) -> None:
        self.fds: dict[int, int] = {}

    def register(self, fd: Any, eventmask: int = POLLIN | POLLPRI | POLLOUT) -> None:
        """Watch ``fd`` (a descriptor or an object with ``fileno()``) for ``eventmask``."""
        self.fds[_fileno(fd)] = int(eventmask)

    def modify(self, fd: Any, eventmask: int) -> None:
        """Change the events of a registered ``fd``; FileNotFoundError if it is not."""
        fileno = _fileno(fd)
        if fileno not in self.fds:
            raise FileNotFoundError(2, "No such file or directory")
        self.fds[fileno] = int(eventmask)

    def unregister(self, fd: Any) -> None:
        """Stop watching ``fd``; KeyError if it is not registered."""
        del self.fds[_fileno(fd)]

    def _ready_now(self) -> list[tuple[int, int]]:
        fds = self.fds
        rlist = [fd for fd, mask in fds.items() if mask & POLLIN]
        wlist = [fd for fd, mask in fds.items() if mask & POLLOUT]
        xlist = [fd for fd, mask in fds.items() if mask & POLLPRI]
        try:
            r, w, x = _original_select(rlist, wlist, xlist, 0)
        except OSError as ex:
            if ex.errno != EBADF:
                raise
            return [(fd, POLLNVAL) for fd in fds if _invalid(fd)]
        except ValueError:  # a descriptor beyond FD_SETSIZE: ask poll itself
            assert _original_poll is not None
            poller = _original_poll()
            for fd, mask in fds.items():
                poller.register(fd, mask)
            ready: list[tuple[int, int]] = poller.poll(0)
            return ready
        result: dict[int, int] = {}
        for fds_ready, flag in ((r, POLLIN), (w, POLLOUT), (x, POLLPRI)):
            for fd in fds_ready:
                result[fd] = result.get(fd, 0) | flag
        return list(result.items())

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        """Wait up to ``timeout`` milliseconds (None or negative: forever) for
        registered descriptors to become ready; a list of ``(fd, events)``."""
        if timeout is not None:
            if not isinstance(timeout, (int, float)):
                raise TypeError("timeout must be an integer or None")
            timeout = None if timeout < 0 else timeout / 1000.0
        ready = self._ready_now()
        if ready or timeout == 0:
            return ready
        loop = get_hub().loop
        readiness = _Readiness()
        try:
            for fd, mask in self.fds.items():
                if mask & (POLLIN | POLLPRI):
                    readiness.watch(loop, fd, fd, _READ, POLLNVAL)
                if mask & POLLOUT:
                    readiness.watch(loop, fd, fd, _WRITE, POLLNVAL)
        except BaseException:
            readiness.close()
            raise
        readiness.wait(timeout)
        result = []
        for fd, events in readiness.ready.items():
            if events & POLLNVAL:
                result.append((fd, POLLNVAL))
                continue
            flags = POLLIN if events & _READ else 0
            flags |= POLLOUT if events & _WRITE else 0
            result.append((fd, flags))
        return result


if _original_poll is None:  # pragma: no cover - every POSIX system greenkit runs on has poll
    del poll
