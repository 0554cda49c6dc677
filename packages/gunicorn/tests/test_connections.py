"""Keep-alive, TLS and gunicorn's access log, for both worker classes."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable

from conftest import CERT, Gunicorn, raw_connection

#: A line of gunicorn's default access_log_format:
#: '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'.
DEFAULT_ACCESS_LINE = (
    r"(?m)^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "
    r'"GET /info\?n=(\d) HTTP/1\.1" 200 (\d+) "http://referrer\.test/" "greenkit-tests/1"$'
)


def read_response(sock: socket.socket) -> tuple[str, bytes]:
    """One response with a Content-Length: ``(header block, body)``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed inside the headers: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        body += chunk
    return head.decode("latin-1"), body


def seconds_until_closed(sock: socket.socket) -> float:
    start = time.monotonic()
    assert sock.recv(1) == b""
    return time.monotonic() - start


def test_keep_alive_serves_requests_on_one_connection_and_logs_them(
    gunicorn: Callable[..., Gunicorn],
) -> None:
    master = gunicorn("-w", "1", "--access-logfile", "-")
    connection = master.connection()
    ports = set()
    sizes = []
    for n in range(3):
        connection.request(
            "GET",
            f"/info?n={n}",
            headers={"User-Agent": "greenkit-tests/1", "Referer": "http://referrer.test/"},
        )
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200
        assert not response.will_close
        info = json.loads(body)
        assert info["raw_uri"] == f"/info?n={n}" and info["has_gunicorn_socket"]
        ports.add(info["remote_port"])
        sizes.append(str(len(body)))
    connection.close()
    assert len(ports) == 1  # one connection served all three
    lines = master.wait_for_log(DEFAULT_ACCESS_LINE, count=3)
    assert [n for n, _ in lines] == ["0", "1", "2"]
    assert [size for _, size in lines] == sizes


def test_keep_alive_setting_bounds_the_wait_for_the_next_request(
    gunicorn: Callable[..., Gunicorn],
) -> None:
    master = gunicorn("-w", "1", "--keep-alive", "1")
    with raw_connection(master.port) as sock:
        for _ in range(2):
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            head, _ = read_response(sock)
            assert head.startswith("HTTP/1.1 200") and "close" not in head.lower()
        # Idle for longer than --keep-alive: the worker closes the connection.
        assert 0.7 < seconds_until_closed(sock) < 5


def test_keep_alive_zero_closes_after_each_response(gunicorn: Callable[..., Gunicorn]) -> None:
    master = gunicorn("-w", "1", "--keep-alive", "0")
    with raw_connection(master.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head, _ = read_response(sock)
        assert head.startswith("HTTP/1.1 200")
        assert re.search(r"(?im)^connection:\s*close", head)
        assert seconds_until_closed(sock) < 5


def test_tls_with_certfile_and_keyfile(gunicorn: Callable[..., Gunicorn]) -> None:
    master = gunicorn(
        "-w",
        "1",
        "--certfile",
        str(CERT),
        "--keyfile",
        str(CERT),
        "--access-logfile",
        "-",
        "--access-logformat",
        "%(s)s %(m)s %(U)s %(q)s %({x-test}i)s %({content-type}o)s %(b)s <%(H)s>",
    )
    connection = master.connection(tls=True)
    ports = set()
    for n in range(2):
        connection.request("GET", f"/info?n={n}", headers={"X-Test": f"t{n}"})
        response = connection.getresponse()
        info = json.loads(response.read())
        assert response.status == 200
        assert info["url_scheme"] == "https"
        ports.add(info["remote_port"])
    connection.close()
    assert len(ports) == 1
    lines = master.wait_for_log(
        r"(?m)^200 GET /info n=(\d) t(\d) application/json \d+ "
        r"<HTTP/1\.1>$",
        count=2,
    )
    assert lines == [("0", "0"), ("1", "1")]


def test_malformed_requests_get_400(gunicorn: Callable[..., Gunicorn]) -> None:
    master = gunicorn("-w", "1", "--access-logfile", "-")
    for request in (
        b"NOT AN HTTP REQUEST\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
    ):
        with raw_connection(master.port) as sock:
            sock.sendall(request)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400 "), answer
    # The server goes on (and the log stays clean: checked by the fixture).
    assert master.get("/")[0] == 200


def test_file_wrapper_responses(gunicorn: Callable[..., Gunicorn]) -> None:
    master = gunicorn("-w", "1")
    connection = master.connection()
    for _ in range(2):  # twice on one connection: the body ended where it should
        connection.request("GET", "/file")
        response = connection.getresponse()
        assert response.status == 200
        assert response.read() == bytes(range(256)) * 8192
    connection.close()
