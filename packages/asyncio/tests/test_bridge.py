"""Calling across: await_, spawn_for_awaitable, wait_greenlet, run_in_greenlet."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import traceback

import pytest

import greenkit.asyncio as gasyncio
from greenkit.greenlet import Greenlet, GreenletExit
from greenkit.hub import get_hub, sleep
from greenkit.timeout import Timeout

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


async def _double(x: int) -> int:
    await asyncio.sleep(0.02)
    return 2 * x


async def _fail() -> None:
    await asyncio.sleep(0)
    raise KeyError("deep inside")


async def _forever(cancelled: list[bool]) -> None:
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        cancelled.append(True)
        raise


def test_await_from_a_greenlet_without_a_running_loop() -> None:
    assert gasyncio.await_(_double(21)) == 42
    assert gasyncio.await_(_double(1)) == 2  # the background loop is reused


def test_spawn_for_awaitable_runs_concurrently() -> None:
    glets = [gasyncio.spawn_for_awaitable(_double(i)) for i in range(10)]
    assert [g.get(timeout=10) for g in glets] == [2 * i for i in range(10)]


def test_await_keeps_the_exception_and_its_traceback() -> None:
    with pytest.raises(KeyError, match="deep inside") as info:
        gasyncio.await_(_fail())
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "_fail" in frames


def test_await_from_greenlets_on_a_running_loop(runner: asyncio.Runner) -> None:
    async def main() -> list[object]:
        loop = asyncio.get_running_loop()

        async def where() -> asyncio.AbstractEventLoop:
            return asyncio.get_running_loop()

        glet = Greenlet.spawn(gasyncio.await_, where())
        return [await gasyncio.wait_greenlet(glet), loop]

    found, loop = runner.run(main())
    assert found is loop


def test_await_inside_a_coroutine_is_refused(runner: asyncio.Runner) -> None:
    async def main() -> None:
        coro = _double(1)
        try:
            gasyncio.await_(coro)
        finally:
            coro.close()

    with pytest.raises(RuntimeError, match="use 'await'"):
        runner.run(main())


def test_killing_the_greenlet_cancels_its_task() -> None:
    cancelled: list[bool] = []
    glet = gasyncio.spawn_for_awaitable(_forever(cancelled))
    sleep(0.05)
    glet.kill(timeout=10)
    sleep(0.05)
    assert glet.dead
    assert cancelled == [True]


def test_timeout_in_the_greenlet_cancels_the_task() -> None:
    cancelled: list[bool] = []
    with pytest.raises(Timeout):
        with Timeout(0.05):
            gasyncio.await_(_forever(cancelled))
    sleep(0.05)
    assert cancelled == [True]


def test_cancelling_the_task_kills_its_greenlet(runner: asyncio.Runner) -> None:
    exits: list[str] = []

    def blocking() -> None:
        try:
            sleep(60)
        except GreenletExit:
            exits.append("GreenletExit")
            raise

    async def main() -> None:
        task = asyncio.ensure_future(gasyncio.run_in_greenlet(blocking))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    runner.run(main())
    assert exits == ["GreenletExit"]


def test_run_in_greenlet_result_and_exception(runner: asyncio.Runner) -> None:
    def blocking_sum(a: int, b: int) -> int:
        sleep(0.02)
        return a + b

    def blocking_fail() -> None:
        sleep(0)
        raise LookupError("from a greenlet")

    async def main() -> int:
        with pytest.raises(LookupError, match="from a greenlet") as info:
            await gasyncio.run_in_greenlet(blocking_fail)
        frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
        assert "blocking_fail" in frames
        return await gasyncio.run_in_greenlet(blocking_sum, 40, b=2)

    assert runner.run(main()) == 42


def test_wait_greenlet(runner: asyncio.Runner) -> None:
    async def main() -> object:
        glet = Greenlet.spawn(lambda: (sleep(0.02), "done")[1])
        return await gasyncio.wait_greenlet(glet)

    assert runner.run(main()) == "done"


def test_context_variables_follow_the_call(runner: asyncio.Runner) -> None:
    async def read_var() -> str:
        return VAR.get()

    def in_greenlet() -> str:
        VAR.set("greenlet")
        return gasyncio.await_(read_var())

    assert Greenlet.spawn(in_greenlet).get(timeout=10) == "greenlet"

    async def main() -> str:
        VAR.set("task")
        return await gasyncio.run_in_greenlet(VAR.get)

    assert runner.run(main()) == "task"


def test_wait_greenlet_needs_a_greenkit_loop() -> None:
    async def main() -> None:
        await gasyncio.wait_greenlet(Greenlet())

    with pytest.raises(RuntimeError, match="greenkit event loop"):
        asyncio.run(main())


@pytest.mark.fd_leak_check
def test_the_background_loop_holds_no_descriptor() -> None:
    """The hub's background loop (await_ without a running loop) lives as long as
    its hub and holds no file descriptor: a thread's hub destroyed after await_
    calls leaves none open."""
    results: list[object] = []

    def run() -> None:
        try:
            results.append(gasyncio.await_(_double(4)))
            results.append(gasyncio.get_loop()._ssock)  # type: ignore[attr-defined]
        finally:
            get_hub().destroy()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert results == [8, None]
