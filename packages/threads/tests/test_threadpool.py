"""greenkit.threadpool: ThreadPool, ThreadResult, ThreadPoolExecutor."""

from __future__ import annotations

import _thread
import concurrent.futures
import io
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from greenlet import getcurrent

import greenkit.threadpool as threadpool_module
from greenkit.exceptions import InvalidThreadUseError
from greenkit.greenlet import Greenlet
from greenkit.hub import get_hub, get_hub_if_exists, sleep, wait
from greenkit.threadpool import ThreadPool, ThreadPoolExecutor, ThreadResult
from greenkit.timeout import Timeout

LONG = 5.0


class Error(Exception):
    pass


@pytest.fixture
def quiet_hub() -> Iterator[Any]:
    """The hub, printing errors into a buffer instead of stderr."""
    hub = get_hub()
    hub.exception_stream = io.StringIO()
    yield hub
    del hub.exception_stream


@pytest.fixture
def pools() -> Iterator[list[ThreadPool]]:
    made: list[ThreadPool] = []
    yield made
    for pool in made:
        pool.kill()


def make(pools: list[ThreadPool], maxsize: int, **kwargs: Any) -> ThreadPool:
    pool = ThreadPool(maxsize, **kwargs)
    pools.append(pool)
    return pool


def test_public_names() -> None:
    assert set(threadpool_module.__all__) == {"ThreadPool", "ThreadResult", "ThreadPoolExecutor"}
    assert issubclass(ThreadPoolExecutor, concurrent.futures.ThreadPoolExecutor)


def test_hub_creates_its_threadpool_from_config() -> None:
    hub = get_hub()
    pool = hub.threadpool
    assert isinstance(pool, ThreadPool)
    assert pool.hub is hub
    assert pool.maxsize == hub.threadpool_size
    assert pool.apply(_thread.get_ident) != _thread.get_ident()


def test_tasks_run_in_native_threads_and_return_values(pools: list[ThreadPool]) -> None:
    pool = make(pools, 3)
    assert pool.size == 0 and len(pool) == 0
    idents = pool.map(lambda _: _thread.get_ident(), range(6))
    assert _thread.get_ident() not in idents
    assert pool.apply(divmod, (7, 2)) == (3, 1)
    assert pool.apply(lambda a, b=0: a + b, (1,), {"b": 2}) == 3
    assert sorted(pool.imap_unordered(abs, [-1, -2, -3])) == [1, 2, 3]
    assert list(pool.imap(abs, [-3, -2, -1])) == [3, 2, 1]
    assert 1 <= pool.size <= 3


def test_waiting_for_a_result_lets_other_greenlets_run(pools: list[ThreadPool]) -> None:
    pool = make(pools, 1)
    other = Greenlet.spawn(lambda: "ran")
    assert pool.apply(time.sleep, (0.05,)) is None
    assert other.ready() and other.value == "ran"


def test_many_tasks_under_load(pools: list[ThreadPool]) -> None:
    pool = make(pools, 4)
    results = [pool.spawn(pow, i, 2) for i in range(500)]
    assert [r.get(timeout=LONG) for r in results] == [i * i for i in range(500)]
    assert pool.join(timeout=LONG)
    assert len(pool) == 0
    assert pool.size <= 4


def test_exception_propagates_to_the_waiter_and_is_reported(
    pools: list[ThreadPool], quiet_hub: Any
) -> None:
    pool = make(pools, 2)

    def fail() -> None:
        raise Error("boom")

    with pytest.raises(Error, match="boom"):
        pool.apply(fail)
    sleep(0)
    report = quiet_hub.exception_stream.getvalue()
    assert "Error: boom" in report and "failed with Error" in report
    # The pool still works.
    assert pool.apply(abs, (-5,)) == 5


def test_get_with_timeout_raises_timeout(pools: list[ThreadPool]) -> None:
    pool = make(pools, 1)
    result = pool.spawn(time.sleep, 0.3)
    with pytest.raises(Timeout):
        result.get(timeout=0.01)
    assert result.get(timeout=LONG) is None


def test_spawn_blocks_while_full_and_len_counts_outstanding(pools: list[ThreadPool]) -> None:
    pool = make(pools, 1)
    release = _thread.allocate_lock()
    release.acquire()
    first = pool.spawn(release.acquire)
    second = pool.spawn(abs, -2)
    assert len(pool) == 2  # one running, one queued
    assert pool.free_count() == 0
    third_started = []
    spawner = Greenlet.spawn(lambda: third_started.append(pool.spawn(abs, -3)))
    sleep(0.05)
    assert third_started == []  # blocked: the pool is full
    release.release()
    assert first.get(timeout=LONG) is True
    assert second.get(timeout=LONG) == 2
    spawner.join(timeout=LONG)
    assert third_started[0].get(timeout=LONG) == 3
    assert pool.join(timeout=LONG)


def test_size_and_maxsize(pools: list[ThreadPool]) -> None:
    with pytest.raises(ValueError):
        ThreadPool(-1)
    pool = make(pools, 2)
    pool.size = 2
    assert pool.size == 2
    pool.size = 1
    assert pool.size == 1
    with pytest.raises(ValueError):
        pool.size = 3
    with pytest.raises(ValueError):
        pool.size = -1
    pool.maxsize = 0
    assert pool.size == 0
    with pytest.raises(ValueError):
        pool.maxsize = -1


def test_raising_maxsize_releases_blocked_spawners(pools: list[ThreadPool]) -> None:
    pool = make(pools, 0)
    done: list[int] = []
    spawner = Greenlet.spawn(lambda: pool.spawn(done.append, 1).get())
    sleep(0.05)
    assert done == [] and not spawner.ready()
    pool.maxsize = 1
    spawner.join(timeout=LONG)
    assert done == [1]


def test_idle_workers_exit_after_idle_task_timeout(pools: list[ThreadPool]) -> None:
    pool = make(pools, 2, idle_task_timeout=0.05)
    assert pool.apply(abs, (-1,)) == 1
    assert pool.size == 1
    deadline = time.monotonic() + LONG
    while pool.size and time.monotonic() < deadline:
        sleep(0.02)
    assert pool.size == 0
    # New work starts a new worker.
    assert pool.apply(abs, (-4,)) == 4


def test_kill_lets_queued_tasks_finish(pools: list[ThreadPool]) -> None:
    pool = make(pools, 1)
    results = [pool.spawn(time.sleep, 0.01) for _ in range(2)]
    pool.kill()
    assert pool.size == 0
    assert [r.get(timeout=LONG) for r in results] == [None, None]
    # Usable again.
    assert pool.apply(abs, (-6,)) == 6


def test_apply_from_a_worker_of_the_same_pool_runs_inline(pools: list[ThreadPool]) -> None:
    pool = make(pools, 1)
    assert pool.apply(lambda: pool.apply(_thread.get_ident)) != _thread.get_ident()


def test_spawn_from_another_thread_is_refused(pools: list[ThreadPool]) -> None:
    pool = make(pools, 1)
    other = make(pools, 1)
    with pytest.raises(InvalidThreadUseError):
        pool.apply(lambda: other.spawn(abs, 1))


def test_worker_greenlet_and_its_own_hub(fd_leak_check: None, pools: list[ThreadPool]) -> None:
    pool = make(pools, 1)

    def task() -> Any:
        assert get_hub_if_exists() is None  # workers start without a hub
        sleep(0.001)  # greenkit inside the worker: this thread's own hub
        return getcurrent(), get_hub()

    worker, hub = pool.apply(task)
    assert isinstance(worker, ThreadPool._WorkerGreenlet)
    assert "ThreadPoolWorker" in repr(worker) and "hub=" in repr(worker)
    assert hub is not get_hub()


def test_calls_from_other_native_threads_use_their_own_hub(fd_leak_check: None) -> None:
    out: list[Any] = []
    finished = _thread.allocate_lock()
    finished.acquire()

    def thread_main() -> None:
        try:
            pool = get_hub().threadpool
            out.append(pool.apply(abs, (-9,)))
            out.append(pool.hub is get_hub())
        finally:
            get_hub().destroy(destroy_loop=True)
            finished.release()

    _thread.start_new_thread(thread_main, ())
    assert finished.acquire(True, LONG)
    assert out == [9, True]


def test_results_are_not_kept_alive(pools: list[ThreadPool]) -> None:
    import gc
    import weakref

    class Obj:
        pass

    pool = make(pools, 1)
    arg = Obj()
    refs = [weakref.ref(arg)]
    result = pool.apply(lambda a: Obj(), (arg,))
    refs.append(weakref.ref(result))
    del arg, result
    sleep(0.05)
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_thread_result_delivers_in_the_hub() -> None:
    hub = get_hub()
    received: list[Any] = []
    ready: list[int] = []
    result = ThreadResult(received.append, hub, lambda: ready.append(_thread.get_ident()))
    done = _thread.allocate_lock()
    done.acquire()

    def setter() -> None:
        result.set(42)
        done.release()

    _thread.start_new_thread(setter, ())
    assert done.acquire(True, LONG)
    deadline = time.monotonic() + LONG
    while not received and time.monotonic() < deadline:
        sleep(0.01)
    assert received == [result]
    assert ready == [_thread.get_ident()]
    assert result.value is None  # dropped once delivered


def test_profile_hook_is_installed_for_tasks_only(pools: list[ThreadPool]) -> None:
    import threading

    calls: list[Any] = []

    def hook(*args: Any) -> None:
        calls.append(args)

    old = threading.getprofile()
    pool = make(pools, 1)
    pool.size = 1
    threading.setprofile(hook)
    try:
        inside = pool.apply(sys.getprofile)
    finally:
        threading.setprofile(old)
    assert inside is hook
    assert calls


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_pool_used_after_fork_starts_fresh(fd_leak_check: None, pools: list[ThreadPool]) -> None:
    pool = make(pools, 2)
    assert pool.apply(abs, (-1,)) == 1
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(r)
            get_hub().loop.reinit()
            ok = pool.apply(abs, (-7,)) == 7 and pool.size >= 1
            os.write(w, b"ok" if ok else b"bad")
        finally:
            os._exit(0)
    os.close(w)
    try:
        with os.fdopen(r, "rb") as reader:
            data = reader.read()
    finally:
        os.waitpid(pid, 0)
    assert data == b"ok"


# -- ThreadPoolExecutor ------------------------------------------------------------


def test_executor_futures_wait_cooperatively() -> None:
    with ThreadPoolExecutor(2) as executor:
        future = executor.submit(time.sleep, 0.1)
        with pytest.raises(concurrent.futures.TimeoutError):
            future.result(timeout=0.001)
        other = Greenlet.spawn(lambda: 2016)
        assert future.result(timeout=LONG) is None
        assert other.ready()
        assert future.done() and not future.cancelled() and not future.cancel()
        assert wait([executor.submit(abs, -1)], timeout=LONG)[0].result() == 1
        assert list(executor.map(abs, [-1, -2])) == [1, 2]


def test_executor_exceptions_and_callbacks(quiet_hub: Any) -> None:
    executor = ThreadPoolExecutor(1)
    try:
        future = executor.submit(int, "x")
        with pytest.raises(ValueError):
            future.result(timeout=LONG)
        assert isinstance(future.exception(), ValueError)
        seen: list[Any] = []
        future.add_done_callback(seen.append)  # already done: runs at once
        assert seen == [future]
        later = executor.submit(time.sleep, 0.01)
        later.add_done_callback(seen.append)
        later.result(timeout=LONG)
        sleep(0.01)
        assert seen == [future, later]
    finally:
        executor.shutdown()
    with pytest.raises(RuntimeError):
        executor.submit(abs, 1)


def test_executor_initializer_runs_in_each_thread() -> None:
    inited: list[int] = []
    executor = ThreadPoolExecutor(1, initializer=lambda: inited.append(_thread.get_ident()))
    try:
        idents = [executor.submit(_thread.get_ident).result(timeout=LONG) for _ in range(3)]
    finally:
        executor.shutdown()
    assert inited == idents[:1]


def test_executor_module_wait_unpatched_only_for_done_futures() -> None:
    with ThreadPoolExecutor(1) as executor:
        future = executor.submit(abs, -3)
        assert future.result(timeout=LONG) == 3
        done, not_done = concurrent.futures.wait([future])
        assert list(done) == [future] and not not_done
        assert list(concurrent.futures.as_completed([future])) == [future]
        pending = executor.submit(time.sleep, 0.05)
        with pytest.raises(AttributeError):
            concurrent.futures.wait([pending])
        pending.result(timeout=LONG)
        # The failed wait made its condition; done, it is FINISHED at once.
        assert list(concurrent.futures.wait([pending]).done) == [pending]


def test_many_greenlets_share_a_pool_while_it_is_resized(pools: list[ThreadPool]) -> None:
    pool = make(pools, 4)

    def client(n: int) -> int:
        total = 0
        for i in range(5):
            total += pool.apply(lambda x: (time.sleep(0.001), x)[1], (n * 10 + i,))
        return total

    clients = [Greenlet.spawn(client, n) for n in range(40)]
    sleep(0.01)
    pool.maxsize = 2
    sleep(0.01)
    pool.maxsize = 6
    pool.size = 6
    values = [c.get(timeout=LONG) for c in clients]
    assert values == [sum(n * 10 + i for i in range(5)) for n in range(40)]
    assert pool.join(timeout=LONG) and len(pool) == 0
    assert pool.size == 6


def test_task_setup_and_cleanup_failures(pools: list[ThreadPool], quiet_hub: Any) -> None:
    fail = {"before": True, "after": True}
    stderr = io.StringIO()

    class Pool(ThreadPool):
        class _WorkerGreenlet(ThreadPool._WorkerGreenlet):
            def __init__(self, threadpool: ThreadPool) -> None:
                ThreadPool._WorkerGreenlet.__init__(self, threadpool)
                self._stderr = stderr

            def _before_run_task(self, *args: Any, **kwargs: Any) -> None:
                if fail["before"]:
                    raise Error("before")
                ThreadPool._WorkerGreenlet._before_run_task(self, *args, **kwargs)

            def _after_run_task(self, *args: Any, **kwargs: Any) -> None:
                ThreadPool._WorkerGreenlet._after_run_task(self, *args, **kwargs)
                if fail["after"]:
                    raise Error("after")

    pool = Pool(2)
    pools.append(pool)
    for _ in range(pool.maxsize + 1):
        with pytest.raises(Error, match="before"):
            pool.apply(abs, (-1,))
    assert "Failed to run worker thread" in stderr.getvalue()
    fail["before"] = False
    # The caller has its value even if the clean-up then fails; the worker lives on.
    assert [pool.apply(abs, (-i,)) for i in range(5)] == [0, 1, 2, 3, 4]
    assert "Failed to clean up after a task" in stderr.getvalue()
    assert pool.size >= 1
    assert pool.join(timeout=LONG)


def test_executor_futures_with_concurrent_futures_wait_when_patched(
    run_patched: Callable[..., list[str]],
) -> None:
    # Quietly: telling the waiters of concurrent.futures never blocks the hub
    # (as_completed holds their locks across switches).
    out = run_patched("""
        import concurrent.futures as cf
        from greenkit.greenlet import Greenlet
        from greenkit.threadpool import ThreadPoolExecutor
        import time
        with ThreadPoolExecutor(2) as executor:
            slow = executor.submit(time.sleep, 0.2)
            done, not_done = cf.wait([slow], timeout=0.001)
            print(list(not_done) == [slow])
            other = Greenlet.spawn(lambda: 2016)
            fast = [executor.submit(abs, -i) for i in range(20)]
            print(sorted(f.result() for f in cf.as_completed(fast)) == list(range(20)))
            done, _ = cf.wait([slow])
            print(list(done) == [slow], other.value)
    """)
    assert out == ["True", "True", "True", "2016"]


def test_concurrent_futures_wait_for_the_first_exception_when_patched(
    run_patched: Callable[..., list[str]],
) -> None:
    out = run_patched(
        """
        import concurrent.futures as cf
        from greenkit.threadpool import ThreadPoolExecutor
        import time
        with ThreadPoolExecutor(2) as executor:
            first = executor.submit(int, "x")
            done, _ = cf.wait([first, executor.submit(time.sleep, 0.5)],
                              return_when=cf.FIRST_EXCEPTION)
            print(list(done) == [first], type(first.exception()).__name__)
    """,
        quiet=False,
    )  # the pool's hub reports the task's error
    assert out == ["True", "ValueError"]
