"""libev watchers: the objects that tell a loop what to wait for.

Every watcher owns one C ``ev_*`` struct allocated by cffi.  Its ``data``
member holds a cffi handle back to the Python object, so the one C callback
shared by all watchers can find it.  While a watcher is started the loop
keeps it alive (``loop._keepaliveset``), so a started watcher is never
collected under libev's feet; ``close()`` drops the C memory.
"""

from __future__ import annotations

import os
import signal as _signal_module
from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING, Any

from ._corecffi import ffi, lib

if TYPE_CHECKING:
    from .corecffi import loop as Loop

__all__ = [
    "EVENTS",
    "watcher",
    "io",
    "timer",
    "signal",
    "idle",
    "prepare",
    "check",
    "fork",
    "async_",
    "child",
    "stat",
]

READ: int = lib.EV_READ
WRITE: int = lib.EV_WRITE
_IO_MASK = READ | WRITE | lib.EV__IOFDSET
_NSIG = getattr(_signal_module, "NSIG", 65)


class _EventsMarker:
    """Placeholder argument replaced by the received event mask at call time."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "greenkit.loop.libev.EVENTS"


#: Pass as the first argument to ``start()`` to receive the revents mask there.
EVENTS = _EventsMarker()


def _closed_error(what: object) -> ValueError:
    return ValueError(f"operation on closed {what!r}")


_DEFAULT_PRIORITY: int = lib.GK_DEFAULT_PRIORITY
_MINPRI: int = lib.EV_MINPRI
_MAXPRI: int = lib.EV_MAXPRI
_BUSY: int = lib.GK_BUSY
_new = ffi.new
_new_handle = ffi.new_handle


def _priority_error(priority: int) -> ValueError:
    return ValueError(f"priority must be between {_MINPRI} and {_MAXPRI}: {priority!r}")


def _check_priority(priority: int) -> int:
    priority = int(priority)
    if not _MINPRI <= priority <= _MAXPRI:
        raise _priority_error(priority)
    return priority


class watcher:
    """Base of every watcher: start/stop/close, ref, priority, pending, feed."""

    __slots__ = (
        "loop",
        "_watcher",
        "_handle",
        "_callback",
        "_args",
        "_ref",
        "_ref_lent",
        "_fed",
        "__weakref__",
    )

    #: cffi type of the C struct, set by each subclass.
    _c_type = "struct ev_watcher *"
    #: C initialiser ``(w, handle, priority, *args)``, set by each subclass.
    _c_init: Callable[..., None]
    #: libev's start/stop functions for the struct, set by each subclass.  A
    #: start function may instead refuse with an errno (greenkit's io start
    #: does): ``_start_failed`` turns it into the exception.
    _start_fn: Callable[[Any, Any], int | None]
    _stop_fn: Callable[[Any, Any], None]

    def __init__(self, loop: Loop, ref: bool = True, priority: int | None = None) -> None:
        self._bind(loop, ref, priority)

    def _bind(self, loop: Loop, ref: bool, priority: int | None, *c_args: Any) -> None:
        """Allocate and initialise the C watcher; subclasses pass their C arguments."""
        if loop._ptr is None:
            raise ValueError(f"operation on destroyed loop {loop!r}")
        if priority is None:
            priority = _DEFAULT_PRIORITY
        elif type(priority) is not int or not _MINPRI <= priority <= _MAXPRI:
            priority = _check_priority(priority)
        self.loop = loop
        self._callback: Callable[..., Any] | None = None
        self._args: tuple[Any, ...] | None = None
        self._ref = True if ref else False
        self._ref_lent = False
        self._fed = False
        w = self._watcher = _new(self._c_type)
        handle = self._handle = _new_handle(self)
        self._c_init(w, handle, priority, *c_args)

    # -- state -------------------------------------------------------------

    def _live(self) -> tuple[Any, Any]:
        """The C watcher and loop pointers; ValueError once either is gone."""
        w = self._watcher
        if w is None:
            raise _closed_error(self)
        ptr = self.loop._ptr
        if ptr is None:
            raise ValueError(f"operation on destroyed loop {self.loop!r}")
        return w, ptr

    @property
    def active(self) -> bool:
        """True while the watcher is started."""
        w = self._watcher
        return w is not None and bool(w.active)

    @property
    def pending(self) -> bool:
        """True when an event was received and the callback has not run yet."""
        w = self._watcher
        return w is not None and bool(w.pending)

    @property
    def closed(self) -> bool:
        """True after ``close()``."""
        return self._watcher is None

    @property
    def callback(self) -> Callable[..., Any] | None:
        """The function called on events (None while stopped)."""
        return self._callback

    @callback.setter
    def callback(self, callback: Callable[..., Any] | None) -> None:
        if callback is not None and not callable(callback):
            raise TypeError(f"Expected callable, not {callback!r}")
        self._callback = callback

    @property
    def args(self) -> tuple[Any, ...] | None:
        """The arguments the callback receives (a tuple; None while stopped)."""
        return self._args

    @args.setter
    def args(self, args: tuple[Any, ...] | None) -> None:
        if args is not None and not isinstance(args, tuple):
            raise TypeError(f"args must be a tuple or None, not {type(args).__name__}")
        self._args = args

    @property
    def ref(self) -> bool:
        """Whether a started watcher keeps ``loop.run()`` from returning."""
        return self._ref

    @ref.setter
    def ref(self, value: bool) -> None:
        value = bool(value)
        if value == self._ref:
            return
        ptr = self.loop._ptr
        if ptr is not None:
            if value:
                self._give_ref_back(ptr)
            else:
                w = self._watcher
                if w is not None and w.active:
                    lib.ev_unref(ptr)
                    self._ref_lent = True
        self._ref = value

    @property
    def priority(self) -> int:
        """libev priority (EV_MINPRI..EV_MAXPRI); settable while stopped."""
        w = self._watcher
        if w is None:
            raise _closed_error(self)
        return self._priority_now(w)

    @priority.setter
    def priority(self, priority: int) -> None:
        w = self._watcher
        if w is None:
            raise _closed_error(self)
        if self.active or w.pending:
            raise AttributeError("Cannot set priority of an active or pending watcher")
        w.priority = _check_priority(priority)

    def _priority_now(self, w: Any) -> int:
        """The priority of the live C watcher ``w`` (a timer may not have
        handed it to libev yet)."""
        return int(w.priority)

    # -- lifecycle ---------------------------------------------------------

    def start(self, callback: Callable[..., Any], *args: Any) -> None:
        """Begin watching; ``callback(*args)`` runs in the loop on each event."""
        if not callable(callback):
            raise TypeError(f"Expected callable, not {callback!r}")
        w = self._watcher
        if w is None:
            raise _closed_error(self)
        loop = self.loop
        ptr = loop._ptr
        if ptr is None:
            raise ValueError(f"operation on destroyed loop {loop!r}")
        if not w.active:
            err = self._start_fn(ptr, w)
            if err:  # refused (io: closed fd): leave no callback behind
                raise self._start_failed(err)
            if not self._ref and not self._ref_lent:  # _lend_ref(), inlined: io is hot
                lib.ev_unref(ptr)
                self._ref_lent = True
            loop._keepaliveset.add(self)
        self._callback = callback
        self._args = args

    # An unreferenced watcher must not keep ev_run() going: once libev has
    # counted it as started (ev_start), it gives one loop reference away
    # (ev_unref), and takes it back (ev_ref) when libev stops counting it:
    # at stop(), or when libev stopped it by itself (a one-shot timer that
    # expired, an io watcher on a bad fd) and the callback runs.  Left out,
    # libev's count goes negative and ev_run() never returns.  ``_ref_lent``
    # says whether the reference is away.  (A one-shot timer restarted after
    # expiring, before its callback ran, still has it away: it is not lent
    # twice.)

    def _lend_ref(self, ptr: Any) -> None:
        if not self._ref and not self._ref_lent:
            lib.ev_unref(ptr)
            self._ref_lent = True

    def _give_ref_back(self, ptr: Any) -> None:
        if self._ref_lent:
            lib.ev_ref(ptr)
            self._ref_lent = False

    def _start_failed(self, err: int) -> Exception:
        """The error for a start function that refused with errno ``err``."""
        return OSError(err, os.strerror(err))

    def stop(self) -> None:
        """Stop watching (and forget a pending event); ``start()`` may follow."""
        w = self._watcher
        if w is None:
            return
        ptr = self.loop._ptr
        if ptr is not None:
            if self._ref_lent:  # _give_ref_back(), inlined: io is hot
                lib.ev_ref(ptr)
            if w.active or w.pending:
                self._stop_fn(ptr, w)
        self._ref_lent = False
        self._callback = None
        self._args = None
        self._fed = False
        self.loop._keepaliveset.discard(self)

    def close(self) -> None:
        """Stop and release the C watcher; the object is unusable afterwards."""
        if self._watcher is None:
            return
        self.stop()
        self._watcher = None
        self._handle = None

    def feed(self, revents: int, callback: Callable[..., Any], *args: Any) -> None:
        """Queue one event as if libev had seen it; the callback runs next iteration."""
        if not callable(callback):
            raise TypeError(f"Expected callable, not {callback!r}")
        w, ptr = self._live()
        self._callback = callback
        self._args = args
        lib.ev_feed_event(ptr, w, int(revents))
        if not w.active:
            self._fed = True
            self.loop._keepaliveset.add(self)

    def __enter__(self) -> watcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- dispatch (called from the loop's C callback) ----------------------

    def _fire(self, revents: int) -> None:
        args = self._args
        if args and args[0] is EVENTS:
            args = (revents,) + args[1:]
        self._callback(*args)  # type: ignore[misc]

    def _after_fed_event(self) -> None:
        """Drop the keep-alive a ``feed()`` on a stopped watcher took."""
        self._fed = False
        w = self._watcher
        if w is None or not w.active:
            self.loop._keepaliveset.discard(self)

    def _stopped_by_libev(self) -> None:
        """Account for libev having stopped this watcher on its own."""
        if self._ref_lent:
            ptr = self.loop._ptr
            if ptr is not None:
                lib.ev_ref(ptr)
            self._ref_lent = False
        self.loop._keepaliveset.discard(self)

    # -- repr --------------------------------------------------------------

    def _format(self) -> str:
        return ""

    def __repr__(self) -> str:
        parts = [f"<{type(self).__module__}.{type(self).__name__} at {id(self):#x}"]
        if self._watcher is None:
            parts.append(" closed")
        else:
            parts.append(self._format())
            if self.active:
                parts.append(" active")
            if self.pending:
                parts.append(" pending")
            if not self._ref:
                parts.append(" ref=False")
        if self._callback is not None:
            parts.append(f" callback={self._callback!r}")
        if self.args:
            parts.append(f" args={self.args!r}")
        return "".join(parts) + ">"


def _events_str(events: int) -> str:
    names = [name for bit, name in ((READ, "READ"), (WRITE, "WRITE")) if events & bit]
    return "|".join(names) or "0"


class io(watcher):
    """Readiness of a file descriptor: ``events`` is READ (1), WRITE (2) or both."""

    __slots__ = ("_fd", "_events")
    # libev's ev_io plus the iteration it was last stopped in: libev aborts
    # the process on an fd the kernel rejects, so greenkit's start checks the
    # fd first and returns an errno instead, except when restarted in the
    # loop iteration that stopped it (see _corecffi_source.c).
    _c_type = "struct gk_io *"
    _c_init = lib.gk_io_init
    _start_fn = lib.gk_io_start
    _stop_fn = lib.gk_io_stop

    def __init__(
        self, loop: Loop, fd: int, events: int, ref: bool = True, priority: int | None = None
    ) -> None:
        self._fd = _check_fd(fd)
        self._events = _check_events(events)
        self._bind(loop, ref, priority, self._fd, self._events)

    @property
    def fd(self) -> int:
        """The watched file descriptor (settable while stopped)."""
        return self._fd

    @fd.setter
    def fd(self, fd: int) -> None:
        self._reset(_check_fd(fd), self._events)

    @property
    def events(self) -> int:
        """The watched event mask (settable while stopped)."""
        return self._events

    @events.setter
    def events(self, events: int) -> None:
        self._reset(self._fd, _check_events(events))

    @property
    def events_str(self) -> str:
        """The event mask as text, e.g. ``'READ|WRITE'``."""
        return _events_str(self._events)

    def _reset(self, fd: int, events: int) -> None:
        w = self._watcher
        if w is None:
            raise _closed_error(self)
        if w.active:
            raise AttributeError("io watcher attribute is read-only while watcher is active")
        lib.gk_io_set(w, fd, events)
        self._fd = fd
        self._events = events

    def _start_failed(self, err: int) -> Exception:
        return OSError(err, os.strerror(err), self._fd)

    def _fire(self, revents: int) -> None:
        if revents & lib.EV_ERROR:
            # libev found the fd invalid and stopped the watcher.
            self._stopped_by_libev()
        args = self._args
        if args and args[0] is EVENTS:
            args = (revents,) + args[1:]
        self._callback(*args)  # type: ignore[misc]

    def _format(self) -> str:
        return f" fd={self._fd} events={self.events_str}"


def _check_fd(fd: int) -> int:
    if isinstance(fd, bool) or not isinstance(fd, int):
        try:
            fd = fd.__index__()
        except AttributeError:
            raise TypeError(f"fd must be an integer, not {type(fd).__name__}") from None
    if fd < 0:
        raise ValueError(f"fd must be non-negative: {fd!r}")
    err = lib.gk_fd_error(fd)
    if err:
        raise OSError(err, os.strerror(err), fd)
    return fd


def _check_events(events: int) -> int:
    if isinstance(events, bool) or not isinstance(events, int):
        raise TypeError(f"events must be an integer, not {type(events).__name__}")
    if events & ~_IO_MASK or not events & (READ | WRITE):
        raise ValueError(f"illegal event mask: {events!r}")
    return events


def _check_seconds(name: str, value: float) -> float:
    value = float(value)
    if value != value:
        raise ValueError(f"{name} must not be NaN")
    return value


class timer(watcher):
    """Fires ``after`` seconds from now, then every ``repeat`` seconds if set."""

    __slots__ = ("_after", "_repeat", "_arm_at", "_arm_priority")
    _c_type = "struct ev_timer *"
    _c_init = lib.gk_timer_init
    _start_fn = lib.ev_timer_start
    _stop_fn = lib.ev_timer_stop

    def __init__(
        self,
        loop: Loop,
        after: float = 0.0,
        repeat: float = 0.0,
        ref: bool = True,
        priority: int | None = None,
    ) -> None:
        # A negative delay means "as soon as possible", as in libev.
        if type(after) is not float:
            after = float(after)
        if type(repeat) is not float:
            repeat = float(repeat)
        if after != after or repeat != repeat:
            raise ValueError("timer delays must not be NaN")
        if repeat < 0.0:
            raise ValueError(f"repeat must be positive or zero: {repeat!r}")
        self._after = after
        self._repeat = repeat
        self._arm_at: float | None = None
        self._arm_priority = 0
        # The body of watcher._bind, inlined: timers are created per sleep()
        # and per Timeout, so one call less is worth it.
        if loop._ptr is None:
            raise ValueError(f"operation on destroyed loop {loop!r}")
        if priority is None:
            priority = _DEFAULT_PRIORITY
        elif type(priority) is not int or not _MINPRI <= priority <= _MAXPRI:
            priority = _check_priority(priority)
        self.loop = loop
        self._callback = None
        self._args = None
        self._ref = True if ref else False
        self._ref_lent = False
        self._fed = False
        w = self._watcher = _new("struct ev_timer *")
        handle = self._handle = _new_handle(self)
        lib.gk_timer_init(w, handle, priority, after, repeat)

    def start(self, callback: Callable[..., Any], *args: Any, update: bool | None = None) -> None:
        """Start the timer; ``update=True`` refreshes the loop's clock first."""
        if not callable(callback):
            raise TypeError(f"Expected callable, not {callback!r}")
        w = self._watcher
        if w is None:
            raise _closed_error(self)
        loop = self.loop
        ptr = loop._ptr
        if ptr is None:
            raise ValueError(f"operation on destroyed loop {loop!r}")
        if self._arm_at is not None:
            self._arm_now()
        if update is None:
            update = loop.starting_timer_may_update_loop_time
        self._callback = callback
        self._args = args
        if w.active:
            if update:
                lib.ev_now_update(ptr)
            return
        if update:
            lib.gk_timer_start_now(ptr, w)
        else:
            lib.ev_timer_start(ptr, w)
        if not self._ref and not self._ref_lent:  # _lend_ref(), inlined
            lib.ev_unref(ptr)
            self._ref_lent = True
        loop._keepaliveset.add(self)

    def stop(self) -> None:
        """Stop the timer (and forget a pending event); ``start()`` may follow."""
        w = self._watcher
        if w is None:
            return
        loop = self.loop
        if self._arm_at is not None:
            # Never handed to libev (see restart): nothing to undo there, and
            # only the loop's list of deferred timers holds it.
            self._arm_at = None
            self._callback = None
            self._args = None
            return
        ptr = loop._ptr
        if ptr is not None:
            # One C call: give the loop reference back, read active/pending, stop.
            lib.gk_timer_stop(ptr, w, self._ref_lent)
        self._ref_lent = False
        self._callback = None
        self._args = None
        self._fed = False
        loop._keepaliveset.discard(self)

    def restart(
        self,
        after: float,
        ref: bool,
        priority: int,
        update: bool,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> None:
        """Reuse this stopped timer: fire once ``after`` seconds from now (the
        loop's clock refreshed first if ``update``), with ``ref`` and
        ``priority``, calling ``callback(*args)``.

        ``set()`` + ``ref`` + ``priority`` + ``start()`` in a single C call,
        for the hub's pool of timers (``sleep()`` and ``Timeout``; part of
        greenkit's timer contract, ``TimerProtocol``); the caller passes a
        callable.  Raises AttributeError if the timer is active or
        pending, ValueError for a NaN delay or a priority out of range.
        """
        w = self._watcher
        if w is None:
            raise _closed_error(self)
        loop = self.loop
        ptr = loop._ptr
        if ptr is None:
            raise ValueError(f"operation on destroyed loop {loop!r}")
        if type(after) is not float:
            after = float(after)
        if after != after:
            raise ValueError("timer delays must not be NaN")
        ref = True if ref else False
        if not update:
            # (Stopped and not pending: no loop reference is lent.)
            err = lib.gk_timer_restart(ptr, w, after, priority, ref, 0)
            if err:
                if err == _BUSY:
                    raise AttributeError("Cannot reset an active or pending timer")
                raise _priority_error(priority)
            self._ref_lent = not ref
        else:
            # Counted from now, but handed to libev only when the loop next
            # prepares to poll (``loop._arm_timers``): a Timeout cancelled
            # before its greenlet yields -- the common case -- never costs a
            # libev start and stop.  The loop holds a reference meanwhile,
            # so it cannot run out of work before the timer is armed, and its
            # list of deferred timers keeps it alive (it joins the keep-alive
            # set when armed: a start and a cancel cost no set operation).
            # (A timer without a callback is stopped: no C reads for the pool's.)
            if self._arm_at is not None or (self._callback is not None and (w.active or w.pending)):
                raise AttributeError("Cannot reset an active or pending timer")
            if type(priority) is not int or not _MINPRI <= priority <= _MAXPRI:
                raise _priority_error(priority)
            self._arm_at = monotonic() + after
            self._arm_priority = priority
            self._ref_lent = False
            todo = loop._timers_to_arm
            if todo and len(todo) < loop._MAX_TIMERS_TO_ARM:
                todo.append(self)  # loop._defer_timer(), inlined: the common case
            else:
                loop._defer_timer(self)
            self._after = after
            self._repeat = 0.0
            self._ref = ref
            self._callback = callback
            self._args = args
            return
        self._after = after
        self._repeat = 0.0
        self._ref = ref
        self._callback = callback
        self._args = args
        loop._keepaliveset.add(self)

    def _arm_now(self) -> None:
        """Hand libev a timer :meth:`restart` deferred: it fires at the time
        it was due (at once if that has passed)."""
        if self._arm_at is None:
            return
        ptr = self.loop._ptr
        if ptr is None:
            self._arm_at = None
            return
        lib.ev_now_update(ptr)
        self._arm(ptr, monotonic())

    def _arm(self, ptr: Any, now: float) -> None:
        """:meth:`_arm_now` for a deferred timer, the loop's clock updated at
        ``now`` (``loop._arm_timers`` arms a batch with one clock update)."""
        deadline = self._arm_at
        assert deadline is not None, "only a deferred timer is armed"
        # libev's timers run on CLOCK_MONOTONIC, time.monotonic()'s clock.
        lib.gk_timer_restart(ptr, self._watcher, deadline - now, self._arm_priority, self._ref, 0)
        self._arm_at = None
        self._ref_lent = not self._ref
        self.loop._keepaliveset.add(self)

    @property
    def active(self) -> bool:
        """True while the timer is started."""
        w = self._watcher
        return w is not None and (self._arm_at is not None or bool(w.active))

    def _priority_now(self, w: Any) -> int:
        return self._arm_priority if self._arm_at is not None else int(w.priority)

    def feed(self, revents: int, callback: Callable[..., Any], *args: Any) -> None:
        # A deferred timer is armed first: the fed event's bookkeeping reads
        # libev's view of whether the timer is started.
        self._arm_now()
        super().feed(revents, callback, *args)

    def again(self, callback: Callable[..., Any], *args: Any, update: bool = True) -> None:
        """Restart a repeating timer ``repeat`` seconds from now (libev's ev_timer_again)."""
        if not callable(callback):
            raise TypeError(f"Expected callable, not {callback!r}")
        w, ptr = self._live()
        self._arm_now()
        if update:
            lib.ev_now_update(ptr)
        was_active = w.active
        self._callback = callback
        self._args = args
        lib.ev_timer_again(ptr, w)
        if w.active and not was_active:
            self._lend_ref(ptr)
            self.loop._keepaliveset.add(self)
        elif was_active and not w.active:
            self._give_ref_back(ptr)
            self.loop._keepaliveset.discard(self)

    def set(self, after: float, repeat: float = 0.0) -> None:
        """Give a stopped timer a new delay and repeat interval (libev's ev_timer_set)."""
        w = self._watcher
        if w is None:
            raise _closed_error(self)
        if self._arm_at is not None or w.active or w.pending:
            raise AttributeError("Cannot reset an active or pending timer")
        if type(after) is not float:
            after = float(after)
        if type(repeat) is not float:
            repeat = float(repeat)
        if after != after or repeat != repeat:
            raise ValueError("timer delays must not be NaN")
        if repeat < 0.0:
            raise ValueError(f"repeat must be positive or zero: {repeat!r}")
        lib.gk_timer_set(w, after, repeat)
        self._after = after
        self._repeat = repeat

    @property
    def at(self) -> float:
        """When the timer fires next, on the loop's clock (``loop.now()``); for a
        stopped timer, the delay it will start with."""
        w, ptr = self._live()
        self._arm_now()
        if w.active:
            return float(lib.ev_now(ptr) + lib.ev_timer_remaining(ptr, w))
        return float(w.at)

    @property
    def after(self) -> float:
        """The initial delay given at creation."""
        return self._after

    @property
    def repeat(self) -> float:
        """The repeat interval (0.0: fire once)."""
        return self._repeat

    def remaining(self) -> float:
        """Seconds until the timer fires (libev's ev_timer_remaining)."""
        w, ptr = self._live()
        self._arm_now()
        return float(lib.ev_timer_remaining(ptr, w))

    def _fire(self, revents: int) -> None:
        args = self._args
        if args and args[0] is EVENTS:
            args = (revents,) + args[1:]
        if self._repeat:
            self._callback(*args)  # type: ignore[misc]
            return
        # libev stopped a one-shot timer before calling back (unless this is
        # a fed event, or the timer was restarted since it expired).
        w = self._watcher
        if not w.active:
            self._stopped_by_libev()
        callback = self._callback
        try:
            callback(*args)  # type: ignore[misc]
        finally:
            # (Unless restarted meanwhile, maybe lazily: see restart.)
            if not w.active and self._arm_at is None and self._callback is callback:
                self._callback = None
                self._args = None

    def _format(self) -> str:
        return f" after={self._after} repeat={self._repeat}"


# The watchers with little logic of their own live in ``_watchers``; this
# module stays their public home.
from ._watchers import async_, check, child, fork, idle, prepare, signal, stat  # noqa: E402

for _kind in (async_, check, child, fork, idle, prepare, signal, stat):
    _kind.__module__ = __name__
del _kind
