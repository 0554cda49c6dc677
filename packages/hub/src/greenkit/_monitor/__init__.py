"""The periodic monitoring thread a hub starts when ``config.monitor_thread`` is true.

``PeriodicMonitoringThread(hub)`` starts a native thread (with the
*original* ``_thread`` primitives, captured when this module is imported,
so monkey patching never turns it into a greenlet) that calls each
registered monitoring function about every ``period`` seconds, passing the
hub.  Two functions are built in:

* ``monitor_blocking`` (always, every ``config.max_blocking_time``): a
  greenlet trace function counts switches in the hub's thread; if no switch
  happened during a whole period while a greenlet other than the hub was
  running, the loop is blocked: a report goes to ``hub.exception_stream``
  (when ``config.print_blocking_reports``) and ``events.EventLoopBlocked``
  is emitted.
* ``monitor_memory_usage`` (added by ``install_monitor_memory_usage``,
  every ``config.memory_monitor_period``; needs psutil): emits
  ``MemoryUsageThresholdExceeded`` / ``MemoryUsageUnderThreshold`` when the
  process's memory usage crosses ``config.max_memory_usage``.

``kill()`` stops the thread (it wakes at once) and removes the tracer.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
import traceback
import warnings
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from greenlet import gettrace, settrace

from greenkit import config as _config
from greenkit._originals import get_original
from greenkit.events import (
    EventLoopBlocked,
    IPeriodicMonitorThread,
    MemoryUsageThresholdExceeded,
    MemoryUsageUnderThreshold,
    PeriodicMonitorThreadStartedEvent,
    notify,
    notify_and_call_entry_points,
)
from greenkit.events import implementer as _implementer

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = [
    "PeriodicMonitoringThread",
    "GreenletTracer",
    "MonitorWarning",
]

# The native primitives, never their monkey-patched replacements (monkey
# records the originals in greenkit._originals before patching).  Module
# globals so tests can replace them.
start_new_thread, allocate_lock, get_thread_ident = get_original(
    "_thread", ["start_new_thread", "allocate_lock", "get_ident"]
)
_original_sleep = get_original("time", "sleep")
#: How the monitoring thread sleeps between rounds.  Left as ``time.sleep``
#: the thread actually waits on a native lock, so ``kill()`` wakes it at once.
thread_sleep: Callable[[float], object] = _original_sleep
_clock = time.monotonic

_SWITCH_EVENTS = ("switch", "throw")


class MonitorWarning(RuntimeWarning):
    """The monitoring thread cannot do something it was asked to (e.g. no psutil)."""


class _MonitorEntry:
    """A monitoring function, its period in seconds, and when it last ran."""

    __slots__ = ("function", "period", "last_run_time")

    def __init__(self, function: Callable[[Any], object], period: float) -> None:
        self.function = function
        self.period = period
        self.last_run_time = 0.0

    def __repr__(self) -> str:
        return f"<_MonitorEntry {self.function!r} every {self.period!r}s>"


class GreenletTracer:
    """The ``greenlet.settrace`` function of a monitored hub's thread.

    Counts switches and remembers the greenlet switched to; calls the trace
    function that was installed before it.  Installed by the constructor in
    the calling thread (greenlet tracing is per thread).
    """

    __slots__ = (
        "active_greenlet",
        "greenlet_switch_counter",
        "previous_trace_function",
        "ignoring",
        "_installed",
        "thread_ident",
    )

    def __init__(self) -> None:
        self.active_greenlet: Any = None
        self.greenlet_switch_counter = 0
        self.ignoring = False
        self._installed = True
        self.thread_ident = get_thread_ident()
        self.previous_trace_function: Callable[[str, Any], object] | None = settrace(self)

    def __call__(self, event: str, args: Any) -> None:
        self.greenlet_switch_counter += 1
        if event in _SWITCH_EVENTS:
            self.active_greenlet = args[1]
        else:
            self.active_greenlet = None
        self.ignoring = False
        previous = self.previous_trace_function
        if not self._installed:
            self._uninstall_here()
        if previous is not None:
            previous(event, args)

    def _uninstall_here(self) -> None:
        if gettrace() is self:
            settrace(self.previous_trace_function)

    def kill(self) -> None:
        """Stop tracing: now if called in the traced thread, else at its next switch."""
        self._installed = False
        if get_thread_ident() == self.thread_ident:
            self._uninstall_here()

    def ignore_current_greenlet_blocking(self) -> None:
        """Do not report the running greenlet as blocking until the next switch."""
        self.ignoring = True

    def monitor_current_greenlet_blocking(self) -> None:
        """Undo ``ignore_current_greenlet_blocking``."""
        self.ignoring = False


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _thread_names() -> dict[int, str]:
    try:
        return {t.ident: t.name for t in threading.enumerate() if t.ident is not None}
    except Exception:  # pragma: no cover - threading in a strange state
        return {}


@_implementer(IPeriodicMonitorThread)
class PeriodicMonitoringThread:
    """Watches one hub from a native thread; see the module documentation."""

    #: How long the thread sleeps when it has no monitoring function.
    inactive_sleep_time = 2.0
    #: The shortest interval between memory checks, whatever the configuration says.
    min_memory_monitor_period = 1.0

    def __init__(self, hub: Hub) -> None:
        self._hub_wref = weakref.ref(hub, self._on_hub_collected)
        self.pid = os.getpid()
        self._should_run = True
        self._wakeup = allocate_lock()
        self._wakeup.acquire()
        self._functions_lock = allocate_lock()
        period = _config.max_blocking_time
        self._monitoring_functions = [_MonitorEntry(self.monitor_blocking, period)]
        self._calculated_sleep_time = period
        self._last_switch_counter = 0
        self._last_switch_time = _clock()
        self._process: Any = None
        self._memory_peak = 0
        self._greenlet_tracer = GreenletTracer()
        self.monitor_thread_ident = start_new_thread(self, ())
        notify_and_call_entry_points(PeriodicMonitorThreadStartedEvent(self))

    # -- state ---------------------------------------------------------------

    @property
    def hub(self) -> Hub | None:
        """The monitored hub, or None once it was garbage collected."""
        return self._hub_wref()

    @property
    def should_run(self) -> bool:
        """True until ``kill()``."""
        return self._should_run

    def _running(self) -> bool:
        return self._should_run

    def _on_hub_collected(self, _ref: object) -> None:
        self.kill()

    def _poke(self) -> None:
        try:
            self._wakeup.release()
        except RuntimeError:
            pass  # already released: the thread will wake anyway

    def kill(self) -> None:
        """Stop the thread (it wakes at once) and remove the greenlet tracer."""
        self._should_run = False
        self._poke()
        self._greenlet_tracer.kill()

    def _on_fork(self) -> None:
        """In a forked child the thread is gone: start a new one."""
        pid = os.getpid()
        if pid == self.pid or not self._should_run:
            return
        self.pid = pid
        self._wakeup = allocate_lock()
        self._wakeup.acquire()
        self._functions_lock = allocate_lock()
        self.monitor_thread_ident = start_new_thread(self, ())

    # -- monitoring functions -------------------------------------------------

    def monitoring_functions(self) -> list[_MonitorEntry]:
        """The registered entries (``function``, ``period``), in the order added."""
        entries = list(self._monitoring_functions)
        if entries:
            shortest = min(entry.period for entry in entries)
            if shortest != self._calculated_sleep_time:
                self._calculated_sleep_time = shortest
        return entries

    def calculate_sleep_time(self) -> float:
        """The shortest period of the registered functions (or the inactive time)."""
        return self._calculated_sleep_time or self.inactive_sleep_time

    def add_monitoring_function(
        self, function: Callable[[Any], object], period: float | None
    ) -> None:
        """Call ``function(hub)`` about every ``period`` seconds in this thread.

        Adding a function already present changes its period; ``period=None``
        removes it; a period of zero or less is a ValueError.
        """
        if function is None or not callable(function):
            raise ValueError(f"function must be callable, not {function!r}")
        if period is not None and not period > 0:
            raise ValueError(f"period must be positive (or None to remove), not {period!r}")
        with self._functions_lock:
            entries = list(self._monitoring_functions)
            for index, entry in enumerate(entries):
                if entry.function == function:
                    if period is None:
                        del entries[index]
                    else:
                        entry.period = period
                    break
            else:
                if period is not None:
                    entries.append(_MonitorEntry(function, period))
            self._monitoring_functions = entries
            self._calculated_sleep_time = min((e.period for e in entries), default=0)
        self._poke()

    # -- the thread ------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        sleeper = thread_sleep
        if sleeper is _original_sleep:
            # Returns early (re-arming the lock) when poked by kill() or
            # add_monitoring_function().
            self._wakeup.acquire(True, seconds)
        else:
            sleeper(seconds)

    def __call__(self) -> None:
        try:
            while self._running():
                entries = self.monitoring_functions()
                now = _clock()
                if entries:
                    next_due = min(e.last_run_time + e.period for e in entries)
                    sleep_time = min(max(next_due - now, 0.001), self.calculate_sleep_time())
                else:
                    sleep_time = self.inactive_sleep_time
                self._sleep(sleep_time)
                if not self._running():
                    break
                hub = self.hub
                if hub is None or hub.dead:
                    self.kill()
                    break
                self._run_due(hub)
                del hub
        except SystemExit:
            self.kill()

    def _run_due(self, hub: Hub) -> None:
        now = _clock()
        for entry in self.monitoring_functions():
            if now - entry.last_run_time + 0.0005 < entry.period:
                continue
            entry.last_run_time = now
            try:
                entry.function(hub)
            except SystemExit:
                raise
            except Exception:
                handle_error = getattr(hub, "handle_error", None)
                if handle_error is None:
                    traceback.print_exc()
                else:
                    handle_error(entry.function, *sys.exc_info())
            if not self._running():
                break

    # -- blocking ----------------------------------------------------------------

    def ignore_current_greenlet_blocking(self) -> None:
        """Do not report the greenlet running in the hub's thread until it switches.

        For code that blocks on purpose in a thread with a hub (a thread pool
        worker waiting for or running a task)."""
        self._greenlet_tracer.ignore_current_greenlet_blocking()

    def monitor_current_greenlet_blocking(self) -> None:
        """Undo ``ignore_current_greenlet_blocking``."""
        self._greenlet_tracer.monitor_current_greenlet_blocking()

    def monitor_blocking(self, hub: Hub) -> bool:
        """Report and return True if ``hub``'s loop is blocked; else False.

        Blocked: no greenlet switch since the previous call while a greenlet
        other than the hub is running (and not ignored).
        """
        tracer = self._greenlet_tracer
        counter = tracer.greenlet_switch_counter
        active = tracer.active_greenlet
        now = _clock()
        if counter != self._last_switch_counter:
            self._last_switch_counter = counter
            self._last_switch_time = now
            return False
        if active is None or active is hub or tracer.ignoring:
            return False
        blocking_time = now - self._last_switch_time
        report = self._blocking_report(hub, active, blocking_time)
        stream = getattr(hub, "exception_stream", None)
        if stream is not None and _config.print_blocking_reports:
            stream.write("\n".join(report) + "\n")
        notify(EventLoopBlocked(active, blocking_time, report, hub=hub))
        return True

    def _blocking_report(self, hub: Hub, active: Any, blocking_time: float) -> list[str]:
        hub_ident = getattr(hub, "thread_ident", None)
        frames = sys._current_frames()
        frame = frames.get(hub_ident) if isinstance(hub_ident, int) else None
        if frame is None:
            frame = getattr(active, "gr_frame", None)
        ident_text = f"{hub_ident:#x}" if isinstance(hub_ident, int) else repr(hub_ident)
        lines = [
            f"\n{_timestamp()} : Greenlet {active!r} appears to be blocked",
            f"    Reported by {self!r}",
            f"    Blocked for about {blocking_time:.3f} seconds"
            f" (max_blocking_time is {_config.max_blocking_time:g})",
            f"Blocked Stack (for thread id {ident_text}):",
        ]
        if frame is None:
            lines.append("  (no stack available)")
        else:
            lines.extend(line.rstrip("\n") for line in traceback.format_stack(frame))
        names = _thread_names()
        me = get_thread_ident()
        others = [(ident, f) for ident, f in frames.items() if ident not in (me, hub_ident)]
        if others:
            lines.append("Other threads:")
            for ident, other in others:
                lines.append(f"Thread {ident:#x} ({names.get(ident, '?')}):")
                lines.extend(line.rstrip("\n") for line in traceback.format_stack(other))
        return lines

    # -- memory -------------------------------------------------------------------

    def _get_process(self) -> Any:
        """This process as a ``psutil.Process`` (cached), or None without psutil."""
        if self._process is None:
            try:
                import psutil  # type: ignore[import-untyped]
            except ImportError:
                return None
            try:
                self._process = psutil.Process()
            except Exception:
                return None
        return self._process

    def can_monitor_memory_usage(self) -> bool:
        """True if psutil is installed and can read this process's memory usage."""
        return self._get_process() is not None

    def install_monitor_memory_usage(self) -> None:
        """Check memory usage every ``config.memory_monitor_period`` (needs psutil).

        Without a usable psutil, warns (MonitorWarning) if memory monitoring
        could matter: psutil is installed but unusable, or
        ``config.max_memory_usage`` is set.
        """
        if self.can_monitor_memory_usage():
            period = max(_config.memory_monitor_period, self.min_memory_monitor_period)
            self.add_monitoring_function(self.monitor_memory_usage, period)
            return
        if _config.max_memory_usage is not None or importlib.util.find_spec("psutil") is not None:
            warnings.warn(
                "Unable to monitor memory usage: install psutil (and make sure it can"
                " read this process's memory information).",
                MonitorWarning,
                stacklevel=2,
            )

    def monitor_memory_usage(self, _hub: Hub) -> Any:
        """Compare memory usage with ``config.max_memory_usage``; emit crossing events.

        Returns -1 when no limit is set (or usage cannot be read), the event
        emitted, or None when nothing changed.
        """
        max_allowed = _config.max_memory_usage
        if not max_allowed:
            return -1
        process = self._get_process()
        if process is None:
            return -1
        try:
            info = process.memory_full_info()
        except Exception:
            info = process.memory_info()
        usage = info.rss
        event: Any
        if usage > max_allowed:
            if usage <= self._memory_peak:
                return None
            self._memory_peak = usage
            event = MemoryUsageThresholdExceeded(usage, max_allowed, info)
        else:
            if not self._memory_peak:
                return None
            event = MemoryUsageUnderThreshold(usage, max_allowed, info, self._memory_peak)
            self._memory_peak = 0
        notify(event)
        return event

    def __repr__(self) -> str:
        ident = getattr(self, "monitor_thread_ident", None)
        thread = f"{ident:#x}" if isinstance(ident, int) else repr(ident)
        state = "running" if self._should_run else "killed"
        return (
            f"<{type(self).__module__}.{type(self).__name__} at {id(self):#x}"
            f" thread={thread} {state}>"
        )
