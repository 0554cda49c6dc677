"""Subprocess transports on libev child watchers (greenkit.asyncio._subprocess)."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import sys
import threading
import warnings
from asyncio import base_subprocess, unix_events

import pytest

import greenkit.asyncio as gasyncio
from greenkit.asyncio._subprocess import HubSubprocessTransport
from greenkit.hub import get_hub

SLEEPER = (sys.executable, "-c", "import time; time.sleep(60)")


def test_the_asyncio_internals_it_relies_on_have_the_expected_shape() -> None:
    """The private stdlib pieces _subprocess overrides or calls, on this Python."""
    hook = unix_events._UnixSelectorEventLoop._make_subprocess_transport
    assert inspect.iscoroutinefunction(hook)
    assert list(inspect.signature(hook).parameters) == [
        "self",
        "protocol",
        "args",
        "shell",
        "stdin",
        "stdout",
        "stderr",
        "bufsize",
        "extra",
        "kwargs",
    ]
    ours = gasyncio.GreenkitEventLoop._make_subprocess_transport
    assert list(inspect.signature(ours).parameters) == list(inspect.signature(hook).parameters)
    assert issubclass(unix_events._UnixSubprocessTransport, base_subprocess.BaseSubprocessTransport)
    for name in ("_process_exited", "_wait", "_start", "close", "send_signal", "kill", "terminate"):
        assert callable(getattr(unix_events._UnixSubprocessTransport, name))
    params = inspect.signature(base_subprocess.BaseSubprocessTransport.__init__).parameters
    assert {"waiter", "extra"} <= set(params)
    if sys.version_info < (3, 14):  # where policy_child_watcher() looks
        assert hasattr(asyncio.get_event_loop_policy(), "_watcher")


def _waitpid_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("waitpid")]


def test_children_are_reaped_by_child_watchers_without_threads(runner: asyncio.Runner) -> None:
    async def main() -> list[int | None]:
        procs = [
            await asyncio.create_subprocess_exec(sys.executable, "-c", f"import sys; sys.exit({i})")
            for i in range(8)
        ]
        assert all(
            isinstance(p._transport, HubSubprocessTransport)  # type: ignore[attr-defined]
            for p in procs
        )
        assert _waitpid_threads() == []
        return [await p.wait() for p in procs]

    assert runner.run(main()) == list(range(8))
    assert _waitpid_threads() == []


def test_exit_status_of_a_signal(runner: asyncio.Runner) -> None:
    async def main() -> int:
        proc = await asyncio.create_subprocess_exec(*SLEEPER)
        proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(proc.wait(), 30)

    assert runner.run(main()) == -signal.SIGTERM


def test_a_child_reaped_by_popen_before_libev_is_reported(runner: asyncio.Runner) -> None:
    """kill()/close() call Popen.poll(), which reaps an exited child libev has not
    seen yet: the exit still reaches the transport."""

    async def main(close: bool) -> int:
        proc = await asyncio.create_subprocess_exec(*SLEEPER)
        popen = proc._transport.get_extra_info("subprocess")  # type: ignore[attr-defined]
        os.kill(proc.pid, signal.SIGKILL)
        popen.wait()  # reaped here, without letting the hub run
        if close:
            proc._transport.close()  # type: ignore[attr-defined]
        else:
            proc.kill()
        return await asyncio.wait_for(proc.wait(), 30)

    assert runner.run(main(close=False)) == -signal.SIGKILL
    assert runner.run(main(close=True)) == -signal.SIGKILL


def test_pipes_and_exit(runner: asyncio.Runner) -> None:
    async def main() -> tuple[bytes, bytes, int]:
        proc = await asyncio.create_subprocess_shell(
            "read x; echo out $x; echo err >&2; exit 3",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate(b"in\n")
        return out, err, proc.returncode or 0

    assert runner.run(main()) == (b"out in\n", b"err\n", 3)


def test_a_stopped_loop_with_a_running_child_keeps_nothing_alive(runner: asyncio.Runner) -> None:
    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(*SLEEPER)

    proc = runner.run(start())
    try:
        # Only an unreferenced child watcher is left: the hub's loop runs out.
        assert get_hub().join(timeout=10) is True
    finally:
        proc.kill()
    assert runner.run(asyncio.wait_for(proc.wait(), 30)) == -signal.SIGKILL


def test_a_loop_of_another_thread_uses_asyncio_child_watching() -> None:
    """Only the default libev loop (main thread) can watch children."""
    results: list[object] = []

    def run() -> None:
        async def main() -> tuple[bool, int]:
            proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "raise SystemExit(5)")
            hub_path = isinstance(proc._transport, HubSubprocessTransport)  # type: ignore[attr-defined]
            return hub_path, await proc.wait()

        try:
            with asyncio.Runner(loop_factory=gasyncio.new_event_loop) as r:
                results.append(r.run(main()))
        except BaseException as exc:  # reported by the assertion below
            results.append(exc)
        finally:
            get_hub().destroy()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert results == [(False, 5)]


@pytest.mark.parametrize("what", ["exec", "shell"])
def test_a_missing_program_raises(runner: asyncio.Runner, what: str) -> None:
    async def main() -> None:
        if what == "exec":
            await asyncio.create_subprocess_exec("/nonexistent/program")
        else:
            proc = await asyncio.create_subprocess_shell("/nonexistent/program 2>/dev/null")
            raise SystemExit(await proc.wait())

    with pytest.raises((FileNotFoundError, SystemExit)) as info:
        runner.run(main())
    if what == "shell":
        assert info.value.args == (127,)


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="child watchers are gone in 3.14")
@pytest.mark.parametrize(
    "name, libev", [("ThreadedChildWatcher", True), ("SafeChildWatcher", False)]
)
def test_a_child_watcher_set_on_the_policy(runner: asyncio.Runner, name: str, libev: bool) -> None:
    """One that waits only for its own pids leaves children to libev; any
    other (it may reap every child, or take SIGCHLD) is used as asyncio does."""
    policy = asyncio.get_event_loop_policy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        watcher = getattr(unix_events, name)()
        watcher.attach_loop(runner.get_loop())
        policy.set_child_watcher(watcher)

    async def main() -> tuple[bool, int]:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "raise SystemExit(6)")
        on_libev = isinstance(proc._transport, HubSubprocessTransport)  # type: ignore[attr-defined]
        return on_libev, await asyncio.wait_for(proc.wait(), 30)

    try:
        assert runner.run(main()) == (libev, 6)
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            policy.set_child_watcher(None)
