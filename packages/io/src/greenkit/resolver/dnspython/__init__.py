"""A pure-Python resolver on dnspython, cooperative through greenkit's sockets.

Install it with ``pip install 'greenkit-io[dnspython]'`` and select it with
``GREENKIT_RESOLVER=dnspython`` (or ``GEVENT_RESOLVER=dnspython``, or
``greenkit.config.resolver = "dnspython"``).

Names are looked up in the hosts file first
(:mod:`greenkit.resolver._hostsfile`), then with a
``dns.resolver.Resolver``: dnspython picks nameservers, retries, follows
CNAME chains and retries a truncated UDP answer over TCP.  Its nameservers
are :class:`GreenNameserver` objects -- dnspython's extension point for how
a query travels -- which exchange the messages over greenkit's sockets, so
only the calling greenlet waits.  Nothing is patched: dnspython's own
``dns.query`` (and the standard library) stay blocking for the rest of the
program.

Results and errors are the standard library's
(:class:`greenkit.resolver._lookup.LookupResolver`).

Settings (``greenkit.config``): ``resolver_nameservers`` (``addr``,
``addr:port`` or ``[v6addr]:port``; without them, the system's from
``/etc/resolv.conf``) and ``resolver_timeout`` (the total time of a
lookup, dnspython's ``lifetime``).
"""

from __future__ import annotations

import time
from socket import AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM
from typing import TYPE_CHECKING, Any

try:
    import dns.exception
    import dns.message
    import dns.name
    import dns.nameserver
    import dns.rdatatype
    import dns.resolver
    import dns.reversename
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "greenkit.resolver.dnspython needs dnspython: pip install 'greenkit-io[dnspython]'"
    ) from exc

from greenkit.hub import get_hub
from greenkit.resolver._hostsfile import HostsFile
from greenkit.resolver._lookup import (
    AGAIN,
    FAIL,
    NODATA,
    NXDOMAIN,
    Answer,
    Failure,
    LookupResolver,
    merge_answers,
    split_nameserver,
)
from greenkit.socket import socket as _socket
from greenkit.socket import timeout as _socket_timeout

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = ["GreenNameserver", "Resolver"]

#: dnspython's exception for a query out of time (its constructor is unannotated).
_DNSTimeout: Any = dns.exception.Timeout

#: dnspython's default time for one try, used unless the lifetime is shorter.
_TRY_TIMEOUT = 2.0
#: A UDP socket of a nameserver is reused for this many queries at most (so
#: that the source port still changes often, RFC 5452) ...
_SOCKET_USES = 100
#: ... and at most this many wait unused between two queries.
_IDLE_SOCKETS = 64


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _DNSTimeout(timeout=0.0)
    return left


class GreenNameserver(dns.nameserver.Do53Nameserver):
    """A DNS-over-port-53 nameserver whose queries wait cooperatively.

    ``query()`` is dnspython's ``Do53Nameserver.query`` done over greenkit
    sockets: UDP (a truncated answer raises ``dns.message.Truncated``, so
    that the resolver retries over TCP) or, for ``max_size``, TCP.

    A UDP socket connected to the nameserver goes back to a small pool after
    a query it answered and serves the next ones (at most ``_SOCKET_USES``
    queries), saving a socket's creation, connection and closing per query;
    a query that fails or is interrupted closes its socket.  :meth:`close`
    closes the pool.
    """

    def __init__(self, address: str, port: int = 53) -> None:
        super().__init__(address, port)
        self._idle: list[tuple[Any, int]] = []

    def query(
        self,
        request: dns.message.QueryMessage,
        timeout: float,
        source: str | None,
        source_port: int,
        max_size: bool,
        one_rr_per_rrset: bool = False,
        ignore_trailing: bool = False,
    ) -> dns.message.Message:
        deadline = time.monotonic() + (timeout if timeout is not None else _TRY_TIMEOUT)
        family = AF_INET6 if ":" in self.address else AF_INET
        wire = request.to_wire()
        pooled = not max_size and source is None and not source_port
        sock, uses = self._idle.pop() if pooled and self._idle else (None, 0)
        try:
            if sock is None:
                sock = _socket(family, SOCK_STREAM if max_size else SOCK_DGRAM)
                if source is not None or source_port:
                    wildcard = "::" if family == AF_INET6 else "0.0.0.0"
                    sock.bind((source or wildcard, source_port))
                sock.settimeout(_remaining(deadline))
                sock.connect((self.address, self.port))
            try:
                if max_size:
                    data = self._exchange_tcp(sock, wire, deadline)
                    return dns.message.from_wire(
                        data,
                        keyring=request.keyring,
                        request_mac=request.request_mac,
                        one_rr_per_rrset=one_rr_per_rrset,
                        ignore_trailing=ignore_trailing,
                    )
                sock.send(wire)
                response = self._receive_udp(
                    sock, request, deadline, one_rr_per_rrset, ignore_trailing
                )
            except _socket_timeout:
                raise _DNSTimeout(timeout=timeout) from None
            if pooled and uses + 1 < _SOCKET_USES and len(self._idle) < _IDLE_SOCKETS:
                self._idle.append((sock, uses + 1))
                sock = None
            return response
        finally:
            if sock is not None:
                sock.close()

    def close(self) -> None:
        """Close the UDP sockets kept for the next queries."""
        idle, self._idle = self._idle, []
        for sock, _ in idle:
            sock.close()

    @staticmethod
    def _receive_udp(
        sock: Any,
        request: dns.message.QueryMessage,
        deadline: float,
        one_rr_per_rrset: bool,
        ignore_trailing: bool,
    ) -> dns.message.Message:
        """The first datagram that answers ``request`` (others are ignored)."""
        while True:
            sock.settimeout(_remaining(deadline))
            data = sock.recv(65535)
            try:
                response = dns.message.from_wire(
                    data,
                    keyring=request.keyring,
                    request_mac=request.request_mac,
                    one_rr_per_rrset=one_rr_per_rrset,
                    ignore_trailing=ignore_trailing,
                    raise_on_truncation=True,
                )
            except dns.message.Truncated as exc:
                truncated: Any = exc
                if request.is_response(truncated.message()):
                    raise
                continue
            except Exception:  # noqa: BLE001 - garbage on the socket: keep waiting
                continue
            if request.is_response(response):
                return response

    @staticmethod
    def _exchange_tcp(sock: Any, wire: bytes, deadline: float) -> bytes:
        """Send one length-prefixed message, return the length-prefixed answer."""
        sock.sendall(len(wire).to_bytes(2, "big") + wire)

        def receive(count: int) -> bytes:
            chunks = b""
            while len(chunks) < count:
                sock.settimeout(_remaining(deadline))
                chunk = sock.recv(count - len(chunks))
                if not chunk:
                    raise EOFError("the nameserver closed the connection")
                chunks += chunk
            return chunks

        return receive(int.from_bytes(receive(2), "big"))


def _failure(exc: Exception) -> Failure:
    """The failure kind of one of dnspython's resolution errors."""
    if isinstance(exc, dns.resolver.NXDOMAIN):
        return Failure(NXDOMAIN, str(exc))
    if isinstance(exc, dns.resolver.NoAnswer):
        return Failure(NODATA, str(exc))
    if isinstance(exc, dns.exception.Timeout):
        return Failure(AGAIN, str(exc), type(exc).__name__)
    if isinstance(exc, dns.resolver.NoNameservers):
        return Failure(AGAIN, str(exc))
    if isinstance(exc, (dns.name.NameTooLong, dns.name.LabelTooLong, dns.name.EmptyLabel)):
        return Failure(NXDOMAIN, str(exc))
    return Failure(FAIL, str(exc))


class Resolver(LookupResolver):
    """dnspython resolver of the hub ``hub`` (default: the current thread's).

    ``nameservers`` (``addr``, ``addr:port`` or ``[v6addr]:port`` strings)
    and ``timeout`` (total seconds per lookup) default to the settings
    ``resolver_nameservers`` and ``resolver_timeout``; ``hosts_file`` is
    the hosts file read before any query (default ``/etc/hosts``).
    ``network_resolver`` is the ``dns.resolver.Resolver`` used.
    """

    def __init__(
        self,
        hub: Hub | None = None,
        *,
        nameservers: list[str] | None = None,
        timeout: float | None = None,
        hosts_file: str | None = None,
    ) -> None:
        from greenkit.config import config

        if hub is None:
            hub = get_hub()
        assert hub.loop is not None, "a resolver on a destroyed hub"
        self.hub = hub
        self.hosts = HostsFile(hosts_file, clock=hub.loop.now)
        if nameservers is None:
            nameservers = config.resolver_nameservers
        if timeout is None:
            timeout = config.resolver_timeout
        network = dns.resolver.Resolver(configure=not nameservers)
        servers: list[dns.nameserver.Nameserver] = []
        if nameservers:
            for server in nameservers:
                address, port = split_nameserver(server)
                servers.append(GreenNameserver(address, port or 53))
        else:
            for configured in network.nameservers:
                address = (
                    str(configured)
                    if not isinstance(configured, dns.nameserver.AddressAndPortNameserver)
                    else configured.address
                )
                servers.append(GreenNameserver(address, network.port))
        network.nameservers = servers
        if timeout is not None:
            network.lifetime = float(timeout)
            network.timeout = min(_TRY_TIMEOUT, float(timeout))
        self.network_resolver = network

    @property
    def nameservers(self) -> list[str]:
        """The nameservers' addresses."""
        return [
            str(server.answer_nameserver())
            for server in self.network_resolver.nameservers
            if isinstance(server, dns.nameserver.Nameserver)
        ]

    def __repr__(self) -> str:
        return (
            f"<{type(self).__module__}.{type(self).__name__} at {id(self):#x}"
            f" nameservers={self.nameservers!r}>"
        )

    def _query(
        self, name: str, rdtype: dns.rdatatype.RdataType, deadline: float | None = None
    ) -> dns.resolver.Answer:
        lifetime = None
        if deadline is not None:
            lifetime = deadline - time.monotonic()
            if lifetime <= 0:
                raise Failure(AGAIN, "lifetime exhausted")
        try:
            return self.network_resolver.resolve(name, rdtype, search=False, lifetime=lifetime)
        except dns.exception.DNSException as exc:
            raise _failure(exc) from None

    def _resolve_one(self, name: str, family: int, deadline: float | None = None) -> Answer:
        rdtype = dns.rdatatype.AAAA if family == AF_INET6 else dns.rdatatype.A
        answer = self._query(name, rdtype, deadline)
        aliases = [str(rrset.name).rstrip(".") for rrset in answer.chaining_result.cnames]
        addresses = [(family, str(rdata.address)) for rdata in answer]
        if not addresses:
            raise Failure(NODATA)
        return Answer(str(answer.canonical_name).rstrip("."), aliases, addresses)

    def _resolve(self, name: str, family: int) -> Answer:
        if family:
            return self._resolve_one(name, family)
        # Both questions share one lifetime, as one lookup.
        deadline = time.monotonic() + self.network_resolver.lifetime
        answers: list[Answer | Failure] = []
        for one in (AF_INET, AF_INET6):
            try:
                answers.append(self._resolve_one(name, one, deadline))
            except Failure as failure:
                if failure.kind == NXDOMAIN:
                    raise
                answers.append(failure)
        return merge_answers(answers)

    def _resolve_reverse(self, address: str) -> tuple[str, list[str]]:
        answer = self._query(str(dns.reversename.from_address(address)), dns.rdatatype.PTR)
        names = [str(rdata.target).rstrip(".") for rdata in answer]
        if not names:
            raise Failure(NODATA)
        return names[0], names[1:]

    def close(self) -> None:
        """Close the sockets kept for the next queries."""
        for server in self.network_resolver.nameservers:
            if isinstance(server, GreenNameserver):
                server.close()
