"""greenkit.select: cooperative select() and poll."""

from __future__ import annotations

import errno
import os
import resource
import select as stdlib_select
import socket
from typing import Any
from unittest import mock

import pytest

import greenkit.os as gos
import greenkit.select as gselect
from greenkit.hub import sleep, spawn_raw

pytestmark = pytest.mark.fd_leak_check


def test_module_surface() -> None:
    assert gselect.__implements__ == ["select", "poll"]
    assert sorted(gselect.__all__) == sorted(["select", "poll", "error"])
    assert gselect.error is stdlib_select.error
    assert gselect.POLLIN == stdlib_select.POLLIN
    assert gselect.epoll is stdlib_select.epoll
    assert gselect.select is not stdlib_select.select


def test_ready_descriptors_return_at_once(pipe: Any) -> None:
    r, w = pipe
    os.write(w, b"x")
    assert gselect.select([r], [w], [], 5) == ([r], [w], [])


def test_timeout_zero_and_empty_lists(pipe: Any) -> None:
    r, _w = pipe
    assert gselect.select([r], [], [], 0) == ([], [], [])
    assert gselect.select([], [], [], 0.01) == ([], [], [])


def test_select_blocks_only_the_caller(pipe: Any) -> None:
    r, w = pipe
    ran: list[str] = []

    def other() -> None:
        ran.append("other")
        os.write(w, b"x")

    spawn_raw(other)
    assert gselect.select([r], [], [], 5) == ([r], [], [])
    assert ran == ["other"]


def test_select_times_out(pipe: Any) -> None:
    r, _w = pipe
    assert gselect.select([r], [], [], 0.02) == ([], [], [])


def test_objects_with_fileno_and_iterables() -> None:
    a, b = socket.socketpair()
    with a, b:
        b.send(b"x")
        assert gselect.select(iter([a]), [], [], 1) == ([a], [], [])


def test_bad_arguments_raise_like_the_stdlib(pipe: Any) -> None:
    r, _w = pipe
    with pytest.raises(TypeError):
        gselect.select(["hello"], [], [], 0.001)
    with pytest.raises(ValueError, match="non-negative"):
        gselect.select([r], [], [], -1)
    with pytest.raises(TypeError):
        gselect.select([r], [], [], "1")  # type: ignore[arg-type]
    fd = os.dup(r)
    os.close(fd)
    with pytest.raises(OSError) as info:
        gselect.select([fd], [], [], 0)
    assert info.value.errno == errno.EBADF


def test_descriptor_closed_before_watching_is_reported_ready(pipe: Any) -> None:
    r, _w = pipe
    fd = os.dup(r)
    os.close(fd)
    with mock.patch.object(gselect, "_original_select", return_value=([], [], [])):
        assert gselect.select([fd], [], [], 0.01) == ([fd], [], [])


def test_greenkit_os_close_while_selecting_does_not_abort(pipe: Any) -> None:
    r, _w = pipe
    fd = os.dup(r)
    spawn_raw(gos.close, fd)
    with mock.patch.object(gselect, "_original_select", return_value=([], [], [])):
        assert gselect.select([fd], [], [], 1) == ([fd], [], [])
    sleep(0.01)
    with pytest.raises(OSError):
        os.fstat(fd)


def test_poll_register_modify_unregister(pipe: Any) -> None:
    r, w = pipe
    p = gselect.poll()
    p.register(r, gselect.POLLIN)
    with pytest.raises(KeyError):
        p.unregister(w)
    with pytest.raises(FileNotFoundError):
        p.modify(w, gselect.POLLOUT)
    with pytest.raises(ValueError):
        p.register(-1)
    with pytest.raises(TypeError):
        p.register("x")
    p.register(w)
    p.modify(w, gselect.POLLOUT)
    assert p.poll(0) == [(w, gselect.POLLOUT)]
    p.unregister(w)
    assert p.poll(0) == []
    os.write(w, b"x")
    assert p.poll(1000) == [(r, gselect.POLLIN)]


def test_poll_waits_cooperatively(pipe: Any) -> None:
    r, w = pipe
    p = gselect.poll()
    p.register(r, gselect.POLLIN)
    spawn_raw(lambda: (sleep(0.01), os.write(w, b"x")))
    assert p.poll() == [(r, gselect.POLLIN)]
    assert p.poll(-1) == [(r, gselect.POLLIN)]


def test_poll_times_out_in_milliseconds(pipe: Any) -> None:
    r, _w = pipe
    p = gselect.poll()
    p.register(r, gselect.POLLIN)
    assert p.poll(20) == []


def test_poll_reports_pollnval_for_closed_descriptors(pipe: Any) -> None:
    r, _w = pipe
    fd = os.dup(r)
    p = gselect.poll()
    p.register(fd, gselect.POLLIN)
    os.close(fd)
    assert p.poll(0) == [(fd, gselect.POLLNVAL)]
    with mock.patch.object(gselect, "_original_select", return_value=([], [], [])):
        assert p.poll(10) == [(fd, gselect.POLLNVAL)]


@pytest.mark.skipif(
    resource.getrlimit(resource.RLIMIT_NOFILE)[0] <= 1500,
    reason="needs a descriptor limit above 1500",
)
def test_poll_beyond_fd_setsize(pipe: Any) -> None:
    _r, w = pipe
    high = os.dup2(w, 1500)
    try:
        p = gselect.poll()
        p.register(high, gselect.POLLOUT)
        assert p.poll(0) == [(high, gselect.POLLOUT)]
    finally:
        os.close(high)


def test_a_list_mutated_by_fileno_is_read_live_like_the_stdlib() -> None:
    objects: list[Any] = []

    class Shrinking:
        def fileno(self) -> int:
            del objects[-1]
            return 1  # stdout: writable

    objects[:] = [Shrinking()] * 10
    assert gselect.select([], objects, [], 0) == ([], objects[:5], [])


def test_select_yields_even_when_something_is_ready_at_once() -> None:
    # A loop polling always-ready descriptors (asyncore under monkey
    # patching) must still let other greenlets run.
    ran: list[int] = []
    a, b = socket.socketpair()
    with a, b:
        spawn_raw(ran.append, 1)
        for _ in range(3):
            assert gselect.select([], [a], [], 0)[1] == [a]
            gselect.select([], [a], [])
        assert ran == [1]
