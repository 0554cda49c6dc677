"""``Channel``: a rendezvous queue with no buffer (public as ``greenkit.queue.Channel``)."""

from __future__ import annotations

from collections import deque
from queue import Empty, Full
from typing import TYPE_CHECKING, Any, TypeVar

from greenkit._hub_local import get_hub, this_thread
from greenkit._parking import (
    RAISE,
    ParkingLot,
    check_timeout,
    hub_if_running_in_it,
    nonblocking,
    wake,
)
from greenkit._waiter import Waiter
from greenkit.queue._common import QueueFace

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = ["Channel"]

_T = TypeVar("_T")

# Marks "no item" in waiters' item slot.
_NONE: Any = object()


class _ItemWaiter(Waiter):
    """A Waiter that also carries an item (a Channel's putters and getters)."""

    __slots__ = ("item",)

    def __init__(self, hub: Hub, item: Any = _NONE) -> None:
        Waiter.__init__(self, hub)
        self.item = item


class Channel(ParkingLot[_ItemWaiter], QueueFace[_T]):
    """A rendezvous between greenlets: no buffer, every ``put()`` waits until
    a ``get()`` takes its item, and every ``get()`` until a ``put()`` gives one.

    ``qsize()`` is always 0 and both ``empty()`` and ``full()`` are always
    true.  *maxsize* exists for signature compatibility with the queues; it
    must be 1.  ``balance`` is the number of blocked putters minus the number
    of blocked getters.
    """

    __slots__ = ("__weakref__",)

    # (``getters``: the greenlets blocked in ``get()``; ``putters``: those
    # blocked in ``put()``, each waiter carrying its item.)

    def __init__(self, maxsize: int = 1) -> None:
        if maxsize != 1:
            raise ValueError("Channels have a maxsize of 1")
        ParkingLot.__init__(self)

    def _format(self) -> str:
        parts = []
        if self.getters:
            parts.append(f" getters[{len(self.getters)}]")
        if self.putters:
            parts.append(f" putters[{len(self.putters)}]")
        return "".join(parts)

    @property
    def balance(self) -> int:
        """Blocked putters minus blocked getters."""
        return len(self.putters) - len(self.getters)

    def qsize(self) -> int:
        """Always 0: a channel holds no item."""
        return 0

    def empty(self) -> bool:
        """Always True."""
        return True

    def full(self) -> bool:
        """Always True."""
        return True

    def put(self, item: _T, block: bool = True, timeout: float | None = None) -> None:
        """Give *item* to a getter, waiting for one if needed.

        With *block* true, return once a getter has taken the item (raise
        :exc:`Full` if none did within *timeout* seconds, when given); with
        *block* false (or from the hub), succeed only if a getter is already
        waiting, else raise :exc:`Full`.  With *block* true, a negative
        *timeout* raises :exc:`ValueError`.
        """
        if block and timeout is not None:
            check_timeout(timeout)
        getters = self.getters
        hub = hub_if_running_in_it()
        if hub is not None or not block or (timeout is not None and nonblocking(timeout)):
            while getters:
                try:
                    getter = getters.popleft()
                except IndexError:
                    break
                getter.item = item
                if hub is not None and getter.hub is hub:
                    getter.switch(item)
                else:
                    wake(getter, item)
                return
            raise Full
        hub = this_thread.hub or get_hub()
        waiter = _ItemWaiter(hub, item)
        putters = self.putters
        putters.append(waiter)
        if getters:
            self._schedule_unlock()
        self._park(hub, putters, waiter, timeout, Full)
        if getters and putters:
            # Normally the running _unlock pairs them (and cancels this).
            self._schedule_unlock()

    def put_nowait(self, item: _T) -> None:
        """Give *item* to a waiting getter, or raise :exc:`Full`."""
        self.put(item, False)

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        """Take an item from a putter, waiting for one if needed.

        With *block* true, wait (raise :exc:`Empty` if no putter came within
        *timeout* seconds, when given); with *block* false (or from the hub),
        succeed only if a putter is already waiting, else raise :exc:`Empty`.
        With *block* true, a negative *timeout* raises :exc:`ValueError`.
        """
        if block and timeout is not None:
            check_timeout(timeout)
        putters = self.putters
        while putters:
            try:
                putter = putters.popleft()
            except IndexError:
                break
            item: _T = putter.item
            putter.item = _NONE
            wake(putter, None)
            return item
        hub = hub_if_running_in_it()
        if hub is not None or not block or (timeout is not None and nonblocking(timeout)):
            raise Empty
        hub = this_thread.hub or get_hub()
        waiter = _ItemWaiter(hub)
        getters = self.getters
        getters.append(waiter)
        if self.putters:
            # Another thread started a put between our check and joining the line.
            self._schedule_unlock()
        result: _T = self._park(hub, getters, waiter, timeout, Empty)
        if getters and self.putters:
            self._schedule_unlock()
        return result

    def _interrupted(
        self,
        line: deque[_ItemWaiter],
        waiter: _ItemWaiter,
        ex: BaseException,
        own_deadline: bool,
        picked: bool,
    ) -> Any:
        if picked:
            if line is self.putters:
                # A getter took the item already: only the wake-up was late.
                if own_deadline or isinstance(ex, Full):
                    return None
            else:
                item = waiter.item
                if item is not _NONE and (own_deadline or isinstance(ex, Empty)):
                    # A putter handed us an item before the exception arrived.
                    return item
        return RAISE

    def get_nowait(self) -> _T:
        """Take the item of a waiting putter, or raise :exc:`Empty`."""
        return self.get(False)

    def _next_line(self) -> deque[_ItemWaiter] | None:
        return self.getters if self.getters and self.putters else None

    def _unpark(self, line: deque[_ItemWaiter], waiter: _ItemWaiter) -> None:
        """Pair the getter ``waiter`` with the first putter: the getter runs first
        with the item, then the putter resumes."""
        try:
            putter = self.putters.popleft()
        except IndexError:
            line.appendleft(waiter)
            return
        item = putter.item
        putter.item = _NONE
        waiter.item = item
        local_putter = putter.hub is waiter.hub
        if not local_putter:
            # Wake it first: the getter may never give control back.
            wake(putter, None)
        waiter.switch(item)
        if local_putter:
            putter.switch(None)
