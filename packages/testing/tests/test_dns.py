"""greenkit_testing.dns: the loopback DNS responder, spoken to with plain sockets."""

from __future__ import annotations

import socket
import struct
import time

from greenkit_testing.dns import TYPES, DNSResponder


def _query(name: str, qtype: str, ident: int = 0x1234) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return (
        struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
        + labels
        + b"\0"
        + struct.pack("!HH", TYPES[qtype], 1)
    )


def _header(reply: bytes) -> tuple[int, int, int, int]:
    """(id, TC bit, rcode, answer count)."""
    ident, flags, _, ancount = struct.unpack("!HHHH", reply[:8])
    return ident, (flags >> 9) & 1, flags & 0xF, ancount


def _udp(responder: DNSResponder, message: bytes, timeout: float = 5.0) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(message, ("127.0.0.1", responder.port))
        return sock.recv(65535)


def test_answers_over_udp_and_tcp() -> None:
    zone = {"a.test": [("A", "10.0.0.1"), ("AAAA", "fd00::1")], "w.test": [("CNAME", "a.test")]}
    with DNSResponder(zone, servfail={"bad.test"}, truncate={"a.test"}) as responder:
        assert responder.server == f"127.0.0.1:{responder.port}"
        reply = _udp(responder, _query("w.test", "AAAA", 7))
        assert _header(reply) == (7, 0, 0, 2)  # the CNAME and the AAAA
        assert reply.endswith(socket.inet_pton(socket.AF_INET6, "fd00::1"))
        assert _header(_udp(responder, _query("a.test", "A"))) == (0x1234, 1, 0, 0)
        assert _header(_udp(responder, _query("nx.test", "A")))[2] == 3
        assert _header(_udp(responder, _query("bad.test", "A")))[2] == 2
        assert _header(_udp(responder, _query("w.test", "TXT")))[2:] == (0, 1)  # CNAME only
        with socket.create_connection(("127.0.0.1", responder.port), timeout=5) as conn:
            message = _query("a.test", "A")
            conn.sendall(struct.pack("!H", len(message)) + message)
            size = struct.unpack("!H", conn.recv(2))[0]
            reply = b""
            while len(reply) < size:
                reply += conn.recv(size - len(reply))
        assert _header(reply) == (0x1234, 0, 0, 1)
        assert reply.endswith(socket.inet_aton("10.0.0.1"))
    assert ("tcp", "a.test", "A") in responder.queries
    assert ("udp", "w.test", "AAAA") in responder.queries


def test_delay_and_silence() -> None:
    with DNSResponder(
        {"a.test": [("A", "10.0.0.1")]}, delay=0.2, silent={"quiet.test"}
    ) as responder:
        start = time.monotonic()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            for ident in range(10):
                sock.sendto(_query("a.test", "A", ident), ("127.0.0.1", responder.port))
            replies = {_header(sock.recv(512))[0] for _ in range(10)}
        elapsed = time.monotonic() - start
        assert replies == set(range(10))
        assert 0.15 < elapsed < 1.5  # answered together, after the delay
        try:
            _udp(responder, _query("quiet.test", "A"), timeout=0.3)
        except TimeoutError:
            pass
        else:
            raise AssertionError("the silent name was answered")
