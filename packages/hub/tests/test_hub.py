"""The hub, the Waiter and the basic blocking API."""

from __future__ import annotations

import io
import os
import signal as stdlib_signal
import threading
import time
import warnings
from typing import Any

import pytest
from greenlet import getcurrent
from greenlet import greenlet as RawGreenlet

import greenkit.hub as hubmod
from greenkit.exceptions import BlockingSwitchOutError, ConcurrentObjectUseError, LoopExit
from greenkit.hub import Hub, Waiter, get_hub, iwait, sleep, spawn_raw, wait


class Ready:
    """A minimal object speaking the wait protocol (rawlink/unlink)."""

    def __init__(self) -> None:
        self.links: list = []

    def rawlink(self, callback) -> None:
        self.links.append(callback)

    def unlink(self, callback) -> None:
        if callback in self.links:
            self.links.remove(callback)

    def fire(self) -> None:
        for callback in list(self.links):
            get_hub().loop.run_callback(callback, self)


def test_one_hub_per_thread_and_default_loop_only_in_main(hub: Any) -> None:
    assert get_hub() is hub
    assert hub.main_hub
    assert hub.loop.default
    seen = {}

    def in_thread() -> None:
        other = get_hub()
        seen["hub"] = other
        seen["default"] = other.loop.default
        seen["main_hub"] = other.main_hub
        sleep(0.001)
        other.destroy(destroy_loop=True)

    t = threading.Thread(target=in_thread)
    t.start()
    t.join(10)
    assert seen["hub"] is not hub
    assert seen["default"] is False
    assert seen["main_hub"] is False


def test_waiter_seed_examples() -> None:
    result = Waiter()
    timer = get_hub().loop.timer(0.05)
    timer.start(result.switch, "hello from Waiter")
    assert result.get() == "hello from Waiter"
    timer.close()

    result = Waiter()
    timer = get_hub().loop.timer(0.01)
    timer.start(result.switch, "hi from Waiter")
    sleep(0.05)
    assert result.ready() and result.successful()
    assert result.get() == "hi from Waiter"
    timer.close()


def test_waiter_throw_and_stored_exception() -> None:
    waiter = Waiter()
    waiter.throw(ValueError, ValueError("stored"))
    assert waiter.ready() and not waiter.successful()
    assert waiter.exc_info[0] is ValueError
    with pytest.raises(ValueError, match="stored"):
        waiter.get()

    waiter = Waiter()
    timer = get_hub().loop.timer(0.01)
    timer.start(waiter.throw, KeyError)
    with pytest.raises(KeyError):
        waiter.get()
    timer.close()


def test_waiter_switch_only_from_hub() -> None:
    waiter = Waiter()
    waiter.greenlet = RawGreenlet(lambda *a: None)
    with pytest.raises(AssertionError, match="Hub greenlet"):
        waiter.switch(1)
    with pytest.raises(AssertionError, match="Hub greenlet"):
        waiter.throw(ValueError)


def test_waiter_concurrent_use() -> None:
    waiter = Waiter()
    errors = []

    def first() -> None:
        waiter.get()

    def second() -> None:
        try:
            waiter.get()
        except ConcurrentObjectUseError as ex:
            errors.append(ex)

    spawn_raw(first)
    spawn_raw(second)
    sleep(0.01)
    assert len(errors) == 1
    get_hub().loop.run_callback(waiter.switch, None)
    sleep(0.01)


def test_waiting_forever_raises_loop_exit() -> None:
    with pytest.raises(LoopExit) as info:
        Waiter().get()
    assert "block forever" in str(info.value)
    assert info.value.hub is get_hub()


def test_loop_exit_says_where_the_greenlet_was_waiting() -> None:
    def wait_for_nothing() -> None:
        Waiter().get()

    with pytest.raises(LoopExit) as info:
        wait_for_nothing()
    message = str(info.value)
    assert "Waiting in wait_for_nothing (" in message
    assert "test_hub.py:" in message


def test_sleep_zero_lets_others_run_in_order() -> None:
    order = []

    def worker(name: str) -> None:
        for i in range(3):
            order.append((name, i))
            sleep(0)

    spawn_raw(worker, "a")
    spawn_raw(worker, "b")
    wait()
    assert order == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]


def test_sleep_waits_at_least_the_time() -> None:
    start = time.monotonic()
    sleep(0.05)
    assert time.monotonic() - start >= 0.045


def test_timer_pool_reuses_stopped_timers_with_new_settings(hub: Any) -> None:
    hub._timer_pool.clear()
    fired: list[str] = []
    first = hub.start_timer(30, False, 2, True, fired.append, ("first",))
    assert first.active and first.ref is False and first.priority == 2
    hub.return_timer(first)
    assert not first.active and first.callback is None
    assert hub._timer_pool == [first]
    second = hub.start_timer(0.01, True, -1, True, fired.append, ("second",))
    assert second is first and hub._timer_pool == []
    assert second.active and second.ref is True and second.priority == -1
    sleep(0.05)  # (sleepers share one timer, taken once: the pool stays empty)
    assert fired == ["second"]
    hub.return_timer(second)
    assert hub._timer_pool == [first]
    # sleep(ref=False) takes the last pooled timer and gives it back.
    keepalive = hub.loop.timer(30)
    keepalive.start(print)
    try:
        sleep(0.001, ref=False)
    finally:
        keepalive.close()
    assert hub._timer_pool == [first]
    assert first.after == 0.001 and not first.ref


def test_timer_pool_is_bounded_and_keeps_only_its_loop_timers(hub: Any) -> None:
    hub._timer_pool.clear()
    count = hub.TIMER_POOL_SIZE + 2
    timers = [hub.start_timer(30, True, 0, False, print, ()) for _ in range(count)]
    for timer in timers:
        hub.return_timer(timer)
    assert len(hub._timer_pool) == hub.TIMER_POOL_SIZE
    assert timers[-1].closed and not timers[0].closed
    other_loop = type(hub.loop)(default=False)
    try:
        foreign = other_loop.timer(30)
        hub.return_timer(foreign)
        assert foreign.closed and foreign not in hub._timer_pool
    finally:
        other_loop.destroy()
    hub._timer_pool.clear()


class _CountingLoop:
    """Stands in for the hub's loop, counting update_now(); its timers are
    wrappers (``_PlainTimer``) of the real loop's."""

    def __init__(self, loop) -> None:
        self.loop = loop
        self.update_now_calls = 0

    def __getattr__(self, name: str):
        return getattr(self.loop, name)

    def update_now(self) -> None:
        self.update_now_calls += 1
        self.loop.update_now()

    def timer(self, *args, **kwargs):
        return _PlainTimer(self, self.loop.timer(*args, **kwargs))


class _PlainTimer:
    def __init__(self, loop, real) -> None:
        self.loop = loop
        self.real = real

    def start(self, callback, *args, update: bool = False) -> None:
        if update:
            self.loop.update_now()
        self.real.start(callback, *args)

    def restart(self, *args) -> None:
        self.real.restart(*args)

    def stop(self) -> None:
        self.real.stop()

    def close(self) -> None:
        self.real.close()


def test_sleep_and_the_timer_pool_follow_a_replaced_loop(hub: Any) -> None:
    sleep(0.001)  # the pool holds a timer of the real loop now
    real = hub.loop
    pooled = list(hub._timer_pool)
    proxy = hub.loop = _CountingLoop(real)
    try:
        sleep(0.001)
        assert proxy.update_now_calls == 1  # sleep counts from now, via the loop
        timer = hub._timer_pool[-1]
        assert isinstance(timer, _PlainTimer)  # a timer of the replacing loop, kept
        assert hub.start_timer(30, True, 0, True, print, ()) is timer  # reset, not new
        hub.return_timer(timer)
    finally:
        hub.loop = real
    assert hub._timer_pool == [*pooled, timer]
    # A timer of another loop on top of the pool is not handed out.
    other = hub.start_timer(30, True, 0, True, print, ())
    assert other is not timer and other.loop is real
    hub.return_timer(other)
    hub._timer_pool.clear()
    timer.close()


def test_a_hub_joined_and_destroyed_in_a_thread_leaves_no_greenlets() -> None:
    import gc

    from greenkit._greenlet_primitives import get_reachable_greenlets

    def clean() -> None:
        for _ in range(2):
            while gc.collect():
                pass

    def thread_main() -> None:
        spawn_raw(lambda: None)
        hub = get_hub()
        assert hub in get_reachable_greenlets()
        hub.join()
        hub.destroy(destroy_loop=True)

    clean()
    before = len(get_reachable_greenlets())
    for _ in range(5):
        thread = threading.Thread(target=thread_main)
        thread.start()
        thread.join()
        clean()
    after = get_reachable_greenlets()
    assert not [g for g in after if isinstance(g, Hub) and g.thread_ident != threading.get_ident()]
    # greenlet frees the main greenlet of an exited thread lazily: the last
    # thread's may still be there, but nothing accumulates.
    assert len(after) <= before + 1


def test_unref_sleep_does_not_keep_wait_alive() -> None:
    done = []

    def sleeper() -> None:
        sleep(30, ref=False)
        done.append(1)

    g = spawn_raw(sleeper)
    start = time.monotonic()
    assert wait(timeout=5) is True
    assert time.monotonic() - start < 5
    assert done == []
    hubmod.kill(g)
    sleep(0.01)
    assert g.dead


def test_idle_runs_when_nothing_else_is_pending() -> None:
    order = []
    spawn_raw(lambda: (hubmod.idle(), order.append("idle")))
    spawn_raw(lambda: order.append("plain"))
    wait()
    assert order == ["plain", "idle"]


def test_kill_raw_greenlet() -> None:
    caught = []

    def victim() -> None:
        try:
            sleep(10)
        except KeyError as ex:
            caught.append(ex)

    g = spawn_raw(victim)
    sleep(0)
    hubmod.kill(g, KeyError)
    sleep(0.01)
    assert g.dead
    assert len(caught) == 1


def test_spawn_raw_validates_and_passes_kwargs() -> None:
    with pytest.raises(TypeError):
        spawn_raw(42)  # type: ignore[arg-type]
    got = []
    spawn_raw(lambda a, b=0: got.append((a, b)), 1, b=2)
    sleep(0.01)
    assert got == [(1, 2)]


def test_hub_join_with_timeout_and_finish(hub: Any) -> None:
    timer = hub.loop.timer(10)
    timer.start(lambda: None)
    assert hub.join(timeout=0.05) is False
    timer.close()
    assert hub.join() is True


def test_wait_and_iwait_objects() -> None:
    a, b, c = Ready(), Ready(), Ready()
    spawn_raw(lambda: (sleep(0.02), b.fire(), sleep(0.02), a.fire()))
    assert wait([a, b, c], count=2) == [b, a]
    assert a.links == b.links == c.links == []

    d = Ready()
    assert list(iwait([d], timeout=0.02)) == []
    assert d.links == []


def test_handle_error_prints_report_and_keeps_running(hub: Any) -> None:
    stream = io.StringIO()
    hub.exception_stream = stream
    try:

        def boom() -> None:
            raise ZeroDivisionError("x")

        hub.loop.run_callback(boom)
        sleep(0.01)
    finally:
        del hub.exception_stream
    assert hub.exception_stream is __import__("sys").stderr
    text = stream.getvalue()
    assert "ZeroDivisionError: x" in text
    assert "failed with ZeroDivisionError" in text


def test_system_error_goes_to_main_greenlet(hub: Any) -> None:

    def boom() -> None:
        raise SystemExit(7)

    hub.loop.run_callback(boom)
    with pytest.raises(SystemExit) as info:
        sleep(0.05)
    assert info.value.code == 7
    sleep(0.01)  # the hub carries on


def test_blocking_inside_hub_callback_is_refused() -> None:
    errors = []

    def callback() -> None:
        try:
            sleep(0.01)
        except BlockingSwitchOutError as ex:
            errors.append(ex)

    get_hub().loop.run_callback(callback)
    sleep(0.01)
    assert len(errors) == 1


def test_signal_handler_runs_in_greenlet() -> None:
    got = []
    handler = hubmod.signal_handler(
        stdlib_signal.SIGUSR1, lambda x: got.append((x, getcurrent())), "hi"
    )
    try:
        os.kill(os.getpid(), stdlib_signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            sleep(0.01)
    finally:
        handler.cancel()
    assert got and got[0][0] == "hi"
    assert got[0][1] is not get_hub()


def test_cancel_wait_raises_in_waiter(hub: Any) -> None:
    watcher = hub.loop.timer(10)
    errors = []

    def waiting() -> None:
        try:
            hub.wait(watcher)
        except OSError as ex:
            errors.append(ex)

    spawn_raw(waiting)
    sleep(0)
    hub.cancel_wait(watcher, OSError("cancelled"), close_watcher=True)
    sleep(0.01)
    assert [str(e) for e in errors] == ["cancelled"]
    assert watcher.closed


def test_destroy_non_default_hub_in_thread_and_reuse() -> None:
    results = []

    def in_thread() -> None:
        hub = get_hub()
        sleep(0.001)
        loop = hub.loop
        hub.destroy(destroy_loop=False)
        second = get_hub()
        results.append(second is not hub and second.loop is loop)
        second.destroy(destroy_loop=True)
        results.append(loop.ptr is None)

    t = threading.Thread(target=in_thread)
    t.start()
    t.join(10)
    assert results == [True, True]


def test_hub_repr_and_custom_subclass_class(hub: Any) -> None:
    assert repr(hub).startswith("<Hub '' at 0x")
    assert isinstance(hub, Hub)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
@pytest.mark.parametrize("start", ["spawn_raw", "sleep"])
def test_fork_watchers_run_in_the_child_after_reinit(start: str) -> None:
    # A greenlet started by a loop callback (spawn_raw) forks while libev runs
    # its prepare watchers, where libev itself forgets fork watchers.
    hub = get_hub()
    fired: list[int] = []
    watcher = hub.loop.fork(ref=False)
    watcher.start(lambda: fired.append(os.getpid()))
    pids: list[int] = []

    def fork_and_check() -> None:
        if start == "sleep":
            sleep(0.001)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 99
            try:
                hubmod.reinit()
                sleep(0.001)
                sleep(0.001)
                code = 0 if fired == [os.getpid()] else 1
            finally:
                os._exit(code)
        pids.append(pid)

    try:
        spawn_raw(fork_and_check)
        while not pids:
            sleep(0.01)
        _, status = os.waitpid(pids[0], 0)
        assert os.waitstatus_to_exitcode(status) == 0
        sleep(0.01)
        assert fired == []  # never in the parent
    finally:
        watcher.close()


def test_multiple_waiter_returns_values_queued_before_get_in_order(hub: Any) -> None:
    from greenkit._waiter import MultipleWaiter

    waiter = MultipleWaiter(hub)
    for i in range(1000):
        hub.loop.run_callback(waiter.switch, i)
    assert [waiter.get() for _ in range(1000)] == list(range(1000))


def test_iwait_over_many_objects_fired_at_once_yields_each_once(hub: Any) -> None:
    objects = [Ready() for _ in range(2000)]

    def fire_all() -> None:
        for obj in objects:
            obj.fire()

    spawn_raw(fire_all)
    got = list(iwait(objects))
    assert len(got) == 2000 and set(map(id, got)) == set(map(id, objects))
