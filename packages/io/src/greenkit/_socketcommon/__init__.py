"""Name resolution shared by :mod:`greenkit.socket` and the modules built on it.

gevent keeps these pieces in a private ``gevent._socketcommon`` module; this
is greenkit's counterpart, under the same private name so that code written
against gevent's internals (its own tests among them) finds them:

* ``__socket__`` -- the standard library's ``socket`` module;
* the resolver functions (``getaddrinfo``, ``gethostbyname``,
  ``gethostbyname_ex``, ``gethostbyaddr``, ``getnameinfo``, ``getfqdn``):
  each asks ``get_hub().resolver``, so a lookup parks only the calling
  greenlet (the default thread resolver runs the real lookup in the hub's
  thread pool);
* ``_resolve_addr(sock, address)``: turns a ``(host, port, ...)`` address
  whose host is a name into a numeric one through the resolver, before the
  socket hands it to the kernel -- otherwise ``connect`` would resolve the
  name itself, blocking every greenlet of the thread.

:mod:`greenkit.socket` re-exports the public names; their ``__module__``
says so.
"""

from __future__ import annotations

import socket as __socket__  # noqa: F401  (part of this module's interface)
from socket import AF_INET, AF_INET6, gethostname, inet_pton
from typing import TYPE_CHECKING, Any

from greenkit.hub import get_hub

if TYPE_CHECKING:
    from greenkit.resolver import AbstractResolver, _AddrInfo

__all__: list[str] = []  # private module: greenkit.socket exports these names

#: Hosts the C socket module maps to an address without any lookup.
_SPECIAL_HOSTS = frozenset(["", "<broadcast>", b"", b"<broadcast>"])


def getaddrinfo(
    host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> list[_AddrInfo]:
    """Resolve ``host``/``port`` into a list of
    ``(family, type, proto, canonname, sockaddr)`` tuples, as
    :func:`socket.getaddrinfo` does, through the hub's resolver."""
    # Annotated (zero cost): whatever class ``config.resolver`` names has
    # AbstractResolver's signatures.
    resolver: AbstractResolver = get_hub().resolver
    return resolver.getaddrinfo(host, port, family, type, proto, flags)


def gethostbyname(hostname: str) -> str:
    """The IPv4 address of ``hostname`` (see :func:`socket.gethostbyname`)."""
    resolver: AbstractResolver = get_hub().resolver
    return resolver.gethostbyname(hostname)


def gethostbyname_ex(hostname: str) -> tuple[str, list[str], list[str]]:
    """``(hostname, aliaslist, ipaddrlist)`` for ``hostname``
    (see :func:`socket.gethostbyname_ex`)."""
    resolver: AbstractResolver = get_hub().resolver
    return resolver.gethostbyname_ex(hostname)


def gethostbyaddr(ip_address: str) -> tuple[str, list[str], list[str]]:
    """``(hostname, aliaslist, ipaddrlist)`` for an address or a name
    (see :func:`socket.gethostbyaddr`)."""
    resolver: AbstractResolver = get_hub().resolver
    return resolver.gethostbyaddr(ip_address)


def getnameinfo(sockaddr: Any, flags: int) -> tuple[str, str]:
    """``(host, port)`` names for a socket address (see :func:`socket.getnameinfo`)."""
    resolver: AbstractResolver = get_hub().resolver
    return resolver.getnameinfo(sockaddr, flags)


def getfqdn(name: str = "") -> str:
    """A fully qualified domain name for ``name`` (default: this host).

    As :func:`socket.getfqdn`: the first of the host name and its aliases
    (from :func:`gethostbyaddr`) that contains a dot, else the host name;
    ``name`` itself if the lookup fails.
    """
    name = name.strip()
    if not name or name in ("0.0.0.0", "::"):
        name = gethostname()
    try:
        hostname, aliases, _ = gethostbyaddr(name)
    except OSError:
        return name
    for candidate in [hostname, *aliases]:
        if "." in candidate:
            return candidate
    return hostname


for _function in (
    getaddrinfo,
    gethostbyname,
    gethostbyname_ex,
    gethostbyaddr,
    getnameinfo,
    getfqdn,
):
    _function.__module__ = "greenkit.socket"
del _function


def _is_numeric_host(host: Any, family: int) -> bool:
    """Whether the C socket module can use ``host`` without a name lookup."""
    if host in _SPECIAL_HOSTS:
        return True
    if isinstance(host, bytes):
        try:
            host = host.decode("ascii")
        except UnicodeDecodeError:
            return False
    try:
        inet_pton(family, host)
    except (OSError, ValueError):
        return False
    return True


def _resolve_addr(sock: Any, address: Any) -> Any:
    """``address`` with its host name replaced by a numeric address for
    ``sock.family``, looked up cooperatively; anything that needs no lookup
    (numeric hosts, other families, malformed addresses the kernel call will
    reject) is returned unchanged."""
    family = sock.family
    if family != AF_INET and family != AF_INET6:
        return address
    if not isinstance(address, tuple) or len(address) < 2:
        return address
    host, port = address[0], address[1]
    if not isinstance(host, (str, bytes)) or _is_numeric_host(host, family):
        return address
    if type(port) is not int or not 0 <= port <= 0xFFFF:
        return address  # the kernel call raises what the standard library raises
    infos = getaddrinfo(host, port, family)
    if not infos:
        raise OSError(f"getaddrinfo returned no address for {host!r}")
    sockaddr = infos[0][4]
    if family == AF_INET6 and len(address) > 2:
        # Keep the caller's flowinfo and scope id.
        return sockaddr[:2] + address[2:]
    return sockaddr
