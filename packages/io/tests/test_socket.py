"""greenkit.socket: the cooperative socket class."""

from __future__ import annotations

import array
import ctypes
import errno
import os
import socket as std_socket
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

import greenkit.socket as gsocket
from greenkit.exceptions import ConcurrentObjectUseError
from greenkit.greenlet import Greenlet
from greenkit.hub import sleep

pytestmark = [pytest.mark.fd_leak_check, pytest.mark.usefixtures("blocking_resolver")]


@pytest.fixture
def pair() -> Iterator[tuple[gsocket.socket, gsocket.socket]]:
    a, b = gsocket.socketpair()
    with a, b:
        yield a, b


@pytest.fixture
def listener() -> Iterator[gsocket.socket]:
    with gsocket.create_server(("127.0.0.1", 0)) as server:
        yield server


def _closed_port() -> int:
    with std_socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# -- the class -----------------------------------------------------------------


def test_is_a_stdlib_socket_without_dict(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, _ = pair
    assert isinstance(a, std_socket.socket)
    assert type(a) is gsocket.socket
    assert gsocket.SocketType is gsocket.socket
    with pytest.raises(AttributeError):
        a.__dict__  # noqa: B018
    with pytest.raises(AttributeError):
        a.connect = None  # type: ignore[method-assign]


def test_attributes_and_repr() -> None:
    with gsocket.socket(gsocket.AF_INET, gsocket.SOCK_DGRAM, 0) as s:
        assert s.family is gsocket.AF_INET
        assert s.type is gsocket.SOCK_DGRAM
        assert s.proto == 0
        assert s.fileno() >= 0
        assert "greenkit.socket.socket" in repr(s)
        assert s._sock is s
        # The descriptor is always non-blocking; the Python timeout is separate.
        assert not os.get_blocking(s.fileno())
        assert s.gettimeout() is None
    assert s.fileno() == -1
    assert "[closed]" in repr(s)


def test_timeout_settings(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, _ = pair
    assert a.timeout is None and a.getblocking()
    a.settimeout(2)
    assert a.gettimeout() == 2.0 and isinstance(a.gettimeout(), float)
    assert a.timeout == 2.0 and a.getblocking()
    a.setblocking(False)
    assert a.gettimeout() == 0.0 and not a.getblocking()
    a.setblocking(True)
    assert a.gettimeout() is None
    with pytest.raises(ValueError, match="out of range"):
        a.settimeout(-1)
    with pytest.raises(ValueError, match="NaN"):
        a.settimeout(float("nan"))
    with pytest.raises(TypeError):
        a.settimeout("1")  # type: ignore[arg-type]
    for huge in (float("inf"), 1e300, 10**30):
        with pytest.raises(OverflowError):
            a.settimeout(huge)
    a.settimeout(True)
    assert a.gettimeout() == 1.0
    assert not os.get_blocking(a.fileno())


def test_default_timeout_applies_to_new_sockets() -> None:
    previous = gsocket.getdefaulttimeout()
    gsocket.setdefaulttimeout(3.5)
    try:
        with gsocket.socket() as s:
            assert s.gettimeout() == 3.5
            assert not os.get_blocking(s.fileno())
    finally:
        gsocket.setdefaulttimeout(previous)


def test_ref_property_sets_both_watchers(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, _ = pair
    assert a.ref
    a.ref = False
    assert not a.ref
    assert not a._read_event.ref and not a._write_event.ref
    a.ref = True
    assert a._read_event.ref and a._write_event.ref


# -- cooperation ---------------------------------------------------------------


def test_two_greenlets_ping_pong(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair

    def echo() -> int:
        count = 0
        while True:
            data = b.recv(100)
            if not data:
                return count
            b.sendall(data.upper())
            count += 1

    server = Greenlet.spawn(echo)
    for word in (b"one", b"two", b"three"):
        a.sendall(word)
        assert a.recv(100) == word.upper()
    a.shutdown(gsocket.SHUT_WR)
    assert server.get(timeout=10) == 3


def test_recv_parks_only_the_greenlet(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    reader = Greenlet.spawn(a.recv, 10)
    sleep(0.01)
    assert not reader.ready()
    b.send(b"late")
    assert reader.get(timeout=10) == b"late"


def test_recv_timeout(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, _ = pair
    a.settimeout(0.05)
    with pytest.raises(gsocket.timeout) as info:
        a.recv(10)
    assert info.value.args == ("timed out",)
    assert str(info.value) == "timed out"


def test_nonblocking_raises_blocking_io_error(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, _ = pair
    a.setblocking(False)
    with pytest.raises(BlockingIOError):
        a.recv(10)
    with pytest.raises(BlockingIOError):
        a.recv_into(bytearray(10))


def test_send_timeout_keyword(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, _ = pair
    a.setblocking(False)
    # Fill the buffers without blocking...
    with pytest.raises(BlockingIOError):
        while True:
            a.send(b"x" * 65536)
    # ...then the keyword overrides the socket's own (non-blocking) timeout.
    with pytest.raises(gsocket.timeout):
        a.send(b"x" * 65536, timeout=0.05)


def test_second_reader_is_concurrent_use(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    reader = Greenlet.spawn(a.recv, 10)
    sleep(0.001)
    with pytest.raises(ConcurrentObjectUseError):
        a.recv(10)
    assert isinstance(ConcurrentObjectUseError(), AssertionError)
    b.send(b"ok")
    assert reader.get(timeout=10) == b"ok"


def test_close_while_another_greenlet_reads_raises_ebadf() -> None:
    a, b = gsocket.socketpair()
    with b:
        reader = Greenlet.spawn(a.recv, 10)
        sleep(0.001)
        a.close()
        reader.join(timeout=10)
        assert isinstance(reader.exception, OSError)
        assert reader.exception.errno == errno.EBADF
        assert reader.exception is gsocket.cancel_wait_ex


def test_close_while_another_greenlet_writes_raises_ebadf() -> None:
    a, b = gsocket.socketpair()
    with b:
        writer = Greenlet.spawn(a.sendall, b"x" * (64 << 20))
        sleep(0.01)
        assert not writer.ready()
        a.close()
        writer.join(timeout=10)
        assert isinstance(writer.exception, OSError)
        assert writer.exception.errno == errno.EBADF


def test_close_while_accepting_raises_ebadf() -> None:
    server = gsocket.create_server(("127.0.0.1", 0))
    acceptor = Greenlet.spawn(server.accept)
    sleep(0.001)
    server.close()
    acceptor.join(timeout=10)
    assert isinstance(acceptor.exception, OSError)
    assert acceptor.exception.errno == errno.EBADF


def test_detach_wakes_waiters_and_keeps_fd(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    reader = Greenlet.spawn(a.recv, 10)
    sleep(0.001)
    fd = a.detach()
    try:
        reader.join(timeout=10)
        assert isinstance(reader.exception, OSError)
        assert a.fileno() == -1
        os.fstat(fd)  # still open
    finally:
        os.close(fd)


def test_operations_on_closed_socket_raise_ebadf() -> None:
    s = gsocket.socket()
    s.close()
    for call in (
        lambda: s.send(b"a", timeout=1),
        lambda: s.recv(1),
        s.accept,
        s.getsockname,
        lambda: s.shutdown(gsocket.SHUT_RDWR),
    ):
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == errno.EBADF
    s.close()  # twice is fine


# -- sending -------------------------------------------------------------------


def _read_all(sock: gsocket.socket) -> bytes:
    chunks = []
    while True:
        data = sock.recv(1 << 16)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def test_sendall_large_buffer_arrives_whole(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    payload = os.urandom(1 << 16) * 128  # 8 MiB: many partial writes
    reader = Greenlet.spawn(_read_all, b)
    a.sendall(payload)
    a.shutdown(gsocket.SHUT_WR)
    assert reader.get(timeout=30) == payload


def test_sendall_with_timeout_covers_whole_call(
    pair: tuple[gsocket.socket, gsocket.socket],
) -> None:
    a, b = pair
    a.settimeout(0.1)
    with pytest.raises(gsocket.timeout):
        a.sendall(b"x" * (64 << 20))  # nobody reads


def test_sendall_accepts_any_buffer(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair

    class Struct(ctypes.Structure):
        _fields_ = [("x", ctypes.c_int)]

    a.sendall(array.array("i", [1, 2]))
    a.sendall(Struct(7))
    a.sendall(memoryview(b"abcdef")[1:3])
    a.sendall(b"")
    a.shutdown(gsocket.SHUT_WR)
    expected = array.array("i", [1, 2]).tobytes() + bytes(Struct(7)) + b"bc"
    assert _read_all(b) == expected


def test_sendall_nonblocking_makes_an_attempt(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    a.setblocking(False)
    a.sendall(b"hi\n")
    assert b.recv(10) == b"hi\n"


def test_datagrams_sendto_recvfrom() -> None:
    with (
        gsocket.socket(gsocket.AF_INET, gsocket.SOCK_DGRAM) as a,
        gsocket.socket(gsocket.AF_INET, gsocket.SOCK_DGRAM) as b,
    ):
        b.bind(("127.0.0.1", 0))
        reader = Greenlet.spawn(b.recvfrom, 100)
        sleep(0.001)
        a.sendto(b"one", ("localhost", b.getsockname()[1]))  # name resolved first
        data, address = reader.get(timeout=10)
        assert data == b"one"
        a.sendto(b"two", 0, b.getsockname())
        buffer = bytearray(10)
        nbytes, address2 = b.recvfrom_into(buffer)
        assert bytes(buffer[:nbytes]) == b"two" and address2 == address


def test_recv_into(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    buffer = bytearray(10)
    reader = Greenlet.spawn(b.recv_into, buffer, 5)
    sleep(0.001)
    a.send(b"0123456789")
    assert reader.get(timeout=10) == 5
    assert buffer[:5] == b"01234"


def test_sendmsg_recvmsg_pass_fds(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    r, w = os.pipe()
    try:
        receiver = Greenlet.spawn(gsocket.recv_fds, b, 10, 1)
        sleep(0.001)
        gsocket.send_fds(a, [b"fd"], [w])
        data, fds, _flags, _addr = receiver.get(timeout=10)
        assert data == b"fd" and len(fds) == 1
        os.write(fds[0], b"!")
        os.close(fds[0])
        assert os.read(r, 1) == b"!"
        a.sendmsg([b"a", b"b"])
        buffer = bytearray(4)
        nbytes, _anc, _flags, _addr = b.recvmsg_into([buffer])
        assert buffer[:nbytes] == b"ab"
    finally:
        os.close(r)
        os.close(w)


def test_sendfile(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    payload = os.urandom(300_000)
    with tempfile.TemporaryFile() as f:
        f.write(payload)
        f.flush()
        reader = Greenlet.spawn(_read_all, b)
        assert a.sendfile(f, 1000, 200_000) == 200_000
        assert f.tell() == 201_000
        a.shutdown(gsocket.SHUT_WR)
        assert reader.get(timeout=30) == payload[1000:201_000]


def test_sendfile_falls_back_to_send(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    import io

    a, b = pair
    assert a.sendfile(io.BytesIO(b"in memory")) == 9
    assert b.recv(100) == b"in memory"
    with tempfile.TemporaryFile("w+") as text, pytest.raises(ValueError, match="binary"):
        a.sendfile(text)


# -- connections ---------------------------------------------------------------


def test_accept_connect_and_defaults(listener: gsocket.socket) -> None:
    port = listener.getsockname()[1]
    client = gsocket.socket()
    acceptor = Greenlet.spawn(listener.accept)
    client.connect(("127.0.0.1", port))
    conn, address = acceptor.get(timeout=10)
    with client, conn:
        assert type(conn) is gsocket.socket
        assert conn.gettimeout() is None
        assert address == client.getsockname()
        assert not os.get_blocking(conn.fileno())
        client.sendall(b"ping")
        assert conn.recv(4) == b"ping"


def test_accept_timeout(listener: gsocket.socket) -> None:
    listener.settimeout(0.05)
    with pytest.raises(gsocket.timeout):
        listener.accept()


def test_connect_by_name_and_connect_ex(listener: gsocket.socket) -> None:
    port = listener.getsockname()[1]
    with gsocket.socket() as client:
        assert client.connect_ex(("localhost", port)) == 0
        conn, _ = listener.accept()
        conn.close()
    with gsocket.socket() as client:
        assert client.connect_ex(("127.0.0.1", _closed_port())) == errno.ECONNREFUSED


def test_connect_refused_message() -> None:
    with gsocket.socket() as s:
        with pytest.raises(ConnectionRefusedError, match="refused"):
            s.connect(("127.0.0.1", _closed_port()))


def test_connect_ex_nonblocking_and_overflow() -> None:
    with gsocket.socket() as s:
        s.setblocking(False)
        assert isinstance(s.connect_ex(("127.0.0.1", _closed_port())), int)
    with gsocket.socket() as s:
        s.setblocking(False)
        with pytest.raises(OverflowError):
            s.connect_ex(("127.0.0.1", 65539))


def test_connect_unix_path() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sock")
        with gsocket.socket(gsocket.AF_UNIX) as server, gsocket.socket(gsocket.AF_UNIX) as c:
            server.bind(path)
            server.listen()
            c.connect(path)
            conn, _ = server.accept()
            with conn:
                c.sendall(b"unix")
                assert conn.recv(10) == b"unix"


def test_create_connection_refused_closes_its_socket() -> None:
    with pytest.raises(ConnectionRefusedError):
        gsocket.create_connection(("127.0.0.1", _closed_port()), timeout=5)
    with pytest.raises(ExceptionGroup) as info:
        gsocket.create_connection(("127.0.0.1", _closed_port()), all_errors=True)
    assert all(isinstance(e, ConnectionRefusedError) for e in info.value.exceptions)


def test_create_connection_timeout_and_source(listener: gsocket.socket) -> None:
    port = listener.getsockname()[1]
    with gsocket.create_connection(
        ("localhost", port), timeout=7, source_address=("127.0.0.1", 0)
    ) as client:
        assert client.gettimeout() == 7.0
        assert client.getsockname()[0] == "127.0.0.1"
        conn, _ = listener.accept()
        conn.close()


def test_create_connection_base_exception_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[Any] = []

    class Boom(BaseException):
        pass

    class Fake:
        closed = False

        def __init__(self, *args: Any) -> None:
            created.append(self)

        def connect(self, address: Any) -> None:
            raise Boom

        def close(self) -> None:
            self.closed = True

    monkeypatch.setattr(gsocket, "socket", Fake)
    monkeypatch.setattr(gsocket, "getaddrinfo", lambda *a: [(2, 1, 6, "", ("1.2.3.4", 5))])
    with pytest.raises(Boom):
        gsocket.create_connection(("host", 5))
    assert len(created) == 1 and created[0].closed


def test_connect_timeout() -> None:
    # A listener whose backlog is full drops further SYNs: connect hangs.
    server = gsocket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    address = server.getsockname()
    fillers: list[gsocket.socket] = []
    try:
        for _ in range(8):
            s = gsocket.socket()
            fillers.append(s)
            s.settimeout(0.2)
            try:
                s.connect(address)
            except gsocket.timeout:
                break
        else:
            pytest.skip("the kernel accepted every connection")
        with gsocket.socket() as s:
            s.settimeout(0.05)
            assert s.connect_ex(address) == errno.EAGAIN
    finally:
        for s in fillers:
            s.close()
        server.close()


# -- makefile, dup, fromfd -----------------------------------------------------


def test_makefile_binary_and_text(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    with b.makefile("rb") as rb, a.makefile("w", encoding="utf-8") as w:
        reader = Greenlet.spawn(rb.readline)
        sleep(0.001)
        w.write("héllo\nrest")
        w.flush()
        assert reader.get(timeout=10) == "héllo\n".encode()


def test_makefile_keeps_fd_until_last_close(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    f = a.makefile("rb")
    fd = a.fileno()
    a.close()
    assert a.fileno() == fd  # the file still holds it open
    b.sendall(b"line\n")
    assert f.readline() == b"line\n"
    f.close()
    assert a.fileno() == -1


def test_makefile_read_timeout(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, _ = pair
    a.settimeout(0.05)
    with a.makefile("rb") as f:
        with pytest.raises(gsocket.timeout):
            f.readline()


def test_dup_and_fromfd(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    a.settimeout(4)
    with a.dup() as d, gsocket.fromfd(b.fileno(), b.family, gsocket.SOCK_STREAM) as f:
        assert type(d) is gsocket.socket and type(f) is gsocket.socket
        assert d.gettimeout() == 4.0
        assert d.fileno() != a.fileno() and f.fileno() != b.fileno()
        d.sendall(b"dup")
        assert f.recv(10) == b"dup"


def test_socketpair_families() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        assert a.family == gsocket.AF_UNIX and type(a) is gsocket.socket
    a, b = gsocket.socketpair(gsocket.AF_UNIX, gsocket.SOCK_DGRAM)
    with a, b:
        a.send(b"d")
        assert b.recv(1) == b"d"


def test_create_server_options() -> None:
    with gsocket.create_server(("127.0.0.1", 0), backlog=5, reuse_port=True) as s:
        assert type(s) is gsocket.socket
        assert s.getsockopt(gsocket.SOL_SOCKET, gsocket.SO_REUSEPORT) != 0
    with pytest.raises(OSError, match="while attempting to bind"):
        with gsocket.create_server(("127.0.0.1", 0)) as taken:
            gsocket.create_server(taken.getsockname())


def test_msg_dontwait_on_a_blocking_socket_raises(
    pair: tuple[gsocket.socket, gsocket.socket],
) -> None:
    a, b = pair
    # As with the standard library's blocking sockets: no waiting.
    with pytest.raises(BlockingIOError):
        a.recv(10, gsocket.MSG_DONTWAIT)
    with pytest.raises(BlockingIOError):
        a.recvmsg(10, 0, gsocket.MSG_DONTWAIT)
    with pytest.raises(BlockingIOError):
        while True:
            a.sendmsg([b"x" * 65536], [], gsocket.MSG_DONTWAIT)
    # With a timeout, the standard library waits (and so do we).
    a.settimeout(0.05)
    with pytest.raises(gsocket.timeout):
        a.send(b"x" * 65536, gsocket.MSG_DONTWAIT)
    assert len(b.recv(10, gsocket.MSG_DONTWAIT)) == 10


def test_connect_bad_port_with_a_host_name() -> None:
    with gsocket.socket() as s:
        s.setblocking(False)
        with pytest.raises(OverflowError):
            s.connect_ex(("localhost", 65539))
    with gsocket.socket() as s:
        with pytest.raises(OverflowError):
            s.connect(("localhost", -1))


def test_connect_twice_is_an_error_like_the_stdlib(listener: gsocket.socket) -> None:
    address = listener.getsockname()
    with gsocket.socket() as client:
        client.connect(address)
        with pytest.raises(OSError) as info:
            client.connect(address)
        assert info.value.errno == errno.EISCONN
        assert client.connect_ex(address) == errno.EISCONN
        listener.accept()[0].close()


def test_close_while_another_greenlet_selects_on_it_does_not_abort() -> None:
    # select() starts io watchers of its own on the fd: the socket's close
    # must not pull the fd from under them (libev would abort the process).
    import greenkit.select as gselect

    a, b = gsocket.socketpair()
    with b:
        results: list[Any] = []
        glet = Greenlet.spawn(lambda: results.append(gselect.select([a], [], [], 5)))
        sleep(0.01)
        a.close()
        glet.join(5)
        # Woken by the close (the fd reads as at end of file), not by the timeout.
        assert results == [([a], [], [])]
    sleep(0.01)  # the deferred close of the fd happens in the next iteration
