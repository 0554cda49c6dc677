"""An interactive Python console reachable over a socket (gevent's ``gevent.backdoor``).

Each connection to a :class:`BackdoorServer` gets its own
:class:`code.InteractiveConsole` running in the connection's greenlet,
with the server's ``locals`` and the real ``builtins`` module.  While any
console is open, ``sys.stdin``/``sys.stdout``/``sys.stderr`` are proxies
that send whatever the console's greenlet reads or writes to its
connection (and everything else to the original streams), so output goes
to the right client even when the console's code switches greenlets.
``quit()``, ``exit()``, ``sys.exit()`` and end of input (Ctrl-D) close the
connection.

Anyone who can connect can run any code in the process: listen only on
addresses that only trusted users can reach.
"""

from __future__ import annotations

import builtins
import sys
from code import InteractiveConsole
from typing import Any

from greenlet import getcurrent

from greenkit.server import StreamServer

__all__ = ["BackdoorServer"]

_STREAMS = ("stdin", "stdout", "stderr")


class _Connection:
    """The text stream of one console: reads lines from, and writes to, its socket."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.rfile = sock.makefile("rb")
        self.closed = False

    def write(self, text: str) -> int:
        self.sock.sendall(
            text.replace("\r\n", "\n").replace("\n", "\r\n").encode(self.encoding, self.errors)
        )
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Writes are not buffered."""

    def readline(self, size: int = -1) -> str:
        line: bytes = self.rfile.readline(size)
        return line.decode(self.encoding, self.errors)

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        """Closing the console's stdin (as ``quit()`` does) ends nothing by itself."""


class _Router:
    """Stands in for ``sys.<name>``: the current greenlet's console stream, or the original."""

    def __init__(self, original: Any) -> None:
        self._original = original

    def _target(self) -> Any:
        return _routes.get(getcurrent(), self._original)

    def write(self, text: str) -> Any:
        return self._target().write(text)

    def flush(self) -> Any:
        return self._target().flush()

    def readline(self, *args: Any) -> Any:
        return self._target().readline(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


#: Console greenlet -> its connection stream.
_routes: dict[Any, _Connection] = {}
#: The routers in place (only while some console is open).
_routers: dict[str, _Router] = {}


def _route(connection: _Connection) -> None:
    if not _routers:
        for name in _STREAMS:
            router = _Router(getattr(sys, name))
            _routers[name] = router
            setattr(sys, name, router)
    _routes[getcurrent()] = connection


def _unroute() -> None:
    _routes.pop(getcurrent(), None)
    if not _routes:
        for name, router in list(_routers.items()):
            if getattr(sys, name) is router:
                setattr(sys, name, router._original)
        _routers.clear()


class _Exit:
    """``quit``/``exit`` of a console: end that console's session."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Use {self.name}() or Ctrl-D (i.e. EOF) to exit"

    def __call__(self, code: Any = None) -> None:
        raise SystemExit(code)


class _Console(InteractiveConsole):
    def __init__(self, connection: _Connection, namespace: dict[str, Any]) -> None:
        InteractiveConsole.__init__(self, namespace)
        self._connection = connection

    def raw_input(self, prompt: str = "") -> str:
        connection = self._connection
        connection.write(prompt)
        line = connection.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")


class BackdoorServer(StreamServer):
    """``BackdoorServer(listener, locals=None, banner=None, **server_args)``:
    a :class:`~greenkit.server.StreamServer` giving each connection a Python
    console whose namespace starts with ``locals`` and which prints
    ``banner`` (default: the Python version) first."""

    def __init__(
        self,
        listener: Any,
        locals: dict[str, Any] | None = None,  # noqa: A002
        banner: str | None = None,
        **server_args: Any,
    ) -> None:
        StreamServer.__init__(
            self, listener, spawn=server_args.pop("spawn", "default"), **server_args
        )
        self.locals = locals
        self.banner = banner

    def _namespace(self) -> dict[str, Any]:
        namespace: dict[str, Any] = {
            "__name__": "__console__",
            "__doc__": None,
            "__builtins__": builtins,
            "quit": _Exit("quit"),
            "exit": _Exit("exit"),
        }
        if self.locals:
            namespace.update(self.locals)
        return namespace

    def _banner(self) -> str:
        if self.banner is not None:
            return self.banner
        return f"Python {sys.version} on {sys.platform}\n(greenkit backdoor in {getcurrent()!r})"

    def handle(self, conn: Any, address: Any) -> None:
        """Run a console on ``conn`` until the client quits or disconnects."""
        connection = _Connection(conn)
        _route(connection)
        try:
            console = _Console(connection, self._namespace())
            try:
                console.interact(banner=self._banner(), exitmsg="")
            except SystemExit:
                pass
        except OSError:
            pass  # the client went away
        finally:
            _unroute()
            connection.rfile.close()
            conn.close()
