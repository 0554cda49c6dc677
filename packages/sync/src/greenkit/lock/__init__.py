"""Locking primitives for greenlets: semaphores and locks.

:class:`Semaphore`, :class:`BoundedSemaphore` and :class:`Lock` block the
calling greenlet (not the thread) while they are unavailable; waiters get
the semaphore in the order they asked for it, and a greenlet that arrives
while others are queued does not jump the queue.  :class:`RLock` is a
re-entrant lock owned by a greenlet, usable with ``threading.Condition``.
:class:`DummySemaphore` never blocks (for code where a limit is optional).

They also work across native threads: a semaphore released in one thread
wakes greenlets of another thread's hub, or threads that have no hub at all
(those block on a native lock and never get a hub); see
``greenkit._abstract_linkable``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from greenlet import getcurrent

from greenkit._abstract_linkable import AbstractLinkable
from greenkit._hub_local import get_hub
from greenkit._originals import get_original

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = ["Semaphore", "BoundedSemaphore", "DummySemaphore", "RLock", "Lock"]

_get_ident = get_original("_thread", "get_ident")

#: ``Semaphore._ident`` once several native threads have acquired it.
_MANY_THREADS: Any = object()


def _check_lock_args(blocking: bool, timeout: float | None) -> float | None:
    """Validate ``acquire`` arguments the way ``threading.Lock`` does; -1 and
    None both mean "no limit" (returned as None)."""
    if timeout is None or timeout == -1:
        return None
    if not blocking:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if timeout < 0:
        raise ValueError("timeout value must be positive")
    return timeout


class _WithAcquires:
    """``with lock:`` acquires it (blocking) and releases it on the way out:
    the context manager of the semaphores and :class:`RLock`."""

    __slots__ = ()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        raise NotImplementedError

    def release(self) -> object:
        raise NotImplementedError

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class Semaphore(AbstractLinkable, _WithAcquires):
    """Semaphore(value=1, hub=None): a counter of available permits.

    :meth:`acquire` takes a permit, blocking the greenlet while there is
    none; :meth:`release` gives one back (any greenlet may release, whether
    or not it acquired).  The counter never goes below zero; ``value`` is
    its initial value (ValueError if negative).  A context manager:
    ``with sem:`` acquires and releases.

    Waiters are served in the order they arrived (FIFO); an ``acquire()``
    that finds permits available while greenlets are still queued queues
    behind them.  ``hub``: the hub to belong to (by default, the hub of the
    thread that first has to wait on it).
    """

    __slots__ = ("counter", "_initial", "_ident")

    _notify_all = False

    def __init__(self, value: int = 1, hub: Hub | None = None) -> None:
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        AbstractLinkable.__init__(self, hub)
        #: The number of permits available now.
        self.counter = value
        self._initial = value
        #: The native thread that has used it, or _MANY_THREADS.
        self._ident: Any = None

    def __str__(self) -> str:
        return (
            f"<{type(self).__name__} at {id(self):#x} counter={self.counter} "
            f"links={self.linkcount()}>"
        )

    def _repr_state(self) -> str:
        return f" counter={self.counter}"

    # -- the linkable protocol ---------------------------------------------------

    def ready(self) -> bool:
        """True if a permit is available (the counter is above zero)."""
        return self.counter > 0

    def _take_permit(self) -> bool:
        # No call between the test and the store: atomic under the GIL.
        counter = self.counter
        if counter > 0:
            self.counter = counter - 1
            return True
        return False

    def _return_permit(self) -> None:
        self.counter += 1

    _tracks_threads = True

    def _multithreaded(self) -> bool:
        return self._ident is _MANY_THREADS

    def _note_thread(self, ident: int) -> None:
        self._ident = ident if self._ident is None else _MANY_THREADS

    # -- public API --------------------------------------------------------------

    def locked(self) -> bool:
        """True if no permit is available (``acquire()`` would block)."""
        return self.counter <= 0

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a permit, waiting for one if necessary.

        Returns True once acquired.  With ``blocking`` false, never waits:
        returns False if no permit is available.  With ``timeout``, waits at
        most that many seconds and returns False if none came (a Timeout of
        some enclosing block still propagates).
        """
        ident = _get_ident()
        known = self._ident
        if known != ident and known is not _MANY_THREADS:
            self._note_thread(ident)
        # Fast path; no call between the test and the store (atomic under the GIL).
        counter = self.counter
        if counter > 0 and (not blocking or (not self._links and self._round is None)):
            self.counter = counter - 1
            return True
        if not blocking:
            return False
        return self._wait_core(timeout, True, True)

    def release(self) -> int:
        """Give a permit back, waking the first waiter if any; returns the counter.

        Releasing more than was acquired raises the counter above its initial
        value (see :class:`BoundedSemaphore` for a semaphore that refuses)."""
        self.counter += 1
        if self._links:
            self._check_and_notify()
        return self.counter

    def wait(self, timeout: float | None = None) -> int:
        """Wait until a permit is available, without taking it, or until ``timeout``
        seconds pass; returns the counter (0 if the time ran out, or if other
        waiters took the permits first)."""
        if self.counter > 0 and self._notifier is None and not self._links:
            return self.counter
        self._wait_core(timeout, False, True)
        return self.counter

    def _at_fork_reinit(self) -> None:
        """After ``fork()`` in the child: back to the initial value, no waiters."""
        self._reset_links()
        self.counter = self._initial
        self._ident = None


class BoundedSemaphore(Semaphore):
    """A :class:`Semaphore` whose counter may not exceed its initial value:
    releasing once too often raises ValueError ("Semaphore released too many
    times") -- usually a sign of a bug."""

    __slots__ = ()

    #: The exception raised by an excess :meth:`release`.
    _OVER_RELEASE_ERROR: type[Exception] = ValueError

    def release(self) -> int:
        if self.counter >= self._initial:
            raise self._OVER_RELEASE_ERROR("Semaphore released too many times")
        return Semaphore.release(self)


class Lock(Semaphore):
    """A mutex like ``threading.Lock``, for greenlets: a :class:`Semaphore` of
    one permit with ``threading.Lock``'s signature and errors.

    ``acquire(blocking=True, timeout=-1)``: -1 or None means no limit;
    releasing an unlocked lock raises RuntimeError("release unlocked lock").
    Not owned: any greenlet may release it.
    """

    __slots__ = ()

    def __init__(self, hub: Hub | None = None) -> None:
        Semaphore.__init__(self, 1, hub)

    def __str__(self) -> str:
        state = "locked" if self.counter <= 0 else "unlocked"
        return f"<{type(self).__name__} at {id(self):#x} {state} links={self.linkcount()}>"

    def _repr_state(self) -> str:
        return " locked" if self.counter <= 0 else " unlocked"

    def acquire(self, blocking: bool = True, timeout: float | None = -1) -> bool:
        """Lock it, waiting (at most ``timeout`` seconds, unless it is -1 or None)
        if another greenlet holds it; with ``blocking`` false, never wait.
        Returns True if acquired."""
        return Semaphore.acquire(self, blocking, _check_lock_args(blocking, timeout))

    def release(self) -> None:  # type: ignore[override]
        """Unlock it (RuntimeError if it is not locked)."""
        if self.counter > 0:
            raise RuntimeError("release unlocked lock")
        Semaphore.release(self)


class RLock(_WithAcquires):
    """A re-entrant lock: the greenlet that holds it may acquire it again, and
    must release it as many times; only that greenlet may release it
    (RuntimeError "cannot release un-acquired lock" otherwise).

    Provides ``_is_owned``, ``_release_save`` and ``_acquire_restore``, so
    ``threading.Condition(RLock())`` works.  ``hub`` is passed to the
    underlying :class:`Semaphore`.
    """

    __slots__ = ("_block", "_owner", "_count", "__weakref__")

    def __init__(self, hub: Hub | None = None) -> None:
        self._block = Semaphore(1, hub)
        self._owner: Any = None
        self._count = 0

    def __repr__(self) -> str:
        return (
            f"<{type(self).__module__}.{type(self).__name__} at {id(self):#x} "
            f"owner={self._owner!r} count={self._count} block={self._block!r}>"
        )

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Acquire it (again, if the current greenlet holds it: the count goes up).

        ``blocking`` and ``timeout`` are as for ``threading.RLock``; -1 or None
        means no limit.  Returns True if acquired."""
        me = getcurrent()
        if self._owner is me:
            self._count += 1
            return True
        if not self._block.acquire(blocking, _check_lock_args(blocking, timeout)):
            return False
        self._owner = me
        self._count = 1
        return True

    def release(self) -> None:
        """Release it once; the lock is free when the count drops to zero."""
        if self._owner is not getcurrent() or not self._count:
            raise RuntimeError("cannot release un-acquired lock")
        count = self._count = self._count - 1
        if not count:
            self._owner = None
            self._block.release()

    def locked(self) -> bool:
        """True if some greenlet holds it."""
        return self._block.locked()

    # -- what threading.Condition uses -----------------------------------------------

    def _is_owned(self) -> bool:
        return self._owner is getcurrent()

    def _release_save(self) -> tuple[int, Any]:
        """Release completely, returning the state for :meth:`_acquire_restore`."""
        if not self._count or self._owner is not getcurrent():
            raise RuntimeError("cannot release un-acquired lock")
        state = (self._count, self._owner)
        self._count = 0
        self._owner = None
        self._block.release()
        return state

    def _acquire_restore(self, state: tuple[int, Any]) -> None:
        """Re-acquire and restore the state saved by :meth:`_release_save`."""
        self._block.acquire()
        self._count, self._owner = state

    def _at_fork_reinit(self) -> None:
        """After ``fork()`` in the child: unlocked, no owner."""
        self._block._at_fork_reinit()
        self._owner = None
        self._count = 0


class DummySemaphore:
    """DummySemaphore(value=None): the :class:`Semaphore` interface, never blocking.

    For code where a limit is optional (a pool without a size): ``acquire``
    always succeeds at once, ``release`` does nothing, it is never locked.
    ``value`` is accepted for compatibility and ignored.  Links added with
    :meth:`rawlink` are called soon from the hub (it is always ready).
    """

    __slots__ = ("_pending", "__weakref__")

    def __init__(self, value: int | None = None) -> None:
        self._pending: list[tuple[Callable[[Any], Any], Any]] = []

    def __str__(self) -> str:
        return f"<{type(self).__name__}>"

    def locked(self) -> bool:
        """Always False."""
        return False

    def ready(self) -> bool:
        """Always True."""
        return True

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Always True, at once."""
        return True

    def release(self) -> None:
        """Does nothing."""

    def wait(self, timeout: float | None = None) -> int:
        """Returns 1 at once."""
        return 1

    def rawlink(self, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(self)`` soon, from the hub."""
        if not callable(callback):
            raise TypeError(f"Expected callable: {callback!r}")
        loop = get_hub().loop
        assert loop is not None, "rawlink() in a destroyed hub"
        handle = loop.run_callback(self._fire, callback)
        self._pending.append((callback, handle))

    def unlink(self, callback: Callable[[Any], Any]) -> None:
        """Cancel a :meth:`rawlink` whose callback has not run yet."""
        for i, (pending, handle) in enumerate(self._pending):
            if pending is callback or pending == callback:
                del self._pending[i]
                handle.stop()
                return

    def linkcount(self) -> int:
        """How many :meth:`rawlink` callbacks have not run yet."""
        return len(self._pending)

    def _fire(self, callback: Callable[[Any], Any]) -> None:
        for i, (pending, _) in enumerate(self._pending):
            if pending is callback:
                del self._pending[i]
                break
        try:
            callback(self)
        except:  # noqa: E722 - reported like any failing link
            get_hub().handle_error((callback, self), *sys.exc_info())

    def __enter__(self) -> bool:
        return True

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass

    def _at_fork_reinit(self) -> None:
        pass
