"""Publish/subscribe events: greenkit announces interesting moments to plugins.

When something noteworthy happens (the event loop is blocked, memory usage
crosses the configured limit, the monitoring thread starts, monkey patching
begins or ends...) greenkit builds an event object and passes it to every
callable in :data:`subscribers` via :func:`notify`.

If :mod:`zope.event` is installed, ``subscribers`` and ``notify`` *are*
``zope.event.subscribers`` and ``zope.event.notify``, so zope.event (and
``zope.event.classhandler``, ``zope.component``) subscribers see greenkit's
events.  If :mod:`zope.interface` is installed the ``I...`` names are real
interfaces and every event class declares the one it implements; without
it they are plain marker classes and everything else works the same.

The monkey-patching events and the monitor-thread-started event are also
delivered to setuptools entry points (found with :mod:`importlib.metadata`)
in the group named by the event's ``ENTRY_POINT_NAME`` (for example
``greenkit.plugins.monkey.will_patch_all``) and in the group gevent uses for
the same event (``gevent.plugins.monkey.will_patch_all``), so existing
gevent plugins keep working.  Each entry point is loaded and called with the
event.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = [
    "subscribers",
    "notify",
    "notify_and_call_entry_points",
    # monitor thread
    "IEventLoopBlocked",
    "EventLoopBlocked",
    "IMemoryUsageThresholdExceeded",
    "MemoryUsageThresholdExceeded",
    "IMemoryUsageUnderThreshold",
    "MemoryUsageUnderThreshold",
    # hub
    "IPeriodicMonitorThread",
    "IPeriodicMonitorThreadStartedEvent",
    "PeriodicMonitorThreadStartedEvent",
    # monkey
    "IGeventPatchEvent",
    "GeventPatchEvent",
    "IGeventWillPatchEvent",
    "DoNotPatch",
    "GeventWillPatchEvent",
    "IGeventDidPatchEvent",
    "GeventDidPatchEvent",
    "IGeventWillPatchModuleEvent",
    "GeventWillPatchModuleEvent",
    "IGeventDidPatchModuleEvent",
    "GeventDidPatchModuleEvent",
    "IGeventWillPatchAllEvent",
    "GeventWillPatchAllEvent",
    "IGeventDidPatchBuiltinModulesEvent",
    "GeventDidPatchBuiltinModulesEvent",
    "IGeventDidPatchAllEvent",
    "GeventDidPatchAllEvent",
]

# ---------------------------------------------------------------------------
# subscribers / notify: zope.event's when available

#: The callables that receive every event, in order (zope.event's list when
#: zope.event is installed).
subscribers: list[Callable[[Any], object]]
#: Call every subscriber with an event, in order (``zope.event.notify`` when
#: zope.event is installed).
notify: Callable[[object], None]


def _notify(event: object) -> None:
    """Call every subscriber with ``event``, in order."""
    for subscriber in subscribers:
        subscriber(event)


try:
    import zope.event
except ImportError:
    subscribers = []
    notify = _notify
    HAVE_ZOPE_EVENT = False
else:
    subscribers = zope.event.subscribers
    notify = zope.event.notify
    HAVE_ZOPE_EVENT = True


def _entry_points(group: str) -> Sequence[importlib.metadata.EntryPoint]:
    return list(importlib.metadata.entry_points(group=group))


def _is_gevents_own(entry_point: importlib.metadata.EntryPoint) -> bool:
    """Whether a real gevent installed beside greenkit registered this entry point.

    gevent registers plugins for its own events that call into its own
    private modules (``gevent.monkey:_subscribe_signal_os``); loading them
    would import the real gevent into a greenkit process (or, with the
    gevent alias on, look for gevent internals in greenkit).
    """
    dist = getattr(entry_point, "dist", None)
    name = getattr(dist, "name", None) or ""
    return name.lower() == "gevent"


def _plugins(event: object) -> Iterator[Callable[[Any], object]]:
    seen: list[str] = []
    for attr in ("ENTRY_POINT_NAME", "GEVENT_ENTRY_POINT_NAME"):
        group = getattr(event, attr, None)
        if not group:
            continue
        for entry_point in _entry_points(group):
            if entry_point.value in seen or _is_gevents_own(entry_point):
                continue
            seen.append(entry_point.value)
            yield entry_point.load()


def notify_and_call_entry_points(event: object) -> None:
    """Notify the subscribers, then call each entry point registered for the event.

    The groups are ``event.ENTRY_POINT_NAME`` (greenkit's) and
    ``event.GEVENT_ENTRY_POINT_NAME`` (gevent's); an entry point registered
    in both under the same target is called once, and those of a real gevent
    installed beside greenkit are skipped (they call gevent's internals).
    """
    notify(event)
    for plugin in _plugins(event):
        plugin(event)


# ---------------------------------------------------------------------------
# interfaces: zope.interface's when available, marker classes otherwise

# zope.interface has no type information: the interface classes below
# subclass Any and declare methods without ``self``, as zope.interface
# wants; mypy's override for this module allows both.
Interface: Any
Attribute: Any
implementer: Any


class _MarkerInterface:
    """Stand-in for ``zope.interface.Interface`` (zope.interface is not installed)."""


class _MarkerAttribute:
    """Stand-in for ``zope.interface.Attribute``: documents an attribute."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc

    def __repr__(self) -> str:
        return f"<Attribute {self.__doc__!r}>"


def _marker_implementer(*interfaces: Any) -> Callable[[Any], Any]:
    """Stand-in for ``zope.interface.implementer``: records the interfaces."""

    def declare(cls: Any) -> Any:
        cls.__greenkit_interfaces__ = interfaces
        return cls

    return declare


try:
    import zope.interface
except ImportError:
    Interface, Attribute, implementer = _MarkerInterface, _MarkerAttribute, _marker_implementer
    HAVE_ZOPE_INTERFACE = False
else:
    Interface = zope.interface.Interface
    Attribute = zope.interface.Attribute
    implementer = zope.interface.implementer
    HAVE_ZOPE_INTERFACE = True


# -- monitor thread ---------------------------------------------------------


class IPeriodicMonitorThread(Interface):
    """The monitoring thread a hub starts when ``config.monitor_thread`` is true."""

    def add_monitoring_function(function: Any, period: Any) -> Any:
        """Call ``function(hub)`` about every ``period`` seconds in the monitoring thread.

        The function runs in the native monitoring thread, not in the hub's
        thread: it must not use greenkit's blocking API.  Adding a function
        already present changes its period; a period of None removes it; a
        period of zero or less is a ValueError.
        """


class IPeriodicMonitorThreadStartedEvent(Interface):
    """Emitted when a hub starts its monitoring thread: a chance to add functions."""

    monitor = Attribute("The IPeriodicMonitorThread that was started.")


@implementer(IPeriodicMonitorThreadStartedEvent)
class PeriodicMonitorThreadStartedEvent:
    """A hub started the monitoring thread ``monitor``."""

    ENTRY_POINT_NAME = "greenkit.plugins.hub.periodic_monitor_thread_started"
    GEVENT_ENTRY_POINT_NAME = "gevent.plugins.hub.periodic_monitor_thread_started"

    def __init__(self, monitor: Any) -> None:
        self.monitor = monitor

    def __repr__(self) -> str:
        return f"<{type(self).__name__} monitor={self.monitor!r}>"


class IEventLoopBlocked(Interface):
    """The event loop was blocked longer than ``config.max_blocking_time``.

    Emitted in the monitoring thread.
    """

    greenlet = Attribute("The greenlet that appeared to be blocking the loop.")
    blocking_time = Attribute("Roughly how long, in seconds, the loop has been blocked.")
    info = Attribute("A sequence of lines of text describing the block (the report).")
    hub = Attribute("The hub whose loop was blocked, if known.")


@implementer(IEventLoopBlocked)
class EventLoopBlocked:
    """The loop of ``hub`` was blocked by ``greenlet`` for about ``blocking_time`` seconds."""

    def __init__(
        self, greenlet: Any, blocking_time: float, info: Sequence[str], *, hub: Hub | None = None
    ) -> None:
        self.greenlet = greenlet
        self.blocking_time = blocking_time
        self.info = info
        self.hub = hub

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} greenlet={self.greenlet!r}"
            f" blocking_time={self.blocking_time!r} hub={self.hub!r}>"
        )


class IMemoryUsageThresholdExceeded(Interface):
    """Memory usage went above ``config.max_memory_usage``.

    Emitted again only while usage keeps growing above the limit, or after
    it went back under the limit and crossed it again.  Emitted in the
    monitoring thread.
    """

    mem_usage = Attribute("The process's current memory usage, in bytes.")
    max_allowed = Attribute("The configured limit, in bytes.")
    memory_info = Attribute("The memory statistics psutil returned.")


class _AbstractMemoryEvent:
    def __init__(self, mem_usage: int, max_allowed: int, memory_info: Any) -> None:
        self.mem_usage = mem_usage
        self.max_allowed = max_allowed
        self.memory_info = memory_info

    def _repr_fields(self) -> str:
        return f"mem_usage={self.mem_usage!r} max_allowed={self.max_allowed!r}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._repr_fields()} memory_info={self.memory_info!r}>"


@implementer(IMemoryUsageThresholdExceeded)
class MemoryUsageThresholdExceeded(_AbstractMemoryEvent):
    """Memory usage ``mem_usage`` is above ``max_allowed``."""


class IMemoryUsageUnderThreshold(Interface):
    """Memory usage fell back under ``config.max_memory_usage`` after exceeding it.

    Emitted once per return under the limit.  Emitted in the monitoring thread.
    """

    mem_usage = Attribute("The process's current memory usage, in bytes.")
    max_allowed = Attribute("The configured limit, in bytes.")
    max_memory_usage = Attribute("The highest usage seen while above the limit, in bytes.")
    memory_info = Attribute("The memory statistics psutil returned.")


@implementer(IMemoryUsageUnderThreshold)
class MemoryUsageUnderThreshold(_AbstractMemoryEvent):
    """Memory usage ``mem_usage`` is back under ``max_allowed`` (peak: ``max_memory_usage``)."""

    def __init__(self, mem_usage: int, max_allowed: int, memory_info: Any, max_usage: int) -> None:
        super().__init__(mem_usage, max_allowed, memory_info)
        self.max_memory_usage = max_usage

    def _repr_fields(self) -> str:
        return f"{super()._repr_fields()} max_memory_usage={self.max_memory_usage!r}"


# -- monkey patching --------------------------------------------------------


class IGeventPatchEvent(Interface):
    """The root of every monkey-patching event."""

    source = Attribute("The object greenkit patches from (usually a greenkit module).")
    target = Attribute("The object being patched (usually a standard library module).")


@implementer(IGeventPatchEvent)
class GeventPatchEvent:
    """Something in ``target`` is patched with something from ``source``."""

    def __init__(self, source: Any, target: Any) -> None:
        self.source = source
        self.target = target

    def __repr__(self) -> str:
        return f"<{type(self).__name__} source={self.source!r} target={self.target!r}>"


class IGeventWillPatchEvent(IGeventPatchEvent):
    """Emitted *before* patching; a subscriber raising DoNotPatch cancels that patch."""


class DoNotPatch(BaseException):
    """Raised by a subscriber of a will-patch event: do not patch this item."""


@implementer(IGeventWillPatchEvent)
class GeventWillPatchEvent(GeventPatchEvent):
    """Something is about to be patched."""


class IGeventDidPatchEvent(IGeventPatchEvent):
    """Emitted *after* something was patched."""


@implementer(IGeventDidPatchEvent)
class GeventDidPatchEvent(GeventPatchEvent):
    """Something was patched."""


class IGeventWillPatchModuleEvent(IGeventWillPatchEvent):
    """Emitted before one module is patched; source and target are modules."""

    module_name = Attribute("The name of the module being patched.")
    target_item_names = Attribute("The names in the target module that will be replaced.")


@implementer(IGeventWillPatchModuleEvent)
class GeventWillPatchModuleEvent(GeventWillPatchEvent):
    """Module ``module_name`` (``target``) is about to get ``items`` from ``source``."""

    ENTRY_POINT_NAME = "greenkit.plugins.monkey.will_patch_module"
    GEVENT_ENTRY_POINT_NAME = "gevent.plugins.monkey.will_patch_module"

    def __init__(self, module_name: str, source: Any, target: Any, items: list[str]) -> None:
        super().__init__(source, target)
        self.module_name = module_name
        self.target_item_names = items


class IGeventDidPatchModuleEvent(IGeventDidPatchEvent):
    """Emitted after one module was patched."""

    module_name = Attribute("The name of the patched module.")


@implementer(IGeventDidPatchModuleEvent)
class GeventDidPatchModuleEvent(GeventDidPatchEvent):
    """Module ``module_name`` (``target``) was patched from ``source``."""

    ENTRY_POINT_NAME = "greenkit.plugins.monkey.did_patch_module"
    GEVENT_ENTRY_POINT_NAME = "gevent.plugins.monkey.did_patch_module"

    def __init__(self, module_name: str, source: Any, target: Any) -> None:
        super().__init__(source, target)
        self.module_name = module_name


class IGeventWillPatchAllEvent(IGeventWillPatchEvent):
    """Emitted before ``patch_all`` patches anything.

    Will/did-patch-module events follow for each module, then
    IGeventDidPatchBuiltinModulesEvent, then IGeventDidPatchAllEvent.  A
    subscriber raising DoNotPatch cancels all patching.  ``source`` and
    ``target`` are undefined.
    """

    patch_all_arguments = Attribute("A copy of every argument of patch_all, by name.")
    patch_all_kwargs = Attribute("A copy of the extra keyword arguments of patch_all.")

    def will_patch_module(module_name: Any) -> Any:
        """True if patch_all was asked to patch ``module_name``."""


class _PatchAllMixin:
    def __init__(
        self, patch_all_arguments: Mapping[str, Any], patch_all_kwargs: Mapping[str, Any]
    ) -> None:
        super().__init__(None, None)  # type: ignore[call-arg]
        self._patch_all_arguments = dict(patch_all_arguments)
        self._patch_all_kwargs = dict(patch_all_kwargs)

    @property
    def patch_all_arguments(self) -> dict[str, Any]:
        """A copy of every argument of ``patch_all``, by name."""
        return dict(self._patch_all_arguments)

    @property
    def patch_all_kwargs(self) -> dict[str, Any]:
        """A copy of the extra keyword arguments of ``patch_all``."""
        return dict(self._patch_all_kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} arguments={self._patch_all_arguments!r}>"


@implementer(IGeventWillPatchAllEvent)
class GeventWillPatchAllEvent(_PatchAllMixin, GeventWillPatchEvent):
    """``patch_all`` is about to start."""

    ENTRY_POINT_NAME = "greenkit.plugins.monkey.will_patch_all"
    GEVENT_ENTRY_POINT_NAME = "gevent.plugins.monkey.will_patch_all"

    def will_patch_module(self, module_name: str) -> bool:
        """True if ``patch_all`` was asked to patch ``module_name``."""
        return bool(self._patch_all_arguments.get(module_name))


class IGeventDidPatchBuiltinModulesEvent(IGeventDidPatchEvent):
    """Emitted after the standard library modules were patched.

    The moment to patch third-party libraries.  ``source`` and ``target``
    are undefined.
    """

    patch_all_arguments = Attribute("A copy of every argument of patch_all, by name.")
    patch_all_kwargs = Attribute("A copy of the extra keyword arguments of patch_all.")


@implementer(IGeventDidPatchBuiltinModulesEvent)
class GeventDidPatchBuiltinModulesEvent(_PatchAllMixin, GeventDidPatchEvent):
    """The standard library modules were patched."""

    ENTRY_POINT_NAME = "greenkit.plugins.monkey.did_patch_builtins"
    GEVENT_ENTRY_POINT_NAME = "gevent.plugins.monkey.did_patch_builtins"


class IGeventDidPatchAllEvent(IGeventDidPatchEvent):
    """Emitted after everything was patched, builtin modules and plugins' alike.

    ``source`` and ``target`` are undefined.
    """


@implementer(IGeventDidPatchAllEvent)
class GeventDidPatchAllEvent(_PatchAllMixin, GeventDidPatchEvent):
    """``patch_all`` finished."""

    ENTRY_POINT_NAME = "greenkit.plugins.monkey.did_patch_all"
    GEVENT_ENTRY_POINT_NAME = "gevent.plugins.monkey.did_patch_all"
