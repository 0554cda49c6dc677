"""greenkit.selectors: the cooperative selector."""

from __future__ import annotations

import os
import selectors as stdlib_selectors
import socket

import pytest

import greenkit.selectors as gselectors
from greenkit.hub import sleep, spawn_raw

pytestmark = pytest.mark.fd_leak_check


def test_module_surface() -> None:
    assert gselectors.__implements__ == ["DefaultSelector"]
    assert gselectors.DefaultSelector is gselectors.GreenSelector is gselectors.GeventSelector
    assert gselectors.BaseSelector is stdlib_selectors.BaseSelector
    assert gselectors.EVENT_READ == stdlib_selectors.EVENT_READ
    assert sorted(gselectors.__all__) == sorted(
        gselectors.__implements__ + gselectors.__extensions__ + gselectors.__imports__
    )
    assert issubclass(gselectors.GreenSelector, stdlib_selectors.BaseSelector)


def test_select_waits_cooperatively() -> None:
    a, b = socket.socketpair()
    with a, b, gselectors.GreenSelector() as sel:
        sel.register(a, gselectors.EVENT_READ, "data")
        spawn_raw(lambda: (sleep(0.01), b.send(b"x")))
        [(key, events)] = sel.select(timeout=5)
        assert (key.fileobj, key.data, events) == (a, "data", gselectors.EVENT_READ)


def test_read_and_write_events_and_non_blocking_select() -> None:
    a, b = socket.socketpair()
    with a, b, gselectors.DefaultSelector() as sel:
        sel.register(a, gselectors.EVENT_READ | gselectors.EVENT_WRITE)
        assert [events for _key, events in sel.select(0)] == [gselectors.EVENT_WRITE]
        b.send(b"x")
        assert [events for _key, events in sel.select(-1)] == [
            gselectors.EVENT_READ | gselectors.EVENT_WRITE
        ]
        sel.modify(a, gselectors.EVENT_READ)
        assert [events for _key, events in sel.select()] == [gselectors.EVENT_READ]
        sel.unregister(a)
        assert sel.select(0.01) == []


def test_select_times_out() -> None:
    a, b = socket.socketpair()
    with a, b, gselectors.GreenSelector() as sel:
        sel.register(a, gselectors.EVENT_READ)
        assert sel.select(timeout=0.02) == []


def test_registering_a_closed_descriptor_is_refused() -> None:
    r, w = os.pipe()
    os.close(w)
    fd = os.dup(r)
    os.close(fd)
    with gselectors.GreenSelector() as sel:
        with pytest.raises(ValueError, match="Invalid file"):
            sel.register(fd, gselectors.EVENT_READ)
        assert sel.get_map() is not None and len(sel.get_map()) == 0
        sel.register(r, gselectors.EVENT_READ)
        with pytest.raises(KeyError):
            sel.register(r, gselectors.EVENT_READ)
    os.close(r)
