"""The PROXY protocol header (HAProxy's specification, versions 1 and 2).

A load balancer that speaks the PROXY protocol sends, before anything else
on each connection, one header naming the client it relays.  A server that
expects it must read exactly that header (never a byte of what follows),
refuse a connection whose header is missing or malformed, and use the
addresses it names instead of the connection's own:

* version 1: a text line ``PROXY TCP4|TCP6 src dst sport dport CRLF``
  (or ``PROXY UNKNOWN ... CRLF``: the connection's own addresses) of at
  most 107 bytes;
* version 2: the 12-byte signature, a version/command byte (``0x20``
  LOCAL: the proxy's own connection, e.g. a health check, keeping the
  connection's addresses; ``0x21`` PROXY), a family/transport byte
  (UNSPEC, or TCP over IPv4, IPv6 or UNIX), a 16-bit length and that
  many bytes: the addresses, then type-length-value records (checked for
  shape, otherwise ignored).

:func:`read_proxy_header` reads it from a cooperative socket, with
``MSG_PEEK`` so that nothing after the header's end is consumed.
"""

from __future__ import annotations

import ipaddress
import re
import socket as _stdlib_socket
import struct
from typing import Any

__all__ = ["V2_SIGNATURE", "ProxyProtocolError", "parse_v1", "parse_v2", "read_proxy_header"]

#: The first 12 bytes of a version 2 header.
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
#: The longest version 1 header, CRLF included.
V1_MAX_LENGTH = 107

_PORT = r"(0|[1-9][0-9]{0,4})"
_V1 = re.compile(
    rb"PROXY (?:(TCP4|TCP6) ([0-9A-Fa-f.:]+) ([0-9A-Fa-f.:]+) "
    + _PORT.encode()
    + b" "
    + _PORT.encode()
    + rb"|UNKNOWN(?: [^\r\n]*)?)\r\n"
)
_ADDRESS_LENGTHS = {0x11: 12, 0x21: 36, 0x31: 216}


class ProxyProtocolError(ValueError):
    """The PROXY protocol header is missing or malformed."""


def _port(text: bytes) -> int:
    port = int(text)
    if port > 65535:
        raise ProxyProtocolError(f"port out of range: {port}")
    return port


def parse_v1(line: bytes) -> tuple[Any, ...] | None:
    """The source address of a version 1 header line (None for UNKNOWN)."""
    match = _V1.fullmatch(line)
    if match is None:
        raise ProxyProtocolError(f"invalid PROXY v1 header {line[:V1_MAX_LENGTH]!r}")
    family = match[1]
    if family is None:
        return None
    kind = ipaddress.IPv4Address if family == b"TCP4" else ipaddress.IPv6Address
    try:
        source = kind(match[2].decode("ascii"))
        kind(match[3].decode("ascii"))
    except ValueError:
        raise ProxyProtocolError(f"invalid address in PROXY v1 header {line!r}") from None
    sport = _port(match[4])
    _port(match[5])
    if family == b"TCP4":
        return (str(source), sport)
    return (str(source), sport, 0, 0)


def parse_v2(head: bytes, body: bytes) -> Any:
    """The source address of a version 2 header (16 bytes ``head``, then
    ``body``): None for LOCAL and UNSPEC (keep the connection's own)."""
    if head[:12] != V2_SIGNATURE:
        raise ProxyProtocolError("invalid PROXY v2 signature")
    version_command, family = head[12], head[13]
    if version_command >> 4 != 2 or version_command & 0x0F > 1:
        raise ProxyProtocolError(f"invalid PROXY v2 version/command {version_command:#x}")
    if family != 0 and family not in _ADDRESS_LENGTHS:
        raise ProxyProtocolError(f"unsupported PROXY v2 family/protocol {family:#x}")
    length = _ADDRESS_LENGTHS.get(family, 0)
    if len(body) < length:
        raise ProxyProtocolError("PROXY v2 address block too short")
    _check_tlvs(body[length:])
    if version_command == 0x20 or family == 0:
        return None
    if family == 0x11:
        source, _, sport, _ = struct.unpack("!4s4sHH", body[:12])
        return (str(ipaddress.IPv4Address(source)), sport)
    if family == 0x21:
        source, _, sport, _ = struct.unpack("!16s16sHH", body[:36])
        return (str(ipaddress.IPv6Address(source)), sport, 0, 0)
    return body[:108].split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")


def _check_tlvs(data: bytes) -> None:
    """Type-length-value records must tile the rest of the header exactly."""
    position = 0
    while position < len(data):
        if position + 3 > len(data):
            raise ProxyProtocolError("truncated PROXY v2 TLV")
        position += 3 + int.from_bytes(data[position + 1 : position + 3], "big")
    if position != len(data):
        raise ProxyProtocolError("truncated PROXY v2 TLV")


def _recv_exact(sock: Any, size: int) -> bytes:
    data = b""
    while len(data) < size:
        more = sock.recv(size - len(data))
        if not more:
            raise ProxyProtocolError("connection closed inside the PROXY header")
        data += more
    return data


def _read_v1_line(sock: Any, start: bytes) -> bytes:
    """The rest of a version 1 line: peek, then take up to the first LF only."""
    line = start
    while True:
        room = V1_MAX_LENGTH - len(line)
        if room <= 0:
            raise ProxyProtocolError("PROXY v1 header too long")
        peeked = sock.recv(room, _stdlib_socket.MSG_PEEK)
        if not peeked:
            raise ProxyProtocolError("connection closed inside the PROXY header")
        end = peeked.find(b"\n")
        line += _recv_exact(sock, len(peeked) if end < 0 else end + 1)
        if end >= 0:
            return line


def read_proxy_header(sock: Any, versions: tuple[int, ...] = (1, 2)) -> Any:
    """Read one PROXY header of one of ``versions`` from ``sock``; return
    the client's address, or None to keep the connection's own."""
    start = _recv_exact(sock, 6)
    if start == b"PROXY " and 1 in versions:
        return parse_v1(_read_v1_line(sock, start))
    if start == V2_SIGNATURE[:6] and 2 in versions:
        head = start + _recv_exact(sock, 10)
        length = int.from_bytes(head[14:16], "big")
        return parse_v2(head, _recv_exact(sock, length) if length else b"")
    raise ProxyProtocolError(f"no PROXY header: {start!r}")
