"""A greenlet-based ``_thread``: "threads" are greenlets, locks block greenlets.

Monkey patching copies :data:`__implements__` into :mod:`_thread` (the
module this one mirrors: :data:`__target__`), so that code creating
threads with ``_thread.start_new_thread`` or locks with
``_thread.allocate_lock`` cooperates with the hub instead of blocking the
native thread.  Everything else of ``_thread`` is re-exported unchanged.

- :func:`start_new_thread` spawns a :class:`greenkit.greenlet.Greenlet`
  and returns its identity; :func:`get_ident` is the identity of the
  current greenlet (``id()`` of it), not of the native thread.
- :class:`LockType` is a :class:`greenkit.lock.Lock` with
  ``_thread.LockType``'s API; a failed non-blocking ``acquire`` yields to
  other greenlets, so spin loops make progress.  ``allocate_lock`` (and
  ``lock``, its 3.13 name) *is* that class, as ``threading.Lock`` is a
  type on 3.13: it does not bind as a method when stored on a class, and
  ``Lock | None`` is a valid union.
- :func:`_set_sentinel` (what ``threading.Thread`` waits on in ``join``
  up to Python 3.12) returns a lock released when the calling greenlet
  finishes; on 3.13, :func:`start_joinable_thread` returns a
  :class:`_ThreadHandle` that is done when the greenlet finishes, and
  :func:`_shutdown` waits for the non-daemon ones at exit.
"""

from __future__ import annotations

import _thread as __thread__
import os
import weakref
from collections.abc import Callable
from typing import Any, NoReturn

from greenlet import getcurrent

from greenkit._hub_local import get_hub_if_exists
from greenkit._originals import get_original
from greenkit.event import Event
from greenkit.greenlet import Greenlet, GreenletExit
from greenkit.hub import sleep
from greenkit.local import local as _local  # noqa: F401 - patched in
from greenkit.lock import Lock as _GreenLock
from greenkit.lock import RLock as _GreenRLock

#: The module monkey patching copies :data:`__implements__` into.
__target__ = "_thread"

_CANDIDATES = [
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
    "RLock",
    # Up to 3.12: what threading.Thread.join() waits on.
    "_set_sentinel",
    # 3.12+.
    "daemon_threads_allowed",
    # 3.13+: the lock type's new name; threads joined through handles;
    # waiting for them at exit.
    "lock",
    "start_joinable_thread",
    "_ThreadHandle",
    "_make_thread_handle",
    "_get_main_thread_ident",
    "_shutdown",
]

#: Monkey patching copies these into this module's target (those it has).
__implements__ = [name for name in _CANDIDATES if hasattr(__thread__, name)]

#: Extra names copied along with ``__implements__`` (none here).
__extensions__: list[str] = []

error = __thread__.error
TIMEOUT_MAX = __thread__.TIMEOUT_MAX
interrupt_main = __thread__.interrupt_main
get_native_id = __thread__.get_native_id
_excepthook = __thread__._excepthook
_ExceptHookArgs = __thread__._ExceptHookArgs
_native_stack_size = __thread__.stack_size
# Looked up now: once patched, _thread's are ours (3.13+ has them).
_native_shutdown = (
    get_original("_thread", "_shutdown") if hasattr(__thread__, "_shutdown") else None
)
_native_get_main_thread_ident: Callable[[], int] = get_original(
    "_thread",
    "_get_main_thread_ident" if hasattr(__thread__, "_get_main_thread_ident") else "get_ident",
)

#: The names of ``_thread`` re-exported unchanged.
__imports__ = [
    "error",
    "TIMEOUT_MAX",
    "interrupt_main",
    "get_native_id",
    "_excepthook",
    "_ExceptHookArgs",
]

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
    "lock",
    "stack_size",
    "start_new",
    "start_new_thread",
    "TIMEOUT_MAX",
]


def get_ident(gr: Any = None) -> int:
    """The identity of greenlet ``gr`` (default: the current one), a non-zero
    integer unique among live greenlets; it may be reused once one dies.

    Once the interpreter finalizes (after ``atexit``), greenlet refuses to
    name the current greenlet; code still running then (weak-reference
    callbacks and ``__del__`` methods taking a lock, such as logging's) gets
    the identity of its native thread's main greenlet, as it had before."""
    if gr is None:
        try:
            gr = getcurrent()
        except RuntimeError:
            native = _native_get_ident()
            return _main_greenlet_idents.get(native, native)
    return id(gr)


def _main_greenlet_ident() -> int:
    """The identity of the calling native thread's main greenlet."""
    greenlet = getcurrent()
    while greenlet.parent is not None:
        greenlet = greenlet.parent
    return id(greenlet)


_native_get_ident: Callable[[], int] = get_original("_thread", "get_ident")
#: Native thread identity -> its main greenlet's identity, for ``get_ident``
#: while the interpreter finalizes: recorded for the thread importing this
#: module (the one patching, normally the main thread, which finalizes).
_main_greenlet_idents: dict[int, int] = {_native_get_ident(): _main_greenlet_ident()}


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

    def __init__(self) -> None:
        _GreenLock.__init__(self)

    def __init_subclass__(cls, **kwargs: Any) -> NoReturn:
        # ``threading.Lock`` has never been subclassable (a function up to
        # 3.12, a final type since): neither is this stand-in for it.
        raise TypeError(f"type {LockType.__name__!r} is not an acceptable base type")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        # A lock belongs to its process and hub: like ``_thread.lock``,
        # it cannot be pickled (or copied through pickling).
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

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


#: A new, unlocked :class:`LockType`.  The class itself, not a function
#: returning one: a class stored as a class attribute does not bind as a
#: method (``lock_class = threading.Lock; self.lock_class()``), it can be
#: used in a type union (``threading.Lock | None``) and in ``isinstance``.
allocate_lock = LockType
allocate = LockType
#: ``_thread.lock``, the name of the lock type since Python 3.13.
lock = LockType


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


def start_new_thread(
    function: Callable[..., Any], args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
) -> int:
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
    _on_greenlet_done(getcurrent(), _SentinelRelease(lock))
    return lock


class _SentinelRelease:
    """Releases a sentinel lock (if locked) when its greenlet is done."""

    __slots__ = ("lock",)

    def __init__(self, lock: LockType) -> None:
        self.lock = lock

    def __call__(self, _source: Any) -> None:
        if self.lock.locked():
            self.lock.release()


#: Weak references to plain greenlets whose end someone waits for (see
#: :func:`_on_greenlet_done`); kept here so they live until they fire.
_collection_watches: set[weakref.ref[Any]] = set()


def _on_greenlet_done(greenlet: Any, callback: Callable[[Any], None]) -> None:
    """Call ``callback(source)`` once ``greenlet`` is done.

    A :class:`greenkit.greenlet.Greenlet` links it (called when it
    finishes, even if still referenced).  A plain greenlet has no links:
    the callback runs when the greenlet is garbage collected -- for the
    main greenlet of a native thread, when that thread has ended -- so it
    must not count on the interpreter being fully alive.
    """
    rawlink = getattr(greenlet, "rawlink", None)
    if rawlink is not None:
        rawlink(callback)
        return

    def collected(ref: weakref.ref[Any]) -> None:
        _collection_watches.discard(ref)
        callback(None)

    _collection_watches.add(weakref.ref(greenlet, collected))


# -- Python 3.13+: joinable threads --------------------------------------------------


class _ThreadHandle:
    """What a 3.13 ``threading.Thread`` joins: ``ident`` of its greenlet, done
    when that greenlet finishes (``join`` waits cooperatively), or in a
    forked child unless it is the forking greenlet's.

    A handle made without ``ident`` is done until :func:`start_joinable_thread`
    starts a greenlet for it, so a ``Thread`` not started yet reads as
    stopped (gevent's do on 3.13).
    """

    __slots__ = ("ident", "_done", "__weakref__")

    def __init__(self, ident: int | None = None) -> None:
        self.ident = ident
        self._done = Event()
        if ident is None:
            self._done.set()
        _handles.add(self)

    def __repr__(self) -> str:
        state = "done" if self._done.is_set() else "running"
        return f"<{type(self).__module__}.{type(self).__name__} ident={self.ident} {state}>"

    def is_done(self) -> bool:
        """True once the greenlet finished."""
        return self._done.is_set()

    def _set_done(self) -> None:
        self._done.set()
        _non_daemon.discard(self)

    def join(self, timeout: float | None = None) -> None:
        """Wait (at most ``timeout`` seconds) until the greenlet finished."""
        if not self._done.is_set():
            self._done.wait(timeout)


#: Handles of the non-daemon "threads" ``_shutdown`` waits for.
_non_daemon: set[_ThreadHandle] = set()
#: Every live handle, for :func:`_after_fork_in_child`.
_handles: weakref.WeakSet[_ThreadHandle] = weakref.WeakSet()


def start_joinable_thread(
    function: Callable[[], Any], handle: _ThreadHandle | None = None, daemon: bool = True
) -> _ThreadHandle:
    """Run ``function()`` in a new greenlet; returns the handle (``handle``, if
    given) that ``join`` waits on.  A non-daemon one is waited for at exit."""
    global _running
    if not callable(function):
        raise TypeError("thread function must be callable")
    if handle is None:
        handle = _ThreadHandle()
    greenlet = Greenlet.spawn(function)
    handle.ident = get_ident(greenlet)
    handle._done.clear()
    _running += 1
    greenlet.rawlink(_thread_done)
    greenlet.rawlink(lambda _greenlet: handle._set_done())
    if not daemon:
        _non_daemon.add(handle)
    return handle


def _make_thread_handle(ident: int) -> _ThreadHandle:
    """A handle for a running "thread" that :func:`start_joinable_thread` did
    not start (the main thread, a dummy thread): like the native one, it is
    done only when ``threading`` marks it so (``_set_done``)."""
    return _ThreadHandle(ident)


#: The identity of the greenlet forking this process, from just before the
#: fork (and, in the parent, until just after it): in the child it is the
#: main "thread", as the interpreter makes the forking thread the child's.
_forking_ident: int | None = None


def _note_forking_greenlet() -> None:
    global _forking_ident
    _forking_ident = get_ident()


def _forget_forking_greenlet() -> None:
    global _forking_ident
    _forking_ident = None


def _after_fork_in_child() -> None:
    """As after a native fork, only the forking "thread" lives on in the child:
    every other handle is done, so ``threading`` reports those threads
    stopped, joining them returns and exit does not wait for them."""
    for handle in list(_handles):
        if handle.ident != _forking_ident:
            handle._set_done()


os.register_at_fork(
    before=_note_forking_greenlet,
    after_in_parent=_forget_forking_greenlet,
    after_in_child=_after_fork_in_child,
)


def _get_main_thread_ident() -> int:
    """The identity of the main "thread": in a child forked after patching,
    the greenlet that forked (``threading`` builds the child's main thread
    for it when that greenlet had no ``Thread`` object); otherwise the native
    main thread's (after patching ``threading`` only asks in a forked
    child)."""
    if _forking_ident is not None:
        return _forking_ident
    return _native_get_main_thread_ident()


def _shutdown() -> None:
    """At exit: wait for the non-daemon greenlet "threads", then for native ones."""
    while _non_daemon:
        next(iter(_non_daemon)).join()
    if _native_shutdown is not None:
        _native_shutdown()
