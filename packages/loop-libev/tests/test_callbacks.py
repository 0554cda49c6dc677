"""run_callback / run_callback_threadsafe: FIFO order, cancelling, waking, time slice."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from greenkit.loop import libev

SockPair = tuple[socket.socket, socket.socket]


def test_run_callback_runs_once_with_args(loop: libev.loop) -> None:
    log: list[tuple[object, ...]] = []
    cb = loop.run_callback(lambda *a: log.append(a), 1, "two")
    assert isinstance(cb, libev.callback)
    assert cb.pending
    loop.run()
    assert log == [(1, "two")]
    assert not cb.pending
    loop.run()
    assert log == [(1, "two")]


def test_run_returns_after_callbacks(loop: libev.loop, guarded_run: Callable[..., bool]) -> None:
    # gevent issue #210: a loop with only a callback must run it and return.
    log: list[int] = []
    loop.run_callback(log.append, 1)
    assert guarded_run(loop, 5)
    assert log == [1]


def test_fifo_order(loop: libev.loop) -> None:
    log: list[int] = []
    for i in range(500):
        loop.run_callback(log.append, i)
    assert loop.callback_count == 500
    loop.run()
    assert log == list(range(500))
    assert loop.callback_count == 0


def test_callbacks_queued_by_callbacks_run_later_in_order(loop: libev.loop) -> None:
    log: list[str] = []

    def first() -> None:
        log.append("first")
        loop.run_callback(log.append, "queued-by-first")

    loop.run_callback(first)
    loop.run_callback(log.append, "second")
    loop.run()
    assert log == ["first", "second", "queued-by-first"]


def test_stop_cancels(loop: libev.loop) -> None:
    log: list[int] = []
    cb = loop.run_callback(log.append, 1)
    cb.stop()
    assert not cb.pending
    loop.run_callback(log.append, 2)
    loop.run()
    assert log == [2]
    cb.stop()  # stopping a finished callback is harmless


def test_close_is_an_alias_of_stop(loop: libev.loop) -> None:
    log: list[int] = []
    cb = loop.run_callback(log.append, 1)
    cb.close()
    assert not cb.pending
    loop.run()
    assert log == []


def test_callback_cancelled_by_an_earlier_callback(loop: libev.loop) -> None:
    log: list[str] = []
    later: list[libev.callback] = []

    def first() -> None:
        log.append("first")
        later[0].stop()

    loop.run_callback(first)
    later.append(loop.run_callback(log.append, "never"))
    loop.run_callback(log.append, "third")
    loop.run()
    assert log == ["first", "third"]


def test_callback_truthiness_follows_pending(loop: libev.loop) -> None:
    # gevent's test__core_callback: `assert x` while pending, `assert not x` after.
    log: list[int] = []
    cb = loop.run_callback(log.append, 1)
    assert cb
    loop.run()
    assert not cb
    cb = loop.run_callback(log.append, 2)
    assert cb
    cb.stop()
    assert not cb
    loop.run()
    assert log == [1]


def test_callback_repr(loop: libev.loop) -> None:
    cb = loop.run_callback(print)
    assert "pending" in repr(cb)
    cb.stop()
    assert "pending" not in repr(cb)


def test_callbacks_run_with_nowait_and_once(loop: libev.loop) -> None:
    log: list[int] = []
    loop.run_callback(log.append, 1)
    loop.run(nowait=True)
    assert log == [1]
    loop.run_callback(log.append, 2)
    loop.run(once=True)
    assert log == [1, 2]


def test_callbacks_run_before_io_in_an_iteration(loop: libev.loop, sockpair: SockPair) -> None:
    a, _b = sockpair
    log: list[str] = []
    w = loop.io(a.fileno(), libev.WRITE)

    def on_io() -> None:
        log.append("io")
        w.stop()

    w.start(on_io)
    loop.run_callback(log.append, "callback")
    loop.run()
    assert log == ["callback", "io"]
    w.close()


def test_run_callback_threadsafe_same_thread(loop: libev.loop) -> None:
    log: list[int] = []
    cb = loop.run_callback_threadsafe(log.append, 7)
    assert cb.pending
    loop.run()
    assert log == [7]
    assert not cb.pending


def test_run_callback_threadsafe_wakes_a_blocked_loop(loop: libev.loop) -> None:
    keep_alive = loop.timer(30)  # keeps run() blocked; firing means nothing woke it
    outcome: list[str] = []

    def woke(thread_name: str) -> None:
        outcome.append(f"woke from {thread_name} in {threading.current_thread().name}")
        keep_alive.stop()

    def timed_out() -> None:
        outcome.append("timeout")

    keep_alive.start(timed_out)

    def other_thread() -> None:
        time.sleep(0.1)  # let the main thread block in run()
        loop.run_callback_threadsafe(woke, "helper")

    th = threading.Thread(target=other_thread, name="helper")
    th.start()
    try:
        loop.run()
    finally:
        th.join(30)
        keep_alive.close()
    assert outcome == [f"woke from helper in {threading.current_thread().name}"]


def test_many_threadsafe_callbacks_from_many_threads(loop: libev.loop) -> None:
    keep_alive = loop.timer(30)
    log: list[int] = []
    expected = 4 * 50

    def add(i: int) -> None:
        log.append(i)
        if len(log) == expected:
            keep_alive.stop()

    keep_alive.start(lambda: None)

    def worker(base: int) -> None:
        for i in range(50):
            loop.run_callback_threadsafe(add, base + i)

    threads = [threading.Thread(target=worker, args=(k * 1000,)) for k in range(4)]
    for th in threads:
        th.start()
    try:
        loop.run()
    finally:
        for th in threads:
            th.join(30)
        keep_alive.close()
    assert len(log) == expected
    for k in range(4):  # FIFO per producing thread
        mine = [i for i in log if k * 1000 <= i < (k + 1) * 1000]
        assert mine == [k * 1000 + i for i in range(50)]


# -- time slice: callbacks cannot starve I/O ----------------------------------------


def test_self_requeueing_callback_does_not_starve_io(loop: libev.loop, sockpair: SockPair) -> None:
    a, b = sockpair
    b.send(b"ready")
    state = {"spins": 0, "io": False}
    w = loop.io(a.fileno(), libev.READ)

    def on_read() -> None:
        state["io"] = True
        a.recv(100)
        w.stop()

    def spin() -> None:
        state["spins"] += 1
        if not state["io"]:
            loop.run_callback(spin)

    w.start(on_read)
    loop.run_callback(spin)
    for _ in range(1000):
        if state["io"]:
            break
        loop.run(once=True)
    assert state["io"], f"io never ran after {state['spins']} callbacks"
    # Let the spinning callback see the flag and stop re-queueing itself.
    for _ in range(100):
        if not loop.callback_count:
            break
        loop.run(once=True)
    assert loop.callback_count == 0
    w.close()


@pytest.fixture
def switch_interval_5ms() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@pytest.mark.usefixtures("switch_interval_5ms")
def test_flood_of_slow_callbacks_lets_io_in_before_the_end(
    loop: libev.loop, sockpair: SockPair
) -> None:
    a, b = sockpair
    b.send(b"ready")
    log: list[str] = []
    w = loop.io(a.fileno(), libev.READ)

    def on_read() -> None:
        log.append("io")
        a.recv(100)
        w.stop()

    def slow(i: int) -> None:
        time.sleep(0.001)  # 32 of these outlast the 5 ms switch interval
        log.append(f"cb{i}")

    w.start(on_read)
    count = 200
    for i in range(count):
        loop.run_callback(slow, i)
    loop.run()
    assert len(log) == count + 1
    assert log.index("io") < count  # io ran before the last callback
    assert [x for x in log if x != "io"] == [f"cb{i}" for i in range(count)]
    w.close()
