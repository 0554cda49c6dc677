"""greenkit._abstract_linkable: links, notification rounds, waiting, hubs and threads.

Exercised through Event (notifies every link) and Semaphore (only while ready).
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from greenlet import getcurrent
from greenlet import greenlet as RawGreenlet

from greenkit._abstract_linkable import AbstractLinkable
from greenkit._hub_local import get_hub_if_exists
from greenkit.event import AsyncResult, Event
from greenkit.exceptions import BlockingSwitchOutError, InvalidSwitchError
from greenkit.hub import get_hub, kill, sleep, spawn_raw
from greenkit.lock import Semaphore
from greenkit.timeout import Timeout

SHORT = 0.02
LONG = 5.0


class CountingLoop:
    """Stands in for ``hub.loop``, counting the callbacks queued."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.queued: list[Any] = []
        self.threadsafe: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def run_callback(self, func: Callable[..., Any], *args: Any) -> Any:
        self.queued.append(func)
        return self.real.run_callback(func, *args)

    def run_callback_threadsafe(self, func: Callable[..., Any], *args: Any) -> Any:
        self.threadsafe.append(func)
        return self.real.run_callback_threadsafe(func, *args)


@pytest.fixture
def counting_loop() -> Iterator[CountingLoop]:
    hub = get_hub()
    real = hub.loop
    proxy = CountingLoop(real)
    hub.loop = proxy
    try:
        yield proxy
    finally:
        hub.loop = real


def wait_until(condition: Callable[[], bool], seconds: float = LONG) -> None:
    """Cooperatively wait (yielding to the hub) until ``condition()`` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        sleep(0.001)


def native_thread(target: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def join_native(thread: threading.Thread) -> None:
    """Join a native thread while letting this thread's hub run."""
    wait_until(lambda: not thread.is_alive())
    thread.join()


def in_thread_with_hub(body: Callable[[], Any]) -> Callable[[], None]:
    """Wrap ``body`` to run in a thread that uses (and then destroys) its own hub."""

    def run() -> None:
        get_hub()
        try:
            body()
        finally:
            hub = get_hub_if_exists()
            if hub is not None:
                hub.destroy(destroy_loop=True)

    return run


# -- links ------------------------------------------------------------------------------


def test_abstract_ready() -> None:
    with pytest.raises(NotImplementedError):
        AbstractLinkable().ready()


def test_rawlink_requires_callable() -> None:
    event = Event()
    with pytest.raises(TypeError, match="Expected callable"):
        event.rawlink(None)  # type: ignore[arg-type]
    event.unlink(None)  # type: ignore[arg-type]  # absent: no error
    assert event.linkcount() == 0


def test_links_called_once_in_order_from_the_hub() -> None:
    event = Event()
    calls: list[tuple[int, Any, bool]] = []
    for i in range(5):
        event.rawlink(lambda obj, i=i: calls.append((i, obj, getcurrent() is get_hub())))
    assert event.linkcount() == 5
    event.set()
    assert calls == []  # from the hub, not synchronously
    sleep(0)
    assert calls == [(i, event, True) for i in range(5)]
    assert event.linkcount() == 0
    event.clear()
    event.set()
    sleep(0)
    assert len(calls) == 5  # one-shot


def test_rawlink_on_ready_object_fires_soon() -> None:
    event = Event()
    event.set()
    calls: list[Any] = []
    event.rawlink(calls.append)
    assert calls == []
    sleep(0)
    assert calls == [event]


def test_unlink_before_notification() -> None:
    event = Event()
    calls: list[str] = []

    def a(_: Any) -> None:
        calls.append("a")

    def b(_: Any) -> None:
        calls.append("b")

    event.rawlink(a)
    event.rawlink(b)
    event.unlink(a)
    assert event.linkcount() == 1
    event.set()
    sleep(0)
    assert calls == ["b"]


def test_unlink_bound_method_by_equality() -> None:
    class Listener:
        def __init__(self) -> None:
            self.calls = 0

        def on(self, _: Any) -> None:
            self.calls += 1

    listener = Listener()
    event = Event()
    event.rawlink(listener.on)
    event.unlink(listener.on)  # a different but equal bound-method object
    event.set()
    sleep(0)
    assert listener.calls == 0


def test_unlink_during_round_prevents_later_call() -> None:
    event = AsyncResult()
    results: list[str] = []

    def first(_: Any) -> None:
        results.append("first")
        event.unlink(second)
        event.unlink(third)

    def second(_: Any) -> None:
        results.append("second")

    def third(_: Any) -> None:
        results.append("third")

    for link in (first, second, third):
        event.rawlink(link)
    event.set(6)
    sleep(0.01)
    assert results == ["first"]


def test_one_callback_per_round(counting_loop: CountingLoop) -> None:
    event = Event()
    woken: list[int] = []

    def waiter(i: int) -> None:
        event.wait()
        woken.append(i)

    for i in range(10):
        spawn_raw(waiter, i)
    sleep(0)
    assert event.linkcount() == 10
    before = len(counting_loop.queued)
    event.set()
    event.set()  # already scheduled: nothing more
    assert len(counting_loop.queued) == before + 1
    sleep(0)
    assert woken == list(range(10))
    assert counting_loop.threadsafe == []


def test_links_added_during_round_wait_for_next_round() -> None:
    event = Event()
    order: list[str] = []

    def late(_: Any) -> None:
        order.append("late")

    def early(_: Any) -> None:
        order.append("early")
        event.rawlink(late)
        # Still inside the first round: the new link is not called yet.
        assert order == ["early"]

    event.rawlink(early)
    event.set()
    sleep(0)
    sleep(0)
    assert order == ["early", "late"]


def test_new_link_not_called_if_cleared_during_round() -> None:
    # A link added while the round runs, after the event was cleared, waits
    # for the next set() (gevent issue 771).
    event = Event()
    called: list[Any] = []

    def clearing(_: Any) -> None:
        event.clear()
        event.rawlink(called.append)

    event.rawlink(clearing)
    event.set()
    sleep(0.01)
    assert called == []
    assert event.linkcount() == 1
    event.set()
    sleep(0)
    assert called == [event]


def test_failing_link_reported_and_others_still_run(error_stream: io.StringIO) -> None:
    event = Event()
    calls: list[str] = []

    def bad(_: Any) -> None:
        raise ZeroDivisionError("bad link")

    event.rawlink(bad)
    event.rawlink(lambda _: calls.append("good"))
    event.set()
    sleep(0)
    assert calls == ["good"]
    text = error_stream.getvalue()
    assert "ZeroDivisionError: bad link" in text
    assert "failed with ZeroDivisionError" in text


def test_semaphore_links_called_only_while_ready() -> None:
    sem = Semaphore(0)
    calls: list[str] = []

    def taking(_: Any) -> None:
        calls.append("taking")
        assert sem.acquire(blocking=False)

    sem.rawlink(taking)
    sem.rawlink(lambda _: calls.append("second"))
    sem.release()
    sleep(0)
    # The first link took the only permit: the second waits for the next one.
    assert calls == ["taking"]
    assert sem.linkcount() == 1
    sem.release()
    sleep(0)
    assert calls == ["taking", "second"]


# -- waiting ------------------------------------------------------------------------------


def test_waiters_resume_in_fifo_order() -> None:
    event = Event()
    order: list[int] = []
    for i in range(20):
        spawn_raw(lambda i=i: (event.wait(), order.append(i)))
    sleep(0)
    event.set()
    sleep(0)
    assert order == list(range(20))


def test_killed_waiter_is_removed() -> None:
    event = Event()
    outcome: list[str] = []

    def waiter() -> None:
        try:
            event.wait()
        except ZeroDivisionError:
            outcome.append("killed")
            return
        outcome.append("woken")  # pragma: no cover - would be a bug

    g = spawn_raw(waiter)
    sleep(0)
    assert event.linkcount() == 1
    kill(g, ZeroDivisionError)
    sleep(0)
    assert outcome == ["killed"]
    assert event.linkcount() == 0
    event.set()
    sleep(0)
    assert outcome == ["killed"]


def test_timed_out_waiter_is_removed() -> None:
    event = Event()
    start = time.monotonic()
    assert event.wait(SHORT) is False
    assert SHORT * 0.5 <= time.monotonic() - start < LONG
    assert event.linkcount() == 0


def test_outer_timeout_is_not_swallowed() -> None:
    event = Event()
    outer = Timeout.start_new(SHORT)
    try:
        with pytest.raises(Timeout) as info:
            event.wait(LONG)
        assert info.value is outer
    finally:
        outer.close()
    assert event.linkcount() == 0


def test_wait_with_timeout_instance() -> None:
    event = Event()
    timeout = Timeout(SHORT)
    try:
        assert event.wait(timeout) is False
    finally:
        timeout.close()
    assert event.linkcount() == 0


def test_waiting_in_the_hub_is_refused() -> None:
    event = Event()
    errors: list[BaseException] = []

    def from_callback() -> None:
        try:
            event.wait()
        except BlockingSwitchOutError as ex:
            errors.append(ex)

    get_hub().loop.run_callback(from_callback)
    sleep(0)
    assert len(errors) == 1
    assert event.linkcount() == 0


def test_stray_switch_is_detected() -> None:
    event = Event()
    errors: list[BaseException] = []

    def waiter() -> None:
        try:
            event.wait()
        except InvalidSwitchError as ex:
            errors.append(ex)

    g = spawn_raw(waiter)
    sleep(0)
    get_hub().loop.run_callback(g.switch, "not the event")
    sleep(0)
    assert len(errors) == 1
    assert event.linkcount() == 0


def test_waiter_finding_ready_object_queues_behind_notification() -> None:
    # gevent issue 1520: no cutting in line, and no extra trip around the loop.
    event = Event()
    results: list[int] = []

    def wait_then_append(i: int) -> None:
        event.wait()
        results.append(i)

    spawn_raw(wait_then_append, 1)
    spawn_raw(wait_then_append, 2)
    sleep(0)
    assert event.linkcount() == 2
    check = get_hub().loop.check()
    check.start(results.append, 4)
    try:
        event.set()
        wait_then_append(3)
        assert results == [1, 2, 3]
    finally:
        check.close()


def test_waiting_again_inside_round_goes_to_next_round() -> None:
    event = Event()
    rounds: list[str] = []

    def waiter() -> None:
        event.wait()
        rounds.append("first")
        event.wait()  # still set: but it queues behind the running round
        rounds.append("second")

    spawn_raw(waiter)
    sleep(0)
    event.set()
    sleep(0)
    sleep(0)
    assert rounds == ["first", "second"]


# -- hubs and threads -------------------------------------------------------------------


def test_binding_to_first_waiting_hub() -> None:
    event = Event()
    assert event.hub is None
    event.set()
    assert event.wait() is True
    assert event.hub is None  # never had to wait
    event.clear()
    event.wait(0.001)
    assert event.hub is get_hub()
    sem = Semaphore(hub=get_hub())
    assert sem.hub is get_hub()


def test_set_from_hubless_thread_wakes_greenlet(counting_loop: CountingLoop) -> None:
    event = Event()
    woken: list[bool] = []
    thread_hub: list[Any] = []

    def waiter() -> None:
        woken.append(event.wait(LONG))

    spawn_raw(waiter)
    sleep(0)

    def setter() -> None:
        event.set()
        thread_hub.append(get_hub_if_exists())

    join_native(native_thread(setter))
    wait_until(lambda: bool(woken))
    assert woken == [True]
    assert thread_hub == [None]  # the setting thread never got a hub
    assert len(counting_loop.threadsafe) == 1


def test_set_from_other_thread_wakes_waiter_without_timer() -> None:
    # Nothing but the cross-thread wake-up can end this wait: no timer, no
    # busy loop; a second greenlet keeps the hub's loop busy with sleeps.
    event = Event()
    woken: list[bool] = []
    spawn_raw(lambda: woken.append(event.wait()))
    sleep(0)
    thread = native_thread(lambda: (time.sleep(SHORT), event.set()))
    wait_until(lambda: bool(woken))
    thread.join()
    assert woken == [True]


def test_waiter_in_other_hub_woken_by_owner() -> None:
    event = Event()
    event.wait(0.001)  # belongs to this thread's hub
    results: list[Any] = []
    started = threading.Event()

    def body() -> None:
        started.set()
        results.append(event.wait())  # no timer: the async watcher keeps the loop alive
        results.append(get_hub_if_exists() is not None)

    thread = native_thread(in_thread_with_hub(body))
    assert started.wait(LONG)
    wait_until(lambda: event.linkcount() == 1)
    assert event.hub is get_hub()
    event.set()
    join_native(thread)
    assert results == [True, True]


def test_waiter_in_other_hub_times_out_and_is_removed() -> None:
    event = Event()
    event.wait(0.001)
    results: list[Any] = []

    def body() -> None:
        results.append(event.wait(SHORT))

    join_native(native_thread(in_thread_with_hub(body)))
    assert results == [False]
    assert event.linkcount() == 0


def test_hubless_thread_waits_natively() -> None:
    event = Event()
    event.wait(0.001)  # owned by this hub
    results: list[Any] = []

    def body() -> None:
        results.append(event.wait())
        results.append(get_hub_if_exists())

    thread = native_thread(body)
    wait_until(lambda: event.linkcount() == 1)
    event.set()
    join_native(thread)
    assert results == [True, None]


def test_hubless_thread_wait_times_out() -> None:
    event = Event()
    results: list[Any] = []

    def body() -> None:
        start = time.monotonic()
        results.append(event.wait(SHORT))
        results.append(time.monotonic() - start)
        results.append(get_hub_if_exists())

    native_thread(body).join(LONG)
    assert results[0] is False
    assert SHORT * 0.5 <= results[1] < LONG
    assert results[2] is None
    assert event.linkcount() == 0
    assert event.hub is None


def test_unbound_object_between_hubless_threads() -> None:
    # Neither thread has a hub; the object never gets one.
    result = AsyncResult()
    got: list[Any] = []
    waiting = threading.Thread(target=lambda: got.append(result.get()), daemon=True)
    waiting.start()
    deadline = time.monotonic() + LONG
    while result.linkcount() == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    threading.Thread(target=lambda: result.set("native"), daemon=True).start()
    waiting.join(LONG)
    assert got == ["native"]
    assert result.hub is None


def test_rawlink_from_other_hub_runs_in_that_thread() -> None:
    event = Event()
    event.wait(0.001)  # owned by the main thread's hub
    seen: list[int] = []
    linked = threading.Event()

    def body() -> None:
        done = threading.Event()
        event.rawlink(lambda _: (seen.append(threading.get_ident()), done.set()))
        linked.set()
        # Keep this thread's hub running until the callback came.
        while not done.is_set():
            sleep(0.001)

    thread = native_thread(in_thread_with_hub(body))
    assert linked.wait(LONG)
    event.set()
    join_native(thread)
    assert seen == [thread.ident]


def test_rebinds_after_owning_hub_destroyed() -> None:
    event = Event()

    def body() -> None:
        event.wait(0.001)

    join_native(native_thread(in_thread_with_hub(body)))
    assert event.hub is not None and event.hub.loop is None  # its hub is gone
    woken: list[bool] = []
    spawn_raw(lambda: woken.append(event.wait(LONG)))
    sleep(0)
    assert event.hub is get_hub()
    event.set()
    sleep(0)
    assert woken == [True]


def test_callback_may_run_before_cross_thread_scheduling_returns() -> None:
    # The round scheduled by another thread can run (and finish) before that
    # thread's run_callback_threadsafe() returns: no error, no lost link.
    hub = get_hub()
    real = hub.loop
    result = AsyncResult()
    result.wait(0)  # owned by this hub
    result.rawlink(lambda _: None)
    scheduling = threading.Event()
    allow = threading.Event()
    link_started = threading.Event()
    producer_done = threading.Event()
    errors: list[BaseException] = []

    class Proxy:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def run_callback_threadsafe(self, func: Callable[..., Any], *args: Any) -> Any:
            scheduling.set()
            assert allow.wait(LONG)
            handle = real.run_callback_threadsafe(func, *args)
            assert link_started.wait(LONG)
            return handle

    def producer() -> None:
        try:
            result.set("x")
        except BaseException as ex:  # noqa: BLE001 - reported by the test
            errors.append(ex)
        finally:
            producer_done.set()

    def link(_: Any) -> None:
        link_started.set()
        assert producer_done.wait(LONG)

    hub.loop = Proxy()
    try:
        thread = threading.Thread(target=producer, daemon=True)
        thread.start()
        assert scheduling.wait(LONG)
        result.rawlink(link)
        allow.set()
        wait_until(producer_done.is_set)
        thread.join(LONG)
    finally:
        allow.set()
        link_started.set()
        hub.loop = real
    assert errors == []
    assert result.linkcount() == 0
    assert result.get() == "x"


def test_lock_released_in_other_hub_while_greenlet_waits() -> None:
    # Semaphore owned by this hub, released by a greenlet of another thread's hub.
    sem = Semaphore(0)
    got: list[bool] = []
    spawn_raw(lambda: got.append(sem.acquire()))
    sleep(0)
    assert sem.hub is get_hub()

    def body() -> None:
        get_hub()
        sem.release()

    join_native(native_thread(in_thread_with_hub(body)))
    wait_until(lambda: bool(got))
    assert got == [True]
    assert sem.counter == 0


def test_raw_greenlet_link_target() -> None:
    # A raw greenlet's switch is an ordinary link.
    event = Event()
    seen: list[Any] = []

    def run() -> None:
        seen.append(get_hub().switch())

    g = RawGreenlet(run, get_hub())
    get_hub().loop.run_callback(g.switch)
    sleep(0)
    event.rawlink(g.switch)
    event.set()
    sleep(0)
    assert seen == [event]


def test_unlink_from_other_hub_of_hopped_callback() -> None:
    event = Event()
    event.wait(0.001)  # owned by the main thread's hub
    seen: list[Any] = []
    results: list[int] = []

    def body() -> None:
        def callback(obj: Any) -> None:
            seen.append(obj)

        event.rawlink(callback)
        results.append(event.linkcount())
        event.unlink(callback)
        results.append(event.linkcount())

    join_native(native_thread(in_thread_with_hub(body)))
    event.set()
    sleep(0.01)
    assert results == [1, 0]
    assert seen == []


def test_private_wait_returns_notified_flag() -> None:
    event = Event()
    assert event._wait(SHORT) is False
    spawn_raw(event.set)
    assert event._wait(LONG) is True
