"""The cooperative counterpart of the standard ``socket`` module.

:class:`socket` behaves like :class:`socket.socket` but blocks only the
calling greenlet: its file descriptor is always in non-blocking mode, and
the Python-level timeout (``settimeout``/``gettimeout``/``setblocking``,
:func:`socket.getdefaulttimeout` for new sockets) is emulated by parking the
greenlet in the hub (``greenkit._io_wait``) whenever the kernel says
``EAGAIN``.  Every operation first tries the system call, so data that is
already there costs no switch.

Design choice: :class:`socket` *subclasses* the standard library's
:class:`socket.socket` (with ``__slots__``, so it still has no ``__dict__``)
rather than wrapping a ``_socket.socket``.  Everything that never blocks
(``bind``, ``listen``, ``getsockopt``, ``family``/``type``, ``__repr__``,
``makefile`` and its reference counting, ``dup``) is inherited unchanged,
``isinstance(sock, socket.socket)`` holds even without monkey patching, and
the hot paths call the C methods directly.  Only the calls that can block
are overridden.  Each socket owns one read and one write io watcher
(``_read_event``/``_write_event``, as in gevent); closing the socket first
cancels any greenlet waiting on them, which then raises
:data:`cancel_wait_ex` (``EBADF``) -- libev must never watch a closed fd.

Name lookups (``getaddrinfo`` & co, and the host names given to
``connect``/``sendto``/``create_connection``) go through
``get_hub().resolver``.  Monkey patching copies ``__implements__`` into the
standard ``socket`` module (``__dns__`` are the resolver functions, which
``patch_socket(dns=False)`` leaves alone); ``__extensions__`` are greenkit's
additions; ``__imports__`` are the standard module's other names,
re-exported unchanged.
"""

from __future__ import annotations

import _socket
import io as _io
import os as _os
import socket as __socket__
from collections.abc import Callable
from errno import EAGAIN, EALREADY, EINPROGRESS, EINTR, EWOULDBLOCK
from errno import EBADF as EBADF  # gevent.socket has it: the errno of cancel_wait_ex
from operator import index as _index
from time import monotonic as _monotonic
from typing import TYPE_CHECKING, Any, TypeVar

from greenkit._io_wait import cancel_wait as cancel_wait
from greenkit._io_wait import cancel_wait_at_once, close_fd, wait_on_watcher
from greenkit._io_wait import cancel_wait_ex as cancel_wait_ex
from greenkit._io_wait import wait as wait
from greenkit._io_wait import wait_read as wait_read
from greenkit._io_wait import wait_readwrite as wait_readwrite
from greenkit._io_wait import wait_write as wait_write
from greenkit._originals import get_original
from greenkit._socketcommon import _resolve_addr
from greenkit._socketcommon import getaddrinfo as getaddrinfo
from greenkit._socketcommon import getfqdn as getfqdn
from greenkit._socketcommon import gethostbyaddr as gethostbyaddr
from greenkit._socketcommon import gethostbyname as gethostbyname
from greenkit._socketcommon import gethostbyname_ex as gethostbyname_ex
from greenkit._socketcommon import getnameinfo as getnameinfo
from greenkit.hub import get_hub

if TYPE_CHECKING:
    from greenkit.hub import Hub

    # The names re-exported from the standard module (``__imports__``) are
    # set through globals(): let type checkers see them (as Any).
    def __getattr__(name: str) -> Any: ...


__dns__ = (
    "getaddrinfo",
    "gethostbyname",
    "gethostbyname_ex",
    "gethostbyaddr",
    "getnameinfo",
    "getfqdn",
)

__implements__ = [
    "socket",
    "SocketType",
    "create_connection",
    "create_server",
    "socketpair",
    "fromfd",
    *__dns__,
]

__extensions__ = [
    "cancel_wait",
    "cancel_wait_ex",
    "wait",
    "wait_read",
    "wait_readwrite",
    "wait_write",
]

__imports__ = [name for name in __socket__.__all__ if name not in __implements__]

# Re-export the rest of the standard module (constants, error, timeout,
# gaierror, herror, has_ipv6, inet_*, ...).
globals().update({name: getattr(__socket__, name) for name in __imports__})

__all__ = __implements__ + __extensions__ + __imports__

# The originals, whatever monkey patching does to the standard module later.
if TYPE_CHECKING:

    class _std_socket(__socket__.socket):
        """The standard class, with the private methods typeshed leaves out."""

        def _accept(self) -> tuple[int, Any]: ...
        def _sendfile_use_send(
            self, file: Any, offset: int = 0, count: int | None = None
        ) -> int: ...
else:
    _std_socket = get_original("socket", "socket")
_std_create_server = get_original("socket", "create_server")
# Private, so not in typeshed's ``socket``: read from the module's namespace.
_GLOBAL_DEFAULT_TIMEOUT: Any = vars(__socket__)["_GLOBAL_DEFAULT_TIMEOUT"]
_error = __socket__.error
_timeout = __socket__.timeout
_AF_INET = __socket__.AF_INET
_SOCK_STREAM = __socket__.SOCK_STREAM
_SOL_SOCKET = __socket__.SOL_SOCKET
_SO_ERROR = __socket__.SO_ERROR
_MSG_DONTWAIT = int(getattr(__socket__, "MSG_DONTWAIT", 0))  # int: enum & is slow

#: What a retried socket call returns.
_R = TypeVar("_R")

# The C methods the hot paths call directly.
_c = _socket.socket
_c_recv = _c.recv
_c_recv_into = _c.recv_into
_c_recvfrom = _c.recvfrom
_c_recvfrom_into = _c.recvfrom_into
_c_send = _c.send
_c_sendto = _c.sendto
_c_connect_ex = _c.connect_ex
_c_setblocking = _c.setblocking
_c_gettimeout = _c.gettimeout
_c_getsockopt = _c.getsockopt

# connect() results that mean "in progress" (EINTR too: the kernel goes on
# connecting) or, for EAGAIN, "try again once writable".
_CONNECT_PENDING = frozenset([EINPROGRESS, EALREADY, EINTR, EWOULDBLOCK, EAGAIN])


def _no_wait(timeout: float | None, flags: int) -> bool:
    """After EAGAIN: raise it rather than wait?  In non-blocking mode, and --
    as the standard library's blocking sockets do -- for ``MSG_DONTWAIT``."""
    return timeout == 0.0 or (timeout is None and bool(flags & _MSG_DONTWAIT))


def _flags_at(args: tuple[Any, ...], index: int, length: int = 0) -> int:
    """The ``flags`` argument among positional ``args`` (0 if absent); with
    ``length``, only when exactly that many arguments were given."""
    if len(args) <= index or (length and len(args) != length):
        return 0
    flags: int = args[index]
    return flags


#: The largest timeout the standard library accepts (nanoseconds in an int64).
_MAX_TIMEOUT = (2**63 - 1) / 1e9


def _parse_timeout(value: Any) -> float | None:
    """Validate a timeout as ``socket.settimeout`` does (same errors)."""
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:
            raise ValueError("Invalid value NaN (not a number)")
        too_large = "timestamp out of range for platform time_t"
    else:
        value = _index(value)
        too_large = "timestamp too large to convert to C _PyTime_t"
    if value < 0:
        raise ValueError("Timeout value out of range")
    if value > _MAX_TIMEOUT:
        raise OverflowError(too_large)
    return float(value)


class socket(_std_socket):
    """A cooperative :class:`socket.socket` (see the module docstring).

    Same constructor; the new socket's timeout is
    :func:`socket.getdefaulttimeout`.  ``send`` also accepts a ``timeout``
    keyword (gevent's extension); ``ref`` says whether a greenlet waiting
    on this socket keeps the hub's loop running.
    """

    __slots__ = ("hub", "_timeout", "_read_event", "_write_event")

    hub: Hub
    _timeout: float | None
    _read_event: Any
    _write_event: Any

    def __init__(
        self, family: int = -1, type: int = -1, proto: int = -1, fileno: Any = None
    ) -> None:
        super().__init__(family, type, proto, fileno)
        self._timeout = _socket.getdefaulttimeout()
        if _c_gettimeout(self) != 0.0:
            _c_setblocking(self, False)
        hub = self.hub = get_hub()
        assert hub.loop is not None, "a socket in a destroyed hub"
        fd = self.fileno()
        io = hub.loop.io
        self._read_event = io(fd, 1)
        self._write_event = io(fd, 2)

    # -- timeouts ------------------------------------------------------------

    @property
    def timeout(self) -> float | None:
        """The timeout in seconds (None: blocking), as :meth:`gettimeout`."""
        return self._timeout

    def settimeout(self, value: float | None) -> None:
        """Set the timeout of blocking operations (None: none; 0: non-blocking)."""
        self._timeout = _parse_timeout(value)

    def gettimeout(self) -> float | None:
        """The timeout in seconds, or None for a blocking socket."""
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        """``setblocking(True)`` is ``settimeout(None)``; ``False`` is ``settimeout(0.0)``."""
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        """False only in non-blocking mode (timeout 0.0)."""
        return self._timeout != 0.0

    @property
    def ref(self) -> bool:
        """Whether a greenlet waiting on this socket keeps the loop running."""
        return bool(self._read_event.ref)

    @ref.setter
    def ref(self, value: bool) -> None:
        self._read_event.ref = value
        self._write_event.ref = value

    @property
    def _sock(self) -> socket:
        """The socket itself: gevent-compatible name for "the underlying socket"."""
        return self

    def _wait(self, watcher: Any, timeout: float | None = None) -> None:
        wait_on_watcher(watcher, timeout, hub=self.hub)

    def _wait_until(self, watcher: Any, deadline: float | None) -> None:
        """Wait on ``watcher`` until the monotonic ``deadline`` (None: for ever);
        raise ``socket.timeout`` once it has passed."""
        if deadline is None:
            self._wait(watcher)
            return
        remaining = deadline - _monotonic()
        if remaining <= 0:
            raise _timeout("timed out")
        self._wait(watcher, remaining)

    def _retry(self, call: Callable[..., _R], watcher: Any, flags: int, *args: Any) -> _R:
        """``call(self, *args)``, waiting on ``watcher`` while it would block.
        (recv, recv_into, send and sendall inline this: they are the hot paths.)"""
        while True:
            try:
                return call(self, *args)
            except BlockingIOError:
                if _no_wait(self._timeout, flags):
                    raise
            self._wait(watcher, self._timeout)

    # -- closing -------------------------------------------------------------

    def _drop_events(self) -> None:
        """Wake any greenlet waiting on this socket with ``cancel_wait_ex`` and
        release the watchers, before the fd is closed or handed away."""
        hub = self.hub
        cancel_wait_at_once(self._read_event, cancel_wait_ex, hub)
        cancel_wait_at_once(self._write_event, cancel_wait_ex, hub)

    def _real_close(self, _ss: Any = _c) -> None:
        self._drop_events()
        # Another greenlet (select, poll) may have io watchers of its own on
        # this fd: then it is closed once they are gone (the libev hazard).
        fd = _ss.detach(self)
        if fd >= 0:
            close_fd(fd)

    def detach(self) -> int:
        """Give up the file descriptor (returned) without closing it."""
        self._drop_events()
        return super().detach()

    # -- connections ---------------------------------------------------------

    def accept(self) -> tuple[socket, Any]:
        """Wait for a connection: ``(cooperative socket, address)``."""
        while True:
            try:
                fd, address = self._accept()
                break
            except BlockingIOError:
                if self._timeout == 0.0:
                    raise
            self._wait(self._read_event, self._timeout)
        return socket(self.family, self.type, self.proto, fileno=fd), address

    def _connect(self, address: Any) -> None:
        """Connect, waiting cooperatively; raise like ``socket.connect``."""
        address = _resolve_addr(self, address)
        if self._timeout == 0.0:
            _c.connect(self, address)
            return
        deadline = None if self._timeout is None else _monotonic() + self._timeout
        while True:
            err = _c_connect_ex(self, address)
            if not err:
                return
            if err not in _CONNECT_PENDING:
                raise _error(err, _os.strerror(err))
            self._wait_until(self._write_event, deadline)
            if err != EAGAIN:
                # The attempt in progress has finished: did it succeed?
                err = _c_getsockopt(self, _SOL_SOCKET, _SO_ERROR)
                if err:
                    raise _error(err, _os.strerror(err))
                # Let the kernel mark the socket connected (Linux answers 0 to
                # the first connect() after an asynchronous one completes), so
                # that another connect() fails with EISCONN as the stdlib's does.
                _c_connect_ex(self, address)
                return
            # EAGAIN (a full AF_UNIX backlog): nothing is in progress, try again.

    def connect(self, address: Any) -> None:
        """Connect to ``address``, resolving a host name cooperatively."""
        self._connect(address)

    def connect_ex(self, address: Any) -> int:
        """Like :meth:`connect` but return an errno (0 on success) instead of
        raising (``EAGAIN`` on timeout); name resolution errors still raise."""
        try:
            self._connect(address)
        except _timeout:
            return EAGAIN
        except __socket__.gaierror:
            raise
        except OSError as ex:
            if ex.errno:
                return ex.errno
            raise
        return 0

    # -- receiving -----------------------------------------------------------

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receive up to ``bufsize`` bytes (b'' at end of stream)."""
        while True:
            try:
                return _c_recv(self, bufsize, flags)
            except BlockingIOError:
                timeout = self._timeout
                if timeout == 0.0 or (timeout is None and flags & _MSG_DONTWAIT):
                    raise
            wait_on_watcher(self._read_event, timeout, hub=self.hub)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        """Receive into ``buffer``; return the number of bytes received."""
        while True:
            try:
                return _c_recv_into(self, buffer, nbytes, flags)
            except BlockingIOError:
                timeout = self._timeout
                if timeout == 0.0 or (timeout is None and flags & _MSG_DONTWAIT):
                    raise
            wait_on_watcher(self._read_event, timeout, hub=self.hub)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        """Receive up to ``bufsize`` bytes: ``(data, address)``."""
        return self._retry(_c_recvfrom, self._read_event, flags, bufsize, flags)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        """Receive into ``buffer``: ``(nbytes, address)``."""
        return self._retry(_c_recvfrom_into, self._read_event, flags, buffer, nbytes, flags)

    def recvmsg(self, *args: Any) -> Any:
        """Receive data and ancillary data (see :meth:`socket.socket.recvmsg`)."""
        return self._retry(_c.recvmsg, self._read_event, _flags_at(args, 2), *args)

    def recvmsg_into(self, *args: Any) -> Any:
        """Like :meth:`recvmsg`, into buffers (see :meth:`socket.socket.recvmsg_into`)."""
        return self._retry(_c.recvmsg_into, self._read_event, _flags_at(args, 2), *args)

    # -- sending -------------------------------------------------------------

    def send(self, data: Any, flags: int = 0, timeout: Any = _GLOBAL_DEFAULT_TIMEOUT) -> int:
        """Send some of ``data``; return how many bytes went.  ``timeout``
        overrides the socket's own for this call."""
        if timeout is _GLOBAL_DEFAULT_TIMEOUT:
            timeout = self._timeout
        while True:
            try:
                return _c_send(self, data, flags)
            except BlockingIOError:
                if timeout == 0.0 or (timeout is None and flags & _MSG_DONTWAIT):
                    raise
            wait_on_watcher(self._write_event, timeout, hub=self.hub)

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send all of ``data``; the timeout bounds the whole call.  On an
        error or a timeout, an unknown amount of data may have been sent."""
        sent = 0
        if type(data) is bytes:  # the common case: one send() usually does it
            try:
                sent = _c_send(self, data, flags)
            except BlockingIOError:
                timeout = self._timeout
                if timeout == 0.0 or (timeout is None and flags & _MSG_DONTWAIT):
                    raise
            else:
                if sent == len(data):
                    return
        self._sendall_from(data, flags, sent)

    def _sendall_from(self, data: Any, flags: int, sent: int) -> None:
        """The rest of :meth:`sendall`, from byte ``sent`` of ``data``."""
        with memoryview(data) as view, view.cast("B") as chunk:
            total = len(chunk)
            timeout = self._timeout
            deadline = None if not timeout else _monotonic() + timeout
            while True:
                try:
                    sent += _c_send(self, chunk[sent:], flags)
                except BlockingIOError:
                    if _no_wait(timeout, flags):
                        raise
                else:
                    if sent >= total:
                        return
                    continue
                self._wait_until(self._write_event, deadline)

    def sendto(self, data: Any, *flags_address: Any) -> int:
        """``sendto(data, [flags,] address)``, resolving a host name cooperatively."""
        if len(flags_address) in (1, 2):
            flags_address = (*flags_address[:-1], _resolve_addr(self, flags_address[-1]))
        flags = _flags_at(flags_address, 0, 2)
        return self._retry(_c_sendto, self._write_event, flags, data, *flags_address)

    def sendmsg(self, *args: Any) -> int:
        """Send data and ancillary data (see :meth:`socket.socket.sendmsg`)."""
        return self._retry(_c.sendmsg, self._write_event, _flags_at(args, 2), *args)

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """Send a binary file's contents (from ``offset``, ``count`` bytes or to
        the end) with ``os.sendfile``, falling back to ``send`` when the file
        has no usable descriptor; return the number of bytes sent."""
        if "b" not in getattr(file, "mode", "b"):
            raise ValueError("file should be opened in binary mode")
        if not self.type & _SOCK_STREAM:
            raise ValueError("only SOCK_STREAM type sockets are supported")
        if count is not None:
            if not isinstance(count, int):
                raise TypeError(f"count must be a positive integer (got {count!r})")
            if count <= 0:
                raise ValueError(f"count must be a positive integer (got {count!r})")
        if self._timeout == 0.0:
            raise ValueError("non-blocking sockets are not supported")
        try:
            fileno = file.fileno()
            size = _os.fstat(fileno).st_size
        except (AttributeError, _io.UnsupportedOperation, OSError):
            return self._sendfile_use_send(file, offset, count)
        if not size:
            return 0
        total = 0
        position = offset
        remaining = size - offset if count is None else min(count, size - offset)
        try:
            while remaining > 0:
                try:
                    sent = _os.sendfile(self.fileno(), fileno, position, min(remaining, 1 << 30))
                except BlockingIOError:
                    self._wait(self._write_event, self._timeout)
                    continue
                except OSError:
                    if total == 0:
                        return self._sendfile_use_send(file, offset, count)
                    raise
                if sent == 0:
                    break
                total += sent
                position += sent
                remaining -= sent
            return total
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset + total)


SocketType = socket


# -- module functions --------------------------------------------------------


def socketpair(
    family: Any = None, type: Any = _SOCK_STREAM, proto: Any = 0
) -> tuple[socket, socket]:
    """A pair of connected cooperative sockets (default family: AF_UNIX)."""
    if family is None:
        family = getattr(__socket__, "AF_UNIX", _AF_INET)
    a, b = _socket.socketpair(family, type, proto)
    return (socket(family, type, proto, a.detach()), socket(family, type, proto, b.detach()))


def fromfd(fd: Any, family: Any, type: Any, proto: Any = 0) -> socket:
    """A cooperative socket on a duplicate of file descriptor ``fd``."""
    return socket(family, type, proto, _socket.dup(fd))


def create_connection(
    address: Any,
    timeout: Any = _GLOBAL_DEFAULT_TIMEOUT,
    source_address: Any = None,
    *,
    all_errors: bool = False,
) -> socket:
    """Connect to ``address`` (``(host, port)``) and return the socket.

    Tries every address ``getaddrinfo`` gives, in order; ``timeout`` (if
    given) is set on each socket before connecting, ``source_address`` is
    bound first.  If all fail, raises the first error, or an
    ``ExceptionGroup`` of all of them with ``all_errors=True``.
    """
    host, port = address
    exceptions: list[OSError] = []
    for family, kind, proto, _canonname, sockaddr in getaddrinfo(host, port, 0, _SOCK_STREAM):
        sock = None
        try:
            sock = socket(family, kind, proto)
            if timeout is not _GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            exceptions.clear()  # no reference cycle through the tracebacks
            return sock
        except _error as ex:
            exceptions.append(ex)
            if sock is not None:
                sock.close()
        except BaseException:
            if sock is not None:
                sock.close()
            raise
    if not exceptions:
        raise _error("getaddrinfo returns an empty list")
    try:
        if all_errors:
            raise ExceptionGroup("create_connection failed", exceptions)
        raise exceptions[0]
    finally:
        exceptions.clear()


def create_server(
    address: Any,
    *,
    family: Any = _AF_INET,
    backlog: Any = None,
    reuse_port: bool = False,
    dualstack_ipv6: bool = False,
) -> socket:
    """A listening cooperative TCP socket bound to ``address``; the options are
    those of :func:`socket.create_server` (which does the setting up)."""
    sock = _std_create_server(
        address,
        family=family,
        backlog=backlog,
        reuse_port=reuse_port,
        dualstack_ipv6=dualstack_ipv6,
    )
    if isinstance(sock, socket):
        return sock
    return socket(sock.family, sock.type, sock.proto, sock.detach())
