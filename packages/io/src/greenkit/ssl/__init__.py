"""Cooperative TLS/SSL: the counterpart of the standard :mod:`ssl` module.

:class:`SSLContext` is the standard context class whose ``wrap_socket``
returns :class:`SSLSocket`, a subclass of :class:`greenkit.socket.socket`:
when OpenSSL needs the peer (``SSLWantReadError``/``SSLWantWriteError`` on
the non-blocking file descriptor), the calling greenlet waits for the fd
in the hub instead of blocking the thread.  The rest of the standard
module (constants, exceptions, :class:`SSLObject`, :class:`MemoryBIO`,
``wrap_bio``, certificate helpers) is re-exported unchanged: memory BIOs
never block.

Monkey patching copies ``__implements__`` into :mod:`ssl`, after which
``ssl.SSLContext``, ``ssl.create_default_context`` and everything built
on them (``urllib``, ``http.client``, ``requests``) are cooperative, and
``isinstance(x, ssl.SSLSocket)`` holds for the sockets they return.

Differences from the standard module, as in gevent: :class:`SSLSocket`
can be constructed directly (the constructor of Python 3.6), and a
socket's timeout bounds a whole ``read``/``write``/``do_handshake``/
``unwrap`` call, however many times it has to wait for the peer.
"""

from __future__ import annotations

import _socket
import _ssl
import errno as _errno
import ssl as _stdlib_ssl
import time as _time
import warnings as _warnings
from collections.abc import Callable
from typing import Any, Protocol, overload

from greenkit._io_wait import wait_on_watcher as _wait_on_watcher
from greenkit._stdlib_mirror import reexport
from greenkit.socket import _GLOBAL_DEFAULT_TIMEOUT
from greenkit.socket import create_connection as _create_connection
from greenkit.socket import socket as _greensocket

# Re-exported explicitly ("as"): ``__all__`` here is computed, which type
# checkers do not read.
from ._context import SSLContext as SSLContext
from ._context import _create_unverified_context as _create_unverified_context
from ._context import _legacy_context
from ._context import create_default_context as create_default_context

_CERT_NONE = _stdlib_ssl.CERT_NONE
_CERT_REQUIRED = _stdlib_ssl.CERT_REQUIRED
_SSLError = _stdlib_ssl.SSLError
_SSLWantReadError = _stdlib_ssl.SSLWantReadError
_SSLWantWriteError = _stdlib_ssl.SSLWantWriteError
_SSL_ERROR_EOF = _stdlib_ssl.SSL_ERROR_EOF
_PROTOCOL_TLS_CLIENT = _stdlib_ssl.PROTOCOL_TLS_CLIENT
_c_recv = _socket.socket.recv


class _SSLObjectInfo(Protocol):
    """What :class:`SSLSocket`'s connection-info methods ask of ``_sslobj`` (the
    C ``_ssl._SSLSocket``, for which typeshed has no class)."""

    def selected_alpn_protocol(self) -> str | None: ...
    def cipher(self) -> tuple[str, str, int] | None: ...
    def shared_ciphers(self) -> list[tuple[str, str, int]] | None: ...
    def compression(self) -> str | None: ...
    def version(self) -> str | None: ...
    def get_channel_binding(self, cb_type: str = ...) -> bytes | None: ...


#: The names monkey patching copies into :mod:`ssl`.
__implements__ = [
    "SSLContext",
    "SSLSocket",
    "wrap_socket",
    "get_server_certificate",
    "create_default_context",
    "_create_unverified_context",
    "_create_default_https_context",
    "_create_stdlib_context",
]
if not hasattr(_stdlib_ssl, "wrap_socket"):  # removed in Python 3.12
    __implements__.remove("wrap_socket")

#: Names of :mod:`ssl` that are also socket-module names: ours come from
#: :mod:`greenkit.socket`, never the blocking ones.
_NOT_IMPORTED = frozenset(
    {"socket", "create_connection", "SOCK_STREAM", "SOL_SOCKET", "SO_TYPE", "namedtuple"}
)

#: The names taken unchanged from :mod:`ssl`.
__imports__: list[str] = reexport(
    globals(), _stdlib_ssl, _NOT_IMPORTED | set(__implements__), modules=False
)

#: Our names that :mod:`ssl` does not have.
__extensions__: list[str] = []

__all__ = [name for name in __implements__ if not name.startswith("_")] + __imports__


# The socket module's timeout error (``TimeoutError``) with the messages
# ``_ssl`` uses for blocking sockets.
def _timeout(operation: str) -> TimeoutError:
    return TimeoutError(f"The {operation} operation timed out")


class SSLSocket(_greensocket):
    """A cooperative TLS socket: :class:`greenkit.socket.socket` carrying an SSL
    connection, with the methods and refusal rules of :class:`ssl.SSLSocket`.

    Instances normally come from :meth:`SSLContext.wrap_socket`; the
    constructor (Python 3.6's) builds a context from ``keyfile``, ``certfile``,
    ``cert_reqs``, ``ssl_version``, ``ca_certs`` and ``ciphers`` when no
    ``_context`` is given.  The socket's timeout (``settimeout``) bounds each
    whole operation; with a timeout of 0 the standard ``SSLWantReadError``/
    ``SSLWantWriteError`` reach the caller.
    """

    _sslobj: Any

    def __init__(
        self,
        sock: Any = None,
        keyfile: str | None = None,
        certfile: str | None = None,
        server_side: bool = False,
        cert_reqs: int = _CERT_NONE,
        ssl_version: int = _stdlib_ssl.PROTOCOL_TLS,
        ca_certs: str | None = None,
        do_handshake_on_connect: bool = True,
        family: int = _socket.AF_INET,
        type: int = _socket.SOCK_STREAM,
        proto: int = 0,
        fileno: int | None = None,
        suppress_ragged_eofs: bool = True,
        npn_protocols: Any = None,
        ciphers: str | None = None,
        server_hostname: str | bytes | None = None,
        _session: Any = None,
        _context: Any = None,
    ) -> None:
        context: Any
        if _context is None:
            context = _legacy_context(
                server_side,
                keyfile,
                certfile,
                cert_reqs,
                ssl_version,
                ca_certs,
                npn_protocols,
                ciphers,
            )
        else:
            context = _context
        if (
            sock is not None
            and sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_TYPE) != _socket.SOCK_STREAM
        ):
            raise NotImplementedError("only stream sockets are supported")
        if server_side:
            if server_hostname:
                raise ValueError("server_hostname can only be specified in client mode")
            if _session is not None:
                raise ValueError("session can only be specified in client mode")
        if context.check_hostname and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")

        if sock is not None:
            timeout = sock.gettimeout()
            _greensocket.__init__(self, sock.family, sock.type, sock.proto, sock.fileno())
            sock.detach()
        else:
            _greensocket.__init__(self, family, type, proto, fileno)
            timeout = self.gettimeout()

        self._context = context
        self._session = _session
        self._sslobj = None
        self.server_side = server_side
        self.server_hostname = context._encode_hostname(server_hostname)
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs

        try:
            self.getpeername()
        except OSError as ex:
            if ex.errno != _errno.ENOTCONN:
                self.close()
                raise
            connected = False
            self._refuse_pre_handshake_data()
        else:
            connected = True
        self.settimeout(timeout)
        self._connected = connected
        if connected:
            try:
                self._sslobj = self._wrap_sslobj(server_side)
                if do_handshake_on_connect:
                    if timeout == 0.0:
                        raise ValueError(
                            "do_handshake_on_connect should not be specified "
                            "for non-blocking sockets"
                        )
                    self.do_handshake()
            except BaseException:
                # Also on a kill or a Timeout in the handshake: the fd is ours now.
                self.close()
                raise

    @classmethod
    def _create(
        cls,
        sock: Any,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: Any = None,
        context: Any = None,
        session: Any = None,
    ) -> SSLSocket:
        """What :meth:`ssl.SSLContext.wrap_socket` calls on ``sslsocket_class``."""
        return cls(
            sock=sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname,
            _context=context,
            _session=session,
        )

    def _refuse_pre_handshake_data(self) -> None:
        """An unconnected socket with bytes already in its receive buffer (a peer
        that wrote and closed before we wrapped) must not hand them on as if
        they came through TLS: close and raise ``SSLError``, as the standard
        module does."""
        try:
            data = _c_recv(self, 1)  # the fd is non-blocking: never waits
        except OSError as ex:
            if ex.errno not in (_errno.ENOTCONN, _errno.EINVAL, _errno.EAGAIN):
                self.close()
                raise
            return
        if not data:
            return
        reason = "Closed before TLS handshake with data in recv buffer."
        error = _SSLError(_errno.ENOTCONN, reason)
        error.reason = reason
        error.library = None  # type: ignore[assignment]
        self.close()
        raise error

    # -- the TLS engine --------------------------------------------------------

    def _wrap_sslobj(self, server_side: bool) -> Any:
        # greenkit.socket.socket is a _socket.socket whose fd is always
        # non-blocking: _ssl drives it directly and reports SSLWant*Error.
        return self._context._wrap_socket(
            self, server_side, self.server_hostname, owner=self, session=self._session
        )

    def _ssl_io(
        self,
        operation: str,
        call: Callable[..., Any],
        *args: Any,
        block: bool = False,
        timeout: Any = _GLOBAL_DEFAULT_TIMEOUT,
    ) -> Any:
        """Run ``call(*args)`` until OpenSSL stops asking for the peer.

        Each ``SSLWantReadError``/``SSLWantWriteError`` parks the greenlet on
        the socket's own read or write watcher (so that :meth:`close` from
        another greenlet wakes it with ``cancel_wait_ex``) for what is left of
        the timeout (the socket's unless given); a timeout of 0 re-raises them
        instead, unless ``block``.
        """
        waiting = False
        deadline = None
        while True:
            try:
                return call(*args)
            except (_SSLWantReadError, _SSLWantWriteError) as ex:
                if not waiting:
                    # The first wait of this call: the deadline starts now
                    # (the fast path, data already there, never gets here).
                    waiting = True
                    if timeout is _GLOBAL_DEFAULT_TIMEOUT:
                        timeout = self.gettimeout()
                    if timeout == 0.0:
                        if not block:
                            raise
                        timeout = None
                    if timeout is not None:
                        deadline = _time.monotonic() + timeout
                want_read = isinstance(ex, _SSLWantReadError)
            watcher = self._read_event if want_read else self._write_event
            if deadline is None:
                _wait_on_watcher(watcher, None, None, self.hub)
                continue
            remaining = deadline - _time.monotonic()
            if remaining <= 0.0:
                raise _timeout(operation)
            _wait_on_watcher(watcher, remaining, _timeout(operation), self.hub)

    # -- properties ----------------------------------------------------------

    @property
    def context(self) -> Any:
        """The :class:`SSLContext` this socket is tied to."""
        return self._context

    @context.setter
    def context(self, ctx: Any) -> None:
        self._context = ctx
        self._sslobj.context = ctx

    @property
    def session(self) -> Any:
        """The :class:`ssl.SSLSession` of this connection (``None`` before it)."""
        if self._sslobj is not None:
            return self._sslobj.session
        return None

    @session.setter
    def session(self, session: Any) -> None:
        self._session = session
        if self._sslobj is not None:
            self._sslobj.session = session

    @property
    def session_reused(self) -> bool | None:
        """Whether the session was reused in the handshake."""
        if self._sslobj is not None:
            return bool(self._sslobj.session_reused)
        return None

    # -- TLS-level operations ------------------------------------------------

    def _checkClosed(self, msg: str | None = None) -> None:
        """Kept for code that calls it on ``ssl.SSLSocket``: checks nothing."""

    def _check_connected(self) -> None:
        if not self._connected:
            # Raises ENOTCONN unless a non-blocking connect() has completed.
            self.getpeername()

    def do_handshake(self, block: bool = False) -> None:
        """Perform the TLS handshake, waiting cooperatively for the peer.

        With a timeout of 0 this raises ``SSLWantReadError``/
        ``SSLWantWriteError`` as the standard module does, unless ``block``.
        """
        self._check_connected()
        self._ssl_io("handshake", self._sslobj.do_handshake, block=block)

    @overload
    def read(self, len: int = 1024, buffer: None = None) -> bytes: ...
    @overload
    def read(self, len: int, buffer: Any) -> int: ...

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        """Read up to ``len`` bytes (into ``buffer`` if given: then return the count).

        A peer that closes without a TLS shutdown reads as end of file when
        ``suppress_ragged_eofs`` is true.
        """
        sslobj = self._sslobj
        if sslobj is None:
            raise ValueError("Read on closed or unwrapped SSL socket.")
        try:
            if buffer is not None:
                return self._ssl_io("read", sslobj.read, len, buffer)
            return self._ssl_io("read", sslobj.read, len)
        except _SSLError as ex:
            if ex.args[0] == _SSL_ERROR_EOF and self.suppress_ragged_eofs:
                return 0 if buffer is not None else b""
            raise

    def write(self, data: Any) -> int:
        """Write ``data`` to the TLS channel; return the number of bytes written."""
        sslobj = self._sslobj
        if sslobj is None:
            raise ValueError("Write on closed or unwrapped SSL socket.")
        return int(self._ssl_io("write", sslobj.write, data))

    def getpeercert(self, binary_form: bool = False) -> Any:
        """The peer's certificate (a dict, or DER bytes with ``binary_form``)."""
        self._check_connected()
        return self._sslobj.getpeercert(binary_form)

    if hasattr(_stdlib_ssl.SSLSocket, "get_verified_chain"):  # Python 3.13+

        def get_verified_chain(self) -> list[bytes]:
            """The peer's verified certificate chain, DER-encoded (all of it
            when verification is off)."""
            chain = self._sslobj.get_verified_chain()
            return [] if chain is None else [cert.public_bytes(_ssl.ENCODING_DER) for cert in chain]

        def get_unverified_chain(self) -> list[bytes]:
            """The certificate chain the peer sent, DER-encoded."""
            chain = self._sslobj.get_unverified_chain()
            return [] if chain is None else [cert.public_bytes(_ssl.ENCODING_DER) for cert in chain]

    def selected_npn_protocol(self) -> None:
        """Deprecated NPN: always ``None``, with the standard ``DeprecationWarning``."""
        _warnings.warn("ssl NPN is deprecated, use ALPN instead", DeprecationWarning, stacklevel=2)

    def selected_alpn_protocol(self) -> str | None:
        """The protocol ALPN selected in the handshake, or ``None``."""
        sslobj: _SSLObjectInfo | None = self._sslobj
        if sslobj is None or not _ssl.HAS_ALPN:
            return None
        return sslobj.selected_alpn_protocol()

    def cipher(self) -> tuple[str, str, int] | None:
        """``(name, protocol, secret bits)`` of the negotiated cipher, or ``None``."""
        sslobj: _SSLObjectInfo | None = self._sslobj
        if sslobj is None:
            return None
        return sslobj.cipher()

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        """The ciphers both sides offered (server side), or ``None``."""
        sslobj: _SSLObjectInfo | None = self._sslobj
        if sslobj is None:
            return None
        return sslobj.shared_ciphers()

    def compression(self) -> str | None:
        """The compression algorithm in use, or ``None``."""
        sslobj: _SSLObjectInfo | None = self._sslobj
        if sslobj is None:
            return None
        return sslobj.compression()

    def version(self) -> str | None:
        """The negotiated protocol version (``'TLSv1.3'``...), or ``None``."""
        sslobj: _SSLObjectInfo | None = self._sslobj
        if sslobj is None:
            return None
        return sslobj.version()

    def pending(self) -> int:
        """Decrypted bytes already buffered: readable without waiting."""
        if self._sslobj is None:
            return 0
        return int(self._sslobj.pending())

    def get_channel_binding(self, cb_type: str = "tls-unique") -> bytes | None:
        """Channel binding data (RFC 5929) of the connection, or ``None``."""
        sslobj: _SSLObjectInfo | None = self._sslobj
        if sslobj is not None:
            return sslobj.get_channel_binding(cb_type)
        if cb_type not in _stdlib_ssl.CHANNEL_BINDING_TYPES:
            raise ValueError(f"{cb_type} channel binding type not implemented")
        return None

    def verify_client_post_handshake(self) -> None:
        """Ask a TLS 1.3 client for its certificate after the handshake."""
        if not self._sslobj:
            raise ValueError("No SSL wrapper around " + str(self))
        self._sslobj.verify_client_post_handshake()

    def unwrap(self) -> SSLSocket:
        """Perform the TLS shutdown handshake (cooperatively) and return this
        socket, which then carries plain data."""
        sslobj = self._sslobj
        if not sslobj:
            raise ValueError("No SSL wrapper around " + str(self))
        self._ssl_io("read", sslobj.shutdown)
        self._sslobj = None
        return self

    # -- the socket API over TLS ---------------------------------------------

    def send(self, data: Any, flags: int = 0, timeout: Any = _GLOBAL_DEFAULT_TIMEOUT) -> int:
        """Send some of ``data``; over TLS, all of it as one ``write``.  ``timeout``
        overrides the socket's own for this call (gevent's extension)."""
        sslobj = self._sslobj
        if sslobj is None:
            return int(super().send(data, flags, timeout))
        if flags != 0:
            raise ValueError(f"non-zero flags not allowed in calls to send() on {self.__class__}")
        if timeout is _GLOBAL_DEFAULT_TIMEOUT:
            return self.write(data)
        return int(self._ssl_io("write", sslobj.write, data, timeout=timeout))

    def sendall(self, data: Any, flags: int = 0) -> None:
        if self._sslobj is None:
            super().sendall(data, flags)
            return
        if flags != 0:
            raise ValueError(
                f"non-zero flags not allowed in calls to sendall() on {self.__class__}"
            )
        with memoryview(data) as view, view.cast("B") as byte_view:
            amount = len(byte_view)
            count = 0
            while count < amount:
                count += self.write(byte_view[count:])

    def sendto(self, data: Any, flags_or_addr: Any, addr: Any = None) -> int:
        if self._sslobj is not None:
            raise ValueError(f"sendto not allowed on instances of {self.__class__}")
        if addr is None:
            return int(super().sendto(data, flags_or_addr))
        return int(super().sendto(data, flags_or_addr, addr))

    def sendmsg(self, *args: Any, **kwargs: Any) -> int:
        # Never let data leave unencrypted through this path.
        raise NotImplementedError(f"sendmsg not allowed on instances of {self.__class__}")

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """Send a binary file's contents; over TLS, by reading it in blocks and
        :meth:`sendall`-ing them (``os.sendfile`` would bypass encryption)."""
        if self._sslobj is None:
            return int(super().sendfile(file, offset, count))
        if "b" not in getattr(file, "mode", "b"):
            raise ValueError("file should be opened in binary mode")
        if count is not None and (not isinstance(count, int) or count <= 0):
            raise ValueError(f"count must be a positive integer (got {count!r})")
        if self.gettimeout() == 0.0:
            raise ValueError("non-blocking sockets are not supported")
        if offset:
            file.seek(offset)
        total = 0
        try:
            while count is None or total < count:
                size = 65536 if count is None else min(65536, count - total)
                data = file.read(size)
                if not data:
                    break
                self.sendall(data)
                total += len(data)
            return total
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset + total)

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        if self._sslobj is not None:
            if flags != 0:
                raise ValueError(
                    f"non-zero flags not allowed in calls to recv() on {self.__class__}"
                )
            return self.read(buflen)
        return super().recv(buflen, flags)

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        if nbytes is None:
            if buffer is not None:
                with memoryview(buffer) as view:
                    nbytes = view.nbytes
                if not nbytes:
                    nbytes = 1024
            else:
                nbytes = 1024
        if self._sslobj is not None:
            if flags != 0:
                raise ValueError(
                    f"non-zero flags not allowed in calls to recv_into() on {self.__class__}"
                )
            return int(self.read(nbytes, buffer))
        return int(super().recv_into(buffer, nbytes, flags))

    def recvfrom(self, buflen: int = 1024, flags: int = 0) -> Any:
        if self._sslobj is not None:
            raise ValueError(f"recvfrom not allowed on instances of {self.__class__}")
        return super().recvfrom(buflen, flags)

    def recvfrom_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> Any:
        if self._sslobj is not None:
            raise ValueError(f"recvfrom_into not allowed on instances of {self.__class__}")
        return super().recvfrom_into(buffer, nbytes or 0, flags)

    def recvmsg(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"recvmsg not allowed on instances of {self.__class__}")

    def recvmsg_into(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"recvmsg_into not allowed on instances of {self.__class__}")

    def dup(self) -> Any:
        raise NotImplementedError(f"Can't dup() {self.__class__.__name__} instances")

    def shutdown(self, how: int) -> None:
        """Shut the socket down (no TLS shutdown: see :meth:`unwrap`); the TLS
        layer is dropped."""
        self._sslobj = None
        super().shutdown(how)

    def _real_close(self, *args: Any, **kwargs: Any) -> None:
        self._sslobj = None
        super()._real_close(*args, **kwargs)

    def _real_connect(self, addr: Any, connect_ex: bool) -> int | None:
        if self.server_side:
            raise ValueError("can't connect in server-side mode")
        if self._connected or self._sslobj is not None:
            raise ValueError("attempt to connect already-connected SSLSocket!")
        self._sslobj = self._wrap_sslobj(False)
        try:
            if connect_ex:
                rc = super().connect_ex(addr)
            else:
                rc = None
                super().connect(addr)
            if not rc:
                self._connected = True
                if self.do_handshake_on_connect:
                    self.do_handshake()
            return rc
        except BaseException:
            self._sslobj = None
            raise

    def connect(self, addr: Any) -> None:
        """Connect to ``addr`` and (with ``do_handshake_on_connect``) handshake."""
        self._real_connect(addr, False)

    def connect_ex(self, addr: Any) -> int:
        """Like :meth:`connect`, returning an errno instead of raising it."""
        return int(self._real_connect(addr, True) or 0)

    def accept(self) -> tuple[SSLSocket, Any]:
        """Accept a connection and wrap it as a server-side :class:`SSLSocket`
        (handshaking now if ``do_handshake_on_connect``)."""
        newsock, addr = super().accept()
        wrapped = self.context.wrap_socket(
            newsock,
            do_handshake_on_connect=self.do_handshake_on_connect,
            suppress_ragged_eofs=self.suppress_ragged_eofs,
            server_side=True,
        )
        return wrapped, addr


SSLContext.sslsocket_class = SSLSocket  # type: ignore[assignment]


def wrap_socket(
    sock: Any,
    keyfile: str | None = None,
    certfile: str | None = None,
    server_side: bool = False,
    cert_reqs: int = _CERT_NONE,
    ssl_version: int = _stdlib_ssl.PROTOCOL_TLS,
    ca_certs: str | None = None,
    do_handshake_on_connect: bool = True,
    suppress_ragged_eofs: bool = True,
    ciphers: str | None = None,
) -> SSLSocket:
    """Wrap ``sock`` in a cooperative :class:`SSLSocket` with a context built
    from the arguments (the module function of Python <= 3.11; prefer
    :meth:`SSLContext.wrap_socket`)."""
    context = _legacy_context(
        server_side, keyfile, certfile, cert_reqs, ssl_version, ca_certs, None, ciphers
    )
    return context.wrap_socket(
        sock,
        server_side=server_side,  # type: ignore[return-value]
        do_handshake_on_connect=do_handshake_on_connect,
        suppress_ragged_eofs=suppress_ragged_eofs,
    )


if "wrap_socket" not in __implements__:
    del wrap_socket


#: What ``http.client`` calls when given no context.
_create_default_https_context = create_default_context
#: The standard library's older name of :func:`_create_unverified_context`.
_create_stdlib_context = _create_unverified_context


def get_server_certificate(
    addr: tuple[str, int],
    ssl_version: int = _PROTOCOL_TLS_CLIENT,
    ca_certs: str | None = None,
    timeout: Any = _GLOBAL_DEFAULT_TIMEOUT,
) -> str:
    """Fetch the certificate of the server at ``addr`` (cooperatively) and
    return it PEM-encoded; verify it against ``ca_certs`` if given."""
    host, _port = addr
    cert_reqs = _CERT_REQUIRED if ca_certs is not None else _CERT_NONE
    context = _create_stdlib_context(ssl_version, cert_reqs=cert_reqs, cafile=ca_certs)
    with _create_connection(addr, timeout=timeout) as sock:
        with context.wrap_socket(sock, server_hostname=host) as sslsock:
            dercert: Any = sslsock.getpeercert(True)
    return _stdlib_ssl.DER_cert_to_PEM_cert(dercert)
