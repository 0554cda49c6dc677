"""Exceptions raised by the hub and greenkit's blocking machinery."""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenlet import GreenletExit

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = [
    "LoopExit",
    "BlockingSwitchOutError",
    "InvalidSwitchError",
    "ConcurrentObjectUseError",
    "InvalidThreadUseError",
    "HubDestroyed",
]


class LoopExit(Exception):
    """The hub's loop ran out of work while a greenlet was still waiting.

    Raised into the waiting greenlet: nothing (no other greenlet, timer,
    watcher or server) could ever wake it, so the operation would block
    forever.  Usually a deadlock, or an object used from the wrong thread.
    """

    @property
    def hub(self) -> Hub | None:
        """The hub whose loop exited, when known."""
        return self.args[1] if len(self.args) > 1 else None

    def __str__(self) -> str:
        if len(self.args) < 2:
            return super().__str__()
        parts = [str(self.args[0]), f"\tHub: {self.args[1]!r}"]
        parts.extend(f"\t{line}" for line in self.args[2:] if line)
        return "\n".join(parts)

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.args[0]!r})" if self.args else f"{name}()"


class BlockingSwitchOutError(AssertionError):
    """A blocking greenkit call was made from inside the hub (a loop callback)."""


class InvalidSwitchError(AssertionError):
    """Control came back to a waiting greenlet from somewhere other than its waiter."""


class ConcurrentObjectUseError(AssertionError):
    """Two greenlets blocked on an object that allows only one waiter at a time."""


class InvalidThreadUseError(RuntimeError):
    """An object bound to one native thread's hub was used from another thread."""


class HubDestroyed(GreenletExit):  # type: ignore[misc]
    """Thrown into a hub greenlet by ``Hub.destroy()`` so its stack unwinds."""

    def __init__(self, destroy_loop: bool) -> None:
        super().__init__(destroy_loop)
        self.destroy_loop = destroy_loop
