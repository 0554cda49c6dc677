"""greenkit.event: Event and AsyncResult."""

from __future__ import annotations

import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from greenlet import getcurrent

import greenkit.event as event_module
from greenkit._hub_local import get_hub_if_exists
from greenkit.event import AsyncResult, Event
from greenkit.hub import get_hub, iwait, sleep, spawn_raw, wait
from greenkit.timeout import Timeout, with_timeout

SHORT = 0.02
LONG = 5.0


class MyError(Exception):
    pass


def wait_until(condition: Callable[[], bool], seconds: float = LONG) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        sleep(0.001)


def elapsed(func: Callable[[], Any]) -> tuple[Any, float]:
    start = time.monotonic()
    result = func()
    return result, time.monotonic() - start


# -- module surface ---------------------------------------------------------------------


def test_public_names() -> None:
    assert event_module.__all__ == ["Event", "AsyncResult"]
    assert Event.__module__ == "greenkit.event"
    assert AsyncResult.__module__ == "greenkit.event"


# -- Event ------------------------------------------------------------------------------


def test_event_flag() -> None:
    event = Event()
    assert not event.is_set() and not event.isSet() and not event.ready()
    event.set()
    assert event.is_set() and event.isSet() and event.ready()
    event.clear()
    assert not event.is_set()


def test_event_str_and_repr() -> None:
    event = Event()
    assert str(event) == "<Event clear links=0>"
    event.set()
    assert str(event) == "<Event set links=0>"
    assert repr(event).startswith("<greenkit.event.Event at 0x")
    assert repr(event).endswith(" set links=0>")


def test_event_weakref() -> None:
    event = Event()
    ref = weakref.ref(event)
    assert ref() is event
    del event
    assert ref() is None


def test_wait_on_set_event_returns_at_once() -> None:
    event = Event()
    event.set()
    result, took = elapsed(event.wait)
    assert result is True
    assert took < 1.0
    assert event.wait(0) is True


def test_wait_timeout_returns_false() -> None:
    event = Event()
    result, took = elapsed(lambda: event.wait(SHORT))
    assert result is False
    assert SHORT * 0.5 <= took < LONG


def test_wait_woken_by_set() -> None:
    event = Event()
    spawn_raw(lambda: (sleep(SHORT), event.set()))
    result, took = elapsed(event.wait)
    assert result is True
    assert took < LONG


def test_set_then_clear_still_wakes_waiters() -> None:
    event = Event()
    results: list[bool] = []
    for _ in range(100):
        spawn_raw(lambda: results.append(event.wait()))
    sleep(0.001)
    event.set()
    event.clear()
    wait_until(lambda: len(results) == 100)
    assert results == [True] * 100
    assert not event.is_set()


def test_waiters_fifo() -> None:
    event = Event()
    order: list[int] = []
    for i in range(10):
        spawn_raw(lambda i=i: (event.wait(), order.append(i)))
    sleep(0)
    event.set()
    sleep(0)
    assert order == list(range(10))


def test_set_during_wait_then_clear_and_wait_again() -> None:
    # gevent issue 771, through hub.wait().
    event = Event()
    outcome: list[Any] = []

    def waiter() -> None:
        spawn_raw(event.set)
        outcome.append(event.wait())
        event.clear()
        outcome.append(wait([event], timeout=0.01))

    spawn_raw(waiter)
    wait_until(lambda: len(outcome) == 2)
    assert outcome == [True, []]
    assert event.linkcount() == 0


def test_hub_wait_twice_on_set_event() -> None:
    event = Event()
    event.set()
    assert wait([event]) == [event]
    assert wait([event]) == [event]


def test_hub_wait_with_count_and_timeout() -> None:
    events = [Event() for _ in range(4)]

    def setter() -> None:
        for e in events:
            sleep(0.001)
            e.set()

    spawn_raw(setter)
    assert wait(events, count=2) == events[:2]
    assert wait(events) == events
    with iwait([Event()], timeout=SHORT) as it:
        assert list(it) == []


def test_event_cross_thread_set() -> None:
    event = Event()
    results: list[bool] = []
    spawn_raw(lambda: results.append(event.wait(LONG)))
    sleep(0)
    threading.Thread(target=event.set, daemon=True).start()
    wait_until(lambda: bool(results))
    assert results == [True]


def test_event_waited_in_thread_with_own_hub() -> None:
    # The event belongs to the other thread's hub; this thread sets it.
    event = Event()
    results: list[Any] = []
    running = threading.Event()

    def body() -> None:
        get_hub()
        running.set()
        results.append(event.wait(LONG))
        get_hub().destroy(destroy_loop=True)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    assert running.wait(LONG)
    deadline = time.monotonic() + LONG
    while event.linkcount() == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    event.set()
    thread.join(LONG)
    assert results == [True]


# -- AsyncResult ------------------------------------------------------------------------


def test_asyncresult_initial_state() -> None:
    result = AsyncResult()
    assert not result.ready()
    assert not result.successful()
    assert result.value is None
    assert result.exception is None
    assert result.exc_info == ()
    assert not result.done()
    assert result.running()
    assert result.cancel() is False
    assert result.cancelled() is False
    assert str(result) == "<AsyncResult unset links=0>"


def test_asyncresult_set_and_get() -> None:
    result = AsyncResult()
    spawn_raw(result.set, 42)
    assert result.get() == 42
    assert result.ready() and result.successful() and result.done()
    assert not result.running()
    assert result.value == 42
    assert result.get(block=False) == 42
    assert result.get_nowait() == 42
    assert result.wait() == 42
    assert result.result() == 42
    assert str(result) == "<AsyncResult value=42 links=0>"


def test_asyncresult_set_default_none() -> None:
    result = AsyncResult()
    result.set()
    assert result.ready() and result.successful()
    assert result.get() is None


def test_asyncresult_get_nonblocking_raises_timeout() -> None:
    result = AsyncResult()
    with pytest.raises(Timeout):
        result.get(block=False)
    with pytest.raises(Timeout):
        result.get_nowait()
    assert result.linkcount() == 0


def test_asyncresult_get_timeout_raises() -> None:
    result = AsyncResult()
    start = time.monotonic()
    with pytest.raises(Timeout) as info:
        result.get(timeout=SHORT)
    assert SHORT * 0.5 <= time.monotonic() - start < LONG
    assert info.value.seconds == SHORT
    assert result.linkcount() == 0
    with pytest.raises(Timeout):
        result.result(timeout=SHORT)


def test_asyncresult_get_with_timeout_instance() -> None:
    result = AsyncResult()
    timeout = Timeout(SHORT)
    try:
        with pytest.raises(Timeout) as info:
            result.get(timeout=timeout)
        assert info.value is timeout
    finally:
        timeout.close()
    error = RuntimeError("custom")
    timeout = Timeout(SHORT, exception=error)
    try:
        with pytest.raises(RuntimeError) as rinfo:
            result.get(timeout=timeout)
        assert rinfo.value is error
    finally:
        timeout.close()


def test_asyncresult_with_timeout_value() -> None:
    result = AsyncResult()
    marker = object()
    assert with_timeout(SHORT, result.get, timeout_value=marker) is marker


def test_asyncresult_wait_timeout_returns_none() -> None:
    result = AsyncResult()
    value, took = elapsed(lambda: result.wait(SHORT))
    assert value is None
    assert SHORT * 0.5 <= took < LONG


def _raise_my_error() -> None:
    raise MyError("original")


def test_asyncresult_set_exception_reraised_with_traceback() -> None:
    result = AsyncResult()
    try:
        _raise_my_error()
    except MyError as ex:
        result.set_exception(ex)
    assert result.ready() and not result.successful()
    assert result.value is None
    assert isinstance(result.exception, MyError)
    assert result.exc_info[0] is MyError
    assert result.exc_info[1] is result.exception
    assert result.wait() is None
    lengths = []
    for _ in range(3):
        try:
            result.get()
        except MyError as ex:
            names = [frame.name for frame in traceback.extract_tb(ex.__traceback__)]
            assert "_raise_my_error" in names
            lengths.append(len(names))
    # Each get() starts again from the stored traceback (gevent issue 1946).
    assert len(set(lengths)) == 1
    assert str(result).startswith("<AsyncResult exception=MyError('original')")


def test_asyncresult_set_exception_with_exc_info() -> None:
    try:
        _raise_my_error()
    except MyError:
        info = sys.exc_info()
    result = AsyncResult()
    error = MyError("replacement")
    result.set_exception(error, info)
    with pytest.raises(MyError) as raised:
        result.get()
    assert raised.value is error
    names = [frame.name for frame in traceback.extract_tb(raised.value.__traceback__)]
    assert "_raise_my_error" in names


def test_asyncresult_set_exception_class() -> None:
    result = AsyncResult()
    result.set_exception(MyError)
    assert isinstance(result.exception, MyError)
    with pytest.raises(MyError):
        result.result()


def test_asyncresult_waiter_gets_exception() -> None:
    result = AsyncResult()
    caught: list[BaseException] = []

    def waiter() -> None:
        try:
            result.get()
        except MyError as ex:
            caught.append(ex)

    spawn_raw(waiter)
    sleep(0)
    error = MyError()
    result.set_exception(error)
    sleep(0)
    assert caught == [error]


def test_asyncresult_set_overrides_exception() -> None:
    result = AsyncResult()
    result.set_exception(MyError())
    result.set(1)
    assert result.successful()
    assert result.exc_info == ()
    assert result.get() == 1


def test_asyncresult_as_link_target() -> None:
    class Source:
        def __init__(self, ok: bool) -> None:
            self.ok = ok
            self.value = "v" if ok else None
            self.exception = None if ok else MyError("from source")
            self.exc_info = None if ok else (MyError, self.exception, None)

        def successful(self) -> bool:
            return self.ok

    good, bad = AsyncResult(), AsyncResult()
    good(Source(True))
    bad(Source(False))
    assert good.get() == "v"
    with pytest.raises(MyError, match="from source"):
        bad.get()


def test_asyncresult_add_done_callback_called_with_self_from_hub() -> None:
    result = AsyncResult()
    calls: list[tuple[Any, bool]] = []
    result.add_done_callback(lambda r: calls.append((r, getcurrent() is get_hub())))
    result.set("done")
    assert calls == []
    sleep(0)
    assert calls == [(result, True)]
    result.add_done_callback(lambda r: calls.append((r, getcurrent() is get_hub())))
    sleep(0)
    assert calls == [(result, True), (result, True)]


def test_asyncresult_many_waiters() -> None:
    result = AsyncResult()
    got: list[Any] = []
    for _ in range(5):
        spawn_raw(lambda: got.append(result.get()))
    sleep(0)
    assert result.linkcount() == 5
    result.set("all")
    sleep(0)
    assert got == ["all"] * 5


def test_asyncresult_cross_thread_set() -> None:
    result = AsyncResult()
    got: list[Any] = []
    spawn_raw(lambda: got.append(result.get(timeout=LONG)))
    sleep(0)
    hubs: list[Any] = []

    def setter() -> None:
        result.set("from thread")
        hubs.append(get_hub_if_exists())

    thread = threading.Thread(target=setter, daemon=True)
    thread.start()
    wait_until(lambda: bool(got))
    thread.join(LONG)
    assert got == ["from thread"]
    assert hubs == [None]


def test_asyncresult_waited_in_hubless_thread() -> None:
    result = AsyncResult()
    result.wait(0)  # belongs to this hub
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.append(result.get()), daemon=True)
    thread.start()
    wait_until(lambda: result.linkcount() == 1)
    result.set("to thread")
    wait_until(lambda: not thread.is_alive())
    assert got == ["to thread"]
