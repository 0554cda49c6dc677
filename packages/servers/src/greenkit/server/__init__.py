"""TCP and UDP servers (gevent's ``gevent.server``).

:class:`StreamServer` accepts TCP (or any stream socket's) connections and
calls ``handle(socket, address)`` for each one with a cooperative
:mod:`greenkit.socket` socket; given SSL keyword arguments (``keyfile``,
``certfile``, ``ssl_context``, ...) it wraps each connection with
:mod:`greenkit.ssl` first, inside the handler's greenlet.
:class:`DatagramServer` reads UDP datagrams and calls
``handle(data, address)`` for each one.

Both are :class:`~greenkit.baseserver.BaseServer` subclasses: see there for
``spawn``, pools, back-off and the life cycle.

``StreamServer(..., proxy_protocol=True)`` expects HAProxy's PROXY protocol
header (v1 or v2; ``'v1'`` or ``'v2'`` for one of them) at the start of every
connection, and calls ``handle`` with the client address it names; a
connection without a valid header within ``proxy_protocol_timeout`` seconds
is closed (see :mod:`greenkit.server._proxy_protocol`).  Off by default.
"""

from __future__ import annotations

import _socket
import os
import sys
from collections.abc import Callable
from typing import Any

from greenkit import socket as _gsocket
from greenkit.baseserver import BaseServer
from greenkit.lock import Semaphore
from greenkit.server._proxy_protocol import ProxyProtocolError, read_proxy_header

__all__ = ["DatagramServer", "StreamServer"]

#: Whether listeners made from an address set SO_REUSEADDR (not on Windows,
#: where it lets another process steal the port).
DEFAULT_REUSE_ADDR: int | None = None if sys.platform == "win32" else 1


def _set_reuse_addr(sock: Any, reuse_addr: Any) -> None:
    if reuse_addr is not None:
        sock.setsockopt(
            _socket.SOL_SOCKET,
            _socket.SO_REUSEADDR,
            sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR) | reuse_addr,
        )


def _tcp_listener(
    address: Any, backlog: int = 50, reuse_addr: Any = None, family: int = _socket.AF_INET
) -> Any:
    """A new cooperative TCP socket bound to ``address`` and listening."""
    sock = _gsocket.socket(family=family)
    try:
        _set_reuse_addr(sock, reuse_addr)
        sock.bind(address)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def _udp_socket(
    address: Any, backlog: int = 50, reuse_addr: Any = None, family: int = _socket.AF_INET
) -> Any:
    """A new cooperative UDP socket bound to ``address`` (``backlog`` is unused)."""
    sock = _gsocket.socket(family=family, type=_socket.SOCK_DGRAM)
    try:
        _set_reuse_addr(sock, reuse_addr)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _raw_socket(sock: Any) -> Any:
    """The ``_socket.socket`` under ``sock``, for non-blocking calls from the hub."""
    if isinstance(sock, _socket.socket):
        return sock
    return sock._sock


# The C-level calls, never a cooperative override: the hub must not wait.
_c_accept: Callable[[Any], tuple[int, Any]] = getattr(_socket.socket, "_accept")  # noqa: B009
_c_recvfrom: Callable[[Any, int], tuple[bytes, Any]] = _socket.socket.recvfrom


#: Keyword arguments passed on to ``SSLContext.wrap_socket`` for each client.
_WRAP_ARGS = frozenset(("server_side", "do_handshake_on_connect", "suppress_ragged_eofs"))


def _server_context(ssl_args: dict[str, Any]) -> Any:
    """A :mod:`greenkit.ssl` server context from the old-style ``wrap_socket``
    arguments (``keyfile``, ``certfile``, ``cert_reqs``, ``ssl_version``,
    ``ca_certs``, ``ciphers``), which are removed from ``ssl_args``."""
    from ssl import PROTOCOL_TLS_SERVER

    from greenkit import ssl

    version = ssl_args.pop("ssl_version", None)
    context = ssl.SSLContext(PROTOCOL_TLS_SERVER if version is None else version)
    certfile = ssl_args.pop("certfile", None)
    keyfile = ssl_args.pop("keyfile", None)
    if certfile is not None or keyfile is not None:
        context.load_cert_chain(certfile or keyfile, keyfile)
    cert_reqs = ssl_args.pop("cert_reqs", None)
    if cert_reqs is not None:
        context.verify_mode = cert_reqs
    ca_certs = ssl_args.pop("ca_certs", None)
    if ca_certs is not None:
        context.load_verify_locations(ca_certs)
    ciphers = ssl_args.pop("ciphers", None)
    if ciphers is not None:
        context.set_ciphers(ciphers)
    return context


def _proxy_versions(proxy_protocol: bool | str) -> tuple[int, ...]:
    """The PROXY protocol versions of a ``proxy_protocol`` argument."""
    if proxy_protocol is False or proxy_protocol is None:
        return ()
    if proxy_protocol is True:
        return (1, 2)
    if proxy_protocol in ("v1", "v2"):
        return (int(proxy_protocol[1]),)
    raise ValueError(f"proxy_protocol must be False, True, 'v1' or 'v2': {proxy_protocol!r}")


class StreamServer(BaseServer):
    """A generic TCP server: ``handle(socket, address)`` for each connection.

    ``backlog`` is only allowed with an address (a given socket is already
    listening).  Keyword arguments are SSL settings: ``ssl_context`` (an
    ``SSLContext`` whose ``wrap_socket`` is used), or the old ``wrap_socket``
    arguments ``keyfile``, ``certfile``, ``cert_reqs``, ``ssl_version``,
    ``ca_certs`` and ``ciphers`` (a :mod:`greenkit.ssl` server context is
    made from them, on every Python version); ``do_handshake_on_connect``
    and ``suppress_ragged_eofs`` are passed to ``wrap_socket``.  Anything
    else is a TypeError.

    ``proxy_protocol`` (False by default): True, ``'v1'`` or ``'v2'`` makes
    every connection start with a PROXY protocol header (either version,
    or only that one), read before any SSL handshake; ``handle`` gets the
    address it names.  A connection whose header is missing, malformed or
    not complete within ``proxy_protocol_timeout`` seconds is closed.
    """

    #: Listen backlog for listeners made from an address.
    backlog = 256
    reuse_addr = DEFAULT_REUSE_ADDR

    ssl_args: dict[str, Any] | None = None
    #: ``wrap_socket(sock, **ssl_args)`` of the SSL implementation in use
    #: (``greenkit.ssl.wrap_socket``, or the given ``ssl_context``'s).
    wrap_socket: Any = None
    #: The PROXY protocol versions every connection must start with (none: off).
    proxy_protocol_versions: tuple[int, ...] = ()
    #: Seconds a client has to send its whole PROXY protocol header.
    proxy_protocol_timeout = 10.0

    def __init__(
        self,
        listener: Any,
        handle: Callable[..., Any] | None = None,
        backlog: int | None = None,
        spawn: Any = "default",
        proxy_protocol: bool | str = False,
        proxy_protocol_timeout: float | None = None,
        **ssl_args: Any,
    ) -> None:
        BaseServer.__init__(self, listener, handle=handle, spawn=spawn)
        try:
            self.proxy_protocol_versions = _proxy_versions(proxy_protocol)
            if proxy_protocol_timeout is not None:
                self.proxy_protocol_timeout = proxy_protocol_timeout
            if ssl_args:
                context = ssl_args.pop("ssl_context", None)
                if context is None:
                    context = _server_context(ssl_args)
                unknown = set(ssl_args) - _WRAP_ARGS
                if unknown:
                    raise TypeError(f"unexpected SSL arguments: {sorted(unknown)}")
                ssl_args.setdefault("server_side", True)
                self.wrap_socket = context.wrap_socket
                self.ssl_args = ssl_args
            self._chain_handle()
            if backlog is not None:
                if "socket" in self.__dict__:
                    raise TypeError("backlog must be None when a socket instance is passed")
                self.backlog = backlog
        except BaseException:
            self.close()
            raise

    @property
    def ssl_enabled(self) -> bool:
        """Whether connections are wrapped with SSL."""
        return self.ssl_args is not None

    def set_handle(self, handle: Callable[..., Any] | None) -> None:
        BaseServer.set_handle(self, handle)
        self._chain_handle()

    def _chain_handle(self) -> None:
        """Put the PROXY header and the SSL handshake before ``handle``."""
        if self.proxy_protocol_versions:
            self._handle = self.read_proxy_header_and_handle
        elif self.ssl_args is not None:
            self._handle = self.wrap_socket_and_handle

    @classmethod
    def get_listener(
        cls, address: Any, backlog: int | None = None, family: int | None = None
    ) -> Any:
        """A listening socket for ``address`` as this class makes them."""
        if backlog is None:
            backlog = cls.backlog
        return _tcp_listener(
            address,
            backlog=backlog,
            reuse_addr=cls.reuse_addr,
            family=_socket.AF_INET if family is None else family,
        )

    def init_socket(self) -> None:
        if "socket" not in self.__dict__:
            self.socket = self.get_listener(self.address, self.backlog, self.family)
            self.address = self.socket.getsockname()

    def do_read(self) -> tuple[Any, Any] | None:
        sock = self.socket
        try:
            fd, address = _c_accept(_raw_socket(sock))
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return None  # nothing (left) to take: a client that gave up is no error
        try:
            client = _gsocket.socket(sock.family, sock.type, sock.proto, fileno=fd)
        except BaseException:
            os.close(fd)
            raise
        return client, address

    def do_close(self, sock: Any, *args: Any) -> None:
        sock.close()

    def read_proxy_header_and_handle(self, client_socket: Any, address: Any) -> Any:
        """Read the PROXY protocol header, then go on (SSL, ``handle``) with
        the client address it names; close the connection if it is bad."""
        timeout = client_socket.gettimeout()
        try:
            client_socket.settimeout(self.proxy_protocol_timeout)
            real_address = read_proxy_header(client_socket, self.proxy_protocol_versions)
            client_socket.settimeout(timeout)
        except (ProxyProtocolError, OSError):
            client_socket.close()
            return None
        if real_address is not None:
            address = real_address
        if self.ssl_args is not None:
            return self.wrap_socket_and_handle(client_socket, address)
        return self.handle(client_socket, address)

    def wrap_socket_and_handle(self, client_socket: Any, address: Any) -> Any:
        """Wrap ``client_socket`` with SSL, then call ``handle``."""
        ssl_socket = self.wrap_socket(client_socket, **(self.ssl_args or {}))
        return self.handle(ssl_socket, address)


class DatagramServer(BaseServer):
    """A UDP server: ``handle(data, address)`` for each datagram; reply with
    :meth:`sendto`."""

    reuse_addr = DEFAULT_REUSE_ADDR
    #: Largest datagram read.
    max_datagram_size = 8192

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        BaseServer.__init__(self, *args, **kwargs)
        self._writelock = Semaphore(1)

    @classmethod
    def get_listener(cls, address: Any, family: int | None = None) -> Any:
        """A bound UDP socket for ``address`` as this class makes them."""
        return _udp_socket(
            address, reuse_addr=cls.reuse_addr, family=_socket.AF_INET if family is None else family
        )

    def init_socket(self) -> None:
        if "socket" not in self.__dict__:
            self.socket = self.get_listener(self.address, self.family)
            self.address = self.socket.getsockname()

    def do_read(self) -> tuple[bytes, Any] | None:
        try:
            data, address = _c_recvfrom(_raw_socket(self.socket), self.max_datagram_size)
        except (BlockingIOError, InterruptedError):
            return None
        return data, address

    def sendto(self, *args: Any) -> int:
        """Send a datagram from the server's socket (one sender at a time)."""
        with self._writelock:
            result: int = self.socket.sendto(*args)
            return result
