"""What a loop calls besides user watchers: the callbacks queued with
``loop.run_callback`` (the public ``callback`` objects) and the loop's own
private hook watchers (prepare, idle, async, fork, the signal check)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._corecffi import ffi, lib

if TYPE_CHECKING:
    from .corecffi import loop as Loop

__all__ = ["callback", "ClosedCallbackQueue"]


class callback:
    """A function queued with ``loop.run_callback``; ``stop()`` cancels it."""

    __slots__ = ("callback", "args")

    def __init__(self, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.callback: Callable[..., Any] | None = callback
        self.args: tuple[Any, ...] | None = args

    def stop(self) -> None:
        """Cancel the call if it has not run yet."""
        self.callback = None
        self.args = None

    close = stop

    @property
    def pending(self) -> bool:
        """True until the function has run or was cancelled."""
        return self.callback is not None

    def __bool__(self) -> bool:
        return self.callback is not None

    def __repr__(self) -> str:
        state = "pending" if self.callback is not None else "done"
        return f"<{type(self).__module__}.callback at {id(self):#x} {state} {self.callback!r}>"


class ClosedCallbackQueue(deque[Any]):
    """The callback queue of a destroyed loop: always empty, and queueing a
    callback raises the ValueError every use of a destroyed loop raises.

    ``run_callback`` (the hub's busiest entry point) so needs no check of
    its own that the loop is alive.
    """

    __slots__ = ("_error",)

    def __init__(self, error: str) -> None:
        super().__init__()
        self._error = error

    def append(self, item: Any) -> None:
        raise ValueError(self._error)


class _LoopHook:
    """A private watcher the loop uses for its own machinery (never in keepalive)."""

    __slots__ = ("c", "handle", "_fire", "loop")
    _fed = False

    def __init__(
        self,
        owner: Loop,
        c_type: str,
        init: Callable[..., None],
        fire: Callable[[int], None],
        *init_args: Any,
    ) -> None:
        self.loop = owner
        self.c = ffi.new(c_type)
        self.handle = ffi.new_handle(self)
        self._fire = fire
        init(self.c, self.handle, lib.GK_DEFAULT_PRIORITY, *init_args)
