"""asyncio under monkey.patch_all(): nothing stalls (gevent issue #2213).

Checked: to_thread, run_in_executor (default and own executor), getaddrinfo,
a subprocess, and a greenlet beside the loop, on both loops.

In #2213 an executor job's result reached the waiting coroutine only when an
unrelated timer woke the loop: with threading patched, the worker runs in
the loop's thread, sees the loop as "running" and sets the result without
waking it.  On greenkit's loop, a greenlet never sees another greenlet's
loop as running (the loop is cleared while it waits in the hub), and the
default executor is the hub's pool of native threads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "_patched_script.py")


def _run(which: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, SCRIPT, which], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("which", ["greenkit", "default"])
def test_patch_all_asyncio_run_does_not_stall(which: str) -> None:
    result = _run(which)
    assert result["to_thread"][0] == "4"  # type: ignore[index]
    assert result["run_in_executor"][0] == "16"  # type: ignore[index]
    assert result["own_executor"][0] == "9"  # type: ignore[index]
    assert result["getaddrinfo"][0] is True  # type: ignore[index]
    assert result["subprocess"][0] == repr((b"child\n", None))  # type: ignore[index]
    assert result["greenlet_alongside"] == "ran"
    for name in ("to_thread", "run_in_executor", "own_executor", "getaddrinfo", "subprocess"):
        # Far below the 30 s wait_for that a stalled result would run into.
        assert result[name][1] < 10.0, (name, result)  # type: ignore[index]
    if which == "greenkit":
        assert result["loop"] == "GreenkitEventLoop"
        assert result["greenlet_sees_running_loop"] is False
