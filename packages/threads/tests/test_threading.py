"""greenkit.threading: what patching puts into ``threading``.

greenkit-monkey is not a dependency of this package: the scripts run in a
child interpreter patched by the ``run_patched`` fixture (conftest.py).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

import greenkit.threading as gthreading

Run = Callable[[str], list[str]]


def test_module_surface() -> None:
    assert set(gthreading.__implements__) >= {
        "local",
        "_allocate_lock",
        "Lock",
        "get_ident",
        "_DummyThread",
        "_CRLock",
    }
    if sys.version_info < (3, 13):
        assert {"_start_new_thread", "_set_sentinel"} <= set(gthreading.__implements__)
    else:
        assert {"_start_joinable_thread", "_ThreadHandle", "_LockType", "_thread_shutdown"} <= set(
            gthreading.__implements__
        )
    for name in gthreading.__implements__:
        assert hasattr(threading, name), name
        assert hasattr(gthreading, name), name
    assert gthreading._CRLock is None
    assert issubclass(gthreading._DummyThread, threading._DummyThread)


def test_threads_are_greenlets_and_join_cooperatively(run_patched: Run) -> None:
    out = run_patched("""
        import time
        from greenkit.greenlet import Greenlet
        from greenkit.hub import sleep
        log = []
        def work(n):
            sleep(0.01)
            log.append(n)
        threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        other = Greenlet.spawn(lambda: log.append("greenlet"))
        for t in threads:
            t.join()
        print(sorted(map(str, log)) == ["0", "1", "2", "greenlet"])
        print(all(not t.is_alive() for t in threads))
        print(threading.current_thread() is main)
        print(_thread.get_ident() != native_ident)
    """)
    assert out == ["True", "True", "True", "True"]


def test_join_with_timeout_and_locks(run_patched: Run) -> None:
    out = run_patched("""
        from greenkit.hub import sleep
        lock = threading.Lock()
        lock.acquire()
        t = threading.Thread(target=lock.acquire)
        t.start()
        t.join(0.01)
        print(t.is_alive())
        lock.release()
        t.join()
        print(t.is_alive(), lock.locked())
        rlock = threading.RLock()
        print(type(rlock).__name__)
        with rlock:
            with rlock:
                pass
        cond = threading.Condition()
        def notifier():
            sleep(0.01)
            with cond:
                cond.notify_all()
        threading.Thread(target=notifier).start()
        with cond:
            print(cond.wait(5))
    """)
    assert out == ["True", "False", "True", "_RLock", "True"]


def test_dummy_threads_leave_active_when_their_greenlet_ends(run_patched: Run) -> None:
    out = run_patched("""
        from greenkit.greenlet import Greenlet
        from greenkit.hub import sleep, spawn_raw
        import gc
        before = len(threading._active)
        def helper():
            print(type(threading.current_thread()).__name__)
            sleep(0.05)
        g = Greenlet.spawn(helper)
        sleep(0.01)
        print(len(threading._active) - before)
        g.join()
        sleep(0)
        print(len(threading._active) - before)
        raw = spawn_raw(helper)
        sleep(0.01)
        print(len(threading._active) - before)
        while not raw.dead:
            sleep(0.01)
        del raw
        gc.collect()
        print(len(threading._active) - before)
    """)
    assert out == ["_DummyThread", "1", "0", "_DummyThread", "1", "0"]


def test_threading_local_is_greenlet_local(run_patched: Run) -> None:
    out = run_patched("""
        from greenkit.greenlet import Greenlet
        data = threading.local()
        data.x = "main"
        g = Greenlet.spawn(lambda: getattr(data, "x", "unset"))
        print(g.get(), data.x)
    """)
    assert out == ["unset", "main"]


def test_exit_waits_for_non_daemon_threads_only(run_patched: Run) -> None:
    out = run_patched("""
        from greenkit.hub import sleep
        def late():
            sleep(0.1)
            print("late")
        def forever():
            sleep(30)
            print("never")
        threading.Thread(target=late).start()
        threading.Thread(target=forever, daemon=True).start()
        print("main")
    """)
    assert out == ["main", "late"]


def test_greenlets_asking_for_their_thread_exit_quietly(run_patched: Run) -> None:
    # Each greenlet's dummy thread lasts as long as the greenlet, however
    # many others make theirs meanwhile, and none complains at exit (3.13's
    # own tracker, shared by the greenlets of a thread, did both wrong).
    out = run_patched("""
        from greenkit.greenlet import Greenlet
        from greenkit.hub import sleep, spawn_raw
        def ask():
            me = threading.current_thread()
            sleep(0.05)
            return threading._active.get(threading.get_ident()) is me
        jobs = [Greenlet.spawn(ask) for _ in range(5)]
        print(all(job.get() for job in jobs))
        sleep(0)                             # their links run
        print(len(threading._active))
        parked = spawn_raw(lambda: [threading.current_thread(), sleep(30)])
        sleep(0.01)
        print(len(threading._active))
    """)
    assert out == ["True", "1", "2"]


def test_forking_greenlet_is_the_childs_main_thread(run_patched: Run) -> None:
    out = run_patched("""
        import os
        from greenkit.greenlet import Greenlet
        def forker(ask):
            if ask:
                threading.current_thread()   # a dummy thread exists
            pid = os.fork()
            if pid:
                return os.waitpid(pid, 0)[1]
            main = threading.main_thread()
            worker = threading.Thread(target=lambda: None)
            worker.start()
            worker.join()
            print(main is threading.current_thread(), main.ident == threading.get_ident(),
                  len(threading._active), flush=True)
            os._exit(0)
        for ask in (False, True):
            print(Greenlet.spawn(forker, ask).get(), flush=True)
    """)
    assert out == ["True", "True", "1", "0"] * 2


def test_lock_is_a_class_before_and_after_patching(run_patched: Run) -> None:
    assert gthreading.Lock is gthreading._allocate_lock
    assert isinstance(gthreading.Lock, type)
    assert isinstance(gthreading.Lock | None, type(int | None))
    out = run_patched("""
        class Holder:
            lock_class = threading.Lock
            thread_lock_class = _thread.allocate_lock
        holder = Holder()
        lock = holder.lock_class()
        other = holder.thread_lock_class()
        print(type(lock) is type(other) is gthread.LockType)
        print(isinstance(lock, threading.Lock), isinstance(other, _thread.LockType))
        def annotated(lock: threading.Lock | None = None) -> _thread.LockType | None:
            return lock
        import typing
        print(typing.get_type_hints(annotated)["lock"] == (threading.Lock | None))
        print(isinstance(threading.Lock(), threading.Lock | None))
    """)
    assert out == ["True", "True", "True", "True", "True"]


def test_locks_work_while_the_interpreter_finalizes(run_patched: Run) -> None:
    # greenlet.getcurrent() raises once the interpreter finalizes; a
    # __del__ taking a pure-Python RLock then must not fail (run_patched
    # asserts nothing reached stderr, where "Exception ignored" goes).
    out = run_patched("""
        import sys
        class TakesLock:
            def __init__(self):
                self.me = self
                self.rlock = threading.RLock()
                self.write = sys.stdout.write
            def __del__(self):
                with self.rlock:
                    self.write(str(self.rlock._is_owned()) + "\\n")
        TakesLock()
        with threading.RLock() as held:
            print("main", threading.get_ident() == gthread._main_greenlet_ident())
    """)
    assert out == ["main", "True", "True"]
