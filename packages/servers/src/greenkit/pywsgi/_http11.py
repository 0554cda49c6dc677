"""The HTTP/1.1 request rules of :mod:`greenkit.pywsgi` (RFC 9112, RFC 9110).

Each function checks one part of a request and raises an
:class:`~greenkit.pywsgi._errors.InvalidClientRequest` (or a subclass that
names another status) when it breaks the grammar, so that the handler
answers with that status and closes the connection.  Everything is matched
with precompiled regular expressions over whole lines, never byte by byte:
this is the hot path of every request.

* request line (§3): ``method SP request-target SP HTTP-version CRLF``,
  split on single SP only; the target is visible ASCII only;
* request target (§3.2): origin-form; absolute-form (``http``/``https``,
  its authority is the host); asterisk-form for OPTIONS only;
  authority-form for CONNECT only (and CONNECT only with it);
* field lines (§5): ``token ":" OWS value OWS CRLF``, values without CR,
  LF, NUL or other control bytes but HTAB; obs-fold replaced by SP
  (§5.2); a bare LF ends nothing;
* Host (§3.2): exactly one in HTTP/1.1 (at most one in HTTP/1.0), whose
  value is ``uri-host [":" port]``;
* framing (§6): Transfer-Encoding only in HTTP/1.1, never together with
  Content-Length, and one field line that is exactly ``chunked`` (a
  well-formed list of codings ending in chunked is 501, anything else 400);
  Content-Length ``1*DIGIT`` (ASCII), identical repeats folded.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from greenkit.pywsgi._errors import (
    HeadersTooLarge,
    InvalidClientRequest,
    NotImplementedCoding,
    UnsupportedVersion,
)

__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_HEADER_COUNT",
    "MAX_REQUEST_LINE",
    "QUOTED_STRING_PATTERN",
    "TOKEN",
    "TOKEN_PATTERN",
    "body_framing",
    "check_host",
    "has_token",
    "parse_request_line",
    "read_fields",
    "remember",
    "split_target",
]

#: The longest request line, header line, chunk-size line or trailer line accepted.
MAX_REQUEST_LINE = 8192
#: Most header lines (and their total size) a request may have before 431.
MAX_HEADER_COUNT = 100
MAX_HEADER_BYTES = 65536

#: Regular-expression sources of a token and a quoted-string (RFC 9110 §5.6).
TOKEN_PATTERN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
#: An HTTP token (RFC 9110 §5.6.2): methods, field names, codings.
TOKEN = re.compile(TOKEN_PATTERN)
QUOTED_STRING_PATTERN = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'

# RFC 9112 §3: single SPs, a target of visible ASCII, CRLF.
_REQUEST_LINE = rf"({TOKEN_PATTERN}) ([\x21-\x7e]+) (HTTP/[0-9]\.[0-9])"
# RFC 9112 §5 / RFC 9110 §5.5: field values are VCHAR, obs-text, SP and HTAB.
_FIELD_LINE = rf"({TOKEN_PATTERN}):[ \t]*([\t\x20-\x7e\x80-\xff]*)"
_OBS_FOLD = r"[ \t]+([\t\x20-\x7e\x80-\xff]*)"
# Each line ending in CRLF, or (the accept_bare_lf switch, RFC 9112 §2.2) in LF too.
_LINES = {
    bare_lf: tuple(
        re.compile(pattern + (r"\r?\n" if bare_lf else r"\r\n"))
        for pattern in (_REQUEST_LINE, _FIELD_LINE, _OBS_FOLD)
    )
    for bare_lf in (False, True)
}

# RFC 3986 §3.2.2 host and §3.2.3 port (IP literals are checked by ipaddress).
_REG_NAME = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
_IP_LITERAL = r"\[([0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\]"
_HOST = re.compile(rf"({_REG_NAME}|{_IP_LITERAL})(:[0-9]*)?")
_ABSOLUTE_FORM = re.compile(r"(?i:https?)://([^/?]*)(/[^?]*)?(\?.*)?")
_DIGITS = re.compile(r"[0-9]+")
# RFC 9112 §6.1 / RFC 9110 §10.1.4: one transfer-coding list element.
_VALUE = rf"(?:{TOKEN_PATTERN}|{QUOTED_STRING_PATTERN})"
_PARAMETER = rf"[ \t]*;[ \t]*{TOKEN_PATTERN}[ \t]*=[ \t]*{_VALUE}"
_CODING = re.compile(rf"[ \t]*(?:({TOKEN_PATTERN})((?:{_PARAMETER})*)[ \t]*)?(?:,|\Z)")


# Values found valid before (bounded: a server sees few distinct ones), so
# that the common request skips the regular expressions.
_MAX_REMEMBERED = 512
_valid_methods: set[str] = set()
_valid_hosts: set[str] = set()
_VERSIONS_CRLF = {"HTTP/1.1\r\n": "HTTP/1.1", "HTTP/1.0\r\n": "HTTP/1.0"}


def remember(found: set[str], value: str) -> None:
    """Add ``value`` to the set of values ``found`` valid, unless it is full."""
    if len(found) < _MAX_REMEMBERED:
        found.add(value)


def parse_request_line(line: str, bare_lf: bool = False) -> tuple[str, str, str]:
    """``(method, target, version)`` of a request line ending in CRLF (RFC
    9112 §3; or in LF, with ``bare_lf``)."""
    parts = line.split(" ")
    if len(parts) == 3:
        # The common case, by str methods: a known method, a target of
        # visible ASCII (no SP after the split), HTTP/1.x and CRLF.
        method, target, version = parts
        version = _VERSIONS_CRLF.get(version, "")
        if (
            version
            and method in _valid_methods
            and target.isascii()
            and target.isprintable()
            and target
        ):
            return method, target, version
    match = _LINES[bare_lf][0].fullmatch(line)
    if match is None:
        raise InvalidClientRequest(f"invalid request line {line[:100]!r}")
    method, target, version = match.groups()
    if version[5] != "1":
        raise UnsupportedVersion(f"unsupported version {version!r}")
    remember(_valid_methods, method)
    return method, target, version


def split_target(method: str, target: str) -> tuple[str, str | None]:
    """The path (with its query) of a request target and, for the
    absolute-form, its authority (RFC 9112 §3.2).  CONNECT's authority-form
    gives an empty path and the target as the authority."""
    if "#" in target:
        raise InvalidClientRequest(f"fragment in request target {target[:100]!r}")
    if method == "CONNECT":
        match = _HOST.fullmatch(target)
        if match is None or not match[1] or not match[3] or len(match[3]) < 2:
            raise InvalidClientRequest(f"CONNECT needs an authority-form target: {target[:100]!r}")
        _check_ip_literal(match)
        return "", target
    if target[0] == "/":
        return target, None
    if target == "*":
        if method != "OPTIONS":
            raise InvalidClientRequest(f"asterisk-form target with {method}")
        return "*", None
    match = _ABSOLUTE_FORM.fullmatch(target)
    if match is None:
        raise InvalidClientRequest(f"invalid request target {target[:100]!r}")
    authority = match[1]
    host = _HOST.fullmatch(authority)
    if host is None or not host[1]:
        raise InvalidClientRequest(f"invalid authority in request target {target[:100]!r}")
    _check_ip_literal(host)
    return (match[2] or "/") + (match[3] or ""), authority


def _check_ip_literal(match: re.Match[str]) -> None:
    literal = match[2]
    if literal is not None and not literal.startswith("v"):
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            raise InvalidClientRequest(f"invalid IPv6 literal {literal[:100]!r}") from None


def check_host(values: list[str] | None, http10: bool, required: bool = True) -> None:
    """RFC 9112 §3.2: one Host field (none is allowed in HTTP/1.0, or with
    ``required`` false) whose value is ``uri-host [":" port]`` (possibly empty)."""
    if values is None:
        if http10 or not required:
            return
        raise InvalidClientRequest("HTTP/1.1 request without Host")
    if len(values) != 1:
        raise InvalidClientRequest("more than one Host field")
    host = values[0]
    if host in _valid_hosts:
        return
    match = _HOST.fullmatch(host)
    if match is None:
        raise InvalidClientRequest(f"invalid Host {host[:100]!r}")
    _check_ip_literal(match)
    remember(_valid_hosts, host)


def has_token(values: list[str] | None, token: str) -> bool:
    """Whether the comma-separated lists ``values`` hold ``token`` (lowercase)."""
    if values is None:
        return False
    for value in values:
        for item in value.split(","):
            if item.strip(" \t").lower() == token:
                return True
    return False


def body_framing(
    transfer_encodings: list[str] | None, content_lengths: list[str] | None, http10: bool
) -> tuple[int | None, bool]:
    """``(content_length, chunked)`` of a request by RFC 9112 §6."""
    if transfer_encodings is not None:
        if http10:
            raise InvalidClientRequest("Transfer-Encoding in an HTTP/1.0 request")
        if content_lengths is not None:
            raise InvalidClientRequest("both Transfer-Encoding and Content-Length")
        if len(transfer_encodings) != 1 or transfer_encodings[0].lower() != "chunked":
            _refuse_transfer_codings(transfer_encodings)
        return None, True
    if content_lengths is None:
        return None, False
    return _content_length(content_lengths), False


def _refuse_transfer_codings(values: list[str]) -> None:
    """Raise for a Transfer-Encoding other than one ``chunked``: 501 for a
    well-formed list of codings ending in chunked, 400 for anything else."""
    codings: list[tuple[str, str]] = []
    for value in values:
        position = 0
        while True:
            match = _CODING.match(value, position)
            if match is None:
                raise InvalidClientRequest(f"invalid Transfer-Encoding {value[:100]!r}")
            if match[1]:
                codings.append((match[1].lower(), match[2]))
            position = match.end()
            if position >= len(value):
                break
    if not codings or codings[-1][0] != "chunked":
        raise InvalidClientRequest("chunked is not the final transfer coding")
    if codings[-1][1] or any(name == "chunked" for name, _ in codings[:-1]):
        raise InvalidClientRequest("chunked applied more than once or with parameters")
    if len(codings) > 1:
        raise NotImplementedCoding(f"unsupported transfer coding {codings[0][0]!r}")
    raise InvalidClientRequest(f"Transfer-Encoding other than chunked: {values[:5]!r}")


def _content_length(values: list[str]) -> int:
    if len(values) == 1 and _DIGITS.fullmatch(values[0]) is not None:
        length = values[0]
    else:
        # RFC 9110 §8.6: a list of identical values may stand for one.
        seen = {item.strip(" \t") for value in values for item in value.split(",")}
        if len(seen) != 1:
            raise InvalidClientRequest(f"conflicting Content-Length values {values[:5]!r}")
        (length,) = seen
        if _DIGITS.fullmatch(length) is None:
            raise InvalidClientRequest(f"invalid Content-Length {length[:100]!r}")
    if len(length.lstrip("0")) > 18:
        raise InvalidClientRequest("Content-Length too large")
    return int(length)


def read_fields(
    readline: Callable[[int], bytes], bare_lf: bool = False
) -> list[tuple[str, str]] | None:
    """The field lines up to the empty line (RFC 9112 §5), as ``(name, value)``
    with obs-folds replaced by SP; None if the input ends first.  Lines end
    in CRLF (or LF too, with ``bare_lf``)."""
    items: list[tuple[str, str]] = []
    total = 0
    _, field_line, obs_fold = _LINES[bare_lf]
    while True:
        raw = readline(MAX_REQUEST_LINE + 1)
        if raw == b"\r\n" or (bare_lf and raw == b"\n"):
            return items
        total += len(raw)
        if not raw.endswith(b"\n"):
            if len(raw) > MAX_REQUEST_LINE:
                raise HeadersTooLarge("header line too long")
            return None
        if total > MAX_HEADER_BYTES or len(items) >= MAX_HEADER_COUNT:
            raise HeadersTooLarge("too many headers")
        text = raw.decode("latin-1")
        match = field_line.fullmatch(text)
        if match is not None:
            items.append((match[1], match[2].rstrip(" \t")))
            continue
        match = obs_fold.fullmatch(text)
        if match is None or not items:
            raise InvalidClientRequest(f"invalid header line {text[:100]!r}")
        name, value = items[-1]
        folded = match[1].rstrip(" \t")
        items[-1] = (name, f"{value} {folded}" if value else folded)
