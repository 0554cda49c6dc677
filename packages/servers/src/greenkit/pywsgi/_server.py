"""The server half of :mod:`greenkit.pywsgi`: :class:`WSGIServer`.

It accepts connections as a :class:`~greenkit.server.StreamServer` and
serves each with a new ``handler_class`` (by default
:class:`~greenkit.pywsgi.WSGIHandler`, which :mod:`greenkit.pywsgi` sets
here once both exist, so that this module need not import the package);
it holds what every request shares: the base environ and the logs.
"""

from __future__ import annotations

import importlib.metadata
import sys
from typing import TYPE_CHECKING, Any

from greenkit.pywsgi._environ import SecureEnviron
from greenkit.pywsgi._log import LoggingLogAdapter, _NoopLog
from greenkit.server import StreamServer

if TYPE_CHECKING:
    from greenkit.pywsgi import WSGIHandler

__all__ = ["WSGIServer"]

#: The gevent release (major, minor) whose pywsgi this one reproduces.
_GEVENT_RELEASE = (26, 9)


def _server_software() -> str:
    """The ``SERVER_SOFTWARE`` of every environ: ``gevent/26.9 greenkit/0.1
    Python/3.11`` (CGI product tokens, most significant first).

    It starts with ``gevent/`` whether or not the gevent alias is on, because
    dependents read that prefix as "the environ is laid out as gevent's
    pywsgi lays it out" (simple-websocket, for one, then takes the
    connection's socket from ``wsgi.input``), which is true of greenkit's
    pywsgi in any process.  The greenkit token says which implementation it
    is; it is left out if the distribution's metadata cannot be read.
    """
    tokens = ["gevent/{}.{}".format(*_GEVENT_RELEASE)]
    try:
        version = importlib.metadata.version("greenkit-servers")
    except importlib.metadata.PackageNotFoundError:
        pass
    else:
        tokens.append("greenkit/" + ".".join(version.split(".")[:2]))
    tokens.append("Python/{}.{}".format(*sys.version_info[:2]))
    return " ".join(tokens)


def _as_log(log: Any, level: int) -> Any:
    if log == "default":
        return sys.stderr
    if log is None:
        return _NoopLog()
    if not hasattr(log, "write") and hasattr(log, "log"):
        return LoggingLogAdapter(log, level)
    return log


class WSGIServer(StreamServer):
    """A WSGI server: ``WSGIServer(listener, application, ...)``.

    ``log`` (access lines) and ``error_log`` (errors) take ``'default'``
    (``sys.stderr``), None, a file-like object, or a :mod:`logging` logger.
    ``environ`` is merged into every request's environ (``wsgi.multiprocess``
    true makes the server accept one connection per wake-up).
    ``handler_class`` replaces :class:`WSGIHandler`.  Remaining keyword
    arguments are :class:`~greenkit.server.StreamServer`'s: SSL settings,
    and ``proxy_protocol``/``proxy_protocol_timeout`` (a PROXY protocol
    header before each connection names the client: ``REMOTE_ADDR``,
    ``REMOTE_PORT`` and the handler's ``client_address``).
    """

    #: Set to :class:`~greenkit.pywsgi.WSGIHandler` by :mod:`greenkit.pywsgi`.
    handler_class: type[WSGIHandler]
    #: The class of each request's environ (a dict subclass).
    environ_class: type[dict[str, Any]] = dict
    #: The class used for the environ given as context to reported errors.
    secure_environ_class: type[SecureEnviron] = SecureEnviron

    base_env: dict[str, Any] = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": _server_software(),
        "SCRIPT_NAME": "",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }

    application: Any = None

    def __init__(
        self,
        listener: Any,
        application: Any = None,
        backlog: int | None = None,
        spawn: Any = "default",
        log: Any = "default",
        error_log: Any = "default",
        handler_class: type[WSGIHandler] | None = None,
        environ: Any = None,
        **ssl_args: Any,
    ) -> None:
        StreamServer.__init__(self, listener, backlog=backlog, spawn=spawn, **ssl_args)
        if application is not None:
            self.application = application
        if handler_class is not None:
            self.handler_class = handler_class
        self.log = _as_log(log, 20)
        self.error_log = _as_log(error_log, 40)
        self.set_environ(environ)
        self.set_max_accept()

    def set_environ(self, environ: Any = None) -> None:
        """Use ``base_env`` updated with ``environ`` as every request's base environ."""
        if environ is not None:
            self.environ = environ
        base = dict(self.base_env)
        base.update(getattr(self, "environ", None) or {})
        self.environ = base

    def set_max_accept(self) -> None:
        """A multi-process server takes one connection at a time."""
        if self.environ.get("wsgi.multiprocess"):
            self.max_accept = 1

    def get_environ(self) -> Any:
        """A fresh copy of the base environ, of ``environ_class``."""
        return self.environ_class(self.environ)

    def init_socket(self) -> None:
        StreamServer.init_socket(self)
        self.update_environ()

    def update_environ(self) -> None:
        """Set SERVER_NAME and SERVER_PORT from the bound address."""
        address = self.address
        if isinstance(address, tuple):
            if "SERVER_NAME" not in self.environ:
                host = address[0]
                if not host or host in ("0.0.0.0", "::"):
                    name = host or "0.0.0.0"
                else:
                    import socket as _stdlib_socket

                    try:
                        name = _stdlib_socket.getfqdn(host)
                    except OSError:
                        name = str(host)
                self.environ["SERVER_NAME"] = name
            self.environ.setdefault("SERVER_PORT", str(address[1]))
        else:
            self.environ.setdefault("SERVER_NAME", "")
            self.environ.setdefault("SERVER_PORT", "")

    def handle(self, sock: Any, address: Any) -> None:
        """Serve one connection with a new ``handler_class``."""
        handler = self.handler_class(sock, address, self)
        handler.handle()


WSGIServer.__module__ = "greenkit.pywsgi"
