"""greenkit.baseserver: addresses, spawning strategies, pools, errors, life cycle."""

from __future__ import annotations

import errno
import socket as stdlib_socket
from typing import Any

import pytest
from conftest import connect, read_all

from greenkit.baseserver import BaseServer, parse_address
from greenkit.event import Event
from greenkit.greenlet import Greenlet
from greenkit.hub import sleep, spawn_raw
from greenkit.pool import Pool
from greenkit.server import StreamServer

pytestmark = pytest.mark.fd_leak_check


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (("127.0.0.1", 80), (stdlib_socket.AF_INET, ("127.0.0.1", 80))),
        (("::1", 80), (stdlib_socket.AF_INET6, ("::1", 80))),
        (("[::1]", "81"), (stdlib_socket.AF_INET6, ("::1", 81))),
        ("127.0.0.1:8080", (stdlib_socket.AF_INET, ("127.0.0.1", 8080))),
        (":8080", (stdlib_socket.AF_INET, ("", 8080))),
        ("8080", (stdlib_socket.AF_INET, ("", 8080))),
        (8080, (stdlib_socket.AF_INET, ("", 8080))),
        ("[::]:9000", (stdlib_socket.AF_INET6, ("::", 9000))),
    ],
)
def test_parse_address(address: Any, expected: Any) -> None:
    assert parse_address(address) == expected


@pytest.mark.parametrize("address", ["host:port", "1.2.3.4:70000", ("h", -1)])
def test_parse_address_bad_port(address: Any) -> None:
    with pytest.raises(ValueError):
        parse_address(address)


@pytest.mark.parametrize("address", [None, 1.5, (1, 2), b"x:1"])
def test_parse_address_bad_type(address: Any) -> None:
    with pytest.raises(TypeError):
        parse_address(address)


def test_handle_is_required() -> None:
    with pytest.raises(TypeError, match="'handle' must be provided"):
        BaseServer(("127.0.0.1", 0))
    with pytest.raises(TypeError):
        BaseServer(("127.0.0.1", 0), handle=42)  # type: ignore[arg-type]


def test_spawn_strategies() -> None:
    def handle(*args: Any) -> None:
        pass

    server = BaseServer(("127.0.0.1", 0), handle)
    assert server._spawn == Greenlet.spawn and server.pool is None
    server.set_spawn(3)
    assert isinstance(server.pool, Pool) and server.pool.size == 3
    assert server.full() is False
    pool = Pool(1)
    server.set_spawn(pool)
    assert server.pool is pool and server._spawn == pool.spawn
    server.set_spawn(None)
    assert server._spawn is None and server.pool is None
    server.set_spawn(spawn_raw)
    assert server._spawn is spawn_raw
    server.set_spawn("default")
    assert server._spawn == Greenlet.spawn
    with pytest.raises(TypeError):
        server.set_spawn("sometimes")


def test_max_accept_must_be_positive() -> None:
    class Server(BaseServer):
        max_accept = 0

    with pytest.raises(ValueError):
        Server(("127.0.0.1", 0), print)


def test_repr_names_handle_and_address() -> None:
    class Server(StreamServer):
        def handle(self, sock: Any, address: Any) -> None:  # type: ignore[override]
            sock.close()

    with Server(("127.0.0.1", 0)) as server:
        server.start()
        text = repr(server)
        assert f"address=127.0.0.1:{server.server_port}" in text
        server.set_handle(server.handle)
        assert "handle=<bound method" in repr(server) and "of self>" in repr(server)
        assert "fileno=" in str(server)
    assert server.closed
    assert not hasattr(server, "socket")


def test_ssl_socket_is_refused() -> None:
    class FakeSSLSocket:
        def accept(self) -> None: ...
        def do_handshake(self) -> None: ...

    with pytest.raises(TypeError):
        StreamServer(FakeSSLSocket(), print)


def _echo_once(sock: Any, address: Any) -> None:
    try:
        sock.sendall(sock.recv(100).upper())
    finally:
        sock.close()


def _ask(server: Any, data: bytes) -> bytes:
    with connect(server) as client:
        client.sendall(data)
        return read_all(client)


def _greet(sock: Any, address: Any) -> None:
    # Never blocks: usable with spawn=None (in the hub).
    try:
        sock.sendall(b"hello %d" % address[1])
    finally:
        sock.close()


@pytest.mark.parametrize("spawn", ["default", None, 2, spawn_raw, Pool(3)])
def test_each_strategy_serves(spawn: Any) -> None:
    server = StreamServer(("127.0.0.1", 0), _greet, spawn=spawn)
    server.start()

    def ask() -> bool:
        with connect(server) as client:
            return read_all(client) == b"hello %d" % client.getsockname()[1]

    try:
        jobs = [Greenlet.spawn(ask) for i in range(6)]
        assert [job.get(timeout=10) for job in jobs] == [True] * 6
    finally:
        server.stop()


def test_full_pool_pauses_accepting() -> None:
    release = Event()
    started = []

    def handle(sock: Any, address: Any) -> None:
        started.append(address)
        try:
            release.wait(10)
            sock.sendall(b"done")
        finally:
            sock.close()

    server = StreamServer(("127.0.0.1", 0), handle, spawn=1)
    server.start()
    try:
        jobs = [Greenlet.spawn(_ask, server, b"") for _ in range(3)]
        sleep(0.2)
        assert len(started) == 1
        assert server.full()
        release.set()
        assert [job.get(timeout=10) for job in jobs] == [b"done"] * 3
        assert len(started) == 3
    finally:
        server.stop()


def test_error_in_handle_is_reported_and_server_goes_on(handle_errors: list[Any]) -> None:
    calls = []

    def handle(sock: Any, address: Any) -> None:
        calls.append(address)
        if len(calls) == 1:
            raise KeyError("first")
        _greet(sock, address)

    server = StreamServer(("127.0.0.1", 0), handle, spawn=None)
    server.start()
    try:
        assert _ask(server, b"") == b""  # the failed connection is closed
        assert _ask(server, b"").startswith(b"hello")
    finally:
        server.stop()
    assert [(type_, str(value)) for _, type_, value in handle_errors] == [(KeyError, "'first'")]
    context = handle_errors[0][0]
    assert context[1] is server


def test_blocking_in_hub_handle_is_reported(handle_errors: list[Any]) -> None:
    def handle(sock: Any, address: Any) -> None:
        sleep(0.01)

    server = StreamServer(("127.0.0.1", 0), handle, spawn=None)
    server.start()
    try:
        assert _ask(server, b"x") == b""
    finally:
        server.stop()
    assert len(handle_errors) == 1
    assert "Impossible to call blocking function" in str(handle_errors[0][2])


class _FlakyServer(StreamServer):
    """Fails its first accept with ``error``."""

    error: OSError

    def do_read(self) -> Any:
        if getattr(self, "failed", False):
            return StreamServer.do_read(self)
        self.failed = True
        raise self.error


def test_accept_error_backs_off_then_resumes(handle_errors: list[Any]) -> None:
    server = _FlakyServer(("127.0.0.1", 0), _echo_once)
    server.error = OSError(errno.EMFILE, "Too many open files")
    server.start()
    try:
        assert _ask(server, b"ok") == b"OK"
        assert server.started and not server.closed
        assert server.delay == server.min_delay
    finally:
        server.stop()
    assert [value for _, _, value in handle_errors] == [server.error]


def test_fatal_accept_error_closes(handle_errors: list[Any], capsys: Any) -> None:
    server = _FlakyServer(("127.0.0.1", 0), _echo_once)
    server.error = OSError(errno.EBADF, "Bad file descriptor")
    server.start()
    try:
        try:
            client = connect(server)
        except ConnectionResetError:
            client = None  # the listener closed before the handshake finished
        sleep(0.1)
        assert server.closed and not server.started
        if client is not None:
            client.close()
    finally:
        server.stop()
    assert "failed with" in capsys.readouterr().err
    assert [value for _, _, value in handle_errors] == [server.error]


def test_error_in_spawn_closes_connection(handle_errors: list[Any]) -> None:
    def spawn(*args: Any) -> None:
        raise RuntimeError("no more greenlets")

    server = StreamServer(("127.0.0.1", 0), _echo_once, spawn=spawn)
    server.start()
    try:
        assert _ask(server, b"x") == b""
    finally:
        server.stop()
    assert [type_ for _, type_, _ in handle_errors] == [RuntimeError]


def test_stop_accepting_and_start_accepting() -> None:
    server = StreamServer(("127.0.0.1", 0), _echo_once)
    server.start()
    try:
        server.stop_accepting()
        job = Greenlet.spawn(_ask, server, b"later")
        sleep(0.1)
        assert not job.ready()
        server.start_accepting()
        assert job.get(timeout=10) == b"LATER"
    finally:
        server.stop()


def test_stop_kills_handlers_after_timeout() -> None:
    entered = Event()

    def handle(sock: Any, address: Any) -> None:
        try:
            entered.set()
            sleep(30)
        finally:
            sock.close()

    server = StreamServer(("127.0.0.1", 0), handle, spawn=Pool(5))
    server.start()
    with connect(server) as client:
        client.sendall(b"x")
        entered.wait(10)
        server.stop(timeout=0.05)
        assert len(server.pool) == 0
        assert read_all(client) == b""


def test_serve_forever_until_stop() -> None:
    server = StreamServer(("127.0.0.1", 0), _echo_once)
    runner = Greenlet.spawn(server.serve_forever)
    try:
        sleep(0.01)
        assert server.started
        assert _ask(server, b"a") == b"A"
        server.stop()
        runner.get(timeout=10)
        assert not server.started and server.closed
    finally:
        runner.kill()
        server.stop()


def test_killing_serve_forever_stops_server() -> None:
    server = StreamServer(("127.0.0.1", 0), _echo_once)
    runner = Greenlet.spawn(server.serve_forever)
    sleep(0.01)
    runner.kill(block=True)
    assert server.closed and not server.started


def test_start_twice_and_stop_twice() -> None:
    server = StreamServer(("127.0.0.1", 0), _echo_once)
    server.start()
    server.start()
    port = server.server_port
    assert port
    server.stop()
    server.stop()
    with pytest.raises(OSError):
        stdlib_socket.create_connection(("127.0.0.1", port), timeout=5).close()
