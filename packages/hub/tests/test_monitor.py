"""greenkit._monitor: the periodic monitoring thread, with a stand-in hub.

The hub here is a small greenlet subclass with the attributes the monitor
uses (exception_stream, thread_ident, loop, name, handle_error), so these
tests do not depend on greenkit.hub.
"""

from __future__ import annotations

import _thread
import gc
import io
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import greenlet
import pytest

from greenkit import _monitor, config, events
from greenkit._monitor import MonitorWarning, PeriodicMonitoringThread


class FakeLoop:
    def __init__(self) -> None:
        self.callbacks: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def run_callback_threadsafe(self, func: Callable[..., Any], *args: Any) -> None:
        self.callbacks.append((func, args))

    def reinit(self) -> None:
        pass


class FakeHub(greenlet.greenlet):  # type: ignore[misc]
    """Runs like a hub: switching to it returns control to its parent at once."""

    def __init__(self) -> None:
        super().__init__()
        self.exception_stream: Any = io.StringIO()
        self.thread_ident = _thread.get_ident()
        self.loop = FakeLoop()
        self.name = "FakeHub"
        self.errors: list[tuple[Any, ...]] = []
        self.periodic_monitoring_thread: Any = None

    def run(self) -> None:
        while True:
            self.parent.switch()

    def handle_error(self, context: Any, *exc_info: Any) -> None:
        self.errors.append((context, *exc_info))


def thread_alive(ident: int) -> bool:
    return ident in sys._current_frames()


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


@pytest.fixture(autouse=True)
def isolate(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "max_blocking_time",
        "print_blocking_reports",
        "max_memory_usage",
        "memory_monitor_period",
    ):
        for key in config.settings[name].environment_keys:
            monkeypatch.delenv(key, raising=False)
        config._reset(name)
    before = greenlet.gettrace()
    yield
    for name in (
        "max_blocking_time",
        "print_blocking_reports",
        "max_memory_usage",
        "memory_monitor_period",
    ):
        config._reset(name)
    assert greenlet.gettrace() is before
    greenlet.settrace(before)


@pytest.fixture
def received() -> Iterator[list[Any]]:
    got: list[Any] = []
    events.subscribers.append(got.append)
    yield got
    events.subscribers.remove(got.append)


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    hub = FakeHub()
    yield hub
    pmt = hub.periodic_monitoring_thread
    if pmt is not None:
        pmt.kill()
    hub.periodic_monitoring_thread = None


@pytest.fixture
def no_thread(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """Record thread starts instead of starting threads; idents count up from 1000."""
    started: list[tuple[Any, Any]] = []

    def fake_start(function: Any, args: Any) -> int:
        started.append((function, args))
        return 999 + len(started)

    monkeypatch.setattr(_monitor, "start_new_thread", fake_start)
    return started


def make(hub: FakeHub) -> PeriodicMonitoringThread:
    pmt = PeriodicMonitoringThread(hub)
    hub.periodic_monitoring_thread = pmt
    return pmt


# -- construction, tracer, kill ------------------------------------------------------


def test_constructor(hub: FakeHub, no_thread: list[Any], received: list[Any]) -> None:
    pmt = make(hub)
    assert no_thread == [(pmt, ())]
    assert pmt.monitor_thread_ident == 1000
    assert pmt.should_run
    assert pmt.hub is hub
    assert greenlet.gettrace() is pmt._greenlet_tracer
    assert [type(e) for e in received] == [events.PeriodicMonitorThreadStartedEvent]
    assert received[0].monitor is pmt
    entries = pmt.monitoring_functions()
    assert len(entries) == 1
    assert entries[0].function == pmt.monitor_blocking
    assert entries[0].period == config.max_blocking_time
    assert pmt.pid == os.getpid()
    assert "PeriodicMonitoringThread" in repr(pmt)


def test_kill_restores_previous_tracer(hub: FakeHub, no_thread: list[Any]) -> None:
    calls: list[tuple[str, Any]] = []

    def previous(event: str, args: Any) -> None:
        calls.append((event, args))

    greenlet.settrace(previous)
    try:
        pmt = make(hub)
        assert pmt._greenlet_tracer.previous_trace_function is previous
        pmt._greenlet_tracer("switch", ("a", "b"))
        assert calls == [("switch", ("a", "b"))]
        pmt.kill()
        assert not pmt.should_run
        assert greenlet.gettrace() is previous
    finally:
        greenlet.settrace(None)


def test_tracer_counts_switches_and_active_greenlet(hub: FakeHub, no_thread: list[Any]) -> None:
    pmt = make(hub)
    tracer = pmt._greenlet_tracer
    assert (tracer.greenlet_switch_counter, tracer.active_greenlet) == (0, None)
    child = greenlet.greenlet(lambda: greenlet.getcurrent().parent.switch())
    child.switch()
    # main -> child (switch), child -> main (switch)
    assert tracer.greenlet_switch_counter == 2
    assert tracer.active_greenlet is greenlet.getcurrent()
    tracer("other-event", None)
    assert tracer.active_greenlet is None
    assert tracer.greenlet_switch_counter == 3
    pmt.kill()
    child.throw(greenlet.GreenletExit)


def test_kill_from_another_thread_uninstalls_at_next_switch(
    hub: FakeHub, no_thread: list[Any]
) -> None:
    pmt = make(hub)
    done = _thread.allocate_lock()
    done.acquire()

    def killer() -> None:
        pmt.kill()
        done.release()

    _thread.start_new_thread(killer, ())
    assert done.acquire(True, 5)
    assert not pmt.should_run
    # Still installed in this thread until a greenlet switch happens here.
    assert greenlet.gettrace() is pmt._greenlet_tracer
    greenlet.greenlet(lambda: None).switch()
    assert greenlet.gettrace() is None


def test_hub_garbage_collected_kills_monitor(no_thread: list[Any]) -> None:
    hub = FakeHub()
    pmt = PeriodicMonitoringThread(hub)
    del hub
    gc.collect()
    assert pmt.hub is None
    assert not pmt.should_run
    assert greenlet.gettrace() is None


# -- monitoring functions --------------------------------------------------------------


def test_add_update_remove_monitoring_function(hub: FakeHub, no_thread: list[Any]) -> None:
    pmt = make(hub)

    def watch(_hub: Any) -> None:
        pass

    pmt.add_monitoring_function(watch, 1)
    entries = pmt.monitoring_functions()
    assert [e.function for e in entries] == [pmt.monitor_blocking, watch]
    assert entries[1].period == 1
    pmt.add_monitoring_function(watch, 2)
    assert len(pmt.monitoring_functions()) == 2
    assert pmt.monitoring_functions()[1].period == 2
    pmt.add_monitoring_function(watch, None)
    assert [e.function for e in pmt.monitoring_functions()] == [pmt.monitor_blocking]
    pmt.add_monitoring_function(watch, None)  # removing twice is harmless
    for bad_period in (0, -1):
        with pytest.raises(ValueError):
            pmt.add_monitoring_function(watch, bad_period)
    with pytest.raises(ValueError):
        pmt.add_monitoring_function(None, 1)  # type: ignore[arg-type]


def test_calculate_sleep_time(hub: FakeHub, no_thread: list[Any]) -> None:
    pmt = make(hub)
    assert pmt.calculate_sleep_time() == config.max_blocking_time
    pmt.add_monitoring_function(lambda h: None, 0.01)
    assert pmt.calculate_sleep_time() == 0.01
    pmt.add_monitoring_function(pmt.monitor_blocking, None)
    pmt.add_monitoring_function(pmt.monitoring_functions()[0].function, None)
    assert pmt.monitoring_functions() == []
    assert pmt.calculate_sleep_time() == pmt.inactive_sleep_time


def test_run_loop_calls_functions_and_stops_on_dead_hub(
    hub: FakeHub, no_thread: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_monitor, "thread_sleep", lambda seconds: None)
    pmt = make(hub)
    seen: list[Any] = []

    def watch(h: Any) -> None:
        seen.append(h)
        if len(seen) == 3:
            h.throw(greenlet.GreenletExit)  # the hub finishes: dead

    pmt.add_monitoring_function(watch, 0.001)
    hub.switch()  # start the hub so it can be killed
    pmt()  # runs in this thread until the hub is dead
    assert seen == [hub, hub, hub]
    assert not pmt.should_run


def test_run_loop_errors_go_to_handle_error(
    hub: FakeHub, no_thread: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_monitor, "thread_sleep", lambda seconds: None)
    pmt = make(hub)
    calls = []

    def broken(_h: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit
        raise ZeroDivisionError("boom")

    pmt.add_monitoring_function(broken, 0.001)
    pmt()  # SystemExit ends the loop and kills the monitor
    assert not pmt.should_run
    assert len(hub.errors) == 1
    context, exc_type, exc, _tb = hub.errors[0]
    assert context is broken
    assert exc_type is ZeroDivisionError and str(exc) == "boom"


def test_on_fork_starts_a_new_thread(hub: FakeHub, no_thread: list[Any]) -> None:
    pmt = make(hub)
    pmt._on_fork()  # same process: nothing to do
    assert len(no_thread) == 1
    pmt.pid = -1
    pmt._on_fork()
    assert pmt.pid == os.getpid()
    assert pmt.monitor_thread_ident == 1001
    assert no_thread[-1] == (pmt, ())


# -- blocking detection -------------------------------------------------------------------


def test_monitor_blocking_logic(hub: FakeHub, no_thread: list[Any], received: list[Any]) -> None:
    pmt = make(hub)
    del received[:]
    tracer = pmt._greenlet_tracer
    # No switch seen yet: nothing is blocked.
    assert pmt.monitor_blocking(hub) is False
    origin, target = object(), object()
    tracer("switch", (origin, target))
    assert pmt.monitor_blocking(hub) is False  # a switch happened since last time
    assert received == [] and hub.exception_stream.getvalue() == ""

    assert pmt.monitor_blocking(hub) is True  # no switch since: blocked
    [event] = received
    assert isinstance(event, events.EventLoopBlocked)
    assert event.greenlet is target
    assert event.hub is hub
    assert event.blocking_time >= 0
    assert any("appears to be blocked" in line for line in event.info)
    report = hub.exception_stream.getvalue()
    assert report.startswith("\n")
    first = report.lstrip("\n").splitlines()[0]
    assert first.endswith(f" : Greenlet {target!r} appears to be blocked")
    assert "PeriodicMonitoringThread" in report
    # Our own stack (this thread is the "hub" thread) is in the report.
    assert "test_monitor_blocking_logic" in report

    del received[:]
    pmt.ignore_current_greenlet_blocking()
    assert pmt.monitor_blocking(hub) is False
    assert received == []
    pmt.monitor_current_greenlet_blocking()
    assert pmt.monitor_blocking(hub) is True

    # A bogus thread ident does not break the report.
    hub.thread_ident = -1
    assert pmt.monitor_blocking(hub) is True
    assert "no stack available" in hub.exception_stream.getvalue()


def test_ignore_lasts_until_the_next_switch(hub: FakeHub, no_thread: list[Any]) -> None:
    pmt = make(hub)
    tracer = pmt._greenlet_tracer
    tracer("switch", (None, "g"))
    pmt.monitor_blocking(hub)
    pmt.ignore_current_greenlet_blocking()
    assert pmt.monitor_blocking(hub) is False
    tracer("switch", (None, "g2"))
    assert pmt.monitor_blocking(hub) is False  # the switch itself
    assert pmt.monitor_blocking(hub) is True  # blocked again, no longer ignored


def test_hub_running_is_not_blocking(hub: FakeHub, no_thread: list[Any]) -> None:
    pmt = make(hub)
    pmt._greenlet_tracer("switch", (None, hub))
    assert pmt.monitor_blocking(hub) is False
    assert pmt.monitor_blocking(hub) is False
    assert hub.exception_stream.getvalue() == ""


def test_report_respects_print_blocking_reports(
    hub: FakeHub, no_thread: list[Any], received: list[Any]
) -> None:
    config.print_blocking_reports = False
    pmt = make(hub)
    del received[:]
    pmt._greenlet_tracer("switch", (None, "g"))
    pmt.monitor_blocking(hub)
    assert pmt.monitor_blocking(hub) is True
    assert hub.exception_stream.getvalue() == ""
    assert len(received) == 1  # the event is emitted anyway


def test_no_exception_stream(hub: FakeHub, no_thread: list[Any], received: list[Any]) -> None:
    hub.exception_stream = None
    pmt = make(hub)
    del received[:]
    pmt._greenlet_tracer("switch", (None, "g"))
    pmt.monitor_blocking(hub)
    assert pmt.monitor_blocking(hub) is True
    assert len(received) == 1


# -- with a real monitoring thread -----------------------------------------------------


def test_real_thread_reports_a_blocked_greenlet(hub: FakeHub, received: list[Any]) -> None:
    config.max_blocking_time = 0.05
    pmt = make(hub)
    ident = pmt.monitor_thread_ident
    assert wait_for(lambda: thread_alive(ident))

    def blocker() -> None:
        time.sleep(0.4)  # never yields to the hub

    hub.switch()  # the hub runs once, then hands back
    time.sleep(0.1)  # let the monitor notice that switch
    greenlet.greenlet(blocker, parent=hub).switch()

    blocked = [e for e in received if isinstance(e, events.EventLoopBlocked)]
    assert blocked, hub.exception_stream.getvalue()
    assert blocked[0].hub is hub
    assert blocked[0].blocking_time >= 0.04
    report = hub.exception_stream.getvalue()
    assert "appears to be blocked" in report
    assert "in blocker" in report
    assert "time.sleep(0.4)" in report

    started = time.monotonic()
    pmt.kill()
    assert wait_for(lambda: not thread_alive(ident), timeout=2.0)
    assert time.monotonic() - started < 1.0
    assert greenlet.gettrace() is None


def test_real_thread_runs_functions_and_kill_wakes_it(hub: FakeHub) -> None:
    pmt = make(hub)
    ident = pmt.monitor_thread_ident
    calls: list[tuple[Any, int]] = []

    def watch(h: Any) -> None:
        calls.append((h, _thread.get_ident()))

    pmt.add_monitoring_function(watch, 0.02)
    assert wait_for(lambda: len(calls) >= 3)
    assert all(h is hub and tid == ident for h, tid in calls)
    # Now make the thread sleep long, then check that kill() wakes it promptly.
    pmt.add_monitoring_function(watch, None)
    pmt.add_monitoring_function(pmt.monitor_blocking, 30)
    time.sleep(0.05)
    started = time.monotonic()
    pmt.kill()
    assert wait_for(lambda: not thread_alive(ident), timeout=2.0)
    assert time.monotonic() - started < 1.0


def test_real_thread_stops_when_hub_dies(hub: FakeHub) -> None:
    config.max_blocking_time = 0.02
    pmt = make(hub)
    ident = pmt.monitor_thread_ident
    hub.switch()
    hub.throw(greenlet.GreenletExit)
    assert hub.dead
    assert wait_for(lambda: not pmt.should_run, timeout=2.0)
    assert wait_for(lambda: not thread_alive(ident), timeout=2.0)
    # Killed from the monitoring thread: the tracer goes at this thread's next switch.
    greenlet.greenlet(lambda: None).switch()
    assert greenlet.gettrace() is None


# -- memory ------------------------------------------------------------------------------


class FakeInfo:
    def __init__(self, rss: int) -> None:
        self.rss = rss


class FakeProcess:
    def __init__(self) -> None:
        self.rss = 0

    def memory_full_info(self) -> FakeInfo:
        return FakeInfo(self.rss)


def test_monitor_memory_usage_crossings(
    hub: FakeHub, no_thread: list[Any], received: list[Any]
) -> None:
    pmt = make(hub)
    process = FakeProcess()
    pmt._get_process = lambda: process  # type: ignore[method-assign]
    del received[:]
    assert pmt.monitor_memory_usage(hub) == -1  # no limit configured

    config.max_memory_usage = 100
    process.rss = 50
    assert pmt.monitor_memory_usage(hub) is None  # under the limit from the start
    process.rss = 200
    over = pmt.monitor_memory_usage(hub)
    assert isinstance(over, events.MemoryUsageThresholdExceeded)
    assert (over.mem_usage, over.max_allowed) == (200, 100)
    assert over.memory_info.rss == 200
    assert pmt.monitor_memory_usage(hub) is None  # no growth: no event
    process.rss = 150
    assert pmt.monitor_memory_usage(hub) is None  # still over, but shrinking
    process.rss = 300
    again = pmt.monitor_memory_usage(hub)
    assert isinstance(again, events.MemoryUsageThresholdExceeded)
    assert again.mem_usage == 300
    process.rss = 80
    under = pmt.monitor_memory_usage(hub)
    assert isinstance(under, events.MemoryUsageUnderThreshold)
    assert (under.mem_usage, under.max_allowed, under.max_memory_usage) == (80, 100, 300)
    assert pmt.monitor_memory_usage(hub) is None
    process.rss = 120
    assert isinstance(pmt.monitor_memory_usage(hub), events.MemoryUsageThresholdExceeded)
    assert received == [over, again, under, received[-1]]


def test_install_memory_monitor(hub: FakeHub, no_thread: list[Any]) -> None:
    pmt = make(hub)
    pmt._get_process = lambda: FakeProcess()  # type: ignore[method-assign]
    config.memory_monitor_period = 0.01
    pmt.install_monitor_memory_usage()
    entries = pmt.monitoring_functions()
    assert [e.function for e in entries] == [pmt.monitor_blocking, pmt.monitor_memory_usage]
    assert entries[1].period == pmt.min_memory_monitor_period  # the floor
    config.memory_monitor_period = 10
    pmt.install_monitor_memory_usage()
    assert len(pmt.monitoring_functions()) == 2
    assert pmt.monitoring_functions()[1].period == 10


def test_cannot_monitor_memory_warns_when_asked(
    hub: FakeHub, no_thread: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)  # psutil "not installed"
    pmt = make(hub)
    assert pmt._get_process() is None
    assert not pmt.can_monitor_memory_usage()
    # Nothing asked for and nothing possible: silent.
    pmt.install_monitor_memory_usage()
    assert len(pmt.monitoring_functions()) == 1
    config.max_memory_usage = "1GB"
    with pytest.warns(MonitorWarning, match="psutil") as record:
        pmt.install_monitor_memory_usage()
    assert len(record) == 1
    assert len(pmt.monitoring_functions()) == 1
    assert pmt.monitor_memory_usage(hub) == -1


def test_psutil_process_is_cached(hub: FakeHub, no_thread: list[Any]) -> None:
    pytest.importorskip("psutil")
    pmt = make(hub)
    process = pmt._get_process()
    assert process is not None
    assert pmt._get_process() is process
    assert pmt.can_monitor_memory_usage()
    config.max_memory_usage = 1  # anything is above one byte
    event = pmt.monitor_memory_usage(hub)
    assert isinstance(event, events.MemoryUsageThresholdExceeded)
    assert event.mem_usage > 1
