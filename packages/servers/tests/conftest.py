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
