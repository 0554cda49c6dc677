"""Each patch changes the process for good: every scenario runs in a child
interpreter, which prints what the test checks."""

from __future__ import annotations

from greenkit_testing import run_python


def run_child(code: str) -> list[str]:
    """Run ``code`` in a new interpreter; return its stdout lines (it must succeed)."""
    return run_python(code, flags=["-W", "error"]).stdout.splitlines()


def test_patch_time() -> None:
    out = run_child("""
        import time
        real = time.sleep
        from greenkit import monkey
        import greenkit.time, greenkit.hub
        print(monkey.is_anything_patched())
        monkey.patch_time()
        print(time.sleep is greenkit.time.sleep is greenkit.hub.sleep)
        print(monkey.get_original('time', 'sleep') is real)
        print(monkey.is_module_patched('time'), monkey.is_object_patched('time', 'sleep'))
        print(sorted(monkey.saved), monkey.is_anything_patched())
    """)
    assert out == ["False", "True", "True", "True True", "['time'] True"]


def test_patch_queue() -> None:
    out = run_child("""
        import queue
        real = queue.SimpleQueue
        from greenkit import monkey
        import greenkit.queue as gq
        monkey.patch_queue()
        print(all(getattr(queue, n) is getattr(gq, n) for n in gq.__implements__))
        print(monkey.get_original('queue', 'SimpleQueue') is real)
        print(queue.Empty is gq.Empty)
        # cooperative: a getter greenlet waits while another one puts
        import greenkit.hub
        q = queue.SimpleQueue()
        got = []
        greenkit.hub.spawn_raw(lambda: got.append(q.get()))
        greenkit.hub.spawn_raw(q.put, 42)
        greenkit.hub.sleep(0.01)
        print(got)
    """)
    assert out == ["True", "True", "True", "[42]"]
