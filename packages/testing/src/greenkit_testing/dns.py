"""A DNS responder on loopback, for tests and benchmarks of DNS resolvers.

:class:`DNSResponder` answers queries from a small zone given as a dict,
over UDP and TCP on ``127.0.0.1`` and a free port (the same for both), in
its own OS thread with blocking sockets, so it keeps answering whatever the
process's hubs are doing.  Point a resolver at ``responder.server``
(``"127.0.0.1:PORT"``) explicitly: no query ever leaves loopback.

The zone maps lower-case names (no trailing dot) to records
``(type, value)``: ``("A", "10.0.0.1")``, ``("AAAA", "fd00::1")``,
``("CNAME", "other.test")``, ``("PTR", "name.test")``.  The responder
follows CNAMEs inside the zone.  A name it does not know gets NXDOMAIN; a
known name without records of the type asked, an empty NOERROR answer.
Behaviours per name (sets of names):

* ``servfail`` -- answer SERVFAIL;
* ``silent`` -- never answer;
* ``truncate`` -- over UDP answer with the TC bit and no records (so the
  client retries over TCP, where the full answer comes).

``delay`` seconds pass before every answer (answers are scheduled, not
slept on, so many queries wait at once).  ``queries`` records what arrived:
``(transport, name, type)`` with transport ``"udp"`` or ``"tcp"``.

The wire format (RFC 1035) is written here: no DNS library is needed.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import selectors
import socket
import struct
import threading
import time
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

__all__ = ["DNSResponder", "TYPES"]

#: Record type name -> number.
TYPES = {
    "A": 1,
    "NS": 2,
    "CNAME": 5,
    "SOA": 6,
    "PTR": 12,
    "MX": 15,
    "TXT": 16,
    "AAAA": 28,
    "ANY": 255,
}
_NAMES = {number: name for name, number in TYPES.items()}

_NOERROR, _SERVFAIL, _NXDOMAIN = 0, 2, 3
_QR, _AA, _TC, _RD, _RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            raw = label.encode("ascii")
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def _parse_question(message: bytes) -> tuple[int, int, str, int, bytes]:
    """``(id, flags, name, type, question bytes)`` of a query; ValueError if malformed."""
    if len(message) < 12:
        raise ValueError("short message")
    ident, flags, qdcount = struct.unpack("!HHH", message[:6])
    if qdcount != 1:
        raise ValueError("one question expected")
    labels, at = [], 12
    while True:
        if at >= len(message):
            raise ValueError("truncated name")
        length = message[at]
        at += 1
        if length == 0:
            break
        if length > 63:
            raise ValueError("compressed or bad label")
        labels.append(message[at : at + length].decode("ascii", "replace"))
        at += length
    if at + 4 > len(message):
        raise ValueError("truncated question")
    qtype = struct.unpack("!H", message[at : at + 2])[0]
    return ident, flags, ".".join(labels), qtype, message[12 : at + 4]


def _rdata(rtype: str, value: str) -> bytes:
    if rtype == "A":
        return ipaddress.IPv4Address(value).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(value).packed
    if rtype in ("CNAME", "PTR", "NS"):
        return _encode_name(value)
    if rtype == "TXT":
        raw = value.encode()
        return bytes([len(raw)]) + raw
    raise ValueError(f"unsupported record type {rtype}")


class DNSResponder:
    """Answers DNS queries for ``zone`` on 127.0.0.1 (see the module docstring).

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        zone: Mapping[str, Iterable[tuple[str, str]]] | None = None,
        *,
        delay: float = 0.0,
        servfail: Iterable[str] = (),
        silent: Iterable[str] = (),
        truncate: Iterable[str] = (),
        ttl: int = 60,
    ) -> None:
        self.zone = {
            name.lower().rstrip("."): list(records) for name, records in (zone or {}).items()
        }
        self.delay = delay
        self.servfail = {name.lower() for name in servfail}
        self.silent = {name.lower() for name in silent}
        self.truncate = {name.lower() for name in truncate}
        self.ttl = ttl
        self.queries: list[tuple[str, str, str]] = []
        self.port = 0
        self._sockets: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._running = False

    @property
    def server(self) -> str:
        """``"127.0.0.1:PORT"``: the nameserver to give a resolver."""
        return f"127.0.0.1:{self.port}"

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> DNSResponder:
        """Bind UDP and TCP on one free port of 127.0.0.1 and start answering."""
        for _ in range(20):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                udp.close()
                tcp.close()
                continue
            break
        else:  # pragma: no cover - 20 ports taken in TCP but free in UDP
            raise OSError("no port free for both UDP and TCP")
        tcp.listen(64)
        wake_r, wake_w = socket.socketpair()
        self.port = port
        self._sockets = [udp, tcp, wake_r, wake_w]
        self._running = True
        self._thread = threading.Thread(
            target=self._serve, args=(udp, tcp, wake_r), name="DNSResponder", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and close every socket."""
        if not self._running:
            return
        self._running = False
        self._sockets[-1].send(b"x")
        assert self._thread is not None
        self._thread.join(10)
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> DNSResponder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- answers ---------------------------------------------------------------

    def answer(self, query: bytes, transport: str) -> bytes | None:
        """The response to one query message (None: do not answer)."""
        try:
            ident, flags, name, qtype, question = _parse_question(query)
        except ValueError:
            return None
        key = name.lower()
        self.queries.append((transport, key, _NAMES.get(qtype, str(qtype))))
        if key in self.silent:
            return None
        base = _QR | _AA | _RA | (flags & _RD)
        if key in self.servfail:
            return self._message(ident, base | _SERVFAIL, question, [])
        if transport == "udp" and key in self.truncate:
            return self._message(ident, base | _TC, question, [])
        records: list[bytes] = []
        seen = set()
        while key in self.zone and key not in seen:
            seen.add(key)
            found = self.zone[key]
            wanted = [(t, v) for t, v in found if TYPES.get(t) == qtype or qtype == 255]
            cnames = [v for t, v in found if t == "CNAME"]
            if wanted:
                records += [self._record(key, t, v) for t, v in wanted]
                break
            if not cnames:
                break
            records.append(self._record(key, "CNAME", cnames[0]))
            key = cnames[0].lower().rstrip(".")
        else:
            if key not in self.zone:
                return self._message(ident, base | _NXDOMAIN, question, records)
        return self._message(ident, base | _NOERROR, question, records)

    def _record(self, name: str, rtype: str, value: str) -> bytes:
        data = _rdata(rtype, value)
        return (
            _encode_name(name) + struct.pack("!HHIH", TYPES[rtype], 1, self.ttl, len(data)) + data
        )

    @staticmethod
    def _message(ident: int, flags: int, question: bytes, records: list[bytes]) -> bytes:
        return (
            struct.pack("!HHHHHH", ident, flags, 1, len(records), 0, 0)
            + question
            + b"".join(records)
        )

    # -- the thread --------------------------------------------------------------

    def _serve(self, udp: socket.socket, tcp: socket.socket, wake: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(udp, selectors.EVENT_READ, "udp")
        selector.register(tcp, selectors.EVENT_READ, "accept")
        selector.register(wake, selectors.EVENT_READ, "wake")
        buffers: dict[socket.socket, bytes] = {}
        #: (when, tie-breaker, connection or None for UDP, UDP peer, bytes)
        later: list[tuple[float, int, socket.socket | None, Any, bytes]] = []
        order = itertools.count()

        def schedule(conn: socket.socket | None, peer: Any, reply: bytes) -> None:
            heapq.heappush(later, (time.monotonic() + self.delay, next(order), conn, peer, reply))

        try:
            while self._running:
                wait = None if not later else max(0.0, later[0][0] - time.monotonic())
                for key, _ in selector.select(wait):
                    if key.data == "udp":
                        data, peer = udp.recvfrom(65535)
                        reply = self.answer(data, "udp")
                        if reply is not None:
                            schedule(None, peer, reply)
                    elif key.data == "accept":
                        conn, _ = tcp.accept()
                        buffers[conn] = b""
                        selector.register(conn, selectors.EVENT_READ, "tcp")
                    elif key.data == "tcp":
                        self._read_tcp(key.fileobj, buffers, selector, schedule)
                now = time.monotonic()
                while later and later[0][0] <= now:
                    _, _, target, peer, reply = heapq.heappop(later)
                    try:
                        if target is not None:
                            target.sendall(reply)
                        else:
                            udp.sendto(reply, peer)
                    except OSError:
                        pass
        finally:
            for conn in buffers:
                conn.close()
            selector.close()

    def _read_tcp(
        self,
        conn: Any,
        buffers: dict[socket.socket, bytes],
        selector: selectors.BaseSelector,
        schedule: Any,
    ) -> None:
        """Read from a TCP client; answer each complete length-prefixed query."""
        chunk = conn.recv(65535)
        if not chunk:
            selector.unregister(conn)
            buffers.pop(conn, None)
            conn.close()
            return
        buffer = buffers[conn] + chunk
        while len(buffer) >= 2:
            size = struct.unpack("!H", buffer[:2])[0]
            if len(buffer) < 2 + size:
                break
            reply = self.answer(buffer[2 : 2 + size], "tcp")
            buffer = buffer[2 + size :]
            if reply is not None:
                schedule(conn, None, struct.pack("!H", len(reply)) + reply)
        buffers[conn] = buffer
