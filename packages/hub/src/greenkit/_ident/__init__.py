"""Small integer idents for live objects (``Greenlet.minimal_ident``, hubs).

Idents are the smallest non-negative integers not in use, and are reused
once their object is garbage collected, so they stay short in logs.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Any
from weakref import ref as wref

__all__ = ["IdentRegistry"]


class IdentRegistry:
    """Hands out the smallest non-negative integer not used by a live object.

    An ident is freed (and reused) when its object is garbage collected.
    """

    __slots__ = ("_refs", "_free", "_next", "__weakref__")

    def __init__(self) -> None:
        self._refs: dict[Any, int] = {}
        self._free: list[int] = []
        self._next = 0

    def get_ident(self, obj: Any) -> int:
        """The ident of ``obj``, allocating one on first request."""
        key = wref(obj)
        ident = self._refs.get(key)
        if ident is not None:
            return ident
        if self._free:
            ident = heappop(self._free)
        else:
            ident = self._next
            self._next += 1
        self._refs[wref(obj, self._release)] = ident
        return ident

    def _release(self, key: Any) -> None:
        ident = self._refs.pop(key, None)
        if ident is not None:
            heappush(self._free, ident)

    def __len__(self) -> int:
        return len(self._refs)
