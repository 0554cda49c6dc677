"""Calling across: greenlets awaiting coroutines, coroutines waiting for greenlets.

From a greenlet, :func:`await_` runs an awaitable as a task on the hub's
asyncio loop and blocks only that greenlet; :func:`spawn_for_awaitable`
does it in a new Greenlet.  From a coroutine on a greenkit loop,
:func:`wait_greenlet` and :func:`run_in_greenlet` wait for greenlets
without blocking the loop.

Cancellation crosses both ways: a greenlet killed while in ``await_``
cancels its task; a task cancelled while waiting for a greenlet kills the
greenlet (``GreenletExit``).  The task of ``await_`` runs in a copy of the
calling greenlet's context, and the greenlet of ``run_in_greenlet`` in a
copy of the task's.  Exceptions travel as the same object, traceback kept.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from greenkit.event import AsyncResult
from greenkit.greenlet import Greenlet
from greenkit.hub import get_hub

from ._loop import GreenkitEventLoop, running_loops
from ._outcome import capture, unwrap

__all__ = [
    "BackgroundLoop",
    "await_",
    "get_loop",
    "run_in_greenlet",
    "spawn_for_awaitable",
    "wait_greenlet",
]

_T = TypeVar("_T")


class BackgroundLoop(GreenkitEventLoop):
    """A hub's background loop: no self-pipe (no file descriptor) until a
    coroutine adds a signal handler."""

    _self_pipe_on_demand = True


class _Background:
    """A hub's own greenkit loop, run by a greenlet while ``await_`` calls are pending."""

    def __init__(self) -> None:
        self.loop = BackgroundLoop()
        self.pending = 0
        self.runner: Greenlet | None = None

    def enter(self) -> None:
        self.pending += 1
        if self.runner is None or self.runner.dead:
            self.runner = Greenlet.spawn(self._run)

    def leave(self) -> None:
        self.pending -= 1
        if self.pending == 0:
            self.loop.call_soon_threadsafe(self._stop_if_idle)

    def _stop_if_idle(self) -> None:
        if self.pending == 0:
            self.loop.stop()

    def _run(self) -> None:
        if self.pending:
            self.loop.run_forever()


#: Each hub's background loop (forgotten with the hub).
_BACKGROUND: weakref.WeakKeyDictionary[Any, _Background] = weakref.WeakKeyDictionary()


def get_loop() -> asyncio.AbstractEventLoop:
    """The asyncio loop ``await_`` uses in this thread.

    The innermost greenkit loop running on this thread's hub (one started by
    ``asyncio.run(..., loop_factory=greenkit.asyncio.new_event_loop)``, say);
    if none runs, the hub's background loop, which runs (in a greenlet of
    its own) only while ``await_`` calls are pending.
    """
    running = running_loops()
    if running:
        return running[-1]
    return _background().loop


def _background() -> _Background:
    hub = get_hub()
    background = _BACKGROUND.get(hub)
    if background is None or background.loop.is_closed():
        background = _BACKGROUND[hub] = _Background()
    return background


def await_(awaitable: Awaitable[_T]) -> _T:
    """Run ``awaitable`` on this thread's asyncio loop; block this greenlet until done.

    Returns its result or raises its exception.  Killing the calling
    greenlet (or a Timeout in it) cancels the task.  Cannot be called
    from a coroutine or callback running on the loop: ``await`` there.
    """
    if asyncio._get_running_loop() is not None:
        raise RuntimeError(
            "await_() cannot be called while an event loop runs in this "
            "greenlet; use 'await' instead"
        )
    loop = get_loop()
    background = _BACKGROUND.get(get_hub())
    if background is not None and background.loop is not loop:
        background = None
    result: AsyncResult = AsyncResult()
    tasks: list[asyncio.Future[_T]] = []

    def start() -> None:
        if result.ready():  # the caller gave up before the task could start
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            return
        try:
            task = asyncio.ensure_future(awaitable)
        except BaseException as exc:
            result.set_exception(exc)
            return
        tasks.append(task)
        task.add_done_callback(finished)

    def finished(task: asyncio.Future[_T]) -> None:
        if task.cancelled():
            try:
                task.result()
            except BaseException as exc:
                result.set_exception(exc)
        elif (error := task.exception()) is not None:
            result.set_exception(error)
        else:
            result.set(task.result())

    if background is not None:
        background.enter()
    try:
        loop.call_soon_threadsafe(start, context=contextvars.copy_context())
        try:
            value: _T = result.get()
        except BaseException as exc:
            if not tasks:
                result.set_exception(exc)
            elif not tasks[0].done():
                # Cancel the task and let it unwind before the loop may stop.
                loop.call_soon_threadsafe(tasks[0].cancel)
                result.wait()
            raise
        return value
    finally:
        if background is not None:
            background.leave()


def spawn_for_awaitable(awaitable: Awaitable[_T]) -> Greenlet:
    """A started Greenlet running ``await_(awaitable)``; its value is the result."""
    return Greenlet.spawn(await_, awaitable)


def _greenkit_loop() -> GreenkitEventLoop:
    loop = asyncio.get_running_loop()
    if not isinstance(loop, GreenkitEventLoop):
        raise RuntimeError(f"greenlets can only be awaited on a greenkit event loop, not {loop!r}")
    return loop


async def wait_greenlet(greenlet: Any) -> Any:
    """Wait for ``greenlet`` to finish without blocking the loop; its value or exception.

    Cancelling the waiting task kills the greenlet (``GreenletExit``) and
    waits for it to die before the cancellation propagates.
    """
    loop = _greenkit_loop()
    future: asyncio.Future[None] = loop.create_future()

    def done(_greenlet: Any) -> None:
        loop.call_soon_threadsafe(_set_none, future)

    greenlet.rawlink(done)
    try:
        await future
    except asyncio.CancelledError:
        greenlet.unlink(done)
        if not greenlet.dead:
            greenlet.kill(block=False)
            await _wait_dead(loop, greenlet)
        raise
    if greenlet.successful():
        return greenlet.value
    raise greenlet.exception


async def _wait_dead(loop: GreenkitEventLoop, greenlet: Any) -> None:
    future: asyncio.Future[None] = loop.create_future()
    greenlet.rawlink(lambda _: loop.call_soon_threadsafe(_set_none, future))
    await asyncio.shield(future)


def _set_none(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def run_in_greenlet(func: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Run blocking-style greenkit code ``func(*args, **kwargs)`` in a new greenlet.

    The greenlet runs in a copy of the task's context; cancelling the task
    kills it.
    """
    _greenkit_loop()
    greenlet = Greenlet(capture, func, args, kwargs)
    greenlet.gr_context = contextvars.copy_context()
    greenlet.start()
    result: _T = unwrap(await wait_greenlet(greenlet))
    return result
