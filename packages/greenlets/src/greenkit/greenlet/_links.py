"""The link callbacks ``Greenlet.link()`` registers (public as
``greenkit.greenlet.SpawnedLink`` and its two subclasses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from greenlet import GreenletExit
from greenlet import greenlet as RawGreenlet

__all__ = ["FailureSpawnedLink", "SpawnedLink", "SuccessSpawnedLink", "_exception_from"]


class SpawnedLink:
    """A link callback run in a greenlet of its own (what ``link()`` registers).

    Compares equal to the callable it wraps, so ``unlink(callback)`` finds it.
    """

    __slots__ = ("callback",)

    def __init__(self, callback: Callable[[Any], Any]) -> None:
        if not callable(callback):
            raise TypeError(f"Expected callable: {callback!r}")
        self.callback = callback

    def __call__(self, source: Any) -> None:
        RawGreenlet(self.callback).switch(source)

    def __hash__(self) -> int:
        return hash(self.callback)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpawnedLink):
            other = other.callback
        return bool(self.callback == other)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.callback!r}>"


class SuccessSpawnedLink(SpawnedLink):
    """A SpawnedLink that runs only when the source finished successfully."""

    __slots__ = ()

    def __call__(self, source: Any) -> None:
        if source.successful():
            RawGreenlet(self.callback).switch(source)


class FailureSpawnedLink(SpawnedLink):
    """A SpawnedLink that runs only when the source died with an error."""

    __slots__ = ()

    def __call__(self, source: Any) -> None:
        if not source.successful():
            RawGreenlet(self.callback).switch(source)


def _exception_from(args: tuple[Any, ...]) -> BaseException:
    """The exception instance ``greenlet.throw(*args)`` would raise (a
    TypeError for something that is not an exception)."""
    typ = args[0] if args else GreenletExit
    value = args[1] if len(args) > 1 else None
    if isinstance(typ, BaseException):
        return typ
    if isinstance(typ, type) and issubclass(typ, BaseException):
        if isinstance(value, typ):
            return value
        if value is None:
            return typ()
        return typ(*value) if isinstance(value, tuple) else typ(value)
    return TypeError(f"exceptions must be classes, or instances, not {type(typ).__name__}")
