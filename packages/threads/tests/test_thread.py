"""greenkit.thread: the greenlet-based ``_thread``."""

from __future__ import annotations

import _thread
import gc
import sys
import textwrap
import time
from typing import Any

import pytest
from greenlet import getcurrent
from greenlet import greenlet as RawGreenlet

import greenkit.thread as gthread
from greenkit.greenlet import Greenlet
from greenkit.hub import get_hub, sleep
from greenkit.lock import Lock
from greenkit_testing import run_python

LONG = 5.0


def test_module_surface() -> None:
    assert gthread.__target__ == "_thread"
    assert {"allocate_lock", "get_ident", "start_new_thread", "LockType", "_local", "RLock"} <= set(
        gthread.__implements__
    )
    if sys.version_info < (3, 13):
        assert "_set_sentinel" in gthread.__implements__
    else:
        assert "start_joinable_thread" in gthread.__implements__
    for name in gthread.__implements__ + gthread.__imports__:
        assert hasattr(gthread, name) and hasattr(_thread, name), name
    for name in gthread.__all__:
        assert hasattr(gthread, name), name
    assert gthread.error is _thread.error
    assert gthread.allocate is gthread.allocate_lock
    assert gthread.start_new is gthread.start_new_thread
    assert gthread.LockType.__module__ == "greenkit.thread"
    assert gthread.lock is gthread.LockType
    if sys.version_info >= (3, 13):
        assert "lock" in gthread.__implements__


def test_get_ident_is_per_greenlet() -> None:
    mine = gthread.get_ident()
    assert mine == gthread.get_ident() == gthread.get_ident(getcurrent())
    other = Greenlet.spawn(gthread.get_ident)
    assert other.get(timeout=LONG) not in (mine, None)


def test_start_new_thread_runs_a_greenlet() -> None:
    seen: list[Any] = []
    ident = gthread.start_new_thread(
        lambda a, b=0: seen.append((a, b, gthread.get_ident())), (1,), {"b": 2}
    )
    assert seen == []  # not before we yield
    assert gthread._count() == 1
    sleep(0)
    assert seen == [(1, 2, ident)]
    sleep(0)
    assert gthread._count() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((42, ()), "first arg must be callable"),
        ((print, [1]), "2nd arg must be a tuple"),
        ((print, (), [1]), "optional 3rd arg must be a dictionary"),
    ],
)
def test_start_new_thread_checks_arguments(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        gthread.start_new_thread(*args)


def test_exit_ends_the_greenlet_quietly() -> None:
    after: list[int] = []

    def body() -> None:
        gthread.exit()
        after.append(1)  # pragma: no cover - never reached

    glet = Greenlet.spawn(body)
    glet.join(timeout=LONG)
    assert glet.dead and after == []
    assert glet.successful()  # GreenletExit is a clean end


def test_lock_api_matches_thread_locktype() -> None:
    lock = gthread.allocate_lock()
    assert isinstance(lock, Lock)
    assert not lock.locked()
    assert lock.acquire() is True
    assert lock.locked()
    assert lock.acquire(False) is False
    assert lock.acquire(True, 0.01) is False
    with pytest.raises(ValueError):
        lock.acquire(False, 1)
    lock.release()
    with pytest.raises(RuntimeError) as info:
        lock.release()
    native = _thread.allocate_lock()
    with pytest.raises(RuntimeError) as native_info:
        native.release()
    assert type(info.value) is type(native_info.value)
    with lock:
        assert lock.locked()
    assert not lock.locked()
    assert lock.acquire_lock() and lock.locked_lock()
    lock.release_lock()
    lock.acquire()
    lock._at_fork_reinit()
    assert not lock.locked()


def test_failed_non_blocking_acquire_yields() -> None:
    lock = gthread.allocate_lock()
    lock.acquire()
    released: list[bool] = []

    def holder() -> None:
        lock.release()
        released.append(True)

    Greenlet.spawn(holder)
    spins = 0
    while not lock.acquire(False):
        spins += 1
        assert spins < 100
    assert released == [True]


def test_lock_blocks_only_the_greenlet_and_works_across_threads() -> None:
    lock = gthread.allocate_lock()
    lock.acquire()
    other = Greenlet.spawn(lambda: "ran")

    def release_later() -> None:
        time.sleep(0.05)
        lock.release()

    _thread.start_new_thread(release_later, ())
    assert lock.acquire(timeout=LONG)
    assert other.ready()
    lock.release()


def test_rlock() -> None:
    rlock = gthread.RLock()
    assert rlock.acquire() and rlock.acquire(True, -1)
    assert rlock._recursion_count() == 2
    failed = Greenlet.spawn(rlock.release)
    failed.join(timeout=LONG)
    assert isinstance(failed.exception, RuntimeError)
    rlock.release()
    rlock.release()
    assert not rlock.locked()


def test_set_sentinel_is_released_when_the_greenlet_ends() -> None:
    locks: list[Any] = []

    def body() -> None:
        lock = gthread._set_sentinel()
        lock.acquire()
        locks.append(lock)
        sleep(0.01)

    glet = Greenlet.spawn(body)
    sleep(0)
    assert locks[0].locked()
    assert locks[0].acquire(timeout=LONG)  # what Thread.join() does
    assert glet.dead


def test_set_sentinel_of_a_plain_greenlet_is_released_when_it_is_collected() -> None:
    locks: list[Any] = []

    def body() -> None:
        lock = gthread._set_sentinel()
        lock.acquire()
        locks.append(lock)

    raw = RawGreenlet(body)
    raw.switch()
    gc.collect()  # the weak reference that waits for it survives collections
    assert locks[0].locked()
    del raw
    gc.collect()
    assert not locks[0].locked()


def test_on_greenlet_done() -> None:
    seen: list[str] = []
    glet = Greenlet.spawn(sleep, 0.01)
    gthread._on_greenlet_done(glet, lambda _source: seen.append("greenlet"))
    raw = RawGreenlet(lambda: None)
    gthread._on_greenlet_done(raw, lambda _source: seen.append("raw"))
    raw.switch()
    assert seen == []
    glet.join(timeout=LONG)
    sleep(0)
    assert seen == ["greenlet"]
    del raw
    gc.collect()
    assert seen == ["greenlet", "raw"]


def test_handle_is_done_until_started() -> None:
    handle = gthread._ThreadHandle()
    assert handle.is_done()  # a Thread not started yet reads as stopped
    assert gthread.start_joinable_thread(lambda: sleep(0.01), handle) is handle
    assert not handle.is_done() and handle.ident is not None
    handle.join(LONG)
    assert handle.is_done()


def test_handles_of_running_threads_are_done_only_when_marked() -> None:
    handle = gthread._make_thread_handle(gthread.get_ident())
    assert handle.ident == gthread.get_ident() and not handle.is_done()
    handle._set_done()
    assert handle.is_done()
    handle.join()  # at once


def test_main_thread_of_a_forked_child_is_the_forking_greenlet() -> None:
    code = textwrap.dedent("""
        import os
        import greenkit.thread as gthread
        from greenkit.greenlet import Greenlet
        from greenkit.hub import sleep
        parent_main = gthread._get_main_thread_ident()
        running = gthread.start_joinable_thread(lambda: sleep(30))
        def forker():
            pid = os.fork()
            if pid == 0:
                print(gthread._get_main_thread_ident() == gthread.get_ident(),
                      running.is_done(), flush=True)
                os._exit(0)
            os.waitpid(pid, 0)
            print(gthread._get_main_thread_ident() == parent_main, running.is_done())
        Greenlet.spawn(forker).join()
    """)
    done = run_python(code, timeout=60)
    # In the child only the forking "thread" lives on, as natively.
    assert done.stdout.split() == ["True", "True", "True", "False"]


def test_stack_size_is_the_native_one() -> None:
    assert gthread.stack_size() == _thread.stack_size()
    assert gthread.daemon_threads_allowed() is True


def test_lock_from_a_hubless_native_thread_does_not_create_a_hub() -> None:
    lock = gthread.allocate_lock()
    lock.acquire()
    get_hub()
    out: list[Any] = []
    done = _thread.allocate_lock()
    done.acquire()

    def native() -> None:
        from greenkit.hub import get_hub_if_exists

        out.append(lock.acquire(False))
        out.append(get_hub_if_exists())
        done.release()

    _thread.start_new_thread(native, ())
    assert done.acquire(True, LONG)
    assert out == [False, None]
    lock.release()


class _HoldsLockClass:
    """Stores the lock factory as a class attribute, as werkzeug does."""

    lock_class = gthread.allocate_lock

    def make(self) -> Any:
        return self.lock_class()


def test_allocate_lock_is_the_lock_type() -> None:
    # A class, not a function: it does not bind as a method, makes unions
    # and answers isinstance, as _thread.lock does on 3.13.
    assert gthread.allocate_lock is gthread.LockType is gthread.lock
    assert isinstance(gthread.allocate_lock, type)
    lock = _HoldsLockClass().make()
    assert type(lock) is gthread.LockType
    assert isinstance(lock, gthread.allocate_lock)
    assert lock.acquire() and lock.locked()
    lock.release()
    union = gthread.allocate_lock | None
    assert isinstance(None, union) and isinstance(lock, union)
    with pytest.raises(TypeError):
        gthread.allocate_lock(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="not an acceptable base type"):
        type("MyLock", (gthread.allocate_lock,), {})


def test_lock_cannot_be_pickled_or_copied() -> None:
    import copy
    import pickle

    lock = gthread.allocate_lock()
    with pytest.raises(TypeError, match="cannot pickle 'LockType' object"):
        pickle.dumps(lock)
    with pytest.raises(TypeError):
        copy.copy(lock)
