"""The gunicorn worker that serves through :mod:`greenkit.pywsgi`.

Everything but the HTTP handling is :class:`~greenkit.gunicorn.Worker`'s
(patching, signals, heartbeat, pool, shutdown).  The connections are
:class:`~greenkit.pywsgi.WSGIServer`'s, with a handler that keeps the
worker's books: gunicorn's access log (``access_log_format``) for every
response, ``max_requests``, ``keepalive``, and the idle connections that a
graceful shutdown closes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from greenkit.gunicorn._worker import Worker
from greenkit.pool import Pool
from greenkit.pywsgi import WSGIHandler, WSGIServer
from greenkit.timeout import Timeout
from gunicorn.http.wsgi import base_environ
from gunicorn.sock import ssl_context

__all__ = ["PyWSGIWorker"]


class _Response:
    """What gunicorn's access log reads of a response."""

    __slots__ = ("status", "headers", "sent")

    def __init__(self, status: str | None, headers: list[tuple[str, str]], sent: int) -> None:
        self.status = status or "-"
        self.headers = headers
        self.sent = sent


class _ErrorLog:
    """The app's ``wsgi.errors`` (pywsgi's ``error_log``) as gunicorn's error log."""

    def __init__(self, log: Any) -> None:
        self._log = log

    def write(self, text: str) -> None:
        text = text.rstrip("\n")
        if text:
            self._log.error(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Nothing is buffered here."""


class PyWSGIHandler(WSGIHandler):
    """A :class:`~greenkit.pywsgi.WSGIHandler` working for a gunicorn worker
    (its server's ``worker``)."""

    server: _Server

    def handle(self) -> None:
        try:
            super().handle()
        finally:
            self.server.worker.connection_busy()

    def read_requestline(self) -> Any:
        """The next request line, waiting at most ``keepalive`` seconds for
        it (None then: the connection closes)."""
        keepalive = self.server.worker.cfg.keepalive
        if not keepalive:
            return super().read_requestline()
        line = None
        with Timeout(keepalive, False):
            line = super().read_requestline()
        return line

    def handle_one_response(self) -> None:
        """Count the request toward ``max_requests``; close after it when
        the worker stops or keep-alive is off; afterwards the connection is
        idle until its next request."""
        worker = self.server.worker
        worker.connection_busy()
        worker.nr += 1
        if worker.nr >= worker.max_requests and worker.alive:
            worker.log.info("Autorestarting worker after current request.")
            worker.alive = False
        if not worker.alive or not worker.cfg.keepalive:
            self.close_connection = True
        super().handle_one_response()
        if not self.close_connection and self.socket is not None:
            worker.connection_idle(self.socket)

    def get_environ(self) -> Any:
        """pywsgi's environ plus gunicorn's ``RAW_URI`` and ``gunicorn.socket``
        (also as ``gunicorn.sock``, the name gevent's pywsgi worker uses)."""
        env = super().get_environ()
        env["RAW_URI"] = self.path
        env["gunicorn.socket"] = env["gunicorn.sock"] = self.socket
        return env

    def log_error(self, msg: str, *args: Any) -> None:
        """pywsgi's own complaints (invalid requests, answered with 4xx) go to
        gunicorn's error log as warnings, as gunicorn logs a bad request."""
        try:
            message = msg % args if args else msg
        except (TypeError, ValueError):
            message = f"{msg!r} {args!r}"
        self.server.worker.log.warning("%s (from %s)", message, self._client_host())

    def _client_host(self) -> str:
        address = self.client_address
        host = address[0] if isinstance(address, tuple) else address
        return str(host or "-")

    def _log_environ(self) -> Any:
        if self.environ is not None:
            return self.environ
        # A request refused before it had an environ (400, 414, 431).
        parts = (self.requestline or "").split()
        method, uri, protocol = parts if len(parts) == 3 else ("-", "-", "-")
        return {
            "REQUEST_METHOD": method,
            "RAW_URI": uri,
            "SERVER_PROTOCOL": protocol,
            "REMOTE_ADDR": self._client_host(),
        }

    def log_request(self) -> None:
        """One line in gunicorn's access log, in its ``access_log_format``."""
        finish = self.time_finish or self.time_start
        duration = timedelta(seconds=max(0.0, finish - self.time_start))
        response = _Response(self.status, list(self.response_headers or ()), self.response_length)
        request_headers = self.headers.items() if self.headers is not None else []
        self.server.worker.log.access(response, request_headers, self._log_environ(), duration)


class _Server(WSGIServer):
    """A WSGIServer that belongs to a gunicorn worker."""

    handler_class = PyWSGIHandler

    def __init__(self, listener: Any, worker: Worker, spawn: Pool, **ssl_args: Any) -> None:
        self.worker = worker
        environ = base_environ(worker.cfg)
        environ["wsgi.multithread"] = True
        super().__init__(
            listener,
            application=worker.wsgi,
            spawn=spawn,
            log=None,
            error_log=_ErrorLog(worker.log),
            environ=environ,
            **ssl_args,
        )

    def wrap_socket_and_handle(self, client_socket: Any, address: Any) -> Any:
        """TLS handshake first (a failed one is logged at debug level and
        closes the connection), then the requests."""
        ssl_args = self.ssl_args or {}
        try:
            ssl_socket = self.wrap_socket(client_socket, **ssl_args)
            if not ssl_args.get("do_handshake_on_connect", True):
                ssl_socket.do_handshake()
        except OSError as ex:  # ssl.SSLError is an OSError
            self.worker.log.debug("TLS handshake failed with %s: %s", address, ex)
            client_socket.close()
            return None
        return self.handle(ssl_socket, address)


class PyWSGIWorker(Worker):
    """``gunicorn -k greenkit.gunicorn.PyWSGIWorker``: connections served by
    :mod:`greenkit.pywsgi` (gunicorn's ``GeventPyWSGIWorker`` counterpart),
    with gunicorn's access log, ``keepalive``, ``max_requests``,
    ``worker_connections`` and SSL settings honoured.  gunicorn's
    ``pre_request``/``post_request`` hooks are not called (pywsgi runs the
    application itself)."""

    def make_server(self, listener: Any, pool: Pool) -> WSGIServer:
        """A :class:`~greenkit.pywsgi.WSGIServer` for one gunicorn listener,
        spawning into ``pool``, with gunicorn's SSL settings."""
        ssl_args: dict[str, Any] = {}
        cfg = self.cfg
        if cfg.is_ssl:
            ssl_args = {
                "ssl_context": ssl_context(cfg),
                "do_handshake_on_connect": cfg.do_handshake_on_connect,
                "suppress_ragged_eofs": cfg.suppress_ragged_eofs,
            }
        return _Server(listener.sock, self, pool, **ssl_args)
