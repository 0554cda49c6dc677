"""greenkit.events: subscribers/notify, event classes, interfaces, entry-point plugins."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from greenkit import events

try:
    import zope.event as zope_event
except ImportError:  # pragma: no cover - optional dependency
    zope_event = None  # type: ignore[assignment]

try:
    from zope.interface import verify
except ImportError:  # pragma: no cover - optional dependency
    verify = None  # type: ignore[assignment]

needs_zope_event = pytest.mark.skipif(zope_event is None, reason="needs zope.event")
needs_zope_interface = pytest.mark.skipif(verify is None, reason="needs zope.interface")


@pytest.fixture
def received() -> Iterator[list[Any]]:
    got: list[Any] = []
    events.subscribers.append(got.append)
    yield got
    events.subscribers.remove(got.append)


def load_events_without_zope(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A separate copy of greenkit.events imported as if zope.* were not installed."""
    for name in ("zope.event", "zope.interface"):
        monkeypatch.setitem(sys.modules, name, None)
    spec = importlib.util.spec_from_file_location("_greenkit_events_nozope", events.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- subscribers and notify ---------------------------------------------------


def test_notify_calls_subscribers_in_order() -> None:
    calls: list[tuple[str, object]] = []

    def first(event: object) -> None:
        calls.append(("first", event))

    def second(event: object) -> None:
        calls.append(("second", event))

    events.subscribers.extend([first, second])
    try:
        marker = object()
        events.notify(marker)
    finally:
        events.subscribers.remove(first)
        events.subscribers.remove(second)
    assert calls == [("first", marker), ("second", marker)]


@needs_zope_event
def test_zope_event_is_used_when_installed(received: list[Any]) -> None:
    assert events.HAVE_ZOPE_EVENT
    assert events.subscribers is zope_event.subscribers
    assert events.notify is zope_event.notify
    event = events.EventLoopBlocked(None, 1.0, ["line"])
    zope_event.notify(event)
    assert received == [event]


def test_works_without_zope(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_events_without_zope(monkeypatch)
    assert not module.HAVE_ZOPE_EVENT
    assert not module.HAVE_ZOPE_INTERFACE
    assert isinstance(module.subscribers, list)
    if zope_event is not None:
        assert module.subscribers is not zope_event.subscribers
    got: list[Any] = []
    module.subscribers.append(got.append)
    event = module.MemoryUsageThresholdExceeded(10, 5, None)
    module.notify(event)
    assert got == [event]
    # Interfaces still exist, as plain classes, and events still carry their data.
    assert isinstance(module.IEventLoopBlocked, type)
    assert issubclass(module.IGeventWillPatchModuleEvent, module.IGeventPatchEvent)
    blocked = module.EventLoopBlocked("g", 0.5, ["x"], hub="h")
    assert (blocked.greenlet, blocked.blocking_time, blocked.info, blocked.hub) == (
        "g",
        0.5,
        ["x"],
        "h",
    )
    assert module.EventLoopBlocked.__greenkit_interfaces__ == (module.IEventLoopBlocked,)
    module.notify_and_call_entry_points(module.GeventDidPatchAllEvent({}, {}))


# -- interfaces ------------------------------------------------------------------


@needs_zope_interface
def test_classes_implement_their_interfaces() -> None:
    assert events.HAVE_ZOPE_INTERFACE
    verify.verifyClass(events.IEventLoopBlocked, events.EventLoopBlocked)
    verify.verifyObject(events.IEventLoopBlocked, events.EventLoopBlocked(None, 0.1, []))
    verify.verifyObject(
        events.IMemoryUsageThresholdExceeded, events.MemoryUsageThresholdExceeded(0, 0, 0)
    )
    verify.verifyObject(
        events.IMemoryUsageUnderThreshold, events.MemoryUsageUnderThreshold(0, 0, 0, 0)
    )
    verify.verifyObject(
        events.IPeriodicMonitorThreadStartedEvent,
        events.PeriodicMonitorThreadStartedEvent(object()),
    )
    verify.verifyObject(
        events.IGeventWillPatchModuleEvent,
        events.GeventWillPatchModuleEvent("socket", sys, sys, ["socket"]),
    )
    verify.verifyObject(
        events.IGeventDidPatchModuleEvent, events.GeventDidPatchModuleEvent("socket", sys, sys)
    )
    verify.verifyObject(events.IGeventWillPatchAllEvent, events.GeventWillPatchAllEvent({}, {}))
    verify.verifyObject(
        events.IGeventDidPatchBuiltinModulesEvent, events.GeventDidPatchBuiltinModulesEvent({}, {})
    )
    verify.verifyObject(events.IGeventDidPatchAllEvent, events.GeventDidPatchAllEvent({}, {}))
    verify.verifyObject(events.IGeventDidPatchEvent, events.GeventDidPatchEvent(1, 2))
    verify.verifyObject(events.IGeventWillPatchEvent, events.GeventWillPatchEvent(1, 2))
    assert events.IGeventWillPatchAllEvent.extends(events.IGeventPatchEvent)
    assert events.IGeventDidPatchAllEvent.extends(events.IGeventDidPatchEvent)


# -- event classes ---------------------------------------------------------------


def test_event_loop_blocked() -> None:
    event = events.EventLoopBlocked("greenlet", 0.25, ["a", "b"], hub="hub")
    assert event.greenlet == "greenlet"
    assert event.blocking_time == 0.25
    assert event.info == ["a", "b"]
    assert event.hub == "hub"
    assert events.EventLoopBlocked(None, 1, []).hub is None
    assert "EventLoopBlocked" in repr(event)


def test_memory_events() -> None:
    over = events.MemoryUsageThresholdExceeded(200, 100, "info")
    assert (over.mem_usage, over.max_allowed, over.memory_info) == (200, 100, "info")
    under = events.MemoryUsageUnderThreshold(50, 100, "info", 300)
    assert (under.mem_usage, under.max_allowed, under.memory_info) == (50, 100, "info")
    assert under.max_memory_usage == 300
    assert "max_memory_usage=300" in repr(under)
    assert "mem_usage=200" in repr(over)


def test_monitor_started_event() -> None:
    monitor = object()
    event = events.PeriodicMonitorThreadStartedEvent(monitor)
    assert event.monitor is monitor
    assert event.ENTRY_POINT_NAME == "greenkit.plugins.hub.periodic_monitor_thread_started"
    assert event.GEVENT_ENTRY_POINT_NAME == "gevent.plugins.hub.periodic_monitor_thread_started"


def test_patch_events() -> None:
    will = events.GeventWillPatchModuleEvent("socket", "src", "tgt", ["socket", "create"])
    assert (will.module_name, will.source, will.target) == ("socket", "src", "tgt")
    assert will.target_item_names == ["socket", "create"]
    assert isinstance(will, events.GeventWillPatchEvent)
    did = events.GeventDidPatchModuleEvent("socket", "src", "tgt")
    assert (did.module_name, did.source, did.target) == ("socket", "src", "tgt")
    assert isinstance(did, events.GeventDidPatchEvent)
    assert issubclass(events.DoNotPatch, BaseException)
    assert not issubclass(events.DoNotPatch, Exception)


def test_patch_all_events_copy_arguments() -> None:
    arguments = {"socket": True, "thread": False, "os": True}
    kwargs = {"extra": 1}
    event = events.GeventWillPatchAllEvent(arguments, kwargs)
    assert event.will_patch_module("socket") is True
    assert event.will_patch_module("thread") is False
    assert event.will_patch_module("unknown") is False
    copy = event.patch_all_arguments
    copy["socket"] = False
    assert event.patch_all_arguments == arguments
    assert event.patch_all_kwargs == kwargs
    arguments["os"] = False
    assert event.will_patch_module("os") is True
    for cls in (events.GeventDidPatchBuiltinModulesEvent, events.GeventDidPatchAllEvent):
        other = cls({"a": 1}, {"b": 2})
        assert other.patch_all_arguments == {"a": 1}
        assert other.patch_all_kwargs == {"b": 2}
        assert other.source is None and other.target is None


@pytest.mark.parametrize(
    ("cls", "suffix"),
    [
        (events.GeventWillPatchModuleEvent, "monkey.will_patch_module"),
        (events.GeventDidPatchModuleEvent, "monkey.did_patch_module"),
        (events.GeventWillPatchAllEvent, "monkey.will_patch_all"),
        (events.GeventDidPatchBuiltinModulesEvent, "monkey.did_patch_builtins"),
        (events.GeventDidPatchAllEvent, "monkey.did_patch_all"),
        (events.PeriodicMonitorThreadStartedEvent, "hub.periodic_monitor_thread_started"),
    ],
)
def test_entry_point_names(cls: type, suffix: str) -> None:
    assert cls.ENTRY_POINT_NAME == "greenkit.plugins." + suffix  # type: ignore[attr-defined]
    assert cls.GEVENT_ENTRY_POINT_NAME == "gevent.plugins." + suffix  # type: ignore[attr-defined]


def test_all_names_exist() -> None:
    for name in events.__all__:
        assert hasattr(events, name), name


# -- entry points ----------------------------------------------------------------


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """A fake installed distribution whose entry points call into a plugin module,
    beside a fake real gevent whose own plugin must never be loaded."""
    (tmp_path / "gk_test_plugin.py").write_text(
        textwrap.dedent("""
        calls = []

        def greenkit_hook(event):
            calls.append(("greenkit", event))

        def gevent_hook(event):
            calls.append(("gevent", event))
    """)
    )
    real_gevent = tmp_path / "gevent-26.9.0.dist-info"
    real_gevent.mkdir()
    (real_gevent / "METADATA").write_text("Metadata-Version: 2.1\nName: gevent\nVersion: 26.9.0\n")
    (real_gevent / "entry_points.txt").write_text(
        textwrap.dedent("""
        [gevent.plugins.monkey.will_patch_all]
        signal_os_incompat = gk_no_such_module:hook
    """)
    )
    dist = tmp_path / "gk_test_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: gk-test-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        textwrap.dedent("""
        [greenkit.plugins.monkey.will_patch_all]
        mine = gk_test_plugin:greenkit_hook

        [gevent.plugins.monkey.will_patch_all]
        theirs = gk_test_plugin:gevent_hook

        [greenkit.plugins.monkey.did_patch_all]
        mine = gk_test_plugin:greenkit_hook

        [gevent.plugins.monkey.did_patch_all]
        same = gk_test_plugin:greenkit_hook
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    module = importlib.import_module("gk_test_plugin")
    yield module
    sys.modules.pop("gk_test_plugin", None)


def test_entry_points_of_both_groups_are_called(
    plugin_dist: types.ModuleType, received: list[Any]
) -> None:
    event = events.GeventWillPatchAllEvent({"socket": True}, {})
    events.notify_and_call_entry_points(event)
    assert received == [event]
    assert plugin_dist.calls == [("greenkit", event), ("gevent", event)]


def test_same_entry_point_in_both_groups_runs_once(plugin_dist: types.ModuleType) -> None:
    event = events.GeventDidPatchAllEvent({}, {})
    events.notify_and_call_entry_points(event)
    assert plugin_dist.calls == [("greenkit", event)]


def test_events_without_entry_point_names_only_notify(received: list[Any]) -> None:
    event = events.EventLoopBlocked(None, 0.1, [])
    events.notify_and_call_entry_points(event)
    assert received == [event]
