"""The patching machinery, in-process, on scratch modules (never the stdlib)."""

from __future__ import annotations

import sys
import types
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from greenkit import _originals, events, monkey


@pytest.fixture
def fresh_saved(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A private ``monkey.saved`` so these tests leave no trace on it."""
    mapping: dict[str, Any] = {}
    monkeypatch.setattr(monkey, "saved", mapping)
    return mapping


@pytest.fixture
def seen() -> Iterator[list[Any]]:
    """Every event notified during the test."""
    received: list[Any] = []
    events.subscribers.append(received.append)
    try:
        yield received
    finally:
        events.subscribers.remove(received.append)


_counter = iter(range(1_000_000))


def scratch(prefix: str, **attrs: Any) -> types.ModuleType:
    """A new module, registered in sys.modules under a unique name."""
    module = types.ModuleType(f"_greenkit_monkey_test_{prefix}_{next(_counter)}")
    for name, value in attrs.items():
        setattr(module, name, value)
    sys.modules[module.__name__] = module
    return module


def original_ping() -> str:
    return "original"


def green_ping() -> str:
    return "green"


def test_nothing_patched_at_first(fresh_saved: dict[str, Any]) -> None:
    assert not monkey.is_anything_patched()
    assert not monkey.is_module_patched("time")
    assert not monkey.is_object_patched("time", "sleep")


def test_patch_module_copies_implements_and_records_originals(
    fresh_saved: dict[str, Any], seen: list[Any]
) -> None:
    target = scratch("target", ping=original_ping, keep=1)
    source = scratch("source", ping=green_ping, extra=2, __implements__=["ping"])

    assert monkey.patch_module(target, source) is True

    assert target.ping is green_ping
    assert target.keep == 1
    assert not hasattr(target, "extra")
    assert fresh_saved == {target.__name__: {"ping": original_ping}}
    assert monkey.is_module_patched(target.__name__)
    assert monkey.is_object_patched(target.__name__, "ping")
    assert not monkey.is_object_patched(target.__name__, "keep")
    assert monkey.is_anything_patched()
    # The hub's registry has it too: that is where get_original looks.
    assert _originals.get_original(target.__name__, "ping") is original_ping
    assert monkey.get_original(target.__name__, "ping") is original_ping
    assert monkey.get_original(target.__name__, ["ping", "keep"]) == [original_ping, 1]

    will, did = seen
    assert isinstance(will, events.GeventWillPatchModuleEvent)
    assert (will.module_name, will.source, will.target) == (target.__name__, source, target)
    assert will.target_item_names == ["ping"]
    assert isinstance(did, events.GeventDidPatchModuleEvent)
    assert (did.module_name, did.source, did.target) == (target.__name__, source, target)


def test_patch_module_by_name_with_items(fresh_saved: dict[str, Any]) -> None:
    target = scratch("target", ping=original_ping)
    source = scratch("source", ping=green_ping)  # no __implements__
    assert monkey.patch_module(target.__name__, source.__name__, items=["ping"])
    assert target.ping is green_ping


def test_patch_module_without_implements_or_items_is_an_error(fresh_saved: dict[str, Any]) -> None:
    target = scratch("target", ping=original_ping)
    source = scratch("source", ping=green_ping)
    with pytest.raises(AttributeError, match="__implements__"):
        monkey.patch_module(target, source)
    assert target.ping is original_ping
    assert not fresh_saved


def test_missing_item_changes_nothing(fresh_saved: dict[str, Any], seen: list[Any]) -> None:
    target = scratch("target", ping=original_ping)
    source = scratch("source", ping=green_ping, __implements__=["ping", "absent"])
    with pytest.raises(AttributeError, match="absent"):
        monkey.patch_module(target, source)
    assert target.ping is original_ping
    assert not fresh_saved
    assert seen == []


def test_second_patch_keeps_the_first_original(fresh_saved: dict[str, Any]) -> None:
    target = scratch("target", ping=original_ping)
    source = scratch("source", ping=green_ping, __implements__=["ping"])
    monkey.patch_module(target, source)
    other = scratch("other", ping=lambda: "other", __implements__=["ping"])
    monkey.patch_module(target, other)
    assert target.ping is other.ping
    assert monkey.get_original(target.__name__, "ping") is original_ping
    assert fresh_saved[target.__name__]["ping"] is original_ping


def test_new_names_are_added_but_not_recorded(fresh_saved: dict[str, Any]) -> None:
    target = scratch("target")
    source = scratch("source", fresh=green_ping, __implements__=["fresh"])
    monkey.patch_module(target, source)
    assert target.fresh is green_ping
    assert not monkey.is_object_patched(target.__name__, "fresh")


def test_subscriber_can_veto(fresh_saved: dict[str, Any], seen: list[Any]) -> None:
    target = scratch("target", ping=original_ping)
    source = scratch("source", ping=green_ping, __implements__=["ping"])

    def veto(event: Any) -> None:
        if isinstance(event, events.GeventWillPatchModuleEvent):
            raise events.DoNotPatch

    events.subscribers.append(veto)
    try:
        assert monkey.patch_module(target, source) is False
    finally:
        events.subscribers.remove(veto)
    assert target.ping is original_ping
    assert not monkey.is_module_patched(target.__name__)
    assert [type(e) for e in seen] == [events.GeventWillPatchModuleEvent]


def test_source_hooks(fresh_saved: dict[str, Any], seen: list[Any]) -> None:
    calls: list[tuple[Any, ...]] = []
    target = scratch("target", ping=original_ping)

    def will(target_module: Any, items: list[str], warn: Any, **kwargs: Any) -> None:
        calls.append(("will", target_module, list(items), kwargs, target_module.ping))

    def did(target_module: Any, items: list[str], warn: Any, **kwargs: Any) -> None:
        calls.append(("did", target_module, list(items), kwargs, target_module.ping))
        warn("from the hook")

    source = scratch(
        "source",
        ping=green_ping,
        __implements__=["ping"],
        _gevent_will_monkey_patch=will,
        _gevent_did_monkey_patch=did,
    )
    with pytest.warns(monkey.MonkeyPatchWarning, match="from the hook"):
        monkey.patch_module(target, source, _patch_kwargs={"flag": 1})
    assert calls == [
        ("will", target, ["ping"], {"flag": 1}, original_ping),
        ("did", target, ["ping"], {"flag": 1}, green_ping),
    ]


def test_hook_can_veto(fresh_saved: dict[str, Any], seen: list[Any]) -> None:
    def will(target_module: Any, items: list[str], warn: Any, **kwargs: Any) -> None:
        raise events.DoNotPatch

    target = scratch("target", ping=original_ping)
    source = scratch(
        "source", ping=green_ping, __implements__=["ping"], _gevent_will_monkey_patch=will
    )
    assert monkey.patch_module(target, source) is False
    assert target.ping is original_ping
    assert seen == []


def test_remove_item_records_then_deletes(fresh_saved: dict[str, Any]) -> None:
    target = scratch("target", epoll=original_ping)
    monkey.remove_item(target, "epoll")
    monkey.remove_item(target, "never_there")
    assert not hasattr(target, "epoll")
    assert fresh_saved == {target.__name__: {"epoll": original_ping}}
    assert monkey.get_original(target.__name__, "epoll") is original_ping


def test_get_original_of_unpatched_module_imports_it() -> None:
    import os

    assert monkey.get_original("os", "getpid") is os.getpid
    assert monkey.get_original("os.path", ["join", "sep"]) == [
        sys.modules["os.path"].join,
        sys.modules["os.path"].sep,
    ]
    with pytest.raises(AttributeError):
        monkey.get_original("os", "no_such_thing_here")
    with pytest.raises(ImportError):
        monkey.get_original("no_such_module_here", "x")


def test_patch_all_settings_key_is_not_a_module(fresh_saved: dict[str, Any]) -> None:
    fresh_saved[monkey._PATCH_ALL_SETTINGS] = {"time": True}
    assert not monkey.is_anything_patched()


def test_warning_is_a_runtime_warning() -> None:
    assert issubclass(monkey.MonkeyPatchWarning, RuntimeWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        monkey._process_warnings(["one", "two"])
    assert [str(w.message) for w in caught] == ["one", "two"]
    assert all(w.category is monkey.MonkeyPatchWarning for w in caught)


def test_all_names_exist() -> None:
    for name in monkey.__all__:
        assert hasattr(monkey, name), name
