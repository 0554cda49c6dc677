"""greenkit.resolver: the blocking and thread resolvers."""

from __future__ import annotations

import socket as std_socket
from typing import Any

import pytest

import greenkit.socket as gsocket
from greenkit._originals import save_original
from greenkit.hub import get_hub
from greenkit.resolver import AbstractResolver
from greenkit.resolver.blocking import Resolver as BlockingResolver
from greenkit.resolver.thread import Resolver as ThreadResolver


class FakePool:
    """Runs the function in the calling greenlet and records it."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, tuple[Any, ...]]] = []

    def apply(self, function: Any, args: tuple[Any, ...]) -> Any:
        self.calls.append((function, args))
        return function(*args)


class FakeHub:
    def __init__(self) -> None:
        self.threadpool = FakePool()


def _thread_resolver() -> tuple[ThreadResolver, FakePool]:
    hub = FakeHub()
    return ThreadResolver(hub=hub), hub.threadpool


@pytest.mark.parametrize("make", [BlockingResolver, lambda: _thread_resolver()[0]])
def test_results_are_the_stdlib_results(make: Any) -> None:
    resolver = make()
    assert isinstance(resolver, AbstractResolver)
    for args in [
        ("localhost", 80),
        ("127.0.0.1", "http"),
        (None, 0),
        ("::1", 22),
        ("localhost", None, std_socket.AF_INET, std_socket.SOCK_STREAM),
        (b"localhost", 80),
        ("localhost", 80, 0, 0, 0, std_socket.AI_CANONNAME),
    ]:
        assert resolver.getaddrinfo(*args) == std_socket.getaddrinfo(*args), args
    assert resolver.gethostbyname("localhost") == std_socket.gethostbyname("localhost")
    assert resolver.gethostbyname("10.1.2.3") == "10.1.2.3"
    assert resolver.gethostbyname("<broadcast>") == std_socket.gethostbyname("<broadcast>")
    assert resolver.gethostbyname_ex("localhost") == std_socket.gethostbyname_ex("localhost")
    assert resolver.gethostbyaddr("127.0.0.1") == std_socket.gethostbyaddr("127.0.0.1")
    for flags in (0, std_socket.NI_NUMERICHOST | std_socket.NI_NUMERICSERV, std_socket.NI_DGRAM):
        assert resolver.getnameinfo(("127.0.0.1", 53), flags) == std_socket.getnameinfo(
            ("127.0.0.1", 53), flags
        )
    resolver.close()


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.getaddrinfo("127.0.0.1", -1),
        lambda r: r.getaddrinfo("127.0.0.1", 65536),
        lambda r: r.getaddrinfo("localhost", "no-such-service"),
        lambda r: r.gethostbyname(25),
        lambda r: r.getnameinfo(("127.0.0.1", "80"), 0),
        lambda r: r.getnameinfo(("127.0.0.1", 80), 1 << 20),
    ],
)
def test_errors_are_the_stdlib_errors(call: Any) -> None:
    expected = None
    try:
        call(std_socket)
    except Exception as ex:  # noqa: BLE001 - compared below
        expected = ex
    for resolver in (BlockingResolver(), _thread_resolver()[0]):
        if expected is None:
            call(resolver)
            continue
        with pytest.raises(type(expected)) as info:
            call(resolver)
        assert info.value.args == expected.args


def test_thread_resolver_skips_the_pool_for_numeric_queries() -> None:
    resolver, pool = _thread_resolver()
    resolver.getaddrinfo("127.0.0.1", 80)
    resolver.getaddrinfo("::1", 80)
    resolver.getaddrinfo(None, 80)
    resolver.gethostbyname("127.0.0.1")
    resolver.getnameinfo(("127.0.0.1", 80), std_socket.NI_NUMERICHOST | std_socket.NI_NUMERICSERV)
    assert pool.calls == []
    resolver.getaddrinfo("localhost", 80)
    resolver.gethostbyname("localhost")
    resolver.gethostbyname_ex("127.0.0.1")
    resolver.gethostbyaddr("127.0.0.1")
    resolver.getnameinfo(("127.0.0.1", 80), 0)
    assert [function.__name__ for function, _ in pool.calls] == [
        "getaddrinfo",
        "gethostbyname",
        "gethostbyname_ex",
        "gethostbyaddr",
        "getnameinfo",
    ]
    assert "pool=" in repr(resolver)


def test_thread_resolver_uses_the_hubs_pool_by_default() -> None:
    pytest.importorskip("greenkit.threadpool")
    resolver = ThreadResolver()
    assert resolver.pool is get_hub().threadpool
    assert resolver.getaddrinfo("localhost", 80) == std_socket.getaddrinfo("localhost", 80)
    assert resolver.gethostbyname("localhost") == std_socket.gethostbyname("localhost")


def test_resolvers_use_the_originals_after_patching(monkeypatch: pytest.MonkeyPatch) -> None:
    # What monkey patching does: record the original, then replace it.
    for name in gsocket.__dns__:
        save_original("socket", name, getattr(std_socket, name))
        monkeypatch.setattr(std_socket, name, getattr(gsocket, name))
    hub = get_hub()
    previous = hub._resolver
    hub.resolver = BlockingResolver()
    try:
        assert std_socket.getaddrinfo("localhost", 80) == gsocket.getaddrinfo("localhost", 80)
        assert std_socket.gethostbyname_ex("localhost")[2]
        assert std_socket.gethostbyaddr("127.0.0.1")
    finally:
        hub.resolver = previous


def test_config_names_the_resolvers() -> None:
    from greenkit.config import config

    previous = config.resolver
    try:
        config.resolver = "block"  # type: ignore[assignment]
        assert config.resolver is BlockingResolver
        config.resolver = "thread"  # type: ignore[assignment]
        assert config.resolver is ThreadResolver
    finally:
        config.resolver = previous


def test_thread_resolver_waits_cooperatively() -> None:
    pytest.importorskip("greenkit.threadpool")
    import time

    from greenkit.greenlet import Greenlet
    from greenkit.hub import sleep

    resolver = ThreadResolver()
    ticks: list[int] = []

    def ticker() -> None:
        while len(ticks) < 3:
            ticks.append(1)
            sleep(0.005)

    glet = Greenlet.spawn(ticker)
    resolver._run(time.sleep, 0.2)  # a slow "lookup" in a worker thread
    assert len(ticks) == 3  # the greenlet ran meanwhile
    glet.join(timeout=10)
    hub = get_hub()
    previous = hub._resolver
    hub.resolver = resolver
    try:
        lookups = [Greenlet.spawn(gsocket.getaddrinfo, "localhost", port) for port in range(5)]
        for port, glet in enumerate(lookups):
            assert glet.get(timeout=10) == std_socket.getaddrinfo("localhost", port)
    finally:
        hub.resolver = previous
