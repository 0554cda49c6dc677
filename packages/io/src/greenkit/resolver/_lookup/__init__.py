"""The standard library's lookup API on top of a resolver's own DNS queries.

The ares and dnspython resolvers ask nameservers themselves instead of
calling the C library.  :class:`LookupResolver` gives them the standard
library's five functions, results and errors, so that each resolver only
has to answer two questions, cooperatively, in the calling greenlet:

* :meth:`LookupResolver._resolve` -- the canonical name, aliases and
  addresses (A and/or AAAA) of a name;
* :meth:`LookupResolver._resolve_reverse` -- the name and aliases of an
  address (PTR).

Everything else is done here, the same way for both:

* numeric hosts, ``None``, ``''`` and ``'<broadcast>'`` go straight to the
  standard library function (no lookup happens there);
* the hosts file (:mod:`greenkit.resolver._hostsfile`) is consulted before
  any query;
* ``getaddrinfo`` checks its arguments by calling the standard library's
  with a numeric host of the requested family, and builds its result by
  calling it again with each address found (``AI_NUMERICHOST``), so
  families, socket types, protocols, service names and flags behave exactly
  as there; ``AI_CANONNAME`` puts the canonical name on the first entry;
* failures become :class:`socket.gaierror` or :class:`socket.herror` with
  the numbers and messages the C library gives for the same failure
  (:class:`Failure` carries which one).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import ip_address
from socket import (
    AF_INET,
    AF_INET6,
    AI_CANONNAME,
    AI_NUMERICHOST,
    EAI_AGAIN,
    EAI_FAIL,
    EAI_FAMILY,
    EAI_NONAME,
    NI_NAMEREQD,
    NI_NOFQDN,
    NI_NUMERICHOST,
    gaierror,
    herror,
)
from typing import Any, TypeVar

from greenkit.resolver import (
    AbstractResolver,
    _getaddrinfo,
    _gethostbyaddr,
    _gethostbyname,
    _gethostbyname_ex,
    _getnameinfo,
    _is_numeric,
)
from greenkit.resolver._hostsfile import HostsFile

__all__ = [
    "AGAIN",
    "FAIL",
    "NODATA",
    "NXDOMAIN",
    "Answer",
    "Failure",
    "LookupResolver",
    "LookupTimeout",
    "split_nameserver",
]

_T = TypeVar("_T")

#: Failure kinds: the name does not exist ...
NXDOMAIN = "nxdomain"
#: ... it exists but has no record of the type asked ...
NODATA = "nodata"
#: ... no answer now (SERVFAIL, REFUSED, timeout, unreachable server) ...
AGAIN = "again"
#: ... anything else (a malformed answer...).
FAIL = "fail"

_EAI_NODATA = -5  # glibc's value; the socket module has it only on some platforms

#: Failure kind -> (EAI_* number, message) for socket.gaierror, as glibc gives them.
_GAIERRORS = {
    NXDOMAIN: (EAI_NONAME, "Name or service not known"),
    NODATA: (_EAI_NODATA, "No address associated with hostname"),
    AGAIN: (EAI_AGAIN, "Temporary failure in name resolution"),
    FAIL: (EAI_FAIL, "Non-recoverable failure in name resolution"),
}
#: Failure kind -> (h_errno, message) for socket.herror, as glibc gives them.
_HERRORS = {
    NXDOMAIN: (1, "Unknown host"),  # HOST_NOT_FOUND
    NODATA: (4, "No address associated with name"),  # NO_DATA
    AGAIN: (2, "Host name lookup failure"),  # TRY_AGAIN
    FAIL: (3, "Unknown server error"),  # NO_RECOVERY
}

#: Hosts the C socket module maps to an address without any lookup.
_SPECIAL_HOSTS = ("", "<broadcast>", b"", b"<broadcast>")

#: A domain name without its trailing dots: labels of 1 to 63 characters.
_LABELS = re.compile(r"(?:[^.]{1,63}\.)*[^.]{1,63}")


class LookupTimeout(gaierror, herror):
    """A lookup ran out of time: the ``gaierror`` (``EAI_AGAIN``) of the C
    library's getaddrinfo, and an ``herror`` as gevent's ares resolver
    raises; its message ends with the resolver's own name for the timeout."""


class Failure(Exception):
    """A lookup failed; ``kind`` is NXDOMAIN, NODATA, AGAIN or FAIL.

    ``timeout`` is the resolver's name for a timeout (e.g. ``ARES_ETIMEOUT``)
    when the failure is one.
    """

    def __init__(self, kind: str, detail: str = "", timeout: str = "") -> None:
        super().__init__(kind, detail)
        self.kind = kind
        self.timeout = timeout

    def gaierror(self) -> gaierror:
        """The socket.gaierror the C library's getaddrinfo gives for this failure."""
        if self.timeout:
            return self._timeout_error()
        return gaierror(*_GAIERRORS[self.kind])

    def herror(self) -> herror:
        """The socket.herror the C library's gethostbyaddr gives for this failure."""
        if self.timeout:
            return self._timeout_error()
        return herror(*_HERRORS[self.kind])

    def _timeout_error(self) -> LookupTimeout:
        number, message = _GAIERRORS[AGAIN]
        return LookupTimeout(number, f"{message} ({self.timeout})")


@dataclass
class Answer:
    """The result of a forward lookup."""

    #: The canonical name (the end of the CNAME chain, or the name asked).
    name: str
    #: The other names met on the way (the CNAMEs), in order.
    aliases: list[str] = field(default_factory=list)
    #: ``(family, numeric address)`` pairs, IPv4 first.
    addresses: list[tuple[int, str]] = field(default_factory=list)


def split_nameserver(server: str) -> tuple[str, int | None]:
    """``'addr'``, ``'addr:port'`` or ``'[v6addr]:port'`` -> ``(addr, port or None)``."""
    server = server.strip()
    if server.startswith("["):
        address, _, rest = server[1:].partition("]")
        return address, int(rest[1:]) if rest.startswith(":") else None
    if server.count(":") == 1:
        address, _, port = server.partition(":")
        return address, int(port)
    return server, None


def _hostname(host: str | bytes) -> str:
    """A host argument as the ASCII name a query carries (IDNA for non-ASCII)."""
    if isinstance(host, bytes):
        try:
            return host.decode("ascii")
        except UnicodeDecodeError:
            raise Failure(NXDOMAIN) from None
    if host.isascii():
        return host
    return host.encode("idna").decode("ascii")


def merge_answers(answers: list[Answer | Failure]) -> Answer:
    """One answer from the A and AAAA answers of a name (or the failure that
    best describes both failing)."""
    if len(answers) == 1 and isinstance(answers[0], Answer) and answers[0].addresses:
        return answers[0]
    found = [a for a in answers if isinstance(a, Answer)]
    addresses = [pair for answer in found for pair in answer.addresses]
    if addresses:
        first = next(answer for answer in found if answer.addresses)
        return Answer(first.name, first.aliases, addresses)
    failures = [a for a in answers if isinstance(a, Failure)]
    for kind in (NXDOMAIN, AGAIN, FAIL, NODATA):
        for failure in failures:
            if failure.kind == kind:
                raise failure
    raise Failure(NODATA)


class LookupResolver(AbstractResolver):
    """The standard library's lookup functions over :meth:`_resolve` and
    :meth:`_resolve_reverse`; ``hosts`` is the hosts file consulted first."""

    hosts: HostsFile

    # -- what a resolver defines -------------------------------------------

    def _resolve(self, name: str, family: int) -> Answer:
        """Query DNS for ``name``'s addresses of ``family`` (AF_INET, AF_INET6,
        or 0 for both); raise :class:`Failure`."""
        raise NotImplementedError

    def _resolve_reverse(self, address: str) -> tuple[str, list[str]]:
        """Query DNS for the name and aliases of a numeric ``address``; raise
        :class:`Failure`."""
        raise NotImplementedError

    def _run(self, function: Callable[..., _T], *args: Any) -> _T:
        raise NotImplementedError(f"{type(self).__name__} queries DNS itself")

    # -- shared --------------------------------------------------------------

    def _forward(self, host: str | bytes, family: int) -> Answer:
        name = _hostname(host)
        entry = self.hosts.lookup(name)
        if entry is not None:
            addresses = entry.addresses(family)
            if addresses:
                return Answer(entry.name, list(entry.aliases), addresses)
        if len(name) > 253 or _LABELS.fullmatch(name.rstrip(".")) is None:
            raise Failure(NXDOMAIN, "not a valid domain name")
        return self._resolve(name, family)

    def _reverse(self, address: str) -> tuple[str, list[str]]:
        entry = self.hosts.reverse(address)
        if entry is not None:
            return entry.name, list(entry.aliases)
        return self._resolve_reverse(str(ip_address(address.split("%", 1)[0])))

    # -- the standard library's API -------------------------------------------

    def getaddrinfo(
        self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[tuple[Any, Any, int, str, Any]]:
        """As :func:`socket.getaddrinfo`."""
        if (
            not isinstance(host, (str, bytes))
            or host in _SPECIAL_HOSTS
            or _is_numeric(host)
            or not isinstance(flags, int)
            or flags & AI_NUMERICHOST
        ):
            return _getaddrinfo(host, port, family, type, proto, flags)
        # The standard library's checks of everything but the host.
        _getaddrinfo("::1" if family == AF_INET6 else "127.0.0.1", port, family, type, proto, flags)
        if family not in (0, AF_INET, AF_INET6):
            raise gaierror(EAI_FAMILY, "ai_family not supported")
        try:
            answer = self._forward(host, family)
        except Failure as failure:
            raise failure.gaierror() from None
        result: list[tuple[Any, Any, int, str, Any]] = []
        numeric_flags = (flags & ~AI_CANONNAME) | AI_NUMERICHOST
        for address_family, address in answer.addresses:
            result += _getaddrinfo(address, port, address_family, type, proto, numeric_flags)
        if flags & AI_CANONNAME and result:
            first = result[0]
            result[0] = (first[0], first[1], first[2], answer.name, first[4])
        return result

    def gethostbyname(self, hostname: Any) -> str:
        """As :func:`socket.gethostbyname`."""
        if (
            not isinstance(hostname, (str, bytes))
            or hostname in _SPECIAL_HOSTS
            or _is_numeric(hostname)
        ):
            return _gethostbyname(hostname)
        try:
            return self._forward(hostname, AF_INET).addresses[0][1]
        except Failure as failure:
            raise failure.gaierror() from None

    def gethostbyname_ex(self, hostname: Any) -> tuple[str, list[str], list[str]]:
        """As :func:`socket.gethostbyname_ex`."""
        if (
            not isinstance(hostname, (str, bytes))
            or hostname in _SPECIAL_HOSTS
            or _is_numeric(hostname)
        ):
            return _gethostbyname_ex(hostname)
        try:
            answer = self._forward(hostname, AF_INET)
        except Failure as failure:
            raise failure.gaierror() from None
        return answer.name, answer.aliases, [address for _, address in answer.addresses]

    def gethostbyaddr(self, ip_address: Any) -> tuple[str, list[str], list[str]]:
        """As :func:`socket.gethostbyaddr`."""
        if not isinstance(ip_address, (str, bytes)):
            return _gethostbyaddr(ip_address)
        host = (
            ip_address.decode("ascii", "replace") if isinstance(ip_address, bytes) else ip_address
        )
        if host in ("", "<broadcast>"):
            address = "0.0.0.0" if not host else "255.255.255.255"
        elif _is_numeric(host):
            address = str(_ip(host))
        else:
            try:
                address = self._forward(host, 0).addresses[0][1]
            except Failure as failure:
                raise failure.gaierror() from None
        try:
            name, aliases = self._reverse(address)
        except Failure as failure:
            raise failure.herror() from None
        return name, aliases, [address]

    def getnameinfo(self, sockaddr: Any, flags: int) -> tuple[str, str]:
        """As :func:`socket.getnameinfo`."""
        if (
            not isinstance(flags, int)
            or flags & NI_NUMERICHOST
            or not isinstance(sockaddr, tuple)
            or not sockaddr
            or not isinstance(sockaddr[0], str)
            or not _is_numeric(sockaddr[0])
        ):
            # Numeric answers, and the standard library's errors (it looks
            # up no names: a host name is an error there).
            return _getnameinfo(sockaddr, flags)
        numeric_host, service = _getnameinfo(sockaddr, (flags & ~NI_NAMEREQD) | NI_NUMERICHOST)
        try:
            name = self._reverse(sockaddr[0])[0]
        except Failure:
            if flags & NI_NAMEREQD:
                raise gaierror(*_GAIERRORS[NXDOMAIN]) from None
            return numeric_host, service
        if flags & NI_NOFQDN:
            name = name.split(".", 1)[0]
        return name, service


def _ip(host: str) -> Any:
    """The address object of a numeric host (a scope id is dropped)."""
    return ip_address(host.split("%", 1)[0])
