"""The default resolver: the standard library's lookups, run in the hub's threads.

Each lookup that needs the network (or the system's name service) is
handed to ``hub.threadpool`` (greenkit-threads'
``greenkit.threadpool.ThreadPool``); only the calling greenlet waits for it.
Results and errors are exactly the standard library's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from greenkit.hub import get_hub
from greenkit.resolver import AbstractResolver

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = ["Resolver"]

_T = TypeVar("_T")


class Resolver(AbstractResolver):
    """Resolve in ``hub.threadpool`` (``hub`` defaults to the current thread's hub).

    ``pool`` is the thread pool used; it is the hub's, so ``close()`` leaves it
    running.
    """

    def __init__(self, hub: Hub | None = None) -> None:
        if hub is None:
            hub = get_hub()
        self.hub = hub
        self.pool = hub.threadpool

    def _run(self, function: Callable[..., _T], *args: Any) -> _T:
        result: _T = self.pool.apply(function, args)
        return result

    def __repr__(self) -> str:
        return (
            f"<{type(self).__module__}.{type(self).__name__} at {id(self):#x} pool={self.pool!r}>"
        )
