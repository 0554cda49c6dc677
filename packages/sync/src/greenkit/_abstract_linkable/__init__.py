"""Links and waiting: the machinery under Event, AsyncResult and Semaphore.

An :class:`AbstractLinkable` keeps a FIFO list of *links*: callables that
are called with the object, once (a link is removed before it is called),
when the object is *ready* (an Event is set, a Semaphore has a permit).
Greenlets that block on the object are links too.  Notifying them is a
*round*: one ``loop.run_callback`` in the object's hub that calls the links
present when it starts, in order -- all of them for Event and AsyncResult,
as long as the object stays ready for Semaphore.  Links added while a
round runs wait for the next round, so a greenlet that waits again on a
still-set Event goes to the back of the line instead of spinning inside
the round, and a greenlet that finds an Event set while a round is pending
queues behind the greenlets already waiting.

Hubs and threads.  An object belongs to the hub (``.hub``) of the thread
that first blocks on it or links a callback to it, unless one is given.
A greenlet of that hub links its own ``switch`` and the round switches into
it (the fast path: no lock, one allocation for the link).  Other waiters
park with the cross-thread waiters of ``greenkit._parking`` (a greenlet of
another thread's hub: ``HubWaiter``; a thread without a hub:
``NativeWaiter``); a hubless thread creates its hub and waits as a
greenlet only when it is the main thread and the object shows no sign of
use by several threads (so a deadlock in a single-threaded program still
ends in ``LoopExit``).  Cross waiters can be woken from any thread, so
whoever makes the object ready wakes those at the head of the queue at
once; whatever must run in the owning hub is left to a round scheduled
there.  Why all this is thread-safe is explained once, in
``greenkit._parking``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from greenlet import getcurrent
from greenlet import greenlet as _RawGreenlet

from greenkit._hub_local import get_hub, this_thread
from greenkit._originals import get_original
from greenkit._parking import (
    RETRY,
    CrossWaiter,
    HubWaiter,
    NativeWaiter,
    ThreadHop,
    TimeoutArg,
    keep_loop_alive,
)
from greenkit.exceptions import HubDestroyed, InvalidSwitchError
from greenkit.timeout import Timeout, start_for_call

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = ["AbstractLinkable"]

# Native primitives, never their monkey-patched replacements.
_get_ident = get_original("_thread", ["get_ident"])[0]
_MAIN_THREAD_IDENT = threading.main_thread().ident
_greenlet_switch = _RawGreenlet.switch

#: ``_notifier`` while another thread is queueing a round in the owning hub.
_SCHEDULED_ELSEWHERE: Any = object()


def _invalid_switch(result: Any, expected: Any) -> InvalidSwitchError:
    """The error for a waiting greenlet resumed with something unexpected."""
    return InvalidSwitchError(
        f"Invalid switch into {getcurrent()!r}: got {result!r} (expected {expected!r})"
    )


def _find(links: list[Any], callback: Any) -> int:
    """Index of ``callback`` in ``links`` (identity first, then equality), or -1."""
    for i, link in enumerate(links):
        if link is callback:
            return i
    for i, link in enumerate(links):
        try:
            if link == callback or (type(link) is ThreadHop and link.callback == callback):
                return i
        except Exception:  # noqa: BLE001 - an odd __eq__ is not a match
            continue
    return -1


class AbstractLinkable:
    """Base of the objects greenlets can wait for and link callbacks to.

    Subclasses define :meth:`ready` and call :meth:`_check_and_notify` after
    becoming ready; their blocking methods use :meth:`_wait_core`.
    """

    __slots__ = ("hub", "_links", "_notifier", "_round", "_cross", "__weakref__")

    #: True: a round calls every link present when it starts (Event,
    #: AsyncResult); False: only while :meth:`ready` stays true (Semaphore).
    _notify_all = True

    def __init__(self, hub: Hub | None = None) -> None:
        #: The hub the object belongs to (None until first needed).
        self.hub = hub
        self._links: list[Any] = []
        #: The pending or running round (the loop callback), else None.
        self._notifier: Any = None
        #: The private list the running round walks, else None.
        self._round: list[Any] | None = None
        #: True once a cross-thread waiter has been linked.
        self._cross = False

    # -- what subclasses define ----------------------------------------------------

    def ready(self) -> bool:
        """True if waiting would not block."""
        raise NotImplementedError

    def _take_permit(self) -> bool:
        """Take what a consuming waiter needs (atomically); False if unavailable."""
        return True

    def _return_permit(self) -> None:
        """Undo :meth:`_take_permit` (the waiter withdrew)."""

    def _multithreaded(self) -> bool:
        """True if the object shows signs of use from several native threads."""
        return False

    #: Whether :meth:`_multithreaded` can ever be true for this class (the
    #: semaphores track their threads): lets the hot path skip the call.
    _tracks_threads = False

    # -- links ---------------------------------------------------------------------

    def rawlink(self, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(self)`` from the hub once this object is ready (soon, if
        it already is).  The link is removed before it is called."""
        if not callable(callback):
            raise TypeError(f"Expected callable: {callback!r}")
        cur = this_thread.hub
        owner = self._live_owner()
        if owner is None:
            self.hub = cur if cur is not None else get_hub()
        elif cur is not None and owner is not cur:
            callback = ThreadHop(callback, cur)
            self._cross = True
        self._links.append(callback)
        if self.ready():
            self._check_and_notify()

    def unlink(self, callback: Callable[[Any], Any]) -> None:
        """Remove a callback added by :meth:`rawlink` (nothing happens if absent)."""
        if self._remove_link(callback):
            return
        # Maybe wrapped (linked from another thread's hub) or with an odd __eq__.
        links = self._links
        i = _find(links, callback)
        if i >= 0:
            del links[i]
            return
        todo = self._round
        if todo is not None and self.hub is this_thread.hub:
            i = _find(todo, callback)
            if i >= 0:
                todo[i] = None

    def _remove_link(self, link: Any) -> bool:
        """Remove ``link`` itself (a link this module added, or an exact callback)."""
        try:
            self._links.remove(link)
            return True
        except ValueError:
            pass
        except Exception:  # noqa: BLE001 - a link with an odd __eq__: scan by identity
            links = self._links
            for i, x in enumerate(links):
                if x is link:
                    del links[i]
                    return True
        todo = self._round
        if todo is not None and self.hub is this_thread.hub:
            # Only the owning thread touches the running round's list.
            for i, x in enumerate(todo):
                if x is link:
                    todo[i] = None
                    return True
        return False

    def linkcount(self) -> int:
        """How many links (callbacks and waiters) are registered."""
        count = 0
        for group in (self._links[:], self._round):
            if group:
                for link in group:
                    if link is not None and not (isinstance(link, CrossWaiter) and link.dead):
                        count += 1
        return count

    # -- notification --------------------------------------------------------------

    def _live_owner(self) -> Any:
        """The owning hub, or None if unbound or if that hub has been destroyed
        (then the object is unbound again, ready for another hub)."""
        hub = self.hub
        if hub is not None and getattr(hub, "loop", None) is None:
            self.hub = None
            self._notifier = None
            # Links of greenlets of a destroyed hub can never run.
            links = self._links
            for link in links[:]:
                if not isinstance(link, CrossWaiter):
                    try:
                        links.remove(link)
                    except ValueError:
                        pass
            return None
        return hub

    def _check_and_notify(self) -> None:
        """Notify the links that can be notified now; the object is ready (or a
        waiter just queued behind a pending round), and has links."""
        if self._notifier is None and not self._cross:
            hub = self.hub
            if hub is this_thread.hub and hub is not None:
                loop = hub.loop
                if loop is not None:
                    # The common case, inline: a round in this thread's hub.
                    self._notifier = loop.run_callback(self._notify_links)
                    return
        if self._cross and (self._round is None or self.hub is not this_thread.hub):
            if not self._wake_cross_head():
                return
        if self._notifier is None and self._links:
            self._start_notify()

    def _wake_cross_head(self) -> bool:
        """Call the cross-thread links at the head of the queue, from any thread.

        True if a link that must run in the owning hub is next in line (the
        object still being ready); False if nothing is left to do now.
        """
        notify_all = self._notify_all
        for link in self._links[:]:
            if not notify_all and not self.ready():
                return False
            if not isinstance(link, CrossWaiter):
                return True
            if link(self) is RETRY:
                return False
            try:
                self._links.remove(link)
            except ValueError:
                # A round took it: it will find the waiter claimed and skip it.
                pass
        return False

    def _start_notify(self) -> None:
        """Arrange for a round in the owning hub."""
        hub = self.hub
        if hub is this_thread.hub and hub is not None and hub.loop is not None:
            self._notifier = hub.loop.run_callback(self._notify_links)
            return
        hub = self._live_owner()
        if hub is None:
            # Unbound: only cross waiters can be linked, and they were handled.
            return
        loop = hub.loop
        # Mark first: the round may run (and finish) before the call returns.
        self._notifier = _SCHEDULED_ELSEWHERE
        try:
            loop.run_callback_threadsafe(self._notify_links)
        except ValueError:
            # The loop was destroyed meanwhile.
            self._notifier = None

    def _notify_links(self) -> None:
        """A round (runs in the owning hub): call the links present now."""
        todo = self._links
        if todo:
            self._links = []
            self._round = todo
            n = len(todo)
            i = 0
            try:
                if self._notify_all:
                    while i < n:
                        link = todo[i]
                        todo[i] = None
                        i += 1
                        if link is not None:
                            try:
                                link(self)
                            except BaseException as ex:  # noqa: BLE001
                                self._link_failed(link, ex)
                else:
                    while i < n:
                        link = todo[i]
                        if link is None:
                            i += 1
                            continue
                        if not self.ready():
                            break
                        todo[i] = None
                        i += 1
                        try:
                            if link(self) is RETRY:
                                i -= 1
                                todo[i] = link
                                break
                        except BaseException as ex:  # noqa: BLE001
                            self._link_failed(link, ex)
            finally:
                self._round = None
                if i < n:
                    rest = [link for link in todo[i:] if link is not None]
                    if rest:
                        # Put them back in front of the links added meanwhile.
                        # No call or backward jump: atomic under the GIL.
                        newer = self._links
                        self._links = rest
                        rest.extend(newer)
        self._notifier = None
        if self._links and self.ready():
            self._check_and_notify()

    def _link_failed(self, link: Any, ex: BaseException) -> None:
        if isinstance(ex, HubDestroyed):
            raise ex
        hub = self.hub or get_hub()
        hub.handle_error((link, self), type(ex), ex, ex.__traceback__)

    # -- waiting -------------------------------------------------------------------

    def _wait(self, timeout: TimeoutArg = None) -> bool:
        """Block until notified or until ``timeout`` (seconds or a Timeout) expires;
        True if notified.  What subclasses' ``wait()`` methods build on."""
        return self._wait_core(timeout, False, True)

    def _wait_core(self, timeout: TimeoutArg, consume: bool, catch: bool) -> bool:
        """Block until notified.

        Returns True when notified (with ``consume``: having taken a permit),
        False when ``timeout`` expired and ``catch`` is true; otherwise the
        timeout, like any other exception, propagates.
        """
        cur = this_thread.hub
        if self.hub is cur and cur is not None:
            if (
                timeout is None
                and not consume
                and not (self._tracks_threads and self._multithreaded())
            ):
                # The common case (Event.wait() in the owning hub), inline.
                current = getcurrent()
                switch = current.switch
                self._links.append(switch)
                if self._notifier is None and self.ready():
                    self._check_and_notify()
                try:
                    # cur.switch() (Hub.switch), inlined too.
                    switch_out = getattr(current, "switch_out", None)
                    if switch_out is not None:
                        switch_out()
                    result = _greenlet_switch(cur)
                except BaseException:
                    self._remove_link(switch)
                    raise
                if result is not self:
                    self._remove_link(switch)
                    raise _invalid_switch(result, self)
                return True
            return self._wait_here(cur, timeout, consume, catch, self._multithreaded())
        owner = self._live_owner()
        if cur is None:
            if owner is not None or self._multithreaded() or _get_ident() != _MAIN_THREAD_IDENT:
                return self._wait_native(timeout, consume, catch)
            cur = get_hub()
        if owner is None:
            self.hub = owner = cur
        if owner is not cur:
            return self._wait_foreign(cur, timeout, consume, catch)
        return self._wait_here(cur, timeout, consume, catch, self._multithreaded())

    def _wait_here(
        self, hub: Hub, timeout: TimeoutArg, consume: bool, catch: bool, keepalive: bool
    ) -> bool:
        """Wait as a greenlet of the owning hub."""
        switch = getcurrent().switch
        timer = start_for_call(timeout)
        # Another thread may be the one to wake us: keep the loop running.
        watcher = keep_loop_alive(hub) if keepalive else None
        try:
            while True:
                self._links.append(switch)
                if self._notifier is None and self.ready():
                    self._check_and_notify()
                try:
                    result = hub.switch()
                except BaseException as ex:
                    self._remove_link(switch)
                    if catch and ex is timer:
                        return False
                    raise
                if result is not self:
                    self._remove_link(switch)
                    raise _invalid_switch(result, self)
                if not consume or self._take_permit():
                    return True
                # Another thread took the permit first: wait for the next one.
        finally:
            timer.close()
            if watcher is not None:
                watcher.close()

    def _wait_foreign(self, hub: Hub, timeout: TimeoutArg, consume: bool, catch: bool) -> bool:
        """Wait as a greenlet of another thread's hub."""
        waiter = HubWaiter(hub, consume)
        self._cross = True
        self._links.append(waiter)
        if self.ready():
            self._check_and_notify()
        timer = start_for_call(timeout)
        try:
            try:
                result = waiter.waiter.get()
            finally:
                timer.close()
        except BaseException as ex:
            if waiter.cancel():
                waiter.close()
                self._forget(waiter)
                if catch and ex is timer:
                    return False
                raise
            # A notifier claimed us at the same moment: its wake-up is on its
            # way; collect it so the watcher is closed after its last use.
            try:
                waiter.waiter.get()
            finally:
                waiter.close()
            if ex is timer:
                # Notified as the time ran out: that wins.
                return True
            if consume:
                self._give_back()
            raise
        waiter.close()
        if result is not waiter:
            raise _invalid_switch(result, waiter)
        return True

    def _wait_native(self, timeout: TimeoutArg, consume: bool, catch: bool) -> bool:
        """Wait as a thread that has no hub, on a native lock."""
        waiter = NativeWaiter(consume)
        self._cross = True
        self._links.append(waiter)
        if self.ready():
            self._check_and_notify()
        seconds = timeout.seconds if isinstance(timeout, Timeout) else timeout
        try:
            woken = waiter.block(seconds)
        except BaseException:
            if waiter.cancel():
                self._forget(waiter)
                raise
            waiter.block(None)
            if consume:
                self._give_back()
            raise
        if woken:
            return True
        if waiter.cancel():
            self._forget(waiter)
            if catch:
                return False
            raise timeout if isinstance(timeout, Timeout) else Timeout(seconds)
        # Claimed by a notifier as the time ran out: the wake-up is imminent.
        waiter.block(None)
        return True

    def _forget(self, waiter: CrossWaiter) -> None:
        try:
            self._links.remove(waiter)
        except ValueError:
            # In a round's list, which will skip it.
            pass

    def _give_back(self) -> None:
        """A consuming waiter that was granted a permit is leaving without it."""
        self._return_permit()
        if self._links:
            self._check_and_notify()

    # -- fork ----------------------------------------------------------------------

    def _reset_links(self) -> None:
        """Forget links, rounds and the owning hub (after ``fork()``)."""
        self._links = []
        self._notifier = None
        self._round = None
        self._cross = False
        self.hub = None

    def __repr__(self) -> str:
        return (
            f"<{type(self).__module__}.{type(self).__name__} at {id(self):#x}"
            f"{self._repr_state()} links={self.linkcount()}>"
        )

    def _repr_state(self) -> str:
        return ""
