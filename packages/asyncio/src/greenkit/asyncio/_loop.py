"""The asyncio event loop that runs on the hub: :class:`GreenkitEventLoop`.

It is asyncio's own selector event loop (transports, protocols, ``sock_*``,
TLS, UDP, Unix sockets, subprocesses, signals, async generators, the
exception handler and debug mode all come from the standard library) given
a :class:`~greenkit.asyncio._selector.HubSelector`, so that each iteration
waits in the hub's libev loop instead of a blocking ``select()``.  The loop
runs in whichever greenlet calls ``run_forever()``/``run_until_complete()``
(``asyncio.run`` in the main greenlet, say); while it waits, the hub runs
every other greenlet.

What differs from the stdlib loop: ``call_soon_threadsafe`` wakes the
loop through the hub's async watcher (the self-pipe, asyncio's private
``_make_self_pipe``/``_close_self_pipe``, may be left for signal
handlers to make: the hub's background loop does so); children are
reaped by libev child watchers (see ``_subprocess``); the default
executor is the hub's thread pool (native threads, even when ``threading``
is monkey-patched); ``getaddrinfo``/``getnameinfo`` go through the hub's
resolver.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, Unpack

from greenkit.hub import get_hub

from ._outcome import capture
from ._selector import HubSelector
from ._subprocess import make_subprocess_transport, policy_child_watcher

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = ["EventLoopPolicy", "GreenkitEventLoop", "new_event_loop", "running_loops"]

_T = TypeVar("_T")
#: The base class, for the private methods typeshed does not declare.
_SelectorEventLoop: Any = asyncio.SelectorEventLoop
_Ts = TypeVarTuple("_Ts")

#: For each hub, the greenkit loops running on it (innermost last).
_RUNNING: weakref.WeakKeyDictionary[Hub, list[GreenkitEventLoop]] = weakref.WeakKeyDictionary()


def running_loops(hub: Hub | None = None) -> list[GreenkitEventLoop]:
    """The greenkit event loops running on ``hub`` (default: this thread's), oldest first."""
    return list(_RUNNING.get(get_hub() if hub is None else hub, ()))


class GreenkitEventLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop whose waiting and scheduling is the hub's libev loop."""

    def __init__(self, hub: Hub | None = None) -> None:
        self._hub = get_hub() if hub is None else hub
        self._hub_selector = HubSelector(self._hub)
        super().__init__(self._hub_selector)

    @property
    def hub(self) -> Hub:
        """The hub this loop runs on."""
        return self._hub

    def _write_to_self(self) -> None:
        # call_soon_threadsafe's wake-up: the hub's async watcher, not the self-pipe.
        self._hub_selector.wake_threadsafe()

    # -- the self-pipe ------------------------------------------------------------------

    #: Make asyncio's self-pipe only for the first add_signal_handler().
    _self_pipe_on_demand = False

    def _make_self_pipe(self) -> None:
        # asyncio's self-pipe wakes the loop (call_soon_threadsafe: the hub's
        # async watcher here) and is the signal wake-up fd.  A loop whose
        # class says so makes it only for signal handlers, and so holds no
        # descriptor before (the hub's background loop, idle most of its life).
        if not self._self_pipe_on_demand:
            _SelectorEventLoop._make_self_pipe(self)
            return
        me: Any = self
        me._ssock = me._csock = None

    def _close_self_pipe(self) -> None:
        me: Any = self
        if me._ssock is not None:
            _SelectorEventLoop._close_self_pipe(self)

    def add_signal_handler(
        self, sig: int, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        """asyncio's ``add_signal_handler`` (the self-pipe is made on first use)."""
        me: Any = self
        if me._ssock is None and not self.is_closed():
            _SelectorEventLoop._make_self_pipe(self)
        super().add_signal_handler(sig, callback, *args)

    # -- running -----------------------------------------------------------------------

    def run_forever(self) -> None:
        """Run until ``stop()``, waiting in the hub (other greenlets run meanwhile)."""
        running = _RUNNING.setdefault(self._hub, [])
        self._hub_selector.activate()
        running.append(self)
        try:
            super().run_forever()
        finally:
            running.remove(self)
            if not self.is_closed():
                self._hub_selector.deactivate()

    # -- subprocesses: reaped by libev child watchers ----------------------------------

    async def _make_subprocess_transport(
        self,
        protocol: Any,
        args: Any,
        shell: bool,
        stdin: Any,
        stdout: Any,
        stderr: Any,
        bufsize: int,
        extra: Any = None,
        **kwargs: Any,
    ) -> Any:
        # What subprocess_exec()/subprocess_shell() call (see _subprocess).
        # Only the default libev loop reaps children (it owns SIGCHLD); a hub
        # of another thread leaves them to asyncio's own child watching, and
        # so does a child watcher set on asyncio's policy that libev cannot
        # live with.
        hub_loop = self._hub.loop
        assert hub_loop is not None, "a subprocess on a destroyed hub"
        if not hub_loop.default or policy_child_watcher() is not None:
            return await _SelectorEventLoop._make_subprocess_transport(
                self, protocol, args, shell, stdin, stdout, stderr, bufsize, extra=extra, **kwargs
            )
        return await make_subprocess_transport(
            self, hub_loop, protocol, args, shell, stdin, stdout, stderr, bufsize, extra, kwargs
        )

    # -- the hub's thread pool and resolver ------------------------------------------

    def run_in_executor(
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[[Unpack[_Ts]], _T],
        *args: *_Ts,
    ) -> asyncio.Future[_T]:
        """Run ``func(*args)`` in ``executor``; by default in the hub's thread pool."""
        if executor is not None or getattr(self, "_default_executor", None) is not None:
            return super().run_in_executor(executor, func, *args)
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        if self.get_debug() and (asyncio.iscoroutine(func) or inspect.iscoroutinefunction(func)):
            raise TypeError("coroutines cannot be used with run_in_executor()")
        future: asyncio.Future[_T] = self.create_future()
        result = self._hub.threadpool.spawn(capture, func, args, {})
        result.rawlink(functools.partial(self._settle_from_hub, future))
        return future

    def _settle_from_hub(self, future: asyncio.Future[Any], result: Any) -> None:
        """(In the hub.) Copy a greenkit AsyncResult into an asyncio future."""
        self.call_soon_threadsafe(_copy_result, future, result)

    async def getaddrinfo(
        self,
        host: Any,
        port: Any,
        *,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> Any:
        """``getaddrinfo`` through the hub's resolver, in a greenlet."""
        return await self._in_greenlet(
            self._hub.resolver.getaddrinfo, host, port, family, type, proto, flags
        )

    async def getnameinfo(self, sockaddr: Any, flags: int = 0) -> Any:
        """``getnameinfo`` through the hub's resolver, in a greenlet."""
        return await self._in_greenlet(self._hub.resolver.getnameinfo, sockaddr, flags)

    async def _in_greenlet(self, func: Callable[..., Any], *args: Any) -> Any:
        from ._bridge import run_in_greenlet

        return await run_in_greenlet(func, *args)


def _copy_result(future: asyncio.Future[Any], result: Any) -> None:
    """Settle ``future`` from the AsyncResult of a ``capture`` call in the pool."""
    if future.cancelled():
        return
    ok, value = result.value if result.successful() else (False, result.exception)
    if ok:
        future.set_result(value)
    elif isinstance(value, concurrent.futures.CancelledError):
        future.cancel()
    else:
        future.set_exception(value)


def new_event_loop() -> GreenkitEventLoop:
    """A new greenkit event loop on this thread's hub (for ``loop_factory=``)."""
    return GreenkitEventLoop()


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """An event loop policy whose loops are :class:`GreenkitEventLoop` instances."""

    def new_event_loop(self) -> GreenkitEventLoop:
        return GreenkitEventLoop()
