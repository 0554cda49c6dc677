"""Memory and reference leaks: 100k watcher and callback cycles, keep-alive, fds."""

from __future__ import annotations

import gc
import os
import socket
import tracemalloc
import weakref
from collections.abc import Callable, Iterator

import pytest

from greenkit.loop import libev

CYCLES = 100_000
WARMUP = 2_000
#: Generous: a leaked watcher costs hundreds of bytes, so 100k of them would
#: show tens of megabytes; a few hundred kilobytes of noise is fine.
MAX_GROWTH = 2 * 1024 * 1024


@pytest.fixture
def traced() -> Iterator[Callable[[], int]]:
    """Trace Python allocations; yields a function returning current traced bytes."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()

    def current() -> int:
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    try:
        yield current
    finally:
        if not was_tracing:
            tracemalloc.stop()


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


def _noop(*args: object) -> None:
    pass


def _measure(traced: Callable[[], int], cycle: Callable[[], None]) -> int:
    for _ in range(WARMUP):
        cycle()
    before = traced()
    for _ in range(CYCLES):
        cycle()
    return traced() - before


def test_io_watcher_cycles_do_not_leak(loop: libev.loop, traced: Callable[[], int]) -> None:
    a, b = socket.socketpair()
    try:
        fd = a.fileno()

        def cycle() -> None:
            w = loop.io(fd, libev.READ)
            w.start(_noop, 1)
            w.stop()
            w.close()

        growth = _measure(traced, cycle)
    finally:
        a.close()
        b.close()
    assert growth < MAX_GROWTH, growth
    assert len(loop._keepaliveset) == 0
    assert loop.activecnt == 0


def test_timer_watcher_cycles_do_not_leak(loop: libev.loop, traced: Callable[[], int]) -> None:
    def cycle() -> None:
        t = loop.timer(10, 1)
        t.start(_noop, "arg")
        t.stop()
        t.close()

    growth = _measure(traced, cycle)
    assert growth < MAX_GROWTH, growth
    assert len(loop._keepaliveset) == 0
    assert loop.activecnt == 0


def test_fired_timer_cycles_do_not_leak(loop: libev.loop, traced: Callable[[], int]) -> None:
    count = [0]

    def bump() -> None:
        count[0] += 1

    def cycle() -> None:
        t = loop.timer(0)
        t.start(bump)
        loop.run(nowait=True)
        t.close()

    before_cycles = count[0]
    growth = _measure(traced, cycle)
    assert count[0] - before_cycles == WARMUP + CYCLES
    assert growth < MAX_GROWTH, growth
    assert len(loop._keepaliveset) == 0


def test_run_callback_cycles_do_not_leak(loop: libev.loop, traced: Callable[[], int]) -> None:
    count = [0]

    def bump(_x: object) -> None:
        count[0] += 1

    batch = 1000

    def cycles(n: int) -> None:
        for _ in range(n // batch):
            for i in range(batch):
                loop.run_callback(bump, i)
            loop.run()

    cycles(WARMUP)
    before = traced()
    cycles(CYCLES)
    growth = traced() - before
    assert count[0] == WARMUP + CYCLES
    assert growth < MAX_GROWTH, growth
    assert loop.callback_count == 0
    assert len(loop._keepaliveset) == 0


def test_cancelled_callbacks_do_not_leak(loop: libev.loop, traced: Callable[[], int]) -> None:
    ran: list[object] = []

    def cycles(n: int) -> None:
        for _ in range(n // 1000):
            for _ in range(1000):
                loop.run_callback(ran.append, "x").stop()
            loop.run()  # cancelled callbacks leave the queue at the next iteration

    cycles(WARMUP)
    before = traced()
    cycles(CYCLES)
    growth = traced() - before
    assert ran == []
    assert loop.callback_count == 0
    assert growth < MAX_GROWTH, growth


def test_fed_watcher_cycles_do_not_leak(loop: libev.loop, traced: Callable[[], int]) -> None:
    w = loop.idle()

    def cycle() -> None:
        w.feed(libev.READ, _noop)
        loop.run(nowait=True)

    growth = _measure(traced, cycle)
    assert growth < MAX_GROWTH, growth
    assert len(loop._keepaliveset) == 0
    w.close()


@pytest.mark.skipif(_rss_bytes() is None, reason="needs /proc/self/statm")
def test_c_memory_does_not_grow(loop: libev.loop) -> None:
    # Without tracemalloc: catches C allocations (libev, cffi handles).
    def cycle() -> None:
        for factory in (lambda: loop.timer(1), lambda: loop.idle(), lambda: loop.async_()):
            w = factory()
            w.start(_noop)
            w.stop()
            w.close()

    for _ in range(WARMUP):
        cycle()
    gc.collect()
    before = _rss_bytes()
    for _ in range(CYCLES // 2):
        cycle()
    gc.collect()
    after = _rss_bytes()
    assert before is not None and after is not None
    assert after - before < 32 * 1024 * 1024, after - before


def test_loop_create_destroy_cycles_do_not_leak(traced: Callable[[], int]) -> None:
    def cycle() -> None:
        lp = libev.loop(default=False)
        t = lp.timer(1)
        t.start(_noop)
        lp.run_callback(_noop)
        lp.destroy()

    for _ in range(200):
        cycle()
    before = traced()
    for _ in range(5000):
        cycle()
    growth = traced() - before
    assert growth < MAX_GROWTH, growth


# -- keep-alive ------------------------------------------------------------------------


def test_started_io_without_references_fires_and_is_freed_after_stop(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    a, b = socket.socketpair()
    try:
        fired: list[int] = []
        refs: list[weakref.ref[libev.io]] = []

        def on_write() -> None:
            fired.append(1)
            w = refs[0]()
            assert w is not None
            w.stop()

        w = loop.io(a.fileno(), libev.WRITE)
        refs.append(weakref.ref(w))
        w.start(on_write)
        del w
        gc.collect()
        assert refs[0]() is not None
        assert guarded_run(loop)
        assert fired == [1]
        gc.collect()
        assert refs[0]() is None
        assert len(loop._keepaliveset) == 0
    finally:
        a.close()
        b.close()


def test_callback_objects_are_not_retained(loop: libev.loop) -> None:
    class Payload:
        pass

    payload = Payload()
    ref = weakref.ref(payload)
    cb = loop.run_callback(_noop, payload)
    del payload
    loop.run()
    gc.collect()
    assert ref() is None  # the finished callback dropped its args
    assert not cb.pending


def test_watcher_args_released_after_stop(loop: libev.loop) -> None:
    class Payload:
        pass

    payload = Payload()
    ref = weakref.ref(payload)
    t = loop.timer(10)
    t.start(_noop, payload)
    del payload
    gc.collect()
    assert ref() is not None
    t.stop()
    gc.collect()
    assert ref() is None
    t.close()


def test_destroy_releases_watchers_and_callbacks() -> None:
    lp = libev.loop(default=False)
    t = lp.timer(10)
    t.start(_noop)
    ref = weakref.ref(t)
    del t
    lp.run_callback(_noop)
    lp.destroy()
    gc.collect()
    assert ref() is None
    assert lp.callback_count == 0
    lref = weakref.ref(lp)
    del lp
    gc.collect()
    assert lref() is None  # a destroyed loop is collectable
