"""The loop interfaces the hub is written against."""

from __future__ import annotations

import importlib.metadata
import typing

import pytest

import greenkit._interfaces as interfaces


@pytest.mark.parametrize("name", ["ILoop", "IWatcher", "ICallback"])
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
