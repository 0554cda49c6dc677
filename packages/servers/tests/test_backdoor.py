"""greenkit.backdoor: a Python console per connection."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from conftest import connect, read_all

from greenkit.backdoor import BackdoorServer
from greenkit.greenlet import Greenlet, joinall
from greenkit.hub import sleep
from greenkit.pool import Pool

pytestmark = pytest.mark.fd_leak_check


def read_until(sock: Any, end: bytes) -> bytes:
    data = b""
    while not data.endswith(end):
        chunk = sock.recv(1)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data


def start(**kwargs: Any) -> BackdoorServer:
    server = BackdoorServer(("127.0.0.1", 0), spawn=Pool(20), **kwargs)
    server.start()
    return server


def test_banner_evaluation_and_quit() -> None:
    server = start(locals={"answer": 41}, banner="Welcome stranger!")
    try:
        with connect(server) as client:
            assert read_until(client, b">>> ") == b"Welcome stranger!\r\n>>> "
            client.sendall(b"answer + 1\r\n")
            assert read_until(client, b">>> ") == b"42\r\n>>> "
            client.sendall(b"print('a\\nb')\r\n")
            assert read_until(client, b">>> ") == b"a\r\nb\r\n>>> "
            client.sendall(b"quit()\r\n")
            assert read_all(client) == b""
    finally:
        server.stop()


@pytest.mark.parametrize("command", [b"exit()\r\n", b"import sys; sys.exit(0)\r\n", b""])
def test_ways_to_leave(command: bytes) -> None:
    server = start()
    try:
        with connect(server) as client:
            banner = read_until(client, b">>> ")
            assert banner.startswith(b"Python ")
            if command:
                client.sendall(command)
            else:
                client.shutdown(1)  # SHUT_WR: end of input, like Ctrl-D
            # The console ends the line the user was typing, then hangs up.
            assert read_all(client) == (b"" if command else b"\r\n")
    finally:
        server.stop()


def test_errors_and_builtins() -> None:
    server = start()
    try:
        with connect(server) as client:
            read_until(client, b">>> ")
            client.sendall(b"1/0\r\n")
            assert b"ZeroDivisionError" in read_until(client, b">>> ")
            client.sendall(b'locals()["__builtins__"]\r\n')
            assert read_until(client, b">>> ") == b"<module 'builtins' (built-in)>\r\n>>> "
            client.sendall(b"quit()\r\n")
            read_all(client)
    finally:
        server.stop()


def test_output_follows_the_console_across_switches() -> None:
    def chatty() -> None:
        print("before")
        sleep(0.05)
        print("after")

    server = start(locals={"chatty": chatty})
    original = sys.stdout

    def session(n: int) -> bytes:
        with connect(server) as client:
            read_until(client, b">>> ")
            client.sendall(b"chatty(); print(%d)\r\n" % n)
            output = read_until(client, b">>> ")
            client.sendall(b"quit()\r\n")
            read_all(client)
            return output

    try:
        jobs = [Greenlet.spawn(session, n) for n in range(5)]
        joinall(jobs, raise_error=True)
        assert [job.value for job in jobs] == [
            b"before\r\nafter\r\n%d\r\n>>> " % n for n in range(5)
        ]
    finally:
        server.stop()
    assert sys.stdout is original
