"""A ``selectors.BaseSelector`` whose waiting is done by the hub's libev loop.

asyncio's selector event loop asks its selector, once per iteration, which
registered file descriptors are ready, waiting at most ``timeout`` seconds.
Here every registered descriptor has a libev io watcher on the hub's loop,
and ``select()`` parks only the calling greenlet (the one running the
asyncio loop) by switching to the hub, until a watcher, the timeout's
libev timer or a wake-up fires and a hub callback switches back: the hub,
and every other greenlet, runs meanwhile.

An io watcher that fires while the asyncio greenlet is not parked in
``select()`` stops itself (its readiness is recorded) and is restarted by
the next ``select()``: level-triggered readiness that asyncio has not
consumed yet must not spin the hub while the asyncio greenlet is busy
elsewhere.  Watchers only run between :meth:`HubSelector.activate` and
:meth:`HubSelector.deactivate` (while the loop runs), so an idle, stopped
asyncio loop never keeps the hub alive.
"""

from __future__ import annotations

import selectors
import sys
from asyncio.events import _get_running_loop, _set_running_loop
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from greenlet import getcurrent

from greenkit.hub import get_hub
from greenkit.loop.libev import EVENTS

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = ["HubSelector"]

_MASK = selectors.EVENT_READ | selectors.EVENT_WRITE


def _fd_of(fileobj: Any) -> int:
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


class _KeyMap(Mapping[Any, selectors.SelectorKey]):
    """The read-only ``get_map()`` view: file objects (or fds) to keys."""

    def __init__(self, keys: dict[int, selectors.SelectorKey]) -> None:
        self._keys = keys

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, fileobj: Any) -> selectors.SelectorKey:
        try:
            return self._keys[_fd_of(fileobj)]
        except ValueError:
            raise KeyError(f"{fileobj!r} is not registered") from None

    def __iter__(self) -> Any:
        return iter(self._keys)


class HubSelector(selectors.BaseSelector):
    """Readiness of file descriptors through io watchers on ``hub.loop``."""

    def __init__(self, hub: Hub | None = None) -> None:
        self._hub = get_hub() if hub is None else hub
        assert self._hub.loop is not None, "a selector on a destroyed hub"
        self._loop = self._hub.loop
        self._keys: dict[int, selectors.SelectorKey] = {}
        self._watchers: dict[int, Any] = {}
        self._ready: dict[int, int] = {}
        self._fired: set[int] = set()
        self._map = _KeyMap(self._keys)
        #: The greenlet parked in select() (the one running the asyncio loop).
        self._parked: Any = None
        self._wake_scheduled = False
        self._active = False
        self._closed = False
        # Wakes a parked select() from any thread (call_soon_threadsafe);
        # referenced only while the loop runs (see activate()).
        self._async = self._loop.async_(ref=False)
        self._async.start(self.wake)
        # The timeout of select(), reused from one iteration to the next.
        # set() and start(update=...) are libev's timer's own, beyond TimerProtocol.
        self._timer: Any = self._loop.timer(0.0)

    # -- registration -------------------------------------------------------

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        if not events or events & ~_MASK:
            raise ValueError(f"Invalid events: {events!r}")
        fd = _fd_of(fileobj)
        if fd in self._keys:
            raise KeyError(f"{fileobj!r} (FD {fd}) is already registered")
        key = selectors.SelectorKey(fileobj, fd, events, data)
        watcher = self._loop.io(fd, events)
        self._keys[fd] = key
        self._watchers[fd] = watcher
        if self._active:
            watcher.start(self._on_io, EVENTS, fd)
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = _fd_of(fileobj)
        try:
            key = self._keys.pop(fd)
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None
        self._watchers.pop(fd).close()
        self._ready.pop(fd, None)
        self._fired.discard(fd)
        return key

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        fd = _fd_of(fileobj)
        key = self._keys.get(fd)
        if key is None:
            raise KeyError(f"{fileobj!r} is not registered")
        if events != key.events:
            self.unregister(fileobj)
            return self.register(fileobj, events, data)
        if data is not key.data:
            key = key._replace(data=data)
            self._keys[fd] = key
        return key

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._map

    # -- running ------------------------------------------------------------

    def activate(self) -> None:
        """Start watching every registered descriptor (the loop starts running).

        While it runs, the wake-up watcher is referenced: a running asyncio
        loop waits for ever, even with nothing to watch (another thread may
        call ``call_soon_threadsafe``), rather than have the hub report that
        it would block for ever.
        """
        self._active = True
        self._async.ref = True
        for fd, watcher in self._watchers.items():
            watcher.start(self._on_io, EVENTS, fd)
        self._fired.clear()

    def deactivate(self) -> None:
        """Stop every watcher (the loop stopped running): it keeps nothing alive."""
        self._active = False
        self._async.ref = False
        for watcher in self._watchers.values():
            watcher.stop()

    def wake(self) -> None:
        """Make a parked ``select()`` return soon (hub or loop greenlet, same thread)."""
        if self._parked is not None and not self._wake_scheduled:
            self._wake_scheduled = True
            self._loop.run_callback(self._resume)

    def wake_threadsafe(self) -> None:
        """Make a parked ``select()`` return soon, from any thread."""
        if not self._closed:
            self._async.send()

    def _resume(self) -> None:
        self._wake_scheduled = False
        parked, self._parked = self._parked, None
        if parked is not None:
            try:
                parked.switch()
            except BaseException:  # an error escaping the loop's greenlet
                self._hub.handle_error(parked, *sys.exc_info())

    def _on_io(self, revents: int, fd: int) -> None:
        watcher = self._watchers.get(fd)
        if watcher is None:
            return
        # An error or hang-up (other bits) is reported as every event watched:
        # asyncio's callbacks find it with their next syscall.
        mask = revents & _MASK or watcher.events
        self._ready[fd] = self._ready.get(fd, 0) | mask
        if self._parked is None:
            # The asyncio greenlet is busy elsewhere (blocked in a greenlet
            # call, say): until its next select() this readiness stays
            # unconsumed, and a level-triggered watcher would fire on every
            # iteration of the hub.  A parked select() resumes before the
            # hub polls again: its watchers keep running.
            watcher.stop()
            self._fired.add(fd)
        self.wake()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if self._fired:
            for fd in self._fired:
                watcher = self._watchers.get(fd)
                if watcher is not None and self._active:
                    watcher.start(self._on_io, EVENTS, fd)
            self._fired.clear()
        if not self._ready:
            self._park(timeout)
        keys = self._keys
        ready = []
        for fd, mask in self._ready.items():
            key = keys.get(fd)
            if key is not None:
                ready.append((key, mask & key.events))
        self._ready.clear()
        return ready

    def _park(self, timeout: float | None) -> None:
        """Block this greenlet (only) until an io event, a wake-up or the timeout.

        A zero timeout still goes round the hub once, so that the hub polls
        and other greenlets run while asyncio is busy.  The running asyncio
        loop is per thread: it is cleared while parked so that other
        greenlets see none (and may run their own loop).
        """
        timer = None
        parked = self._parked = getcurrent()
        if timeout is not None:
            timer = self._timer
            timer.set(max(timeout, 0.0))
            timer.start(self.wake, update=True)
        running = _get_running_loop()
        _set_running_loop(None)
        try:
            # Resumed by _resume() (a hub callback), or thrown into by the hub.
            self._hub.switch()
        finally:
            _set_running_loop(running)
            if self._parked is parked:
                self._parked = None
            if timer is not None:
                timer.stop()

    def close(self) -> None:
        for watcher in self._watchers.values():
            watcher.close()
        self._watchers.clear()
        self._keys.clear()
        self._ready.clear()
        self._fired.clear()
        self._closed = True
        self._async.close()
        self._timer.close()
