"""greenkit.ssl: cooperative TLS sockets over greenkit.socket."""

from __future__ import annotations

import errno
import os
import socket as stdlib_socket
import ssl as stdlib_ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import greenkit.socket
import greenkit.ssl
from greenkit.greenlet import Greenlet
from greenkit.hub import sleep
from greenkit.ssl import SSLContext, SSLSocket

pytestmark = pytest.mark.fd_leak_check

#: Self-signed certificate and key for ``localhost``/127.0.0.1/::1, valid
#: until 2126 (``openssl req -x509 -newkey rsa:2048 -days 36500 -nodes
#: -subj /CN=localhost -addext subjectAltName=...``).
KEYCERT = os.path.join(os.path.dirname(__file__), "test_ssl_keycert.pem")


def server_context() -> SSLContext:
    ctx = SSLContext(stdlib_ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(KEYCERT)
    return ctx


def client_context() -> SSLContext:
    """A verifying client context that trusts the test certificate."""
    ctx = SSLContext(stdlib_ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(KEYCERT)
    return ctx


def tls_pair(
    client_ctx: SSLContext | None = None, server_ctx: SSLContext | None = None, **client_kwargs: Any
) -> tuple[SSLSocket, SSLSocket]:
    """Both ends of a TLS connection over a greenkit socketpair, the two
    handshakes run by two greenlets at once."""
    a, b = greenkit.socket.socketpair()
    server = Greenlet.spawn((server_ctx or server_context()).wrap_socket, b, server_side=True)
    client_kwargs.setdefault("server_hostname", "localhost")
    try:
        client = (client_ctx or client_context()).wrap_socket(a, **client_kwargs)
    except BaseException:
        server.join(10)
        if server.successful():
            server.value.close()
        raise
    return client, server.get(timeout=10)


@pytest.fixture
def pair() -> Iterator[tuple[SSLSocket, SSLSocket]]:
    client, server = tls_pair()
    with client, server:
        yield client, server


@pytest.fixture
def listener() -> Iterator[greenkit.socket.socket]:
    sock = greenkit.socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    with sock:
        yield sock


def spawn(func: Callable[..., Any], *args: Any) -> Greenlet:
    return Greenlet.spawn(func, *args)


# -- the module ---------------------------------------------------------------


def test_module_names() -> None:
    for name in greenkit.ssl.__implements__:
        assert hasattr(greenkit.ssl, name), name
    assert set(greenkit.ssl.__imports__) <= set(greenkit.ssl.__all__)
    assert "SSLContext" in greenkit.ssl.__all__ and "SSLSocket" in greenkit.ssl.__all__
    assert ("wrap_socket" in greenkit.ssl.__implements__) == hasattr(stdlib_ssl, "wrap_socket")
    for name in greenkit.ssl.__all__:
        assert hasattr(greenkit.ssl, name), name


def test_stdlib_names_reexported_unchanged() -> None:
    for name in (
        "CERT_NONE",
        "PROTOCOL_TLS_CLIENT",
        "SSLError",
        "SSLWantReadError",
        "SSLObject",
        "MemoryBIO",
        "Purpose",
        "DER_cert_to_PEM_cert",
        "TLSVersion",
        "CertificateError",
        "SSLZeroReturnError",
        "HAS_ALPN",
        "OPENSSL_VERSION",
    ):
        assert getattr(greenkit.ssl, name) is getattr(stdlib_ssl, name), name
        assert name in greenkit.ssl.__imports__
    # The socket-module names ssl happens to import are not the blocking ones.
    assert "socket" not in greenkit.ssl.__imports__
    assert "create_connection" not in greenkit.ssl.__imports__
    assert not any(name in greenkit.ssl.__imports__ for name in ("os", "sys", "errno"))


def test_classes_extend_the_right_bases() -> None:
    assert issubclass(SSLContext, stdlib_ssl.SSLContext)
    assert issubclass(SSLSocket, greenkit.socket.socket)
    assert SSLContext.sslsocket_class is SSLSocket
    assert SSLContext.__module__ == "greenkit.ssl"
    assert SSLSocket.__module__ == "greenkit.ssl"


def test_wrap_bio_is_untouched() -> None:
    obj = server_context().wrap_bio(
        stdlib_ssl.MemoryBIO(), stdlib_ssl.MemoryBIO(), server_side=True
    )
    assert type(obj) is stdlib_ssl.SSLObject


def test_context_setters_survive_monkey_patching(monkeypatch: pytest.MonkeyPatch) -> None:
    # The standard setters look ``SSLContext`` up in ssl's globals: once it is
    # ours they would recurse.  Ours must not.
    monkeypatch.setattr(stdlib_ssl, "SSLContext", SSLContext)
    ctx = SSLContext(stdlib_ssl.PROTOCOL_TLS_CLIENT)
    ctx.options |= stdlib_ssl.OP_NO_COMPRESSION
    assert ctx.options & stdlib_ssl.OP_NO_COMPRESSION
    assert isinstance(ctx.options, stdlib_ssl.Options)
    ctx.check_hostname = False
    ctx.verify_mode = stdlib_ssl.CERT_OPTIONAL
    assert ctx.verify_mode is stdlib_ssl.CERT_OPTIONAL
    ctx.verify_flags |= stdlib_ssl.VERIFY_X509_STRICT
    assert ctx.verify_flags & stdlib_ssl.VERIFY_X509_STRICT
    ctx.minimum_version = stdlib_ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = stdlib_ssl.TLSVersion.TLSv1_3
    assert ctx.minimum_version is stdlib_ssl.TLSVersion.TLSv1_2
    assert ctx.maximum_version is stdlib_ssl.TLSVersion.TLSv1_3

    def callback(*args: Any) -> None:
        pass

    ctx._msg_callback = callback
    assert ctx._msg_callback is callback
    ctx._msg_callback = None
    assert ctx._msg_callback is None
    with pytest.raises(TypeError):
        ctx._msg_callback = 42
    default = stdlib_ssl.create_default_context()
    assert type(default) is SSLContext


def test_msg_callback_sees_enums() -> None:
    seen: list[tuple[Any, ...]] = []
    client_ctx = client_context()
    client_ctx._msg_callback = lambda conn, direction, version, ctype, mtype, data: seen.append(
        (conn, direction, version, ctype, mtype)
    )
    client, server = tls_pair(client_ctx)
    with client, server:
        assert seen
        assert any(entry[0] is client for entry in seen)
        assert any(isinstance(entry[2], stdlib_ssl.TLSVersion) for entry in seen)


def test_create_default_context() -> None:
    ctx = greenkit.ssl.create_default_context()
    assert type(ctx) is SSLContext
    assert ctx.check_hostname and ctx.verify_mode == stdlib_ssl.CERT_REQUIRED
    server = greenkit.ssl.create_default_context(stdlib_ssl.Purpose.CLIENT_AUTH)
    assert server.protocol == stdlib_ssl.PROTOCOL_TLS_SERVER
    with pytest.raises(TypeError):
        greenkit.ssl.create_default_context("nope")
    unverified = greenkit.ssl._create_unverified_context()
    assert type(unverified) is SSLContext
    assert unverified.verify_mode == stdlib_ssl.CERT_NONE and not unverified.check_hostname
    assert greenkit.ssl._create_stdlib_context is greenkit.ssl._create_unverified_context
    with pytest.raises(ValueError, match="certfile must be specified"):
        greenkit.ssl._create_unverified_context(keyfile=KEYCERT)


@pytest.mark.parametrize("factory", ["create_default_context", "_create_unverified_context"])
@pytest.mark.parametrize("purpose", list(stdlib_ssl.Purpose))
def test_context_factories_match_the_running_python(factory: str, purpose: Any) -> None:
    ours = getattr(greenkit.ssl, factory)(purpose=purpose)
    theirs = getattr(stdlib_ssl, factory)(purpose=purpose)
    assert type(ours) is SSLContext
    for attribute in (
        "protocol",
        "options",
        "verify_mode",
        "verify_flags",
        "check_hostname",
        "minimum_version",
        "maximum_version",
        "post_handshake_auth",
    ):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert ours.cert_store_stats() == theirs.cert_store_stats()


# -- handshake and data -------------------------------------------------------


def test_handshake_between_two_greenlets(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, server = pair
    assert isinstance(client, SSLSocket) and isinstance(server, SSLSocket)
    assert not client.server_side and server.server_side
    assert client.server_hostname == "localhost" and server.server_hostname is None
    assert client.version() == server.version() and client.version() is not None
    assert client.cipher() == server.cipher() and client.cipher() is not None
    assert dict(x[0] for x in client.getpeercert()["subject"])["commonName"] == "localhost"
    assert isinstance(client.getpeercert(True), bytes)
    assert server.getpeercert() is None  # the client sent no certificate
    assert client.selected_alpn_protocol() is None
    assert client.pending() == 0
    assert client.context.__class__ is SSLContext
    client.sendall(b"hello")
    assert server.recv(5) == b"hello"
    server.send(b"there")
    buf = bytearray(10)
    assert client.recv_into(buf) == 5 and bytes(buf[:5]) == b"there"


@pytest.mark.skipif(not hasattr(stdlib_ssl.SSLSocket, "get_verified_chain"), reason="Python 3.13+")
def test_certificate_chains(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, _server = pair
    der = client.getpeercert(True)
    assert client.get_unverified_chain() == [der]  # type: ignore[attr-defined]
    assert client.get_verified_chain() == [der]  # type: ignore[attr-defined]


def test_alpn_is_negotiated() -> None:
    client_ctx, server_ctx = client_context(), server_context()
    client_ctx.set_alpn_protocols(["h2", "http/1.1"])
    server_ctx.set_alpn_protocols(["http/1.1"])
    client, server = tls_pair(client_ctx, server_ctx)
    with client, server:
        assert client.selected_alpn_protocol() == "http/1.1"
        assert server.selected_alpn_protocol() == "http/1.1"


def test_large_transfers_both_ways_at_once(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, server = pair
    size = 4 * 1024 * 1024
    up = os.urandom(1024) * (size // 1024)
    down = bytes(reversed(up))

    def receive(sock: SSLSocket) -> bytes:
        chunks = []
        received = 0
        while received < size:
            chunk = sock.recv(65536)
            assert chunk
            chunks.append(chunk)
            received += len(chunk)
        return b"".join(chunks)

    readers = [spawn(receive, server), spawn(receive, client)]
    writers = [spawn(client.sendall, up), spawn(server.sendall, memoryview(down))]
    for writer in writers:
        writer.get(timeout=30)
    assert readers[0].get(timeout=30) == up
    assert readers[1].get(timeout=30) == down


def test_sendall_accepts_buffers(pair: tuple[SSLSocket, SSLSocket]) -> None:
    import array

    client, server = pair
    client.sendall(array.array("i", [1, 2, 3]))
    data = b""
    while len(data) < 12:
        data += server.recv(100)
    assert array.array("i", data).tolist() == [1, 2, 3]
    client.sendall(b"")
    assert client.send(b"") == 0


def test_sendfile_goes_through_tls(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, server = pair
    with open(KEYCERT, "rb") as f:
        content = f.read()
        f.seek(0)
        assert server.sendfile(f) == len(content)
        assert f.tell() == len(content)
        assert server.sendfile(f, 10, 20) == 20
        assert f.tell() == 30
    expected = content + content[10:30]
    data = b""
    while len(data) < len(expected):
        data += client.recv(65536)
    assert data == expected
    with open(KEYCERT) as text:
        with pytest.raises(ValueError, match="binary mode"):
            server.sendfile(text)


def test_read_and_write_methods(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, server = pair
    assert client.write(b"abc") == 3
    assert server.read(3) == b"abc"
    server.write(b"xyz")
    buf = bytearray(3)
    assert client.read(3, buf) == 3 and buf == b"xyz"


def test_pending_counts_buffered_plaintext(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, server = pair
    client.sendall(b"0123456789")
    assert server.recv(2) == b"01"
    assert server.pending() == 8
    assert server.recv(100) == b"23456789"


# -- refusal rules ------------------------------------------------------------


def test_standard_refusals(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, _server = pair
    for call in (
        lambda: client.send(b"x", 1),
        lambda: client.sendall(b"x", 1),
        lambda: client.recv(1, 1),
        lambda: client.recv_into(bytearray(1), 1, 1),
        lambda: client.sendto(b"x", ("127.0.0.1", 1)),
        lambda: client.recvfrom(1),
        lambda: client.recvfrom_into(bytearray(1)),
    ):
        with pytest.raises(ValueError):
            call()
    for call in (
        lambda: client.sendmsg([b"x"]),
        lambda: client.recvmsg(1),
        lambda: client.recvmsg_into([bytearray(1)]),
        client.dup,
    ):
        with pytest.raises(NotImplementedError):
            call()


def test_wrap_refuses_bad_arguments() -> None:
    ctx = client_context()
    with greenkit.socket.socket() as sock:
        with pytest.raises(ValueError, match="check_hostname requires server_hostname"):
            ctx.wrap_socket(sock)
        with pytest.raises(ValueError, match="server_hostname can only be specified"):
            server_context().wrap_socket(sock, server_side=True, server_hostname="x")
        assert sock.fileno() >= 0  # refused before taking the fd over
    with greenkit.socket.socket(type=stdlib_socket.SOCK_DGRAM) as udp:
        with pytest.raises(NotImplementedError, match="only stream sockets"):
            server_context().wrap_socket(udp, server_side=True)


def test_unconnected_socket_propagates_socket_errors() -> None:
    ctx = SSLContext(stdlib_ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    with ctx.wrap_socket(greenkit.socket.socket()) as ss:
        assert ss.version() is None and ss.cipher() is None and ss.pending() == 0
        with pytest.raises(OSError) as info:
            ss.getpeercert()
        assert info.value.errno == errno.ENOTCONN
        with pytest.raises(OSError):
            ss.recv(1)
        with pytest.raises(OSError):
            ss.send(b"x")
        with pytest.raises(ValueError):
            ss.read(1)
        with pytest.raises(ValueError):
            ss.write(b"x")
        with pytest.raises(ValueError, match="No SSL wrapper"):
            ss.unwrap()


def test_timeout_of_the_wrapped_socket_is_kept() -> None:
    ctx = SSLContext(stdlib_ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    for timeout in (None, 0.0, 5.0):
        sock = greenkit.socket.socket()
        sock.settimeout(timeout)
        with ctx.wrap_socket(sock) as ss:
            assert ss.gettimeout() == timeout
        assert sock.fileno() == -1  # detached


# -- timeouts and non-blocking mode ------------------------------------------


def test_recv_timeout(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, _server = pair
    client.settimeout(0.1)
    with pytest.raises(stdlib_socket.timeout, match="read operation timed out"):
        client.recv(10)
    with pytest.raises(TimeoutError):
        client.recv_into(bytearray(10))


def test_sendall_timeout_when_the_peer_does_not_read(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, _server = pair
    client.settimeout(0.2)
    with pytest.raises(TimeoutError, match="write operation timed out"):
        client.sendall(b"x" * (64 * 1024 * 1024))


def test_handshake_timeout_when_the_peer_is_silent() -> None:
    a, b = greenkit.socket.socketpair()
    with a, b:
        a.settimeout(0.1)
        with pytest.raises(TimeoutError, match="handshake operation timed out"):
            client_context().wrap_socket(a, server_hostname="localhost")
        assert a.fileno() == -1


def test_timeout_covers_the_whole_operation(pair: tuple[SSLSocket, SSLSocket]) -> None:
    # The peer reads a little every 50 ms, so each wait of the writer ends well
    # before the timeout; the call as a whole must still time out.
    client, server = pair
    client.settimeout(0.3)
    stop: list[bool] = []

    def slow_reader() -> None:
        while not stop:
            sleep(0.05)
            server.recv(16384)

    reader = spawn(slow_reader)
    try:
        with pytest.raises(TimeoutError):
            client.sendall(b"y" * (64 * 1024 * 1024))
    finally:
        stop.append(True)
        reader.get(timeout=5)


def test_send_timeout_argument_overrides_the_socket_timeout(
    pair: tuple[SSLSocket, SSLSocket],
) -> None:
    client, server = pair
    assert client.send(b"abc", timeout=1) == 3
    assert server.recv(3) == b"abc"
    with pytest.raises(TimeoutError, match="write operation timed out"):
        while True:
            client.send(b"w" * 65536, timeout=0.1)


def test_nonblocking_raises_want_errors(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, _server = pair
    client.setblocking(False)
    with pytest.raises(stdlib_ssl.SSLWantReadError):
        client.recv(10)
    with pytest.raises(stdlib_ssl.SSLWantWriteError):
        client.sendall(b"z" * (64 * 1024 * 1024))


def test_nonblocking_handshake() -> None:
    a, b = greenkit.socket.socketpair()
    with a, b:
        a.setblocking(False)
        with pytest.raises(ValueError, match="non-blocking"):
            client_context().wrap_socket(a, server_hostname="localhost")
    a, b = greenkit.socket.socketpair()
    a.setblocking(False)
    client = client_context().wrap_socket(
        a, server_hostname="localhost", do_handshake_on_connect=False
    )
    server = server_context().wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    with client, server:
        with pytest.raises(stdlib_ssl.SSLWantReadError):
            client.do_handshake()
        handshaking = spawn(server.do_handshake)
        client.do_handshake(block=True)
        handshaking.get(timeout=10)
        assert client.gettimeout() == 0.0
        assert client.version() is not None


# -- close, shutdown, unwrap, EOF --------------------------------------------


def test_close_while_another_greenlet_reads(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, _server = pair
    reader = spawn(client.recv, 100)
    sleep(0.05)
    assert not reader.ready()
    client.close()
    with pytest.raises(OSError) as info:
        reader.get(timeout=5)
    assert info.value.errno == errno.EBADF
    assert client.fileno() == -1


def test_close_while_another_greenlet_writes(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, _server = pair
    writer = spawn(client.sendall, b"v" * (64 * 1024 * 1024))
    sleep(0.05)
    assert not writer.ready()  # the peer does not read: the writer waits
    client.close()
    with pytest.raises(OSError) as info:
        writer.get(timeout=5)
    assert info.value.errno == errno.EBADF


def test_close_while_another_greenlet_handshakes() -> None:
    a, b = greenkit.socket.socketpair()
    with b:
        client = client_context().wrap_socket(
            a, server_hostname="localhost", do_handshake_on_connect=False
        )
        handshaking = spawn(client.do_handshake)
        sleep(0.05)
        client.close()
        with pytest.raises(OSError):
            handshaking.get(timeout=5)


def test_killing_a_handshake_closes_the_socket() -> None:
    a, b = greenkit.socket.socketpair()
    with b:
        handshaking = spawn(lambda: client_context().wrap_socket(a, server_hostname="localhost"))
        sleep(0.05)
        handshaking.kill()
        assert handshaking.dead
        assert a.fileno() == -1  # detached into the SSLSocket, which closed


def test_unwrap_returns_a_plain_socket(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, server = pair
    client.sendall(b"secret")
    assert server.recv(6) == b"secret"
    peer = spawn(server.unwrap)
    assert client.unwrap() is client
    assert peer.get(timeout=10) is server
    assert client.version() is None
    client.sendall(b"plain")
    assert server.recv(5) == b"plain"
    with pytest.raises(ValueError, match="No SSL wrapper"):
        client.unwrap()


def test_clean_shutdown_reads_as_eof(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, server = pair
    closing = spawn(client.unwrap)  # waits for the server's close_notify
    assert server.recv(10) == b""
    assert server.unwrap() is server
    assert closing.get(timeout=10) is client


def test_ragged_eof_is_suppressed_by_default(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, server = pair
    client.sendall(b"last")
    # End the transport under the client without a TLS close_notify.
    client.shutdown(stdlib_socket.SHUT_RDWR)
    assert server.recv(10) == b"last"
    assert server.recv(10) == b""


def test_ragged_eof_raises_when_not_suppressed() -> None:
    client, server = tls_pair(suppress_ragged_eofs=False)
    with client, server:
        server.shutdown(stdlib_socket.SHUT_RDWR)
        with pytest.raises(stdlib_ssl.SSLError):
            client.recv(10)


def test_shutdown_drops_the_tls_layer(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, server = pair
    client.shutdown(stdlib_socket.SHUT_WR)
    assert client.version() is None
    assert server.recv(10) == b""


# -- makefile -----------------------------------------------------------------


def test_makefile_reads_and_writes(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, server = pair
    with server.makefile("wb") as out:
        out.write(b"line one\nline two\n")
        out.flush()
    reader = client.makefile("rb")
    client.close()  # the file keeps the fd open
    assert reader.readline() == b"line one\n"
    assert reader.readline() == b"line two\n"
    server.close()
    assert reader.read() == b""
    reader.close()


def test_makefile_timeout(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, _server = pair
    client.settimeout(0.1)
    with client.makefile("rb") as reader:
        with pytest.raises(TimeoutError):
            reader.readline()


def test_makefile_text_mode(pair: tuple[SSLSocket, SSLSocket]) -> None:
    client, server = pair
    with client.makefile("w") as writer:
        writer.write("héllo\n")
    with server.makefile("r", encoding="utf-8") as reader:
        assert reader.readline() == "héllo\n"


# -- connect, accept, and the module functions -------------------------------


def test_connect_accept_over_loopback(listener: greenkit.socket.socket) -> None:
    port = listener.getsockname()[1]
    ssl_listener = server_context().wrap_socket(listener, server_side=True)
    with ssl_listener:

        def serve() -> bytes:
            conn, _addr = ssl_listener.accept()
            with conn:
                assert isinstance(conn, SSLSocket) and conn.server_side
                data = conn.recv(100)
                conn.sendall(data.upper())
                return bytes(data)

        server = spawn(serve)
        with client_context().wrap_socket(
            greenkit.socket.socket(), server_hostname="localhost"
        ) as client:
            client.connect(("127.0.0.1", port))
            client.sendall(b"ping")
            assert client.recv(100) == b"PING"
            with pytest.raises(ValueError, match="already-connected"):
                client.connect(("127.0.0.1", port))
        assert server.get(timeout=10) == b"ping"


def test_server_side_cannot_connect() -> None:
    with server_context().wrap_socket(greenkit.socket.socket(), server_side=True) as sock:
        with pytest.raises(ValueError, match="server-side mode"):
            sock.connect(("127.0.0.1", 9))


def test_certificate_verification_failure() -> None:
    strict = SSLContext(stdlib_ssl.PROTOCOL_TLS_CLIENT)  # trusts nothing
    a, b = greenkit.socket.socketpair()
    server = spawn(server_context().wrap_socket, b, True)
    with pytest.raises(stdlib_ssl.SSLCertVerificationError):
        strict.wrap_socket(a, server_hostname="localhost")
    with pytest.raises(OSError):  # the client's alert (SSLError), or a reset
        server.get(timeout=10)
    assert a.fileno() == -1 and b.fileno() == -1


def test_hostname_mismatch() -> None:
    with pytest.raises(stdlib_ssl.SSLCertVerificationError, match=r"mismatch|match"):
        tls_pair(server_hostname="example.org")


def test_get_server_certificate_is_cooperative(listener: greenkit.socket.socket) -> None:
    port = listener.getsockname()[1]
    ctx = server_context()

    def serve() -> None:
        conn, _ = listener.accept()
        with ctx.wrap_socket(conn, server_side=True) as tls:
            try:
                tls.recv(1)  # until the client goes away
            except ConnectionResetError:
                pass  # it left the session tickets unread

    server = spawn(serve)
    pem = greenkit.ssl.get_server_certificate(("127.0.0.1", port), ca_certs=KEYCERT)
    server.get(timeout=10)
    with open(KEYCERT) as f:
        expected = f.read()
    der = stdlib_ssl.PEM_cert_to_DER_cert(pem)
    start = expected.index("-----BEGIN CERTIFICATE-----")
    assert der == stdlib_ssl.PEM_cert_to_DER_cert(expected[start:])


@pytest.mark.skipif(not hasattr(stdlib_ssl, "wrap_socket"), reason="ssl.wrap_socket is gone")
def test_module_wrap_socket() -> None:
    wrap = greenkit.ssl.wrap_socket
    with greenkit.socket.socket() as sock:
        with pytest.raises(ValueError, match="certfile must be specified for server-side"):
            wrap(sock, server_side=True)
        with pytest.raises(ValueError, match="certfile must be specified"):
            wrap(sock, keyfile=KEYCERT)
    a, b = greenkit.socket.socketpair()
    server = spawn(
        lambda: wrap(
            b, server_side=True, certfile=KEYCERT, ssl_version=stdlib_ssl.PROTOCOL_TLS_SERVER
        )
    )
    client = client_context().wrap_socket(a, server_hostname="localhost")
    with client, server.get(timeout=10) as srv:
        client.sendall(b"ok")
        assert srv.recv(2) == b"ok"


def test_direct_construction() -> None:
    a, b = greenkit.socket.socketpair()
    server = spawn(
        lambda: SSLSocket(
            b, server_side=True, certfile=KEYCERT, ssl_version=stdlib_ssl.PROTOCOL_TLS_SERVER
        )
    )
    client = SSLSocket(
        a,
        ssl_version=stdlib_ssl.PROTOCOL_TLS_CLIENT,
        cert_reqs=stdlib_ssl.CERT_REQUIRED,
        ca_certs=KEYCERT,
        server_hostname="localhost",
    )
    with client, server.get(timeout=10) as srv:
        assert client.version() == srv.version()


def test_custom_sslsocket_class() -> None:
    class Mine(SSLSocket):
        pass

    ctx = server_context()
    ctx.sslsocket_class = Mine
    with ctx.wrap_socket(greenkit.socket.socket(), server_side=True) as sock:
        assert isinstance(sock, Mine)


def test_stdlib_context_with_our_class() -> None:
    # The standard context calls sslsocket_class._create(): ours answers it.
    ctx = stdlib_ssl.SSLContext(stdlib_ssl.PROTOCOL_TLS_SERVER)
    ctx.sslsocket_class = SSLSocket
    with ctx.wrap_socket(greenkit.socket.socket(), server_side=True) as sock:
        assert type(sock) is SSLSocket
