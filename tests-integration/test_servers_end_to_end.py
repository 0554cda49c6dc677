"""greenkit's servers end to end, in this (unpatched) process with greenkit.socket.

A StreamServer echoing to 200 concurrent clients, and servers that keep
serving well-behaved clients while badly behaved ones -- half a request
then gone, garbage, oversized lines, connections that never send or never
read, resets -- hang around; stopping the server afterwards (its handlers
run in a Group, so stop() waits for them, then kills the stuck ones)
leaves no file descriptor or greenlet behind.
"""

from __future__ import annotations

import io
import re
import socket as stdlib_socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest

import greenkit
from greenkit import socket
from greenkit.pool import Group
from greenkit.pywsgi import WSGIServer
from greenkit.server import StreamServer

pytestmark = [pytest.mark.fd_leak_check, pytest.mark.greenlet_leak_check]

# The hub (and its loop's fds) exist before the leak checks take their snapshot.
greenkit.sleep(0)


@pytest.fixture
def quiet_hub() -> Iterator[io.StringIO]:
    """What the hub reports (e.g. a handler's ConnectionResetError), kept off stderr."""
    hub = greenkit.get_hub()
    stream = io.StringIO()
    hub.exception_stream = stream
    try:
        yield stream
    finally:
        del hub.exception_stream


#: What a handler may die of when its peer misbehaves (reported by the hub).
PEER_ERRORS = {"OSError", "ConnectionResetError", "BrokenPipeError"}


def reported_failures(stream: io.StringIO) -> set[str]:
    """The exception types of the "... failed with X" lines the hub printed."""
    return set(re.findall(r" failed with (\w+)", stream.getvalue()))


def echo(sock: Any, address: Any) -> None:
    with sock:
        while data := sock.recv(4096):
            sock.sendall(data)


def test_stream_server_echo_to_200_concurrent_clients() -> None:
    server = StreamServer(("127.0.0.1", 0), echo, backlog=1024, spawn=Group())
    server.start()
    in_flight, most = 0, 0

    def client(n: int) -> int:
        nonlocal in_flight, most
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=60) as sock:
            in_flight += 1
            most = max(most, in_flight)
            total = 0
            for round_ in range(10):
                message = f"client {n} round {round_}\n".encode() * 50
                sock.sendall(message)
                echoed = b""
                while len(echoed) < len(message):
                    chunk = sock.recv(65536)
                    assert chunk, "server closed early"
                    echoed += chunk
                assert echoed == message
                total += len(echoed)
            in_flight -= 1
            return total

    try:
        jobs = [greenkit.spawn(client, n) for n in range(200)]
        greenkit.joinall(jobs, timeout=120, raise_error=True)
        assert all(job.successful() for job in jobs)
        assert [job.value for job in jobs] == [
            10 * 50 * len(f"client {n} round 0\n") for n in range(200)
        ]
        assert most > 100  # many connections were open at once
    finally:
        server.stop(timeout=10)
    assert server.closed


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ["PATH_INFO"] == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [b"x" * (4 << 20)]
    body = environ["wsgi.input"].read()
    greenkit.sleep(0.01)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello " + body]


def http_request(port: int, body: bytes) -> tuple[int, bytes]:
    """One POST over a new greenkit socket; (status, body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(
            b"POST /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload


def read_status(sock: Any) -> int:
    answer = b""
    while b"\r\n" not in answer and (chunk := sock.recv(4096)):
        answer += chunk
    return int(answer.split()[1])


def test_wsgi_server_survives_bad_clients(quiet_hub: io.StringIO) -> None:
    server = WSGIServer(("127.0.0.1", 0), hello, log=None, error_log=None, spawn=Group())
    server.start()
    address = ("127.0.0.1", server.server_port)
    bad: list[Any] = []

    def connect() -> Any:
        sock = socket.create_connection(address, timeout=60)
        bad.append(sock)
        return sock

    try:
        # Half a request, then gone.
        connect().sendall(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nhalf")
        bad.pop().close()
        connect().sendall(b"GET /x HTTP/1.1\r\nHost:")
        bad.pop().close()
        # Garbage, a binary one and an oversized request line: answered 400/414.
        statuses = []
        for junk in (
            b"\x00\xff\xfe garbage\r\n\r\n",
            b"NOT-HTTP\r\n\r\n",
            b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n",
        ):
            sock = connect()
            sock.sendall(junk)
            statuses.append(read_status(sock))
        assert statuses[0] == 400
        assert statuses[1] == 400
        assert statuses[2] == 414
        # Connected and silent; connected, mid-headers and silent.
        connect()
        connect().sendall(b"GET / HTTP/1.1\r\nHost: t\r\n")
        # Asks for 4 MB, twice, and never reads: its handler blocks sending.
        hog = connect()
        hog.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_RCVBUF, 4096)
        hog.sendall(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n" * 2)
        # Reset by the peer in the middle of a request.
        rude = socket.create_connection(address, timeout=60)
        rude.sendall(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab")
        rude.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_LINGER, struct.pack("ii", 1, 0))
        rude.close()
        greenkit.sleep(0.2)

        # Meanwhile 50 well-behaved clients at once are all served.
        jobs = [greenkit.spawn(http_request, server.server_port, b"%d" % n) for n in range(50)]
        greenkit.joinall(jobs, timeout=60, raise_error=True)
        assert [job.value for job in jobs] == [(200, b"hello %d" % n) for n in range(50)]
    finally:
        server.stop(timeout=1)  # kills the handler stuck sending to the hog
        for sock in bad:
            sock.close()
    assert server.closed
    # Only the application's reads of cut-off bodies failed, nothing in the server.
    assert reported_failures(quiet_hub) <= PEER_ERRORS


def test_stream_server_survives_bad_clients(quiet_hub: io.StringIO) -> None:
    server = StreamServer(("127.0.0.1", 0), echo, spawn=Group())
    server.start()
    address = ("127.0.0.1", server.server_port)
    idle = []
    try:
        for _ in range(5):  # connect and say nothing
            idle.append(socket.create_connection(address, timeout=60))
        # Send 8 MB and never read the echo: the handler blocks in sendall.
        hog = socket.create_connection(address, timeout=60)
        idle.append(hog)
        sender = greenkit.spawn(hog.sendall, b"y" * (8 << 20))
        for _ in range(5):  # reset mid-conversation
            rude = socket.create_connection(address, timeout=60)
            rude.sendall(b"some bytes")
            rude.setsockopt(
                stdlib_socket.SOL_SOCKET, stdlib_socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            rude.close()
        greenkit.sleep(0.2)

        def ping(n: int) -> bytes:
            with socket.create_connection(address, timeout=60) as sock:
                sock.sendall(b"ping %d" % n)
                return bytes(sock.recv(100))

        jobs = [greenkit.spawn(ping, n) for n in range(50)]
        greenkit.joinall(jobs, timeout=60, raise_error=True)
        assert [job.value for job in jobs] == [b"ping %d" % n for n in range(50)]
        assert not sender.ready()  # still stuck: nobody reads the hog's echo
    finally:
        server.stop(timeout=1)
        for sock in idle:
            sock.close()
        sender.kill()
    assert server.closed
    assert reported_failures(quiet_hub) <= PEER_ERRORS
