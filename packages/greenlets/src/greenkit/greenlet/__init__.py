"""Greenlet: a cooperatively scheduled unit of work that remembers its result.

A :class:`Greenlet` is a ``greenlet.greenlet`` whose parent is the hub.
``start()`` (or the ``spawn`` class method) queues a switch into it on the
hub's loop; when the function returns or raises, the outcome is stored
(``value`` / ``exception``) and the callbacks registered with ``link()`` and
``rawlink()`` are called, in order, from the hub.  ``join()``, ``get()`` and
``kill()`` build on those links, and ``joinall()`` / ``killall()`` act on
many greenlets at once.

The spawn, run and report paths are kept lean on purpose (spawning and
joining many thousands of greenlets is the common case): state lives in
slots, link lists are created only when a link is added, spawning
information (``spawning_greenlet``, ``spawn_tree_locals``,
``spawning_stack``) is captured only while ``config.track_greenlet_tree`` is
true, and the spawning stack is turned into frame objects only when read.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from types import FunctionType, TracebackType
from typing import Any, TypeVar
from weakref import ref as wref

from greenkit import config
from greenkit._hub_local import get_hub, this_thread
from greenkit._ident import IdentRegistry
from greenkit._waiter import Waiter
from greenkit.exceptions import InvalidSwitchError
from greenkit.greenlet._links import (
    FailureSpawnedLink,
    SpawnedLink,
    SuccessSpawnedLink,
    _exception_from,
)
from greenkit.greenlet._stack import _build_frames, _capture_stack, _Frame
from greenkit.hub import iwait, wait
from greenkit.timeout import Timeout, start_for_call
from greenlet import GreenletExit, getcurrent
from greenlet import greenlet as RawGreenlet

__all__ = [
    "Greenlet",
    "GreenletExit",
    "joinall",
    "killall",
    "SpawnedLink",
    "SuccessSpawnedLink",
    "FailureSpawnedLink",
]

_G = TypeVar("_G", bound="Greenlet")

# Re-exported: their public home is this module.
SpawnedLink.__module__ = SuccessSpawnedLink.__module__ = FailureSpawnedLink.__module__ = __name__


_raw_dead = RawGreenlet.dead.__get__
_raw_init = RawGreenlet.__init__
_raw_throw = RawGreenlet.throw

# States of ``Greenlet._start_event`` besides None (never started) and the
# loop callback or timer that will switch into the greenlet.
_RUNNING: Any = object()  # switched into at least once
_ABORTED: Any = object()  # killed before it was ever switched into

#: ``_exc_info`` of a greenlet that finished without an error.
_SUCCESS: tuple[Any, ...] = ()

#: ``_tree_locals`` of a tracked greenlet whose dict is made on first use.
_LAZY: Any = object()

_spawn_callbacks: list[Callable[[Greenlet], Any]] | None = None

# ids of greenlets whose subclass __str__ is running (see _guarded_str).
_in_custom_str: set[int] = set()


def _tracking_reader() -> Callable[[], Any]:
    """A fast way to read ``config.track_greenlet_tree`` at each spawn."""
    settings = getattr(config, "settings", None)
    setting = settings.get("track_greenlet_tree") if isinstance(settings, dict) else None
    getter: Callable[[], Any] | None = getattr(setting, "get", None)
    if callable(getter):
        return getter
    return lambda: getattr(config, "track_greenlet_tree", True)


_track_greenlet_tree = _tracking_reader()


# -- minimal idents ------------------------------------------------------------


def _registry_of(parent: Any) -> IdentRegistry:
    registry: IdentRegistry | None = getattr(parent, "ident_registry", None)
    if registry is None:
        raise AttributeError(
            f"{parent!r} has no attribute 'ident_registry': a greenlet's minimal_ident "
            "comes from its parent, which must be the hub"
        )
    return registry


# -- spawning stacks -------------------------------------------------------------

#: Looked up at every capture (not bound once) so tests (gevent's too) can
#: replace it.
sys_getframe = sys._getframe


def _guarded_str(custom: Callable[[Any], str]) -> Callable[[Any], str]:
    """Wrap a subclass's ``__str__`` so that ``repr(self)`` inside it gives the
    default text instead of recursing into it."""

    @functools.wraps(custom)
    def __str__(self: Any) -> str:
        key = id(self)
        if key in _in_custom_str:
            return custom(self)
        _in_custom_str.add(key)
        try:
            return custom(self)
        finally:
            _in_custom_str.discard(key)

    # Marks the wrapper, so that a subclass of a subclass is not wrapped twice.
    vars(__str__)["_greenkit_guarded"] = True
    return __str__


# -- Greenlet ------------------------------------------------------------------------


class Greenlet(RawGreenlet):  # type: ignore[misc]  # greenlet ships no type information
    """A light-weight cooperatively-scheduled execution unit.

    ``Greenlet(run, *args, **kwargs)`` will call ``run(*args, **kwargs)``
    once started (``start()``, ``start_later()``, or the ``spawn`` /
    ``spawn_later`` class methods).  Without ``run``, the ``_run`` method is
    called instead: subclasses override ``_run`` (never ``run``) and call
    ``Greenlet.__init__(self)``; overriding ``__str__`` as well changes how
    the greenlet is named in the report printed when ``_run`` raises.

    A greenlet is true while it is started and not finished.  It finishes
    successfully when its function returns (``value`` holds the result) or
    raises :class:`GreenletExit` (``value`` holds that exception); with
    another exception it finishes in error (``exception`` holds it), and the
    traceback is printed by the hub's ``handle_error``.
    """

    __slots__ = (
        "args",
        "_kwargs",
        "value",
        "_fn",
        "_start_event",
        "_exc_info",
        "_links",
        "_notifier",
        "spawning_greenlet",
        "_tree_locals",
        "_stack_data",
    )

    args: tuple[Any, ...]
    #: The keyword arguments, None for none (see ``kwargs``).
    _kwargs: dict[str, Any] | None
    value: Any
    #: A weak reference to the greenlet that created this one (when tracking).
    spawning_greenlet: Callable[[], Any] | None
    _fn: Callable[..., Any] | None
    _start_event: Any
    _exc_info: tuple[Any, ...] | None
    _links: list[Callable[[Any], Any]] | None
    _notifier: Any
    _tree_locals: Any
    _stack_data: Any

    #: How many frames of the spawning stack are kept (when tracking).
    spawning_stack_limit = 10

    # Rarely set: kept out of the slots (in the instance dict greenlet
    # objects have) so creation stays cheap.
    _ident: int | None = None
    _name: str | None = None

    def __init__(self, run: Callable[..., Any] | None = None, *args: Any, **kwargs: Any) -> None:
        hub = this_thread.hub
        if hub is None:  # (not ``or``: a hub that has not started yet is falsy)
            hub = get_hub()
        _raw_init(self, None, hub)
        if run is not None and not callable(run):
            raise TypeError(f"The run argument or self._run must be callable, not {run!r}")
        self._fn = run
        self.args = args
        self._kwargs = kwargs or None
        self.value = None
        self._start_event = None
        self._exc_info = None
        self._links = None
        self._notifier = None
        if _track_greenlet_tree():
            current = getcurrent()
            self.spawning_greenlet = wref(current)
            tree_locals = getattr(current, "spawn_tree_locals", None)
            self._tree_locals = _LAZY if tree_locals is None else tree_locals
            self._stack_data = _capture_stack(self.spawning_stack_limit, sys_getframe)
        else:
            self.spawning_greenlet = None
            self._tree_locals = None
            self._stack_data = None
        if _spawn_callbacks is not None:
            for callback in tuple(_spawn_callbacks):
                callback(self)

    @property
    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments ``run`` is called with."""
        # Stored as None when there are none, created on first read: a dict
        # less per greenlet (most have no keyword arguments).
        kwargs = self._kwargs
        if kwargs is None:
            kwargs = self._kwargs = {}
        return kwargs

    @kwargs.setter
    def kwargs(self, kwargs: dict[str, Any]) -> None:
        self._kwargs = kwargs

    # -- creation shortcuts ----------------------------------------------------

    @classmethod
    def spawn(cls: type[_G], *args: Any, **kwargs: Any) -> _G:
        """Create a greenlet with these arguments and ``start()`` it."""
        g = cls(*args, **kwargs)
        g.start()
        return g

    @classmethod
    def spawn_later(cls: type[_G], seconds: float, *args: Any, **kwargs: Any) -> _G:
        """Create a greenlet with these arguments and ``start_later(seconds)``."""
        if cls is Greenlet and not args and "run" not in kwargs:
            raise TypeError("spawn_later() needs a function to run")
        g = cls(*args, **kwargs)
        g.start_later(seconds)
        return g

    @classmethod
    def add_spawn_callback(cls, callback: Callable[[Greenlet], Any]) -> None:
        """Call ``callback(greenlet)`` whenever any Greenlet is created (e.g. for
        tracing); adding the same callback twice has no extra effect."""
        global _spawn_callbacks
        if _spawn_callbacks is None:
            _spawn_callbacks = []
        if callback not in _spawn_callbacks:
            _spawn_callbacks.append(callback)

    @classmethod
    def remove_spawn_callback(cls, callback: Callable[[Greenlet], Any]) -> None:
        """Stop calling ``callback`` on creation (no error if it was not added)."""
        global _spawn_callbacks
        if _spawn_callbacks is not None:
            if callback in _spawn_callbacks:
                _spawn_callbacks.remove(callback)
            if not _spawn_callbacks:
                _spawn_callbacks = None

    # -- running -----------------------------------------------------------------

    def start(self) -> None:
        """Schedule the greenlet to run in this iteration of the loop (no-op if
        it was already started)."""
        if self._start_event is None:
            self._start_event = self.parent.loop.run_callback(self.switch)

    def start_later(self, seconds: float) -> None:
        """Schedule the greenlet to run ``seconds`` from now (no-op if it was
        already started)."""
        if self._start_event is None:
            timer = self.parent.loop.timer(seconds)
            self._start_event = timer
            timer.start(self.switch)

    def _run(self) -> Any:
        """What runs when no ``run`` callable was given: subclasses override it
        (with any arguments they pass to ``Greenlet.__init__``)."""
        return None

    def run(self) -> None:
        # Entered by greenlet on the first switch.  Never override: see _run.
        event = self._start_event
        if event is _ABORTED:
            return
        self._start_event = _RUNNING
        if event is not None and event.callback is not None:
            # Switched into some other way than by the start event: cancel it.
            event.close()
        del event  # (else a parked greenlet keeps its spent start callback)
        fn: Callable[..., Any] = self._run if self._fn is None else self._fn
        args = self.args
        try:
            # Plain calls for the common shapes: ``f(*args, **kwargs)`` makes
            # CPython recurse in C (and build a kwargs dict), and a parked
            # greenlet keeps that C stack and dict for as long as it waits
            # (~0.4 KB each).  A plain call of a Python function does neither.
            kwargs = self._kwargs
            if kwargs:
                result = fn(*args, **kwargs)
            elif not args:
                result = fn()
            elif len(args) == 1:
                result = fn(args[0])
            elif len(args) == 2:
                result = fn(args[0], args[1])
            else:
                result = fn(*args)
        except:  # noqa: E722 - every outcome is recorded and reported
            self._report_error(sys.exc_info())
            return
        self._report_result(result)

    def _report_result(self, result: Any) -> None:
        """Record a successful outcome and schedule the links."""
        self._exc_info = _SUCCESS
        self.value = result
        if self._links and self._notifier is None:
            self._notifier = self.parent.loop.run_callback(self._notify_links)

    def _report_error(self, exc_info: tuple[Any, Any, Any]) -> None:
        """Record a failure, schedule the links and report it to the hub.

        GreenletExit is not a failure: it becomes the greenlet's value."""
        if isinstance(exc_info[1], GreenletExit):
            self._report_result(exc_info[1])
            return
        self._exc_info = exc_info
        if self._links and self._notifier is None:
            self._notifier = self.parent.loop.run_callback(self._notify_links)
        try:
            self.parent.handle_error(self, *exc_info)
        finally:
            del exc_info

    # -- state -----------------------------------------------------------------------

    def __bool__(self) -> bool:
        """True while started and not finished (unlike a raw greenlet, which is
        false until first switched into)."""
        return self._start_event is not None and self._exc_info is None

    @property
    def started(self) -> bool:
        """True once started (even if not yet running), false again when finished."""
        return self._start_event is not None and self._exc_info is None

    @property
    def dead(self) -> bool:
        """True when finished, including when killed before it ever ran."""
        return self._start_event is _ABORTED or _raw_dead(self)

    def ready(self) -> bool:
        """True if and only if the greenlet has finished."""
        return self._exc_info is not None or self._start_event is _ABORTED or _raw_dead(self)

    def successful(self) -> bool:
        """True if the greenlet finished without an error (GreenletExit counts
        as success)."""
        return self._exc_info is _SUCCESS

    @property
    def exception(self) -> BaseException | None:
        """The exception the greenlet died with, or None (also while running)."""
        exc_info = self._exc_info
        return exc_info[1] if exc_info else None

    @property
    def exc_info(self) -> tuple[Any, Any, Any] | None:
        """``(type, value, traceback)`` of the error the greenlet died with, or None."""
        exc_info = self._exc_info
        return exc_info if exc_info else None

    # -- identity ----------------------------------------------------------------------

    @property
    def minimal_ident(self) -> int:
        """A small non-negative integer unique among the live greenlets of this
        hub (reused after a greenlet is garbage collected)."""
        ident = self._ident
        if ident is None:
            ident = _registry_of(self.parent).get_ident(self)
            self.__dict__["_ident"] = ident  # (the instance dict: not a slot)
        return ident

    @property
    def name(self) -> str:
        """A name for humans: ``"Greenlet-<minimal_ident>"`` unless assigned."""
        name = self._name
        if name is None:
            name = f"Greenlet-{self.minimal_ident}"
            self.__dict__["_name"] = name  # (the instance dict: not a slot)
        return name

    @name.setter
    def name(self, value: str) -> None:
        # Kept in the instance dict (not a slot): rarely set.
        self.__dict__["_name"] = value

    @property
    def spawn_tree_locals(self) -> dict[str, Any] | None:
        """A dict shared by every greenlet spawned, directly or not, from the
        same root greenlet (None when spawn trees are not tracked)."""
        tree_locals: dict[str, Any] | None = self._tree_locals
        if tree_locals is _LAZY:
            tree_locals = self._tree_locals = {}
        return tree_locals

    @spawn_tree_locals.setter
    def spawn_tree_locals(self, value: dict[str, Any] | None) -> None:
        self._tree_locals = value

    @property
    def spawning_stack(self) -> _Frame | None:
        """The stack that created this greenlet, as frame-like objects
        (``traceback.format_stack`` accepts it); None when not tracked."""
        data: _Frame | tuple[Any, ...] | None = self._stack_data
        if data is None:
            return None
        if isinstance(data, tuple):
            data = self._stack_data = _build_frames(data)
        return data

    def _formatinfo(self) -> str:
        fn = self._fn
        if fn is None:
            text = "_run"
        elif isinstance(fn, FunctionType):
            text = fn.__name__
        else:
            text = repr(fn)
        args = self.args
        kwargs = self._kwargs or {}
        if args or kwargs:
            parts = [repr(arg) for arg in args]
            parts.extend(f"{key}={value!r}" for key, value in kwargs.items())
            text = f"{text}({', '.join(parts)})"
        return text

    def _default_str(self) -> str:
        name = f' "{self.name}"' if self._name is not None or self._ident is not None else ""
        return f"<{type(self).__name__}{name} at {id(self):#x}: {self._formatinfo()}>"

    def __str__(self) -> str:
        return self._default_str()

    def __repr__(self) -> str:
        # A subclass that customises __str__ is shown that way everywhere,
        # including in the failure report (which formats the greenlet's repr);
        # inside that __str__, repr(self) is the default text.
        if type(self).__str__ is not Greenlet.__str__ and id(self) not in _in_custom_str:
            return str(self)
        return self._default_str()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        custom = cls.__dict__.get("__str__")
        if callable(custom) and not getattr(custom, "_greenkit_guarded", False):
            type.__setattr__(cls, "__str__", _guarded_str(custom))

    # -- links -----------------------------------------------------------------------

    def rawlink(self, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(self)`` in the hub once this greenlet has finished
        (soon, if it already has).  Callbacks run in the order added."""
        if not callable(callback):
            raise TypeError(f"Expected callable: {callback!r}")
        links = self._links
        if links is None:
            self._links = [callback]
        else:
            links.append(callback)
        if self._notifier is None and (
            self._exc_info is not None or self._start_event is _ABORTED or _raw_dead(self)
        ):
            self._notifier = self.parent.loop.run_callback(self._notify_links)

    def link(
        self, callback: Callable[[Any], Any], SpawnedLink: type[SpawnedLink] = SpawnedLink
    ) -> None:
        """Call ``callback(self)`` in a new greenlet once this one has finished."""
        self.rawlink(SpawnedLink(callback))

    def link_value(
        self, callback: Callable[[Any], Any], SpawnedLink: type[SpawnedLink] = SuccessSpawnedLink
    ) -> None:
        """Like ``link()``, only if this greenlet finishes successfully."""
        self.link(callback, SpawnedLink=SpawnedLink)

    def link_exception(
        self, callback: Callable[[Any], Any], SpawnedLink: type[SpawnedLink] = FailureSpawnedLink
    ) -> None:
        """Like ``link()``, only if this greenlet dies with an error."""
        self.link(callback, SpawnedLink=SpawnedLink)

    def unlink(self, callback: Callable[[Any], Any]) -> None:
        """Remove a callback added by ``link()`` or ``rawlink()`` (if present)."""
        links = self._links
        if links:
            try:
                links.remove(callback)
            except ValueError:
                pass

    def unlink_all(self) -> None:
        """Remove every link."""
        links = self._links
        if links:
            del links[:]

    def has_links(self) -> int:
        """How many links are registered (a false value if none)."""
        links = self._links
        return len(links) if links else 0

    def _notify_links(self) -> None:
        # Runs in the hub.  Links are consumed one at a time from the live
        # list, so one link can unlink a later one, or add more.
        links = self._links
        try:
            while links:
                link = links.pop(0)
                try:
                    link(self)
                except:  # noqa: E722 - one failing link must not stop the others
                    self.parent.handle_error((link, self), *sys.exc_info())
        finally:
            self._notifier = None

    # -- waiting -----------------------------------------------------------------------

    def _wait(self, timeout: Any, swallow_own_timeout: bool) -> None:
        """Block until finished (the caller checked it is not).  With a timeout
        that expires: return if ``swallow_own_timeout`` else raise it."""
        switch = getcurrent().switch
        self.rawlink(switch)
        try:
            if timeout is None:
                result = get_hub().switch()
            else:
                timer = start_for_call(timeout)
                try:
                    try:
                        result = get_hub().switch()
                    finally:
                        timer.close()
                except Timeout as ex:
                    if ex is not timer or not swallow_own_timeout:
                        raise
                    self.unlink(switch)
                    return
            if result is not self:
                raise InvalidSwitchError(
                    f"Invalid switch into {getcurrent()!r}: {result!r} (expected {self!r})"
                )
        except BaseException:
            self.unlink(switch)
            raise

    def join(self, timeout: float | None = None) -> None:
        """Wait until the greenlet finishes or ``timeout`` seconds pass; returns
        None either way."""
        if self._exc_info is not None or self._start_event is _ABORTED or _raw_dead(self):
            return
        self._wait(timeout, True)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Return the greenlet's value, or raise the exception it died with.

        Not finished yet: with ``block`` false raise ``Timeout``; otherwise
        wait, raising ``Timeout`` if ``timeout`` seconds pass first."""
        if not (self._exc_info is not None or self._start_event is _ABORTED or _raw_dead(self)):
            if not block:
                raise Timeout()
            self._wait(timeout, False)
        return self._value_or_raise()

    def _value_or_raise(self) -> Any:
        exc_info = self._exc_info
        if exc_info:
            self._raise_exception()
        return self.value

    def _raise_exception(self) -> None:
        """Re-raise the exception the greenlet died with, with its traceback."""
        exc_info = self._exc_info
        assert exc_info is not None, "only for a greenlet that died with an exception"
        _, value, tb = exc_info
        raise value.with_traceback(tb)

    # -- killing -------------------------------------------------------------------

    def _abort_before_start(self, exception: BaseException) -> None:
        """Finish a greenlet that was never switched into, without running it:
        it will never run, and its links still fire."""
        event = self._start_event
        self._start_event = _ABORTED
        if event is not None:
            event.close()
        if self._exc_info is not None:
            return
        if isinstance(exception, GreenletExit):
            self._report_result(exception)
        else:
            self._report_error((type(exception), exception, None))

    def throw(self, *args: Any) -> None:
        """Raise an exception in this greenlet now (default GreenletExit).

        Only call this from the hub: from another greenlet, use ``kill()``.
        A greenlet never switched into is finished without ever running
        (its links fire as if it had raised the exception)."""
        event = self._start_event
        if event is not _RUNNING:
            if event is not _ABORTED:
                self._abort_before_start(_exception_from(args))
            return
        if not _raw_dead(self):
            _raw_throw(self, *args)

    def kill(
        self, exception: Any = GreenletExit, block: bool = True, timeout: float | None = None
    ) -> None:
        """Raise ``exception`` in the greenlet (never raises itself).

        A greenlet that was never switched into is finished on the spot and
        will never run.  Otherwise the exception is raised in it from the
        hub; with ``block`` (the default) the caller then waits (up to
        ``timeout`` seconds) for it to die."""
        event = self._start_event
        if event is not _RUNNING:
            if event is not _ABORTED:
                self._abort_before_start(_exception_from((exception,)))
            return
        if _raw_dead(self):
            return
        self.parent.loop.run_callback(_kill, self, exception)
        if block:
            self.join(timeout)

    # -- context manager -------------------------------------------------------------

    def __enter__(self: _G) -> _G:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Join the greenlet; if the ``with`` body raised, kill it with that
        exception instead.  Either way it is dead afterwards."""
        if value is None:
            try:
                self.join()
            finally:
                self.kill()
        else:
            self.kill(value)


def _kill(glet: Greenlet, exception: Any) -> None:
    # Runs in the hub.
    try:
        glet.throw(exception)
    except:  # noqa: E722 - reported like any error in the loop
        glet.parent.handle_error(glet, *sys.exc_info())


# -- many greenlets ------------------------------------------------------------------


def joinall(
    greenlets: Iterable[Any],
    timeout: float | None = None,
    raise_error: bool = False,
    count: int | None = None,
) -> list[Any]:
    """Wait for the greenlets to finish; return those that did, in the order
    they finished.

    ``timeout`` bounds the wait, ``count`` stops after that many.  With
    ``raise_error`` the first one (in finishing order) that died with an
    error makes this raise that error."""
    if not raise_error:
        finished: list[Any] = wait(greenlets, timeout=timeout, count=count)
        return finished
    done: list[Any] = []
    waiting = iwait(greenlets, timeout=timeout, count=count)
    try:
        for obj in waiting:
            if getattr(obj, "exception", None) is not None:
                raiser = getattr(obj, "_raise_exception", None)
                if raiser is not None:
                    raiser()
                raise obj.exception
            done.append(obj)
    finally:
        exit_ = getattr(waiting, "__exit__", None)
        if exit_ is not None:
            exit_(None, None, None)
    return done


def _killall(greenlets: list[Any], exception: Any) -> list[Any]:
    # Runs in the hub: raise in every live greenlet; return those still alive.
    alive = []
    for glet in greenlets:
        if glet.dead:
            continue
        try:
            glet.throw(exception)
        except:  # noqa: E722 - reported like any error in the loop
            glet.parent.handle_error(glet, *sys.exc_info())
        if not glet.dead:
            alive.append(glet)
    return alive


def _killall_and_answer(greenlets: list[Any], exception: Any, waiter: Waiter) -> None:
    alive = _killall(greenlets, exception)
    waiter.switch(alive)


def killall(
    greenlets: Iterable[Any],
    exception: Any = GreenletExit,
    block: bool = True,
    timeout: float | None = None,
) -> None:
    """Raise ``exception`` in every greenlet (all from this thread).

    With ``block`` (the default) return only when all are dead, joining
    those that survive the exception; if ``timeout`` passes first, raise
    ``Timeout``.  Without ``block`` return at once: the greenlets get the
    exception from the hub soon after."""
    greenlets = list(greenlets)
    if not greenlets:
        return
    # Greenlets never switched into are finished right now, so that a start
    # already queued on the loop cannot run them first.
    for glet in greenlets:
        if isinstance(glet, Greenlet) and glet._start_event is not _RUNNING:
            glet.throw(exception)
    hub = get_hub()
    assert hub.loop is not None, "killall() in a destroyed hub"
    if not block:
        hub.loop.run_callback(_killall, greenlets, exception)
        return
    waiter = Waiter(hub)
    hub.loop.run_callback(_killall_and_answer, greenlets, exception, waiter)
    timer = start_for_call(timeout)
    try:
        alive = waiter.get()
        alive = [glet for glet in alive if hasattr(glet, "rawlink")]
        if alive:
            joinall(alive, raise_error=False)
    finally:
        timer.close()
