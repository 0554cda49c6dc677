"""Fixtures for greenkit-loop-libev's tests.

Only greenkit-loop-libev, pytest and greenkit-testing are needed: no greenlet, no hub.
Everything that waits for an event runs the loop under a *guard*
(greenkit-testing's ``guarded_run``): an unreferenced timer that breaks the
loop after a generous timeout, so a missing event is a test failure instead
of a hang.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from greenkit.loop import libev


@pytest.fixture
def loop(fresh_loop: libev.loop) -> libev.loop:
    """greenkit-testing's ``fresh_loop`` (a new non-default loop, destroyed
    after the test) under the short name these tests use."""
    assert not fresh_loop.default
    return fresh_loop


@pytest.fixture
def default_loop() -> Iterator[libev.loop]:
    """libev's default loop, destroyed after the test (the next one gets a fresh one)."""
    lp = libev.loop(default=True)
    assert lp.default
    try:
        yield lp
    finally:
        lp.destroy()


@pytest.fixture
def sockpair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected, non-blocking AF_UNIX socket pair, closed after the test."""
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


@pytest.fixture
def closed_fd() -> int:
    """A file descriptor number that is not open (it was, a moment ago)."""
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    return r
