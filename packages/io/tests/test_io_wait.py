"""greenkit._io_wait: parking greenlets until an fd is ready."""

from __future__ import annotations

import os
import socket

import pytest

import greenkit.time
from greenkit._io_wait import cancel_wait_ex, wait_on_watcher, wait_read, wait_write
from greenkit.exceptions import ConcurrentObjectUseError
from greenkit.hub import get_hub, sleep, spawn_raw

pytestmark = pytest.mark.fd_leak_check


def test_wait_read_returns_once_data_arrives() -> None:
    a, b = socket.socketpair()
    with a, b:
        spawn_raw(lambda: (sleep(0.01), b.send(b"x")))
        wait_read(a.fileno(), timeout=5)
        assert a.recv(1) == b"x"


def test_wait_write_on_a_writable_socket_returns() -> None:
    a, b = socket.socketpair()
    with a, b:
        assert wait_write(a.fileno(), timeout=5) is None
        # Writable indeed: a non-blocking send goes through at once.
        a.setblocking(False)
        assert a.send(b"x") == 1
        assert b.recv(1) == b"x"


def test_wait_read_times_out_with_socket_timeout() -> None:
    a, b = socket.socketpair()
    with a, b:
        with pytest.raises(socket.timeout, match="timed out"):
            wait_read(a.fileno(), timeout=0.01)


def test_wait_read_custom_timeout_exception() -> None:
    r, w = os.pipe()
    try:
        with pytest.raises(KeyError):
            wait_read(r, timeout=0.01, timeout_exc=KeyError("late"))
    finally:
        os.close(r)
        os.close(w)


def test_second_waiter_on_one_watcher_is_concurrent_use() -> None:
    a, b = socket.socketpair()
    with a, b:
        watcher = get_hub().loop.io(a.fileno(), 1)
        errors: list[BaseException] = []

        def second() -> None:
            try:
                wait_on_watcher(watcher, timeout=1)
            except ConcurrentObjectUseError as ex:
                errors.append(ex)
            b.send(b"x")

        spawn_raw(second)
        try:
            wait_on_watcher(watcher, timeout=5)
        finally:
            watcher.close()
        assert len(errors) == 1 and "already used by another greenlet" in str(errors[0])


def test_cancel_wait_wakes_the_waiter_with_ebadf() -> None:
    a, b = socket.socketpair()
    with a, b:
        hub = get_hub()
        watcher = hub.loop.io(a.fileno(), 1)
        spawn_raw(lambda: hub.cancel_wait(watcher, cancel_wait_ex))
        with pytest.raises(OSError) as info:
            wait_on_watcher(watcher, timeout=5)
        watcher.close()
        assert info.value is cancel_wait_ex


def test_time_sleep_is_the_cooperative_one() -> None:
    assert greenkit.time.sleep is sleep
    assert greenkit.time.__implements__ == ["sleep"]
