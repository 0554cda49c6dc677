"""The gunicorn worker on greenkit's hub, serving with gunicorn's HTTP parser.

One worker process runs one hub.  Its life, as gunicorn drives it:

* ``__init__`` runs in the master, before ``fork()``: nothing process-wide
  happens there.
* :meth:`Worker.init_process` runs in the child after ``fork()`` (and after
  gunicorn's ``post_fork`` hook): it prepares an inherited hub for the new
  process, monkey-patches the standard library, makes the listening
  sockets cooperative, and then lets gunicorn's base class load the
  application (unless ``--preload`` loaded it in the master already) and
  call :meth:`Worker.run`.
* :meth:`Worker.run` starts one :class:`~greenkit.server.StreamServer` per
  listening socket, all sharing one :class:`~greenkit.pool.Pool` of
  ``worker_connections`` greenlets (a full pool stops accepting, so further
  clients wait in the kernel's backlog, where another worker process may
  take them), and then beats gunicorn's heartbeat (``notify``) until the
  worker is told to stop.
* Stopping: SIGTERM (or ``max_requests`` reached, or the master gone) is
  graceful: the listeners close at once, connections waiting idle for a
  next request are closed, requests in flight get up to
  ``graceful_timeout`` seconds to finish, then what is left is killed.
  SIGQUIT and SIGINT are quick: every connection is killed at once.

Signals are delivered through the hub (libev signal watchers), each
handler in a greenlet of its own, so a handler never interrupts the hub or
a request half-way through.
"""

from __future__ import annotations

import _socket
import os
import signal as _signal
import sys
import time
from typing import Any

from greenlet import GreenletExit, getcurrent

from greenkit import monkey
from greenkit.event import Event
from greenkit.hub import reinit, signal_handler
from greenkit.pool import Pool
from greenkit.server import StreamServer
from greenkit.socket import socket as cooperative_socket
from greenkit.timeout import Timeout
from gunicorn.sock import ssl_context
from gunicorn.workers.base_async import AsyncWorker

__all__ = ["Worker"]

#: Longest pause between two heartbeats; shorter when gunicorn's timeout is.
HEARTBEAT_INTERVAL = 1.0
#: Seconds a quick shutdown (or the end of the graceful one) waits for
#: killed connections to unwind.
KILL_WAIT = 1.0
#: Flags of a look at a socket's input that neither consumes nor waits.
_PEEK_NOW = _socket.MSG_PEEK | _socket.MSG_DONTWAIT


def _has_input(sock: Any) -> bool:
    """Whether the client sent something not read yet (or the check failed)."""
    pending = getattr(sock, "pending", None)
    try:
        if pending is not None and pending():
            return True
        return bool(_socket.socket.recv(sock, 1, _PEEK_NOW))
    except OSError:  # BlockingIOError: nothing there
        return False


class Worker(AsyncWorker):  # type: ignore[misc]
    """``gunicorn -k greenkit.gunicorn.Worker``: gunicorn's own HTTP/1.x
    parser and WSGI glue (``gunicorn.workers.base_async.AsyncWorker``), one
    greenlet per connection on greenkit's hub.

    Honours ``worker_connections`` (the pool size), ``keepalive`` (seconds a
    connection may wait for its next request; 0 serves one request per
    connection), ``graceful_timeout``, ``timeout`` (the heartbeat),
    ``max_requests``/``max_requests_jitter``, ``certfile``/``keyfile`` and
    the other SSL settings, the access log, and gunicorn's server hooks.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Set before the base class assigns ``alive`` (a property here).
        self._stopping: Event | None = None
        self._quick = False
        #: The worker process's exit status once :meth:`run` returns.
        self._exit_status = 0
        self._pool: Pool | None = None
        #: Connections that were served and now wait for their next request:
        #: greenlet -> client socket.  Graceful shutdown closes them at once.
        self._idle: dict[Any, Any] = {}
        #: The hub's signal handlers, kept for the life of the process.
        self._signal_handlers: list[Any] = []
        super().__init__(*args, **kwargs)

    # -- being told to stop ----------------------------------------------------

    @property
    def alive(self) -> bool:
        """Whether the worker keeps serving; set to False (by a signal, by
        ``max_requests``, by gunicorn's reloader) it wakes :meth:`run` at once."""
        return self._alive

    @alive.setter
    def alive(self, value: bool) -> None:
        self._alive = value
        if not value and self._stopping is not None:
            self._stopping.set()

    def handle_exit(self, sig: int, frame: Any) -> None:
        """SIGTERM: stop gracefully."""
        self.alive = False

    def handle_quit(self, sig: int, frame: Any) -> None:
        """SIGQUIT, SIGINT: stop now, killing the connections (also in the
        middle of a graceful stop); runs the ``worker_int`` hook."""
        self._quick = True
        self.alive = False
        self.cfg.worker_int(self)
        if self._pool is not None:
            self._pool.kill(block=False)

    def handle_abort(self, sig: int, frame: Any) -> None:
        """SIGABRT (the master's sign that the worker timed out): run the
        ``worker_abort`` hook and exit with status 1."""
        self._exit_status = 1
        self._quick = True
        self.alive = False
        self.cfg.worker_abort(self)

    # -- the child process ----------------------------------------------------

    def init_process(self) -> None:
        """In the child after ``fork()``: fork the inherited hub, patch the
        standard library, then let gunicorn load the app and call :meth:`run`."""
        self._catch_signals_while_booting()
        reinit()
        monkey.patch_all()
        self._stopping = Event()
        for listener in self.sockets:
            self._make_cooperative(listener)
        super().init_process()

    @staticmethod
    def _make_cooperative(listener: Any) -> None:
        """Give gunicorn's listener object a :mod:`greenkit.socket` socket on
        the same file descriptor (the listener keeps its address and name)."""
        raw = listener.sock
        if isinstance(raw, cooperative_socket):
            return
        family, type_, proto = raw.family, raw.type, raw.proto
        listener.sock = cooperative_socket(family, type_, proto, fileno=raw.detach())

    def _signal_methods(self) -> dict[str, Any]:
        return {
            "SIGQUIT": self.handle_quit,
            "SIGINT": self.handle_quit,
            "SIGTERM": self.handle_exit,
            "SIGWINCH": self.handle_winch,
            "SIGUSR1": self.handle_usr1,
            "SIGABRT": self.handle_abort,
        }

    def _catch_signals_while_booting(self) -> None:
        """Until :meth:`init_signals`, take the signals with plain Python
        handlers: the master's, inherited by ``fork()``, would swallow a
        SIGTERM sent while the worker patches and loads."""
        for name, method in self._signal_methods().items():
            _signal.signal(getattr(_signal, name), method)

    def init_signals(self) -> None:
        """Handle gunicorn's worker signals through the hub (its watchers
        take over from the booting handlers with no gap); reset the other
        signals the master handles."""
        methods = self._signal_methods()
        handled = {getattr(_signal, name) for name in methods}
        for signum in self.SIGNALS:
            if signum not in handled:
                _signal.signal(signum, _signal.SIG_DFL)
        for name, method in methods.items():
            signum = getattr(_signal, name)
            self._signal_handlers.append(signal_handler(signum, method, signum, None))

    def run(self) -> None:
        """Serve every listener until stopped, beating the heartbeat; then shut down."""
        self._pool = pool = Pool(self.worker_connections)
        servers = [self.make_server(listener, pool) for listener in self.sockets]
        for server in servers:
            server.start()
        try:
            self._beat_until_stopped()
        finally:
            self._shut_down(servers, pool)
        if self._exit_status:
            sys.exit(self._exit_status)

    def make_server(self, listener: Any, pool: Pool) -> StreamServer:
        """The server of one gunicorn listener, spawning into ``pool``."""
        context = ssl_context(self.cfg) if self.cfg.is_ssl else None

        def serve(client: Any, address: Any) -> None:
            self.serve_connection(listener, client, address, context)

        server = StreamServer(listener.sock, handle=serve, spawn=pool)
        if self.cfg.workers > 1:
            # Take one connection per wake-up: the other workers share the socket.
            server.max_accept = 1
        return server

    def _heartbeat_interval(self) -> float:
        # gunicorn gives the worker half of its --timeout as ``timeout``.
        if self.timeout and self.timeout > 0:
            return float(min(HEARTBEAT_INTERVAL, self.timeout / 2.0))
        return HEARTBEAT_INTERVAL

    def _beat_until_stopped(self) -> None:
        stopping = self._stopping
        assert stopping is not None
        interval = self._heartbeat_interval()
        while self.alive:
            self.notify()
            if os.getppid() != self.ppid:
                self.log.info("Parent changed, shutting down: %s", self)
                self.alive = False
                break
            stopping.wait(interval)

    def _shut_down(self, servers: list[StreamServer], pool: Pool) -> None:
        for server in servers:
            server.close()
        if not self._quick:
            self._drain(pool)
        if len(pool):
            pool.kill(block=True, timeout=KILL_WAIT)

    def _drain(self, pool: Pool) -> None:
        """Graceful part of the shutdown: close the idle connections, give the
        rest until ``graceful_timeout`` (beating the heartbeat meanwhile)."""
        self.close_idle_connections()
        deadline = time.monotonic() + self._drain_seconds()
        interval = self._heartbeat_interval()
        while len(pool) and not self._quick:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.notify()
            pool.join(timeout=min(interval, remaining))

    def _drain_seconds(self) -> float:
        # The master SIGKILLs workers still alive graceful_timeout seconds after
        # it sent SIGTERM: end a little before, so the worker exits cleanly.
        graceful = float(self.cfg.graceful_timeout)
        return max(0.0, graceful - min(1.0, graceful / 5.0))

    def connection_idle(self, sock: Any) -> None:
        """The current greenlet's connection, ``sock``, was served and waits
        for its next request."""
        self._idle[getcurrent()] = sock

    def connection_busy(self) -> None:
        """The current greenlet's connection is being served (or closed)."""
        self._idle.pop(getcurrent(), None)

    def close_idle_connections(self) -> None:
        """Kill the connections that wait for a next request and have sent
        nothing yet (one that has is left to be served, with ``Connection:
        close``)."""
        pool = self._pool
        if pool is None:
            return
        for greenlet, client in list(self._idle.items()):
            if not _has_input(client):
                pool.killone(greenlet, block=False)

    # -- connections -------------------------------------------------------------

    def serve_connection(
        self, listener: Any, client: Any, address: Any, context: Any = None
    ) -> None:
        """One connection: wrap it in TLS if configured, then gunicorn's
        ``handle`` (requests until the connection is to be closed)."""
        if context is not None:
            try:
                client = context.wrap_socket(
                    client,
                    server_side=True,
                    do_handshake_on_connect=self.cfg.do_handshake_on_connect,
                    suppress_ragged_eofs=self.cfg.suppress_ragged_eofs,
                )
            except OSError as ex:  # ssl.SSLError is an OSError
                self.log.debug("TLS handshake failed with %s: %s", address, ex)
                client.close()
                return
        self.handle(listener, client, address)

    def handle(self, listener: Any, client: Any, address: Any) -> None:
        """gunicorn's: the requests of one connection, until it is to be closed."""
        try:
            super().handle(listener, client, address)
        finally:
            self.connection_busy()

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        """One request (gunicorn's); afterwards the connection counts as idle
        until the next request arrives, and closes if the worker is stopping."""
        self.connection_busy()
        result = super().handle_request(listener_name, req, sock, addr)
        if not self.alive:
            # Stopping meanwhile: no next request on this connection.
            raise StopIteration()
        self.connection_idle(sock)
        return result

    def timeout_ctx(self) -> Any:
        """Bound the wait for a connection's next request by ``keepalive``
        seconds; when it passes, the connection closes quietly."""
        return Timeout(self.cfg.keepalive, False)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """A connection killed by the shutdown closes quietly; anything else
        is gunicorn's business (logged, answered with 4xx/5xx)."""
        if isinstance(exc, GreenletExit):
            self.log.debug("Closing connection from %s: worker stopping", addr)
            return
        super().handle_error(req, client, addr, exc)
