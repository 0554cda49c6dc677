"""Waiter: a one-shot hand-off of a value or exception from the hub to a greenlet.

``get()`` parks the calling greenlet in the hub; ``switch(value)`` or
``throw(*exc)``, called from the hub (a loop callback), resumes it.  If the
hub side comes first the result is stored and ``get()`` returns at once.
"""

from __future__ import annotations

import sys
from collections import deque
from typing import TYPE_CHECKING, Any

from greenlet import getcurrent
from greenlet import greenlet as _RawGreenlet

from greenkit._hub_local import get_hub
from greenkit.exceptions import ConcurrentObjectUseError

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = ["Waiter", "MultipleWaiter"]

_NONE: Any = object()
_greenlet_switch = _RawGreenlet.switch


def _raise(throw_args: tuple[Any, ...]) -> None:
    """Raise an exception given as greenlet.throw() arguments."""
    exc_type = throw_args[0]
    value = throw_args[1] if len(throw_args) > 1 else None
    tb = throw_args[2] if len(throw_args) > 2 else None
    if value is None:
        value = exc_type() if isinstance(exc_type, type) else exc_type
    elif not isinstance(value, BaseException):
        value = exc_type(*value) if isinstance(value, tuple) else exc_type(value)
    raise value.with_traceback(tb) if tb is not None else value


class Waiter:
    """A low-level hand-off between the hub and one waiting greenlet.

    ``switch()`` and ``throw()`` may only be called from the hub greenlet;
    ``get()`` from any other greenlet.  Prefer Event, AsyncResult or Queue:
    a Waiter used wrongly can leave a greenlet unscheduled forever.
    """

    __slots__ = ("hub", "greenlet", "value", "_exception")

    def __init__(self, hub: Hub | None = None) -> None:
        self.hub: Hub = get_hub() if hub is None else hub
        self.greenlet: Any = None
        self.value: Any = None
        self._exception: Any = _NONE

    def clear(self) -> None:
        """Forget the stored value or exception and the waiting greenlet."""
        self.greenlet = None
        self.value = None
        self._exception = _NONE

    def __str__(self) -> str:
        if self._exception is _NONE:
            return f"<{type(self).__name__} greenlet={self.greenlet}>"
        if self._exception is None:
            return f"<{type(self).__name__} greenlet={self.greenlet} value={self.value!r}>"
        return f"<{type(self).__name__} greenlet={self.greenlet} exc_info={self.exc_info}>"

    def ready(self) -> bool:
        """True if a value or an exception is stored."""
        return self._exception is not _NONE

    def successful(self) -> bool:
        """True if a value (not an exception) is stored."""
        return self._exception is None

    @property
    def exc_info(self) -> Any:
        """The ``throw()`` arguments if ``throw()`` was called, else None."""
        exception = self._exception
        return None if exception is _NONE else exception

    def switch(self, value: Any) -> None:
        """Resume the waiting greenlet with ``value``, or store it (hub only)."""
        greenlet = self.greenlet
        if greenlet is None:
            self.value = value
            self._exception = None
            return
        hub = self.hub
        if getcurrent() is not hub:
            raise AssertionError("Can only use Waiter.switch method from the Hub greenlet")
        switch = greenlet.switch
        try:
            switch(value)
        except:  # noqa: E722 - everything goes to the hub's error handler
            hub.handle_error(switch, *sys.exc_info())

    def switch_args(self, *args: Any) -> None:
        """``switch(args)``: for callbacks that pass several arguments."""
        self.switch(args)

    def throw(self, *throw_args: Any) -> None:
        """Raise ``throw_args`` in the waiting greenlet, or store them (hub only)."""
        greenlet = self.greenlet
        if greenlet is None:
            self._exception = throw_args
            return
        hub = self.hub
        if getcurrent() is not hub:
            raise AssertionError("Can only use Waiter.switch method from the Hub greenlet")
        throw = greenlet.throw
        try:
            throw(*throw_args)
        except:  # noqa: E722 - everything goes to the hub's error handler
            hub.handle_error(throw, *sys.exc_info())

    def get(self) -> Any:
        """Return the stored value (raise the stored exception), else wait for one."""
        exception = self._exception
        if exception is not _NONE:
            if exception is None:
                return self.value
            _raise(exception)
        if self.greenlet is not None:
            raise ConcurrentObjectUseError(f"This Waiter is already used by {self.greenlet!r}")
        self.greenlet = current = getcurrent()
        try:
            # self.hub.switch(), inlined: every queue wait parks here.
            switch_out = getattr(current, "switch_out", None)
            if switch_out is not None:
                switch_out()
            return _greenlet_switch(self.hub)
        finally:
            self.greenlet = None

    def __call__(self, source: Any) -> None:
        """Link target: deliver a finished greenlet's value or exception."""
        if source.exception is None:
            self.switch(source.value)
        else:
            self.throw(source.exception)


class MultipleWaiter(Waiter):
    """A Waiter that queues every ``switch()`` value; ``get()`` returns them in order."""

    __slots__ = ("_values",)

    def __init__(self, hub: Hub | None = None) -> None:
        super().__init__(hub)
        # (A deque: values may pile up before the waiter runs, e.g. iwait over
        # many objects that are all ready; list.pop(0) would be O(n) each.)
        self._values: deque[Any] = deque()

    def switch(self, value: Any) -> None:
        self._values.append(value)
        super().switch(True)

    def get(self) -> Any:
        if not self._values:
            super().get()
        super().clear()
        return self._values.popleft()
