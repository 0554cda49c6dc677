"""Blocking the current greenlet until a file descriptor is ready.

The primitive under every cooperative I/O module (socket, select, os, file
objects, ssl): start a loop ``io`` watcher, park the greenlet in the hub
until it fires or a timeout expires, and stop the watcher again.  The public
names are re-exported by ``greenkit.socket`` as gevent's ``gevent.socket``
has them.

Hazard: libev (as Debian builds it) aborts the process if an fd is closed
while an io watcher on it is started.  Whoever closes an fd that greenlets
may be waiting on must first :func:`cancel_wait` their own watchers (the
socket's ``close()`` does), so that they wake up with ``cancel_wait_ex``,
and close it with :func:`close_fd`, which waits for watchers started by
others (a greenlet in ``select``) to go away.
"""

from __future__ import annotations

import os as _os
from errno import EBADF
from typing import TYPE_CHECKING, Any

from greenkit.exceptions import ConcurrentObjectUseError
from greenkit.hub import get_hub
from greenkit.timeout import Timeout

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = [
    "close_fd",
    "cancel_wait",
    "cancel_wait_at_once",
    "cancel_wait_ex",
    "wait",
    "wait_on_watcher",
    "wait_read",
    "wait_readwrite",
    "wait_write",
]

_close = _os.close

#: The error a greenlet waiting on an fd gets when another greenlet closes it.
cancel_wait_ex = OSError(EBADF, "File descriptor was closed in another greenlet")

# libev event masks for io watchers.
_READ = 1
_WRITE = 2

#: Sentinel: "raise socket.timeout('timed out')" (a fresh instance each time).
_TIMED_OUT: Any = object()


def wait_on_watcher(
    watcher: Any,
    timeout: float | None = None,
    timeout_exc: Any = _TIMED_OUT,
    hub: Hub | None = None,
) -> Any:
    """Block the current greenlet until ``watcher`` (an unstarted io watcher) fires.

    After ``timeout`` seconds, raise ``timeout_exc`` (by default
    ``socket.timeout('timed out')``) instead.  Raises
    :class:`~greenkit.exceptions.ConcurrentObjectUseError` if another
    greenlet is already waiting on the same watcher.
    """
    if watcher.callback is not None:
        raise ConcurrentObjectUseError(
            f"This socket is already used by another greenlet: {watcher.callback!r}"
        )
    if hub is None:
        hub = get_hub()
    if timeout is None:
        return hub.wait(watcher)
    if timeout_exc is _TIMED_OUT:
        timeout_exc = TimeoutError("timed out")
    timer = Timeout.start_new(timeout, timeout_exc)
    try:
        return hub.wait(watcher)
    finally:
        timer.close()
        # The raised exception's traceback holds this frame: drop the
        # references that would keep the exception (and, through its
        # traceback, the caller's socket) alive until a gc run.
        del timer, timeout_exc


def _wait_fd(fileno: int, events: int, timeout: float | None, timeout_exc: Any) -> Any:
    hub = get_hub()
    assert hub.loop is not None, "waiting in a destroyed hub"
    watcher = hub.loop.io(fileno, events)
    try:
        return wait_on_watcher(watcher, timeout, timeout_exc, hub)
    finally:
        watcher.close()


def wait_read(fileno: int, timeout: float | None = None, timeout_exc: Any = _TIMED_OUT) -> Any:
    """Block the current greenlet until ``fileno`` is readable (or ``timeout_exc``
    is raised after ``timeout`` seconds)."""
    return _wait_fd(fileno, _READ, timeout, timeout_exc)


def wait_write(
    fileno: int, timeout: float | None = None, timeout_exc: Any = _TIMED_OUT, event: Any = None
) -> Any:
    """Block the current greenlet until ``fileno`` is writable (or ``timeout_exc``
    is raised after ``timeout`` seconds).  ``event`` is ignored (gevent kept it
    for compatibility)."""
    return _wait_fd(fileno, _WRITE, timeout, timeout_exc)


def wait_readwrite(
    fileno: int, timeout: float | None = None, timeout_exc: Any = _TIMED_OUT, event: Any = None
) -> Any:
    """Block the current greenlet until ``fileno`` is readable or writable (or
    ``timeout_exc`` is raised after ``timeout`` seconds).  ``event`` is ignored."""
    return _wait_fd(fileno, _READ | _WRITE, timeout, timeout_exc)


def wait(io: Any, timeout: float | None = None, timeout_exc: Any = _TIMED_OUT) -> Any:
    """Deprecated name of :func:`wait_on_watcher`, kept as gevent keeps it."""
    return wait_on_watcher(io, timeout, timeout_exc)


def cancel_wait(watcher: Any, error: BaseException = cancel_wait_ex) -> None:
    """Make the greenlet waiting on ``watcher`` raise ``error`` (from the hub, soon)."""
    get_hub().cancel_wait(watcher, error)


def cancel_wait_at_once(
    watcher: Any, error: BaseException = cancel_wait_ex, hub: Hub | None = None
) -> None:
    """Close ``watcher`` now and make the greenlet waiting on it (if any) raise
    ``error``, from the hub, soon.

    Unlike :func:`cancel_wait`, libev stops watching at once, so the fd may be
    closed right after; an event already pending for the watcher is dropped
    instead of waking its greenlet as if the fd were ready.
    """
    callback = watcher.callback
    watcher.close()
    waiter = getattr(callback, "__self__", None)
    if waiter is not None:
        loop = (hub or get_hub()).loop
        assert loop is not None, "cancelling a wait in a destroyed hub"
        loop.run_callback(waiter.throw, error)


def close_fd(fd: int) -> None:
    """Close ``fd`` even while greenlets wait on it.

    libev aborts the process when a descriptor it watches vanishes, so if io
    watchers are started on ``fd`` (a greenlet blocked in ``select`` or
    ``nb_read``, say), what ``fd`` refers to is released at once (a peer
    sees the end of file) but the number stays open on ``/dev/null``: the
    waiting greenlets wake up and see readiness (end of file), and ``fd``
    is closed for good in the first loop iteration where nothing watches it.
    Otherwise this is ``os.close``.
    """
    loop = get_hub().loop
    assert loop is not None, "closing an fd in a destroyed hub"
    if not loop.closing_fd(fd):
        _close(fd)
        return
    placeholder = _os.open(_os.devnull, _os.O_RDWR | _os.O_CLOEXEC)
    try:
        _os.dup2(placeholder, fd, inheritable=False)
    finally:
        _close(placeholder)
    check = loop.check()

    def close_when_unwatched() -> None:
        if loop.closing_fd(fd):
            return  # still watched: those were woken again; look next iteration
        check.close()
        _close(fd)

    check.start(close_when_unwatched)
