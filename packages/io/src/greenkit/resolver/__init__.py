"""DNS resolvers: what ``greenkit.socket``'s lookup functions ask.

The hub creates one resolver (``Hub.resolver``, class named by
``greenkit.config.resolver``) and ``greenkit.socket.getaddrinfo`` & co
delegate to it.  Every resolver has the standard library's signatures
(``getaddrinfo``, ``gethostbyname``, ``gethostbyname_ex``,
``gethostbyaddr``, ``getnameinfo``) and ``close()``.

:class:`AbstractResolver` holds the behaviour they share: it runs the real
(unpatched) stdlib function through :meth:`AbstractResolver._run`, which
each resolver defines (in a thread pool, or directly), except for queries
that need no lookup at all -- numeric host addresses, ``None`` hosts,
numeric-only ``getnameinfo`` -- which are answered in the calling greenlet
by the same stdlib function, saving a trip to another thread while
returning exactly what the standard library returns (results and errors).

The stdlib functions are taken from ``greenkit._originals`` so that, once
monkey patching has replaced them in ``socket``, a resolver never calls
itself.

Implementations: :mod:`greenkit.resolver.thread` (the default) and
:mod:`greenkit.resolver.blocking`.
"""

from __future__ import annotations

# Decoding an IDNA host name imports this codec on first use; in a worker
# thread that import could wait for the import lock held by a greenlet of the
# main thread that is itself waiting for the lookup.  Import it up front.
import encodings.idna  # noqa: F401
from collections.abc import Callable
from socket import AF_INET, AF_INET6, NI_NUMERICHOST, NI_NUMERICSERV, inet_pton
from typing import Any, TypeVar

from greenkit._originals import get_original

__all__ = ["AbstractResolver"]

_NUMERIC_NAMEINFO = NI_NUMERICHOST | NI_NUMERICSERV


_T = TypeVar("_T")

#: One ``getaddrinfo`` result: family, type, proto, canonname, sockaddr.
_AddrInfo = tuple[Any, Any, int, str, Any]

_NAMES = ["getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo"]
# Captured once: before monkey patching they are the module's own, after it
# the registry holds them.  Declared with the standard library's result types
# (``get_original`` cannot know them).
_getaddrinfo: Callable[..., list[_AddrInfo]]
_gethostbyname: Callable[[str], str]
_gethostbyname_ex: Callable[[str], tuple[str, list[str], list[str]]]
_gethostbyaddr: Callable[[str], tuple[str, list[str], list[str]]]
_getnameinfo: Callable[[Any, int], tuple[str, str]]
(_getaddrinfo, _gethostbyname, _gethostbyname_ex, _gethostbyaddr, _getnameinfo) = get_original(
    "socket", _NAMES
)


def _is_numeric(host: Any, families: tuple[int, ...] = (AF_INET, AF_INET6)) -> bool:
    """Whether ``host`` (str or bytes) is a numeric address of one of ``families``."""
    if isinstance(host, bytes):
        try:
            host = host.decode("ascii")
        except UnicodeDecodeError:
            return False
    if not isinstance(host, str):
        return False
    if ":" not in host and not host[-1:].isdigit():
        # Neither IPv6 (which has a colon) nor dotted-quad IPv4 (which ends in
        # a digit): most host names, told apart without inet_pton's errors.
        return False
    for family in families:
        try:
            inet_pton(family, host)
        except OSError:
            continue
        return True
    return False


class AbstractResolver:
    """Base of the resolvers; subclasses define :meth:`_run`."""

    def _run(self, function: Callable[..., _T], *args: Any) -> _T:
        """Call the blocking stdlib ``function(*args)`` and return its result
        (or raise its exception), blocking at most the calling greenlet."""
        raise NotImplementedError

    def getaddrinfo(
        self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[_AddrInfo]:
        """As :func:`socket.getaddrinfo`."""
        if host is None or _is_numeric(host):
            return _getaddrinfo(host, port, family, type, proto, flags)
        return self._run(_getaddrinfo, host, port, family, type, proto, flags)

    def gethostbyname(self, hostname: str) -> str:
        """As :func:`socket.gethostbyname`."""
        if _is_numeric(hostname, (AF_INET,)):
            return _gethostbyname(hostname)
        return self._run(_gethostbyname, hostname)

    def gethostbyname_ex(self, hostname: str) -> tuple[str, list[str], list[str]]:
        """As :func:`socket.gethostbyname_ex`."""
        return self._run(_gethostbyname_ex, hostname)

    def gethostbyaddr(self, ip_address: str) -> tuple[str, list[str], list[str]]:
        """As :func:`socket.gethostbyaddr`."""
        return self._run(_gethostbyaddr, ip_address)

    def getnameinfo(self, sockaddr: Any, flags: int) -> tuple[str, str]:
        """As :func:`socket.getnameinfo`."""
        if (
            isinstance(flags, int)
            and flags & _NUMERIC_NAMEINFO == _NUMERIC_NAMEINFO
            and isinstance(sockaddr, tuple)
            and sockaddr
            and _is_numeric(sockaddr[0])
        ):
            return _getnameinfo(sockaddr, flags)
        return self._run(_getnameinfo, sockaddr, flags)

    def close(self) -> None:
        """Release the resolver's resources (the hub calls it when destroyed)."""
