"""Parking: how a greenlet (or a plain thread) waits in line for a sync object.

Every blocking call of the sync layer (``Event.wait``, ``AsyncResult.get``,
``Semaphore.acquire``, the locks, every queue's ``get``/``put``/``join``,
``Channel``) parks the caller here, in the spirit of trio's ``ParkingLot``:
the caller joins a FIFO line of waiters, optionally under a deadline, and is
unparked in arrival order by whoever makes progress possible.  This module
holds the pieces they share:

* :class:`ParkingLot`, the base of the queues and ``Channel``: lines of
  :class:`~greenkit._waiter.Waiter` objects, the one wait loop
  (:meth:`ParkingLot._park`: deadline, loop keep-alive, wake-ups without
  work, leaving the line on an exception), and the scheduling of the
  owner's unpark pass (``_unlock``) in the right hub.
* the cross-thread waiters the linkable base (Event, AsyncResult,
  semaphores, locks) parks with when the waiter is not a greenlet of the
  object's own hub: :class:`HubWaiter`, :class:`NativeWaiter`,
  :class:`ThreadHop`, all :class:`CrossWaiter`.
* :func:`keep_loop_alive` and :func:`wake`.

Threads and hubs
----------------
An object belongs to a hub (the thread that created it, or the first to
block on it).  A waiter is one of:

* a greenlet of that hub: it is switched to directly from the hub (the
  fast path: no lock);
* a greenlet of another thread's hub: it is woken through that hub's loop
  (``run_callback_threadsafe``, or an ``async_`` watcher for a
  :class:`HubWaiter`), and while it waits its loop is kept alive with a
  referenced ``async_`` watcher (:func:`keep_loop_alive`), since the wake-up
  comes from a thread that loop knows nothing about;
* a thread without a hub (:class:`NativeWaiter`): it blocks on a native
  lock and never gets a hub.

Why this is thread-safe (CPython with the GIL; nothing here is meant for a
free-threaded build):

* Lines are ``deque``/``list`` objects; only appends, ``popleft`` and
  value-based ``remove`` are done from several threads, each one atomic
  under the GIL.  A line walked by a notification round is first swapped
  out (``todo = links; links = []``) and walked privately by index.
* The few read-test-write sequences on shared state (a semaphore counter,
  the list swap, merging a round's leftovers back, the ``_unlock_pending``
  flag) contain no call and no backward jump, so no other thread can run
  in the middle of one.
* A cross waiter is claimed with a non-blocking acquire of a native lock,
  so exactly one of "a notifier wakes it" and "it gives up (timeout,
  kill)" happens.  A consuming waiter (``Semaphore.acquire``) receives its
  permit from the notifier before the claim, and a notifier that loses the
  claim puts the permit back.
* A waiter that is interrupted after it was taken out of the line (its turn
  came while the exception was on its way) passes the turn on
  (:meth:`ParkingLot._interrupted`), so no wake-up is lost.
* Work that must run in an object's hub is never done from another thread:
  it is scheduled there (``_schedule_unlock_in``, ``_start_notify``), at
  most one pass per object at a time.
"""

from __future__ import annotations

from _thread import get_ident
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from greenlet import getcurrent
from greenlet import greenlet as _RawGreenlet

from greenkit._hub_local import get_hub, this_thread
from greenkit._originals import get_original
from greenkit._waiter import Waiter
from greenkit.timeout import Timeout, start_for_call

if TYPE_CHECKING:
    from greenkit._interfaces import AsyncProtocol
    from greenkit.hub import Hub

__all__ = [
    "RETRY",
    "Permits",
    "TimeoutArg",
    "W",
    "CrossWaiter",
    "HubWaiter",
    "NativeWaiter",
    "ParkedWaiter",
    "ParkingLot",
    "ThreadHop",
    "check_timeout",
    "hub_if_running_in_it",
    "keep_loop_alive",
    "nonblocking",
    "wake",
]

_greenlet_switch = _RawGreenlet.switch

# Native primitives, never their monkey-patched replacements.
_allocate_lock, _TIMEOUT_MAX = get_original("_thread", ["allocate_lock", "TIMEOUT_MAX"])

#: A call's ``timeout`` argument: seconds, a Timeout, or None (no deadline).
TimeoutArg = float | Timeout | None


class Permits(Protocol):
    """What a consuming cross waiter needs from the object it waits on."""

    def _take_permit(self) -> bool: ...

    def _return_permit(self) -> None: ...


#: The kind of waiter a ParkingLot's lines hold.
W = TypeVar("W", bound=Waiter)

#: Returned by a consuming cross waiter when no permit was left for it.
RETRY: Any = object()
#: Returned by ``ParkingLot._interrupted``: re-raise the exception.
RAISE: Any = object()


def _noop() -> None:
    """Callback of the keep-alive watchers."""


def keep_loop_alive(hub: Hub) -> AsyncProtocol:
    """Keep ``hub``'s loop running while a greenlet waits for a wake-up that may
    come from another thread; close the returned watcher afterwards."""
    loop = hub.loop
    assert loop is not None, "parking in a destroyed hub"
    watcher = loop.async_()
    watcher.start(_noop)
    return watcher


def wake(waiter: Waiter, value: Any) -> None:
    """Schedule ``waiter.switch(value)`` in the waiter's hub, from any thread."""
    hub = waiter.hub
    loop = hub.loop
    if loop is None:
        # Its hub was destroyed: that greenlet can never run again.
        return
    if hub is this_thread.hub:
        loop.run_callback(waiter.switch, value)
    else:
        loop.run_callback_threadsafe(waiter.switch, value)


def hub_if_running_in_it() -> Hub | None:
    """This thread's hub if the calling code runs in it (a loop callback, where
    nothing can wait), else None."""
    hub = this_thread.hub
    if hub is not None and getcurrent() is hub:
        return hub
    return None


def check_timeout(timeout: float | Timeout) -> None:
    """Refuse a negative numeric timeout for a blocking call, as the standard
    library's queues do (a :class:`Timeout` object is always accepted)."""
    if not isinstance(timeout, Timeout) and timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")


def nonblocking(timeout: float | Timeout) -> bool:
    """True for a numeric timeout that allows no waiting (zero or negative)."""
    return not isinstance(timeout, Timeout) and timeout <= 0


# -- the queues' lines ---------------------------------------------------------------


class ParkedWaiter(Waiter):
    """A :class:`Waiter` of a queue's line, which a hand-off may wake directly
    (:meth:`ParkingLot._wake_head`).

    ``wakeup`` is set only by such a hand-off: the pending loop callback
    that will switch the waiting greenlet (unset until then, so that
    creating one costs what creating a Waiter costs).
    """

    __slots__ = ("wakeup",)

    wakeup: Any


def _cancel_wakeup(waiter: Waiter) -> None:
    """Cancel the hand-off wake-up of *waiter*, if one may still be pending
    (the greenlet woke up, or is leaving its wait, some other way)."""
    wakeup = getattr(waiter, "wakeup", None)
    if wakeup is not None:
        wakeup.stop()
        del waiter.wakeup  # type: ignore[attr-defined]


class ParkingLot(Generic[W]):
    """Lines of parked greenlets, shared with other native threads if need be.

    The base of the queues and ``Channel``: two lines of waiters,
    ``getters`` and ``putters`` (``deque`` objects of :class:`Waiter`); a
    subclass parks callers with :meth:`_park` and says which line may
    proceed (:meth:`_next_line`); the ``_unlock`` pass, which runs in the hub
    of the waiter at the head of the line (:meth:`_schedule_unlock`),
    unparks them in arrival order.

    ``_owner`` is the ident of the thread that created the object; once a
    wait happens in another thread, or a waiter of another thread's hub has
    to be woken, ``_shared`` becomes true for good, and every wait keeps its
    hub's loop alive (see the module docstring).
    """

    __slots__ = (
        "getters",
        "putters",
        "_owner",
        "_shared",
        "_hub",
        "_unlock_pending",
        "_unlock_cb",
        "_unlock_running",
    )

    #: Waiters of the greenlets blocked taking from the object, in arrival order.
    getters: deque[W]
    #: Waiters of the greenlets blocked putting into it, in arrival order.
    putters: deque[W]

    def __init__(self) -> None:
        self.getters = deque()
        self.putters = deque()
        self._owner = get_ident()
        self._shared = False
        self._hub: Hub | None = this_thread.hub
        # Scheduling of ``_unlock``: at most one call is pending at a time.
        # ``_unlock_pending`` is true from scheduling until the call starts,
        # and ``_unlock_cb`` is ``(hub, callback)`` of the last one scheduled.
        # A running ``_unlock`` does not hold the flag, so a greenlet it
        # switches to that never switches back (its thread ends) does not
        # stall the object.
        self._unlock_pending = False
        self._unlock_cb: Any = None
        # True while an ``_unlock`` pass runs (it may be switched out in the
        # middle): only disables the direct wake-up of ``_wake_head``, so a
        # pass that never resumes slows the object down, never stalls it.
        self._unlock_running = False

    @property
    def hub(self) -> Hub | None:
        """The hub of the thread that created the object (created on first use
        when asked from that thread)."""
        hub = self._hub
        if hub is None and get_ident() == self._owner:
            hub = self._hub = get_hub()
        return hub

    def _foreign(self, hub: Hub) -> bool:
        """Called when a wait happens in *hub*, not the hub recorded for the
        object: true if that is another thread than the creator's (the object
        is then marked shared for good)."""
        if self._owner == get_ident():
            self._hub = hub
            return False
        self._shared = True
        return True

    # -- parking -------------------------------------------------------------------

    def _park(
        self, hub: Hub, line: deque[W], waiter: W, timeout: TimeoutArg, exception: Any
    ) -> Any:
        """Wait in *line* (which *waiter* has just joined) until woken with work
        to do; return the value the waiter was switched with.

        *timeout* (seconds or a :class:`Timeout`; None: forever) raises
        *exception* (None: the Timeout) when it expires.  Woken with nothing
        to do (:meth:`_again` is true: another thread got there first), the
        waiter waits again, first in line.  On any exception it leaves the
        line, and :meth:`_interrupted` decides what happens.
        """
        keepalive = (
            keep_loop_alive(hub)
            if (self._shared or (hub is not self._hub and self._foreign(hub)))
            else None
        )
        # (No deadline object at all without a timeout: this is the hot path.)
        timer = None if timeout is None else start_for_call(timeout, exception)
        # ``waiter.get()`` and the hub switch, inlined (the hot path of every
        # queue wait; see Hub.switch).  Only the hub switches back to us, so
        # no value can be stored in the waiter before we wait.
        current = getcurrent()
        switch_out = getattr(current, "switch_out", None)
        try:
            while True:
                waiter.greenlet = current
                if switch_out is not None:
                    switch_out()
                value = _greenlet_switch(hub)
                waiter.greenlet = None
                if value is waiter:
                    # The wake-up of a hand-off (_wake_head).
                    value = None
                else:
                    _cancel_wakeup(waiter)
                if not self._again(line):
                    return value
                if waiter not in line:
                    line.appendleft(waiter)
        except BaseException as ex:
            waiter.greenlet = None
            _cancel_wakeup(waiter)
            try:
                line.remove(waiter)
                picked = False
            except ValueError:
                picked = True
            result = self._interrupted(line, waiter, ex, ex is timer, picked)
            if result is RAISE:
                raise
            return result
        finally:
            if timer is not None:
                timer.close()
            if keepalive is not None:
                keepalive.close()

    def _again(self, line: deque[W]) -> bool:
        """True if a waiter of *line* just woken has nothing to do yet (and so
        waits again); may raise instead (e.g. ``ShutDown``)."""
        return False

    def _interrupted(
        self, line: deque[W], waiter: W, ex: BaseException, own_deadline: bool, picked: bool
    ) -> Any:
        """A waiter of *line* got exception *ex* (``own_deadline``: the expiry of
        its call's timeout) and has left the line; ``picked``: an unpark pass
        had already taken it out (its turn came).  Return :data:`RAISE` to
        re-raise, anything else to return it from :meth:`_park`.  By default
        a picked waiter passes its turn on."""
        if picked:
            self._schedule_unlock()
        return RAISE

    # -- unparking -------------------------------------------------------------------

    def _schedule_unlock(self) -> None:
        """Make sure ``_unlock`` runs soon, in the hub of the first waiter."""
        if self._unlock_pending:
            return
        line = self.getters or self.putters
        try:
            hub = line[0].hub
        except IndexError:
            return
        self._schedule_unlock_in(hub)

    def _wake_head(self, line: deque[W]) -> None:
        """The first waiter of *line* (not empty) can proceed now: wake it.

        The fast path of a hand-off (``put()`` to a queue a greenlet waits
        to ``get()`` from): when the object is used by one thread only, no
        ``_unlock`` pass is pending or running (a running pass serves the
        line in order itself) and the waiter is a :class:`ParkedWaiter` of
        the calling thread's hub, the waiter leaves the line and a loop
        callback switches its greenlet directly, with the waiter as the
        value (no pass, no ``Waiter.switch``: a hand-off costs ~20 % less).
        The callback is the waiter's ``wakeup``, cancelled if the greenlet
        wakes up or leaves :meth:`_park` any other way, so it can never
        switch into a greenlet that waits for something else.  A waiter so
        woken that finds nothing to do waits again, first in line; one
        interrupted before it runs passes its turn on
        (:meth:`_interrupted`).  Everything else goes through
        :meth:`_schedule_unlock`.
        """
        if not (self._unlock_pending or self._unlock_running or self._shared):
            waiter = line[0]
            hub = waiter.hub
            greenlet = waiter.greenlet
            # (Not from the hub itself: a get/put there serves the lines
            # synchronously, and needs the waiters still in them.)
            if (
                hub is this_thread.hub
                and greenlet is not None
                and isinstance(waiter, ParkedWaiter)
                and getcurrent() is not hub
            ):
                line.popleft()
                loop = hub.loop
                assert loop is not None, "a waiter of a destroyed hub"
                # (greenlet's own switch with the greenlet as its argument:
                # no bound method made per hand-off, ~3 % of one.)
                waiter.wakeup = loop.run_callback(_greenlet_switch, greenlet, waiter)
                return
        self._schedule_unlock()

    def _unlock(self) -> None:
        """Unpark, from the hub and in arrival order, the waiters that can proceed.

        :meth:`_next_line` names the line whose head can proceed; a waiter of
        this hub is served with :meth:`_unpark` (it runs until it blocks
        again, then control comes back here); a waiter of another hub gets
        this method run in that hub instead.  After as many wake-ups as
        there were waiters on entry, the rest is left to a new call so that
        the loop keeps turning.
        """
        self._unlock_pending = False
        self._unlock_running = True
        try:
            self._unlock_pass(getcurrent())
        finally:
            self._unlock_running = False

    def _unlock_pass(self, hub: Hub) -> None:
        """The loop of :meth:`_unlock`, running in *hub*."""
        budget = len(self.getters) + len(self.putters)
        while True:
            line = self._next_line()
            if line is None:
                return
            if budget <= 0:
                self._schedule_unlock_in(hub)
                return
            budget -= 1
            try:
                waiter = line.popleft()
            except IndexError:
                continue
            if waiter.hub is not hub:
                line.appendleft(waiter)
                self._schedule_unlock_in(waiter.hub)
                return
            self._unpark(line, waiter)
            if self._unlock_pending:
                self._reclaim_unlock(hub)

    def _next_line(self) -> deque[W] | None:
        """The line whose first waiter can proceed now, or None."""
        raise NotImplementedError

    def _unpark(self, line: deque[W], waiter: W) -> None:
        """Let ``waiter`` (just taken from ``line``, of this hub) proceed."""
        waiter.switch(None)

    def _schedule_unlock_in(self, hub: Hub) -> None:
        """Run ``_unlock`` soon in *hub*, unless a call is already pending."""
        if self._unlock_pending:
            return
        self._unlock_pending = True
        loop = hub.loop
        assert loop is not None, "a waiter of a destroyed hub"
        if hub is this_thread.hub:
            self._unlock_cb = (hub, loop.run_callback(self._unlock))
        else:
            self._shared = True
            self._unlock_cb = (hub, loop.run_callback_threadsafe(self._unlock))

    def _reclaim_unlock(self, hub: Hub) -> None:
        """Called by ``_unlock`` running in *hub* after a switch: if the greenlet
        it woke scheduled another ``_unlock`` in this hub, cancel that one, as
        the running one carries on."""
        pending = self._unlock_cb
        if pending is not None and pending[0] is hub:
            pending[1].stop()
            self._unlock_pending = False


# -- the linkables' cross-thread waiters ------------------------------------------------


class CrossWaiter:
    """A link of a linkable object that may be called from any thread.

    Calling it claims it (once); :meth:`cancel` is the waiter's side of the
    same claim.  When ``consume`` is true the notifier first takes a permit
    from the linkable for the waiter (``_take_permit``) and, if the waiter
    withdrew meanwhile, gives it back.
    """

    __slots__ = ("_claim", "consume")

    def __init__(self, consume: bool) -> None:
        self._claim = _allocate_lock()
        self.consume = consume

    @property
    def dead(self) -> bool:
        """True once claimed by a notifier or withdrawn by the waiter."""
        return bool(self._claim.locked())

    def cancel(self) -> bool:
        """Withdraw: True if no notifier has claimed (and so woken) this waiter."""
        return bool(self._claim.acquire(False))

    def __call__(self, linkable: Permits) -> Any:
        consume = self.consume
        if consume and not linkable._take_permit():
            return RETRY
        if self._claim.acquire(False):
            self._wake(linkable)
        elif consume:
            linkable._return_permit()
        return None

    def _wake(self, linkable: Permits) -> None:
        raise NotImplementedError


class NativeWaiter(CrossWaiter):
    """A thread without a hub, blocked on a native lock."""

    __slots__ = ("_lock",)

    def __init__(self, consume: bool) -> None:
        super().__init__(consume)
        self._lock = _allocate_lock()
        self._lock.acquire()

    def _wake(self, linkable: Permits) -> None:
        self._lock.release()

    def block(self, seconds: float | None) -> bool:
        """Wait to be woken, at most ``seconds`` (None: forever)."""
        if seconds is None:
            return bool(self._lock.acquire())
        if seconds <= 0:
            return bool(self._lock.acquire(False))
        return bool(self._lock.acquire(True, min(seconds, _TIMEOUT_MAX)))


class HubWaiter(CrossWaiter):
    """A greenlet of another thread's hub, woken through an ``async_`` watcher of
    its own loop (which the started watcher also keeps alive)."""

    __slots__ = ("waiter", "_watcher")

    def __init__(self, hub: Hub, consume: bool) -> None:
        super().__init__(consume)
        self.waiter = Waiter(hub)
        loop = hub.loop
        assert loop is not None, "parking in a destroyed hub"
        self._watcher = loop.async_()
        self._watcher.start(self.waiter.switch, self)

    def _wake(self, linkable: Permits) -> None:
        try:
            self._watcher.send()
        except ValueError:
            # Closed, or its loop destroyed: nobody is waiting any more.
            pass

    def close(self) -> None:
        self._watcher.close()


class ThreadHop(CrossWaiter):
    """A callback linked from a greenlet of another thread's hub: it is run in
    that hub (where it was registered), not in the object's."""

    __slots__ = ("callback", "hub")

    def __init__(self, callback: Callable[[Any], Any], hub: Hub) -> None:
        super().__init__(False)
        self.callback = callback
        self.hub = hub

    def _wake(self, linkable: Permits) -> None:
        loop = self.hub.loop
        if loop is not None:
            try:
                loop.run_callback_threadsafe(self.callback, linkable)
            except ValueError:
                pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.callback!r} in {self.hub!r}>"
