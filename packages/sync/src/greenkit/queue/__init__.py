"""Synchronized queues for greenlets.

Multi-producer, multi-consumer queues whose blocking calls park only the
calling greenlet, with the API of the standard library's :mod:`queue`
module (and a few extensions):

- :class:`SimpleQueue`: a FIFO queue, optionally bounded; ``peek()``,
  iteration, ``copy()``, ``shutdown()``.
- :class:`Queue` (alias :class:`JoinableQueue`): a :class:`SimpleQueue`
  that also counts unfinished tasks (``task_done()``, ``join()``).
- :class:`LifoQueue`, :class:`PriorityQueue`: the same, with other orders.
- :class:`UnboundQueue`: a :class:`Queue` that can never be full.
- :class:`Channel`: no buffer at all; ``put()`` waits for a ``get()``.

Waiting is fair: greenlets blocked in ``get()`` (or ``peek()``) are served
in the order they blocked, and so are greenlets blocked in ``put()``.  A
greenlet that gives up (its timeout expires, or it is killed) leaves the
line.  Waiters are woken from the hub: each ``put()`` (``get()``) that lets
the first blocked getter (putter) proceed schedules that greenlet's own
wake-up, and anything more involved (shutdown, ``peek()``, a waiter that
gave up after its turn came) one pass over the lines per queue at a time;
a waiter belonging to another native thread's hub is woken through that
hub's loop (``run_callback_threadsafe``).

Native threads: a queue may be shared by greenlets of several threads'
hubs and by plain threads (which get a hub only if they have to wait).
Putting or getting without waiting never creates a hub.  While a greenlet
waits on a queue that another thread created or has already used, its
loop is kept alive, since the wake-up may come from that thread.  A wait
without a timeout in the creating thread, on a queue no other thread has
used yet, still raises ``LoopExit`` when nothing else keeps the loop
running (as a wait on an object only another thread will touch does in
gevent); give such waits a timeout.

Iterating over a queue calls ``get()`` until it returns the
:class:`StopIteration` class itself::

    >>> q = Queue()
    >>> q.put(1); q.put(2); q.put(StopIteration)
    >>> list(q)
    [1, 2]

``Queue(0)`` means an unbounded queue (with a :class:`DeprecationWarning`),
not a channel; use :class:`Channel` for a rendezvous.

:exc:`Empty` and :exc:`Full` are the standard library's exceptions, so
``except queue.Empty`` catches them.  :exc:`ShutDown` is the standard
library's on Python 3.13 and later, and this module's own class before.
"""

from __future__ import annotations

import heapq
import sys
import warnings
from collections import deque
from collections.abc import Iterable
from queue import Empty, Full
from typing import Any, ClassVar, TypeVar

from greenlet import getcurrent

from greenkit._hub_local import get_hub, this_thread
from greenkit._parking import (
    RAISE,
    ParkedWaiter,
    ParkingLot,
    check_timeout,
    hub_if_running_in_it,
    nonblocking,
    wake,
)
from greenkit.queue._common import QueueFace

if sys.version_info >= (3, 13):
    from queue import ShutDown
else:

    class ShutDown(Exception):
        """Raised by ``put()`` (and ``get()`` on an empty queue) once the queue has
        been shut down with ``shutdown()``.

        The standard library has the same exception from Python 3.13.
        """


#: The names of :mod:`queue` that monkey patching replaces with ours.
__implements__ = ["Queue", "PriorityQueue", "LifoQueue", "SimpleQueue"]
#: The names we take unchanged from :mod:`queue`.
__imports__ = ["Empty", "Full"]
#: Our names that :mod:`queue` does not have.
__extensions__ = ["JoinableQueue", "Channel"]
if sys.version_info >= (3, 13):
    __imports__.append("ShutDown")
else:
    __extensions__.append("ShutDown")

__all__ = __implements__ + __imports__ + __extensions__

_T = TypeVar("_T")

#: The storage hooks a queue class may override (see SimpleQueue).
_STORAGE_HOOKS = ("_init", "_qsize", "_put", "_get", "_peek")

# -- SimpleQueue -------------------------------------------------------------------


class SimpleQueue(ParkingLot[ParkedWaiter], QueueFace[_T]):
    """A FIFO queue for greenlets, unbounded unless *maxsize* is given.

    - *maxsize*: ``None`` (the default) or a value ``<= 0`` gives an
      unbounded queue; ``0`` also emits a :class:`DeprecationWarning`
      (long ago it meant a channel; use :class:`Channel` for that).
      Otherwise ``put()`` blocks while the queue holds *maxsize* items.
    - *items*: initial contents, put in iteration order.

    Subclasses may change the storage like those of the standard library's
    queues, by overriding ``_init(maxsize)`` (creates ``self.queue``),
    ``_qsize()``, ``_put(item)``, ``_get()`` and ``_peek()``.

    ``len(queue)`` is ``qsize()``; a queue object is nevertheless always
    true, even when empty.
    """

    __slots__ = (
        "_maxsize",
        "queue",
        "is_shutdown",
        "unfinished_tasks",
        "__weakref__",
    )

    #: Items put and not yet reported done: :class:`Queue`'s ``task_done()``
    #: and ``join()`` use it; a SimpleQueue only counts (one addition per
    #: put, so that the queues share one ``put``).
    unfinished_tasks: int

    queue: Any
    # (``getters``: the greenlets blocked in ``get()``/``peek()``; ``putters``:
    # those blocked in ``put()``.)
    #: True once ``shutdown()`` was called.
    is_shutdown: bool

    #: True while the class keeps SimpleQueue's storage (a deque in
    #: ``self.queue``, none of the hooks overridden): the hand-off path
    #: (``put()``, and ``get()`` with or without waiting) then uses the deque
    #: directly instead of calling the hooks (three to four Python calls
    #: fewer per hand-off, ~10 %).  Set for every subclass.
    _deque_storage: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._deque_storage = all(
            getattr(cls, hook) is getattr(SimpleQueue, hook) for hook in _STORAGE_HOOKS
        )

    def __init__(
        self, maxsize: int | None = None, items: Iterable[_T] = (), _warn_depth: int = 2
    ) -> None:
        if maxsize is not None and maxsize <= 0:
            if maxsize == 0:
                warnings.warn(
                    "Queue(0) now means an unbounded queue, as Queue(None) does;"
                    " for a channel use Channel()",
                    DeprecationWarning,
                    stacklevel=_warn_depth,
                )
            maxsize = None
        self._maxsize = maxsize
        self.is_shutdown = False
        self.unfinished_tasks = 0
        ParkingLot.__init__(self)
        self._init(maxsize)
        for item in items:
            self._put(item)

    # -- storage hooks (override these to change the order) -------------------

    def _init(self, maxsize: int | None) -> None:
        self.queue = deque()

    def _qsize(self) -> int:
        return len(self.queue)

    def _put(self, item: _T) -> None:
        self.queue.append(item)

    def _get(self) -> _T:
        item: _T = self.queue.popleft()
        return item

    def _peek(self) -> _T:
        item: _T = self.queue[0]
        return item

    # -- size ---------------------------------------------------------------------

    @property
    def maxsize(self) -> int | None:
        """The bound of the queue, or None when unbounded.  Assigning a larger
        value (or None) lets blocked putters proceed."""
        return self._maxsize

    @maxsize.setter
    def maxsize(self, value: int | None) -> None:
        if value is not None and value <= 0:
            value = None
        self._maxsize = value
        if self.putters:
            self._schedule_unlock()

    def qsize(self) -> int:
        """Return the number of items in the queue."""
        return self._qsize()

    def __len__(self) -> int:
        return self._qsize()

    def __bool__(self) -> bool:
        """Always true: a queue is true even when empty (it has ``len()``)."""
        return True

    def empty(self) -> bool:
        """Return True if the queue holds no item."""
        return not self._qsize()

    def full(self) -> bool:
        """Return True if the queue holds *maxsize* items (never for unbounded)."""
        maxsize = self._maxsize
        return maxsize is not None and self._qsize() >= maxsize

    def copy(self) -> SimpleQueue[_T]:
        """A new queue of the same type, bound and contents (not the waiters)."""
        return type(self)(self._maxsize, self.queue)

    def _format(self) -> str:
        parts = []
        if self._maxsize is not None:
            parts.append(f" maxsize={self._maxsize!r}")
        if getattr(self, "queue", None):
            parts.append(f" queue={self.queue!r}")
        if self.getters:
            parts.append(f" getters[{len(self.getters)}]")
        if self.putters:
            parts.append(f" putters[{len(self.putters)}]")
        if self.is_shutdown:
            parts.append(" shutdown")
        return "".join(parts)

    # -- putting ------------------------------------------------------------------

    def put(self, item: _T, block: bool = True, timeout: float | None = None) -> None:
        """Put *item* into the queue.

        If the queue is full: with *block* true, wait until there is room
        (at most *timeout* seconds when it is not None, then raise
        :exc:`Full`); with *block* false raise :exc:`Full` at once.  Called
        from the hub (a loop callback), where waiting is impossible, it
        first lets blocked getters take their items, then raises
        :exc:`Full` if there is still no room.  Raises :exc:`ShutDown` after
        ``shutdown()``.  A bounded queue refuses a negative *timeout* with
        *block* true (:exc:`ValueError`), like the standard library's.
        """
        if self.is_shutdown:
            raise ShutDown
        maxsize = self._maxsize
        if block and timeout is not None and maxsize is not None:
            check_timeout(timeout)
        if maxsize is None or self._qsize() < maxsize:
            if self._deque_storage:
                self.queue.append(item)
            else:
                self._put(item)
            self.unfinished_tasks += 1
            if self.getters:
                self._wake_head(self.getters)
            return
        self._put_waiting(item, block, timeout)
        self.unfinished_tasks += 1

    def put_nowait(self, item: _T) -> None:
        """Put *item* if there is room at once, else raise :exc:`Full`."""
        self.put(item, False)

    def _has_room(self) -> bool:
        maxsize = self._maxsize
        return maxsize is None or self._qsize() < maxsize

    def _put_waiting(self, item: _T, block: bool, timeout: Any) -> None:
        """``put()`` on a full queue: wait for room in line with other putters."""
        hub = hub_if_running_in_it()
        if hub is not None:
            if self.getters:
                self._unlock()
            if not self._has_room():
                raise Full
        else:
            if not block or (timeout is not None and nonblocking(timeout)):
                raise Full
            self._wait_for_room(timeout)
            if self.is_shutdown:
                raise ShutDown
        try:
            self._put(item)
        except BaseException:
            self._schedule_unlock()
            raise
        if self.getters or (self.putters and self._has_room()):
            self._schedule_unlock()

    # -- getting ------------------------------------------------------------------

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        """Remove and return an item from the queue.

        If the queue is empty: with *block* true, wait for an item (at most
        *timeout* seconds when it is not None, then raise :exc:`Empty`); with
        *block* false raise :exc:`Empty` at once.  Called from the hub (a loop
        callback), it first lets blocked putters put their items, then raises
        :exc:`Empty` if there is still nothing.  After ``shutdown()``, raises
        :exc:`ShutDown` instead of waiting on an empty queue.  With *block*
        true, a negative *timeout* raises :exc:`ValueError`.
        """
        if block and timeout is not None:
            check_timeout(timeout)
        if self._deque_storage:
            queue = self.queue
            if queue:
                item: _T = queue.popleft()
                if self.putters:
                    self._wake_head(self.putters)
                return item
        elif self._qsize():
            item = self._get()
            if self.putters:
                self._wake_head(self.putters)
            return item
        return self._get_waiting(block, timeout, False)

    def get_nowait(self) -> _T:
        """Remove and return an item if one is there, else raise :exc:`Empty`."""
        return self.get(False)

    def peek(self, block: bool = True, timeout: float | None = None) -> _T:
        """Return the item ``get()`` would return, without removing it.

        Blocks, times out and raises exactly like ``get()``.
        """
        if block and timeout is not None:
            check_timeout(timeout)
        if self._qsize():
            return self._peek()
        return self._get_waiting(block, timeout, True)

    def peek_nowait(self) -> _T:
        """Return the next item without removing it, or raise :exc:`Empty`."""
        return self.peek(False)

    def _get_waiting(self, block: bool, timeout: Any, peek: bool) -> _T:
        """``get()``/``peek()`` on an empty queue: wait for an item in line."""
        if self.is_shutdown:
            raise ShutDown
        hub = this_thread.hub
        if hub is not None and getcurrent() is hub:
            return self._get_in_hub(peek)
        if not block or (timeout is not None and nonblocking(timeout)):
            raise Empty
        if hub is None:
            hub = get_hub()
        waiter = ParkedWaiter(hub)
        getters = self.getters
        getters.append(waiter)
        if self.queue if self._deque_storage else self._qsize():
            # Another thread put an item between our check and joining the line.
            self._schedule_unlock()
        self._park(hub, getters, waiter, timeout, Empty)
        # Our turn: _unlock took us out of the line.
        try:
            if peek:
                item = self._peek()
            elif self._deque_storage:
                item = self.queue.popleft()
            else:
                item = self._get()
        except BaseException:
            self._schedule_unlock()
            raise
        if self.putters or (self.getters and (peek or self._qsize())):
            # More waiters can proceed: normally the running _unlock serves
            # them (and cancels this); if it never gets control back, this does.
            self._schedule_unlock()
        return item

    def _get_in_hub(self, peek: bool) -> _T:
        """``get()``/``peek()`` on an empty queue from the hub, which cannot wait:
        let blocked putters put first, then try once more."""
        if self.putters:
            self._unlock()
        if not self._qsize():
            if self.is_shutdown:
                raise ShutDown
            raise Empty
        item = self._peek() if peek else self._get()
        if self.putters or (self.getters and (peek or self._qsize())):
            self._schedule_unlock()
        return item

    # -- waiting and waking -------------------------------------------------------

    def _wait_for_room(self, timeout: Any) -> None:
        """Park the current greenlet among the putters until ``_unlock`` picks it
        and there is room (or the queue is shut down); on return it has left
        the line and must put at once."""
        hub = this_thread.hub or get_hub()
        waiter = ParkedWaiter(hub)
        putters = self.putters
        putters.append(waiter)
        if self._has_room():
            # Another thread made room between our check and joining the line.
            self._schedule_unlock()
        self._park(hub, putters, waiter, timeout, Full)

    def _again(self, line: deque[Any]) -> bool:
        # A waiter was woken: does it still have to wait (another thread got
        # there first, or a stray switch)?
        if line is self.getters:
            if self.queue if self._deque_storage else self._qsize():
                return False
            if self.is_shutdown:
                raise ShutDown
            return True
        if line is self.putters:
            return not (self.is_shutdown or self._has_room())
        return self._waits_on(line)

    def _waits_on(self, line: deque[ParkedWaiter]) -> bool:
        """``_again`` for a line of a subclass (Queue.join's)."""
        return False

    def _next_line(self) -> deque[ParkedWaiter] | None:
        getters = self.getters
        if getters and (self._qsize() or self.is_shutdown):
            return getters
        putters = self.putters
        if putters and (self.is_shutdown or self._has_room()):
            return putters
        return None

    # -- shutting down ------------------------------------------------------------

    def shutdown(self, immediate: bool = False) -> None:
        """Shut the queue down: from now on ``put()`` raises :exc:`ShutDown`, and
        so does ``get()`` once the queue is empty.  Blocked putters and getters
        are woken and raise it too (getters only if nothing is left).

        With *immediate* true, the remaining items are discarded first.
        """
        self.is_shutdown = True
        if immediate:
            while self._qsize():
                self._get()
                self._discarded()
        self._schedule_unlock()

    def _discarded(self) -> None:
        """``shutdown(immediate=True)`` dropped one item."""


# -- Queue (joinable) ----------------------------------------------------------------


class Queue(SimpleQueue[_T]):
    """A :class:`SimpleQueue` that also tracks unfinished tasks, like the
    standard library's ``Queue``: every ``put()`` adds one, ``task_done()``
    removes one, and ``join()`` waits until none is left.

    *unfinished_tasks*: the initial count; by default the number of *items*.
    """

    __slots__ = ("_join_waiters",)

    def __init__(
        self,
        maxsize: int | None = None,
        items: Iterable[_T] = (),
        unfinished_tasks: int | None = None,
        _warn_depth: int = 2,
    ) -> None:
        self._join_waiters: deque[Any] = deque()
        SimpleQueue.__init__(self, maxsize, items, _warn_depth + 1)
        self.unfinished_tasks = self._qsize() if unfinished_tasks is None else unfinished_tasks

    def copy(self) -> Queue[_T]:
        """A new queue of the same type, bound, contents and unfinished count."""
        return type(self)(self._maxsize, self.queue, self.unfinished_tasks)

    def task_done(self) -> None:
        """Report that one task taken from the queue is finished.

        When the count of unfinished tasks reaches zero, greenlets blocked in
        ``join()`` are woken.  Raises :exc:`ValueError` if called more times
        than items were put.
        """
        unfinished = self.unfinished_tasks
        if unfinished <= 0:
            raise ValueError("task_done() called too many times")
        unfinished -= 1
        self.unfinished_tasks = unfinished
        if not unfinished and self._join_waiters:
            self._wake_joiners()

    def _wake_joiners(self) -> None:
        waiters = self._join_waiters
        while waiters:
            try:
                waiter = waiters.popleft()
            except IndexError:
                break
            wake(waiter, None)

    def join(self, timeout: float | None = None) -> bool:
        """Block until every item put has been reported done with ``task_done()``.

        Returns True then, or False if *timeout* (seconds) expires first.
        Returns at once, without switching, when nothing is unfinished.
        """
        if not self.unfinished_tasks:
            return True
        hub = this_thread.hub or get_hub()
        waiter = ParkedWaiter(hub)
        self._join_waiters.append(waiter)
        # _park returns what task_done() woke us with (None), or False when
        # the timeout expired (see _interrupted).
        return self._park(hub, self._join_waiters, waiter, timeout, None) is not False

    def _waits_on(self, line: deque[ParkedWaiter]) -> bool:
        # Queue.join's line: woken with tasks still unfinished, wait again.
        return bool(self.unfinished_tasks)

    def _interrupted(
        self,
        line: deque[Any],
        waiter: ParkedWaiter,
        ex: BaseException,
        own_deadline: bool,
        picked: bool,
    ) -> Any:
        if line is self._join_waiters:
            return False if own_deadline else RAISE
        return SimpleQueue._interrupted(self, line, waiter, ex, own_deadline, picked)

    def shutdown(self, immediate: bool = False) -> None:
        super().shutdown(immediate)
        if immediate and not self.unfinished_tasks and self._join_waiters:
            self._wake_joiners()

    shutdown.__doc__ = (SimpleQueue.shutdown.__doc__ or "") + (
        "\n        Each discarded item also counts as a finished task, so ``join()``\n"
        "        only waits for the tasks already taken from the queue.\n"
    )

    def _discarded(self) -> None:
        if self.unfinished_tasks > 0:
            self.unfinished_tasks -= 1


#: The name gevent used for :class:`Queue` before ``Queue`` itself was joinable.
JoinableQueue = Queue


class UnboundQueue(Queue[_T]):
    """A :class:`Queue` without a bound: ``put()`` never blocks.

    Passing a *maxsize* other than None raises :exc:`ValueError`.
    """

    __slots__ = ()

    def __init__(
        self,
        maxsize: int | None = None,
        items: Iterable[_T] = (),
        unfinished_tasks: int | None = None,
    ) -> None:
        if maxsize is not None:
            raise ValueError("UnboundQueue has no maxsize")
        Queue.__init__(self, None, items, unfinished_tasks)

    @property
    def maxsize(self) -> int | None:
        """Always None."""
        return None

    @maxsize.setter
    def maxsize(self, value: int | None) -> None:
        if value is not None:
            raise ValueError("UnboundQueue has no maxsize")


class PriorityQueue(Queue[_T]):
    """A :class:`Queue` that returns the lowest item first (a heap, as the
    standard library's ``PriorityQueue``); items are often
    ``(priority, data)`` tuples."""

    __slots__ = ()

    def _init(self, maxsize: int | None) -> None:
        self.queue = []

    def _put(self, item: _T) -> None:
        heapq.heappush(self.queue, item)

    def _get(self) -> _T:
        item: _T = heapq.heappop(self.queue)
        return item

    def _peek(self) -> _T:
        item: _T = self.queue[0]
        return item


class LifoQueue(Queue[_T]):
    """A :class:`Queue` that returns the most recently put item first."""

    __slots__ = ()

    def _init(self, maxsize: int | None) -> None:
        self.queue = []

    # (``_put`` is SimpleQueue's: a list appends like a deque.)

    def _get(self) -> _T:
        item: _T = self.queue.pop()
        return item

    def _peek(self) -> _T:
        item: _T = self.queue[-1]
        return item


# Channel lives in its own module; imported here, its public home.
from greenkit.queue._channel import Channel  # noqa: E402

Channel.__module__ = __name__
