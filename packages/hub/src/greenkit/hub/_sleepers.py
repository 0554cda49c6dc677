"""The greenlets parked in ``sleep(seconds)``, woken by one loop timer.

A loop timer per sleeping greenlet costs about half a kilobyte (the watcher
object, its C struct, the cffi handle, the loop's keep-alive entry) and a
C call or two to start and stop.  :class:`Sleepers` keeps the sleeping
greenlets in a heap instead, ``[deadline, seq, greenlet]`` per sleeper
(~150 bytes), and one timer of the loop armed for the earliest deadline;
when it fires, every sleeper that is due is switched to, in deadline order
(``seq``: in the order they fell asleep when deadlines are equal).

Deadlines are on the monotonic clock, counted from the call ("at least
*seconds*", as ``sleep()`` promises), and the timer is armed the same way
(``update``), so a sleeper never wakes early: a timer that fires before the
head is due is simply armed again.

A sleeper that leaves early (killed, a ``Timeout``) is only marked (its
greenlet becomes None); marked entries are dropped when they reach the
top, or all at once when they outnumber the live ones.  The timer keeps the
loop alive exactly while a live sleeper exists, like the per-sleep timers
did: with none left it is stopped.  ``sleep(seconds, ref=False)`` keeps
using a timer of its own (it must not keep the loop alive).
"""

from __future__ import annotations

import sys
from heapq import heapify, heappop, heappush
from itertools import count
from time import monotonic
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenkit._interfaces import LoopProtocol, TimerProtocol
    from greenkit.hub import Hub

__all__ = ["Sleepers"]

#: Longest sleep kept in the heap (~31 years; also refuses NaN).  Longer
#: ones get a timer of their own, as before.
MAX_SECONDS = 1e9

#: Marked (abandoned) entries tolerated before the heap is rebuilt without
#: them, as long as they are also at most as many as the live ones.
_COMPACT_AFTER = 256


class Sleepers:
    """The sleeping greenlets of one hub's loop, and the loop timer that wakes them.

    ``loop`` is the loop the heap was made for: ``sleep()`` uses the heap
    only while the hub still runs that loop (a test may swap in a proxy).
    """

    __slots__ = (
        "hub",
        "loop",
        "_woken",
        "_heap",
        "_seq",
        "_timer",
        "_armed_for",
        "_live",
        "_marked",
        "_firing",
    )

    def __init__(self, hub: Hub, loop: LoopProtocol | None, woken: Any) -> None:
        self.hub = hub
        self.loop = loop
        # What a sleeper is switched to with when its time has come.
        self._woken = woken
        self._heap: list[list[Any]] = []
        self._seq = count()
        self._timer: TimerProtocol | None = None
        # The deadline the timer is armed for (inf: not armed).
        self._armed_for = float("inf")
        self._live = 0
        self._marked = 0
        self._firing = False

    def __len__(self) -> int:
        """The number of greenlets sleeping here."""
        return self._live

    def add(self, seconds: float, greenlet: Any) -> list[Any]:
        """Switch to *greenlet* (with the hub's wake-up marker) from the hub
        *seconds* from now; returns the entry to give to :meth:`cancel` if it
        leaves early."""
        deadline = monotonic() + float(seconds)
        entry = [deadline, next(self._seq), greenlet]
        heappush(self._heap, entry)
        self._live += 1
        if deadline < self._armed_for and not self._firing:
            self._arm(deadline)
        return entry

    def cancel(self, entry: list[Any]) -> None:
        """The sleeper of *entry* left before its deadline: forget it."""
        if entry[2] is None:
            return
        entry[2] = None
        self._live -= 1
        if not self._live:
            # Nobody sleeps any more: let the loop go idle (or end).
            self._heap.clear()
            self._marked = 0
            self._disarm()
            return
        self._marked += 1
        if self._marked > _COMPACT_AFTER and self._marked > self._live:
            # In place: _fire may be walking this very list.
            heap = self._heap
            heap[:] = [e for e in heap if e[2] is not None]
            heapify(heap)
            self._marked = 0

    def close(self) -> None:
        """Forget every sleeper and close the timer (the hub is destroyed)."""
        self._heap.clear()
        self._live = self._marked = 0
        timer = self._timer
        self._timer = None
        self._armed_for = float("inf")
        if timer is not None:
            timer.close()

    # -- the timer ---------------------------------------------------------------

    def _arm(self, deadline: float) -> None:
        self._armed_for = deadline
        timer = self._timer
        delay = max(deadline - monotonic(), 0.0)
        if timer is None:
            self._timer = self.hub.start_timer(delay, True, 0, True, self._fire, ())
        else:
            timer.stop()
            timer.restart(delay, True, 0, True, self._fire, ())

    def _disarm(self) -> None:
        self._armed_for = float("inf")
        timer = self._timer
        if timer is not None:
            timer.stop()

    def _fire(self) -> None:
        """The timer's callback: wake every sleeper that is due, then arm the
        timer for the next one."""
        self._armed_for = float("inf")
        self._firing = True
        heap = self._heap
        woken = self._woken
        now = monotonic()
        try:
            while heap and heap[0][0] <= now:
                entry = heappop(heap)
                greenlet = entry[2]
                if greenlet is None:
                    self._marked -= 1
                    continue
                entry[2] = None
                self._live -= 1
                try:
                    greenlet.switch(woken)
                except:  # noqa: E722 - everything goes to the hub's error handler
                    self.hub.handle_error(greenlet.switch, *sys.exc_info())
        finally:
            self._firing = False
            while heap and heap[0][2] is None:
                heappop(heap)
                self._marked -= 1
            if heap:
                self._arm(heap[0][0])
