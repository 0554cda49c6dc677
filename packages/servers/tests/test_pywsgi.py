"""greenkit.pywsgi: requests over real connections to a WSGIServer."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import connect, exchange, one, read_all, read_response

from greenkit.greenlet import Greenlet
from greenkit.hub import sleep
from greenkit.pool import Pool
from greenkit.pywsgi import (
    Environ,
    LoggingLogAdapter,
    SecureEnviron,
    WSGIHandler,
    WSGIServer,
)

pytestmark = pytest.mark.fd_leak_check


def application(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ["PATH_INFO"]
    if path == "/":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello ", b"world"]
    if path == "/gen":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"a", b"", b"bc"])
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [body]
    if path == "/ignore-body":
        start_response("200 OK", [])
        return [b"ignored"]
    if path == "/write":
        write = start_response("200 OK", [])
        write(b"written ")
        return [b"returned"]
    if path == "/length":
        start_response("200 OK", [("Content-Length", "5")])
        return iter([b"12", b"345"])
    if path == "/304":
        start_response("304 Not Modified", [])
        return []
    if path == "/environ":
        start_response("200 OK", [])
        keys = (
            "REQUEST_METHOD",
            "PATH_INFO",
            "QUERY_STRING",
            "SERVER_PROTOCOL",
            "REMOTE_ADDR",
            "SERVER_PORT",
            "HTTP_X_THING",
            "HTTP_COOKIE",
            "CONTENT_TYPE",
            "CONTENT_LENGTH",
            "wsgi.url_scheme",
            "wsgi.multithread",
            "wsgi.multiprocess",
            "wsgi.input_terminated",
            "SCRIPT_NAME",
            "HTTP_X_BAD_NAME",
        )
        return [repr({key: environ.get(key) for key in keys}).encode()]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


@pytest.fixture
def server() -> Iterator[WSGIServer]:
    with WSGIServer(
        ("127.0.0.1", 0), application, log=None, error_log=None, spawn=Pool(20)
    ) as server:
        server.start()
        yield server


def test_list_result_gets_content_length(server: WSGIServer) -> None:
    response = one(server, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert response.status == "HTTP/1.1 200 OK"
    assert response.headers["Content-Length"] == "11" and response.body == b"hello world"
    assert "Date" in response.headers and "Transfer-Encoding" not in response.headers


def test_keep_alive_and_pipelining(server: WSGIServer) -> None:
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
    first, second, third = exchange(
        server, request + b"GET /gen HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3
    )
    assert first is not None and first.body == b"hello world"
    assert "Connection" not in first.headers
    assert second is not None and second.code == 404 and second.body == b"not found"
    assert third is not None and third.chunks == [b"a", b"bc"]
    assert third.headers["Connection"] == "close"


def test_connection_close_ends_the_connection(server: WSGIServer) -> None:
    request = (
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    first, second = exchange(server, request, 2)
    assert first is not None and first.body == b"hello world"
    assert second is None


def test_http10_closes_unless_keep_alive(server: WSGIServer) -> None:
    first, second = exchange(server, b"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n", 2)
    assert first is not None and first.headers["Connection"] == "close"
    assert first.status.startswith("HTTP/1.1 200")
    assert second is None
    first, second = exchange(
        server, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /gen HTTP/1.0\r\n\r\n", 2
    )
    assert first is not None and first.headers["Connection"] == "keep-alive"
    assert second is not None and second.chunks is None and second.body == b"abc"


def test_generator_result_is_chunked(server: WSGIServer) -> None:
    response = one(server, b"GET /gen HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.chunks == [b"a", b"bc"]


def test_write_then_return(server: WSGIServer) -> None:
    response = one(server, b"GET /write HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.chunks == [b"written ", b"returned"]


def test_provided_content_length_is_used(server: WSGIServer) -> None:
    response = one(server, b"GET /length HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.headers["Content-Length"] == "5" and response.body == b"12345"
    assert response.chunks is None


def test_head_has_no_body(server: WSGIServer) -> None:
    with connect(server) as client, client.makefile("rb") as rfile:
        client.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /gen HTTP/1.1\r\nHost: x\r\n\r\n")
        first = read_response(rfile, head=True)
        second = read_response(rfile)
    assert first is not None and first.headers["Content-Length"] == "11"
    assert second is not None and second.body == b"abc"  # nothing stray in between


def test_304_has_no_body(server: WSGIServer) -> None:
    first, second = exchange(
        server, b"GET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 2
    )
    assert first is not None and first.code == 304
    assert "Content-Length" not in first.headers and "Transfer-Encoding" not in first.headers
    assert second is not None and second.body == b"hello world"


def test_request_bodies(server: WSGIServer) -> None:
    request = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\noh\r\n4;ext=1\r\n hai\r\n0\r\nTrailer: x\r\n\r\n"
        b"POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nskip"
        b"POST /ignore-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n"
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    bodies = [response.body if response else None for response in exchange(server, request, 5)]
    assert bodies == [b"hello", b"oh hai", b"ignored", b"ignored", b"hello world"]


def test_expect_100_continue(server: WSGIServer) -> None:
    with connect(server) as client, client.makefile("rb") as rfile:
        client.sendall(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = read_response(rfile)
        assert interim is not None and interim.status == "HTTP/1.1 100 Continue"
        client.sendall(b"body")
        final = read_response(rfile)
        assert final is not None and final.body == b"body"


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP %\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -100\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_requests_get_400(server: WSGIServer, request_bytes: bytes) -> None:
    first, second = exchange(server, request_bytes + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2)
    assert first is not None and first.code == 400
    assert first.headers["Connection"] == "close"
    assert second is None


def test_long_request_line_gets_414(server: WSGIServer) -> None:
    response = one(server, b"GET /" + b"x" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.code == 414


def test_too_many_or_too_long_headers_get_431(server: WSGIServer) -> None:
    many = b"".join(b"X-%d: y\r\n" % i for i in range(200))
    assert one(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n").code == 431
    long = b"X-Long: " + b"y" * 10000 + b"\r\n"
    assert one(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + long + b"\r\n").code == 431


def test_environ(server: WSGIServer) -> None:
    response = one(
        server,
        b"POST /environ?a=1&b=%20 HTTP/1.1\r\nHost: h\r\n"
        b"X-Thing: one\r\nX-Thing: two\r\nX_Bad_Name: dropped\r\n"
        b"Cookie: a=1\r\nCookie: b=2\r\nContent-Type: text/x;\r\n"
        b"  charset=utf-8\r\nContent-Length: 0\r\n\r\n",
    )
    environ = eval(response.body)  # noqa: S307 - our own repr of a dict of literals
    assert environ == {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/environ",
        "QUERY_STRING": "a=1&b=%20",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PORT": str(server.server_port),
        "HTTP_X_THING": "one,two",
        "HTTP_COOKIE": "a=1; b=2",
        "CONTENT_TYPE": "text/x; charset=utf-8",
        "CONTENT_LENGTH": "0",
        "wsgi.url_scheme": "http",
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.input_terminated": True,
        "SCRIPT_NAME": "",
        "HTTP_X_BAD_NAME": None,
    }


def test_path_is_unquoted_as_latin1(server: WSGIServer) -> None:
    seen = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return []

    server.application = app
    response = one(server, b"GET /%D0%BF%20x HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.headers["Content-Length"] == "0"
    assert seen == [b"/\xd0\xbf x".decode("latin-1")]


def test_non_latin1_header_is_a_unicode_error(server: WSGIServer, handle_errors: list[Any]) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("X", "\u1f4a3")])
        return []

    server.application = app
    assert one(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").code == 500
    [(context, type_, _)] = handle_errors
    assert issubclass(type_, UnicodeError) and isinstance(context, SecureEnviron)


def test_application_error_gives_500_and_is_reported(
    server: WSGIServer, handle_errors: list[Any]
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise LookupError("boom")

    server.application = app
    first, second = exchange(
        server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 2
    )
    assert first is not None and first.code == 500 and first.body == b"Internal Server Error"
    assert second is None
    [(context, type_, value)] = handle_errors
    assert type_ is LookupError and str(value) == "boom"
    assert isinstance(context, SecureEnviron) and context["PATH_INFO"] == "/"


def test_error_after_headers_closes_connection(
    server: WSGIServer, handle_errors: list[Any]
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"partial"
        raise LookupError("late")

    server.application = app
    with connect(server) as client:
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_all(client)
    assert data.endswith(b"7\r\npartial\r\n")  # no terminating chunk
    assert [type_ for _, type_, _ in handle_errors] == [LookupError]


def test_body_on_304_is_an_application_error(server: WSGIServer, handle_errors: list[Any]) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("304 Not Modified", [])
        return [b"body"]

    server.application = app
    assert one(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").code == 500
    [(_, type_, value)] = handle_errors
    assert type_ is AssertionError and str(value) == "The 304 response must have no body"


def test_result_close_is_called_once(server: WSGIServer) -> None:
    closed = []

    class Result:
        def __iter__(self) -> Iterator[bytes]:
            yield b"x"

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Any) -> Result:
        start_response("200 OK", [])
        return Result()

    server.application = app
    assert one(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").chunks == [b"x"]
    assert closed == [True]


def test_handler_subclass_can_take_over_request_line(server: WSGIServer) -> None:
    class Handler(WSGIHandler):
        def read_requestline(self) -> Any:
            data = self.rfile.read(1)
            if data == b"<":
                self.socket.sendall(b"HELLO")
                return None
            return data + self.rfile.readline()

    server.handler_class = Handler
    with connect(server) as client:
        client.sendall(b"<policy/>")
        assert read_all(client) == b"HELLO"
    assert one(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").body == b"hello world"


def test_access_log_line(server: WSGIServer) -> None:
    lines: list[str] = []

    class Log:
        def write(self, line: str) -> None:
            lines.append(line)

    server.log = Log()
    one(server, b"GET /missing?q=%25s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    [line] = lines
    assert line.startswith("127.0.0.1 - - [")
    assert '"GET /missing?q=%25s HTTP/1.1" 404 9 ' in line and line.endswith("\n")


def test_logging_logger_is_wrapped() -> None:
    logger = logging.getLogger("greenkit.tests.pywsgi")
    server = WSGIServer(("127.0.0.1", 0), application, log=logger, error_log=logger)
    assert isinstance(server.log, LoggingLogAdapter)
    records = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append((record.levelno, record.getMessage()))

    handler = Catch()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        server.log.write("access line\n")
        server.error_log.write("error line")
    finally:
        logger.removeHandler(handler)
    assert records == [(logging.INFO, "access line"), (logging.ERROR, "error line")]
    server.log.custom = 1
    assert logger.custom == 1  # type: ignore[attr-defined]
    del server.log.custom
    assert not hasattr(logger, "custom")
    server.close()


def test_secure_environ_repr() -> None:
    environ = SecureEnviron(key="value")
    assert repr(environ).startswith("<pywsgi.SecureEnviron dict (keys: 1) at ")
    assert str(environ) == repr(environ)
    environ.secure_repr = False
    assert repr(environ) == repr({"key": "value"})
    del environ.secure_repr
    environ.whitelist_keys = ("other",)
    assert repr(environ) == repr({"key": "<MASKED>"})
    environ.print_masked_keys = False
    assert repr(environ) == repr({})
    assert isinstance(environ.copy(), SecureEnviron)


def test_environ_pickles_as_dict() -> None:
    for cls in (Environ, SecureEnviron):
        data = pickle.dumps(cls(a=1), pickle.HIGHEST_PROTOCOL)
        assert b"Environ" not in data
        assert pickle.loads(data) == {"a": 1} and type(pickle.loads(data)) is dict


def test_environ_class_and_multiprocess(server: WSGIServer) -> None:
    seen = []

    def app(environ: Any, start_response: Any) -> list[bytes]:
        seen.append(type(environ))
        start_response("200 OK", [])
        return []

    server.application = app
    server.environ_class = Environ
    one(server, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert seen == [Environ]
    other = WSGIServer(("127.0.0.1", 0), app, environ={"wsgi.multiprocess": True})
    assert other.max_accept == 1 and other.environ["wsgi.multiprocess"] is True
    other.close()


def test_many_concurrent_keep_alive_clients(server: WSGIServer) -> None:
    def client() -> list[bytes]:
        responses = exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 5, 5)
        return [response.body for response in responses if response is not None]

    jobs = [Greenlet.spawn(client) for _ in range(15)]
    assert all(job.get(timeout=20) == [b"hello world"] * 5 for job in jobs)


def test_errors_on_a_later_request_of_a_connection(
    server: WSGIServer, handle_errors: list[Any]
) -> None:
    class Handler(WSGIHandler):
        def get_environ(self) -> Any:
            if self.path == "/broken":
                raise LookupError("environ")
            return WSGIHandler.get_environ(self)

    server.handler_class = Handler
    first, second, third = exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n", 3)
    assert first is not None and first.body == b"hello world"
    assert second is not None and second.code == 400 and third is None
    first, second = exchange(
        server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /broken HTTP/1.1\r\nHost: x\r\n\r\n", 2
    )
    assert first is not None and first.body == b"hello world"
    assert second is not None and second.code == 500
    assert [type_ for _, type_, _ in handle_errors] == [LookupError]


def test_request_arriving_in_pieces(server: WSGIServer) -> None:
    request = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
    )
    with connect(server) as client:
        for start in range(0, len(request), 7):
            client.sendall(request[start : start + 7])
            sleep(0.001)
        with client.makefile("rb") as rfile:
            response = read_response(rfile)
    assert response is not None and response.body == b"hello"


@pytest.mark.parametrize(
    "partial",
    [
        b"GET / HT",
        b"GET / HTTP/1.1\r\nHost: x\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    ],
)
def test_client_leaving_mid_request_is_not_an_error(
    server: WSGIServer, partial: bytes, handle_errors: list[Any]
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            body = environ["wsgi.input"].read()
        except OSError:
            body = b"short"
        start_response("200 OK", [])
        return [body]

    server.application = app
    with connect(server) as client:
        client.sendall(partial)
    sleep(0.05)
    assert one(server, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").code == 200
    assert handle_errors == []
