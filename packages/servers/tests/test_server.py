"""greenkit.server: StreamServer (plain, Unix, SSL) and DatagramServer."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import connect, read_all

from greenkit import socket
from greenkit.greenlet import Greenlet
from greenkit.pool import Pool
from greenkit.server import DatagramServer, StreamServer, _tcp_listener, _udp_socket

pytestmark = pytest.mark.fd_leak_check


def _echo_lines(sock: Any, address: Any) -> None:
    rfile = sock.makefile("rb")
    try:
        for line in rfile:
            sock.sendall(line.upper())
    finally:
        rfile.close()
        sock.close()


def test_stream_server_echo_several_clients() -> None:
    with StreamServer(("127.0.0.1", 0), _echo_lines) as server:
        server.start()
        assert server.server_host == "127.0.0.1" and server.server_port > 0

        def talk(i: int) -> bytes:
            with connect(server) as client:
                client.sendall(b"line %d\n" % i)
                client.sendall(b"more\n")
                client.shutdown(socket.SHUT_WR)
                return read_all(client)

        jobs = [Greenlet.spawn(talk, i) for i in range(20)]
        assert [job.get(timeout=10) for job in jobs] == [b"LINE %d\nMORE\n" % i for i in range(20)]


def test_stream_server_from_listener_socket() -> None:
    listener = _tcp_listener(("127.0.0.1", 0), backlog=5, reuse_addr=1)
    server = StreamServer(listener, _echo_lines, spawn=Pool(10))
    assert server.address == listener.getsockname()
    other = _tcp_listener(("127.0.0.1", 0))
    with pytest.raises(TypeError):
        StreamServer(other, _echo_lines, backlog=5)
    other.close()
    server.start()
    try:
        with connect(server) as client:
            client.sendall(b"x\n")
            assert client.recv(10) == b"X\n"
    finally:
        server.stop()
    assert listener.fileno() == -1  # the server closed it


def test_backlog_is_used_for_addresses() -> None:
    server = StreamServer(("127.0.0.1", 0), _echo_lines, backlog=7)
    assert server.backlog == 7
    server.close()


def test_stream_server_on_unix_socket() -> None:
    path = tempfile.mktemp(prefix="greenkit-servers-", suffix=".sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(5)
    server = StreamServer(listener, _echo_lines, spawn=Pool(10))
    server.start()
    try:
        assert server.server_port is None and server.address == path
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
            client.sendall(b"unix\n")
            assert client.recv(10) == b"UNIX\n"
    finally:
        server.stop()
        os.unlink(path)


class _Upper(DatagramServer):
    def handle(self, data: bytes, address: Any) -> None:  # type: ignore[override]
        self.sendto(data.upper(), address)


def test_datagram_server() -> None:
    server = _Upper("127.0.0.1:0")
    server.start()
    try:
        with socket.socket(type=socket.SOCK_DGRAM) as client:
            client.settimeout(10)
            for word in (b"one", b"two"):
                client.sendto(word, server.address)
                assert client.recvfrom(100) == (word.upper(), server.address)
    finally:
        server.stop()
    assert server.closed


def test_datagram_server_from_socket() -> None:
    sock = _udp_socket(("127.0.0.1", 0), reuse_addr=1)
    server = _Upper(sock)
    server.start()
    try:
        with socket.socket(type=socket.SOCK_DGRAM) as client:
            client.settimeout(10)
            client.sendto(b"x", server.address)
            assert client.recv(10) == b"X"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def certificate() -> Iterator[str]:
    """A self-signed certificate and key in one PEM file."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    folder = tempfile.mkdtemp(prefix="greenkit-servers-")
    path = os.path.join(folder, "cert.pem")
    key = os.path.join(folder, "key.pem")
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            key,
            "-out",
            path,
        ],
        check=True,
        capture_output=True,
    )
    with open(path, "a") as out, open(key) as key_file:
        out.write(key_file.read())
    yield path
    shutil.rmtree(folder)


def _ssl_round_trip(server: Any, before: bytes = b"") -> bytes:
    """Send a line over SSL (after ``before`` in the clear); return the answer."""
    ssl = pytest.importorskip("greenkit.ssl")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with connect(server) as raw:
        raw.sendall(before)
        client = context.wrap_socket(raw)
        with client:
            client.sendall(b"secret\n")
            data: bytes = client.recv(100)
            return data


def _show_cipher(sock: Any, address: Any) -> None:
    try:
        line = sock.makefile("rb").readline()
        sock.sendall(line.upper() + (b"tls" if sock.cipher() else b"plain"))
    finally:
        sock.close()


def test_ssl_with_certfile(certificate: str) -> None:
    pytest.importorskip("greenkit.ssl")
    server = StreamServer(("127.0.0.1", 0), _show_cipher, certfile=certificate, keyfile=certificate)
    assert server.ssl_enabled
    server.start()
    try:
        assert _ssl_round_trip(server).startswith(b"SECRET\n")
    finally:
        server.stop()


def test_ssl_with_context(certificate: str) -> None:
    ssl = pytest.importorskip("greenkit.ssl")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate)
    server = StreamServer(("127.0.0.1", 0), _show_cipher, ssl_context=context)
    server.start()
    try:
        assert _ssl_round_trip(server).startswith(b"SECRET\n")
    finally:
        server.stop()


def test_proxy_protocol_header_comes_before_the_ssl_handshake(certificate: str) -> None:
    pytest.importorskip("greenkit.ssl")
    addresses = []

    def handle(sock: Any, address: Any) -> None:
        addresses.append(address)
        _show_cipher(sock, address)

    server = StreamServer(
        ("127.0.0.1", 0), handle, certfile=certificate, keyfile=certificate, proxy_protocol=True
    )
    server.start()
    try:
        header = b"PROXY TCP4 192.0.2.1 10.0.0.1 56324 443\r\n"
        assert _ssl_round_trip(server, header) == b"SECRET\ntls"
    finally:
        server.stop()
    assert addresses == [("192.0.2.1", 56324)]


def test_unknown_ssl_argument_is_a_type_error(certificate: str) -> None:
    pytest.importorskip("greenkit.ssl")
    with pytest.raises(TypeError, match="unexpected SSL arguments"):
        StreamServer(("127.0.0.1", 0), _show_cipher, certfile=certificate, colour="blue")


def test_plain_server_does_not_import_ssl() -> None:
    server = StreamServer(("127.0.0.1", 0), _echo_lines)
    assert not server.ssl_enabled
    server.close()
