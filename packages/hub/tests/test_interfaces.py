"""The loop interfaces the hub is written against."""

from __future__ import annotations

import importlib.metadata
import typing

import pytest
from zope.interface import verify
from zope.interface.exceptions import Invalid

import greenkit._interfaces as interfaces
from greenkit.hub import get_hub


@pytest.mark.parametrize(
    "name", ["LoopProtocol", "WatcherProtocol", "ChildWatcherProtocol", "CallbackProtocol"]
)
def test_is_a_protocol(name: str) -> None:
    cls = getattr(interfaces, name)
    assert isinstance(cls, type)
    # PEP 544: a protocol class names Protocol among its own bases.
    assert typing.Protocol in cls.__bases__
    if hasattr(typing, "is_protocol"):  # Python 3.13+
        assert typing.is_protocol(cls)


def test_is_a_namespace_portion() -> None:
    # greenkit-hub ships no greenkit/__init__.py (only the meta-package does).
    files = {str(path) for path in importlib.metadata.files("greenkit-hub") or ()}
    assert "greenkit/_interfaces/__init__.py" in files
    assert "greenkit/__init__.py" not in files


@pytest.mark.parametrize(
    ("name", "protocol"),
    [("ILoop", "LoopProtocol"), ("IWatcher", "WatcherProtocol"), ("ICallback", "CallbackProtocol")],
)
def test_zope_interface_has_the_protocols_members(name: str, protocol: str) -> None:
    iface = getattr(interfaces, name)
    proto = getattr(interfaces, protocol)
    expected = {m for m in vars(proto) if not m.startswith("_")} | set(proto.__annotations__)
    assert set(iface.names()) == expected
    assert iface.__name__ == name


def test_the_hubs_loop_and_its_objects_verify() -> None:
    loop = get_hub().loop
    assert verify.verifyObject(interfaces.ILoop, loop)
    assert verify.verifyObject(interfaces.ICallback, loop.run_callback(lambda: None))
    assert verify.verifyObject(interfaces.ICallback, loop.run_callback_threadsafe(lambda: None))
    for watcher in (loop.timer(1), loop.io(0, 1), loop.idle(), loop.async_()):
        try:
            assert verify.verifyObject(interfaces.IWatcher, watcher)
        finally:
            watcher.close()


def test_the_default_loops_child_watcher_is_a_child_watcher_protocol() -> None:
    loop = get_hub().loop
    assert loop is not None and loop.default
    watcher = loop.child(0)
    try:
        assert isinstance(watcher, interfaces.ChildWatcherProtocol)
        assert (watcher.pid, watcher.rpid, watcher.rstatus) == (0, 0, 0)
    finally:
        watcher.close()


def test_an_object_missing_members_does_not_verify() -> None:
    class Incomplete:
        def run(self) -> None:
            pass

    with pytest.raises(Invalid):
        verify.verifyObject(interfaces.ILoop, Incomplete(), tentative=True)
