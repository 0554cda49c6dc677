"""greenkit.pool: Group, Pool, PoolFull and the mapping helpers."""

from __future__ import annotations

import queue as stdlib_queue
import random
import time
from typing import Any

import pytest
from greenlet import getcurrent
from greenlet import greenlet as RawGreenlet

import greenkit.pool as pool_module
from greenkit.greenlet import Greenlet, GreenletExit
from greenkit.hub import get_hub, sleep, spawn_raw
from greenkit.pool import Group, IMap, IMapUnordered, Pool, PoolFull
from greenkit.queue import Queue
from greenkit.timeout import Timeout, with_timeout

SHORT = 0.02
LONG = 3.0


class Error(Exception):
    pass


def sqr(x: int, wait: float = 0.0) -> int:
    sleep(wait)
    return x * x


def sqr_random(x: int) -> int:
    sleep(random.random() * 0.02)
    return x * x


def divide(x: int) -> float:
    return 1.0 / x


# -- module surface -------------------------------------------------------------------


def test_public_names() -> None:
    assert set(pool_module.__all__) >= {
        "Group",
        "Pool",
        "PoolFull",
        "IMap",
        "IMapUnordered",
        "GroupMappingMixin",
    }
    for name in pool_module.__all__:
        assert hasattr(pool_module, name)
    assert issubclass(Pool, Group)
    assert issubclass(PoolFull, stdlib_queue.Full)
    assert Group.greenlet_class is Greenlet
    assert issubclass(IMap, Greenlet) and issubclass(IMapUnordered, Greenlet)


# -- Group: membership ------------------------------------------------------------------


def test_group_tracks_spawned_greenlets_until_they_finish() -> None:
    group = Group()
    assert not group and len(group) == 0
    first = group.spawn(sleep, SHORT)
    second = group.spawn(sleep, SHORT * 5)
    assert len(group) == 2 and group
    assert first in group and second in group
    assert set(group) == {first, second}
    assert isinstance(first, Greenlet)
    first.join()
    sleep(0)
    assert list(group) == [second]
    assert group.join(LONG) is True
    assert len(group) == 0 and not group


def test_group_constructor_takes_greenlets() -> None:
    a = Greenlet.spawn(sleep, SHORT)
    b = Greenlet.spawn(sleep, SHORT)
    group = Group([a, b])
    assert len(group) == 2
    assert group.join(LONG)
    assert len(group) == 0
    with pytest.raises(TypeError):
        Group([a], [b])  # type: ignore[call-arg]


def test_group_add_discard_and_start() -> None:
    group = Group()
    glet = Greenlet(sleep, SHORT)
    group.add(glet)
    assert glet in group and not glet.started
    group.discard(glet)
    assert glet not in group
    assert glet.has_links() == 0  # discard unlinked the group
    group.discard(glet)  # no error when absent
    group.start(glet)
    assert glet in group and glet.started
    glet.join()
    sleep(0)
    assert glet not in group


def test_group_iteration_is_a_snapshot() -> None:
    group = Group()
    for _ in range(3):
        group.spawn(sleep, 0)
    seen = []
    for glet in group:
        seen.append(glet)
        sleep(0.005)  # members finish meanwhile: no "set changed size" error
    assert len(seen) == 3
    assert group.join(LONG)


def test_group_greenlet_class_can_be_changed() -> None:
    class Mine(Greenlet):
        pass

    group = Group()
    group.greenlet_class = Mine
    glet = group.spawn(sleep, 0)
    assert type(glet) is Mine
    assert group.join(LONG)


def test_group_full_and_wait_available() -> None:
    group = Group()
    assert group.full() is False
    assert group.wait_available() is None
    assert group.wait_available(timeout=0.01) is None


def test_group_repr_lists_members() -> None:
    group = Group()
    glet = group.spawn(sleep, 0)
    assert repr(group).startswith("<Group at 0x")
    assert repr(glet) in repr(group)
    group.join()


def test_raw_greenlets_can_be_added() -> None:
    group = Group()
    raw = RawGreenlet(lambda: None)
    group.add(raw)
    assert raw in group
    raw.switch()
    # A raw greenlet cannot be linked: it stays until discarded.
    assert raw in group
    group.discard(raw)
    assert not group


# -- Group: join -------------------------------------------------------------------------


def test_join_empty_group_returns_true_without_switching() -> None:
    group = Group()
    marker: list[int] = []
    get_hub().loop.run_callback(marker.append, 1)
    assert group.join() is True
    assert marker == []  # nothing else ran
    sleep(0)


def test_join_returns_false_on_timeout() -> None:
    group = Group()
    glet = group.spawn(sleep, LONG)
    start = time.perf_counter()
    assert group.join(timeout=SHORT) is False
    assert time.perf_counter() - start < LONG / 2
    assert len(group) == 1
    glet.kill()
    assert not group


def test_join_waits_for_all() -> None:
    group = Group()
    group.spawn(sleep, SHORT)
    group.spawn(sleep, SHORT * 2)
    start = time.perf_counter()
    assert group.join(raise_error=True) is True
    assert time.perf_counter() - start >= SHORT * 1.5
    assert len(group) == 0


def test_join_raise_error_raises_a_members_error(error_stream: Any) -> None:
    group = Group()

    def fail() -> None:
        sleep(0.001)
        raise Error("boom")

    group.spawn(fail)
    group.spawn(sleep, 0.005)
    with pytest.raises(Error, match="boom"):
        group.join(raise_error=True)
    assert "Error: boom" in error_stream.getvalue()


def test_join_without_raise_error_ignores_errors(error_stream: Any) -> None:
    group = Group()
    group.spawn(divide, 0)
    assert group.join() is True
    assert "ZeroDivisionError" in error_stream.getvalue()


# -- Group: kill ------------------------------------------------------------------------


def test_kill_blocking_empties_the_group() -> None:
    group = Group()
    a = group.spawn(sleep, LONG)
    b = group.spawn(sleep, LONG)
    sleep(0)
    start = time.perf_counter()
    group.kill()
    assert time.perf_counter() - start < LONG / 2
    assert len(group) == 0
    assert a.dead and b.dead
    assert isinstance(a.value, GreenletExit)


def test_kill_non_blocking_returns_at_once() -> None:
    group = Group()
    group.spawn(sleep, LONG)
    group.spawn(sleep, LONG)
    sleep(0)
    group.kill(block=False)
    assert len(group) == 2
    sleep(0.001)
    assert len(group) == 0


def test_kill_unstarted_greenlets() -> None:
    group = Group()
    ran: list[int] = []
    glet = group.spawn(ran.append, 1)
    group.kill()
    assert ran == [] and glet.dead and not group


def test_kill_with_exception() -> None:
    group = Group()
    glet = group.spawn(sleep, LONG)
    sleep(0)

    class Stop(Exception):
        pass

    hub = get_hub()
    hub.exception_stream = None
    try:
        group.kill(Stop)
    finally:
        del hub.exception_stream
    assert isinstance(glet.exception, Stop)


class Undead:
    """Survives everything but Stop; counts the other exceptions it got."""

    def __init__(self) -> None:
        self.shots = 0

    def __call__(self) -> None:
        while True:
            try:
                sleep(1)
            except Stop:
                break
            except BaseException:  # noqa: BLE001 - counting kills
                self.shots += 1


class Stop(Exception):
    pass


def test_kill_and_killone_fire_once_per_greenlet() -> None:
    u1, u2 = Undead(), Undead()
    p1, p2 = Greenlet.spawn(u1), Greenlet.spawn(u2)
    sleep(0.01)
    group = Group([p1, p2])
    group.killone(p1, block=False)
    assert (u1.shots, u2.shots) == (0, 0)
    sleep(0)
    assert (u1.shots, u2.shots) == (1, 0)
    group.killone(p1)  # already dying: not killed again, no wait
    group.killone(p1)
    group.kill(block=False)
    group.kill(block=False)
    sleep(SHORT)
    assert (u1.shots, u2.shots) == (1, 1)
    marker = object()
    assert with_timeout(SHORT, group.kill, block=True, timeout_value=marker) is marker
    assert len(group) == 2
    assert (u1.shots, u2.shots) == (1, 1)
    p1.kill(Stop)
    p2.kill(Stop)
    assert not group


def test_kill_timeout_gives_up_silently() -> None:
    undead = Undead()
    group = Group()
    glet = group.spawn(undead)
    sleep(0)
    start = time.perf_counter()
    group.kill(timeout=SHORT)
    assert time.perf_counter() - start < LONG / 2
    assert glet in group and undead.shots == 1
    glet.kill(Stop)
    assert not group


def test_kill_also_kills_greenlets_added_meanwhile() -> None:
    group = Group()

    def breeder() -> None:
        try:
            sleep(LONG)
        finally:
            Greenlet.spawn(lambda: group.spawn(sleep, LONG))

    group.spawn(breeder)
    sleep(0)
    group.kill(timeout=LONG)
    sleep(SHORT)
    group.kill(timeout=LONG)
    assert not group


def test_killone_blocking_waits() -> None:
    group = Group()
    glet = group.spawn(sleep, LONG)
    sleep(0)
    group.killone(glet)
    assert glet.dead and glet not in group
    group.killone(glet)  # not a member any more: nothing happens


def test_kill_from_a_member_kills_it_last() -> None:
    # locust's workers quit this way: a member kills its group, itself too.
    group = Group()
    order: list[str] = []

    def victim(name: str) -> None:
        try:
            sleep(LONG)
        finally:
            order.append(name)

    others = [group.spawn(victim, f"other{i}") for i in range(3)]

    def killer() -> str:
        try:
            group.kill()
            order.append("after kill")  # never runs
        finally:
            order.append("killer")
        return "not reached"

    me = group.spawn(killer)
    joiner = Greenlet.spawn(group.join)
    sleep(0.01)
    assert me.join(LONG) is None and me.dead
    assert me.successful() and isinstance(me.value, GreenletExit)
    assert all(glet.dead for glet in others)
    assert sorted(order[:3]) == ["other0", "other1", "other2"]
    assert order[3:] == ["killer"]
    assert not group
    assert joiner.get(timeout=LONG) is True


class _Stop(GreenletExit):
    """The exception the members are killed with."""


def test_kill_from_a_member_without_blocking_or_with_a_timeout() -> None:
    group = Group()
    other = group.spawn(sleep, LONG)
    raised: list[BaseException] = []

    def killer(**kwargs: Any) -> None:
        try:
            group.kill(_Stop("stop"), **kwargs)
        except _Stop as ex:
            raised.append(ex)

    group.spawn(killer, block=False).join(LONG)
    assert str(raised.pop()) == "stop"
    assert group.join(LONG) and other.dead

    def stubborn() -> None:
        try:
            sleep(LONG)
        except _Stop:
            sleep(0.2)

    survivor = group.spawn(stubborn)
    sleep(0)
    group.spawn(killer, timeout=0.05).join(LONG)
    assert str(raised.pop()) == "stop"  # the caller went when the timeout expired
    assert list(group) == [survivor]
    assert group.join(LONG)


def test_kill_raw_greenlets() -> None:
    group = Group()
    raw = spawn_raw(sleep, LONG)
    sleep(0)
    group.add(raw)
    group.kill(timeout=LONG)
    assert raw.dead and not group


# -- Pool -------------------------------------------------------------------------------


def test_pool_size_validation() -> None:
    with pytest.raises(ValueError):
        Pool(-1)
    assert Pool().size is None
    assert Pool(3).size == 3


def test_pool_of_size_zero_is_always_full() -> None:
    pool = Pool(size=0)
    assert pool.free_count() == 0
    assert pool.full()
    start = time.perf_counter()
    assert pool.wait_available(timeout=SHORT) == 0
    assert time.perf_counter() - start >= SHORT / 2
    with pytest.raises(PoolFull):
        pool.add(Greenlet(sleep, 0), blocking=False)


def test_unlimited_pool() -> None:
    pool = Pool()
    glets = [pool.spawn(sleep, SHORT) for _ in range(50)]
    assert len(pool) == 50
    assert pool.free_count() == 1
    assert not pool.full()
    assert pool.wait_available() == 1
    assert pool.join(LONG)
    assert all(g.dead for g in glets)


def test_pool_free_count_and_slots() -> None:
    pool = Pool(size=2)
    assert pool.free_count() == 2
    record: list[int] = []
    first = pool.spawn(record.append, 1)
    assert pool.free_count() == 1
    first.get()
    sleep(0)
    assert pool.free_count() == 2
    pool.spawn(sleep, SHORT)
    pool.spawn(sleep, SHORT)
    assert pool.full() and pool.free_count() == 0
    assert pool.wait_available(timeout=LONG) >= 1
    assert pool.join(LONG)


def test_pool_spawn_blocks_while_full() -> None:
    pool = Pool(1)
    first = pool.spawn(sleep, SHORT * 2)
    start = time.perf_counter()
    second = pool.spawn(sleep, 0)  # waits for first to finish
    assert first.dead
    assert time.perf_counter() - start >= SHORT
    assert len(pool) == 1 and second in pool
    assert pool.join(LONG)


def test_pool_add_blocking_can_be_interrupted() -> None:
    pool = Pool(1)
    first = Greenlet.spawn(sleep, LONG)
    second = Greenlet.spawn(sleep, LONG)
    try:
        pool.add(first)
        with pytest.raises(Timeout):
            with Timeout(SHORT):
                pool.add(second)
        assert len(pool) == 1 and pool.free_count() == 0
    finally:
        first.kill()
        second.kill()
    assert pool.free_count() == 1


def test_pool_add_non_blocking_and_timeout_raise_poolfull() -> None:
    pool = Pool(1)
    first = Greenlet.spawn(sleep, LONG)
    second = Greenlet.spawn(sleep, LONG)
    try:
        pool.add(first)
        with pytest.raises(PoolFull):
            pool.add(second, blocking=False)
        start = time.perf_counter()
        with pytest.raises(PoolFull):
            pool.add(second, timeout=SHORT)
        assert time.perf_counter() - start >= SHORT / 2
        third = Greenlet(sleep, 0)
        with pytest.raises(PoolFull):
            pool.start(third, timeout=SHORT)
        assert not third.started
        assert len(pool) == 1
    finally:
        first.kill()
        second.kill()


def test_pool_discard_frees_the_slot() -> None:
    pool = Pool(size=1)
    glet = pool.spawn(sleep, LONG)
    pool.discard(glet)
    assert len(pool) == 0
    assert pool._semaphore.counter == 1
    assert pool.free_count() == 1
    glet.kill()
    assert pool._semaphore.counter == 1  # no second release


def test_pool_adding_a_member_twice_uses_one_slot() -> None:
    pool = Pool(2)
    glet = Greenlet(sleep, 0)
    pool.add(glet)
    pool.add(glet)
    assert pool.free_count() == 1
    glet.start()
    assert pool.join(LONG)
    assert pool.free_count() == 2


def test_pool_greenlet_class_argument() -> None:
    class Mine(Greenlet):
        pass

    pool = Pool(2, greenlet_class=Mine)
    assert type(pool.spawn(sleep, 0)) is Mine
    assert Pool(2).greenlet_class is Greenlet
    assert pool.join(LONG)


def test_pool_slot_comes_back_after_an_error(error_stream: Any) -> None:
    pool = Pool(1)
    glet = pool.spawn(divide, 0)
    with pytest.raises(ZeroDivisionError):
        glet.get()
    sleep(0)
    assert pool.free_count() == 1
    with Timeout(LONG):
        assert pool.apply(sqr, (3,)) == 9


def test_pool_repr() -> None:
    assert "size=3" in repr(Pool(3))


# -- apply ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [None, 1, 3])
def test_apply(size: int | None) -> None:
    pool = Pool(size)
    assert pool.apply(sqr, (5,)) == 25
    assert pool.apply(sqr, (), {"x": 3}) == 9
    assert pool.apply(lambda: "value") == "value"
    assert Group().apply(sqr, (2,)) == 4


def test_apply_runs_in_a_member() -> None:
    pool = Pool(2)
    assert pool.apply(getcurrent) is not getcurrent()


def test_apply_raises(error_stream: Any) -> None:
    pool = Pool(1)
    with pytest.raises(Error):
        pool.apply(lambda: (_ for _ in ()).throw(Error()))


def test_apply_is_reentrant_in_a_full_pool() -> None:
    pool = Pool(1)
    assert pool.apply(pool.apply, (lambda a: a + 1, (5,))) == 6


def test_apply_async_returns_the_greenlet_and_calls_back() -> None:
    pool = Pool(2)
    results: list[Any] = []
    glet = pool.apply_async(sqr, (7, SHORT), callback=results.append)
    assert isinstance(glet, Greenlet)
    assert glet.get(timeout=LONG) == 49
    sleep(0)
    assert results == [49]


def test_apply_async_callback_not_called_on_error(error_stream: Any) -> None:
    pool = Pool(2)
    results: list[Any] = []
    glet = pool.apply_async(divide, (0,), callback=results.append)
    glet.join()
    sleep(SHORT)
    assert results == []


def test_apply_async_never_blocks() -> None:
    pool = Pool(size=2)
    record: list[int] = []
    pool.apply_async(record.append, (1,))
    pool.apply_async(record.append, (2,))
    assert pool.free_count() == 0 and record == []
    start = time.perf_counter()
    helper = pool.apply_async(record.append, (3,))  # pool full: a helper waits
    assert time.perf_counter() - start < SHORT
    assert helper not in pool
    assert record == []
    helper.join(LONG)
    assert sorted(record) == [1, 2, 3]


def test_apply_async_timeout() -> None:
    pool = Pool(1)
    glet = pool.apply_async(sqr, (6, LONG))
    with pytest.raises(Timeout):
        glet.get(timeout=SHORT)
    pool.kill()


def test_apply_cb() -> None:
    pool = Pool(2)
    results: list[Any] = []
    assert pool.apply_cb(sqr, (4,), callback=results.append) == 16
    sleep(0)
    assert results == [16]
    assert pool.apply_cb(sqr, (2,)) == 4


# -- map ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [None, 1, 2, 10])
def test_map(size: int | None) -> None:
    pool = Pool(size)
    assert pool.map(sqr, range(10)) == [x * x for x in range(10)]
    assert pool.map(sqr_random, range(20)) == [x * x for x in range(20)]
    assert pool.map(sqr, []) == []
    assert pool.join(LONG)


def test_map_raises_the_first_error(error_stream: Any) -> None:
    pool = Pool(3)
    with pytest.raises(ZeroDivisionError):
        pool.map(divide, [1, 0, 2])


def test_map_error_in_the_iterable() -> None:
    def items() -> Any:
        yield 1
        yield 2
        raise Error("iterating")

    pool = Pool(3)
    with pytest.raises(Error, match="iterating"):
        pool.map(sqr, items())
    with pytest.raises(Error):
        list(pool.imap_unordered(sqr, items()))


def test_map_cb_and_map_async() -> None:
    pool = Pool(2)
    results: list[Any] = []
    assert pool.map_cb(sqr, range(3), callback=results.append) == [0, 1, 4]
    assert results == [[0, 1, 4]]
    glet = pool.map_async(sqr, range(4), callback=results.append)
    assert isinstance(glet, Greenlet) and glet not in pool
    assert glet.get(timeout=LONG) == [0, 1, 4, 9]
    assert results[-1] == [0, 1, 4, 9]


def test_map_async_then_kill_terminates() -> None:
    pool = Pool(3)
    result = pool.map_async(sleep, [0.05] * 6)
    sleep(0.03)
    start = time.perf_counter()
    pool.kill()
    assert time.perf_counter() - start < 0.5
    result.join(LONG)
    assert result.dead


# -- imap --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [None, 1, 3])
def test_imap_keeps_input_order(size: int | None) -> None:
    pool = Pool(size)
    it = pool.imap(sqr_random, range(15))
    assert isinstance(it, IMap)
    assert list(it) == [x * x for x in range(15)]
    it = pool.imap(sqr, range(5))
    for i in range(5):
        assert next(it) == i * i
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(StopIteration):
        next(it)


def test_imap_zips_several_iterables() -> None:
    pool = Pool(2)
    assert list(pool.imap(lambda a, b: a + b, [1, 2, 3], [10, 20])) == [11, 22]
    assert sorted(pool.imap_unordered(pow, [2, 3], [3, 2])) == [8, 9]


def test_imap_needs_an_iterable() -> None:
    with pytest.raises(TypeError):
        Pool(1).imap(sqr)


def test_imap_empty() -> None:
    pool = Pool(2)
    assert list(pool.imap(sqr, [])) == []
    assert list(pool.imap_unordered(sqr, [])) == []


def test_imap_unordered_in_completion_order() -> None:
    def delayed(x: int) -> str:
        sleep(x / 100)
        return str(x)

    assert list(Pool(3).imap_unordered(delayed, [10, 1, 2])) == ["1", "2", "10"]
    assert list(Pool(1).imap_unordered(delayed, [10, 1, 2])) == ["10", "1", "2"]
    it = Pool(5).imap_unordered(sqr_random, range(30))
    assert isinstance(it, IMapUnordered)
    assert sorted(it) == [x * x for x in range(30)]


@pytest.mark.parametrize("method", ["imap", "imap_unordered"])
def test_imap_errors_are_raised_in_place_and_iteration_goes_on(
    method: str, error_stream: Any
) -> None:
    pool = Pool(1)
    it = getattr(pool, method)(divide, [1, 0, 2])
    assert next(it) == 1.0
    with pytest.raises(ZeroDivisionError):
        next(it)
    assert next(it) == 0.5
    with pytest.raises(StopIteration):
        next(it)


def test_imap_iterable_error_comes_after_earlier_results() -> None:
    def items() -> Any:
        yield 1
        yield 2
        raise Error("late")

    it = Pool(2).imap(sqr, items())
    assert next(it) == 1
    assert next(it) == 4
    with pytest.raises(Error, match="late"):
        next(it)
    with pytest.raises(StopIteration):
        next(it)


@pytest.mark.parametrize("method", ["imap", "imap_unordered"])
def test_imap_over_a_queue_ends_at_stopiteration(method: str) -> None:
    q: Queue[Any] = Queue()
    q.put(123)
    Greenlet.spawn_later(SHORT, q.put, StopIteration)
    assert list(getattr(Pool(2), method)(lambda x: x, q)) == [123]


@pytest.mark.parametrize("method", ["imap", "imap_unordered"])
def test_imap_waits_for_a_slow_iterable(method: str) -> None:
    def slow() -> Any:
        yield from range(3)
        sleep(SHORT)

    assert sorted(getattr(Pool(2), method)(sqr, slow())) == [0, 1, 4]


@pytest.mark.parametrize("method", ["imap", "imap_unordered"])
def test_imap_maxsize_bounds_work_ahead_of_the_reader(method: str) -> None:
    started = [0]

    def task(i: int, _j: int) -> int:
        started[0] += 1
        return i

    items = list(range(40))
    mapping = getattr(Pool(10), method)(task, items, items, maxsize=1)
    results = []
    for consumed, value in enumerate(mapping):
        assert started[0] <= consumed + 2
        results.append(value)
        sleep(0.001)
        assert len(mapping.queue) <= 2
    assert sorted(results) == items


def test_imap_result_greenlets_are_pool_members() -> None:
    pool = Pool(2)
    members: list[bool] = []

    def check(_x: int) -> None:
        members.append(getcurrent() in pool)

    list(pool.imap(check, range(4)))
    assert members == [True] * 4
