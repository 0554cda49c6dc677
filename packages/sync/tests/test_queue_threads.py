"""greenkit.queue across native threads: waiters parked in one thread's hub are
woken by operations in another thread (with or without a hub of its own)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from greenkit._hub_local import get_hub_if_exists
from greenkit.hub import get_hub, sleep, spawn_raw
from greenkit.queue import Channel, Empty, Full, Queue, SimpleQueue

LONG = 5.0


class Thread(threading.Thread):
    """A native thread recording its target's result or exception; its hub (if
    it made one) is destroyed at the end."""

    def __init__(self, target: Callable[..., Any], *args: Any) -> None:
        super().__init__(daemon=True)
        self._fn = target
        self._args = args
        self.value: Any = None
        self.exc: BaseException | None = None
        self.had_hub = False

    def run(self) -> None:
        try:
            self.value = self._fn(*self._args)
        except BaseException as ex:  # noqa: BLE001 - recorded for the test
            self.exc = ex
        finally:
            hub = get_hub_if_exists()
            self.had_hub = hub is not None
            if hub is not None:
                hub.destroy(destroy_loop=True)

    def result(self, timeout: float = LONG) -> Any:
        self.join(timeout)
        assert not self.is_alive(), "thread did not finish"
        if self.exc is not None:
            raise self.exc
        return self.value


def cooperative_wait(condition: Callable[[], bool], timeout: float = LONG) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        sleep(0.001)


def test_put_in_main_wakes_a_getter_in_another_hub() -> None:
    q: Queue[str] = Queue()
    worker = Thread(q.get)  # no timeout: nothing else keeps that loop alive
    worker.start()
    cooperative_wait(lambda: len(q.getters) == 1)
    q.put("hello")
    assert worker.result() == "hello"
    assert worker.had_hub
    assert len(q.getters) == 0


def test_put_from_a_hubless_thread_wakes_the_main_greenlet() -> None:
    q: SimpleQueue[str] = SimpleQueue()

    def producer() -> None:
        time.sleep(0.05)
        q.put("from thread")

    thread = Thread(producer)
    thread.start()
    start = time.monotonic()
    assert q.get(timeout=LONG) == "from thread"
    assert time.monotonic() - start < LONG / 2
    thread.result()
    assert not thread.had_hub  # putting does not create a hub


def test_nonblocking_calls_never_create_a_hub() -> None:
    q: Queue[int] = Queue(1)
    c: Channel[int] = Channel()

    def calls() -> list[str]:
        seen = []
        for call in (q.get_nowait, q.peek_nowait, c.get_nowait, lambda: q.get(timeout=0)):
            try:
                call()
            except Empty:
                seen.append("Empty")
        q.put_nowait(1)
        for call in (lambda: q.put_nowait(2), lambda: c.put_nowait(3)):
            try:
                call()
            except Full:
                seen.append("Full")
        assert q.get_nowait() == 1
        q.task_done()
        assert q.join() is True
        return seen

    thread = Thread(calls)
    thread.start()
    assert thread.result() == ["Empty"] * 4 + ["Full"] * 2
    assert not thread.had_hub


def test_main_waits_without_timeout_on_a_queue_made_elsewhere() -> None:
    box: list[Queue[int]] = []
    made = threading.Event()
    go = threading.Event()

    def producer() -> None:
        box.append(Queue())
        made.set()
        go.wait(LONG)
        time.sleep(0.05)
        box[0].put(7)

    thread = Thread(producer)
    thread.start()
    assert made.wait(LONG)
    go.set()
    # The queue belongs to another thread: the wait keeps this loop alive
    # instead of raising LoopExit.
    assert box[0].get() == 7
    thread.result()


def test_get_in_main_wakes_a_putter_in_another_hub() -> None:
    q: Queue[int] = Queue(1)
    q.put(0)
    worker = Thread(q.put, 1)
    worker.start()
    cooperative_wait(lambda: len(q.putters) == 1)
    assert q.get() == 0
    worker.result()
    assert q.get_nowait() == 1


def test_task_done_from_a_hubless_thread_releases_join() -> None:
    q: Queue[int] = Queue(items=[1, 2, 3])

    def consumer() -> None:
        for _ in range(3):
            q.get()
            time.sleep(0.01)
            q.task_done()

    thread = Thread(consumer)
    thread.start()
    assert q.join(timeout=LONG) is True
    thread.result()
    assert not thread.had_hub


def test_channel_across_threads() -> None:
    c: Channel[str] = Channel()
    getter = Thread(c.get)
    getter.start()
    cooperative_wait(lambda: c.balance == -1)
    c.put("rendezvous")
    assert getter.result() == "rendezvous"

    putter = Thread(c.put, "back")
    putter.start()
    cooperative_wait(lambda: c.balance == 1)
    assert c.get() == "back"
    putter.result()


def test_many_hubless_producers_feed_greenlet_consumers() -> None:
    q: Queue[int | None] = Queue(10)
    received: list[int] = []
    finished: list[bool] = []

    def consumer() -> None:
        while True:
            item = q.get(timeout=LONG)
            if item is None:
                finished.append(True)
                return
            received.append(item)

    for _ in range(3):
        spawn_raw(consumer)

    def producer(base: int) -> None:
        for i in range(200):
            q.put(base + i, timeout=LONG)

    producers = [Thread(producer, base) for base in (0, 1000, 2000)]
    for p in producers:
        p.start()
    for p in producers:
        cooperative_wait(lambda p=p: not p.is_alive())  # type: ignore[misc]
        p.result()
    for _ in range(3):
        q.put(None)
    cooperative_wait(lambda: len(finished) == 3)
    assert sorted(received) == sorted(b + i for b in (0, 1000, 2000) for i in range(200))


def test_getters_of_two_hubs_are_served_in_arrival_order() -> None:
    q: Queue[str] = Queue()
    order: list[str] = []
    lock = threading.Lock()

    def remote_get() -> str:
        item = q.get()
        with lock:
            order.append("remote:" + item)
        return item

    def local_get() -> None:
        item = q.get()
        with lock:
            order.append("local:" + item)

    worker = Thread(remote_get)
    worker.start()
    cooperative_wait(lambda: len(q.getters) == 1)
    spawn_raw(local_get)
    cooperative_wait(lambda: len(q.getters) == 2)
    q.put("a")
    q.put("b")
    assert worker.result() == "a"
    cooperative_wait(lambda: len(order) == 2)
    assert sorted(order) == ["local:b", "remote:a"]


def test_remote_getter_timeout_leaves_the_line() -> None:
    q: Queue[int] = Queue()

    def impatient() -> str:
        try:
            q.get(timeout=0.05)
        except Empty:
            return "timed out"
        return "got one"  # pragma: no cover

    worker = Thread(impatient)
    worker.start()
    assert worker.result() == "timed out"
    assert len(q.getters) == 0
    q.put(1)
    assert q.get_nowait() == 1


@pytest.mark.parametrize("rounds", [50])
def test_ping_pong_between_threads(rounds: int) -> None:
    ping: Queue[int] = Queue()
    pong: Queue[int] = Queue()

    def remote() -> int:
        total = 0
        for _ in range(rounds):
            n = ping.get()
            total += n
            pong.put(n + 1)
        return total

    worker = Thread(remote)
    worker.start()
    for i in range(rounds):
        ping.put(i)
        assert pong.get(timeout=LONG) == i + 1
    assert worker.result() == sum(range(rounds))
    # The main hub is unaffected.
    assert get_hub().loop is not None


@pytest.mark.parametrize("attempt", range(3))
def test_producer_threads_that_end_right_after_being_woken(attempt: int) -> None:
    """A waiter woken by a running _unlock whose thread then ends never gives
    control back to that hub: the queue must not stall for the others."""
    q: Queue[int | None] = Queue(5)
    got: list[int] = []

    def consumers() -> None:
        done: list[bool] = []

        def consume() -> None:
            while True:
                item = q.get()
                if item is None:
                    done.append(True)
                    return
                got.append(item)

        for _ in range(3):
            spawn_raw(consume)
        cooperative_wait(lambda: len(done) == 3)

    def producer(base: int) -> None:
        # A plain thread that just ends (its hub is neither destroyed nor run again).
        for i in range(1000):
            q.put(base + i)

    consumer_thread = Thread(consumers)
    consumer_thread.start()
    producers = [
        threading.Thread(target=producer, args=(base,), daemon=True)
        for base in (0, 10000, 20000, 30000)
    ]
    for p in producers:
        p.start()
    for p in producers:
        p.join(LONG)
        assert not p.is_alive(), "a producer is stuck"
    for _ in range(3):
        q.put(None, timeout=LONG)
    consumer_thread.result()
    assert sorted(got) == sorted(b + i for b in (0, 10000, 20000, 30000) for i in range(1000))
