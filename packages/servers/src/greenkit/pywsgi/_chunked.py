"""The chunked transfer coding's framing lines (RFC 9112 §7.1).

``chunk-size [chunk-ext] CRLF``: 1*HEXDIG (any number of leading zeros; no
sign, ``0x`` or whitespace), then extensions ``";" BWS token [BWS "=" BWS
(token / quoted-string)]``, then CRLF (a bare LF is no line end here).
The grammar's BWS before ``";"`` is refused, as h11 and llhttp's strict
mode do: whitespace after a chunk size is a known request-smuggling vector.
The trailer section after the last chunk is read by the header rules.
"""

from __future__ import annotations

import re
from typing import Any

from greenkit.pywsgi._errors import IncompleteBody, InvalidClientInput, InvalidClientRequest
from greenkit.pywsgi._http11 import (
    MAX_REQUEST_LINE,
    QUOTED_STRING_PATTERN,
    TOKEN_PATTERN,
    read_fields,
)

__all__ = ["CHUNK_EOF", "read_chunk_size", "read_trailers"]

#: The message of the OSError for a chunked body that ends early.
CHUNK_EOF = "unexpected end of file while parsing chunked data"

_VALUE = rf"(?:{TOKEN_PATTERN}|{QUOTED_STRING_PATTERN})"
_EXTENSION = rf";[ \t]*{TOKEN_PATTERN}(?:[ \t]*=[ \t]*{_VALUE})?"
_CHUNK_LINE = re.compile(rf"([0-9A-Fa-f]+)(?:{_EXTENSION})*\r\n".encode("latin-1"))
#: Hex digits of the largest chunk accepted (beyond leading zeros).
_MAX_SIZE_DIGITS = 16


def read_chunk_size(rfile: Any) -> int:
    """Read one chunk-size line from ``rfile``; return the size."""
    line: bytes = rfile.readline(MAX_REQUEST_LINE + 1)
    if not line.endswith(b"\n"):
        if len(line) > MAX_REQUEST_LINE:
            raise InvalidClientInput("chunk size line too long")
        raise IncompleteBody(CHUNK_EOF)
    match = _CHUNK_LINE.fullmatch(line)
    if match is None:
        raise InvalidClientInput(f"invalid chunk size line {line[:100]!r}")
    digits = match[1].lstrip(b"0")
    if len(digits) > _MAX_SIZE_DIGITS:
        raise InvalidClientInput("chunk size too large")
    return int(digits or b"0", 16)


def read_trailers(rfile: Any) -> None:
    """Read (and drop) the trailer section, checked as header fields."""
    try:
        fields = read_fields(rfile.readline)
    except InvalidClientRequest as ex:
        raise InvalidClientInput(f"invalid trailer section: {ex}") from None
    if fields is None:
        raise IncompleteBody(CHUNK_EOF)
