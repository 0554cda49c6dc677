"""greenkit.pywsgi against RFC 9112 / RFC 9110, rule by rule (each test
names its section): what is served, what is refused, and that the connection
is closed after every refusal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Response, connect, exchange, read_all, read_response

from greenkit.pool import Pool
from greenkit.pywsgi import WSGIHandler, WSGIServer

pytestmark = pytest.mark.fd_leak_check

NEXT = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"


class Recorder:
    """A WSGI application that records what it was given and answers 200."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            body = environ["wsgi.input"].read()
        except (OSError, ValueError) as ex:  # a broken body, caught by the app
            body = f"error: {type(ex).__name__}".encode()
        self.seen.append(
            {
                key: environ.get(key)
                for key in (
                    "REQUEST_METHOD",
                    "PATH_INFO",
                    "QUERY_STRING",
                    "HTTP_HOST",
                    "SERVER_PROTOCOL",
                    "HTTP_X",
                )
            }
            | {"body": body}
        )
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def server(recorder: Recorder) -> Iterator[WSGIServer]:
    with WSGIServer(("127.0.0.1", 0), recorder, log=None, error_log=None, spawn=Pool(10)) as server:
        server.start()
        yield server


def refused(server: WSGIServer, request: bytes, code: int = 400) -> None:
    """``request`` (followed by a valid one) gets ``code`` and a close."""
    first, second = exchange(server, request + NEXT, 2)
    assert first is not None and first.code == code, first and first.status
    assert first.headers["Connection"] == "close"
    assert second is None


def served(server: WSGIServer, request: bytes, recorder: Recorder) -> dict[str, Any]:
    """``request`` is served (and the connection stays usable): what the app saw."""
    before = len(recorder.seen)
    first, second = exchange(server, request + NEXT, 2)
    assert first is not None and first.code == 200, first and first.status
    assert second is not None and second.code == 200
    assert [seen["PATH_INFO"] for seen in recorder.seen[before:]][-1] == "/next"
    return recorder.seen[before]


def get(
    target: bytes = b"/",
    *headers: bytes,
    version: bytes = b"HTTP/1.1",
    method: bytes = b"GET",
    host: bytes | None = b"x",
) -> bytes:
    lines = [method + b" " + target + b" " + version]
    if host is not None:
        lines.append(b"Host: " + host)
    return b"\r\n".join([*lines, *headers, b"", b""])


def post(body: bytes, *headers: bytes) -> bytes:
    return get(b"/p", *headers, method=b"POST") + body


# -- RFC 9112 §2.2: message parsing ----------------------------------------------


def test_rfc9112_2_2_one_empty_line_before_a_request_line_is_ignored(
    server: WSGIServer, recorder: Recorder
) -> None:
    assert served(server, b"\r\n" + get(b"/a"), recorder)["PATH_INFO"] == "/a"
    # also between pipelined requests
    responses = exchange(server, get(b"/1") + b"\r\n" + get(b"/2") + NEXT, 3)
    assert [r.code if r else None for r in responses] == [200, 200, 200]
    refused(server, b"\r\n\r\n" + get())  # only one


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\nHost: x\n\n",
        b"GET / HTTP/1.1\r\nHost: x\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\n",
        b"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\r\n",  # used to raise IndexError (500)
        b"GET / HTTP/1.1\r\r\nHost: x\r\n\r\n",
    ],
)
def test_rfc9112_2_2_bare_lf_and_bare_cr_are_refused(
    server: WSGIServer, request_bytes: bytes
) -> None:
    refused(server, request_bytes)


# -- RFC 9112 §3: request line ----------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        b"GET\xa0/ HTTP/1.1",
        b"GET\t/ HTTP/1.1",
        b"GET  / HTTP/1.1",
        b"GET / HTTP/1.1 ",
        b" GET / HTTP/1.1",
        b"GET /\x0bx HTTP/1.1",
        b"GET / HTTP/1.1\x0c",
        b"G\x00ET / HTTP/1.1",
        b"GET / http/1.1",
        b"GET / HTTP/1",
        b"GET / HTTP/1.10",
        b"GET/ HTTP/1.1",
    ],
)
def test_rfc9112_3_request_line_is_split_on_single_sp_only(server: WSGIServer, line: bytes) -> None:
    refused(server, line + b"\r\nHost: x\r\n\r\n")


@pytest.mark.parametrize(
    "target",
    [
        b"/a\x00b",
        b"/a\x01",
        b"/a\x7f",
        b"/\xe9t\xe9",
        b"/a#fragment",
        b"/\x1b[0m",
    ],
)
def test_rfc9112_3_2_control_and_non_ascii_bytes_in_the_target_are_refused(
    server: WSGIServer, target: bytes
) -> None:
    refused(server, get(target))


def test_rfc9110_2_5_major_versions_other_than_1_get_505(server: WSGIServer) -> None:
    refused(server, get(version=b"HTTP/2.0"), 505)
    refused(server, get(version=b"HTTP/0.9"), 505)


def test_rfc9110_2_5_higher_minor_version_is_served_as_1_1(
    server: WSGIServer, recorder: Recorder
) -> None:
    assert served(server, get(version=b"HTTP/1.2"), recorder)["SERVER_PROTOCOL"] == "HTTP/1.2"


def test_rfc9112_3_2_2_absolute_form_path_and_authority(
    server: WSGIServer, recorder: Recorder
) -> None:
    seen = served(server, get(b"http://example.com:8080/p/a%20b?q=1", host=b"other"), recorder)
    assert (seen["PATH_INFO"], seen["QUERY_STRING"], seen["HTTP_HOST"]) == (
        "/p/a b",
        "q=1",
        "example.com:8080",
    )
    seen = served(server, get(b"HTTPS://[::1]?x"), recorder)
    assert (seen["PATH_INFO"], seen["QUERY_STRING"], seen["HTTP_HOST"]) == ("/", "x", "[::1]")


@pytest.mark.parametrize(
    "target",
    [
        b"http://user@example.com/",
        b"http:///path",
        b"http://",
        b"ftp://example.com/",
        b"http://exa mple/",
        b"http://[::zz]/",
        b"http://example.com:80a/",
        b"mailto:a@b",
        b"foo",
        b"example.com:80",
    ],
)
def test_rfc9112_3_2_targets_of_no_form_are_refused(server: WSGIServer, target: bytes) -> None:
    refused(server, get(target))


def test_rfc9112_3_2_4_asterisk_form_only_for_options(
    server: WSGIServer, recorder: Recorder
) -> None:
    seen = served(server, get(b"*", method=b"OPTIONS"), recorder)
    assert (seen["REQUEST_METHOD"], seen["PATH_INFO"]) == ("OPTIONS", "*")
    refused(server, get(b"*"))
    refused(server, get(b"*", method=b"POST"))


def test_rfc9112_3_2_3_authority_form_only_for_connect(
    server: WSGIServer, recorder: Recorder
) -> None:
    first, second = exchange(
        server, get(b"example.com:443", method=b"CONNECT", host=b"example.com:443") + NEXT, 2
    )
    assert first is not None and first.code == 200 and second is None  # closed after
    seen = recorder.seen[-1]
    assert (seen["REQUEST_METHOD"], seen["PATH_INFO"], seen["HTTP_HOST"]) == (
        "CONNECT",
        "",
        "example.com:443",
    )
    refused(server, get(b"example.com:443"))
    for target in (b"/", b"example.com", b"example.com:", b"http://example.com:443/"):
        refused(server, get(target, method=b"CONNECT"))


# -- RFC 9112 §3.2 / RFC 9110 §7.2: Host ---------------------------------------------


@pytest.mark.parametrize(
    "host",
    [b"", b"example.com:8080", b"[::1]:80", b"127.0.0.1", b"xn--bcher-kva.example", b"a%20b"],
)
def test_rfc9112_3_2_valid_hosts_are_served(
    server: WSGIServer, recorder: Recorder, host: bytes
) -> None:
    assert served(server, get(host=host), recorder)["HTTP_HOST"] == host.decode()


@pytest.mark.parametrize(
    "host", [b"a b", b"a@b", b"[::1", b"[zz::1]", b"a:b", b"a/b", b"a%2", b"\xe9"]
)
def test_rfc9112_3_2_invalid_host_values_are_refused(server: WSGIServer, host: bytes) -> None:
    refused(server, get(host=host))


def test_rfc9112_3_2_host_is_required_once_in_http11(
    server: WSGIServer, recorder: Recorder
) -> None:
    refused(server, get(host=None))
    refused(server, get(b"/", b"Host: y"))
    refused(server, get(b"/", b"Host: x", version=b"HTTP/1.0"))  # never twice
    first, second = exchange(server, get(host=None, version=b"HTTP/1.0") + NEXT, 2)
    assert first is not None and first.code == 200 and second is None


# -- RFC 9112 §5 / RFC 9110 §5.5: field lines -------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        b"X: a\x00b",
        b"X: a\x01b",
        b"X: a\x7fb",
        b"X: \x0b",
        b"X : y",
        b": y",
        b"X\x00: y",
        b"X\t: y",
        b"\xe9: y",
        b"X y",
    ],
)
def test_rfc9110_5_5_bad_field_lines_are_refused(server: WSGIServer, line: bytes) -> None:
    refused(server, get(b"/", line))


def test_rfc9112_5_2_obs_fold_is_replaced_by_sp(server: WSGIServer, recorder: Recorder) -> None:
    seen = served(server, get(b"/", b"X: one", b" \ttwo ", b"\tthree"), recorder)
    assert seen["HTTP_X"] == "one two three"
    refused(server, b"GET / HTTP/1.1\r\n folded: first\r\nHost: x\r\n\r\n")


def test_rfc9110_5_5_field_values_keep_obs_text_and_inner_whitespace(
    server: WSGIServer, recorder: Recorder
) -> None:
    assert served(server, get(b"/", b"X: \t a \xe9\tb  "), recorder)["HTTP_X"] == "a \xe9\tb"


# -- RFC 9112 §6: message body framing ----------------------------------------------------


def test_rfc9112_6_1_transfer_encoding_in_http10_is_refused(server: WSGIServer) -> None:
    refused(
        server,
        get(b"/", b"Transfer-Encoding: chunked", method=b"POST", version=b"HTTP/1.0")
        + b"0\r\n\r\n",
    )


@pytest.mark.parametrize(
    "headers",
    [
        (b"Transfer-Encoding: chunked", b"Content-Length: 5"),
        (b"Content-Length: 5", b"Transfer-Encoding: chunked"),
        (b"Content-Length: 0", b"Transfer-Encoding: gzip, chunked"),
    ],
)
def test_rfc9112_6_1_transfer_encoding_with_content_length_is_refused(
    server: WSGIServer, recorder: Recorder, headers: tuple[bytes, ...]
) -> None:
    refused(server, post(b"0\r\n\r\n", *headers))
    assert recorder.seen == []


@pytest.mark.parametrize(
    "values",
    [
        (b"chunked, gzip",),
        (b"gzip",),
        (b"identity",),
        (b"chunked, chunked",),
        (b"chunked", b"chunked"),
        (b"chunked;x=1",),
        (b"chunked\x0b",),
        (b"\x0cchunked",),
        (b"chunk ed",),
        (b"",),
        (b"chunked, ;",),
        (b'gzip;q="x, chunked',),
        (b", chunked",),
        (b"chunked,",),
    ],
)
def test_rfc9112_6_1_transfer_encoding_not_ending_in_one_chunked_is_400(
    server: WSGIServer, values: tuple[bytes, ...]
) -> None:
    """greenkit takes exactly one ``chunked`` (as h11 does): empty list
    elements, allowed by RFC 9110 §5.6.1, are refused in this field."""
    refused(server, post(b"0\r\n\r\n", *(b"Transfer-Encoding: " + v for v in values)))


@pytest.mark.parametrize(
    "values",
    [
        (b"gzip, chunked",),
        (b"gzip", b"chunked"),
        (b'x-custom;p="a,b" , chunked',),
    ],
)
def test_rfc9112_6_1_unknown_transfer_codings_get_501(
    server: WSGIServer, values: tuple[bytes, ...]
) -> None:
    refused(server, post(b"0\r\n\r\n", *(b"Transfer-Encoding: " + v for v in values)), 501)


@pytest.mark.parametrize("value", [b"Chunked", b"CHUNKED", b" chunked", b"chunked\t"])
def test_rfc9112_6_1_chunked_is_case_insensitive(
    server: WSGIServer, recorder: Recorder, value: bytes
) -> None:
    seen = served(server, post(b"2\r\nok\r\n0\r\n\r\n", b"Transfer-Encoding: " + value), recorder)
    assert seen["body"] == b"ok"


@pytest.mark.parametrize(
    "values",
    [
        (b"+5",),
        (b"-0",),
        (b"5 5",),
        (b"0x5",),
        (b"5.0",),
        (b"\xb2",),
        (b"\xd9\xa3",),
        (b"",),
        (b"5,",),
        (b"5", b"6"),
        (b"05", b"5"),
        (b"5, 6",),
        (b"9" * 30,),
        (b"1e3",),
    ],
)
def test_rfc9112_6_3_content_length_must_be_ascii_digits(
    server: WSGIServer, values: tuple[bytes, ...]
) -> None:
    refused(server, post(b"hello", *(b"Content-Length: " + v for v in values)))


@pytest.mark.parametrize("values", [(b"5, 5",), (b"5", b"5"), (b" 5 ",), (b"005",)])
def test_rfc9110_8_6_identical_content_lengths_are_folded(
    server: WSGIServer, recorder: Recorder, values: tuple[bytes, ...]
) -> None:
    seen = served(server, post(b"hello", *(b"Content-Length: " + v for v in values)), recorder)
    assert seen["body"] == b"hello"


# -- RFC 9112 §7.1: chunked transfer coding -------------------------------------------------


def chunked(body: bytes) -> bytes:
    return post(body, b"Transfer-Encoding: chunked")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"00000000000000000000000005\r\nhello\r\n0000\r\n\r\n", b"hello"),
        (b"5;name\r\nhello\r\n0;last\r\n\r\n", b"hello"),
        (b'5; name = value;x="q \\" ;v"\r\nhello\r\n0\r\n\r\n', b"hello"),
        (b"a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n", b"0123456789" * 2),
        (b"5\r\nhello\r\n0\r\nX: y\r\nZ: obs\r\n fold\r\n\r\n", b"hello"),
    ],
)
def test_rfc9112_7_1_valid_chunked_bodies(
    server: WSGIServer, recorder: Recorder, body: bytes, expected: bytes
) -> None:
    assert served(server, chunked(body), recorder)["body"] == expected


@pytest.mark.parametrize(
    "body",
    [
        b"+5\r\nhello\r\n0\r\n\r\n",
        b"-5\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b" 5\r\nhello\r\n0\r\n\r\n",
        b"5 \r\nhello\r\n0\r\n\r\n",
        b"5\t\r\nhello\r\n0\r\n\r\n",
        b"1 0\r\n0123456789abcdef\r\n0\r\n\r\n",
        b"5;\r\nhello\r\n0\r\n\r\n",
        b"5;a=\x01\r\nhello\r\n0\r\n\r\n",
        b'5;a="x\r\nhello\r\n0\r\n\r\n',
        b"5;a\x00\r\nhello\r\n0\r\n\r\n",
        b"5;a=b c\r\nhello\r\n0\r\n\r\n",
        b"5\nhello\r\n0\r\n\r\n",
        b"5\r\nhello\n0\r\n\r\n",
        b"5\r\nhello\r\n0\n\r\n",
        b"5\r\nhello\r\n0\r\n\n",
        b"5\rhello\r\n0\r\n\r\n",
        b"5\r\nhelloX\r\n0\r\n\r\n",
        b"5\r\nhell\r\n0\r\n\r\n",
        b"5\r\nhello\r\n0\r\nbad trailer\r\n\r\n",
        b"5\r\nhello\r\n0\r\nX: a\x00b\r\n\r\n",
        b"5\r\nhello\r\n0\r\n folded\r\n\r\n",
        b"11111111111111111\r\n",
        b"\r\n5\r\nhello\r\n0\r\n\r\n",
        b"5 ;ext\r\nhello\r\n0\r\n\r\n",
        b"5\t;ext\r\nhello\r\n0\r\n\r\n",
    ],
)
def test_rfc9112_7_1_malformed_chunked_bodies_close_the_connection(
    server: WSGIServer, recorder: Recorder, body: bytes
) -> None:
    """Whether the application lets the error through (400) or catches it
    (its own response), nothing after the broken body is ever read."""
    first, second = exchange(server, chunked(body) + NEXT, 2)
    assert first is not None and first.code in (200, 400)
    assert first.headers.get("Connection") == "close" and second is None
    assert [seen["PATH_INFO"] for seen in recorder.seen] in ([], ["/p"])


def test_rfc9112_7_1_request_hidden_after_a_broken_chunk_is_never_served(
    server: WSGIServer, recorder: Recorder
) -> None:
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    for body in (
        b"1 0\r\n" + smuggled,
        b"5\r\nhelloGARBAGE\r\n0\r\n\r\n" + smuggled,
        b"5\nhello\r\n0\r\n\r\n" + smuggled,
    ):
        with connect(server) as client:
            client.sendall(chunked(body))
            data = read_all(client)
        assert data.count(b"HTTP/1.1 ") == 1, data
    assert all(seen["PATH_INFO"] != "/smuggled" for seen in recorder.seen)


# -- no 5xx from any input ------------------------------------------------------------------------


def test_inputs_that_used_to_raise_get_400_and_no_error_report(
    server: WSGIServer, handle_errors: list[Any]
) -> None:
    refused(server, get(b"/", b"\r"))  # "\r\r\n" line: IndexError
    refused(server, post(b"xx", "Content-Length: \u00b2".encode("latin-1")))  # ValueError
    refused(server, post(b"x", b"Content-Length: " + b"1" * 5000))  # int digit limit
    assert handle_errors == []


# -- RFC 9112 §4 / RFC 9110 §5.5: responses ---------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "message"),
    [
        ("200", [], "Invalid status '200'"),
        ("20 OK", [], "Invalid status '20 OK'"),
        ("2000 OK", [], "Invalid status '2000 OK'"),
        ("200\tOK", [], "Invalid status '200\\tOK'"),
        ("600 Nope", [], "Invalid status '600 Nope'"),
        ("200 OK\x00", [], "Invalid status '200 OK\\x00'"),
        ("200 OK\n", [], "carriage return or newline in status"),
        ("200 OK\r\nX: y", [], "carriage return or newline in status"),
        ("200 OK", [("X", "a\r\nb")], "carriage return or newline in header value"),
        ("200 OK", [("X\n", "a")], "carriage return or newline in header name"),
        ("200 OK", [("X Y", "v")], "Invalid header name 'X Y'"),
        ("200 OK", [("X:", "v")], "Invalid header name 'X:'"),
        ("200 OK", [("", "v")], "Invalid header name ''"),
        ("200 OK", [("X\x00", "v")], "Invalid header name 'X\\x00'"),
        ("200 OK", [("X", "a\rb")], "carriage return or newline in header value"),
        ("200 OK", [("X", "a\x00b")], "NUL in header value"),
    ],
)
def test_rfc9110_5_5_responses_that_could_split_raise_to_the_application(
    server: WSGIServer, status: str, headers: list[tuple[str, str]], message: str
) -> None:
    errors = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            start_response(status, headers)
        except ValueError as ex:
            errors.append(str(ex))
            start_response("200 OK", [])
        return [b"safe"]

    server.application = app
    response = exchange(server, get())[0]
    assert isinstance(response, Response) and response.body == b"safe"
    assert errors == [message]


def test_rfc9110_5_5_an_uncaught_bad_header_is_a_500_with_none_of_it_sent(
    server: WSGIServer, handle_errors: list[Any]
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Set-Cookie", "a=1\r\nX-Injected: yes")])
        return [b"body"]

    server.application = app
    with connect(server) as client:
        client.sendall(get())
        data = read_all(client)
    assert data.startswith(b"HTTP/1.1 500 ") and b"Injected" not in data
    assert [type_ for _, type_, _ in handle_errors] == [ValueError]


def test_expect_100_continue_still_works_with_chunked(server: WSGIServer) -> None:
    with connect(server) as client, client.makefile("rb") as rfile:
        client.sendall(post(b"", b"Transfer-Encoding: chunked", b"Expect: 100-continue"))
        interim = read_response(rfile)
        assert interim is not None and interim.code == 100
        client.sendall(b"2\r\nok\r\n0\r\n\r\n")
        final = read_response(rfile)
        assert final is not None and final.body == b"ok"


# -- strictness switches for legacy clients (off by default) ---------------------------------


class Lenient(WSGIHandler):
    require_host = False
    accept_bare_lf = True


def test_switch_require_host_false_serves_http11_without_host(
    server: WSGIServer, recorder: Recorder
) -> None:
    """RFC 9112 §3.2 relaxed: no Host is served; two or an invalid one are not."""
    server.handler_class = Lenient
    assert served(server, get(host=None), recorder)["HTTP_HOST"] is None
    refused(server, get(b"/", b"Host: y"))
    refused(server, get(host=b"a b"))


def test_switch_accept_bare_lf_takes_lf_line_ends(server: WSGIServer, recorder: Recorder) -> None:
    """RFC 9112 §2.2's MAY: LF ends the request line and field lines (and
    one empty line before a request line); chunked framing stays CRLF only."""
    server.handler_class = Lenient
    seen = served(server, b"\nGET /lf HTTP/1.1\nHost: x\nX: a\r\n b\n\n", recorder)
    assert (seen["PATH_INFO"], seen["HTTP_X"]) == ("/lf", "a b")
    refused(server, b"GET / HTTP/1.1\nHost: x\rX: y\n\n")
    first, second = exchange(server, chunked(b"5\nhello\r\n0\r\n\r\n") + NEXT, 2)
    assert first is not None and second is None
    assert recorder.seen[-1]["body"] == b"error: InvalidClientInput"


def test_switches_are_off_by_default() -> None:
    assert WSGIHandler.require_host is True and WSGIHandler.accept_bare_lf is False
