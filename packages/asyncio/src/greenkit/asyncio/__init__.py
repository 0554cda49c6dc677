"""asyncio and greenlets on one loop.

:class:`GreenkitEventLoop` is an asyncio event loop that waits in the hub's
libev loop, so coroutines and greenlets of one thread run side by side::

    asyncio.run(main(), loop_factory=greenkit.asyncio.new_event_loop)   # 3.12+
    with asyncio.Runner(loop_factory=greenkit.asyncio.new_event_loop) as runner: ...
    asyncio.set_event_loop_policy(greenkit.asyncio.EventLoopPolicy())

Calling across: :func:`await_` and :func:`spawn_for_awaitable` from
greenlets, :func:`wait_greenlet` and :func:`run_in_greenlet` from coroutines.
"""

from __future__ import annotations

from ._bridge import await_, get_loop, run_in_greenlet, spawn_for_awaitable, wait_greenlet
from ._loop import EventLoopPolicy, GreenkitEventLoop, new_event_loop, running_loops
from ._selector import HubSelector

__all__ = [
    "EventLoopPolicy",
    "GreenkitEventLoop",
    "HubSelector",
    "await_",
    "get_loop",
    "new_event_loop",
    "run_in_greenlet",
    "running_loops",
    "spawn_for_awaitable",
    "wait_greenlet",
]

for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
