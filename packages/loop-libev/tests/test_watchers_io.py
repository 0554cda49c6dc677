"""io watchers on socket pairs: read/write readiness, EVENTS, fd/events attributes."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from greenkit.loop import libev

SockPair = tuple[socket.socket, socket.socket]


def test_write_readiness(
    loop: libev.loop, sockpair: SockPair, guarded_run: Callable[..., bool]
) -> None:
    a, _b = sockpair
    seen: list[object] = []
    w = loop.io(a.fileno(), libev.WRITE)

    def on_ready(*args: object) -> None:
        seen.append(args)
        w.stop()

    w.start(on_ready, "x", 2)
    assert w.active
    assert guarded_run(loop)
    assert seen == [("x", 2)]
    assert not w.active
    w.close()


def test_read_readiness_only_after_data_arrives(
    loop: libev.loop, sockpair: SockPair, guarded_run: Callable[..., bool]
) -> None:
    a, b = sockpair
    got: list[bytes] = []
    w = loop.io(a.fileno(), libev.READ)

    def on_read() -> None:
        got.append(a.recv(100))
        w.stop()

    w.start(on_read)
    loop.run(nowait=True)
    loop.run(nowait=True)
    assert got == []  # nothing to read yet
    b.send(b"hello")
    assert guarded_run(loop)
    assert got == [b"hello"]
    w.close()


def test_events_marker_receives_revents(
    loop: libev.loop, sockpair: SockPair, guarded_run: Callable[..., bool]
) -> None:
    a, b = sockpair
    b.send(b"x")
    seen: list[tuple[object, ...]] = []
    w = loop.io(a.fileno(), libev.READ | libev.WRITE)

    def cb(*args: object) -> None:
        seen.append(args)
        w.stop()

    w.start(cb, libev.EVENTS, "tail")
    assert guarded_run(loop)
    assert len(seen) == 1
    revents, tail = seen[0]
    assert revents == libev.READ | libev.WRITE
    assert tail == "tail"
    # args keeps the marker; only the call sees the mask.
    w.close()


def test_io_callback_runs_repeatedly_while_ready(loop: libev.loop, sockpair: SockPair) -> None:
    a, _b = sockpair
    count: list[int] = []
    w = loop.io(a.fileno(), libev.WRITE)
    w.start(count.append, 1)
    for _ in range(3):
        loop.run(once=True)
    assert len(count) == 3
    w.close()


def test_two_watchers_on_one_fd(
    loop: libev.loop, sockpair: SockPair, guarded_run: Callable[..., bool]
) -> None:
    a, b = sockpair
    b.send(b"data")
    seen: list[str] = []
    r = loop.io(a.fileno(), libev.READ)
    w = loop.io(a.fileno(), libev.WRITE)

    def on(name: str, watcher: libev.io) -> None:
        seen.append(name)
        watcher.stop()

    r.start(on, "read", r)
    w.start(on, "write", w)
    assert guarded_run(loop)
    assert sorted(seen) == ["read", "write"]
    r.close()
    w.close()


def test_fd_and_events_attributes(loop: libev.loop, sockpair: SockPair) -> None:
    a, b = sockpair
    w = loop.io(a.fileno(), libev.READ)
    assert w.fd == a.fileno()
    assert w.events == libev.READ
    assert w.events_str == "READ"
    w.fd = b.fileno()
    w.events = libev.READ | libev.WRITE
    assert w.fd == b.fileno()
    assert w.events == libev.READ | libev.WRITE
    assert w.events_str == "READ|WRITE"
    w.start(lambda: None)
    with pytest.raises(AttributeError):
        w.fd = a.fileno()
    with pytest.raises(AttributeError):
        w.events = libev.WRITE
    assert w.fd == b.fileno()
    w.stop()
    w.events = libev.WRITE
    assert w.events == libev.WRITE
    w.close()


def test_changed_fd_is_the_one_watched(loop: libev.loop, guarded_run: Callable[..., bool]) -> None:
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    try:
        d.send(b"x")
        got: list[bytes] = []
        w = loop.io(a.fileno(), libev.READ)
        w.fd = c.fileno()

        def on_read() -> None:
            got.append(c.recv(10))
            w.stop()

        w.start(on_read)
        assert guarded_run(loop)
        assert got == [b"x"]
        w.close()
    finally:
        for s in (a, b, c, d):
            s.close()


def test_io_accepts_objects_with_index(loop: libev.loop, sockpair: SockPair) -> None:
    a, _b = sockpair

    class FD:
        def __index__(self) -> int:
            return a.fileno()

    w = loop.io(FD(), libev.READ)  # type: ignore[arg-type]
    assert w.fd == a.fileno()
    w.close()


def test_repr_mentions_fd_and_events(loop: libev.loop, sockpair: SockPair) -> None:
    a, _b = sockpair
    w = loop.io(a.fileno(), libev.WRITE)
    text = repr(w)
    assert f"fd={a.fileno()}" in text
    assert "WRITE" in text
    w.close()
    assert "closed" in repr(w)
