"""greenkit.socket as a module: its namespace, signatures and resolver functions."""

from __future__ import annotations

import inspect
import socket as std_socket
from typing import Any

import pytest

import greenkit._socketcommon as SC
import greenkit.socket as gsocket
from greenkit._io_wait import wait_read
from greenkit.hub import get_hub

pytestmark = pytest.mark.usefixtures("blocking_resolver")


def test_all_is_implements_extensions_imports() -> None:
    names: dict[str, Any] = {}
    exec("from greenkit.socket import *", names)
    names.pop("__builtins__")
    assert sorted(names) == sorted(gsocket.__all__)
    assert sorted(gsocket.__all__) == sorted(
        gsocket.__implements__ + gsocket.__extensions__ + gsocket.__imports__
    )
    assert set(gsocket.__dns__) <= set(gsocket.__implements__)


def test_stdlib_namespace_is_complete() -> None:
    assert set(std_socket.__all__) <= set(gsocket.__all__)
    for name in gsocket.__imports__:
        assert getattr(gsocket, name) is getattr(std_socket, name), name
    for name in gsocket.__implements__:
        assert getattr(gsocket, name) is not getattr(std_socket, name), name
    for name in gsocket.__extensions__:
        assert not hasattr(std_socket, name), name
    assert gsocket.error is OSError
    assert gsocket.timeout is std_socket.timeout
    assert gsocket.gaierror is std_socket.gaierror
    assert gsocket.wait_read is wait_read
    assert gsocket.EBADF == 9


def test_public_objects_have_public_module() -> None:
    for name in gsocket.__implements__:
        assert getattr(gsocket, name).__module__ == "greenkit.socket", name


def test_signatures_match_stdlib() -> None:
    for name in gsocket.__implements__:
        ours = getattr(gsocket, name)
        theirs = getattr(std_socket, name)
        if not inspect.isfunction(ours) or not inspect.isfunction(theirs):
            continue
        a, b = inspect.getfullargspec(ours), inspect.getfullargspec(theirs)
        assert (a.args, a.varargs, a.defaults, a.kwonlyargs, a.kwonlydefaults) == (
            b.args,
            b.varargs,
            b.defaults,
            b.kwonlyargs,
            b.kwonlydefaults,
        ), name


def test_wait_timeout_on_a_fake_watcher() -> None:
    class NeverFires:
        callback = None

        def start(self, *args: Any) -> None:
            pass

        def stop(self) -> None:
            pass

    with pytest.raises(gsocket.timeout):
        gsocket.wait(NeverFires(), timeout=0.01)


def test_lookups_match_stdlib() -> None:
    assert gsocket.getaddrinfo("localhost", 80) == std_socket.getaddrinfo("localhost", 80)
    assert gsocket.getaddrinfo(
        "127.0.0.1", "http", 0, gsocket.SOCK_STREAM
    ) == std_socket.getaddrinfo("127.0.0.1", "http", 0, std_socket.SOCK_STREAM)
    assert gsocket.gethostbyname("localhost") == std_socket.gethostbyname("localhost")
    assert gsocket.gethostbyname_ex("127.0.0.1") == std_socket.gethostbyname_ex("127.0.0.1")
    assert gsocket.gethostbyaddr("127.0.0.1") == std_socket.gethostbyaddr("127.0.0.1")
    assert gsocket.getnameinfo(("127.0.0.1", 80), 0) == std_socket.getnameinfo(("127.0.0.1", 80), 0)
    assert gsocket.getfqdn() == std_socket.getfqdn()
    assert gsocket.getfqdn("127.0.0.1") == std_socket.getfqdn("127.0.0.1")


def test_lookup_errors_match_stdlib() -> None:
    with pytest.raises(gsocket.gaierror) as ours:
        gsocket.getaddrinfo("127.0.0.1", "no-such-service-here")
    with pytest.raises(gsocket.gaierror) as theirs:
        std_socket.getaddrinfo("127.0.0.1", "no-such-service-here")
    assert ours.value.args == theirs.value.args
    with pytest.raises(TypeError):
        gsocket.gethostbyname(None)  # type: ignore[arg-type]


def test_lookups_go_through_the_hub_resolver() -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = []

    class Recording:
        def __getattr__(self, name: str) -> Any:
            def method(*args: Any) -> Any:
                calls.append((name, args))
                return name

            return method

    get_hub().resolver = Recording()
    assert gsocket.getaddrinfo("h", 1) == "getaddrinfo"
    assert gsocket.gethostbyname("h") == "gethostbyname"
    assert gsocket.gethostbyname_ex("h") == "gethostbyname_ex"
    assert gsocket.gethostbyaddr("h") == "gethostbyaddr"
    assert gsocket.getnameinfo(("h", 1), 0) == "getnameinfo"
    assert calls[0] == ("getaddrinfo", ("h", 1, 0, 0, 0, 0))


def test_resolve_addr() -> None:
    class Sock:
        family = gsocket.AF_INET6

    scoped = ("2607:f8b0:4000:80e::200e", 80, 0, 9)
    assert SC._resolve_addr(Sock, scoped) is scoped
    assert SC.__socket__ is std_socket and SC.AF_INET6 == std_socket.AF_INET6

    Sock.family = gsocket.AF_INET
    for address in (("127.0.0.1", 80), ("", 80), ("<broadcast>", 80), "/a/path", ("x",)):
        assert SC._resolve_addr(Sock, address) is address
    assert SC._resolve_addr(Sock, ("localhost", 80)) == ("127.0.0.1", 80)
    assert SC._resolve_addr(Sock, (b"localhost", 80)) == ("127.0.0.1", 80)

    Sock.family = gsocket.AF_UNIX
    assert SC._resolve_addr(Sock, ("localhost", 80)) == ("localhost", 80)
