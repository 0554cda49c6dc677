"""Fixtures for greenkit-loop-libev's tests.

Only greenkit-loop-libev and pytest are needed: no greenlet, no hub.
Everything that waits for an event runs the loop under a *guard*: an
unreferenced timer that breaks the loop after a generous timeout, so a
missing event is a test failure instead of a hang.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator

import pytest

from greenkit.loop import libev

#: Generous upper bound for anything a test waits for, in seconds.
GUARD_TIMEOUT = 10.0


def _guarded_run(loop: libev.loop, timeout: float = GUARD_TIMEOUT) -> bool:
    """Run ``loop`` until it has nothing left to do; False if the guard had to stop it."""
    expired: list[bool] = []

    def on_timeout() -> None:
        expired.append(True)
        loop.break_()

    guard = loop.timer(timeout, ref=False)
    guard.start(on_timeout, update=True)
    try:
        loop.run()
    finally:
        guard.close()
    return not expired


@pytest.fixture
def guarded_run() -> Callable[..., bool]:
    """``guarded_run(loop, timeout=10)``: run the loop; True if it finished by itself."""
    return _guarded_run


@pytest.fixture
def loop() -> Iterator[libev.loop]:
    """A new non-default loop, destroyed after the test."""
    lp = libev.loop(default=False)
    assert not lp.default
    try:
        yield lp
    finally:
        lp.destroy()


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
