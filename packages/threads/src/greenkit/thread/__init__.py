"""A greenlet-based ``_thread``: "threads" are greenlets, locks block greenlets.

Monkey patching copies :data:`__implements__` into :mod:`_thread` (the
module this one mirrors: :data:`__target__`), so that code creating
threads with ``_thread.start_new_thread`` or locks with
``_thread.allocate_lock`` cooperates with the hub instead of blocking the
native thread.  Everything else of ``_thread`` is re-exported unchanged.

- :func:`start_new_thread` spawns a :class:`greenkit.greenlet.Greenlet`
  and returns its identity; :func:`get_ident` is the identity of the
  current greenlet (``id()`` of it), not of the native thread.
- :class:`LockType` (``allocate_lock()``) is a :class:`greenkit.lock.Lock`
  with ``_thread.LockType``'s API; a failed non-blocking ``acquire``
  yields to other greenlets, so spin loops make progress.
- :func:`_set_sentinel` (what ``threading.Thread`` waits on in ``join``)
  returns a lock released when the calling greenlet finishes.
"""

from __future__ import annotations

import _thread as __thread__
import weakref
from collections.abc import Callable
from typing import Any, NoReturn

from greenlet import getcurrent

from greenkit._hub_local import get_hub_if_exists
from greenkit.greenlet import Greenlet, GreenletExit
from greenkit.hub import sleep
from greenkit.local import local as _local  # noqa: F401 - patched in
from greenkit.lock import Lock as _GreenLock
from greenkit.lock import RLock as _GreenRLock

#: Monkey patching copies these into this module's target.
__target__ = "_thread"

__implements__ = [
    "allocate_lock",
    "get_ident",
    "exit",
    "LockType",
    "stack_size",
    "start_new_thread",
    "_local",
    "start_new",
    "allocate",
    "exit_thread",
    "_set_sentinel",
    "RLock",
]
if hasattr(__thread__, "daemon_threads_allowed"):
    __implements__.append("daemon_threads_allowed")

#: Extra names copied along with ``__implements__`` (none here).
__extensions__: list[str] = []

error = __thread__.error
TIMEOUT_MAX = __thread__.TIMEOUT_MAX
interrupt_main = __thread__.interrupt_main
get_native_id = __thread__.get_native_id
_excepthook = __thread__._excepthook
_ExceptHookArgs = __thread__._ExceptHookArgs
_native_stack_size = __thread__.stack_size

#: The names of ``_thread`` re-exported unchanged.
__imports__ = ["error", "TIMEOUT_MAX", "interrupt_main", "get_native_id",
               "_excepthook", "_ExceptHookArgs"]

__all__ = [
    "LockType",
    "RLock",
    "allocate",
    "allocate_lock",
    "daemon_threads_allowed",
    "error",
    "exit",
    "exit_thread",
    "get_ident",
    "get_native_id",
    "interrupt_main",
    "stack_size",
    "start_new",
    "start_new_thread",
    "TIMEOUT_MAX",
]


def get_ident(gr: Any = None) -> int:
    """The identity of greenlet ``gr`` (default: the current one), a non-zero
    integer unique among live greenlets; it may be reused once one dies."""
    return id(getcurrent() if gr is None else gr)


class LockType(_GreenLock):
    """A lock like ``_thread.LockType`` (what ``allocate_lock()`` returns), for
    greenlets: ``acquire(blocking=True, timeout=-1)`` blocks only the calling
    greenlet; releasing an unlocked lock raises RuntimeError; any greenlet
    (or thread) may release it.

    A non-blocking ``acquire`` that fails yields to the other greenlets of
    the hub once, so ``while not lock.acquire(False): pass`` lets the holder
    run and release it.
    """

    __slots__ = ()

    def acquire(self, blocking: bool = True, timeout: float | None = -1) -> bool:
        """Lock it; see the class docstring.  Returns True if acquired."""
        acquired = _GreenLock.acquire(self, blocking, timeout)
        if not acquired and not blocking:
            hub = get_hub_if_exists()
            if hub is not None and getcurrent() is not hub and hub.loop is not None:
                sleep(0)
        return acquired

    def acquire_lock(self, blocking: bool = True, timeout: float | None = -1) -> bool:
        """Old name of :meth:`acquire`."""
        return self.acquire(blocking, timeout)

    def release_lock(self) -> None:
        """Old name of :meth:`release`."""
        self.release()

    def locked_lock(self) -> bool:
        """Old name of :meth:`locked`."""
        return self.locked()


def allocate_lock() -> LockType:
    """A new, unlocked :class:`LockType`."""
    return LockType()


allocate = allocate_lock


class RLock(_GreenRLock):
    """``_thread.RLock`` for greenlets: a re-entrant lock owned by a greenlet,
    with ``acquire(blocking=True, timeout=-1)``."""

    __slots__ = ()

    def acquire(self, blocking: bool = True, timeout: float | None = -1) -> bool:
        """Acquire it (again, by its owner); see ``threading.RLock.acquire``."""
        return _GreenRLock.acquire(self, blocking, timeout)

    def _recursion_count(self) -> int:
        return self._count if self._owner is getcurrent() else 0


#: How many greenlets started by :func:`start_new_thread` are still running.
_running = 0


def _count() -> int:
    """The number of "threads" (greenlets) started by :func:`start_new_thread`
    that have not finished."""
    return _running


def _thread_done(_greenlet: Any) -> None:
    global _running
    _running -= 1


def start_new_thread(function: Callable[..., Any], args: tuple[Any, ...] = (),
                     kwargs: dict[str, Any] | None = None) -> int:
    """Run ``function(*args, **kwargs)`` in a new greenlet; returns its ident.

    Arguments are checked like ``_thread.start_new_thread`` does.  An
    exception that escapes the function is reported by the hub."""
    global _running
    if not callable(function):
        raise TypeError("first arg must be callable")
    if not isinstance(args, tuple):
        raise TypeError("2nd arg must be a tuple")
    if kwargs is None:
        kwargs = {}
    elif not isinstance(kwargs, dict):
        raise TypeError("optional 3rd arg must be a dictionary")
    greenlet = Greenlet.spawn(function, *args, **kwargs)
    _running += 1
    greenlet.rawlink(_thread_done)
    return get_ident(greenlet)


start_new = start_new_thread


def exit() -> NoReturn:
    """End the current "thread" (greenlet) quietly."""
    raise GreenletExit


exit_thread = exit


def stack_size(size: int | None = None) -> int:
    """The stack size for new *native* threads (greenlets have none to set);
    as ``_thread.stack_size``."""
    if size is None:
        return _native_stack_size()
    return _native_stack_size(size)


def daemon_threads_allowed() -> bool:
    """Daemon threads are always allowed."""
    return True


def _set_sentinel() -> LockType:
    """A lock that is released when the current greenlet finishes.

    ``threading.Thread`` acquires it when its "thread" starts and waits for
    it in ``join()``, as with the native ``_thread._set_sentinel``, which is
    released when the native thread ends."""
    lock = LockType()
    current = getcurrent()
    release = _SentinelRelease(lock)
    rawlink = getattr(current, "rawlink", None)
    if rawlink is not None:
        rawlink(release)
    else:
        # A plain greenlet: it has no links; release once it is collected.
        release.ref = weakref.ref(current, release)
    return lock


class _SentinelRelease:
    """Releases a sentinel lock (if locked) when its greenlet is done."""

    __slots__ = ("lock", "ref")

    def __init__(self, lock: LockType) -> None:
        self.lock = lock
        self.ref: Any = None

    def __call__(self, _source: Any) -> None:
        if self.lock.locked():
            self.lock.release()
