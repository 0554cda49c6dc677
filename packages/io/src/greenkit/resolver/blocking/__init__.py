"""A resolver that calls the standard library's lookup functions directly.

Every lookup blocks the whole thread (all its greenlets) while it runs:
useful for debugging, or where threads are not wanted.  Select it with
``GEVENT_RESOLVER=block`` (or ``greenkit.config.resolver = "block"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from greenkit.resolver import AbstractResolver

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = ["Resolver"]

_T = TypeVar("_T")


class Resolver(AbstractResolver):
    """Blocking resolver; ``hub`` is accepted for the common constructor and ignored."""

    def __init__(self, hub: Hub | None = None) -> None:
        self.hub = hub

    def _run(self, function: Callable[..., _T], *args: Any) -> _T:
        return function(*args)

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__} at {id(self):#x}>"
