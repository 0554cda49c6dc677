"""``wsgi.input``: a request body read from the connection's buffered file.

:class:`Input` never reads past the body (``Content-Length`` bytes, or the
chunked encoding's last chunk and trailers), so that the next request of a
keep-alive connection starts where it should.  A body that ends early is an
``OSError`` (``IOError``); a malformed chunked framing (RFC 9112 §7.1, see
:mod:`greenkit.pywsgi._chunked`) is an :class:`InvalidClientInput`, which
the handler answers with 400.  After either, the body is broken for good:
every later read raises the same error and ``complete`` stays false, so
the handler closes the connection instead of reading on.

On a request without a body that asks to switch protocols (a websocket
handshake, say) the handler makes the input a pass-through: reads go
straight to the connection, so that the application can speak the new
protocol through ``wsgi.input``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from greenkit.pywsgi._chunked import CHUNK_EOF, read_chunk_size, read_trailers
from greenkit.pywsgi._errors import IncompleteBody, InvalidClientInput, InvalidClientRequest
from greenkit.pywsgi._http11 import MAX_REQUEST_LINE

__all__ = ["MAX_REQUEST_LINE", "Input", "InvalidClientInput", "InvalidClientRequest"]

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class Input:
    """The body of one request.

    ``content_length`` (None: no body unless ``chunked_input``) bounds a
    plain body.  ``socket``, when given, gets ``HTTP/1.1 100 Continue``
    before the first read that needs the body (the client sent
    ``Expect: 100-continue``).
    """

    __slots__ = (
        "rfile",
        "content_length",
        "socket",
        "position",
        "chunked_input",
        "chunk_length",
        "_chunk_ended",
        "_error",
        "_passthrough",
    )

    def __init__(
        self,
        rfile: Any,
        content_length: int | None,
        socket: Any = None,
        position: int = 0,
        chunked_input: bool = False,
    ) -> None:
        self.rfile = rfile
        self.content_length = content_length
        self.socket = socket
        self.position = position
        self.chunked_input = chunked_input
        #: Bytes left in the current chunk (-1: before the first chunk).
        self.chunk_length = -1
        self._chunk_ended = False
        #: The error that broke the body's framing (raised again by every read).
        self._error: Exception | None = None
        #: Reads go straight to ``rfile`` (the connection switches protocols).
        self._passthrough = False

    # -- state -----------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """Whether the whole body has been read (never after a framing error)."""
        if self._error is not None:
            return False
        if self.chunked_input:
            return self._chunk_ended
        return self.content_length is None or self.position >= self.content_length

    def _send_100_continue(self) -> None:
        sock = self.socket
        if sock is not None:
            self.socket = None
            sock.sendall(_CONTINUE)

    def _discard(self) -> None:
        """Read and drop the rest of the body (never sending 100 Continue)."""
        self.socket = None
        while not self.complete:
            if not self.read(65536):
                break

    # -- plain bodies ------------------------------------------------------------

    def _limit(self, size: int | None) -> int:
        left = (self.content_length or 0) - self.position
        if size is None or size < 0 or size > left:
            return max(left, 0)
        return size

    def _short(self) -> OSError:
        return IncompleteBody(
            f"unexpected end of file while reading request at position "
            f"{self.position} (of {self.content_length} bytes)"
        )

    def _read_plain(self, size: int | None) -> bytes:
        size = self._limit(size)
        if not size:
            return b""
        self._send_100_continue()
        data: bytes = self.rfile.read(size)
        self.position += len(data)
        if len(data) < size:
            raise self._short()
        return data

    def _readline_plain(self, size: int | None) -> bytes:
        size = self._limit(size)
        if not size:
            return b""
        self._send_100_continue()
        line: bytes = self.rfile.readline(size)
        self.position += len(line)
        if len(line) < size and not line.endswith(b"\n"):
            raise self._short()
        return line

    # -- chunked bodies ----------------------------------------------------------

    def _read_exact(self, size: int) -> bytes:
        data: bytes = self.rfile.read(size)
        if len(data) < size:
            raise IncompleteBody(CHUNK_EOF)
        return data

    def _next_chunk(self) -> bool:
        """Move to the next chunk with data; False after the last chunk."""
        if self.chunk_length == 0:
            # The data of the previous chunk is followed by CRLF.
            if self._read_exact(2) != b"\r\n":
                raise InvalidClientInput("missing CRLF after chunk data")
        size = read_chunk_size(self.rfile)
        if size == 0:
            read_trailers(self.rfile)
            self._chunk_ended = True
            self.chunk_length = 0
            return False
        self.chunk_length = size
        return True

    def _read_chunked(self, size: int | None, line: bool) -> bytes:
        if size is not None and size < 0:
            size = None
        if self._chunk_ended or size == 0:
            return b""
        self._send_100_continue()
        parts = []
        rfile = self.rfile
        while size is None or size > 0:
            if self.chunk_length <= 0 and not self._next_chunk():
                break
            want = self.chunk_length if size is None else min(size, self.chunk_length)
            data = rfile.readline(want) if line else rfile.read(want)
            if not data or (not line and len(data) < want):
                raise IncompleteBody(CHUNK_EOF)
            count = len(data)
            self.chunk_length -= count
            self.position += count
            if size is not None:
                size -= count
            parts.append(data)
            if line and data.endswith(b"\n"):
                break
        return b"".join(parts)

    # -- the file API --------------------------------------------------------------

    def _failed(self, error: Exception) -> Exception:
        """Remember the first error that broke the body; return the one to raise."""
        if self._error is None:
            self._error = error
            return error
        return type(self._error)(*self._error.args)

    def _read(self, size: int | None, line: bool) -> bytes:
        if self._passthrough:
            size = -1 if size is None else size
            data: bytes = self.rfile.readline(size) if line else self.rfile.read(size)
            return data
        if self._error is not None:
            raise self._failed(self._error)
        try:
            if self.chunked_input:
                return self._read_chunked(size, line)
            return self._readline_plain(size) if line else self._read_plain(size)
        except (OSError, ValueError) as ex:
            raise self._failed(ex) from None

    def read(self, length: int | None = None) -> bytes:
        """Read up to ``length`` bytes (all that is left if None or negative)."""
        return self._read(length, False)

    def readline(self, size: int | None = None) -> bytes:
        """Read one line (at most ``size`` bytes); b'' at the end of the body."""
        return self._read(size, True)

    def readlines(self, hint: int | None = None) -> list[bytes]:
        """The remaining lines (stopping once ``hint`` bytes were read, if given)."""
        lines: list[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


Input.__module__ = "greenkit.pywsgi"
