"""The hub: the greenlet that runs the event loop, and the basic blocking API.

Every native thread that uses greenkit has one Hub.  A greenlet that must
wait starts a watcher whose callback will switch back to it, then switches
into the hub; the hub runs the loop, and the loop's callbacks switch to
whichever greenlet is ready.  Greenlets spawned by greenkit have the hub as
parent, so a finished greenlet hands control back to the loop.
"""

from __future__ import annotations

import sys
import threading
import traceback
import weakref
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import partial
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from greenlet import GreenletExit, getcurrent
from greenlet import greenlet as RawGreenlet

from greenkit import config
from greenkit._hub_local import (
    get_hub,
    get_hub_class,
    get_hub_if_exists,
    get_hub_noargs,
    get_loop,
    set_default_hub_class,
    set_hub,
    set_loop,
    this_thread,
)
from greenkit._ident import IdentRegistry
from greenkit._originals import get_original
from greenkit._waiter import MultipleWaiter, Waiter
from greenkit.exceptions import (
    BlockingSwitchOutError,
    ConcurrentObjectUseError,
    HubDestroyed,
    InvalidSwitchError,
    LoopExit,
)
from greenkit.hub._sleepers import MAX_SECONDS, Sleepers

if TYPE_CHECKING:
    from greenkit._interfaces import LoopProtocol, TimerProtocol, WatcherProtocol
    from greenkit._monitor import PeriodicMonitoringThread

#: What ``cancel_wait`` raises in the waiting greenlet: an exception or its class.
_Raisable = BaseException | type[BaseException]

__all__ = [
    "Hub",
    "get_hub",
    "get_hub_class",
    "get_hub_if_exists",
    "get_hub_noargs",
    "set_hub",
    "set_default_hub_class",
    "getcurrent",
    "GreenletExit",
    "Waiter",
    "LoopExit",
    "ConcurrentObjectUseError",
    "BlockingSwitchOutError",
    "InvalidSwitchError",
    "HubDestroyed",
    "sleep",
    "idle",
    "kill",
    "spawn_raw",
    "reinit",
    "signal",
    "signal_handler",
    "wait",
    "iwait",
]

_MAIN_THREAD_IDENT = threading.main_thread().ident
#: The native thread's ident even after monkey patching (where
#: ``threading.get_ident`` answers for the current greenlet).
_native_get_ident: Callable[[], int] = get_original("_thread", "get_ident")
_greenlet_switch = RawGreenlet.switch
#: gevent's older private name for :func:`get_hub_if_exists`, still imported
#: by code written against gevent.
_get_hub = get_hub_if_exists
_UNSET: Any = object()


class _Woken:
    """What a watcher started by :meth:`Hub.wait` or :func:`sleep` switches
    its greenlet back with: private, so any other value is a stray switch."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<greenkit.hub: woken by its watcher>"


_WOKEN = _Woken()
_WOKEN_ARGS = (_WOKEN,)


def _invalid_switch(result: Any, hub: Hub, watcher: Any) -> InvalidSwitchError:
    """The error for a greenlet parked on ``watcher`` resumed by someone else."""
    return InvalidSwitchError(
        f"Invalid switch into {getcurrent()}: got {result!r} "
        f"(expected {_WOKEN!r}; waiting on {hub!r} with {watcher!r})"
    )


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Hub(RawGreenlet):  # type: ignore[misc]
    """A greenlet that runs the event loop; ``get_hub()`` creates one per thread."""

    #: Exceptions that are not errors: never printed when raised in the loop.
    NOT_ERROR: tuple[type[BaseException], ...] = (GreenletExit, SystemExit)
    #: Exceptions propagated to the hub's parent (the main greenlet).
    SYSTEM_ERROR: tuple[type[BaseException], ...] = (KeyboardInterrupt, SystemExit, SystemError)
    #: Size of the thread pool the ``threadpool`` property creates.
    threadpool_size = 10
    #: A name shown in the repr, e.g. to tell threads' hubs apart.
    name = ""
    #: The event loop this hub runs (None once the hub is destroyed).  The hub
    #: uses only the members of ``LoopProtocol``, so mypy checks that seam.
    loop: LoopProtocol | None
    #: Monitoring thread started by ``start_periodic_monitoring_thread``.
    periodic_monitoring_thread: PeriodicMonitoringThread | None = None
    #: Small integer idents of hubs (per process).
    _hub_idents = IdentRegistry()

    def __init__(self, loop: Any = None, default: bool | None = None) -> None:
        RawGreenlet.__init__(self)
        self.thread_ident = _native_get_ident()
        if hasattr(loop, "run"):
            if default is not None:
                raise TypeError("Unexpected argument: default")
            self.loop = loop
        elif get_loop() is not None:
            # A previous hub of this thread was destroyed but kept its loop.
            self.loop = get_loop()
            set_loop(None)
        else:
            if default is None and self.thread_ident != _MAIN_THREAD_IDENT:
                default = False
            flags = self.backend if loop is None else loop
            self.loop = self.loop_class(flags=flags, default=default)
        self._resolver: Any = None
        self._threadpool: Any = None
        self._exception_stream: Any = _UNSET
        self._destroyed = False
        self.format_context = config.format_context
        #: Hands out ``minimal_ident`` to the greenlets this hub runs.
        self.ident_registry = IdentRegistry()
        #: Stopped timers kept for reuse by ``sleep()`` and ``Timeout`` (see
        #: ``start_timer``): creating a libev timer costs more than resetting one.
        self._timer_pool: list[TimerProtocol] = []
        #: The greenlets in ``sleep(seconds)``, under one timer of this loop.
        self._sleepers = Sleepers(self, self.loop, _WOKEN)

    @property
    def minimal_ident(self) -> int:
        """A small integer identifying this hub among the live hubs."""
        return self._hub_idents.get_ident(self)

    # -- configuration -------------------------------------------------------

    @property
    def loop_class(self) -> Any:
        """The loop class (``config.loop``)."""
        return config.loop

    @property
    def backend(self) -> Any:
        """libev backend flags for new loops (``config.libev_backend``)."""
        return config.libev_backend

    @property
    def resolver_class(self) -> Any:
        """The DNS resolver class (``config.resolver``)."""
        return config.resolver

    @property
    def threadpool_class(self) -> Any:
        """The thread pool class (``config.threadpool``)."""
        return config.threadpool

    @property
    def main_hub(self) -> bool:
        """True for the hub of the process's main thread."""
        return self.thread_ident == _MAIN_THREAD_IDENT

    @property
    def exception_stream(self) -> IO[str] | None:
        """Where errors are printed: ``sys.stderr`` (looked up at each use) unless
        assigned; None disables printing."""
        stream = self._exception_stream
        return sys.stderr if stream is _UNSET else stream

    @exception_stream.setter
    def exception_stream(self, stream: IO[str] | None) -> None:
        self._exception_stream = stream

    @exception_stream.deleter
    def exception_stream(self) -> None:
        self._exception_stream = _UNSET

    @property
    def resolver(self) -> Any:
        """The DNS resolver the socket functions use (created on first use)."""
        if self._resolver is None:
            self._resolver = self.resolver_class(hub=self)
        return self._resolver

    @resolver.setter
    def resolver(self, value: Any) -> None:
        self._resolver = value

    @resolver.deleter
    def resolver(self) -> None:
        self._resolver = None

    @property
    def threadpool(self) -> Any:
        """The pool running blocking calls in native threads (created on first use)."""
        if self._threadpool is None:
            self._threadpool = self.threadpool_class(self.threadpool_size, hub=self)
        return self._threadpool

    @threadpool.setter
    def threadpool(self, value: Any) -> None:
        self._threadpool = value

    @threadpool.deleter
    def threadpool(self) -> None:
        self._threadpool = None

    # -- pooled timers -------------------------------------------------------

    #: How many stopped timers ``_timer_pool`` keeps at most.
    TIMER_POOL_SIZE = 128

    def start_timer(
        self,
        seconds: float,
        ref: bool,
        priority: int,
        update: bool,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> TimerProtocol:
        """Start a one-shot timer of this hub's loop: ``callback(*args)`` runs
        ``seconds`` from now (``update``: from now by the system clock, not
        from the loop's cached time).

        The pooled-timer API other distributions use (``sleep()``,
        ``Timeout``): a stopped timer kept by :meth:`return_timer` is reused
        when there is one (``TimerProtocol.restart``: one C call, where a
        new libev timer costs several allocations).  Give the timer back
        with :meth:`return_timer` once nothing else refers to it.
        """
        loop = self.loop
        pool = self._timer_pool
        if pool and pool[-1].loop is loop:
            timer = pool.pop()
            timer.restart(seconds, ref, priority, update, callback, args)
            return timer
        # A new timer goes through the loop's public API only (the loop may
        # be any object with gevent's loop interface, e.g. a test's proxy).
        assert loop is not None, "a destroyed hub starts no timer"
        timer = loop.timer(seconds, 0.0, ref, priority)
        if update:
            loop.update_now()
        timer.start(callback, *args)
        return timer

    def return_timer(self, timer: TimerProtocol) -> None:
        """Stop ``timer`` (from :meth:`start_timer`) and keep it for reuse if it
        belongs to the hub's current loop and the pool has room; else close it."""
        timer.stop()
        pool = self._timer_pool
        if timer.loop is self.loop and len(pool) < self.TIMER_POOL_SIZE:
            pool.append(timer)
        else:
            timer.close()

    # -- errors --------------------------------------------------------------

    @staticmethod
    def _normalize_exception(t: Any, v: Any, tb: Any) -> tuple[Any, Any, Any]:
        """(type, value, tb) with ``value`` an exception instance of ``type``."""
        if t is None and v is not None:
            t = type(v)
        if isinstance(t, BaseException):
            t, v = type(t), t
        if v is None and isinstance(t, type):
            v = t()
        elif isinstance(v, str) and isinstance(t, type):
            v = t(v)
        if tb is None and v is not None:
            tb = v.__traceback__
        return t, v, tb

    def handle_error(self, context: Any, type: Any, value: Any, tb: Any) -> None:
        """Called when a callback or greenlet fails: print it, and propagate system
        errors (and errors with no context) to the main greenlet."""
        type, value, tb = self._normalize_exception(type, value, tb)
        if issubclass(type, HubDestroyed):
            if self.loop is not None:
                self.loop.break_(2)
            return
        if not issubclass(type, self.NOT_ERROR):
            self.print_exception(context, type, value, tb)
        if context is None or issubclass(type, self.SYSTEM_ERROR):
            self.handle_system_error(type, value, tb)

    def handle_system_error(self, type: Any, value: Any, tb: Any = None) -> None:
        """Raise a system error in the hub's parent (the main greenlet)."""
        type, value, tb = self._normalize_exception(type, value, tb)
        current = getcurrent()
        if current is self or current is self.parent or self.loop is None:
            self.parent.throw(type, value, tb)
        else:
            # Not from the hub: raise in the parent once the loop runs again.
            self.loop.run_callback(self.parent.throw, type, value, tb)

    def print_exception(self, context: Any, type: Any, value: Any, tb: Any) -> None:
        """Write the traceback and '<context> failed with <Error>' to ``exception_stream``."""
        stream = self.exception_stream
        if not stream:
            return
        type, value, tb = self._normalize_exception(type, value, tb)
        try:
            traceback.print_exception(type, value, tb, file=stream)
            if context is not None:
                if not isinstance(context, str):
                    try:
                        context = self.format_context(context)
                    except Exception:  # noqa: BLE001 - a broken repr must not hide the error
                        traceback.print_exc(file=stream)
                        context = repr(context)
                name = getattr(type, "__name__", "exception")
                stream.write(f"{_timestamp()} {context} failed with {name}\n\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - a broken stream must not kill the loop
            pass

    # -- switching -----------------------------------------------------------

    def switch(self) -> Any:
        """Switch into the hub, letting the current greenlet's ``switch_out`` run first."""
        # The hot blocking paths repeat these three lines instead of calling
        # this method (a Python call less per wait): Hub.wait, sleep,
        # Waiter.get and AbstractLinkable._wait_core.  Change them together.
        switch_out = getattr(getcurrent(), "switch_out", None)
        if switch_out is not None:
            switch_out()
        return _greenlet_switch(self)

    def switch_out(self) -> None:
        raise BlockingSwitchOutError(
            "Impossible to call blocking function in the event loop callback"
        )

    def wait(self, watcher: WatcherProtocol) -> None:
        """Block the current greenlet until ``watcher`` (not yet started) fires."""
        # The watcher switches straight back into the waiting greenlet with a
        # private marker, where a Waiter would sit in between: no object and
        # three Python calls less per wait (every socket wait comes here), and
        # a parked greenlet holds one bound method, not a Waiter, its bound
        # method and an argument tuple.  ``switch()`` is inlined for the same
        # reason.  Anything else switching in is refused, as a Waiter would.
        current = getcurrent()
        watcher.start(current.switch, _WOKEN)
        try:
            switch_out = getattr(current, "switch_out", None)
            if switch_out is not None:
                switch_out()
            result = _greenlet_switch(self)
            if result is not _WOKEN:
                raise _invalid_switch(result, self, watcher)
        finally:
            watcher.stop()

    def cancel_wait(
        self, watcher: WatcherProtocol | None, error: _Raisable, close_watcher: bool = False
    ) -> None:
        """Make a greenlet blocked in ``wait(watcher)`` raise ``error`` (soon, from the
        hub); ``close_watcher`` closes the watcher afterwards."""
        if watcher is None:
            return
        loop = self.loop
        if watcher.callback is not None and loop is not None:
            loop.run_callback(self._cancel_wait, watcher, error, close_watcher)
            return
        if close_watcher:
            watcher.close()

    def _cancel_wait(self, watcher: WatcherProtocol, error: _Raisable, close_watcher: bool) -> None:
        active = watcher.active
        callback = watcher.callback
        if close_watcher:
            watcher.close()
        if active:
            # The greenlet parked in wait() (the callback is its bound
            # ``switch``), or a Waiter for watchers started another way.
            parked = getattr(callback, "__self__", None)
            if parked is not None:
                parked.throw(error)

    # -- running -------------------------------------------------------------

    def run(self) -> None:
        """Run the loop forever; when it runs out of work, raise LoopExit in the parent."""
        if self is not getcurrent():
            raise AssertionError("Do not call Hub.run() directly")
        self.start_periodic_monitoring_thread()
        while not self._destroyed:
            loop = self.loop
            loop.error_handler = self
            try:
                loop.run()
            finally:
                loop.error_handler = None
            if self._destroyed:
                break
            self.parent.throw(
                LoopExit("This operation would block forever", self, _blocked_at(self.parent))
            )

    def start_periodic_monitoring_thread(self) -> PeriodicMonitoringThread | None:
        """Start the monitoring thread if ``config.monitor_thread`` asks for it."""
        if self.periodic_monitoring_thread is None and config.monitor_thread:
            from greenkit._monitor import PeriodicMonitoringThread

            self.periodic_monitoring_thread = PeriodicMonitoringThread(self)
            if self.main_hub:
                self.periodic_monitoring_thread.install_monitor_memory_usage()
        return self.periodic_monitoring_thread

    def join(self, timeout: float | None = None) -> bool:
        """Wait (from the main greenlet) until the loop has nothing left to do.

        Returns True if the loop finished, False if ``timeout`` expired first."""
        if getcurrent() is not self.parent:
            raise AssertionError("only possible from the MAIN greenlet")
        if self.dead:
            return True
        waiter = Waiter(self)
        timer = None
        if timeout is not None and self.loop is not None:
            timer = self.loop.timer(timeout, ref=False)
            timer.start(waiter.switch, None)
        try:
            try:
                waiter.get()
            except LoopExit:
                return True
        finally:
            if timer is not None:
                timer.close()
        return False

    def destroy(self, destroy_loop: bool | None = None) -> None:
        """Release the hub's resources; ``destroy_loop`` (default: unless it is the
        default loop) destroys the loop too, else it is kept for this thread's next hub."""
        if self.periodic_monitoring_thread is not None:
            self.periodic_monitoring_thread.kill()
            self.periodic_monitoring_thread = None
        if self._resolver is not None:
            self._resolver.close()
            self._resolver = None
        if self._threadpool is not None:
            self._threadpool.kill()
            self._threadpool = None
        loop = self.loop
        if loop is None:
            return
        self._sleepers.close()
        for timer in self._timer_pool:
            timer.close()
        self._timer_pool.clear()
        if destroy_loop is None:
            destroy_loop = not loop.default
        self._destroyed = True
        same_thread = _native_get_ident() == self.thread_ident
        if same_thread and not self.dead and self and getcurrent() is self.parent:
            # Unwind the hub's stack (it is parked inside a loop callback).
            self.throw(HubDestroyed(destroy_loop))
        if destroy_loop:
            if get_loop() is loop:
                set_loop(None)
            loop.destroy()
        elif same_thread:
            set_loop(loop)
        self.loop = None
        if same_thread and get_hub_if_exists() is self:
            set_hub(None)

    def __repr__(self) -> str:
        loop: Any = self.loop  # backend and pendingcnt are the libev loop's own
        if loop is None:
            info = "destroyed"
        else:
            try:
                info = (
                    f"{loop.backend}{' default' if loop.default else ''} pending={loop.pendingcnt}"
                )
            except Exception:  # noqa: BLE001 - repr must not fail
                info = repr(self.loop)
        name = f" {self.name!r}" if self.name else " ''"
        return (
            f"<{type(self).__name__}{name} at {id(self):#x} {info}"
            f" thread_ident={self.thread_ident:#x}>"
        )


_HUB_MODULE_FILES = tuple(
    module.__file__
    for module in (sys.modules[__name__], sys.modules[Waiter.__module__])
    if module.__file__
)


def _blocked_at(glet: Any) -> str:
    """'Waiting in <function> (<file>:<line>)': where ``glet`` is parked, skipping
    greenkit's own blocking machinery, so LoopExit says what was waited for."""
    frame = getattr(glet, "gr_frame", None)
    while frame is not None and frame.f_code.co_filename in _HUB_MODULE_FILES:
        frame = frame.f_back
    if frame is None:
        return ""
    code = frame.f_code
    return f"Waiting in {code.co_name} ({code.co_filename}:{frame.f_lineno})"


# -- the basic blocking API -----------------------------------------------------


def sleep(seconds: float = 0, ref: bool = True) -> None:
    """Block the current greenlet for at least ``seconds``; 0 just yields to others."""
    hub = this_thread.hub
    if hub is None:  # (not ``or``: a hub that has not started yet is falsy)
        hub = get_hub()
    loop = hub.loop
    assert loop is not None, "sleep() in a destroyed hub"
    if seconds <= 0:
        # Queue a switch back to us behind everything already runnable.  If
        # anything else resumes us first, cancel it so it cannot fire later.
        # (greenlet's own switch with the greenlet as its argument, not a
        # bound ``current.switch``: no method object made and dropped per
        # yield, ~5 % of sleep(0); like the raw switch into the hub below,
        # it skips a Python override of ``switch`` in a greenlet subclass.)
        current = getcurrent()
        cb = loop.run_callback(_greenlet_switch, current)
        try:
            # hub.switch(), inlined: sleep(0) is how greenlets yield.
            switch_out = getattr(current, "switch_out", None)
            if switch_out is not None:
                switch_out()
            _greenlet_switch(hub)
        finally:
            if cb.callback is not None:
                cb.stop()
        return
    # "At least `seconds`": count from now, not from the loop's cached time.
    # The greenlet is switched straight back with a marker (see Hub.wait),
    # from the hub's heap of sleepers under one loop timer, or (not keeping
    # the loop alive, or on a loop the hub did not start with) from a timer
    # of its own.
    current = getcurrent()
    sleepers = hub._sleepers
    if ref and sleepers.loop is loop and seconds < MAX_SECONDS:
        entry = sleepers.add(seconds, current)
        timer = None
    else:
        entry = None
        timer = hub.start_timer(seconds, ref, 0, True, current.switch, _WOKEN_ARGS)
    try:
        switch_out = getattr(current, "switch_out", None)
        if switch_out is not None:
            switch_out()
        result = _greenlet_switch(hub)
        if result is not _WOKEN:
            raise _invalid_switch(result, hub, timer or sleepers)
    finally:
        if timer is not None:
            hub.return_timer(timer)
        elif entry[2] is not None:  # type: ignore[index]
            sleepers.cancel(entry)  # type: ignore[arg-type]


def idle(priority: int = 0) -> None:
    """Block until the loop is idle (no other events of this priority or higher)."""
    hub = get_hub()
    assert hub.loop is not None, "idle() in a destroyed hub"
    watcher = hub.loop.idle()
    try:
        if priority:
            watcher.priority = priority
        hub.wait(watcher)
    finally:
        watcher.close()


def kill(greenlet: Any, exception: Any = GreenletExit) -> None:
    """Raise ``exception`` in ``greenlet`` soon, without blocking the caller."""
    current = getcurrent()
    if current is greenlet:
        raise AssertionError("Cannot kill the current greenlet asynchronously")
    killer = getattr(greenlet, "kill", None)
    if killer is not None:
        killer(exception=exception, block=False)
    else:
        loop = get_hub().loop
        assert loop is not None, "kill() in a destroyed hub"
        loop.run_callback(greenlet.throw, exception)


def spawn_raw(function: Callable[..., Any], *args: Any, **kwargs: Any) -> RawGreenlet:
    """Start ``function(*args, **kwargs)`` in a plain greenlet at the next loop turn."""
    if not callable(function):
        raise TypeError("function must be callable")
    hub = get_hub()
    assert hub.loop is not None, "spawn_raw() in a destroyed hub"
    if kwargs:
        function = partial(function, *args, **kwargs)
        args = ()
    g = RawGreenlet(function, hub)
    if config.track_greenlet_tree:
        current = getcurrent()
        g.spawning_greenlet = weakref.ref(current)
        tree_locals = getattr(current, "spawn_tree_locals", None)
        g.spawn_tree_locals = {} if tree_locals is None else tree_locals
    hub.loop.run_callback(g.switch, *args)
    return g


def reinit(hub: Hub | None = None) -> None:
    """Prepare this thread's hub for the child process after ``fork()``."""
    hub = get_hub_if_exists() if hub is None else hub
    if hub is None or hub.loop is None:
        return
    hub.loop.reinit()
    for resource in (hub._threadpool, hub._resolver, hub.periodic_monitoring_thread):
        on_fork = getattr(resource, "_on_fork", None)
        if on_fork is not None:
            on_fork()


class signal:
    """Run ``handler(*args, **kwargs)`` in a new greenlet whenever ``signalnum``
    arrives; ``cancel()`` stops it.  Returned by ``signal_handler``."""

    def __init__(
        self, signalnum: int, handler: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> None:
        if not callable(handler):
            raise TypeError(f"signal handler must be callable, not {handler!r}")
        self.hub = get_hub()
        assert self.hub.loop is not None, "a signal handler in a destroyed hub"
        self.watcher = self.hub.loop.signal(signalnum, ref=False)
        self.watcher.start(self._start)
        self.handler = handler
        self.args = args
        self.kwargs = kwargs

    @property
    def ref(self) -> bool:
        """Whether this handler keeps the loop (``gevent.wait()``) alive."""
        return bool(self.watcher.ref)

    @ref.setter
    def ref(self, value: bool) -> None:
        self.watcher.ref = value

    def cancel(self) -> None:
        """Stop handling the signal."""
        self.watcher.close()

    def _start(self) -> None:
        greenlet = RawGreenlet(self.handle, self.hub)
        assert self.hub.loop is not None, "a signal in a destroyed hub"
        self.hub.loop.run_callback(greenlet.switch)

    def handle(self) -> None:
        """Call the handler; its errors go to the hub like system errors."""
        try:
            self.handler(*self.args, **self.kwargs)
        except:  # noqa: E722 - reported to the hub, which re-raises in the main greenlet
            self.hub.handle_error(None, *sys.exc_info())


signal_handler = signal


class _WaitIterator:
    """``iwait()``'s iterator; also a context manager that unlinks on exit."""

    def __init__(self, objects: Any, hub: Hub, timeout: float | None, count: int | None):
        self._objects = objects
        self._hub = hub
        self._waiter = MultipleWaiter(hub)
        self._switch = self._waiter.switch
        self._timeout = timeout
        self._timer: Any = None
        self._begun = False
        total = len(objects)
        self._count = total if count is None else min(count, total)

    def _begin(self) -> None:
        if self._begun:
            return
        self._begun = True
        for obj in self._objects:
            obj.rawlink(self._switch)
        if self._timeout is not None:
            assert self._hub.loop is not None, "iwait() in a destroyed hub"
            self._timer = self._hub.loop.timer(self._timeout, priority=-1)
            self._timer.start(self._switch, self)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        self._begin()
        if self._count == 0:
            self._cleanup()
            raise StopIteration
        self._count -= 1
        try:
            item = self._waiter.get()
        except BaseException:
            self._cleanup()
            raise
        if item is self:
            self._cleanup()
            raise StopIteration
        return item

    def _cleanup(self) -> None:
        if self._timer is not None:
            self._timer.close()
            self._timer = None
        objects, self._objects = self._objects, ()
        for obj in objects:
            unlink = getattr(obj, "unlink", None)
            if unlink is not None:
                try:
                    unlink(self._switch)
                except Exception:  # noqa: BLE001 - keep unlinking the rest
                    traceback.print_exc()

    def __enter__(self) -> _WaitIterator:
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._cleanup()


class _JoinOnce:
    """``iwait(None)``: yields once, whether the loop finished (``Hub.join``)."""

    def __init__(self, timeout: float | None) -> None:
        self._timeout = timeout
        self._done = False

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self._done:
            raise StopIteration
        self._done = True
        return get_hub().join(timeout=self._timeout)

    def __enter__(self) -> _JoinOnce:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done = True


def iwait(
    objects: Iterable[Any] | None, timeout: float | None = None, count: int | None = None
) -> _WaitIterator | _JoinOnce:
    """Yield objects (anything with rawlink/unlink) as they become ready, until all
    (or ``count``) are, or ``timeout`` expires.  Also a context manager that
    unlinks from the objects on exit."""
    if objects is None:
        return _JoinOnce(timeout)
    if not hasattr(objects, "__len__"):
        objects = list(objects)
    return _WaitIterator(objects, get_hub(), timeout, count)


def wait(
    objects: Iterable[Any] | None = None, timeout: float | None = None, count: int | None = None
) -> Any:  # list of the ready objects, or a bool
    """Wait for objects to be ready (return them, in readiness order), or with no
    objects until the loop has nothing left to do (return True) or ``timeout``."""
    if objects is None:
        return get_hub().join(timeout=timeout)
    return list(iwait(objects, timeout, count))
