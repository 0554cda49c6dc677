"""The machinery shared by greenkit's servers (gevent's ``gevent.baseserver``).

A :class:`BaseServer` owns a listening socket and an ``io`` watcher on it.
When the socket becomes readable, the hub calls the server (in the hub
greenlet, so nothing in that path may block) and the server takes up to
``max_accept`` ready connections (``do_read``), handing each one to
``handle`` through the chosen spawning strategy (``do_handle``):

* ``'default'``: a new :class:`~greenkit.greenlet.Greenlet` per connection;
* ``None``: ``handle`` runs right there, in the hub (it must not block);
* an ``int``: a :class:`~greenkit.pool.Pool` of that size;
* a Pool or Group (anything with ``spawn``): its ``spawn`` method;
* any other callable: called as ``spawn(handle, *args)``.

With a pool that is full, the server stops watching the socket (new clients
wait in the kernel's backlog) and starts again as soon as a slot frees.  An
error while accepting is reported to the hub's ``handle_error`` and makes
the server pause for ``min_delay`` seconds, doubling up to ``max_delay``
while errors go on; errors whose errno is in ``fatal_errors`` close the
server.  An error while handing over a connection is reported the same way
(with the connection closed) and never stops the server.

Subclasses (``greenkit.server.StreamServer``/``DatagramServer``) provide
``init_socket``, ``do_read`` and ``do_close``.
"""

from __future__ import annotations

import errno
import socket as _stdlib_socket
import sys
from collections.abc import Callable
from typing import Any

from greenkit.event import Event
from greenkit.greenlet import Greenlet
from greenkit.hub import get_hub
from greenkit.pool import Pool

__all__ = ["BaseServer"]

_DEFAULT_SPAWN = "default"


def _family_of_host(host: str) -> int:
    return _stdlib_socket.AF_INET6 if ":" in host else _stdlib_socket.AF_INET


def _parse_port(port: Any, address: Any) -> int:
    try:
        value = int(port)
    except (TypeError, ValueError):
        raise ValueError(f"Failed to parse port {port!r} of address {address!r}") from None
    if not 0 <= value <= 65535:
        raise ValueError(f"Port out of range: {value!r} (in address {address!r})")
    return value


def parse_address(address: Any) -> tuple[int, tuple[Any, ...]]:
    """Return ``(family, sockaddr)`` for a listener address.

    Accepted forms: a ``(host, port)`` tuple (4-tuples for IPv6), an ``int``
    port or a port string (any interface), ``'host:port'``, ``':port'`` and
    ``'[v6-host]:port'``.  A host containing ``:`` means IPv6.
    """
    if isinstance(address, tuple):
        if not address or not isinstance(address[0], str):
            raise TypeError(f"Expected a (host, port) tuple: {address!r}")
        host = address[0]
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if len(address) < 2:
            raise ValueError(f"Expected a (host, port) tuple: {address!r}")
        return _family_of_host(host), (host, _parse_port(address[1], address)) + address[2:]
    if isinstance(address, int) and not isinstance(address, bool):
        return _stdlib_socket.AF_INET, ("", _parse_port(address, address))
    if isinstance(address, str):
        if ":" not in address:
            return _stdlib_socket.AF_INET, ("", _parse_port(address, address))
        host, _, port = address.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return _family_of_host(host), (host, _parse_port(port, address))
    raise TypeError(
        f"Expected a socket, an address tuple, a port or a 'host:port' string, got {address!r}"
    )


class BaseServer:
    """An abstract server: accept connections from ``listener`` and give each
    to ``handle`` (see the module docstring for ``spawn``).

    ``listener`` is a bound, listening socket or an address (see
    :func:`parse_address`); with an address, the socket is made by ``start()``
    (``init_socket``).  ``handle`` defaults to the subclass's ``handle``
    method; a server without either is a TypeError.
    """

    #: Seconds to pause accepting after the first accept error...
    min_delay = 0.01
    #: ...doubling on each further error up to this many.
    max_delay = 1.0
    #: The most connections taken per readiness notification of the socket.
    max_accept = 100
    #: Seconds ``stop()`` (and ``serve_forever``) give running handlers by default.
    stop_timeout = 1.0
    #: errno values of accept errors after which the server closes itself.
    fatal_errors: tuple[int, ...] = (errno.EBADF, errno.EINVAL, errno.ENOTSOCK)

    #: The spawning callable used for ``spawn='default'``.
    _spawn: Any = Greenlet.spawn

    socket: Any
    address: Any
    pool: Any = None
    family: int = _stdlib_socket.AF_INET

    def __init__(
        self, listener: Any, handle: Callable[..., Any] | None = None, spawn: Any = _DEFAULT_SPAWN
    ) -> None:
        self._stop_event = Event()
        self._stop_event.set()
        self._watcher: Any = None
        self._timer: Any = None
        self._waiting_for_pool = False
        try:
            self.set_listener(listener)
            self.set_spawn(spawn)
            self.set_handle(handle)
            self.delay = self.min_delay
            loop = get_hub().loop
            assert loop is not None, "a server in a destroyed hub"
            self.loop = loop
            if self.max_accept < 1:
                raise ValueError(f"max_accept must be positive: {self.max_accept!r}")
        except BaseException:
            self.close()
            raise

    # -- configuration -------------------------------------------------------

    def set_listener(self, listener: Any) -> None:
        """Use ``listener``: a listening socket, or an address to bind at ``start()``."""
        if hasattr(listener, "accept"):
            if hasattr(listener, "do_handshake"):
                raise TypeError(f"Expected a regular socket, not an SSL socket: {listener!r}")
            self.family = listener.family
            self.address = listener.getsockname()
            self.socket = listener
        else:
            self.family, self.address = parse_address(listener)

    def set_spawn(self, spawn: Any) -> None:
        """Choose how handlers are run (see the module docstring)."""
        self._unlink_pool()
        self.__dict__.pop("full", None)
        if spawn == _DEFAULT_SPAWN and isinstance(spawn, str):
            self.pool = None
            self.__dict__.pop("_spawn", None)
            return
        if isinstance(spawn, int) and not isinstance(spawn, bool):
            spawn = Pool(spawn)
        if hasattr(spawn, "spawn"):
            self.pool = spawn
            self._spawn = spawn.spawn
            full = getattr(spawn, "full", None)
            if full is not None:
                # Shadows the method on the instance (popped again above).
                self.__dict__["full"] = full
        elif spawn is None or callable(spawn):
            self.pool = None
            self._spawn = spawn
        else:
            raise TypeError(
                f"spawn must be 'default', None, an int, a pool or a callable: {spawn!r}"
            )

    def set_handle(self, handle: Callable[..., Any] | None) -> None:
        """Use ``handle`` (or, when None, the ``handle`` method) for each connection."""
        if handle is not None:
            if not callable(handle):
                raise TypeError(f"handle must be callable: {handle!r}")
            self.handle = handle
        handler = getattr(self, "handle", None)
        if handler is None:
            raise TypeError("'handle' must be provided")
        self._handle = handler

    def full(self) -> bool:
        """Whether the server cannot take another connection now (its pool is full)."""
        return False

    # -- description ---------------------------------------------------------

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x} {self._formatinfo()}>"

    def __str__(self) -> str:
        return f"<{type(self).__name__} {self._formatinfo()}>"

    def _describe_handle(self) -> str:
        handle = self.__dict__.get("handle")
        if handle is None:
            return ""
        owner = getattr(handle, "__self__", None)
        if owner is self:
            name = getattr(handle, "__qualname__", getattr(handle, "__name__", "?"))
            return f"handle=<bound method {name} of self>"
        return f"handle={handle!r}"

    def _formatinfo(self) -> str:
        parts = []
        sock = self.__dict__.get("socket")
        if sock is not None:
            try:
                parts.append(f"fileno={sock.fileno()}")
            except Exception:  # noqa: BLE001 - a closed socket has no fileno
                pass
        address = self.__dict__.get("address")
        if isinstance(address, tuple) and len(address) >= 2:
            parts.append(f"address={address[0]}:{address[1]}")
        elif address is not None:
            parts.append(f"address={address}")
        handle = self._describe_handle()
        if handle:
            parts.append(handle)
        return " ".join(parts)

    @property
    def server_host(self) -> Any:
        """The host part of ``address`` (None if the address is not a tuple)."""
        if isinstance(self.address, tuple):
            return self.address[0]
        return None

    @property
    def server_port(self) -> Any:
        """The port part of ``address`` (None if the address is not a tuple)."""
        if isinstance(self.address, tuple):
            return self.address[1]
        return None

    # -- life cycle ----------------------------------------------------------

    def init_socket(self) -> None:
        """Create the listening socket if needed (``start()`` calls this first)."""

    @property
    def started(self) -> bool:
        """Whether the server was started and not stopped since."""
        return not self._stop_event.is_set()

    @property
    def closed(self) -> bool:
        """Whether the server has no socket (closed, or never given nor created one)."""
        return "socket" not in self.__dict__

    def start(self) -> None:
        """Bind (if needed) and start accepting, without blocking."""
        if self.started:
            return
        self.init_socket()
        self._stop_event.clear()
        try:
            self.start_accepting()
        except BaseException:
            self.close()
            raise

    def start_accepting(self) -> None:
        """Watch the listening socket (no-op if already watching)."""
        if self._watcher is None:
            self._watcher = self.loop.io(self.socket.fileno(), 1)
            self._watcher.start(self._on_readable)

    def stop_accepting(self) -> None:
        """Stop watching the listening socket (pending clients wait in the backlog)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
            watcher.close()
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.stop()
            timer.close()

    def close(self) -> None:
        """Stop accepting and close the listening socket; running handlers go on."""
        self._stop_event.set()
        try:
            self.stop_accepting()
        finally:
            self._unlink_pool()
            sock = self.__dict__.pop("socket", None)
            if sock is not None:
                try:
                    sock.close()
                except Exception:  # noqa: BLE001 - closing is best effort here
                    pass

    def stop(self, timeout: float | None = None) -> None:
        """Close the server, then give the pool's handlers ``timeout`` seconds
        (default ``stop_timeout``) to finish before killing them."""
        self.close()
        if timeout is None:
            timeout = self.stop_timeout
        pool = self.pool
        if pool is not None:
            pool.join(timeout=timeout)
            pool.kill(block=True, timeout=1)

    def serve_forever(self, stop_timeout: float | None = None) -> None:
        """Start (if needed) and block until ``stop()`` is called (or this
        greenlet is killed, which stops the server)."""
        if not self.started:
            self.start()
        try:
            self._stop_event.wait()
        finally:
            Greenlet.spawn(self.stop, timeout=stop_timeout).join()

    def __enter__(self) -> BaseServer:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- accepting -----------------------------------------------------------

    def do_read(self) -> tuple[Any, ...] | None:
        """Take one ready client without blocking: the arguments for ``handle``,
        or None when there is none."""
        raise NotImplementedError

    def do_close(self, *args: Any) -> None:
        """Release a client that could not be handed over."""

    def do_handle(self, *args: Any) -> None:
        """Give one client to ``handle`` through the spawning strategy."""
        spawn = self._spawn
        try:
            if spawn is None:
                self._handle(*args)
            else:
                spawn(self._handle, *args)
        except BaseException:
            self.do_close(*args)
            raise

    def is_fatal_error(self, ex: BaseException) -> bool:
        """Whether an accept error means the listening socket is unusable."""
        return isinstance(ex, OSError) and ex.errno in self.fatal_errors

    def _start_accepting_if_started(self, _source: Any = None) -> None:
        self._waiting_for_pool = False
        if self.started:
            self.start_accepting()

    def _unlink_pool(self) -> None:
        if self._waiting_for_pool:
            self._waiting_for_pool = False
            semaphore = getattr(self.pool, "_semaphore", None)
            if semaphore is not None:
                semaphore.unlink(self._start_accepting_if_started)

    def _wait_for_pool(self) -> None:
        """The pool is full: stop accepting until one of its slots frees."""
        self.stop_accepting()
        semaphore = getattr(self.pool, "_semaphore", None)
        if semaphore is None:
            self._back_off()
        elif not self._waiting_for_pool:
            self._waiting_for_pool = True
            semaphore.rawlink(self._start_accepting_if_started)

    def _back_off(self) -> None:
        """Pause accepting for ``delay`` seconds, doubling the next pause."""
        self.stop_accepting()
        self._timer = self.loop.timer(self.delay)
        self._timer.start(self._start_accepting_if_started)
        self.delay = min(self.max_delay, self.delay * 2)

    def _on_readable(self) -> None:
        # Runs in the hub: take what is ready, never block.
        hub = get_hub()
        for _ in range(self.max_accept):
            if self.full():
                self._wait_for_pool()
                return
            try:
                args = self.do_read()
            except Exception as ex:  # noqa: BLE001 - reported, then paused or closed
                hub.handle_error(self, *sys.exc_info())
                if self.is_fatal_error(ex):
                    self.close()
                    sys.stderr.write(f"ERROR: {self} failed with {ex or repr(ex)}\n")
                else:
                    self._back_off()
                return
            if args is None:
                return
            self.delay = self.min_delay
            try:
                self.do_handle(*args)
            except Exception:  # noqa: BLE001 - the server goes on
                hub.handle_error((args[1:], self), *sys.exc_info())
            if self.closed or self._watcher is None:
                return
