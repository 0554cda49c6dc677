"""The libev event loop as greenkit's hub drives it.

``loop`` wraps one ``struct ev_loop``.  Besides libev's watchers it runs a
FIFO of plain callbacks (``run_callback``): they run at the start of every
loop iteration, before libev polls for I/O, within a time slice of
``sys.getswitchinterval()`` so that a flood of callbacks cannot starve I/O.
While callbacks wait, an idle watcher keeps the loop from blocking.

Errors raised by callbacks never unwind into C: they go to
``loop.handle_error`` (and from there to ``error_handler``, the hub).
KeyboardInterrupt and SystemExit raised with no error handler stop the loop
and are re-raised to whoever called ``run()``.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from time import monotonic, perf_counter
from types import TracebackType
from typing import Any

from ._backends import (
    BACKENDS,
    FLAGS,
    _backend_names,
    _flags_to_names,
    _parse_flags,
    embeddable_backends,
    get_header_version,
    get_version,
    recommended_backends,
    supported_backends,
)
from ._callbacks import ClosedCallbackQueue, _LoopHook, callback
from ._corecffi import ffi, lib

try:
    # Which greenlet is running the loop matters to destroy(); without
    # greenlet (the bare loop) the thread is the unit of execution.
    from greenlet import getcurrent as _current_context
except ImportError:  # pragma: no cover - greenlet is not a dependency of the loop
    _current_context = threading.get_ident
from .watcher import (
    EVENTS,
    async_,
    check,
    child,
    fork,
    idle,
    io,
    prepare,
    signal,
    stat,
    timer,
    watcher,
)

__all__ = [
    "loop",
    "callback",
    "EVENTS",
    "get_version",
    "get_header_version",
    "supported_backends",
    "recommended_backends",
    "embeddable_backends",
    "time",
    "READ",
    "WRITE",
    "NONE",
    "UNDEF",
    "ERROR",
    "MINPRI",
    "MAXPRI",
    "BACKENDS",
    "FLAGS",
]

UNDEF: int = lib.EV_UNDEF
NONE: int = lib.EV_NONE
READ: int = lib.EV_READ
WRITE: int = lib.EV_WRITE
ERROR: int = lib.EV_ERROR
MINPRI: int = lib.EV_MINPRI
MAXPRI: int = lib.EV_MAXPRI

#: How often (seconds) the default loop lets Python run its signal handlers.
SIGNAL_CHECK_INTERVAL = 0.3

#: The time slice is checked every this many callbacks (a power of two).
_CALLBACKS_PER_CLOCK_CHECK = 32


def time() -> float:
    """libev's wall clock (``ev_time()``)."""
    return float(lib.ev_time())


# Public here (gevent names it ``<loop module>.callback``).
callback.__module__ = __name__

_SYSTEM_EXIT_ERRORS = (KeyboardInterrupt, SystemExit)
_new_object = object.__new__
_running = threading.local()
#: The Python object that owns libev's default loop, while it is alive.
_default_loop: loop | None = None
#: Which loop watches each signal: libev allows a signal on one loop only.
_signal_owners: dict[int, tuple[loop, int]] = {}
_signal_owners_lock = threading.Lock()


class loop:
    """One libev event loop plus greenkit's FIFO of callbacks.

    ``loop(flags=None, default=None)``: ``default=None`` means the default
    loop when called from the main thread (only one default loop exists per
    process; asking again returns the same object) and a new loop otherwise.
    ``flags`` is libev's flag int, or backend/flag names ('epoll', 'poll',
    'select', 'signalfd', 'nosigmask', ...) as a comma-separated string or a
    list; with no flags libev also honours the LIBEV_FLAGS environment
    variable.
    """

    #: Rough smallest timer granularity, in seconds (libev gives no figure).
    approx_timer_resolution = 0.00001
    #: Whether ``timer.start()`` refreshes the loop's clock by default.  True,
    #: as a timer started after the loop was busy (or blocked) must count from
    #: now, not from the last poll (``spawn_later(0.5)`` after a one-second
    #: block still waits half a second, as on gevent); the cost is one clock
    #: read in the same C call.
    starting_timer_may_update_loop_time = True

    def __new__(
        cls, flags: int | str | Iterable[str] | None = None, default: bool | None = None
    ) -> loop:
        if _wants_default(default) and isinstance(_default_loop, cls):
            return _default_loop
        return super().__new__(cls)

    def __init__(
        self, flags: int | str | Iterable[str] | None = None, default: bool | None = None
    ) -> None:
        global _default_loop
        if getattr(self, "_ptr", None) is not None:
            return  # the existing default loop, handed back by __new__
        c_flags = _parse_flags(flags)
        self._origflags = c_flags
        self._default = _wants_default(default)
        self.error_handler: Any = None
        self._callbacks: deque[callback] = deque()
        self._keepaliveset: set[watcher] = set()
        #: Timers started by ``timer.restart()`` that libev has not been told
        #: about yet: armed before the next poll (see ``_arm_timers``).
        self._timers_to_arm: list[timer] = []
        self._system_error: (
            tuple[type[BaseException], BaseException, TracebackType | None] | None
        ) = None
        self._sigchld_installed = False
        self._run_depth = 0
        self._runner: Any = None
        self._destroy_pending: Any = None
        self._thread_ident = threading.get_ident()
        ptr = lib.gk_default_loop(c_flags) if self._default else lib.ev_loop_new(c_flags)
        if ptr == ffi.NULL:
            raise SystemError(f"libev could not create a loop with flags {c_flags:#x}")
        self._ptr: Any = ptr
        self._make_hooks()
        if self._default:
            _default_loop = self

    def _make_hooks(self) -> None:
        ptr = self._ptr
        # Runs queued callbacks (and arms deferred timers, feeds missed fork
        # watchers) before the poll; started only while there is such work
        # (gk_arm_prepare, gk_disarm_prepare: both check libev's own state),
        # as each run is a call into Python.
        self._prepare_hook = _LoopHook(
            self, "struct ev_prepare *", lib.gk_prepare_init, self._on_prepare
        )
        # Active only while callbacks wait: keeps the loop alive and non-blocking.
        self._idle_hook = _LoopHook(self, "struct ev_idle *", lib.gk_idle_init, self._on_idle)
        self._idle_armed = False
        # Wakes the loop for run_callback_threadsafe().
        self._async_hook = _LoopHook(self, "struct ev_async *", lib.gk_async_init, self._on_async)
        lib.ev_async_start(ptr, self._async_hook.c)
        lib.ev_unref(ptr)
        # Notices libev running the fork watchers after reinit() (see there).
        self._forks_due = False
        self._fork_hook = _LoopHook(self, "struct ev_fork *", lib.gk_fork_init, self._on_fork)
        lib.ev_fork_start(ptr, self._fork_hook.c)
        lib.ev_unref(ptr)
        # Lets Python run signal handlers while libev blocks in the main thread.
        self._signal_hook: _LoopHook | None = None
        if self._default and threading.current_thread() is threading.main_thread():
            self._signal_hook = _LoopHook(
                self,
                "struct ev_timer *",
                lib.gk_timer_init,
                self._on_signal_check,
                SIGNAL_CHECK_INTERVAL,
                SIGNAL_CHECK_INTERVAL,
            )
            lib.ev_timer_start(ptr, self._signal_hook.c)
            lib.ev_unref(ptr)

    # -- checks --------------------------------------------------------------

    def _check(self) -> Any:
        ptr = self._ptr
        if ptr is None:
            raise ValueError(f"operation on destroyed loop {self!r}")
        return ptr

    # -- properties ----------------------------------------------------------

    @property
    def ptr(self) -> Any:
        """The ``struct ev_loop *`` (None once destroyed)."""
        return self._ptr

    @property
    def default(self) -> bool:
        """True for libev's default loop (the one that handles SIGCHLD), until destroyed."""
        return self._default and self._ptr is not None

    @property
    def sig_pending(self) -> bool:
        """True when a signal watcher of this loop has received its signal and its
        callback has not run yet (libev's own flag is private to the library)."""
        return any(w.pending for w in self._keepaliveset if isinstance(w, signal))

    @property
    def backend_int(self) -> int:
        """The backend in use, as libev's EVBACKEND_* bit."""
        return int(lib.ev_backend(self._check()))

    @property
    def backend(self) -> str:
        """The backend in use, by name ('epoll', 'poll', 'select', ...)."""
        names = _backend_names(self.backend_int)
        return names[0] if names else str(self.backend_int)

    @property
    def origflags_int(self) -> int:
        """The flags the loop was created with, as an int."""
        return self._origflags

    @property
    def origflags(self) -> str:
        """The flags the loop was created with, as comma-separated names."""
        return _flags_to_names(self._origflags)

    @property
    def iteration(self) -> int:
        """How many times the loop has polled for events."""
        return int(lib.ev_iteration(self._check()))

    @property
    def depth(self) -> int:
        """How many ``run()`` calls are currently executing this loop."""
        return int(lib.ev_depth(self._check()))

    @property
    def pendingcnt(self) -> int:
        """Watchers with an event received but not yet dispatched."""
        return int(lib.ev_pending_count(self._check()))

    @property
    def activecnt(self) -> int:
        """Started watchers that keep ``run()`` from returning (callbacks count once)."""
        count = sum(1 for w in self._keepaliveset if w._ref and w.active)
        # Deferred timers (see timer.restart) are not in the keep-alive set
        # until armed; a timer restarted twice may be listed twice.
        count += len({t for t in self._timers_to_arm if t._ref and t._arm_at is not None})
        return count + (1 if self._idle_armed else 0)

    @property
    def callback_count(self) -> int:
        """Callbacks queued and not yet run."""
        return len(self._callbacks)

    def fileno(self) -> int | None:
        """The backend's file descriptor; None, since the system libev keeps it private."""
        return None

    # -- running -------------------------------------------------------------

    def run(self, nowait: bool = False, once: bool = False) -> None:
        """Run the loop until nothing keeps it alive (``nowait``: one poll without
        blocking; ``once``: one blocking poll)."""
        ptr = self._check()
        flags = (lib.EVRUN_NOWAIT if nowait else 0) | (lib.EVRUN_ONCE if once else 0)
        outer = getattr(_running, "loop", None)
        _running.loop = self
        outer_runner = self._runner
        self._runner = _current_context()
        self._run_depth += 1
        try:
            lib.ev_run(ptr, flags)
        finally:
            self._run_depth -= 1
            self._runner = outer_runner
            _running.loop = outer
            if not self._run_depth and self._destroy_pending is not None:
                lib.gk_loop_destroy(self._destroy_pending)
                self._destroy_pending = None
                self._drop_hooks()
        error = self._system_error
        if error is not None:
            self._system_error = None
            raise error[1].with_traceback(error[2])

    def break_(self, how: int = lib.EVBREAK_ONE) -> None:
        """Make the innermost ``run()`` (EVBREAK_ONE) or all of them (EVBREAK_ALL) return."""
        lib.ev_break(self._check(), how)

    def now(self) -> float:
        """The loop's cached notion of the current time, in seconds."""
        return float(lib.ev_now(self._check()))

    def update_now(self) -> None:
        """Refresh the loop's cached time from the system clock."""
        lib.ev_now_update(self._check())

    update = update_now

    def ref(self) -> None:
        """Count one more reason for ``run()`` to keep going."""
        lib.ev_ref(self._check())

    def unref(self) -> None:
        """Count one less reason for ``run()`` to keep going."""
        lib.ev_unref(self._check())

    def verify(self) -> None:
        """Check libev's internal consistency (aborts the process if corrupted)."""
        lib.ev_verify(self._check())

    def reinit(self) -> None:
        """Re-create kernel state after ``fork()``; call it in the child.

        The fork watchers run soon after, in the loop: libev runs them at the
        start of its next iteration.  libev forgets them, though, when the
        fork happened while its prepare watchers ran (where this loop runs
        its callbacks, so in any greenlet a callback started): the loop
        then runs them itself once the prepare watchers are done.
        """
        ptr = self._check()
        lib.ev_loop_fork(ptr)
        self._forks_due = True
        lib.gk_arm_prepare(ptr, self._prepare_hook.c)

    def closing_fd(self, fd: int) -> bool:
        """Tell the loop ``fd`` is about to close; True if that queued io events,
        in which case the close should wait for the next loop iteration."""
        ptr = self._check()
        before = lib.ev_pending_count(ptr)
        lib.ev_feed_fd_event(ptr, fd, lib.EV_READ | lib.EV_WRITE)
        return bool(lib.ev_pending_count(ptr) > before)

    def destroy(self) -> None:
        """Release the libev loop; the object cannot be used afterwards."""
        global _default_loop
        ptr = self._ptr
        if ptr is None:
            return
        if self._run_depth and self._runner != _current_context():
            # ev_run() is suspended on another greenlet's (or thread's) stack:
            # freeing the loop under it would corrupt memory when it resumes.
            raise RuntimeError(
                f"cannot destroy {self!r} while it runs in another greenlet or thread; "
                "make that run() return first (Hub.destroy() does)"
            )
        for w in list(self._keepaliveset):
            w.stop()
        self._keepaliveset.clear()
        self._callbacks.clear()
        if self._timers_to_arm:
            for t in self._timers_to_arm:
                t.stop()
            # (Only the loop's reference for them is left.)
            self._timers_to_arm = []
            lib.ev_unref(ptr)
        if self._default:
            self.reset_sigchld()
            if _default_loop is self:
                _default_loop = None
        with _signal_owners_lock:
            for signum in [s for s, (owner, _) in _signal_owners.items() if owner is self]:
                del _signal_owners[signum]
        # The hooks are unref'd (except idle): give the reference back before
        # stopping, or libev's active count goes negative.  (The default
        # loop's C struct is static and keeps that count across re-creation.)
        lib.gk_disarm_prepare(ptr, self._prepare_hook.c)
        lib.ev_ref(ptr)
        lib.ev_async_stop(ptr, self._async_hook.c)
        lib.ev_ref(ptr)
        lib.ev_fork_stop(ptr, self._fork_hook.c)
        if self._signal_hook is not None:
            lib.ev_ref(ptr)
            lib.ev_timer_stop(ptr, self._signal_hook.c)
        if self._idle_armed:
            lib.ev_idle_stop(ptr, self._idle_hook.c)
            self._idle_armed = False
        self._ptr = None
        self._callbacks = ClosedCallbackQueue(f"operation on destroyed loop {self!r}")
        if self._run_depth:
            # Called from a callback: ev_run() is still on the C stack, so the
            # C loop is freed when the outermost run() returns.
            self._destroy_pending = ptr
            lib.ev_break(ptr, lib.EVBREAK_ALL)
        else:
            lib.gk_loop_destroy(ptr)
            self._drop_hooks()

    def _drop_hooks(self) -> None:
        self._prepare_hook = self._idle_hook = self._async_hook = None  # type: ignore[assignment]
        self._fork_hook = None  # type: ignore[assignment]
        self._signal_hook = None

    # -- callbacks -----------------------------------------------------------

    def run_callback(self, func: Callable[..., Any], *args: Any) -> callback:
        """Run ``func(*args)`` in the loop soon (FIFO); returns a cancellable callback."""
        if not callable(func):
            raise TypeError(f"Expected callable, not {func!r}")
        # callback(func, args) without running __init__: the commonest
        # allocation of the hub (every switch into a greenlet passes here).
        cb = _new_object(callback)
        cb.callback = func
        cb.args = args
        # (A destroyed loop's queue refuses it: see ClosedCallbackQueue.)
        self._callbacks.append(cb)
        if not self._idle_armed:
            lib.gk_arm_callbacks(self._ptr, self._prepare_hook.c, self._idle_hook.c)
            self._idle_armed = True
        return cb

    def run_callback_threadsafe(self, func: Callable[..., Any], *args: Any) -> callback:
        """Like ``run_callback`` but callable from any thread: also wakes the loop."""
        if not callable(func):
            raise TypeError(f"Expected callable, not {func!r}")
        ptr = self._check()
        cb = callback(func, args)
        self._callbacks.append(cb)
        lib.ev_async_send(ptr, self._async_hook.c)
        return cb

    def _run_callbacks(self) -> None:
        callbacks = self._callbacks
        popleft = callbacks.popleft
        deadline = perf_counter() + sys.getswitchinterval()
        ran = 0
        while callbacks:
            cb = popleft()
            func = cb.callback
            if func is None:
                continue
            args = cb.args
            cb.callback = cb.args = None
            try:
                # (A plain call when there are no arguments, the commonest
                # case: cheaper than unpacking an empty tuple.)
                if args:
                    func(*args)
                else:
                    func()
            except BaseException:  # noqa: BLE001 - reported, never unwound into C
                self.handle_error(cb, *sys.exc_info())
                if self._ptr is None:
                    return
            ran += 1
            if not ran % _CALLBACKS_PER_CLOCK_CHECK and perf_counter() > deadline:
                break
        if not callbacks and self._idle_armed and self._ptr is not None:
            lib.ev_idle_stop(self._ptr, self._idle_hook.c)
            self._idle_armed = False

    def _on_prepare(self, _revents: int) -> None:
        if self._callbacks:
            self._run_callbacks()
        if self._forks_due:
            self._feed_forks()
        # Last: the callbacks above may have started timers.
        if self._timers_to_arm:
            self._arm_timers()
        if not self._callbacks and self._ptr is not None:
            # (Nothing left for the next poll: stop calling in.  Forks are
            # fed above and timers armed, so only callbacks can remain.)
            lib.gk_disarm_prepare(self._ptr, self._prepare_hook.c)

    #: Deferred timers beyond this many are armed at once, so that a greenlet
    #: that starts and cancels timeouts in a loop without ever yielding does
    #: not grow the list without bound.
    _MAX_TIMERS_TO_ARM = 1024

    def _defer_timer(self, t: timer) -> None:
        """Arm ``t`` (just restarted) before the loop next polls.

        While any timer waits to be armed, the loop holds a reference of its
        own: a greenlet woken by a watcher that starts a timeout and parks
        again must not see ``run()`` return (LoopExit) for want of active
        watchers before the timer reaches libev.
        """
        if len(self._timers_to_arm) >= self._MAX_TIMERS_TO_ARM:
            self._arm_timers()
        todo = self._timers_to_arm
        if not todo:
            lib.ev_ref(self._ptr)
            lib.gk_arm_prepare(self._ptr, self._prepare_hook.c)
        todo.append(t)

    def _arm_timers(self) -> None:
        """Hand libev the deferred timers that are still started (a timer
        stopped meanwhile, or listed twice, is skipped)."""
        todo = self._timers_to_arm
        self._timers_to_arm = []
        ptr = self._ptr
        if ptr is None:
            return
        lib.ev_unref(ptr)
        lib.ev_now_update(ptr)
        now = monotonic()
        for t in todo:
            if t._arm_at is not None:
                t._arm(ptr, now)

    def _on_fork(self, _revents: int) -> None:
        self._forks_due = False

    def _feed_forks(self) -> None:
        """Queue the fork watchers libev skipped: reinit() ran during the
        prepare phase, after libev's check for a fork and before it re-created
        the kernel state, which forgets the fork.  (Had libev run them, our
        own fork watcher would have cleared ``_forks_due``.)"""
        self._forks_due = False
        ptr = self._ptr
        if ptr is None:
            return
        for w in [w for w in self._keepaliveset if isinstance(w, fork) and w.active]:
            lib.ev_feed_event(ptr, w._watcher, lib.EV_FORK)

    def _on_idle(self, _revents: int) -> None:
        self._run_callbacks()

    def _on_async(self, _revents: int) -> None:
        if self._callbacks and not self._idle_armed:
            lib.gk_arm_callbacks(self._ptr, self._prepare_hook.c, self._idle_hook.c)
            self._idle_armed = True

    def _on_signal_check(self, _revents: int) -> None:
        """Entering Python is enough: the interpreter runs pending signal handlers."""

    # -- errors --------------------------------------------------------------

    def handle_error(
        self,
        context: Any,
        type: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Report an error raised by a callback: to ``error_handler`` if set."""
        handler = self.error_handler
        if handler is not None:
            try:
                handler.handle_error(context, type, value, tb)
            except BaseException:  # noqa: BLE001 - the handler must not kill the loop
                self._default_handle_error(None, *sys.exc_info())
            return
        self._default_handle_error(context, type, value, tb)

    def _default_handle_error(
        self,
        context: Any,
        type: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if type is not None and issubclass(type, _SYSTEM_EXIT_ERRORS):
            if self._system_error is None and value is not None:
                self._system_error = (type, value, tb)
            if self._ptr is not None:
                lib.ev_break(self._ptr, lib.EVBREAK_ALL)
            return
        print(f"Error in {context!r}:", file=sys.stderr)
        traceback.print_exception(type, value, tb, file=sys.stderr)

    # -- signals and children -------------------------------------------------

    def _claim_signal(self, signum: int) -> None:
        with _signal_owners_lock:
            owner, count = _signal_owners.get(signum, (self, 0))
            if owner is not self and owner._ptr is not None:
                raise ValueError(f"signal {signum} is already watched by another loop")
            if signum == _SIGCHLD and not self._default and _default_loop is not None:
                raise ValueError("SIGCHLD belongs to the default loop")
            _signal_owners[signum] = (self, count + 1 if owner is self else 1)

    def _release_signal(self, signum: int) -> None:
        with _signal_owners_lock:
            owner, count = _signal_owners.get(signum, (None, 0))
            if owner is self:
                if count > 1:
                    _signal_owners[signum] = (self, count - 1)
                else:
                    del _signal_owners[signum]

    def install_sigchld(self) -> None:
        """Route SIGCHLD to libev so child watchers see exits (default loop only).

        The handler found there keeps receiving SIGCHLD after libev (so
        Python's handler, and its wakeup fd, still see it).  Called again
        after the handler was replaced (``signal.signal``), it routes
        SIGCHLD to libev again, in front of the new handler, and makes
        libev look for children that exited meanwhile.
        """
        if not self._default:
            return
        err = lib.gk_install_sigchld()
        if err:
            raise OSError(err, os.strerror(err))
        self._sigchld_installed = True

    def reset_sigchld(self) -> None:
        """Put back the SIGCHLD disposition found by ``install_sigchld()``."""
        if not self._sigchld_installed:
            return
        self._sigchld_installed = False
        err = lib.gk_restore_sigchld()
        if err:
            raise OSError(err, os.strerror(err))

    # -- watcher factories ---------------------------------------------------

    def io(self, fd: int, events: int, ref: bool = True, priority: int | None = None) -> io:
        """A watcher for readiness of ``fd`` (events: 1 read, 2 write, 3 both)."""
        return io(self, fd, events, ref, priority)

    def timer(
        self, after: float, repeat: float = 0.0, ref: bool = True, priority: int | None = None
    ) -> timer:
        """A watcher firing after ``after`` seconds, then every ``repeat`` if set."""
        return timer(self, after, repeat, ref, priority)

    def signal(self, signum: int, ref: bool = True, priority: int | None = None) -> signal:
        """A watcher for delivery of signal ``signum``."""
        return signal(self, signum, ref, priority)

    def idle(self, ref: bool = True, priority: int | None = None) -> idle:
        """A watcher firing whenever the loop has nothing else to do."""
        return idle(self, ref, priority)

    def prepare(self, ref: bool = True, priority: int | None = None) -> prepare:
        """A watcher firing before each poll for I/O."""
        return prepare(self, ref, priority)

    def check(self, ref: bool = True, priority: int | None = None) -> check:
        """A watcher firing after each poll for I/O."""
        return check(self, ref, priority)

    def fork(self, ref: bool = True, priority: int | None = None) -> fork:
        """A watcher firing in the child after ``reinit()``."""
        return fork(self, ref, priority)

    def async_(self, ref: bool = True, priority: int | None = None) -> async_:
        """A watcher another thread can trigger with ``send()``."""
        return async_(self, ref, priority)

    def child(self, pid: int, trace: int = 0, ref: bool = True) -> child:
        """A watcher for status changes of child ``pid`` (default loop only)."""
        return child(self, pid, trace, ref)

    def stat(
        self,
        path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
        interval: float = 0.0,
        ref: bool = True,
        priority: int | None = None,
    ) -> stat:
        """A watcher for changes of ``path``'s stat data."""
        return stat(self, path, interval, ref, priority)

    # -- repr ----------------------------------------------------------------

    def __repr__(self) -> str:
        if self._ptr is None:
            state = "destroyed"
        else:
            state = (
                f"{'default ' if self._default else ''}backend={self.backend}"
                f" pending={self.pendingcnt} callbacks={len(self._callbacks)}"
                f" watchers={len(self._keepaliveset)}"
            )
        return f"<{type(self).__module__}.loop at {id(self):#x} {state}>"


_SIGCHLD = getattr(__import__("signal"), "SIGCHLD", 0)


def _wants_default(default: bool | None) -> bool:
    if default is None:
        return threading.current_thread() is threading.main_thread()
    return bool(default)


# -- the C -> Python entry points ---------------------------------------------

_from_handle = ffi.from_handle
_EV_ERROR: int = lib.EV_ERROR


def _unraisable(
    exc_type: type[BaseException], exc_value: BaseException, tb: TracebackType | None
) -> None:
    """Errors raised outside the dispatchers' own try blocks: never unwind into C.

    A Python signal handler (KeyboardInterrupt from SIGINT) runs as soon as
    C calls back into Python, before any of our code: hand such errors to the
    running loop like any other callback error, so Ctrl-C stops the loop.
    """
    target = _running_loop_or_none()
    if target is not None and target._ptr is not None:
        try:
            target.handle_error(None, exc_type, exc_value, tb)
            return
        except BaseException:  # noqa: BLE001 - fall back to printing
            pass
    traceback.print_exception(exc_type, exc_value, tb, file=sys.stderr)


@ffi.def_extern(onerror=_unraisable)  # type: ignore[untyped-decorator]
def _gk_watcher_fired(handle: Any, revents: int) -> None:
    w = _from_handle(handle)
    try:
        # io readiness, the commonest event, with io._fire inlined when all
        # it would do is call back (no error bit, no EVENTS marker): one
        # Python call less per socket wake-up.
        if type(w) is not io or revents & _EV_ERROR:
            w._fire(revents)
        else:
            args = w._args
            callback = w._callback
            if callback is None or args is None or (args and args[0] is EVENTS):
                w._fire(revents)
            else:
                callback(*args)
    except BaseException:  # noqa: BLE001 - reported, never unwound into C
        w.loop.handle_error(w, *sys.exc_info())
    if w._fed:
        w._after_fed_event()


def _running_loop_or_none() -> loop | None:
    return getattr(_running, "loop", None)


@ffi.def_extern(onerror=_unraisable)  # type: ignore[untyped-decorator]
def _gk_syserr() -> None:
    buf = ffi.new("char[]", 256)
    err = lib.gk_syserr_take(buf, 256)
    message = ffi.string(buf).decode("utf-8", "replace")
    error = SystemError(f"{message}: {os.strerror(err)}" if err else message)
    target = _running_loop_or_none()
    if target is None:
        _unraisable(SystemError, error, None)
        return
    target.handle_error(None, SystemError, error, None)


# The watcher factory's name before Python 3.7 made ``async`` a keyword;
# gevent keeps it as an attribute for old code, and so do we.
setattr(loop, "async", loop.async_)
