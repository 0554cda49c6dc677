"""A cooperative WSGI (PEP 3333) HTTP/1.1 server (gevent's ``gevent.pywsgi``).

:class:`WSGIServer` is a :class:`~greenkit.server.StreamServer` that runs one
:class:`WSGIHandler` per connection.  The handler reads requests (HTTP/1.0
and 1.1, keep-alive, pipelining, ``Expect: 100-continue``, chunked or
``Content-Length`` bodies through :class:`Input`), calls the application
and writes its response:

* a list or tuple result whose length is known is sent with a computed
  ``Content-Length`` together with the headers, in one write;
* otherwise HTTP/1.1 responses without ``Content-Length`` are chunked, and
  HTTP/1.0 ones are delimited by closing the connection;
* 1xx, 204 and 304 responses carry no body (``ApplicationError`` if the
  application writes one), and HEAD responses send none.

Requests are parsed by RFC 9112's rules (:mod:`greenkit.pywsgi._http11`,
:mod:`greenkit.pywsgi._chunked`): malformed requests get 400, a request
line longer than :data:`MAX_REQUEST_LINE` 414, oversized header sections
431, transfer codings other than chunked 501 and HTTP versions other than
1.x 505, all without calling the application, and the connection is closed
after any of them (and after any error in a request body's framing).  An
error in the application is reported to the hub's ``handle_error`` (with a
:class:`SecureEnviron` of the request as the context) and answered with 500
if no header was sent yet; the connection is then closed.  Access lines go
to ``log`` and errors to ``error_log`` (files, :mod:`logging` loggers
wrapped in :class:`LoggingLogAdapter`, or None).
"""

from __future__ import annotations

import _socket
import errno
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote_to_bytes

from greenkit.hub import get_hub
from greenkit.pywsgi._environ import Environ, SecureEnviron, WSGISecureEnviron
from greenkit.pywsgi._headers import RequestHeaders
from greenkit.pywsgi._http11 import MAX_HEADER_BYTES as MAX_HEADER_BYTES
from greenkit.pywsgi._http11 import MAX_HEADER_COUNT as MAX_HEADER_COUNT
from greenkit.pywsgi._http11 import (
    TOKEN,
    body_framing,
    check_host,
    has_token,
    parse_request_line,
    read_fields,
    remember,
    split_target,
)

# Input, MAX_REQUEST_LINE and _NoopLog are module attributes as in gevent.
from greenkit.pywsgi._input import MAX_REQUEST_LINE, Input, InvalidClientRequest
from greenkit.pywsgi._log import LoggingLogAdapter
from greenkit.pywsgi._log import _NoopLog as _NoopLog
from greenkit.pywsgi._server import WSGIServer

__all__ = [
    "Environ",
    "LoggingLogAdapter",
    "SecureEnviron",
    "WSGIHandler",
    "WSGIServer",
    "WSGISecureEnviron",
]

_CONNECTION_ERRORS = tuple(
    code
    for code in (
        errno.EPIPE,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.ESHUTDOWN,
        errno.ENOTCONN,
        errno.EBADF,
        getattr(errno, "EPROTOTYPE", None),
    )
    if code is not None
)
_NO_BODY_CODES = frozenset((204, 304))
_c_recv = _socket.socket.recv


def _canned(status: str, body: str) -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode("latin-1")


_BAD_REQUEST = _canned("400 Bad Request", "")
_REQUEST_TOO_LONG = _canned("414 Request URI Too Long", "")
_INTERNAL_ERROR = _canned("500 Internal Server Error", "Internal Server Error")

_date_cache: list[Any] = [-1, ""]


def format_date_time(timestamp: float) -> str:
    """An HTTP ``Date`` value (RFC 7231 IMF-fixdate) for ``timestamp``."""
    second = int(timestamp)
    if _date_cache[0] != second:
        _date_cache[1] = formatdate(second, usegmt=True)
        _date_cache[0] = second
    value: str = _date_cache[1]
    return value


def _discard_pending(sock: Any) -> None:
    """Drop what the client sent and we will never read, without waiting, so
    that closing sends FIN rather than RST (which can destroy our last
    response before the client reads it)."""
    if not isinstance(sock, _socket.socket) or hasattr(sock, "do_handshake"):
        return
    for _ in range(16):
        try:
            if not _c_recv(sock, 65536, _socket.MSG_DONTWAIT):
                return
        except OSError:
            return


def _as_bytes(data: Any) -> bytes:
    """Body data: bytes-like, or a native string (encoded as Latin-1, as gevent allows)."""
    if isinstance(data, str):
        return data.encode("latin-1")
    return bytes(data)


_error_responses: dict[str, bytes] = {}


def _rejection(ex: InvalidClientRequest) -> tuple[str, bytes]:
    """The status code and canned response for a rejected request."""
    status = ex.status
    response = _error_responses.get(status)
    if response is None:
        response = _error_responses[status] = _canned(status, "")
    return status[:3], response


# A response's status line (RFC 9112 §4: 3DIGIT SP reason-phrase).
_STATUS = re.compile(r"[1-5][0-9][0-9] [\t\x20-\x7e\x80-\xff]*")
# Statuses and header names (tokens, RFC 9110 §5.1) already found valid.
_valid_statuses: set[str] = set()
_valid_names: set[str] = set()


def _check(value: str, pattern: re.Pattern[str], valid: set[str], what: str) -> None:
    """ValueError unless ``pattern`` matches all of ``value`` (then remembered)."""
    if pattern.fullmatch(value) is None:
        if "\r" in value or "\n" in value:
            raise ValueError(f"carriage return or newline in {what}")
        raise ValueError(f"Invalid {what} {value!r}")
    remember(valid, value)


class WSGIHandler:
    """Serve the requests of one connection (see the module docstring)."""

    #: The version this server speaks, in every status line.
    protocol_version = "HTTP/1.1"
    #: Raised when the application breaks the protocol (body on a 304, ...).
    ApplicationError: type[BaseException] = AssertionError
    #: Strictness switches for legacy clients (both off: RFC 9112 strict).
    #: False serves an HTTP/1.1 request without Host (RFC 9112 §3.2 says 400);
    #: a repeated or invalid Host is refused all the same.
    require_host = True
    #: True takes a bare LF as the end of the request line and of header
    #: lines (RFC 9112 §2.2 allows it; a front proxy that does not is a
    #: request-smuggling risk).  Chunked framing always needs CRLF.
    accept_bare_lf = False
    #: The class of :attr:`headers`, made from the request's (name, value) lines.
    MessageClass: type[RequestHeaders] = RequestHeaders
    #: ``errno`` values of socket errors that mean the client went away: the
    #: connection is closed quietly instead of reporting them.
    ignored_socket_errors: tuple[int, ...] = _CONNECTION_ERRORS

    status: str | None = None
    code: int | None = None
    response_headers: list[tuple[str, str]] | None = None
    headers_sent = False
    response_use_chunked = False
    response_length = 0
    provided_content_length: int | None = None
    provided_date = False
    close_connection = False
    #: Whether the client asked to switch protocols (``Connection: upgrade``
    #: or an ``Upgrade`` header): this is the connection's last request, and
    #: if it has no body ``wsgi.input`` reads the connection as it comes.
    _upgrade_requested = False
    #: Whether the protocol was switched: a ``101`` response was sent to an
    #: upgrade request.  From then on what the application writes goes out
    #: as it is (never chunked) and the connection closes after the request.
    connection_upgraded = False
    requestline: str | None = None
    command: str | None = None
    path: str | None = None
    request_version: str | None = None
    headers: RequestHeaders | None = None
    content_length: int | None = None
    environ: Any = None
    application: Any = None
    result: Any = None
    wsgi_input: Input | None = None
    # The current request target's path (with query) and, for the
    # absolute-form, its authority (greenkit.pywsgi._http11.split_target).
    _target_path: str | None = None
    _target_authority: str | None = None
    time_start = 0.0
    time_finish = 0.0
    #: The body's length when all of it goes out with the headers (else None).
    _known_length: int | None = None

    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        self.socket = sock
        self.client_address = address
        self.server = server
        self.rfile = sock.makefile("rb", -1) if rfile is None else rfile

    # -- the connection ------------------------------------------------------

    def handle(self) -> None:
        """Serve requests until the connection is to be closed, then close it."""
        try:
            while self.socket is not None:
                self.time_start = time.time()
                self.time_finish = 0.0
                result = self.handle_one_request()
                if result is None:
                    break
                if result is True:
                    continue
                self.status, body = result
                self.socket.sendall(body)
                if not self.time_finish:
                    self.time_finish = time.time()
                self.log_request()
                break
        except Exception as ex:  # noqa: BLE001 - one connection must not hurt the server
            self._handle_client_error(ex)
        finally:
            self._close()

    def _close(self) -> None:
        rfile, self.rfile = self.rfile, None
        sock, self.socket = self.socket, None
        try:
            if rfile is not None:
                rfile.close()
        except OSError:
            pass
        if sock is not None:
            _discard_pending(sock)
            sock.close()

    def _is_connection_error(self, ex: BaseException) -> bool:
        return isinstance(ex, (ConnectionError, TimeoutError)) or (
            isinstance(ex, OSError) and ex.errno in self.ignored_socket_errors
        )

    def _send_error_response_if_possible(self, response: bytes) -> None:
        self.close_connection = True
        if self.headers_sent or self.socket is None:
            return
        self.headers_sent = True
        self.status = response[9 : response.index(b"\r\n")].decode("latin-1")
        try:
            self.socket.sendall(response)
        except OSError:
            pass

    def _handle_client_error(self, ex: BaseException) -> None:
        """An error outside the application: close quietly if the client went
        away or sent garbage (400), report anything else and answer 500."""
        if self._is_connection_error(ex):
            return
        if isinstance(ex, InvalidClientRequest):
            self.log_error("Invalid request: %s", str(ex) or type(ex).__name__)
            self._send_error_response_if_possible(_rejection(ex)[1])
            return
        self.handle_error(*sys.exc_info())

    def handle_error(self, type_: Any, value: Any, tb: Any) -> None:
        """Report an unexpected error to the hub (with the request's environ,
        as a ``secure_environ_class``, for context) and answer 500 if no
        header was sent yet; the connection will be closed."""
        context: Any = self
        if self.environ is not None:
            context = self.server.secure_environ_class(self.environ)
        get_hub().handle_error(context, type_, value, tb)
        self._send_error_response_if_possible(_INTERNAL_ERROR)

    def _print_unexpected_exc(self) -> None:
        """Print the exception being handled (for errors with nowhere to go)."""
        import traceback

        traceback.print_exc()

    # -- reading a request ---------------------------------------------------

    def read_requestline(self) -> Any:
        """The request line (bytes or str; empty or None ends the connection)."""
        return self.rfile.readline(MAX_REQUEST_LINE)

    def handle_one_request(self) -> Any:
        """Read and answer one request.

        Returns None to close the connection, True to read another request,
        or ``(status, response_bytes)`` to send before closing.
        """
        if self.rfile is None or self.rfile.closed:
            return None
        try:
            line = self.read_requestline()
        except OSError:
            return None
        if (
            line == b"\r\n"
            or line == "\r\n"
            or (self.accept_bare_lf and (line == b"\n" or line == "\n"))
        ):
            # RFC 9112 §2.2: one empty line before a request line is ignored.
            try:
                line = self.read_requestline()
            except OSError:
                return None
        if not line:
            return None
        if isinstance(line, bytes):
            line = line.decode("latin-1")
        self.requestline = line.rstrip("\r\n")
        self.response_length = 0
        self.headers_sent = False
        self.status = None
        self.environ = None
        self._target_path = self._target_authority = None
        if len(line) >= MAX_REQUEST_LINE and not line.endswith("\n"):
            return ("414", _REQUEST_TOO_LONG)
        try:
            if not self.read_request(line):
                return ("400", _BAD_REQUEST)
        except InvalidClientRequest as ex:
            self.log_error("Invalid request: %s", str(ex) or type(ex).__name__)
            self.close_connection = True
            return _rejection(ex)
        self.environ = self.get_environ()
        self.application = self.server.application
        self.handle_one_response()
        if self.close_connection or self.rfile is None or self.rfile.closed:
            return None
        return True

    def _read_headers(self) -> RequestHeaders:
        items = read_fields(self.rfile.readline, self.accept_bare_lf)
        if items is None:
            raise InvalidClientRequest("connection closed inside the headers")
        return self.MessageClass(items)

    def read_request(self, raw_requestline: str) -> bool:
        """Parse the request line and headers by RFC 9112 (see
        :mod:`greenkit.pywsgi._http11`); False (or InvalidClientRequest, whose
        ``status`` is the response's) for a malformed request."""
        bare_lf = self.accept_bare_lf
        command, path, version = parse_request_line(raw_requestline, bare_lf)
        self.command, self.path, self.request_version = command, path, version
        if path[0] == "/" and "#" not in path and command != "CONNECT":
            self._target_path, self._target_authority = path, None  # origin-form
        else:
            self._target_path, self._target_authority = split_target(command, path)
        headers = self.headers = self._read_headers()
        fields = headers._index
        http10 = version == "HTTP/1.0"
        check_host(fields.get("host"), http10, self.require_host)
        connection = fields.get("connection")
        if http10:
            self.close_connection = not has_token(connection, "keep-alive")
        else:
            self.close_connection = command == "CONNECT" or (
                connection is not None and has_token(connection, "close")
            )
        self._upgrade_requested = has_token(connection, "upgrade") or "upgrade" in fields
        if self._upgrade_requested:
            # Whatever the answer, this connection serves no other request.
            self.close_connection = True
        encodings, lengths = fields.get("transfer-encoding"), fields.get("content-length")
        if encodings is None and lengths is None:
            self.content_length, chunked = None, False
        else:
            self.content_length, chunked = body_framing(encodings, lengths, http10)
        continue_socket = None
        if (
            not http10
            and (headers.get("Expect") or "").lower() == "100-continue"
            and (chunked or self.content_length)
        ):
            continue_socket = self.socket
        self.wsgi_input = Input(
            self.rfile, self.content_length, socket=continue_socket, chunked_input=chunked
        )
        if self._upgrade_requested and not chunked and self.content_length is None:
            # No body: what follows the headers is the new protocol's.
            self.wsgi_input._passthrough = True
        return True

    def get_environ(self) -> Any:
        """The WSGI environ of the current request."""
        server = self.server
        env = server.get_environ()
        env["REQUEST_METHOD"] = self.command
        env["SCRIPT_NAME"] = ""
        path = self._target_path
        if path is None:
            path = self.path or ""
        raw_path, _, query = path.partition("?")
        if "%" in raw_path:
            env["PATH_INFO"] = unquote_to_bytes(raw_path).decode("latin-1")
        else:
            env["PATH_INFO"] = raw_path
        env["QUERY_STRING"] = query
        env["SERVER_PROTOCOL"] = self.request_version
        address = self.client_address
        if isinstance(address, tuple) and len(address) >= 2:
            env["REMOTE_ADDR"] = str(address[0])
            env["REMOTE_PORT"] = str(address[1])
        else:
            env["REMOTE_ADDR"] = str(address or "")
        headers = self.headers
        if headers is not None:
            for name, value in headers._items:
                key = name.upper().replace("-", "_")
                if "_" in name:
                    continue
                if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
                    env[key] = value
                    continue
                key = "HTTP_" + key
                if key in env:
                    separator = "; " if key in ("HTTP_COOKIE", "HTTP_COOKIE2") else ","
                    env[key] = f"{env[key]}{separator}{value}"
                else:
                    env[key] = value
        if self._target_authority is not None:
            # RFC 9112 §3.2.2: the absolute-form's authority is the host.
            env["HTTP_HOST"] = self._target_authority
        env["wsgi.input"] = self.wsgi_input
        env["wsgi.input_terminated"] = not self._upgrade_requested
        env["wsgi.url_scheme"] = "https" if server.ssl_enabled else "http"
        env["wsgi.errors"] = server.error_log
        return env

    # -- answering -----------------------------------------------------------

    def handle_one_response(self) -> None:
        """Run the application for the current request and send its response."""
        self.time_start = time.time()
        self.status = None
        self.code = None
        self.response_headers = None
        self.headers_sent = False
        self.response_use_chunked = False
        self.response_length = 0
        self.provided_content_length = None
        self.provided_date = False
        self.connection_upgraded = False
        self.result = None
        try:
            try:
                self.run_application()
            finally:
                close = getattr(self.result, "close", None)
                self.result = None
                if close is not None:
                    close()
            self._finish_input()
        except InvalidClientRequest as ex:
            self.log_error("Invalid request: %s", str(ex) or type(ex).__name__)
            self._send_error_response_if_possible(_rejection(ex)[1])
        except Exception as ex:  # noqa: BLE001 - reported; the server goes on
            if self._is_connection_error(ex):
                self.close_connection = True
            else:
                self.handle_error(*sys.exc_info())
        finally:
            self.time_finish = time.time()
            self.log_request()

    def _finish_input(self) -> None:
        """Before the next request on this connection: skip an unread body
        (a body whose framing failed is never read on: the connection closes)."""
        if self.close_connection:
            return
        wsgi_input = self.wsgi_input
        if wsgi_input is None or wsgi_input.complete:
            return
        try:
            wsgi_input._discard()
        except (OSError, ValueError):
            self.close_connection = True
        if not wsgi_input.complete:
            self.close_connection = True

    def run_application(self) -> None:
        """Call the application and send what it returns."""
        self.result = self.application(self.environ, self.start_response)
        self.process_result()

    def process_result(self) -> None:
        """Send the application's result (see the module docstring)."""
        result = self.result
        if (
            type(result) in (list, tuple)
            and not self.headers_sent
            and self.provided_content_length is None
            and self.code not in _NO_BODY_CODES
            and self.code is not None
            and self.code >= 200
        ):
            try:
                body = b"".join(result)
            except TypeError:
                body = b"".join(_as_bytes(data) for data in result)
            self._send_response_start(len(body), body)
            return
        for data in result:
            if data:
                self.write(data)
        if not self.headers_sent:
            if self.status is None:
                # Nothing started and nothing to send: just hang up.
                self.close_connection = True
                return
            self._send_response_start(None, b"")
        if self.response_use_chunked:
            self.socket.sendall(b"0\r\n\r\n")
        if (
            self.provided_content_length is not None
            and self.provided_content_length != self.response_length
        ):
            self.close_connection = True

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[Any], None]:
        """The WSGI ``start_response``: validate and remember the status and
        headers (sent with the first body bytes); return ``write``."""
        if exc_info:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        if not isinstance(status, str):
            raise UnicodeError(f"The status string must be a native string: {status!r}")
        if status not in _valid_statuses:
            _check(status, _STATUS, _valid_statuses, "status")
        lines = []
        provided_length = None
        provided_date = False
        for name, value in headers:
            if not isinstance(name, str) or not isinstance(value, str):
                raise UnicodeError(f"The header must be a native string: {name!r}: {value!r}")
            if name not in _valid_names:
                _check(name, TOKEN, _valid_names, "header name")
            if "\r" in value or "\n" in value:
                raise ValueError("carriage return or newline in header value")
            if "\x00" in value:
                raise ValueError("NUL in header value")
            lower = name.lower()
            if lower == "content-length":
                provided_length = value
            elif lower == "date":
                provided_date = True
            elif lower == "connection" and value.lower() == "close":
                self.close_connection = True
            lines.append(f"{name}: {value}\r\n")
        code = int(status[:3])
        if code == 304 and provided_length not in (None, "0"):
            raise self.ApplicationError(
                f"Invalid Content-Length for 304 response: {provided_length!r} "
                f"(must be absent or zero)"
            )
        block = "".join(lines).encode("latin-1")
        status_bytes = status.encode("latin-1")
        self.status = status
        self.code = code
        self.response_headers = list(headers)
        self._status_bytes = status_bytes
        self._header_bytes = block
        self.provided_date = provided_date
        self.provided_content_length = (
            int(provided_length)
            if provided_length is not None and provided_length.strip().isdigit()
            else None
        )
        return self.write

    def finalize_headers(self) -> None:
        """Add the headers the server supplies to :attr:`response_headers`,
        just before the status line and headers are sent: ``Date`` (unless
        :attr:`provided_date`), the body's framing when the application gave
        no ``Content-Length`` (``Content-Length`` when the whole body is
        known, ``Transfer-Encoding: chunked`` for other HTTP/1.1 bodies; an
        HTTP/1.0 body ends with the connection) and ``Connection`` (``close``,
        or ``keep-alive`` to an HTTP/1.0 client).  A subclass may extend it:
        whatever it appends to ``response_headers`` is sent too."""
        added = self.response_headers
        assert added is not None
        if not self.provided_date:
            added.append(("Date", format_date_time(time.time())))
        code = self.code or 0
        no_body = code < 200 or code in _NO_BODY_CODES
        if not no_body and self.provided_content_length is None:
            if self._known_length is not None:
                added.append(("Content-Length", str(self._known_length)))
            elif self.command == "HEAD":
                pass
            elif self.request_version == "HTTP/1.1":
                self.response_use_chunked = True
                added.append(("Transfer-Encoding", "chunked"))
            else:
                self.close_connection = True
        if self.close_connection:
            if b"\nconnection:" not in b"\n" + self._header_bytes.lower():
                added.append(("Connection", "close"))
        elif self.request_version == "HTTP/1.0":
            added.append(("Connection", "keep-alive"))

    def _send_response_start(self, body_length: int | None, body: bytes) -> None:
        """Send the status line and headers (the application's, then those
        :meth:`finalize_headers` adds), followed by ``body``."""
        if self.status is None or self.response_headers is None:
            raise self.ApplicationError("The application did not call start_response()")
        wsgi_input = self.wsgi_input
        if wsgi_input is not None and wsgi_input._error is not None:
            self.close_connection = True  # the request body's framing failed
        given = len(self.response_headers)
        self._known_length = body_length
        self.finalize_headers()
        added = "".join(
            [f"{name}: {value}\r\n" for name, value in self.response_headers[given:]]
        ).encode("latin-1")
        extra = [b"HTTP/1.1 ", self._status_bytes, b"\r\n", self._header_bytes, added, b"\r\n"]
        self.headers_sent = True
        if self.code == 101 and self._upgrade_requested:
            self.connection_upgraded = True
        if body and self.command != "HEAD":
            if self.response_use_chunked:
                extra.append(b"%x\r\n" % len(body))
                extra.append(body)
                extra.append(b"\r\n")
            else:
                extra.append(body)
            self.response_length += len(body)
        self.socket.sendall(b"".join(extra))

    def write(self, data: Any) -> None:
        """Send body bytes (the headers first, if not yet sent)."""
        code = self.code
        if code in _NO_BODY_CODES and data:
            raise self.ApplicationError(f"The {code} response must have no body")
        if not isinstance(data, bytes):
            if not isinstance(data, (str, bytearray, memoryview)):
                raise TypeError(f"The application must write bytes, not {type(data).__name__}")
            data = _as_bytes(data)
        if not self.headers_sent:
            self._send_response_start(None, data)
            return
        if not data or self.command == "HEAD":
            return
        self.response_length += len(data)
        if self.response_use_chunked:
            self.socket.sendall(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.socket.sendall(data)

    # -- logging -------------------------------------------------------------

    def format_request(self) -> str:
        """The access-log line of the current request (no newline)."""
        now = datetime.now().replace(microsecond=0)
        length = self.response_length or "-"
        if self.time_finish:
            delta = f"{self.time_finish - self.time_start:.6f}"
        else:
            delta = "-"
        address = self.client_address
        if isinstance(address, tuple):
            address = address[0]
        status = (self.status or "000").split()[0]
        return f'{address or "-"} - - [{now}] "{self.requestline or ""}" {status} {length} {delta}'

    def log_request(self) -> None:
        """Write the access-log line to the server's ``log``."""
        log = self.server.log
        if log:
            log.write(self.format_request() + "\n")

    def log_error(self, msg: str, *args: Any) -> None:
        """Write ``msg % args`` to the server's ``error_log``."""
        try:
            message = msg % args if args else msg
        except (TypeError, ValueError):
            message = f"{msg!r} {args!r}"
        try:
            self.server.error_log.write(message + "\n")
        except Exception:  # noqa: BLE001 - logging must not break the connection
            self._print_unexpected_exc()


# The default handler of every server (set here: _server cannot import it).
WSGIServer.handler_class = WSGIHandler
