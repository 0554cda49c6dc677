"""greenkit.pywsgi.Input: plain and chunked request bodies (no sockets needed)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from greenkit.pywsgi import MAX_REQUEST_LINE, Input
from greenkit.pywsgi._input import InvalidClientInput


def chunked(*chunks: bytes, end: bytes = b"0\r\n\r\n") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + end


def make(
    data: bytes, content_length: int | None = None, chunked_input: bool = False, socket: Any = None
) -> Input:
    return Input(
        io.BufferedReader(io.BytesIO(data)),
        content_length,
        socket=socket,
        chunked_input=chunked_input,
    )


def test_plain_read_stops_at_content_length() -> None:
    body = make(b"hello worldNEXT REQUEST", content_length=11)
    assert body.read(5) == b"hello"
    assert body.read() == b" world"
    assert body.read() == b""
    assert body.complete and body.position == 11


def test_no_content_length_means_no_body() -> None:
    body = make(b"GET / HTTP/1.1\r\n")
    assert body.read() == b"" and body.readline() == b"" and body.complete


@pytest.mark.parametrize("method", ["read", "readline"])
def test_short_plain_body_is_an_error(method: str) -> None:
    body = make(b"1", content_length=2)
    with pytest.raises(OSError, match="unexpected end of file"):
        getattr(body, method)()


def test_lines_iteration_and_readlines() -> None:
    content = b"hello\n\nworld\n123"
    assert list(make(content, len(content))) == [b"hello\n", b"\n", b"world\n", b"123"]
    assert make(content, len(content)).readlines() == [b"hello\n", b"\n", b"world\n", b"123"]
    assert make(content, len(content)).readlines(3) == [b"hello\n"]
    assert make(content, len(content)).readline(3) == b"hel"
    assert make(content, len(content)).readline(-1) == b"hello\n"


def test_readline_never_passes_content_length() -> None:
    data = b"asdf\n" + b"a" * (MAX_REQUEST_LINE + 10) + b"\nqjk\n"
    body = make(data, content_length=len(data) - 3)
    assert body.readline() == b"asdf\n"
    assert body.readline(25 * 10**9) == b"a" * (MAX_REQUEST_LINE + 10) + b"\n"
    assert body.readline(25 * 10**9) == b"q"
    assert body.readline() == b""


def test_chunked_read() -> None:
    body = make(chunked(b"oh", b" hai") + b"NEXT", chunked_input=True)
    assert body.read() == b"oh hai"
    assert body.complete and body.position == 6
    assert body.read() == b""


def test_chunked_read_sizes_and_lines() -> None:
    data = chunked(b"this", b" is ", b"chunked", b"\nline", b" 2", b"\n", b"line3")
    assert make(data, chunked_input=True).read(10) == b"this is ch"
    assert list(make(data, chunked_input=True)) == [b"this is chunked\n", b"line 2\n", b"line3"]
    body = make(data, chunked_input=True)
    assert [body.read(1) for _ in range(4)] == [b"t", b"h", b"i", b"s"]


def test_chunk_extensions_and_trailers_are_accepted() -> None:
    data = (
        b'2;name="quoted value"\r\noh\r\n4;token\r\n hai\r\n0\r\n'
        b"Trailer-One: 1\r\nTrailer-Two: 2\r\n\r\nNEXT"
    )
    body = make(data, chunked_input=True)
    assert body.read() == b"oh hai" and body.complete
    assert body.rfile.read() == b"NEXT"


@pytest.mark.parametrize(
    "data",
    [
        b'{"hi": "ho"}\r\n',  # not a chunk size at all
        b"2\r\noh\r\n0GET / HTTP/1.1\r\n\r\n",  # garbage after the last chunk size
        b"2;" + b"x" * (MAX_REQUEST_LINE + 1) + b"\r\noh\r\n0\r\n\r\n",
        b"2\r\nohXX4\r\n hai\r\n0\r\n\r\n",  # chunk data longer than its size
        b"2\r\noh\r\n0\r\nGET /smuggled HTTP/1.1\r\n\r\n",  # a request line as a trailer
        b"2\r\noh\r\n0\r\ntrailer: " + b"t" * MAX_REQUEST_LINE,
        b"12345678901234567\r\n",  # absurd size
    ],
)
def test_malformed_chunking_is_invalid_input(data: bytes) -> None:
    with pytest.raises(InvalidClientInput):
        make(data, chunked_input=True).read()
    assert issubclass(InvalidClientInput, ValueError)


@pytest.mark.parametrize("data", [b"2\r\noh\r\n4\r\n hai\r\n", b"2\r\n1", b"4\r\nthi"])
@pytest.mark.parametrize("method", ["read", "readline"])
def test_chunked_body_ending_early_is_an_error(data: bytes, method: str) -> None:
    with pytest.raises(OSError, match="unexpected end of file while parsing chunked data"):
        getattr(make(data, chunked_input=True), method)()


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.sent.append(data)


def test_100_continue_is_sent_once_on_first_read() -> None:
    sock = _Recorder()
    body = make(b"testing", content_length=7, socket=sock)
    assert sock.sent == []
    assert body.read(1) == b"t"
    assert body.read() == b"esting"
    assert sock.sent == [b"HTTP/1.1 100 Continue\r\n\r\n"]


def test_discard_skips_body_without_100_continue() -> None:
    sock = _Recorder()
    body = make(b"x" * 100000 + b"NEXT", content_length=100000, socket=sock)
    body._discard()
    assert body.complete and sock.sent == []
    assert body.rfile.read() == b"NEXT"
