"""patch_thread's repairs of threading state, in child interpreters whose
``greenkit.thread``/``greenkit.threading`` are stand-ins: their ``get_ident``
returns a new identity for the calling native thread, as a greenlet
identity would, so only the repairs are under test."""

from __future__ import annotations

from pathlib import Path

from greenkit_testing import run_python

PRELUDE = """
import sys, types, _thread
native_get_ident = _thread.get_ident
def get_ident():
    return native_get_ident() + 1     # "the main greenlet" of each native thread
for name, target in (("thread", "_thread"), ("threading", "threading")):
    mirror = types.ModuleType("greenkit." + name)
    mirror.__target__ = target
    mirror.__implements__ = ["get_ident"]
    mirror.get_ident = get_ident
    sys.modules[mirror.__name__] = mirror
"""


def run_child(code: str) -> list[str]:
    return run_python(code, prelude=PRELUDE).stdout.splitlines()


def test_main_thread_moves_to_the_main_greenlet() -> None:
    out = run_child("""
        import threading, warnings
        main = threading.main_thread()
        native = main.ident
        held = threading._PyRLock()
        held.acquire()
        from greenkit import monkey
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            monkey.patch_thread()
        print(caught == [])
        print(threading.current_thread() is main, main.ident == native + 1)
        print(native in threading._active, threading._active[native + 1] is main)
        held.release()                  # owned by "the main greenlet" now
        print(held._owner, held._count)
        print(threading.Event.__module__, monkey.is_object_patched('threading', 'Event'))
        import _threading_local
        print(_threading_local.local.__module__)
        print(monkey.get_original('_thread', 'get_ident') is native_get_ident)
    """)
    assert out == [
        "True",
        "True True",
        "False True",
        "None 0",
        "greenkit.event True",
        "greenkit.local",
        "True",
    ]


def test_options_leave_parts_alone() -> None:
    out = run_child("""
        import threading, _threading_local
        from greenkit import monkey
        monkey.patch_thread(threading=False, _threading_local=False, Event=False)
        print(threading.Event.__module__, _threading_local.local.__module__)
        print(monkey.is_module_patched('_thread'), monkey.is_module_patched('threading'))
    """)
    assert out == ["threading _threading_local", "True False"]


def test_logging_locks_are_renewed_unless_held() -> None:
    out = run_child("""
        import logging, threading
        logging.basicConfig()
        free = logging.StreamHandler()
        busy = logging.StreamHandler()
        logging.getLogger('x').addHandler(free)
        old_module, old_free, old_busy = logging._lock, free.lock, busy.lock
        busy.acquire()
        from greenkit import monkey
        monkey.patch_thread()
        busy.release()
        print(logging._lock is not old_module, free.lock is not old_free,
              busy.lock is old_busy)
        root = logging.getLogger().handlers[0]
        print(root.lock is not None)
        logging.getLogger('x').warning('still works')
    """)
    assert out == ["True True True", "True"]


def test_patching_in_another_thread_warns() -> None:
    out = run_child("""
        import threading
        from greenkit import monkey
        messages = []
        monkey._process_warnings = messages.extend
        main = threading.main_thread()
        def target():
            monkey.patch_all(os=False, socket=False, select=False, ssl=False,
                             subprocess=False, signal=False)
        worker = threading.Thread(target=target)
        worker.start()
        worker.join()
        for message in messages:
            print(message)
        print(main.ident == native_get_ident(), threading._active[native_get_ident()] is main)
    """)
    assert out == [
        "Monkey-patching outside the main native thread. Some APIs will not be available. "
        "Expect a KeyError to be printed at shutdown.",
        "Monkey-patching not on the main thread; threading.main_thread().join() will hang "
        "from a greenlet",
        "True True",
    ]


def test_patching_during_an_import(tmp_path: Path) -> None:
    # importlib holds the module lock of the module being imported, owned by
    # the native identity; releasing it after patching must still work.
    (tmp_path / "patcher.py").write_text("from greenkit import monkey\nmonkey.patch_thread()\n")
    (tmp_path / "outer.py").write_text("import patcher\nVALUE = 42\n")
    out = run_child(f"""
        sys.path.insert(0, {str(tmp_path)!r})
        import outer
        print(outer.VALUE)
        import importlib._bootstrap as bootstrap
        print(all(ref() is None or ref().owner is None
                  for ref in bootstrap._module_locks.values()))
    """)
    assert out == ["42", "True"]


def test_futures_lock_is_renewed() -> None:
    out = run_child("""
        import concurrent.futures.thread as cft
        old = cft._global_shutdown_lock
        sys.modules['greenkit.thread'].allocate_lock = _thread.allocate_lock
        sys.modules['greenkit.thread'].__implements__.append('allocate_lock')
        from greenkit import monkey
        monkey.patch_thread()
        print(cft._global_shutdown_lock is not old,
              monkey.get_original('concurrent.futures.thread', '_global_shutdown_lock') is old)
    """)
    assert out == ["True True"]
