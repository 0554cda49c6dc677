"""Fuzzing greenkit.pywsgi against h11 as the reference framer.

Valid requests (alone and pipelined) are mutated with a seeded random
generator: bytes inserted, deleted or replaced around separators (SP, HTAB,
``:``, ``;``, ``,``, CR, LF), header lines duplicated or swapped, and
Content-Length / Transfer-Encoding games, chunk-size lines replaced (signs,
``0x``, whitespace, extensions, wrong sizes).  Each case is sent to a running
WSGIServer on its own connection (then the write side is shut).  The server
must never answer 5xx (but the protocol's own 501 for an unknown transfer
coding and 505 for an HTTP major version other than 1), never report an
error (no traceback), and every request it serves must be one that h11
frames the same way, in the same order (method, target and body):
greenkit may refuse more than h11, never serve something else.

The reference follows RFC 9112 where h11 does not model it: one empty line
before a request line is skipped, and an HTTP/1.0 request with
``Connection: keep-alive`` keeps the connection (h11 frames each message
with a fresh connection fed the previous one's trailing data).

``GREENKIT_FUZZ_CASES`` (default 3000) and ``GREENKIT_FUZZ_SEED`` (default
20261207) set the run; ``nox -s fuzz_pywsgi`` runs a long one.
"""

from __future__ import annotations

import os
import random
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import connect

from greenkit.pool import Pool
from greenkit.pywsgi import WSGIHandler, WSGIServer

h11 = pytest.importorskip("h11")

CASES = int(os.environ.get("GREENKIT_FUZZ_CASES", "3000"))
SEED = int(os.environ.get("GREENKIT_FUZZ_SEED", "20261207"))

SEEDS = [
    b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
    b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nX-A: 1\r\n\r\nhello world",
    b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n",
    b"GET http://example.com/abs?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"PUT /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
]
#: RFC 9112 §6.1 and RFC 9110 §15.6.6: the statuses for a transfer coding or
#: an HTTP version the server does not implement, answers to the client's
#: request rather than server errors.
PROTOCOL_5XX = (501, 505)
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
SEPARATORS = b" \t:;,\r\n"
INTERESTING = [
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"\r\n",
    b"\x00",
    b"\x0b",
    b"\x0c",
    b":",
    b";",
    b",",
    b'"',
    b"\\",
    b"0",
    b"-",
    b"+",
    b"x",
    b"a",
    b"\x80",
    b"\xff",
    b"\xa0",
]
CHUNK_SIZES = [
    b"05",
    b"0000000000000005",
    b"+5",
    b"-5",
    b"0x5",
    b"5 ",
    b" 5",
    b"5\t",
    b"5;x",
    b"5 ;x",
    b"5;x=y",
    b'5;x="a b"',
    b"5;x=a b",
    b"5;",
    b"6",
    b"4",
    b"5\x00",
    b"5\n",
    b"500000000000000000",
]
TE_VALUES = [
    b"chunked",
    b" chunked",
    b"chunked, identity",
    b"xchunked",
    b"Chunked",
    b"\x0bchunked",
    b"chunked\x00",
    b"gzip, chunked",
    b"chunked,",
    b"identity",
]


# -- the reference --------------------------------------------------------------------


def _keeps_alive(request: Any) -> bool:
    tokens = {
        token.strip().lower()
        for name, value in request.headers
        if name == b"connection"
        for token in value.split(b",")
    }
    if request.http_version == b"1.0":
        return b"keep-alive" in tokens
    return b"close" not in tokens


def h11_frames(data: bytes) -> list[tuple[str, str, bytes]]:
    """The requests h11 frames from ``data``: (method, target, body)."""
    framed: list[tuple[str, str, bytes]] = []
    while data:
        if data.startswith(b"\r\n"):
            data = data[2:]  # RFC 9112 §2.2
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(data)
        conn.receive_data(b"")
        try:
            event = conn.next_event()
            if not isinstance(event, h11.Request):
                return framed
            body = b""
            while True:
                part = conn.next_event()
                if isinstance(part, h11.Data):
                    body += part.data
                elif isinstance(part, h11.EndOfMessage):
                    break
                else:
                    return framed
        except h11.RemoteProtocolError:
            return framed
        framed.append((event.method.decode("latin-1"), event.target.decode("latin-1"), body))
        if not _keeps_alive(event) or event.method == b"CONNECT":
            return framed
        data = conn.trailing_data[0]
    return framed


# -- mutations ----------------------------------------------------------------------------


def _near_separator(rng: random.Random, data: bytes) -> int:
    spots = [i for i, byte in enumerate(data) if byte in SEPARATORS]
    if not spots or rng.random() < 0.15:
        return rng.randrange(len(data) + 1)
    return max(0, min(len(data), rng.choice(spots) + rng.choice((-1, 0, 0, 1))))


def _split(data: bytes) -> tuple[list[bytes], bytes]:
    head, sep, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), (sep + body if sep else b"")


def _join(lines: list[bytes], rest: bytes) -> bytes:
    return b"\r\n".join(lines) + (rest or b"\r\n\r\n")


def mutate(rng: random.Random, data: bytes) -> bytes:
    kind = rng.randrange(9)
    if kind == 8 and b"\r\n5;ext=1\r\n" in data:
        return data.replace(b"\r\n5;ext=1\r\n", b"\r\n" + rng.choice(CHUNK_SIZES) + b"\r\n", 1)
    if kind == 0:
        at = _near_separator(rng, data)
        return data[:at] + rng.choice(INTERESTING) + data[at:]
    if kind == 1 and data:
        at = min(_near_separator(rng, data), len(data) - 1)
        return data[:at] + data[at + 1 :]
    if kind == 2 and data:
        at = min(_near_separator(rng, data), len(data) - 1)
        return data[:at] + rng.choice(INTERESTING) + data[at + 1 :]
    lines, rest = _split(data)
    if kind == 3 and len(lines) > 1:
        line = rng.choice(lines[1:])
        lines.insert(rng.randrange(1, len(lines) + 1), line)
    elif kind == 4 and len(lines) > 2:
        i, j = rng.sample(range(1, len(lines)), 2)
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == 5:
        lines.insert(
            rng.randrange(1, len(lines) + 1),
            b"Content-Length: %d" % rng.choice((0, 1, 3, 5, 11, 40)),
        )
    elif kind == 6:
        lines.insert(
            rng.randrange(1, len(lines) + 1), b"Transfer-Encoding: " + rng.choice(TE_VALUES)
        )
    else:
        return data + rng.choice((SMUGGLED, b"\r\n" + SMUGGLED, b"0\r\n\r\n" + SMUGGLED))
    return _join(lines, rest)


def make_case(rng: random.Random) -> bytes:
    data = rng.choice(SEEDS)
    if rng.random() < 0.3:
        data += rng.choice(SEEDS)
    for _ in range(rng.choice((1, 1, 2, 3))):
        data = mutate(rng, data)
    return data


# -- the server under test -------------------------------------------------------------------


class Recording(WSGIHandler):
    def get_environ(self) -> Any:
        environ = WSGIHandler.get_environ(self)
        environ["fuzz.target"] = self.path
        return environ


class App:
    """Records each request it serves; with ``catch``, it also answers when
    reading the body fails (recording ``None`` as the body)."""

    def __init__(self) -> None:
        self.served: list[tuple[str, str, bytes | None]] = []
        self.catch = False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body: bytes | None
        if self.catch:
            try:
                body = environ["wsgi.input"].read()
            except (OSError, ValueError):
                body = None
        else:
            body = environ["wsgi.input"].read()
        self.served.append((environ["REQUEST_METHOD"], environ["fuzz.target"], body))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


class ErrorLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(line)

    def flush(self) -> None:
        pass


@pytest.fixture
def target() -> Iterator[tuple[WSGIServer, App, ErrorLog]]:
    app, error_log = App(), ErrorLog()
    with WSGIServer(
        ("127.0.0.1", 0),
        app,
        log=None,
        error_log=error_log,
        spawn=Pool(10),
        handler_class=Recording,
    ) as server:
        server.start()
        yield server, app, error_log


_STATUS_LINE = re.compile(rb"HTTP/1\.1 ([0-9]{3}) ")


def statuses(data: bytes) -> list[int]:
    """The status codes of the responses in ``data`` (status lines only)."""
    return [int(code) for code in _STATUS_LINE.findall(data)]


def send(server: WSGIServer, data: bytes) -> bytes:
    with connect(server) as client:
        try:
            client.sendall(data)
            client.shutdown(1)
        except OSError:
            pass
        chunks = []
        while True:
            try:
                more = client.recv(65536)
            except OSError:
                break
            if not more:
                break
            chunks.append(more)
    return b"".join(chunks)


@pytest.mark.fd_leak_check
def test_fuzz_pywsgi_against_h11(
    target: tuple[WSGIServer, App, ErrorLog], handle_errors: list[Any]
) -> None:
    server, app, error_log = target
    rng = random.Random(SEED)
    counts: Counter[str] = Counter()
    for case in range(CASES):
        data = make_case(rng)
        app.served = []
        app.catch = bool(case % 2)
        answer = send(server, data)
        codes = statuses(answer)
        expected = h11_frames(data)
        context = f"case {case} (seed {SEED}): {data!r}\nanswer: {answer[:300]!r}"
        assert not [code for code in codes if code >= 500 and code not in PROTOCOL_5XX], context
        served = app.served
        if served and served[-1][2] is None:
            served = served[:-1]  # its body broke: refused, and the last one
        assert None not in [body for _, _, body in served], context
        assert served == expected[: len(served)], (
            f"{context}\nserved {app.served!r}\nh11 {expected!r}"
        )
        assert handle_errors == [], context
        assert not [line for line in error_log.lines if "Traceback" in line], context
        counts["cases"] += 1
        counts["requests served"] += len(served)
        counts["requests h11 frames"] += len(expected)
        counts["cases where greenkit served fewer than h11"] += len(served) < len(expected)
        for code in codes:
            counts[f"status {code}"] += 1
    print(
        f"\npywsgi fuzz (seed {SEED}): "
        + ", ".join(f"{key}: {value}" for key, value in sorted(counts.items()))
    )
    assert counts["requests served"] > 0 and counts["status 400"] > 0
