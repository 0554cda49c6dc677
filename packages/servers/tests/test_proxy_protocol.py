"""The PROXY protocol (HAProxy's specification, v1 and v2): the header
parsers, and StreamServer/WSGIServer with ``proxy_protocol`` on and off."""

from __future__ import annotations

import socket as _stdlib_socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import connect, read_all

from greenkit.hub import sleep
from greenkit.pool import Pool
from greenkit.pywsgi import WSGIHandler, WSGIServer
from greenkit.server import StreamServer
from greenkit.server._proxy_protocol import (
    V2_SIGNATURE,
    ProxyProtocolError,
    parse_v1,
    parse_v2,
)

pytestmark = pytest.mark.fd_leak_check


def v2(command: int, family: int, addresses: bytes, tlvs: bytes = b"") -> bytes:
    body = addresses + tlvs
    return V2_SIGNATURE + bytes((command, family)) + struct.pack("!H", len(body)) + body


def tcp4(source: str, sport: int, dest: str = "10.0.0.1", dport: int = 80) -> bytes:
    return struct.pack(
        "!4s4sHH", _stdlib_socket.inet_aton(source), _stdlib_socket.inet_aton(dest), sport, dport
    )


def tcp6(source: str, sport: int) -> bytes:
    return struct.pack(
        "!16s16sHH",
        _stdlib_socket.inet_pton(_stdlib_socket.AF_INET6, source),
        bytes(16),
        sport,
        443,
    )


# -- version 1 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "address"),
    [
        (b"PROXY TCP4 192.0.2.1 10.0.0.1 56324 443\r\n", ("192.0.2.1", 56324)),
        (b"PROXY TCP6 2001:db8::1 ::1 0 65535\r\n", ("2001:db8::1", 0, 0, 0)),
        (b"PROXY UNKNOWN\r\n", None),
        (b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", None),
    ],
)
def test_v1_headers(line: bytes, address: Any) -> None:
    assert parse_v1(line) == address


@pytest.mark.parametrize(
    "line",
    [
        b"PROXY TCP4 192.0.2.1 10.0.0.1 56324 443\n",  # bare LF
        b"PROXY TCP4 192.0.2.1 10.0.0.1 56324 443",
        b"PROXY TCP4 256.0.2.1 10.0.0.1 56324 443\r\n",
        b"PROXY TCP4 2001:db8::1 10.0.0.1 56324 443\r\n",  # family mismatch
        b"PROXY TCP6 192.0.2.1 ::1 1 2\r\n",
        b"PROXY TCP4 192.0.2.1 10.0.0.1 65536 443\r\n",
        b"PROXY TCP4 192.0.2.1 10.0.0.1 0443 443\r\n",  # leading zero
        b"PROXY TCP4 192.0.2.1 10.0.0.1 -1 443\r\n",
        b"PROXY TCP4 192.0.2.1  10.0.0.1 1 443\r\n",
        b"PROXY TCP4 192.0.2.1 10.0.0.1 1\r\n",
        b"PROXY tcp4 192.0.2.1 10.0.0.1 1 2\r\n",
        b"PROXY UDP4 192.0.2.1 10.0.0.1 1 2\r\n",
        b"PROXY TCP4 192.0.2.1 10.0.0.1 1 2 \r\n",
    ],
)
def test_malformed_v1_headers(line: bytes) -> None:
    with pytest.raises(ProxyProtocolError):
        parse_v1(line)


# -- version 2 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "address"),
    [
        (v2(0x21, 0x11, tcp4("192.0.2.7", 4000)), ("192.0.2.7", 4000)),
        (v2(0x21, 0x21, tcp6("2001:db8::7", 5000)), ("2001:db8::7", 5000, 0, 0)),
        (v2(0x21, 0x31, b"/run/client.sock".ljust(108, b"\x00") + bytes(108)), "/run/client.sock"),
        (
            v2(0x21, 0x11, tcp4("192.0.2.7", 4000), b"\x01\x00\x02h2\x04\x00\x00"),
            ("192.0.2.7", 4000),
        ),
        (v2(0x20, 0x11, tcp4("192.0.2.7", 4000)), None),  # LOCAL: health check
        (v2(0x20, 0x00, b""), None),
        (v2(0x21, 0x00, b"ignored"[:0]), None),  # UNSPEC
    ],
)
def test_v2_headers(header: bytes, address: Any) -> None:
    assert parse_v2(header[:16], header[16:]) == address


@pytest.mark.parametrize(
    "header",
    [
        v2(0x11, 0x11, tcp4("192.0.2.7", 4000)),  # version 1 in a v2 header
        v2(0x22, 0x11, tcp4("192.0.2.7", 4000)),  # unknown command
        v2(0x21, 0x41, tcp4("192.0.2.7", 4000)),  # unknown family
        v2(0x21, 0x12, tcp4("192.0.2.7", 4000)),  # UDP on a stream server
        v2(0x21, 0x21, tcp4("192.0.2.7", 4000)),  # too short for IPv6
        v2(0x21, 0x11, tcp4("192.0.2.7", 4000), b"\x01\x00\x05ab"),  # truncated TLV
        v2(0x21, 0x11, tcp4("192.0.2.7", 4000), b"\x01"),
        b"\r\n\r\n\x00\r\nQUIT!" + v2(0x21, 0x11, tcp4("192.0.2.7", 4000))[12:],
    ],
)
def test_malformed_v2_headers(header: bytes) -> None:
    with pytest.raises(ProxyProtocolError):
        parse_v2(header[:16], header[16:])


# -- servers ------------------------------------------------------------------------------


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [f"{environ['REMOTE_ADDR']} {environ['REMOTE_PORT']}".encode()]


class Handler(WSGIHandler):
    seen: list[Any] = []

    def handle(self) -> None:
        Handler.seen.append(self.client_address)
        WSGIHandler.handle(self)


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[WSGIServer]:
    mode = getattr(request, "param", True)
    Handler.seen = []
    with WSGIServer(
        ("127.0.0.1", 0),
        app,
        log=None,
        error_log=None,
        spawn=Pool(10),
        handler_class=Handler,
        proxy_protocol=mode,
        proxy_protocol_timeout=2,
    ) as server:
        server.start()
        yield server


REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def talk(server: Any, *pieces: bytes) -> bytes:
    with connect(server) as client:
        for piece in pieces:
            client.sendall(piece)
            sleep(0.01)
        return read_all(client)


def test_v1_gives_remote_addr_and_client_address(server: WSGIServer) -> None:
    data = talk(server, b"PROXY TCP4 192.0.2.1 10.0.0.1 56324 443\r\n" + REQUEST)
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"\r\n\r\n192.0.2.1 56324")
    assert Handler.seen == [("192.0.2.1", 56324)]


def test_v2_gives_remote_addr_and_client_address(server: WSGIServer) -> None:
    data = talk(server, v2(0x21, 0x21, tcp6("2001:db8::7", 5000)) + REQUEST)
    assert data.endswith(b"\r\n\r\n2001:db8::7 5000")
    assert Handler.seen == [("2001:db8::7", 5000, 0, 0)]


def test_header_in_pieces_and_local_and_unknown_keep_the_real_address(server: WSGIServer) -> None:
    data = talk(server, b"PROXY TCP4 192.0", b".2.1 10.0.0.1 5", b"6324 443\r", b"\n" + REQUEST)
    assert data.endswith(b"192.0.2.1 56324")
    header = v2(0x21, 0x11, tcp4("192.0.2.9", 9))
    assert talk(server, header[:5], header[5:15], header[15:], REQUEST).endswith(b"192.0.2.9 9")
    assert b"\r\n\r\n127.0.0.1 " in talk(server, v2(0x20, 0x00, b"") + REQUEST)
    assert b"\r\n\r\n127.0.0.1 " in talk(server, b"PROXY UNKNOWN\r\n" + REQUEST)


@pytest.mark.parametrize(
    "start",
    [
        REQUEST,  # missing
        b"PROXY TCP4 192.0.2.1 10.0.0.1 56324 443\n" + REQUEST,
        b"PROXY TCP4 192.0.2.1 10.0.0.1 " + b"1" * 100 + b"\r\n" + REQUEST,
        v2(0x21, 0x41, tcp4("192.0.2.7", 4000)) + REQUEST,
        b"PROXY TCP4 192.0.2.1",  # incomplete, then EOF
    ],
)
def test_missing_or_malformed_header_closes_the_connection(
    server: WSGIServer, start: bytes
) -> None:
    assert talk(server, start) == b""
    assert Handler.seen == []


def test_header_must_arrive_in_time(server: WSGIServer) -> None:
    server.proxy_protocol_timeout = 0.1
    with connect(server) as client:
        client.sendall(b"PROXY TCP4")
        assert read_all(client) == b""


@pytest.mark.parametrize("server", ["v1"], indirect=True)
def test_v1_only_server_refuses_v2(server: WSGIServer) -> None:
    assert talk(server, v2(0x21, 0x11, tcp4("192.0.2.7", 4000)) + REQUEST) == b""
    assert talk(server, b"PROXY UNKNOWN\r\n" + REQUEST).startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize("server", [False], indirect=True)
def test_off_by_default_a_proxy_header_is_a_bad_request(server: WSGIServer) -> None:
    assert WSGIServer(("127.0.0.1", 0), app).proxy_protocol_versions == ()
    data = talk(server, b"PROXY TCP4 192.0.2.1 10.0.0.1 56324 443\r\n" + REQUEST)
    assert data.startswith(b"HTTP/1.1 400 ")


def test_stream_server_handle_gets_the_proxied_address() -> None:
    seen = []

    def handle(sock: Any, address: Any) -> None:
        seen.append((address, sock.recv(100)))
        sock.close()

    with StreamServer(("127.0.0.1", 0), handle, proxy_protocol="v2") as server:
        server.start()
        talk(server, v2(0x21, 0x11, tcp4("198.51.100.3", 1234)) + b"payload")
    assert seen == [(("198.51.100.3", 1234), b"payload")]


def test_invalid_proxy_protocol_setting() -> None:
    with pytest.raises(ValueError, match="proxy_protocol must be"):
        StreamServer(("127.0.0.1", 0), lambda *args: None, proxy_protocol="v3")
