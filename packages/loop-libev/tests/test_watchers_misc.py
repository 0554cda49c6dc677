"""idle, prepare, check, fork, async_ and stat watchers, and priorities."""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from greenkit.loop import libev

# -- idle / prepare / check ----------------------------------------------------------


def test_idle_runs_when_nothing_else_to_do(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    log: list[int] = []
    w = loop.idle()

    def cb(x: int) -> None:
        log.append(x)
        if len(log) == 3:
            w.stop()

    w.start(cb, 9)
    assert guarded_run(loop)
    assert log == [9, 9, 9]
    w.close()


def test_idle_keeps_the_loop_from_blocking(loop: libev.loop) -> None:
    # A pending idle watcher makes run(once=True) poll without blocking, even
    # with a far-away timer active.
    far = loop.timer(60)
    far.start(lambda: None)
    w = loop.idle()
    count: list[int] = []
    w.start(count.append, 1)
    for _ in range(5):
        loop.run(once=True)
    assert len(count) == 5
    w.close()
    far.close()


def test_prepare_before_check_each_iteration(loop: libev.loop) -> None:
    log: list[str] = []
    prep = loop.prepare()
    chk = loop.check()
    chk.start(log.append, "check")
    prep.start(log.append, "prepare")
    loop.run(nowait=True)
    loop.run(nowait=True)
    assert log == ["prepare", "check", "prepare", "check"]
    prep.close()
    chk.close()


def test_check_and_prepare_alone_do_not_block(loop: libev.loop) -> None:
    log: list[str] = []
    chk = loop.check()
    chk.start(log.append, "check")
    loop.run(nowait=True)
    assert log == ["check"]
    chk.close()


def test_higher_priority_runs_first(loop: libev.loop) -> None:
    log: list[str] = []
    low = loop.check(priority=libev.MINPRI)
    mid = loop.check()
    high = loop.check(priority=libev.MAXPRI)
    low.start(log.append, "low")
    mid.start(log.append, "mid")
    high.start(log.append, "high")
    loop.run(nowait=True)
    assert log == ["high", "mid", "low"]
    for w in (low, mid, high):
        w.close()


def test_higher_priority_idle_starves_lower_idle(loop: libev.loop) -> None:
    # libev: idle watchers of lower priority only run when no higher-priority
    # idle watcher is pending.
    log: list[str] = []
    low = loop.idle(priority=libev.MINPRI)
    high = loop.idle(priority=libev.MAXPRI)
    low.start(log.append, "low")
    high.start(log.append, "high")
    for _ in range(3):
        loop.run(nowait=True)
    assert log == ["high", "high", "high"]
    high.stop()
    loop.run(nowait=True)
    assert log[-1] == "low"
    low.close()
    high.close()


# -- fork ------------------------------------------------------------------------------


def test_fork_watcher_fires_after_reinit(loop: libev.loop) -> None:
    log: list[str] = []
    w = loop.fork()
    w.start(log.append, "forked")
    loop.run(nowait=True)
    assert log == []  # no reinit, no fork event
    loop.reinit()
    loop.run(nowait=True)
    assert log == ["forked"]
    loop.run(nowait=True)
    assert log == ["forked"]  # once per reinit
    w.close()


def test_fork_watcher_fires_once_after_reinit_in_a_callback(loop: libev.loop) -> None:
    # Callbacks run in a prepare watcher, where libev itself would forget the
    # fork: the loop must run the fork watchers, once.
    log: list[str] = []
    w = loop.fork(ref=False)
    w.start(log.append, "forked")
    loop.run_callback(loop.reinit)
    for _ in range(3):
        loop.run(nowait=True)
    assert log == ["forked"]
    w.close()


def test_fork_watcher_fires_once_after_reinit_in_a_prepare_watcher(loop: libev.loop) -> None:
    log: list[str] = []
    w = loop.fork(ref=False)
    w.start(log.append, "forked")
    prep = loop.prepare(ref=False)

    def reinit_once() -> None:
        prep.stop()
        loop.reinit()

    prep.start(reinit_once)
    for _ in range(3):
        loop.run(nowait=True)
    assert log == ["forked"]
    prep.close()
    w.close()


def test_fork_watcher_fires_once_after_reinit_in_a_timer(loop: libev.loop) -> None:
    # After the poll, libev itself runs the fork watchers next iteration.
    log: list[str] = []
    w = loop.fork(ref=False)
    w.start(log.append, "forked")
    t = loop.timer(0)
    t.start(loop.reinit)
    for _ in range(3):
        loop.run(nowait=True)
    assert log == ["forked"]
    t.close()
    w.close()


def test_fork_watcher_in_a_real_child(loop: libev.loop) -> None:
    log: list[int] = []
    w = loop.fork(ref=False)
    w.start(log.append, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 99
        try:
            loop.reinit()
            t = loop.timer(0.001)
            t.start(lambda: None)
            loop.run()
            code = 0 if log == [1] else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    loop.run(nowait=True)
    assert log == []  # never in the parent
    w.close()


# -- async_ -------------------------------------------------------------------------------


def test_async_send_from_another_thread_wakes_run(loop: libev.loop) -> None:
    w = loop.async_()
    outcome: list[str] = []
    guard = loop.timer(30, ref=False)

    def on_send() -> None:
        outcome.append(threading.current_thread().name)
        w.stop()

    def on_guard() -> None:
        outcome.append("timeout")
        loop.break_()

    w.start(on_send)
    guard.start(on_guard)

    def sender() -> None:
        time.sleep(0.1)  # let run() block first
        w.send()

    th = threading.Thread(target=sender)
    th.start()
    try:
        loop.run()  # blocks: w is active and referenced
    finally:
        th.join(30)
        guard.close()
    assert outcome == [threading.current_thread().name]
    w.close()


def test_async_pending_and_coalescing(loop: libev.loop) -> None:
    w = loop.async_()
    count: list[int] = []
    w.start(count.append, 1)
    assert not w.pending
    w.send()
    w.send()
    w.send()
    assert w.pending
    loop.run(nowait=True)
    assert count == [1]  # sends before the loop notices coalesce
    assert not w.pending
    w.send_ignoring_arg("ignored")
    loop.run(nowait=True)
    assert count == [1, 1]
    w.close()


def test_async_ref_false_does_not_keep_loop(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    w = loop.async_(ref=False)
    w.start(lambda: None)
    assert guarded_run(loop, 5)
    w.close()


# -- stat ---------------------------------------------------------------------------------


def test_stat_notices_a_write(
    loop: libev.loop, tmp_path: Path, guarded_run: Callable[..., bool]
) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"")
    w = loop.stat(str(path), interval=0.1)
    assert w.path == str(path)
    log: list[int] = []

    def cb() -> None:
        attr = w.attr
        log.append(-1 if attr is None else attr.st_size)
        w.stop()

    w.start(cb)
    assert w.attr is not None  # libev stats the path on start
    assert w.attr.st_size == 0
    with open(path, "ab", buffering=0) as f:
        f.write(b"x")
    assert guarded_run(loop, 20)
    assert log == [1]
    assert w.attr is not None and w.attr.st_size == 1
    assert w.prev is not None and w.prev.st_size == 0
    w.close()


def test_stat_notices_unlink(
    loop: libev.loop, tmp_path: Path, guarded_run: Callable[..., bool]
) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"abc")
    w = loop.stat(path, interval=0.1)  # os.PathLike works too
    seen: list[bool] = []

    def cb() -> None:
        seen.append(w.attr is None)
        w.stop()

    w.start(cb)
    path.unlink()
    assert guarded_run(loop, 20)
    assert seen == [True]
    assert w.attr is None
    assert w.prev is not None and w.prev.st_size == 3
    w.close()


def test_stat_of_missing_path(loop: libev.loop, tmp_path: Path) -> None:
    w = loop.stat(str(tmp_path / "missing"))
    w.start(lambda: None)
    assert w.attr is None
    assert w.prev is None
    w.close()


def test_stat_path_and_interval(loop: libev.loop, tmp_path: Path) -> None:
    w = loop.stat(os.fsencode(tmp_path))
    assert w.path == os.fsencode(tmp_path)
    assert w._paths == os.fsencode(tmp_path)
    w.close()
    w = loop.stat(str(tmp_path), interval=-1)
    assert w.path == str(tmp_path)
    assert w._paths == os.fsencode(tmp_path)  # what libev is given, as bytes
    assert w.interval == -1  # as given until started
    w.start(lambda: None)
    assert w.interval > 0  # libev replaced the illegal value
    w.close()


def test_stat_rejects_embedded_nul(loop: libev.loop) -> None:
    with pytest.raises(ValueError):
        loop.stat("/tmp/a\0b")


def test_async_alias_for_old_code(loop: libev.loop) -> None:
    # gevent keeps the pre-3.7 name as an attribute (test__core_async checks it).
    factory = getattr(loop, "async")
    w = factory()
    assert isinstance(w, libev.async_)
    w.close()
