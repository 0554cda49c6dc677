"""greenkit.pywsgi: what libraries built on gevent's pywsgi rely on.

``SERVER_SOFTWARE`` (simple-websocket recognises gevent's environ layout by
its prefix and takes the connection's socket from ``wsgi.input``), the
handler's documented attributes and methods that gevent-websocket's
``WebSocketHandler`` subclass uses, ``finalize_headers``, and switching
protocols (a ``101`` answer to an upgrade request).
"""

from __future__ import annotations

import errno
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import connect, read_all

from greenkit.pywsgi import WSGIHandler, WSGIServer

pytestmark = pytest.mark.fd_leak_check

_UPGRADE = b"GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: shout\r\n\r\n"
_SWITCHED = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: shout\r\nConnection: Upgrade\r\n\r\n"


def _serve(application: Any, handler_class: type[WSGIHandler] | None = None) -> WSGIServer:
    server = WSGIServer(
        ("127.0.0.1", 0), application, log=None, error_log=None, handler_class=handler_class
    )
    server.start()
    return server


@pytest.fixture
def serve() -> Iterator[Callable[..., WSGIServer]]:
    servers: list[WSGIServer] = []

    def start(application: Any, handler_class: type[WSGIHandler] | None = None) -> WSGIServer:
        servers.append(_serve(application, handler_class))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _read_head(client: Any) -> bytes:
    """The status line and headers of a response, read byte by byte so that
    nothing after them is consumed."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = client.recv(1)
        assert byte, head
        head += byte
    return head


def _shout_once(server: WSGIServer) -> None:
    """Ask to switch to the "shout" protocol, expect exactly the 101 head
    (no Date, Content-Length, chunking or "Connection: close"), then one
    message answered in upper case, then the end of the connection."""
    with connect(server) as client:
        client.sendall(_UPGRADE)
        assert _read_head(client) == _SWITCHED
        client.sendall(b"hello")
        assert client.recv(100) == b"HELLO"
        assert read_all(client) == b""


def test_server_software_names_the_gevent_release_then_greenkit(
    serve: Callable[..., WSGIServer],
) -> None:
    value = WSGIServer.base_env["SERVER_SOFTWARE"]
    python = "Python/{}.{}".format(*sys.version_info[:2])
    assert re.fullmatch(r"gevent/26\.9 greenkit/\d+\.\d+ " + re.escape(python), value), value
    seen = []

    def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["SERVER_SOFTWARE"])
        start_response("200 OK", [])
        return [b""]

    server = serve(application)
    with connect(server) as client:
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        read_all(client)
    assert seen == [value]


def test_an_application_can_take_the_connection_over_as_simple_websocket_does(
    serve: Callable[..., WSGIServer],
) -> None:
    """Where the environ says gevent, simple-websocket finds the socket at
    ``wsgi.input.rfile.raw._sock``, duplicates it, answers 101 itself and
    speaks the new protocol until it is done; the application then returns
    without calling ``start_response`` and the server just hangs up."""

    def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        assert environ["SERVER_SOFTWARE"].startswith("gevent")
        wsgi_input = environ["wsgi.input"]
        assert not hasattr(wsgi_input, "raw")
        sock = wsgi_input.rfile.raw._sock.dup()
        try:
            sock.sendall(_SWITCHED)
            sock.sendall(sock.recv(100).upper())
        finally:
            sock.close()
        return []

    _shout_once(serve(application))


class ShoutHandler(WSGIHandler):
    """Upgrades the way gevent-websocket's WebSocketHandler does: in
    ``run_application``, through the handler's own attributes."""

    seen: list[Any] = []

    def run_application(self) -> None:
        if self.environ.get("HTTP_UPGRADE") != "shout":
            super().run_application()
            return
        assert self.request_version == "HTTP/1.1"
        self.start_response(
            "101 Switching Protocols", [("Upgrade", "shout"), ("Connection", "Upgrade")]
        )
        assert not self.headers_sent
        self.provided_content_length = False  # type: ignore[assignment]
        self.response_use_chunked = False
        self.close_connection = True
        self.provided_date = True
        if self.status and not self.headers_sent:
            self.write("")
        read, write = self.rfile.read, self.socket.sendall
        write(read(5).upper())
        self.seen.append(
            (
                self.status,
                self.code,
                self.headers_sent,
                self.response_headers,
                self.connection_upgraded,
                self.client_address == self.socket.getpeername() if self.socket else None,
                self.server.application is self.application,
            )
        )

    def log_request(self) -> None:
        if "101" not in str(self.status):
            super().log_request()
        self.seen.append(self.format_request().split('"')[1])


def test_a_handler_subclass_can_upgrade_as_gevent_websocket_does(
    serve: Callable[..., WSGIServer],
) -> None:
    ShoutHandler.seen = []

    def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"plain"]

    server = serve(application, ShoutHandler)
    _shout_once(server)
    status, code, sent, headers, upgraded, same_peer, same_app = ShoutHandler.seen[0]
    assert (status, code, sent, upgraded, same_peer, same_app) == (
        "101 Switching Protocols",
        101,
        True,
        True,
        True,
        True,
    )
    assert headers == [("Upgrade", "shout"), ("Connection", "Upgrade")]
    assert ShoutHandler.seen[1] == "GET /chat HTTP/1.1"
    # A request without an upgrade goes to the application as usual.
    with connect(server) as client:
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_all(client).endswith(b"\r\n\r\nplain")


def test_after_101_input_and_output_are_the_raw_connection(
    serve: Callable[..., WSGIServer],
) -> None:
    """A plain WSGI application switches protocols: ``wsgi.input`` then reads
    the connection unbounded and what it writes is not chunked."""
    seen = []

    def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input_terminated"])
        write = start_response(
            "101 Switching Protocols", [("Upgrade", "shout"), ("Connection", "Upgrade")]
        )
        write(b"")
        for line in environ["wsgi.input"]:
            if line == b"bye\n":
                break
            write(line.upper())
        return [b"BYE\n"]

    server = serve(application)
    with connect(server) as client, client.makefile("rb") as rfile:
        client.sendall(_UPGRADE)
        assert rfile.readline() == b"HTTP/1.1 101 Switching Protocols\r\n"
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += rfile.readline()
        assert b"Transfer-Encoding" not in head and b"Content-Length" not in head
        client.sendall(b"one\n")
        assert rfile.readline() == b"ONE\n"
        client.sendall(b"two\nbye\n")
        assert rfile.read() == b"TWO\nBYE\n"
    assert seen == [False]


def test_an_upgrade_request_answered_normally_closes_the_connection(
    serve: Callable[..., WSGIServer],
) -> None:
    def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"no thanks"]

    server = serve(application)
    with connect(server) as client:
        client.sendall(_UPGRADE + b"GET / HTTP/1.1\r\n\r\n")
        data = read_all(client)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\nno thanks")
    assert b"Connection: close\r\n" in data and data.count(b"HTTP/1.1") == 1


class ServerHeaderHandler(WSGIHandler):
    def finalize_headers(self) -> None:
        super().finalize_headers()
        assert self.response_headers is not None
        self.response_headers.append(("Server", "shouter"))


def test_finalize_headers_adds_the_server_supplied_headers(
    serve: Callable[..., WSGIServer],
) -> None:
    def application(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"abc"] if environ["PATH_INFO"] == "/list" else iter([b"abc"])

    server = serve(application, ServerHeaderHandler)
    with connect(server) as client:
        client.sendall(b"GET /list HTTP/1.1\r\nHost: x\r\n\r\nGET /iter HTTP/1.0\r\n\r\n")
        data = read_all(client)
    first, second = data.split(b"HTTP/1.1 200 OK\r\n")[1:]
    names = [line.split(b":")[0] for line in first.split(b"\r\n\r\n")[0].split(b"\r\n")]
    assert names == [b"Content-Type", b"Date", b"Content-Length", b"Server"]
    names = [line.split(b":")[0] for line in second.split(b"\r\n\r\n")[0].split(b"\r\n")]
    assert names == [b"Content-Type", b"Date", b"Connection", b"Server"]
    assert second.endswith(b"\r\n\r\nabc")


def test_documented_class_attributes() -> None:
    assert WSGIHandler.protocol_version == "HTTP/1.1"
    assert {errno.EPIPE, errno.ECONNRESET} <= set(WSGIHandler.ignored_socket_errors)
    headers = WSGIHandler.MessageClass([("Host", "x"), ("X-A", "1"), ("x-a", "2")])
    assert headers.get("host") == "x" and headers.get_all("X-A") == ["1", "2"]


def test_an_upgrade_request_with_a_body_reads_just_the_body(
    serve: Callable[..., WSGIServer],
) -> None:
    """curl --http2 asks every request to upgrade to h2c: a server that does
    not switch still reads the body by its Content-Length."""

    def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [b"got " + body]

    server = serve(application)
    with connect(server) as client:
        client.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
            b"Content-Length: 5\r\n\r\nhello"
        )
        data = read_all(client)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\ngot hello")
