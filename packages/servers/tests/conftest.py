"""Set-up and helpers shared by greenkit-servers' tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from greenkit import socket
from greenkit.hub import get_hub, sleep


def pytest_sessionstart(session: pytest.Session) -> None:
    """Create and run the main thread's hub before any test, so that its loop's
    own file descriptors never count as a test's leak."""
    get_hub()
    sleep(0.001)


def connect(server: Any, timeout: float = 10.0) -> Any:
    """A cooperative client socket connected to ``server``."""
    sock = socket.create_connection(("127.0.0.1", server.server_port))
    sock.settimeout(timeout)
    return sock


def read_all(sock: Any) -> bytes:
    """Everything ``sock`` receives until the peer closes (or resets: a server
    closing a connection with unread input makes the kernel send RST)."""
    chunks = []
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            return b"".join(chunks)
        chunks.append(data)


@pytest.fixture
def handle_errors() -> Iterator[list[tuple[Any, Any, Any]]]:
    """Record what reaches the hub's ``handle_error`` instead of printing it."""
    hub = get_hub()
    errors: list[tuple[Any, Any, Any]] = []

    def record(context: Any, type_: Any, value: Any, tb: Any) -> None:
        errors.append((context, type_, value))

    hub.handle_error = record
    try:
        yield errors
    finally:
        del hub.handle_error


class Response:
    def __init__(
        self, status: str, headers: dict[str, str], body: bytes, chunks: list[bytes] | None
    ) -> None:
        self.status = status
        self.code = int(status.split()[1])
        self.headers = headers
        self.body = body
        self.chunks = chunks


def read_response(rfile: Any, head: bool = False) -> Response | None:
    """One response from ``rfile`` (None if the connection closed first)."""
    status = rfile.readline()
    if not status:
        return None
    headers = {}
    while True:
        line = rfile.readline()
        assert line.endswith(b"\r\n"), line
        if line == b"\r\n":
            break
        name, _, value = line.decode("latin-1").partition(": ")
        assert name.lower() not in {key.lower() for key in headers}, name
        headers[name] = value.rstrip("\r\n")
    chunks = None
    code = int(status.split()[1])
    if head or code < 200 or code in (204, 304):
        body = b""
    elif headers.get("Transfer-Encoding") == "chunked":
        chunks = []
        while True:
            size = int(rfile.readline(), 16)
            if not size:
                assert rfile.readline() == b"\r\n"
                break
            chunks.append(rfile.read(size))
            assert rfile.read(2) == b"\r\n"
        body = b"".join(chunks)
    elif "Content-Length" in headers:
        body = rfile.read(int(headers["Content-Length"]))
    else:
        body = rfile.read()
    return Response(status.decode("latin-1").rstrip("\r\n"), headers, body, chunks)


def exchange(server: Any, request: bytes, count: int = 1) -> list[Response | None]:
    """Send ``request`` and read ``count`` responses."""
    with connect(server) as client:
        client.sendall(request)
        with client.makefile("rb") as rfile:
            return [read_response(rfile) for _ in range(count)]


def one(server: Any, request: bytes) -> Response:
    response = exchange(server, request)[0]
    assert response is not None
    return response
