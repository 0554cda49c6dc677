"""greenkit.queue: SimpleQueue, Queue/JoinableQueue, LifoQueue, PriorityQueue,
UnboundQueue and Channel, in one native thread.

Only greenkit-sync and its dependencies are needed: greenlets are started
with ``greenkit.hub.spawn_raw`` and followed through the small ``Task``
helper below.  Cross-thread behaviour is in test_queue_threads.py.
"""

from __future__ import annotations

import queue as stdlib_queue
import sys
import time
import types
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest
from greenlet import GreenletExit, getcurrent

import greenkit.queue as gq
from greenkit.exceptions import LoopExit
from greenkit.hub import get_hub, kill, sleep, spawn_raw
from greenkit.queue import (
    Channel,
    Empty,
    Full,
    JoinableQueue,
    LifoQueue,
    PriorityQueue,
    Queue,
    ShutDown,
    SimpleQueue,
    UnboundQueue,
)
from greenkit.timeout import Timeout

# Generous bounds: SHORT must expire well inside LONG on a loaded machine.
SHORT = 0.05
LONG = 3.0

ALL_QUEUES = [SimpleQueue, Queue, LifoQueue, PriorityQueue]


class Task:
    """A raw greenlet running ``fn(*args)``, recording its result or exception."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self.value: Any = None
        self.exc: BaseException | None = None
        self.done = False
        self.started = False
        self.greenlet = spawn_raw(self._run, fn, args)

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.started = True
        try:
            self.value = fn(*args)
        except BaseException as ex:  # noqa: BLE001 - recorded for the test
            self.exc = ex
        finally:
            self.done = True

    def join(self, timeout: float = LONG) -> None:
        deadline = time.monotonic() + timeout
        while not self.done:
            if time.monotonic() > deadline:
                raise AssertionError(f"task did not finish within {timeout}s")
            sleep(0.001)

    def get(self, timeout: float = LONG) -> Any:
        self.join(timeout)
        if self.exc is not None:
            raise self.exc
        return self.value

    def kill(self) -> None:
        kill(self.greenlet)


def settle(rounds: int = 3) -> None:
    """Let every runnable greenlet and queued callback run."""
    for _ in range(rounds):
        sleep(0.001)


def wait_until(condition: Callable[[], bool], timeout: float = LONG) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        sleep(0.001)


# -- module surface ---------------------------------------------------------------


def test_all_is_the_formula() -> None:
    assert gq.__implements__ == ["Queue", "PriorityQueue", "LifoQueue", "SimpleQueue"]
    assert sorted(gq.__all__) == sorted(gq.__implements__ + gq.__imports__ + gq.__extensions__)
    names: dict[str, Any] = {}
    exec("from greenkit.queue import *", names)  # noqa: S102 - checking __all__
    names.pop("__builtins__")
    assert set(names) == set(gq.__all__)
    for name in stdlib_queue.__all__:
        assert name in gq.__all__


def test_imports_are_the_stdlib_objects() -> None:
    assert Empty is stdlib_queue.Empty
    assert Full is stdlib_queue.Full
    for name in gq.__imports__:
        assert getattr(gq, name) is getattr(stdlib_queue, name)
    for name in gq.__implements__:
        assert getattr(gq, name) is not getattr(stdlib_queue, name)
    for name in gq.__extensions__:
        assert not hasattr(stdlib_queue, name)


def test_shutdown_exception() -> None:
    if sys.version_info >= (3, 13):
        assert ShutDown is stdlib_queue.ShutDown
        assert "ShutDown" in gq.__imports__
    else:
        assert issubclass(ShutDown, Exception)
        assert ShutDown.__module__ == "greenkit.queue"
        assert "ShutDown" in gq.__extensions__


def test_class_relations_and_names() -> None:
    assert JoinableQueue is Queue
    assert issubclass(Queue, SimpleQueue)
    for cls in (LifoQueue, PriorityQueue, UnboundQueue):
        assert issubclass(cls, Queue)
    assert not issubclass(Channel, SimpleQueue)
    for cls in (SimpleQueue, Queue, LifoQueue, PriorityQueue, UnboundQueue, Channel):
        assert cls.__module__ == "greenkit.queue"
    assert "UnboundQueue" not in gq.__all__


@pytest.mark.parametrize("cls", ALL_QUEUES)
def test_subscript_like_stdlib(cls: type) -> None:
    alias = cls[int]  # type: ignore[index]
    assert isinstance(alias, type(getattr(stdlib_queue, cls.__name__)[int]))
    assert alias.__origin__ is cls
    assert alias.__args__ == (int,)


def test_subscript_channel_and_subclassing_an_alias() -> None:
    assert isinstance(Channel[int], types.GenericAlias)

    class IntQueue(Queue[int]):
        pass

    q = IntQueue()
    q.put(3)
    assert q.get() == 3
    assert IntQueue.__mro__[1] is Queue


# -- construction, size --------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_QUEUES)
def test_unbounded_by_default(cls: type) -> None:
    q = cls()
    assert q.maxsize is None
    for i in range(1000):
        q.put_nowait(i)
    assert not q.full()
    assert q.qsize() == len(q) == 1000


@pytest.mark.parametrize("cls", ALL_QUEUES)
def test_negative_maxsize_is_unbounded(cls: type) -> None:
    q = cls(-3)
    assert q.maxsize is None
    q.put(1)
    q.put(2)
    assert not q.full()


@pytest.mark.parametrize("cls", ALL_QUEUES)
def test_maxsize_zero_warns_and_is_unbounded(cls: type) -> None:
    with pytest.warns(DeprecationWarning, match="Channel") as record:
        q = cls(0)
    # The warning points at the caller, not at greenkit.
    assert record[0].filename == __file__
    assert q.maxsize is None
    q.put(1)
    q.put(2)
    assert q.qsize() == 2


@pytest.mark.parametrize("cls", ALL_QUEUES)
def test_items_argument(cls: type) -> None:
    q = cls(None, [3, 1, 2])
    assert q.qsize() == 3
    expected = {
        "SimpleQueue": [3, 1, 2],
        "Queue": [3, 1, 2],
        "LifoQueue": [2, 1, 3],
        "PriorityQueue": [1, 2, 3],
    }[cls.__name__]
    assert [q.get() for _ in range(3)] == expected


def test_items_from_a_generator() -> None:
    q = Queue(items=(i * i for i in range(4)))
    assert q.qsize() == 4
    assert q.unfinished_tasks == 4
    assert list(q.queue) == [0, 1, 4, 9]


def test_empty_full_len_bool() -> None:
    q = SimpleQueue(2)
    assert q.empty() and not q.full()
    assert len(q) == 0
    assert bool(q) is True  # a queue is always true
    q.put(1)
    assert not q.empty() and not q.full()
    q.put(2)
    assert q.full()
    assert len(q) == q.qsize() == 2
    with pytest.raises(Full):
        q.put_nowait(3)
    assert q.qsize() == 2


def test_weak_reference() -> None:
    for obj in (SimpleQueue(), Queue(), LifoQueue(), PriorityQueue(), UnboundQueue(), Channel()):
        ref = weakref.ref(obj)
        assert ref() is obj


def test_queue_attribute_is_a_deque() -> None:
    q = SimpleQueue(items=[1])
    assert isinstance(q.queue, deque)
    assert isinstance(LifoQueue().queue, list)
    assert isinstance(PriorityQueue().queue, list)


def test_repr_and_str() -> None:
    q = Queue(5, [1, 2])
    text = repr(q)
    assert text.startswith("<Queue at 0x")
    assert "maxsize=5" in text
    assert "deque([1, 2])" in text
    assert str(q) == "<Queue maxsize=5 queue=deque([1, 2])>"
    assert str(SimpleQueue()) == "<SimpleQueue>"
    assert str(Channel()) == "<Channel>"


# -- non-blocking put/get/peek ----------------------------------------------------


@pytest.mark.parametrize("cls", ALL_QUEUES)
def test_nowait_errors(cls: type) -> None:
    q = cls(1)
    with pytest.raises(Empty):
        q.get_nowait()
    with pytest.raises(Empty):
        q.get(block=False)
    with pytest.raises(Empty):
        q.peek_nowait()
    with pytest.raises(Empty):
        q.get(timeout=0)
    q.put_nowait(7)
    with pytest.raises(Full):
        q.put_nowait(8)
    with pytest.raises(Full):
        q.put(8, block=False, timeout=10)  # timeout ignored when not blocking
    with pytest.raises(Full):
        q.put(8, timeout=0)
    assert q.peek_nowait() == 7
    assert q.peek(block=False) == 7
    assert q.get_nowait() == 7


def test_fifo_order() -> None:
    q = Queue()
    for i in range(10):
        q.put(i)
    assert q.peek() == 0
    assert [q.get() for _ in range(10)] == list(range(10))


def test_lifo_order_and_peek() -> None:
    q = LifoQueue()
    for i in (111, 333, 222, 444):
        q.put(i)
    assert q.peek() == 444
    assert [q.get() for _ in range(4)] == [444, 222, 333, 111]


def test_priority_order_and_peek() -> None:
    q = PriorityQueue()
    for item in [(3, "c"), (1, "a"), (4, "d"), (2, "b")]:
        q.put(item)
    assert q.peek() == (1, "a")
    assert [q.get()[1] for _ in range(4)] == ["a", "b", "c", "d"]


def test_put_and_get_do_not_switch_when_they_need_not() -> None:
    ran = []
    Task(ran.append, "other")
    q = Queue(2)
    q.put(1)
    q.put_nowait(2)
    assert q.peek() == 1
    assert q.get() == 1
    assert q.get_nowait() == 2
    q.task_done()
    q.task_done()
    assert q.join() is True
    assert ran == []  # nothing above went through the hub
    settle()
    assert ran == ["other"]


# -- iteration, copy -------------------------------------------------------------


@pytest.mark.parametrize("cls", [SimpleQueue, Queue, LifoQueue])
def test_iteration_stops_on_stopiteration_class(cls: type) -> None:
    q = cls()
    if cls is LifoQueue:
        items = [StopIteration, 2, 1]
    else:
        items = [1, 2, StopIteration]
    for item in items:
        q.put(item)
    assert iter(q) is q
    assert list(q) == [1, 2]
    assert q.empty()


def test_iteration_does_not_stop_on_stopiteration_instance() -> None:
    q = Queue()
    marker = StopIteration()
    q.put(marker)
    q.put(StopIteration)
    assert list(q) == [marker]


def test_next_alias() -> None:
    q = SimpleQueue(items=[5])
    assert q.next() == 5


def test_iteration_waits_for_items() -> None:
    q = Queue()

    def producer() -> None:
        for i in range(3):
            q.put(i)
            sleep(0.001)
        q.put(StopIteration)

    Task(producer)
    assert list(q) == [0, 1, 2]


@pytest.mark.parametrize("cls", ALL_QUEUES)
def test_copy(cls: type) -> None:
    q = cls(10, [5, 1, 3])
    c = q.copy()
    assert type(c) is cls
    assert c is not q
    assert c.maxsize == 10
    assert c.queue is not q.queue
    assert [c.get() for _ in range(3)] == [q.get() for _ in range(3)]


def test_copy_keeps_unfinished_tasks() -> None:
    q = Queue(items=[1, 2])
    q.get()
    q.task_done()
    c = q.copy()
    assert c.unfinished_tasks == 1
    assert list(c.queue) == [2]


# -- subclass hooks --------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_QUEUES)
def test_init_put_get_hooks(cls: type) -> None:
    class X(cls):  # type: ignore[valid-type, misc]
        initted = None
        get_count = 0
        put_count = 0
        qsize_count = 0

        def _init(self, maxsize: Any) -> None:
            super()._init(maxsize)
            self.initted = maxsize

        def _get(self) -> Any:
            self.get_count += 1
            return super()._get()

        def _put(self, item: Any) -> None:
            self.put_count += 1
            super()._put(item)

        def _qsize(self) -> int:
            self.qsize_count += 1
            return int(super()._qsize())

    x = X(4)
    assert x.initted == 4
    x.put("hi")
    assert x.get() == "hi"
    assert x.put_count == 1
    assert x.get_count == 1
    assert x.qsize_count > 0


def test_init_may_assign_queue() -> None:
    mine: list[Any] = []

    class Q(SimpleQueue):  # type: ignore[type-arg]
        def _init(self, maxsize: Any) -> None:
            self.queue = mine

        def _get(self) -> Any:
            return self.queue.pop(0)

        def _peek(self) -> Any:
            return self.queue[0]

    q = Q()
    assert q.queue is mine
    q.put(1)
    q.put(2)
    assert mine == [1, 2]
    assert q.peek() == 1
    assert q.get() == 1


def test_custom_storage_with_blocking() -> None:
    """A subclass with its own storage still blocks and wakes correctly."""

    class SetQueue(Queue):  # type: ignore[type-arg]
        def _init(self, maxsize: Any) -> None:
            self.queue = set()

        def _put(self, item: Any) -> None:
            self.queue.add(item)

        def _get(self) -> Any:
            return self.queue.pop()

        def _peek(self) -> Any:
            return next(iter(self.queue))

    q = SetQueue(1)
    getter = Task(q.get)
    settle()
    q.put("x")
    assert getter.get() == "x"
    q.put("y")
    putter = Task(q.put, "z")
    settle()
    assert not putter.done
    assert q.get() == "y"
    putter.get()
    assert q.get() == "z"


# -- blocking and fairness -------------------------------------------------------------


@pytest.mark.parametrize("cls", [SimpleQueue, Queue, PriorityQueue, LifoQueue])
def test_blocking_get_is_woken_by_put(cls: type) -> None:
    q = cls()
    getter = Task(q.get)
    settle()
    assert not getter.done
    assert len(q.getters) == 1
    q.put(42)
    assert not getter.done  # woken from the hub, not from inside put()
    assert getter.get() == 42
    assert len(q.getters) == 0


def test_getters_are_served_in_order() -> None:
    q = Queue()
    results: list[tuple[int, Any]] = []

    def getter(n: int) -> None:
        results.append((n, q.get()))

    tasks = [Task(getter, n) for n in range(5)]
    settle()
    assert len(q.getters) == 5
    for item in "abcde":
        q.put(item)
    for t in tasks:
        t.get()
    assert results == [(0, "a"), (1, "b"), (2, "c"), (3, "d"), (4, "e")]


def test_putters_are_served_in_order() -> None:
    q = Queue(1)
    q.put("first")
    tasks = [Task(q.put, n) for n in range(5)]
    settle()
    assert len(q.putters) == 5
    got = [q.get() for _ in range(6)]
    assert got == ["first", 0, 1, 2, 3, 4]
    for t in tasks:
        t.get()
    assert q.unfinished_tasks == 6


def test_each_put_wakes_the_next_getter_directly() -> None:
    # The hand-off fast path: a put() to a queue greenlets of this hub wait
    # on schedules the first getter's own wake-up (no general pass), and
    # the getters get the items in the order they blocked.
    loop = get_hub().loop
    q = Queue()
    tasks = [Task(q.get) for _ in range(3)]
    settle()
    calls: list[Any] = []
    original = loop.run_callback

    def counting(func: Any, *args: Any) -> Any:
        calls.append(func)
        return original(func, *args)

    loop.run_callback = counting
    try:
        q.put(1)
        assert len(q.getters) == 2
        q.put(2)
        q.put(3)
    finally:
        del loop.run_callback
    assert len(calls) == 3
    assert all(getattr(func, "__name__", None) == "switch" for func in calls)
    assert not q.getters
    assert [t.get() for t in tasks] == [1, 2, 3]
    assert q.qsize() == 0


def test_a_pass_in_progress_keeps_the_order() -> None:
    # A getter woken by an _unlock pass puts into the same queue: the pass,
    # still running, serves the next getter in line with that item (a direct
    # wake-up of the next getter would let the one after it overtake).
    q: Queue[Any] = Queue()
    got: list[tuple[str, Any]] = []

    def take(name: str, relay: bool) -> None:
        got.append((name, q.get()))
        if relay:
            q.put("relayed")

    tasks = [Task(take, name, name == "first") for name in ("first", "second", "third")]
    settle()
    q._schedule_unlock()  # the general pass is pending (as after an interruption)
    q.put("a")
    settle()
    assert got == [("first", "a"), ("second", "relayed")]
    q.put("b")
    for t in tasks:
        t.get()
    assert got[2] == ("third", "b")


def test_max_size_blocks_the_putter() -> None:
    q = SimpleQueue(2)
    results: list[str] = []

    def putter() -> str:
        for item in "abc":
            q.put(item)
            results.append(item)
        return "OK"

    p = Task(putter)
    sleep(0)
    assert results == ["a", "b"]
    assert q.get() == "a"
    sleep(0)
    assert results == ["a", "b", "c"]
    assert q.get() == "b"
    assert q.get() == "c"
    assert p.get() == "OK"


def test_multiple_getters_each_get_one_item() -> None:
    q = SimpleQueue()
    tasks = [Task(q.get) for _ in range(4)]
    settle()
    q.put("1")
    wait_until(lambda: sum(t.done for t in tasks) == 1)
    q.put("2")
    wait_until(lambda: sum(t.done for t in tasks) == 2)
    q.put("3")
    q.put("4")
    assert sorted(t.get() for t in tasks) == ["1", "2", "3", "4"]


def test_newcomer_may_take_an_item_before_a_woken_getter_runs() -> None:
    """No wake-up is lost when the item is taken before the hub runs."""
    q = Queue()
    getter = Task(q.get)
    settle()
    q.put(1)
    assert q.get_nowait() == 1  # taken before the getter was woken
    settle()
    assert not getter.done
    assert len(q.getters) == 1
    q.put(2)
    assert getter.get() == 2


def test_peek_waiters_all_see_the_item_and_getter_takes_it() -> None:
    q = Queue()
    peek1 = Task(q.peek)
    getter = Task(q.get)
    peek2 = Task(q.peek)
    settle()
    q.put("x")
    assert peek1.get() == "x"
    assert getter.get() == "x"
    settle()
    # peek2 came after the getter: the item was gone when its turn came.
    assert not peek2.done
    q.put("y")
    assert peek2.get() == "y"
    assert q.get() == "y"


def test_peek_does_not_remove() -> None:
    q = Queue()
    t = Task(q.peek)
    settle()
    q.put(1)
    assert t.get() == 1
    assert q.peek() == 1
    assert q.qsize() == 1


def test_maxsize_growth_wakes_putters() -> None:
    q = Queue(1)
    q.put(0)
    putters = [Task(q.put, i) for i in (1, 2, 3)]
    settle()
    assert len(q.putters) == 3
    q.maxsize = 3
    settle()
    assert q.qsize() == 3
    assert [p.done for p in putters] == [True, True, False]
    q.maxsize = None
    putters[2].get()
    assert list(q.queue) == [0, 1, 2, 3]
    q.maxsize = 0
    assert q.maxsize is None
    q.maxsize = 1
    assert q.full()


def test_many_producers_and_consumers() -> None:
    q = Queue(3)
    received: list[int] = []

    def producer(base: int) -> None:
        for i in range(50):
            q.put(base + i)
            if i % 7 == 0:
                sleep(0)

    def consumer() -> None:
        while True:
            item = q.get()
            if item is None:
                return
            received.append(item)
            q.task_done()

    consumers = [Task(consumer) for _ in range(4)]
    producers = [Task(producer, base) for base in (0, 1000, 2000)]
    for p in producers:
        p.get()
    assert q.join(timeout=LONG)
    for _ in consumers:
        q.put(None)
    for c in consumers:
        c.get()
    assert sorted(received) == sorted(b + i for b in (0, 1000, 2000) for i in range(50))


def test_ping_pong_does_not_starve_the_loop() -> None:
    q1: Queue[str] = Queue()
    q2: Queue[str] = Queue()
    stop = []

    def player(inbox: Queue[str], outbox: Queue[str]) -> int:
        count = 0
        while not stop:
            outbox.put(inbox.get())
            count += 1
        return count

    players = [Task(player, q1, q2), Task(player, q2, q1)]
    settle()
    q1.put("ball")
    sleep(0.05)  # a timer must still fire while the players run
    stop.append(True)
    q1.put("ball")
    for p in players:
        p.join()
    assert sum(p.value for p in players) > 10


# -- timeouts -------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_QUEUES + [Channel])
def test_get_timeout_raises_empty(cls: type) -> None:
    q = cls()
    start = time.monotonic()
    with pytest.raises(Empty):
        q.get(timeout=SHORT)
    elapsed = time.monotonic() - start
    assert SHORT * 0.8 <= elapsed < LONG
    assert len(q.getters) == 0


@pytest.mark.parametrize("cls", ALL_QUEUES)
def test_peek_timeout_raises_empty(cls: type) -> None:
    q = cls()
    start = time.monotonic()
    with pytest.raises(Empty):
        q.peek(timeout=SHORT)
    assert SHORT * 0.8 <= time.monotonic() - start < LONG
    assert len(q.getters) == 0


@pytest.mark.parametrize("cls", ALL_QUEUES + [Channel])
def test_put_timeout_raises_full(cls: type) -> None:
    q = cls() if cls is Channel else cls(1)
    while not q.full():
        q.put(1)
    start = time.monotonic()
    with pytest.raises(Full):
        q.put(2, timeout=SHORT)
    elapsed = time.monotonic() - start
    assert SHORT * 0.8 <= elapsed < LONG
    assert len(q.putters) == 0
    if cls is not Channel:
        assert q.qsize() == 1


@pytest.mark.parametrize("cls", ALL_QUEUES + [Channel])
def test_timeout_object_raises_itself(cls: type) -> None:
    q = cls()
    timeout = Timeout(SHORT)
    try:
        with pytest.raises(Timeout) as info:
            q.get(timeout=timeout)
        assert info.value is timeout
    finally:
        timeout.close()
    assert len(q.getters) == 0


@pytest.mark.parametrize("cls", ALL_QUEUES + [Channel])
def test_timeout_object_with_custom_exception(cls: type) -> None:
    q = cls()
    error = RuntimeError("expected")
    timeout = Timeout(SHORT, exception=error)
    try:
        with pytest.raises(RuntimeError) as info:
            q.get(timeout=timeout)
        assert info.value is error
    finally:
        timeout.close()


@pytest.mark.parametrize("cls", ALL_QUEUES + [Channel])
def test_outer_timeout_is_not_lost(cls: type) -> None:
    q = cls()
    outer = Timeout.start_new(SHORT, ref=False)
    try:
        with pytest.raises(Timeout) as info:
            q.get(timeout=LONG)
        assert info.value is outer
    finally:
        outer.close()
    assert len(q.getters) == 0


def test_waiter_that_times_out_gives_way() -> None:
    q = Queue()

    def impatient() -> str:
        with Timeout(0, RuntimeError()):
            try:
                q.get()
            except RuntimeError:
                return "timed out"
        return "got it"  # pragma: no cover

    dying = Task(impatient)
    patient = Task(q.get)
    sleep(SHORT)
    q.put("hi")
    assert dying.get() == "timed out"
    assert patient.get() == "hi"


def test_two_waiters_that_time_out_leave_the_item() -> None:
    q = Queue()

    def impatient() -> str:
        try:
            q.get(timeout=0.001)
        except Empty:
            return "timed out"
        return "got it"  # pragma: no cover

    t1, t2 = Task(impatient), Task(impatient)
    sleep(SHORT)
    q.put("sent")
    assert t1.get() == "timed out"
    assert t2.get() == "timed out"
    assert q.get() == "sent"


def test_timed_out_getter_does_not_take_a_later_item() -> None:
    q = Queue()
    first = Task(q.get, True, SHORT)
    second = Task(q.get)
    settle()
    # Both are parked; let the first one's timer expire, then put.
    first.join()
    assert isinstance(first.exc, Empty)
    q.put(1)
    assert second.get() == 1


# -- kill while waiting ----------------------------------------------------------------


def test_killed_getter_leaves_the_line() -> None:
    q = Queue()
    victim = Task(q.get)
    survivor = Task(q.get)
    settle()
    assert len(q.getters) == 2
    victim.kill()
    victim.join()
    assert isinstance(victim.exc, GreenletExit)
    assert len(q.getters) == 1
    q.put("item")
    assert survivor.get() == "item"


def test_getter_interrupted_before_its_hand_off_passes_the_item_on() -> None:
    # put() takes the first getter out of the line and schedules its wake-up
    # (the hand-off fast path); an exception that reaches the getter first
    # cancels that wake-up and passes the item to the next getter.  The
    # interrupted greenlet then waits on something else: the cancelled
    # wake-up must never switch into it.
    class Interrupt(Exception):
        pass

    q: Queue[Any] = Queue()
    events: list[str] = []

    def victim_body() -> None:
        try:
            q.get()
        except Interrupt:
            events.append("interrupted")
        sleep(0.02)  # a stray switch would end this early or raise
        events.append("slept")

    victim = Task(victim_body)
    survivor = Task(q.get)
    settle()
    assert len(q.getters) == 2
    kill(victim.greenlet, Interrupt)  # queued in the hub before the wake-up
    q.put("item")
    assert len(q.getters) == 1  # the victim was taken out for the hand-off
    assert survivor.get() == "item"
    victim.get()
    assert events == ["interrupted", "slept"]
    assert q.empty() and not q.getters


def test_getter_woken_for_a_stolen_item_waits_again_first_in_line() -> None:
    # A non-blocking get() takes the item between the hand-off and the
    # woken getter's turn: that getter waits again, ahead of later ones.
    q: Queue[Any] = Queue()
    first = Task(q.get)
    settle()
    second = Task(q.get)
    settle()
    q.put("a")
    assert q.get_nowait() == "a"
    settle()
    assert len(q.getters) == 2
    q.put("b")
    assert first.get() == "b"
    q.put("c")
    assert second.get() == "c"


def test_killed_putter_leaves_the_line_and_puts_nothing() -> None:
    q = Queue(1)
    q.put("a")
    victim = Task(q.put, "never")
    survivor = Task(q.put, "b")
    settle()
    victim.kill()
    victim.join()
    assert isinstance(victim.exc, GreenletExit)
    assert len(q.putters) == 1
    assert q.get() == "a"
    survivor.get()
    assert q.get() == "b"
    assert q.empty()
    assert q.unfinished_tasks == 2


def test_killed_channel_waiters_leave() -> None:
    c = Channel()
    victim = Task(c.get)
    settle()
    assert c.balance == -1
    victim.kill()
    victim.join()
    assert isinstance(victim.exc, GreenletExit)
    assert c.balance == 0
    with pytest.raises(Full):
        c.put_nowait(1)
    victim = Task(c.put, "never")
    settle()
    assert c.balance == 1
    victim.kill()
    victim.join()
    assert c.balance == 0
    with pytest.raises(Empty):
        c.get_nowait()


# -- from the hub (loop callbacks) --------------------------------------------------


def _in_hub(func: Callable[..., Any], *args: Any) -> list[Any]:
    """Run func(*args) in a loop callback; return [result or exception]."""
    result: list[Any] = []

    def run() -> None:
        assert getcurrent() is get_hub()
        try:
            result.append(func(*args))
        except BaseException as ex:  # noqa: BLE001
            result.append(ex)

    get_hub().loop.run_callback(run)
    settle()
    return result


def test_put_nowait_from_the_hub() -> None:
    q = SimpleQueue(1)
    assert _in_hub(q.put_nowait, 2) == [None]
    [error] = _in_hub(q.put_nowait, 3)
    assert isinstance(error, Full)
    [error] = _in_hub(q.put, 3)  # blocking put cannot block in the hub
    assert isinstance(error, Full)
    assert q.get() == 2


def test_get_nowait_from_the_hub() -> None:
    q = SimpleQueue(1)
    q.put(4)
    assert _in_hub(q.get_nowait) == [4]
    [error] = _in_hub(q.get_nowait)
    assert isinstance(error, Empty)
    [error] = _in_hub(q.get)
    assert isinstance(error, Empty)


def test_put_from_the_hub_wakes_a_getter() -> None:
    q = SimpleQueue()
    getter = Task(q.get)
    settle()
    assert _in_hub(q.put_nowait, 10) == [None]
    assert getter.get() == 10
    assert q.empty()


def test_get_from_the_hub_lets_a_blocked_putter_in() -> None:
    q = Queue(1)
    q.put("a")
    putter = Task(q.put, "b")
    settle()
    assert _in_hub(lambda: (q.get_nowait(), q.get_nowait())) == [("a", "b")]
    putter.get()
    assert q.empty()


def test_put_from_the_hub_lets_blocked_getters_take_items() -> None:
    q = Queue(1)
    getter = Task(q.get)
    settle()

    def two_puts() -> None:
        q.put_nowait("a")
        q.put_nowait("b")  # full: the getter is woken first, then there is room

    assert _in_hub(two_puts) == [None]
    assert getter.get() == "a"
    assert q.get_nowait() == "b"


def test_loopexit_when_nothing_can_wake_the_main_greenlet() -> None:
    q = SimpleQueue()
    with pytest.raises(LoopExit):
        q.peek()
    assert len(q.getters) == 0
    with pytest.raises(LoopExit):
        q.get()
    assert len(q.getters) == 0
    q.put(1)
    assert q.get() == 1


# -- JoinableQueue -------------------------------------------------------------------


def test_task_done_too_many_times() -> None:
    q = JoinableQueue()
    with pytest.raises(ValueError, match=r"^task_done\(\) called too many times$"):
        q.task_done()
    q.put(1)
    q.get()
    q.task_done()
    with pytest.raises(ValueError):
        q.task_done()


def test_unfinished_tasks_counting() -> None:
    q = Queue()
    x = object()
    Task(q.put, x)
    assert q.get() is x
    assert q.unfinished_tasks == 1
    q.task_done()
    assert q.unfinished_tasks == 0
    assert Queue(items=[1, 2, 3]).unfinished_tasks == 3
    assert Queue(None, [1, 2, 3], 1).unfinished_tasks == 1
    assert Queue(unfinished_tasks=5).unfinished_tasks == 5


def test_join_with_nothing_to_do_does_not_switch() -> None:
    ran = []
    Task(ran.append, 1)
    q = Queue()
    assert q.join() is True
    assert q.join(timeout=0) is True
    assert ran == []


def test_join_waits_for_task_done() -> None:
    q = JoinableQueue()
    total = [0]

    def worker() -> None:
        while True:
            item = q.get()
            if item is None:
                q.task_done()
                return
            sleep(0.001)
            total[0] += item
            q.task_done()

    workers = [Task(worker), Task(worker)]
    for i in range(20):
        q.put(i)
    assert q.join() is True
    assert total[0] == sum(range(20))
    for _ in workers:
        q.put(None)
    assert q.join() is True  # twice
    for w in workers:
        w.get()


def test_join_timeout_returns_false() -> None:
    q = JoinableQueue(items=[1, 2, 3])
    for expected in (1, 2, 3):
        start = time.monotonic()
        assert q.join(timeout=0.01) is False
        assert time.monotonic() - start < LONG
        assert q.get() == expected
        q.task_done()
    with pytest.raises(ValueError):
        q.task_done()
    assert q.join(timeout=0.01) is True
    assert len(q._join_waiters) == 0


def test_several_joiners_are_all_released() -> None:
    q = Queue()
    q.put(1)
    joiners = [Task(q.join) for _ in range(3)]
    settle()
    assert not any(j.done for j in joiners)
    q.get()
    q.task_done()
    assert [j.get() for j in joiners] == [True, True, True]


def test_killed_joiner_leaves() -> None:
    q = Queue(items=[1])
    joiner = Task(q.join)
    settle()
    joiner.kill()
    joiner.join()
    assert isinstance(joiner.exc, GreenletExit)
    assert len(q._join_waiters) == 0


# -- UnboundQueue -------------------------------------------------------------------


def test_unbound_queue() -> None:
    with pytest.raises(ValueError):
        UnboundQueue(5)
    q = UnboundQueue(items=[1])
    assert q.maxsize is None
    for i in range(2, 500):
        q.put(i, block=True, timeout=0.001)
    assert not q.full()
    assert q.qsize() == 499
    assert q.unfinished_tasks == 499
    with pytest.raises(ValueError):
        q.maxsize = 3
    q.maxsize = None
    assert q.get() == 1
    getter = Task(lambda: [q.get() for _ in range(498)])
    assert getter.get() == list(range(2, 500))
    waiting = Task(q.get)
    settle()
    q.put("late")
    assert waiting.get() == "late"
    c = q.copy()
    assert type(c) is UnboundQueue


# -- shutdown ----------------------------------------------------------------------


@pytest.mark.parametrize("immediate", [False, True])
def test_shutdown_all_methods_in_one_greenlet(immediate: bool) -> None:
    q = Queue()
    q.put("L")
    q.put_nowait("O")
    q.shutdown(immediate)
    assert q.is_shutdown
    with pytest.raises(ShutDown):
        q.put("E")
    with pytest.raises(ShutDown):
        q.put_nowait("W")
    if immediate:
        assert q.empty()
        with pytest.raises(ShutDown):
            q.get()
        with pytest.raises(ShutDown):
            q.get_nowait()
        with pytest.raises(ValueError):
            q.task_done()
        assert q.join() is True
    else:
        assert q.get() in "LO"
        q.task_done()
        assert q.peek() in "LO"
        assert q.get() in "LO"
        q.task_done()
        assert q.join() is True
        with pytest.raises(ShutDown):
            q.get()
        with pytest.raises(ShutDown):
            q.get_nowait()
        with pytest.raises(ShutDown):
            q.peek()
        start = time.monotonic()
        with pytest.raises(ShutDown):
            q.get(True, 1.0)
        assert time.monotonic() - start < 0.5


def test_shutdown_wakes_blocked_getters_and_putters() -> None:
    empty = SimpleQueue()
    getters = [Task(empty.get) for _ in range(3)]
    full = SimpleQueue(1, ["x"])
    putters = [Task(full.put, i) for i in range(2)]
    settle()
    empty.shutdown()
    full.shutdown()
    for t in getters + putters:
        t.join()
        assert isinstance(t.exc, ShutDown)
    assert len(empty.getters) == len(full.putters) == 0
    # A non-immediate shutdown leaves the items.
    assert full.get() == "x"


def test_shutdown_immediate_releases_joiners() -> None:
    q = Queue(items=[1, 2])
    joiner = Task(q.join)
    settle()
    assert not joiner.done
    q.shutdown(immediate=True)
    assert joiner.get() is True
    assert q.unfinished_tasks == 0


def test_shutdown_immediate_keeps_taken_tasks_unfinished() -> None:
    q = Queue(items=[1, 2])
    q.get()
    q.shutdown(immediate=True)
    assert q.unfinished_tasks == 1
    assert q.join(timeout=0.01) is False
    q.task_done()
    assert q.join(timeout=0.01) is True


# -- failing hooks (the stdlib queue tests' FailingQueue) ------------------------


class FailingQueueException(Exception):
    pass


class FailingQueue(Queue):  # type: ignore[type-arg]
    def __init__(self, *args: Any) -> None:
        self.fail_next_put = False
        self.fail_next_get = False
        Queue.__init__(self, *args)

    def _put(self, item: Any) -> None:
        if self.fail_next_put:
            self.fail_next_put = False
            raise FailingQueueException("You Lose")
        Queue._put(self, item)

    def _get(self) -> Any:
        if self.fail_next_get:
            self.fail_next_get = False
            raise FailingQueueException("You Lose")
        return Queue._get(self)


def test_failing_put_in_a_blocked_putter() -> None:
    q = FailingQueue(2)
    q.put(1)
    q.put(2)
    q.fail_next_put = True
    with pytest.raises(Full):
        q.put("oops", block=False)  # full: the hook is not reached
    q.fail_next_put = False
    putter = Task(q.put, "blocked")
    settle()
    q.fail_next_put = True
    assert q.get() == 1  # room: the putter is woken and its _put fails
    putter.join()
    assert isinstance(putter.exc, FailingQueueException)
    assert q.qsize() == 1
    assert q.unfinished_tasks == 2  # the failed put does not count
    q.put(3)
    assert q.full()
    assert [q.get(), q.get()] == [2, 3]


def test_failing_nonblocking_put_with_room() -> None:
    q = FailingQueue(5)
    q.fail_next_put = True
    with pytest.raises(FailingQueueException):
        q.put("oops", block=False)
    q.fail_next_put = True
    with pytest.raises(FailingQueueException):
        q.put("oops", timeout=0.1)
    assert q.empty()
    assert q.unfinished_tasks == 0


def test_failing_get_in_a_woken_getter_passes_the_item_on() -> None:
    q = FailingQueue()
    q.put("first")
    q.fail_next_get = True
    with pytest.raises(FailingQueueException):
        q.get()
    assert not q.empty()
    q.fail_next_get = True
    with pytest.raises(FailingQueueException):
        q.get(timeout=0.1)
    assert q.get() == "first"

    failing = Task(q.get)
    second = Task(q.get)
    settle()
    q.fail_next_get = True
    q.put("empty")
    failing.join()
    assert isinstance(failing.exc, FailingQueueException)
    # The item stays in the queue, and the next getter gets it.
    assert second.get() == "empty"
    assert q.empty()


# -- Channel ---------------------------------------------------------------------


def test_channel_basics() -> None:
    c = Channel()
    assert c.qsize() == 0
    assert c.empty() and c.full()
    assert c.balance == 0
    assert Channel(1).qsize() == 0
    with pytest.raises(ValueError):
        Channel(2)
    with pytest.raises(Full):
        c.put_nowait(1)
    with pytest.raises(Empty):
        c.get_nowait()
    with pytest.raises(Full):
        c.put(1, timeout=0)
    with pytest.raises(Empty):
        c.get(timeout=0)


def test_channel_put_waits_for_the_getter() -> None:
    channel = Channel()
    events: list[str] = []

    def another() -> None:
        events.append(channel.get())
        events.append(channel.get())

    g = Task(another)
    events.append("sending")
    channel.put("hello")
    events.append("sent hello")
    channel.put("world")
    events.append("sent world")
    assert events == ["sending", "hello", "sent hello", "world", "sent world"]
    g.get()


def test_channel_get_waits_for_the_putter() -> None:
    channel = Channel()
    events: list[str] = []

    def another() -> None:
        events.append("sending hello")
        channel.put("hello")
        events.append("sending world")
        channel.put("world")
        events.append("sent world")

    g = Task(another)
    events.append("waiting")
    events.append(channel.get())
    events.append(channel.get())
    assert events == ["waiting", "sending hello", "hello", "sending world", "world"]
    sleep(0)
    assert events[-1] == "sent world"
    g.get()


def test_channel_rendezvous_blocks_putter_until_get() -> None:
    c = Channel()
    putter = Task(c.put, "hi")
    sleep(SHORT)
    assert not putter.done
    assert c.balance == 1
    assert c.get() == "hi"
    putter.get()
    assert c.balance == 0


def test_channel_get_nowait_takes_from_a_blocked_putter() -> None:
    c = Channel()
    putter = Task(c.put, 5)
    settle()
    assert _in_hub(c.get_nowait) == [5]
    putter.get()
    assert c.balance == 0
    putter = Task(c.put, 6)
    settle()
    assert c.get_nowait() == 6
    putter.get()


def test_channel_put_nowait_to_a_blocked_getter() -> None:
    c = Channel()
    getter = Task(c.get)
    settle()
    assert _in_hub(c.put_nowait, 10) == [None]
    assert getter.get() == 10
    getter = Task(c.get)
    settle()
    c.put_nowait(11)
    assert getter.get() == 11
    [error] = _in_hub(c.put_nowait, 12)
    assert isinstance(error, Full)


def test_channel_fifo_pairs() -> None:
    c = Channel()
    putters = [Task(c.put, i) for i in range(4)]
    settle()
    assert c.balance == 4
    assert [c.get() for _ in range(4)] == [0, 1, 2, 3]
    for p in putters:
        p.get()
    got: list[int] = []
    getters = [Task(lambda: got.append(c.get())) for _ in range(3)]
    settle()
    assert c.balance == -3
    for i in range(3):
        c.put(i)
    for g in getters:
        g.get()
    assert got == [0, 1, 2]


def test_channel_iteration() -> None:
    c = Channel()
    Task(c.put, StopIteration)
    assert list(c) == []

    def feed() -> None:
        for i in range(3):
            c.put(i)
        c.put(StopIteration)

    Task(feed)
    assert list(c) == [0, 1, 2]


def test_channel_link_like_puts_from_the_hub() -> None:
    c = Channel()
    results = []

    def consume() -> None:
        for _ in range(3):
            results.append(c.get())

    consumer = Task(consume)
    settle()
    for i in range(3):
        _in_hub(c.put, i)
    consumer.get()
    assert results == [0, 1, 2]


def test_hub_attribute() -> None:
    q = Queue()
    assert q.hub is get_hub()
    assert Channel().hub is get_hub()


def test_put_timeout_object_raises_itself() -> None:
    q = Queue(1, ["x"])
    timeout = Timeout(SHORT)
    try:
        with pytest.raises(Timeout) as info:
            q.put("y", timeout=timeout)
        assert info.value is timeout
    finally:
        timeout.close()
    assert len(q.putters) == 0
    assert list(q.queue) == ["x"]


def test_simple_queue_shutdown_immediate() -> None:
    q = SimpleQueue(items=[1, 2])
    q.shutdown(immediate=True)
    assert q.empty()
    with pytest.raises(ShutDown):
        q.get()
    with pytest.raises(ShutDown):
        q.peek_nowait()
    with pytest.raises(ShutDown):
        q.put(3)
    assert "shutdown" in repr(q)


def test_channel_next_alias_and_timeouts_leave_lines() -> None:
    c = Channel()
    Task(c.put, "n")
    assert c.next() == "n"
    with pytest.raises(Full):
        c.put("x", timeout=0.01)
    with pytest.raises(Empty):
        c.get(timeout=0.01)
    assert c.balance == 0


# -- negative timeouts -------------------------------------------------------------


NEGATIVE_TIMEOUT = "'timeout' must be a non-negative number"


@pytest.mark.parametrize("cls", ALL_QUEUES)
def test_negative_timeout_is_refused_when_blocking(cls: type) -> None:
    # As the standard library's queues: even when the call could succeed
    # at once; put() only on a bounded queue (an unbounded one never waits).
    q = cls(2)
    with pytest.raises(ValueError, match=NEGATIVE_TIMEOUT):
        q.put(1, timeout=-1)
    assert q.qsize() == 0
    q.put(1)
    for call in (q.get, q.peek):
        with pytest.raises(ValueError, match=NEGATIVE_TIMEOUT):
            call(True, -0.5)
    assert q.qsize() == 1
    # Without blocking, the timeout is ignored.
    q.put(2, False, -1)
    with pytest.raises(Full):
        q.put(3, False, -1)
    assert q.peek(False, -1) == q.get(False, -1)
    unbounded = cls()
    unbounded.put(1, timeout=-1)
    assert unbounded.get(timeout=0) == 1
    with pytest.raises(ValueError, match=NEGATIVE_TIMEOUT):
        unbounded.get(timeout=-1)


def test_unbound_queue_put_ignores_a_negative_timeout() -> None:
    q: UnboundQueue[int] = UnboundQueue()
    q.put(1, timeout=-1)
    with pytest.raises(ValueError, match=NEGATIVE_TIMEOUT):
        q.get(timeout=-1)
    assert q.get() == 1


def test_channel_refuses_a_negative_timeout_when_blocking() -> None:
    channel: Channel[int] = Channel()
    with pytest.raises(ValueError, match=NEGATIVE_TIMEOUT):
        channel.put(1, timeout=-1)
    with pytest.raises(ValueError, match=NEGATIVE_TIMEOUT):
        channel.get(timeout=-1)
    with pytest.raises(Full):
        channel.put(1, False, -1)
    with pytest.raises(Empty):
        channel.get(False, -1)


def test_a_timeout_object_is_not_a_negative_timeout() -> None:
    q: Queue[int] = Queue(1)
    q.put(1)
    timer = Timeout(SHORT, Full)
    with pytest.raises(Full):
        q.put(2, timeout=timer)
