"""What every queue and ``Channel`` share beyond parking: text and iteration."""

from __future__ import annotations

from collections.abc import Iterator
from types import GenericAlias
from typing import Generic, TypeVar

__all__ = ["QueueFace"]

_T = TypeVar("_T")


class QueueFace(Generic[_T]):
    """``repr()``/``str()`` built on ``_format()``, and iteration that calls
    ``get()`` until it returns the :class:`StopIteration` class itself."""

    __slots__ = ()

    # ``Queue[int]`` is a ``types.GenericAlias``, as the standard library's
    # queues give.
    __class_getitem__ = classmethod(GenericAlias)  # type: ignore[var-annotated]

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        raise NotImplementedError

    def _format(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x}{self._format()}>"

    def __str__(self) -> str:
        return f"<{type(self).__name__}{self._format()}>"

    def __iter__(self) -> Iterator[_T]:
        return self

    def __next__(self) -> _T:
        item = self.get()
        if item is StopIteration:
            raise StopIteration
        return item

    next = __next__
