"""greenkit.lock: Semaphore, BoundedSemaphore, Lock, RLock, DummySemaphore."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from greenlet import getcurrent

import greenkit.lock as lock_module
from greenkit._hub_local import get_hub_if_exists
from greenkit.exceptions import LoopExit
from greenkit.hub import get_hub, iwait, kill, sleep, spawn_raw, wait
from greenkit.lock import BoundedSemaphore, DummySemaphore, Lock, RLock, Semaphore
from greenkit.timeout import Timeout

SHORT = 0.02
LONG = 5.0


def wait_until(condition: Callable[[], bool], seconds: float = LONG) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        sleep(0.001)


def native_wait_until(condition: Callable[[], bool], seconds: float = LONG) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.001)


def start_thread(target: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def destroy_own_hub() -> None:
    hub = get_hub_if_exists()
    if hub is not None:
        hub.join()
        hub.destroy(destroy_loop=True)


# -- module surface ---------------------------------------------------------------------


def test_public_names() -> None:
    assert lock_module.__all__ == [
        "Semaphore",
        "BoundedSemaphore",
        "DummySemaphore",
        "RLock",
        "Lock",
    ]
    for name in lock_module.__all__:
        assert getattr(lock_module, name).__module__ == "greenkit.lock"


# -- Semaphore ----------------------------------------------------------------------------


def test_semaphore_negative_value() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        Semaphore(-1)
    with pytest.raises(ValueError):
        BoundedSemaphore(-5)


def test_semaphore_counter_and_locked() -> None:
    sem = Semaphore(2)
    assert sem.counter == 2 and sem.ready() and not sem.locked()
    assert sem.acquire() is True
    assert sem.acquire(blocking=False) is True
    assert sem.counter == 0 and sem.locked() and not sem.ready()
    assert sem.acquire(blocking=False) is False
    assert sem.release() == 1
    assert sem.release() == 2
    assert sem.release() == 3  # unbounded: over-release is allowed
    assert sem.hub is None  # never had to wait


def test_semaphore_default_value_is_one() -> None:
    sem = Semaphore()
    assert sem.counter == 1


def test_semaphore_acquire_timeout_returns_false() -> None:
    sem = Semaphore(0)
    start = time.monotonic()
    assert sem.acquire(timeout=SHORT) is False
    assert SHORT * 0.5 <= time.monotonic() - start < LONG
    assert sem.linkcount() == 0
    assert sem.counter == 0


def test_semaphore_outer_timeout_propagates() -> None:
    sem = Semaphore(0)
    outer = Timeout.start_new(SHORT)
    try:
        with pytest.raises(Timeout) as info:
            sem.acquire(timeout=LONG)
        assert info.value is outer
    finally:
        outer.close()
    assert sem.linkcount() == 0
    assert sem.counter == 0


def test_semaphore_blocks_until_release() -> None:
    sem = Semaphore(0)
    got: list[bool] = []
    spawn_raw(lambda: got.append(sem.acquire()))
    sleep(0)
    assert got == [] and sem.linkcount() == 1
    sem.release()
    assert got == []  # woken from the hub
    sleep(0)
    assert got == [True]
    assert sem.counter == 0


def test_semaphore_fifo() -> None:
    sem = Semaphore(0)
    order: list[int] = []

    def worker(i: int) -> None:
        sem.acquire()
        order.append(i)

    for i in range(10):
        spawn_raw(worker, i)
    sleep(0)
    for _ in range(10):
        sem.release()
    sleep(0)
    assert order == list(range(10))


def test_semaphore_release_wakes_one_per_permit() -> None:
    sem = Semaphore(0)
    got: list[int] = []
    for i in range(3):
        spawn_raw(lambda i=i: (sem.acquire(), got.append(i)))
    sleep(0)
    sem.release()
    sleep(0.01)
    assert got == [0]
    assert sem.linkcount() == 2


def test_semaphore_no_cutting_in_line() -> None:
    # A greenlet that arrives while others are queued waits behind them,
    # even if a permit is momentarily available.
    sem = Semaphore(0)
    order: list[str] = []

    def queued() -> None:
        sem.acquire()
        order.append("queued")
        sem.release()

    spawn_raw(queued)
    sleep(0)
    sem.release()  # the queued greenlet is being woken...
    assert sem.counter == 1
    assert sem.acquire(timeout=LONG) is True  # ...so this one goes after it
    order.append("late")
    assert order == ["queued", "late"]


def test_semaphore_is_fair_under_contention() -> None:
    # A greenlet that releases and re-acquires in a loop must let the
    # queued waiter in (no starvation).
    sem = Semaphore(1)
    served: list[str] = []
    stop: list[bool] = []

    def hog() -> None:
        while not stop:
            with sem:
                served.append("hog")
                sleep(0)

    def other() -> None:
        with sem:
            served.append("other")
        stop.append(True)

    spawn_raw(hog)
    sleep(0)
    spawn_raw(other)
    wait_until(lambda: bool(stop))
    assert "other" in served
    assert served.index("other") <= 3
    wait_until(lambda: sem.counter == 1)


def test_killed_acquirer_does_not_take_permit() -> None:
    sem = Semaphore(0)
    outcome: list[str] = []

    def waiter() -> None:
        try:
            sem.acquire()
        except ZeroDivisionError:
            outcome.append("killed")

    g = spawn_raw(waiter)
    sleep(0)
    kill(g, ZeroDivisionError)
    sleep(0)
    assert outcome == ["killed"]
    assert sem.linkcount() == 0
    sem.release()
    sleep(0)
    assert sem.counter == 1


def test_semaphore_wait() -> None:
    sem = Semaphore(2)
    assert sem.wait() == 2
    sem = Semaphore(0)
    start = time.monotonic()
    assert sem.wait(SHORT) == 0
    assert SHORT * 0.5 <= time.monotonic() - start < LONG
    spawn_raw(lambda: (sleep(SHORT), sem.release()))
    assert sem.wait(LONG) == 1
    assert sem.counter == 1  # wait() does not take the permit


def test_semaphore_context_manager() -> None:
    sem = Semaphore(1)
    with sem as acquired:
        assert acquired is True
        assert sem.counter == 0
    assert sem.counter == 1
    with pytest.raises(KeyError):
        with sem:
            raise KeyError
    assert sem.counter == 1


def test_semaphore_rawlink_and_wait_protocol() -> None:
    sem = Semaphore()
    assert wait([sem]) == [sem]  # ready: the link fires at once
    sem1, sem2 = Semaphore(0), Semaphore(0)
    spawn_raw(sem1.release)
    with iwait((sem1, sem2)) as it:
        assert next(it) is sem1
        assert sem2.linkcount() == 1
    assert sem2.linkcount() == 0


def test_semaphore_release_twice_notifies_all_links() -> None:
    sem = Semaphore()
    result: list[str] = []
    sem.rawlink(lambda _: result.append("a"))
    sem.release()
    sem.rawlink(lambda _: result.append("b"))
    sem.release()
    sleep(0.001)
    assert sorted(result) == ["a", "b"]


def test_semaphore_str_and_weakref() -> None:
    sem = Semaphore(3)
    assert str(sem).startswith("<Semaphore at 0x")
    assert "counter=3" in str(sem) and "links=0" in str(sem)
    assert "counter=3" in repr(sem)
    ref = weakref.ref(sem)
    assert ref() is sem


def test_semaphore_at_fork_reinit() -> None:
    sem = Semaphore(2)
    sem.acquire()
    sem.acquire()
    spawn_raw(sem.acquire)
    sleep(0)
    assert sem.linkcount() == 1
    sem._at_fork_reinit()
    assert sem.counter == 2 and sem.linkcount() == 0 and sem.hub is None


def test_semaphore_deadlock_is_loop_exit() -> None:
    sem = Semaphore(0)
    with pytest.raises(LoopExit):
        sem.acquire()
    assert sem.linkcount() == 0


def test_acquire_in_del_does_not_crash() -> None:
    acquired: list[bool] = []

    class Holder:
        def __init__(self) -> None:
            self.sem = Semaphore()

        def __del__(self) -> None:
            acquired.append(self.sem.acquire())
            acquired.append(self.sem.locked())

    Holder()
    assert acquired == [True, True]


# -- BoundedSemaphore -----------------------------------------------------------------------


def test_bounded_semaphore_over_release() -> None:
    sem = BoundedSemaphore(2)
    with pytest.raises(ValueError, match=r"^Semaphore released too many times$"):
        sem.release()
    sem.acquire()
    assert sem.release() == 2
    with pytest.raises(ValueError, match="released too many times"):
        sem.release()
    assert sem.counter == 2
    assert BoundedSemaphore().counter == 1


# -- Lock ---------------------------------------------------------------------------------


def test_lock_basics() -> None:
    lock = Lock()
    assert not lock.locked()
    assert lock.acquire() is True
    assert lock.locked()
    assert lock.acquire(False) is False
    assert lock.acquire(timeout=SHORT) is False
    assert lock.release() is None
    assert not lock.locked()
    with pytest.raises(RuntimeError, match=r"^release unlocked lock$"):
        lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()
    assert "unlocked" in str(lock)


def test_lock_argument_checks() -> None:
    lock = Lock()
    with pytest.raises(ValueError, match="non-blocking"):
        lock.acquire(False, 1)
    with pytest.raises(ValueError, match="timeout"):
        lock.acquire(True, -2)
    assert lock.acquire(True, -1) is True
    lock.release()
    assert lock.acquire(True, None) is True
    lock.release()


def test_lock_released_by_other_greenlet() -> None:
    lock = Lock()
    lock.acquire()
    spawn_raw(lock.release)
    assert lock.acquire(timeout=LONG) is True


# -- RLock --------------------------------------------------------------------------------


def test_rlock_reentrant() -> None:
    lock = RLock()
    assert not lock.locked() and not lock._is_owned()
    assert lock.acquire() is True
    assert lock.acquire() is True
    assert lock.locked() and lock._is_owned()
    lock.release()
    assert lock.locked()
    lock.release()
    assert not lock.locked() and not lock._is_owned()
    with pytest.raises(RuntimeError, match=r"^cannot release un-acquired lock$"):
        lock.release()
    with lock:
        with lock:
            assert lock._is_owned()
    assert not lock.locked()
    assert "count=0" in repr(lock)


def test_rlock_owner_checks_between_greenlets() -> None:
    lock = RLock()
    lock.acquire()
    results: list[Any] = []

    def other() -> None:
        results.append(lock._is_owned())
        try:
            lock.release()
        except RuntimeError as ex:
            results.append(str(ex))
        results.append(lock.acquire(blocking=False))
        results.append(lock.acquire(timeout=SHORT))

    g = spawn_raw(other)
    wait_until(lambda: g.dead)
    assert results == [False, "cannot release un-acquired lock", False, False]
    assert lock._is_owned()
    lock.release()


def test_rlock_waiter_gets_it_after_full_release() -> None:
    lock = RLock()
    lock.acquire()
    lock.acquire()
    got: list[bool] = []

    def other() -> None:
        got.append(lock.acquire())
        got.append(lock._is_owned())
        lock.release()

    spawn_raw(other)
    sleep(0)
    lock.release()
    sleep(0)
    assert got == []
    lock.release()
    wait_until(lambda: len(got) == 2)
    assert got == [True, True]
    assert not lock.locked()


def test_rlock_argument_checks() -> None:
    lock = RLock()
    with pytest.raises(ValueError):
        lock.acquire(False, 1)
    assert lock.acquire(True, -1) is True
    lock.release()


def test_rlock_release_save_acquire_restore() -> None:
    lock = RLock()
    with pytest.raises(RuntimeError):
        lock._release_save()
    lock.acquire()
    lock.acquire()
    state = lock._release_save()
    assert state == (2, getcurrent())
    assert not lock.locked()
    lock._acquire_restore(state)
    assert lock._is_owned()
    lock.release()
    lock.release()
    assert not lock.locked()
    lock.acquire()
    lock._at_fork_reinit()
    assert not lock.locked() and not lock._is_owned()


def test_rlock_with_threading_condition() -> None:
    lock = RLock()
    cond = threading.Condition(lock)
    items: list[int] = []
    consumed: list[int] = []

    def consumer() -> None:
        with cond:
            while not items:
                cond.wait(LONG)
            consumed.append(items.pop())
        destroy_own_hub()

    thread = start_thread(consumer)
    native_wait_until(lambda: lock.locked() is False and thread.is_alive())
    time.sleep(0.01)
    with cond:
        items.append(7)
        cond.notify()
    thread.join(LONG)
    assert not thread.is_alive()
    assert consumed == [7]
    assert not lock.locked()


def test_rlock_condition_wait_for_between_threads() -> None:
    lock = RLock()
    cond = threading.Condition(lock)
    state: dict[str, int] = {"n": 0}

    def producer() -> None:
        for _ in range(5):
            time.sleep(0.001)
            with cond:
                state["n"] += 1
                cond.notify_all()
        destroy_own_hub()

    thread = start_thread(producer)
    with cond:
        assert cond.wait_for(lambda: state["n"] == 5, timeout=LONG)
    thread.join(LONG)
    assert not lock.locked()


# -- DummySemaphore ---------------------------------------------------------------------


def test_dummy_semaphore() -> None:
    sem = DummySemaphore(5)
    assert str(sem) == "<DummySemaphore>"
    for _ in range(10):
        assert sem.acquire() is True
    assert sem.acquire(False) is True
    assert sem.acquire(timeout=0) is True
    assert sem.release() is None
    assert not sem.locked() and sem.ready()
    assert sem.wait() == 1 and sem.wait(1) == 1
    with sem as entered:
        assert entered is True
    calls: list[Any] = []
    sem.rawlink(calls.append)
    sem.rawlink(lambda s: calls.append("second"))
    sem.unlink(calls.append)
    assert sem.linkcount() == 1
    sleep(0)
    assert calls == ["second"]
    assert wait([sem]) == [sem]
    with pytest.raises(TypeError):
        sem.rawlink(None)  # type: ignore[arg-type]
    DummySemaphore()._at_fork_reinit()


# -- across native threads -------------------------------------------------------------


def test_acquire_in_hubless_thread_released_by_main() -> None:
    sem = Semaphore(1)
    assert sem.hub is None
    sem.acquire()
    acquired: list[Any] = []

    def body() -> None:
        acquired.append(sem.acquire())
        acquired.append(get_hub_if_exists())

    thread = start_thread(body)
    native_wait_until(lambda: sem.linkcount() == 1)
    sem.release()
    thread.join(LONG)
    assert acquired == [True, None]
    assert sem.hub is None and sem.counter == 0


def test_acquire_in_hubless_thread_times_out() -> None:
    sem = Semaphore(1)
    sem.acquire()
    acquired: list[Any] = []
    thread = start_thread(lambda: acquired.append(sem.acquire(timeout=SHORT)))
    thread.join(LONG)
    assert acquired == [False]
    sem.release()
    assert sem._notifier is None
    assert sem.counter == 1 and sem.linkcount() == 0


def test_thread_gives_up_while_greenlet_holds() -> None:
    sem = Semaphore(1)
    sem.acquire()
    acquired: list[bool] = []
    thread = threading.Thread(target=lambda: acquired.append(sem.acquire(timeout=0.2)), daemon=True)

    def greenlet_one() -> bool:
        result = sem.acquire()
        thread.start()
        sleep(0.3)
        sem.release()
        return result

    outcome: list[bool] = []
    spawn_raw(lambda: outcome.append(greenlet_one()))
    sleep(0)
    sem.release()
    wait_until(lambda: bool(outcome))
    thread.join(LONG)
    assert outcome == [True]
    assert acquired == [False]
    assert sem.counter == 1


def test_hubless_thread_release_wakes_greenlets() -> None:
    # gevent issue 2013, without monkey patching: a native thread that has
    # no hub acquires and releases; greenlets of this hub wait for it.
    owner_ident = threading.get_ident()
    for _ in range(10):
        sem = BoundedSemaphore(1)
        release_now = threading.Event()
        producer_hub: list[Any] = []
        notified_on: list[int] = []
        resumed_on: list[int] = []

        def producer(
            sem: BoundedSemaphore = sem,
            release_now: threading.Event = release_now,
            producer_hub: list[Any] = producer_hub,
        ) -> None:
            sem.acquire()
            assert release_now.wait(LONG)
            sem.release()
            producer_hub.append(get_hub_if_exists())

        thread = start_thread(producer)
        wait_until(lambda sem=sem: sem.counter == 0)
        sem.rawlink(lambda _, n=notified_on: n.append(threading.get_ident()))

        def waiter(sem: BoundedSemaphore = sem, resumed_on: list[int] = resumed_on) -> None:
            sem.acquire()
            resumed_on.append(threading.get_ident())
            sem.release()

        for _ in range(4):
            spawn_raw(waiter)
        wait_until(lambda sem=sem: sem.linkcount() == 5)
        release_now.set()
        wait_until(lambda r=resumed_on: len(r) == 4)
        thread.join(LONG)
        assert notified_on == [owner_ident]
        assert resumed_on == [owner_ident] * 4
        assert producer_hub == [None]
        assert sem.counter == 1


def test_release_in_other_hub_wakes_greenlet_here() -> None:
    sem = Semaphore(0)
    got: list[bool] = []
    spawn_raw(lambda: got.append(sem.acquire()))
    sleep(0)

    def body() -> None:
        get_hub()
        sem.release()
        destroy_own_hub()

    thread = start_thread(body)
    wait_until(lambda: bool(got))
    thread.join(LONG)
    assert got == [True]


def test_greenlet_of_other_hub_waits_for_main() -> None:
    sem = Semaphore(0)
    sem.wait(0.001)  # belongs to this hub
    got: list[Any] = []

    def body() -> None:
        get_hub()
        got.append(sem.acquire())  # no timer: kept alive by its async watcher
        destroy_own_hub()

    thread = start_thread(body)
    wait_until(lambda: sem.linkcount() == 1)
    sem.release()
    wait_until(lambda: not thread.is_alive())
    assert got == [True]
    assert sem.counter == 0


@pytest.mark.parametrize("with_hub", [False, True])
@pytest.mark.parametrize("timeout", [None, LONG])
def test_dueling_threads(with_hub: bool, timeout: float | None) -> None:
    # Two threads doing nothing but acquire/release (gevent issue 1698).
    sem = Semaphore(1)
    count = 2000
    done = [0, 0]
    errors: list[BaseException] = []
    hubs: list[Any] = []

    def run(ix: int) -> None:
        try:
            if with_hub:
                get_hub()
            for i in range(count):
                assert sem.acquire(True, timeout)
                sem.release()
                done[ix] = i + 1
                if with_hub and i % 50 == 0:
                    sleep(0.0001)
            hubs.append(get_hub_if_exists())
        except BaseException as ex:  # noqa: BLE001 - reported below
            errors.append(ex)
        finally:
            destroy_own_hub()

    threads = [start_thread(lambda ix=ix: run(ix)) for ix in range(2)]
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert done == [count, count]
    assert sem.counter == 1
    if not with_hub:
        assert hubs == [None, None]
        assert sem.hub is None


def test_many_threads_share_a_lock() -> None:
    lock = Lock()
    total = [0]

    def work() -> None:
        for _ in range(200):
            with lock:
                value = total[0]
                time.sleep(0)
                total[0] = value + 1

    threads = [start_thread(work) for _ in range(4)]
    for thread in threads:
        thread.join(60)
    assert total[0] == 800
    assert not lock.locked()


def test_thread_with_hub_blocks_twice_on_lock_held_by_other_thread() -> None:
    # Nothing but the other thread can wake the waiting thread, whose loop
    # has nothing else to do: it must neither raise LoopExit nor spin.
    sem = Semaphore(1)
    held = [threading.Event(), threading.Event()]
    again = threading.Event()
    results: list[Any] = []

    def holder() -> None:
        for i in range(2):
            if i:
                assert again.wait(LONG)
            sem.acquire()
            held[i].set()
            time.sleep(0.05)
            sem.release()

    def waiter() -> None:
        get_hub()
        try:
            for i in range(2):
                assert held[i].wait(LONG)
                results.append(sem.acquire())
                assert sem.hub is get_hub()
                sem.release()
                again.set()
        except BaseException as ex:  # noqa: BLE001 - reported below
            results.append(ex)
        finally:
            destroy_own_hub()

    threads = [start_thread(holder), start_thread(waiter)]
    for thread in threads:
        thread.join(LONG)
    assert results == [True, True]
