"""patch_all with greenkit's real mirror modules, in child interpreters."""

from __future__ import annotations

import textwrap
from pathlib import Path

from greenkit_testing import run_python


def run_child(code: str) -> list[str]:
    """Run ``code`` in a new interpreter (warnings are errors); return its
    stdout lines.  It must succeed without writing to stderr."""
    return run_python(code, flags=["-W", "error"], quiet=True).stdout.splitlines()


def test_everything_is_patched() -> None:
    out = run_child("""
        import socket, threading
        real_socket = socket.socket
        from greenkit import monkey
        print(monkey.patch_all())
        import importlib
        names = ['os', 'time', 'thread', 'threading', 'socket', 'select', 'selectors',
                 'ssl', 'subprocess', 'signal', 'queue']
        for name in names:
            mirror = importlib.import_module('greenkit.' + name)
            target = importlib.import_module(getattr(mirror, '__target__', name))
            missing = [n for n in mirror.__implements__
                       if getattr(target, n) is not getattr(mirror, n)]
            if missing:
                print(name, missing)
        import select, selectors
        print(hasattr(select, 'epoll'), hasattr(selectors, 'EpollSelector'))
        print(monkey.get_original('socket', 'socket') is real_socket)
        print(threading.current_thread() is threading.main_thread())
        print(monkey.is_object_patched('threading', 'Event'))
    """)
    assert out == ["True", "False False", "True", "True", "True"]


def test_threads_and_sleeps_are_cooperative() -> None:
    out = run_child("""
        from greenkit import monkey
        monkey.patch_all()
        import threading, time, socket, queue
        order = []
        def worker(name, delay):
            time.sleep(delay)
            order.append(name)
        threads = [threading.Thread(target=worker, args=(n, d))
                   for n, d in (('slow', 0.2), ('fast', 0.01))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(order)
        # a socket pair served by a "thread" while the main greenlet reads
        a, b = socket.socketpair()
        threading.Thread(target=lambda: (time.sleep(0.05), b.sendall(b'hi'))).start()
        print(a.recv(2))
        a.close(); b.close()
        q = queue.Queue()
        threading.Thread(target=lambda: q.put('via queue')).start()
        print(q.get(timeout=5))
    """)
    assert out == ["['fast', 'slow']", "b'hi'", "via queue"]


def test_entry_point_plugins(tmp_path: Path) -> None:
    """Plugins registered as entry points (greenkit's groups and gevent's)
    are called with the events."""
    (tmp_path / "myplugin.py").write_text(
        textwrap.dedent("""
        def will(event):
            print('will', type(event).__name__, event.patch_all_kwargs)
        def did(event):
            print('did', type(event).__name__)
        def module(event):
            if event.module_name == 'time':
                print('module', event.module_name)
    """)
    )
    dist = tmp_path / "myplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        textwrap.dedent("""
        [greenkit.plugins.monkey.will_patch_all]
        will = myplugin:will
        [gevent.plugins.monkey.did_patch_all]
        did = myplugin:did
        [greenkit.plugins.monkey.did_patch_module]
        module = myplugin:module
    """)
    )
    out = run_child(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from greenkit import monkey
        monkey.patch_all(custom='x')
    """)
    assert out == [
        "will GeventWillPatchAllEvent {'custom': 'x'}",
        "module time",
        "did GeventDidPatchAllEvent",
    ]


def test_joining_the_main_thread_from_a_greenlet() -> None:
    out = run_child("""
        from greenkit import monkey
        monkey.patch_all()
        import threading
        main = threading.main_thread()
        def waiter():
            main.join(0.01)
            print('timed out', main.is_alive())
            main.join()
            print('main ended')
        threading.Thread(target=waiter).start()
        try:
            main.join()
        except RuntimeError as exc:
            print(exc)
        threading.Event().wait(0.1)
        print('main done')
    """)
    assert out == ["cannot join current thread", "timed out True", "main done", "main ended"]


def test_python_m_greenkit_monkey(tmp_path: Path) -> None:
    (tmp_path / "script.py").write_text(
        "import socket, threading, time\n"
        "print(socket.socket.__module__, time.sleep.__module__)\n"
        "print(threading.current_thread() is threading.main_thread())\n"
    )
    done = run_python(argv=["-m", "greenkit.monkey", "script.py"], cwd=tmp_path)
    assert done.stdout.splitlines() == ["greenkit.socket greenkit.hub", "True"]


def test_joining_the_main_thread_in_a_child_forked_by_a_greenlet() -> None:
    # In the child only the forking greenlet's thread survives; the main
    # thread object is stopped, so joining it returns at once.
    out = run_child("""
        from greenkit import monkey
        monkey.patch_all()
        import os, threading
        main = threading.main_thread()
        def worker():
            pid = os.fork()
            if pid:
                os.waitpid(pid, 0)
                return
            joiner = threading.Thread(target=main.join)
            joiner.start()
            joiner.join(30)
            print('child joined', not joiner.is_alive(), flush=True)
            os._exit(0)
        threading.Thread(target=worker).start()
    """)
    assert out == ["child joined True"]


def test_child_forked_by_a_greenlet_exits_cleanly() -> None:
    # In the child, threading made the forking greenlet's thread the main
    # one; the interpreter's shutdown must not trip over it (run_child
    # checks that nothing is written to stderr, by either process).
    out = run_child("""
        from greenkit import monkey
        monkey.patch_all()
        import os
        from greenkit.greenlet import Greenlet
        parent = os.getpid()
        def forker():
            pid = os.fork()
            if pid:
                os.waitpid(pid, 0)
        Greenlet.spawn(forker).join()
        print('parent' if os.getpid() == parent else 'child', flush=True)
    """)
    assert out == ["child", "parent"]


def test_child_forked_by_the_main_greenlet_runs_threads_and_exits_cleanly() -> None:
    # The main thread keeps its object in the child, with the main greenlet's
    # identity (on 3.13 its handle too, or threading's after-fork check
    # fails); a thread started there is waited for at exit.
    out = run_child("""
        from greenkit import monkey
        monkey.patch_all()
        import os, threading, time
        main = threading.main_thread()
        pid = os.fork()
        if pid:
            os.waitpid(pid, 0)
            print('parent', threading.current_thread() is main, flush=True)
        else:
            print('child', threading.current_thread() is main,
                  main.ident == threading.get_ident(), flush=True)
            threading.Thread(target=lambda: [time.sleep(0.1), print('late', flush=True)]).start()
    """)
    assert out == ["child True True", "late", "parent True"]


def test_patched_lock_factories_are_classes() -> None:
    # werkzeug stores ``lock_class = threading.Lock`` and calls
    # ``self.lock_class()``; annotations evaluated at run time use
    # ``threading.Lock | None``.  Both hold before and after patching.
    out = run_child("""
        import _thread, threading
        def check():
            class Holder:
                lock_class = threading.Lock
                raw_class = _thread.allocate_lock
            holder = Holder()
            lock, raw = holder.lock_class(), holder.raw_class()
            with lock, raw:
                pass
            union = threading.Lock | None
            return isinstance(None, union)
        before = check() if isinstance(threading.Lock, type) else True
        from greenkit import monkey
        monkey.patch_all()
        print(before, check())
        print(isinstance(threading.Lock(), threading.Lock),
              type(threading.Lock()) is _thread.LockType)
    """)
    assert out == ["True True", "True True"]


def test_exit_with_logging_is_silent() -> None:
    # A handler collected while the interpreter finalizes runs logging's
    # weak-reference callback, which takes logging's (patched) RLock when
    # greenlet no longer names the current greenlet: that must not print
    # an "Exception ignored" traceback.  The cycle keeps the handler alive
    # until the final collection.
    out = run_child("""
        from greenkit import monkey
        monkey.patch_all()
        import logging, sys, threading
        logging.basicConfig(level=logging.INFO, stream=sys.stdout)
        class Holder:
            pass
        for i in range(3):
            holder = Holder()
            holder.me = holder
            holder.handler = logging.StreamHandler(sys.stdout)
            logger = logging.getLogger(f"gk.{i}")
            logger.addHandler(holder.handler)
            logger.propagate = False
            logger.info("logged")
            logger.removeHandler(holder.handler)
        del holder
        held = threading.RLock()
        held.acquire()
        print("done")
    """)
    assert out == ["logged"] * 3 + ["done"]
