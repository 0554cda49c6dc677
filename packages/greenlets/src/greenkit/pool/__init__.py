"""Managing greenlets in a group.

:class:`Group` keeps track of a set of running greenlets: each one is
removed automatically when it finishes, the whole set can be waited for
(``join()``) or killed (``kill()``), and the multiprocessing-like helpers
(``apply``, ``map``, ``imap``, ...) run work in greenlets spawned into it.

:class:`Pool` is a :class:`Group` with a maximum size: ``spawn()``,
``start()`` and ``add()`` block while the pool is full, until a member
finishes (or raise :class:`PoolFull` when asked not to block).

The mapping helpers live in :class:`GroupMappingMixin`, which needs only a
``spawn()`` method, so other executors (a thread pool, for instance) can
reuse them; see its docstring for the hooks it calls.
"""

from __future__ import annotations

import queue as _stdlib_queue
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from greenlet import GreenletExit, getcurrent

from greenkit.event import Event
from greenkit.greenlet import Greenlet, joinall
from greenkit.hub import kill as _kill_soon
from greenkit.hub import sleep
from greenkit.lock import DummySemaphore, Semaphore
from greenkit.queue import Queue
from greenkit.timeout import Timeout, start_for_call

__all__ = [
    "Group",
    "Pool",
    "PoolFull",
    "GroupMappingMixin",
    "IMap",
    "IMapUnordered",
]


class _ValueCallback:
    """A link that calls ``callback(source.value)`` when the source succeeded."""

    __slots__ = ("callback",)

    def __init__(self, callback: Callable[[Any], Any]) -> None:
        self.callback = callback

    def __call__(self, source: Any) -> None:
        if source.successful():
            self.callback(source.value)


# -- imap iterators -----------------------------------------------------------------


class _Finished:
    """Posted by the feeding greenlet once the input iterable is exhausted
    (or raised ``error``); ``count`` tasks were started before that."""

    __slots__ = ("count", "error")

    def __init__(self, count: int, error: BaseException | None) -> None:
        self.count = count
        self.error = error


class IMapUnordered(Greenlet):
    """The iterator ``imap_unordered()`` returns: results in completion order.

    It is also the greenlet that feeds the work: it iterates over the input
    and starts one task per item with the ``spawn`` callable it was given
    (which may block, e.g. while a pool is full).  Each finished task is
    posted to :attr:`queue`, from which ``next()`` takes it and returns its
    value or raises its exception; iteration then goes on with the next
    result.  If iterating over the input raises, ``next()`` raises that
    error once the tasks started before it have been returned, and the
    iteration is over.

    With ``maxsize``, at most that many results may be started but not yet
    consumed: the feeding greenlet waits for the reader before starting more.
    """

    #: The queue of finished tasks (and the end marker) awaiting the reader.
    queue: Any

    def __init__(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Any],
        spawn: Callable[..., Any],
        maxsize: int | None = None,
        _zipped: bool = False,
    ) -> None:
        Greenlet.__init__(self)
        if not callable(func):
            raise TypeError(f"{func!r} is not callable")
        self.func = func
        self.iterable = iterable
        self._spawn_task = spawn
        self.maxsize = maxsize
        self._zipped = _zipped
        self.queue = Queue()
        #: Free places for results; None when unbounded.
        self._slots: Any = Semaphore(maxsize) if maxsize else None
        #: How many tasks have been started.
        self.count = 0
        #: True once the feeding greenlet has gone through the whole input.
        self.finished = False
        self._exhausted = False
        self._total: int | None = None
        self._error: BaseException | None = None
        self._delivered = 0

    # -- the feeding side (runs in this greenlet) ---------------------------

    def _run(self) -> None:
        func = self.func
        spawn = self._spawn_task
        slots = self._slots
        zipped = self._zipped
        try:
            for item in self.iterable:
                if slots is not None:
                    slots.acquire()
                task = spawn(func, *item) if zipped else spawn(func, item)
                self.count += 1
                self._started(task)
        except GreenletExit:
            # Killed: the reader gets what was started, then the end.
            self._finish(None)
            raise
        except BaseException as ex:
            # The input failed: the reader raises it after what was started.
            self._finish(ex)
            if not isinstance(ex, Exception):
                raise
            return
        self._finish(None)

    def _started(self, task: Any) -> None:
        task.rawlink(self.queue.put)

    def _finish(self, error: BaseException | None) -> None:
        self.finished = True
        self.queue.put(_Finished(self.count, error))

    # -- the reading side ----------------------------------------------------

    def __iter__(self) -> Iterator[Any]:
        return self

    def _end(self) -> Any:
        self._exhausted = True
        error, self._error = self._error, None
        if error is not None:
            raise error
        raise StopIteration

    def __next__(self) -> Any:
        if self._exhausted:
            raise StopIteration
        while True:
            if self._total is not None and self._delivered >= self._total:
                return self._end()
            item = self.queue.get()
            if item.__class__ is _Finished:
                self._total = item.count
                self._error = item.error
                continue
            self._delivered += 1
            if self._slots is not None:
                self._slots.release()
            return item.get()


class IMap(IMapUnordered):
    """The iterator ``imap()`` returns: like :class:`IMapUnordered`, but the
    results come in the order of the input.

    Tasks are posted to :attr:`queue` as they are started, and ``next()``
    waits for the oldest one to finish.
    """

    def _started(self, task: Any) -> None:
        self.queue.put(task)

    def __next__(self) -> Any:
        if self._exhausted:
            raise StopIteration
        item = self.queue.get()
        if item.__class__ is _Finished:
            self._error = item.error
            return self._end()
        try:
            return item.get()
        finally:
            if self._slots is not None:
                self._slots.release()


# -- the mapping mixin ------------------------------------------------------------------


_M = TypeVar("_M", bound=IMapUnordered)


class GroupMappingMixin:
    """``apply``/``map``/``imap`` and friends, built on ``self.spawn``.

    A class using it provides ``spawn(func, *args, **kwargs)``, returning an
    object with ``get()``, ``rawlink()`` and ``link()`` (a Greenlet, or an
    AsyncResult-like object), and may override these hooks:

    ``_apply_immediately()``
        True when ``apply()`` should simply call the function in the
        current greenlet (here: when the caller is itself a member, so that
        a full pool cannot deadlock on re-entrant calls).
    ``_apply_async_use_greenlet()``
        True when ``apply_async()`` must not call ``spawn`` directly (here:
        when it would block because the group is full); the work is then
        handed to ``_apply_async_cb_spawn(apply_cb, func, args, kwds,
        callback)``, by default ``Greenlet.spawn``, which runs ``apply_cb``
        in a new greenlet that is not tracked.
    ``_apply_cb_callback(callback, result)``
        How ``apply_cb()`` delivers the result (here: in a new, untracked
        greenlet).
    """

    def spawn(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def _apply_immediately(self) -> bool:
        return False

    def _apply_async_use_greenlet(self) -> bool:
        return False

    def _apply_async_cb_spawn(self, func: Callable[..., Any], *args: Any) -> Any:
        return Greenlet.spawn(func, *args)

    def _apply_cb_callback(self, callback: Callable[[Any], Any], result: Any) -> None:
        Greenlet.spawn(callback, result)

    def apply(
        self,
        func: Callable[..., Any],
        args: Iterable[Any] | None = None,
        kwds: dict[str, Any] | None = None,
    ) -> Any:
        """Call ``func(*args, **kwds)`` (usually in a new member) and return its
        result, or raise its exception."""
        if args is None:
            args = ()
        if kwds is None:
            kwds = {}
        if self._apply_immediately():
            return func(*args, **kwds)
        return self.spawn(func, *args, **kwds).get()

    def apply_cb(
        self,
        func: Callable[..., Any],
        args: Iterable[Any] | None = None,
        kwds: dict[str, Any] | None = None,
        callback: Callable[[Any], Any] | None = None,
    ) -> Any:
        """``apply()``, then (if it did not raise) hand the result to
        ``callback``, here in a new greenlet this group does not track."""
        result = self.apply(func, args, kwds)
        if callback is not None:
            self._apply_cb_callback(callback, result)
        return result

    def apply_async(
        self,
        func: Callable[..., Any],
        args: Iterable[Any] | None = None,
        kwds: dict[str, Any] | None = None,
        callback: Callable[[Any], Any] | None = None,
    ) -> Any:
        """Start ``func(*args, **kwds)`` and return the greenlet running it,
        without ever blocking (when the group is full, a separate greenlet
        waits for room).  ``callback(result)`` is called if it succeeds."""
        if args is None:
            args = ()
        if kwds is None:
            kwds = {}
        if self._apply_async_use_greenlet():
            return self._apply_async_cb_spawn(self.apply_cb, func, args, kwds, callback)
        task = self.spawn(func, *args, **kwds)
        if callback is not None:
            task.link(_ValueCallback(callback))
        return task

    def map(self, func: Callable[..., Any], iterable: Iterable[Any]) -> list[Any]:
        """``[func(item) for item in iterable]``, computed in parallel; the
        first error (in input order) is raised."""
        return list(self.imap(func, iterable))

    def map_cb(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Any],
        callback: Callable[[Any], Any] | None = None,
    ) -> list[Any]:
        """``map()``, then pass the list of results to ``callback``."""
        result = self.map(func, iterable)
        if callback is not None:
            callback(result)
        return result

    def map_async(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Any],
        callback: Callable[[Any], Any] | None = None,
    ) -> Greenlet:
        """Run ``map_cb(func, iterable, callback)`` in a new greenlet (not
        tracked by this group) and return that greenlet."""
        return Greenlet.spawn(self.map_cb, func, iterable, callback)

    def _imap(
        self,
        cls: type[_M],
        func: Callable[..., Any],
        iterables: tuple[Iterable[Any], ...],
        maxsize: int | None,
    ) -> _M:
        if not iterables:
            raise TypeError("imap() needs at least one iterable")
        if len(iterables) == 1:
            return cls.spawn(func, iterables[0], self.spawn, maxsize)
        return cls.spawn(func, zip(*iterables, strict=False), self.spawn, maxsize, True)

    def imap(
        self, func: Callable[..., Any], *iterables: Iterable[Any], maxsize: int | None = None
    ) -> IMap:
        """Like the builtin ``map()`` (several iterables are zipped), but the
        calls run in parallel; results come in input order.

        An error raised by one call is raised by ``next()`` at that place;
        the iteration can go on after it.  ``maxsize`` bounds how many
        finished results may wait for the reader."""
        return self._imap(IMap, func, iterables, maxsize)

    def imap_unordered(
        self, func: Callable[..., Any], *iterables: Iterable[Any], maxsize: int | None = None
    ) -> IMapUnordered:
        """Like ``imap()``, but results come in the order they are ready."""
        return self._imap(IMapUnordered, func, iterables, maxsize)


# -- Group -------------------------------------------------------------------------


class Group(GroupMappingMixin):
    """The greenlets that are still running, without limit on their number.

    Each greenlet added is linked so that it is removed when it finishes
    (plain ``greenlet.greenlet`` objects cannot be linked: they stay until
    discarded).  A group supports ``len()``, ``in`` and iteration, and is
    false when empty.  ``Group(greenlets)`` starts tracking those greenlets.
    """

    #: The class ``spawn()`` creates (``Greenlet`` or a subclass); may be
    #: changed in a subclass or on an instance.
    greenlet_class: type[Greenlet] = Greenlet

    def __init__(self, *args: Iterable[Any]) -> None:
        if len(args) > 1:
            raise TypeError(f"Group() takes at most 1 argument ({len(args)} given)")
        #: The greenlets being tracked.
        self.greenlets: set[Any] = set()
        #: Members that have been killed but have not finished yet.
        self.dying: set[Any] = set()
        self._empty_event = Event()
        self._empty_event.set()
        # One bound method, so link/unlink see the same object.
        self._discard_link = self._discard
        if args:
            for greenlet in args[0]:
                self.add(greenlet)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x} {self.greenlets!r}>"

    def __len__(self) -> int:
        """How many greenlets are tracked (an empty group is false)."""
        return len(self.greenlets)

    def __contains__(self, item: object) -> bool:
        """Whether ``item`` is tracked."""
        return item in self.greenlets

    def __iter__(self) -> Iterator[Any]:
        """The tracked greenlets (a snapshot)."""
        return iter(list(self.greenlets))

    # -- membership -----------------------------------------------------------

    def add(self, greenlet: Any) -> None:
        """Start tracking ``greenlet``; it is removed when it finishes.

        For a group that can be full, this may block; add greenlets before
        starting them, so none finishes before it is tracked."""
        rawlink = getattr(greenlet, "rawlink", None)
        if rawlink is not None:
            rawlink(self._discard_link)
        self.greenlets.add(greenlet)
        self._empty_event.clear()

    def _discard(self, greenlet: Any) -> None:
        greenlets = self.greenlets
        greenlets.discard(greenlet)
        self.dying.discard(greenlet)
        if not greenlets:
            self._empty_event.set()

    def discard(self, greenlet: Any) -> None:
        """Stop tracking ``greenlet`` (no error if it is not tracked)."""
        self._discard(greenlet)
        unlink = getattr(greenlet, "unlink", None)
        if unlink is not None:
            unlink(self._discard_link)

    def start(self, greenlet: Any) -> None:
        """Track the not yet started ``greenlet``, then start it."""
        self.add(greenlet)
        greenlet.start()

    def spawn(self, *args: Any, **kwargs: Any) -> Any:
        """Create a greenlet (``greenlet_class(*args, **kwargs)``), track it,
        start it and return it."""
        greenlet = self.greenlet_class(*args, **kwargs)
        self.start(greenlet)
        return greenlet

    # -- the mapping hooks ---------------------------------------------------

    def _apply_immediately(self) -> bool:
        # A member calling apply() runs the function itself: with a full
        # pool, waiting for room could deadlock.
        return getcurrent() in self.greenlets

    def _apply_async_use_greenlet(self) -> bool:
        # apply_async() never blocks: when spawning would, a helper waits.
        return self.full()

    # -- capacity -----------------------------------------------------------

    def full(self) -> bool:
        """Whether adding a greenlet would block: never, for a Group."""
        return False

    def wait_available(self, timeout: float | None = None) -> int | None:
        """Wait until a greenlet can be added: a Group never waits."""
        return None

    # -- waiting and killing --------------------------------------------------

    def join(self, timeout: float | None = None, raise_error: bool = False) -> bool:
        """Wait until the group is empty (at least once), or ``timeout`` seconds.

        Returns True if it became empty, False if the timeout expired first.
        With ``raise_error``, if one of the greenlets tracked when the call
        began died with an error, that error is raised instead."""
        if not raise_error:
            return bool(self._empty_event.wait(timeout))
        members = list(self.greenlets)
        emptied = bool(self._empty_event.wait(timeout))
        for greenlet in members:
            if getattr(greenlet, "exception", None) is not None:
                raiser = getattr(greenlet, "_raise_exception", None)
                if raiser is not None:
                    raiser()
                raise greenlet.exception
        return emptied

    def killone(
        self,
        greenlet: Any,
        exception: Any = GreenletExit,
        block: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Raise ``exception`` in one tracked greenlet (once: a greenlet
        already being killed is left alone); with ``block``, wait up to
        ``timeout`` seconds for it to finish."""
        if greenlet in self.dying or greenlet not in self.greenlets:
            return
        self.dying.add(greenlet)
        _kill_soon(greenlet, exception)
        if block and hasattr(greenlet, "join"):
            greenlet.join(timeout)

    def kill(
        self, exception: Any = GreenletExit, block: bool = True, timeout: float | None = None
    ) -> None:
        """Raise ``exception`` in every tracked greenlet (each one only once).

        With ``block`` (the default) wait until they have all finished,
        killing greenlets added meanwhile too, but give up silently after
        ``timeout`` seconds.  If the calling greenlet is a member, it is
        killed last, as gevent does: once the others are dead (or, without
        ``block``, once their killing is scheduled, or when ``timeout``
        expires), ``exception`` is raised right here, in the caller."""
        current = getcurrent()
        timer = start_for_call(timeout)
        try:
            while True:
                members = [g for g in self.greenlets if g is not current]
                if not members:
                    break
                dying = self.dying
                for greenlet in members:
                    if greenlet not in dying:
                        dying.add(greenlet)
                        _kill_soon(greenlet, exception)
                if not block:
                    break
                self._wait_for(members)
        except Timeout as ex:
            if ex is not timer:
                raise
        finally:
            timer.close()
        if current in self.greenlets and current not in self.dying:
            self.dying.add(current)
            raise exception

    def _wait_for(self, members: list[Any]) -> None:
        linkable = [g for g in members if hasattr(g, "rawlink")]
        if linkable:
            joinall(linkable)
        raw = [g for g in members if not hasattr(g, "rawlink")]
        if raw:
            # Plain greenlets cannot tell us when they finish: look again soon.
            sleep(0.005 if all(not g.dead for g in raw) else 0)
            for greenlet in raw:
                if greenlet.dead:
                    self._discard(greenlet)


# -- Pool --------------------------------------------------------------------------


class PoolFull(_stdlib_queue.Full):
    """Raised by ``Pool.add()``/``start()`` when the pool is full and the call
    must not block, or its timeout expired."""


class Pool(Group):
    """A :class:`Group` holding at most ``size`` greenlets.

    ``size`` None (the default) puts no limit (useful to track greenlets);
    0 makes a pool nothing can ever be added to (only useful with
    ``wait_available(timeout)`` and ``free_count()``); a negative size is a
    ValueError.  ``greenlet_class`` replaces the class ``spawn()`` creates.
    """

    def __init__(
        self, size: int | None = None, greenlet_class: type[Greenlet] | None = None
    ) -> None:
        if size is not None and size < 0:
            raise ValueError(f"size must not be negative: {size!r}")
        Group.__init__(self)
        #: The maximum number of members (None: unlimited).
        self.size = size
        if greenlet_class is not None:
            self.greenlet_class = greenlet_class
        self._semaphore: Any = DummySemaphore() if size is None else Semaphore(size)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x} size={self.size!r} {self.greenlets!r}>"

    def wait_available(self, timeout: float | None = None) -> int:
        """Wait (up to ``timeout`` seconds) until a greenlet can be added;
        return ``free_count()``.  A pool of size 0 waits until the timeout
        (forever without one)."""
        if self.size is not None:
            self._semaphore.wait(timeout)
        return self.free_count()

    def full(self) -> bool:
        """Whether the pool holds ``size`` greenlets (never, without a size)."""
        return self.free_count() <= 0

    def free_count(self) -> int:
        """How many more greenlets could be added now (1 for an unlimited pool)."""
        size = self.size
        if size is None:
            return 1
        return max(0, size - len(self.greenlets))

    def add(self, greenlet: Any, blocking: bool = True, timeout: float | None = None) -> None:
        """Track ``greenlet``, first waiting for room if the pool is full.

        With ``blocking`` false, or when ``timeout`` seconds pass without
        room, raise :class:`PoolFull`."""
        if greenlet in self.greenlets:
            return
        if not self._semaphore.acquire(blocking, timeout):
            raise PoolFull()
        try:
            Group.add(self, greenlet)
        except BaseException:
            self._semaphore.release()
            raise

    def start(self, greenlet: Any, blocking: bool = True, timeout: float | None = None) -> None:
        """``add(greenlet, blocking, timeout)``, then start the greenlet."""
        self.add(greenlet, blocking, timeout)
        greenlet.start()

    def _discard(self, greenlet: Any) -> None:
        if greenlet in self.greenlets:
            Group._discard(self, greenlet)
            self._semaphore.release()
