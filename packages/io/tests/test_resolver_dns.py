"""greenkit.resolver.ares and greenkit.resolver.dnspython against a loopback responder.

Every resolver here is built with the responder (127.0.0.1, a free port) as
its only nameserver and a hosts file of the test's own: no query can leave
loopback, and nothing comes from the system's resolver configuration.
"""

from __future__ import annotations

import socket as std_socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from greenkit.greenlet import Greenlet
from greenkit.hub import get_hub, sleep
from greenkit.resolver import AbstractResolver
from greenkit.resolver._lookup import LookupTimeout
from greenkit.timeout import Timeout
from greenkit_testing.dns import DNSResponder

ZONE = {
    "a.test": [("A", "10.0.0.1"), ("AAAA", "fd00::1")],
    "two.test": [("A", "10.0.0.2"), ("A", "10.0.0.3")],
    "v4.test": [("A", "10.0.0.4")],
    "v6.test": [("AAAA", "fd00::6")],
    "www.test": [("CNAME", "mid.test")],
    "mid.test": [("CNAME", "a.test")],
    "big.test": [("A", "10.0.0.5")],
    "1.0.0.10.in-addr.arpa": [("PTR", "a.test")],
    "6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa": [
        ("PTR", "v6.test")
    ],
}
HOSTS = "10.9.9.9 filed.test filed\n::9 filed6.test\n"

KINDS = ["ares", "dnspython"]


def _resolver_class(kind: str) -> Any:
    if kind == "ares":
        pytest.importorskip("pycares")
        from greenkit.resolver.ares import Resolver
    else:
        pytest.importorskip("dns")
        from greenkit.resolver.dnspython import Resolver
    return Resolver


def make_resolver(
    kind: str, responder: DNSResponder, hosts: Path, *, timeout: float = 1.0, tries: int = 1
) -> Any:
    """A resolver of ``kind`` whose only nameserver is ``responder``."""
    cls = _resolver_class(kind)
    if kind == "ares":
        resolver = cls(
            servers=[responder.server], timeout=timeout, tries=tries, hosts_file=str(hosts)
        )
        assert resolver.servers == [responder.server]
    else:
        resolver = cls(
            nameservers=[responder.server], timeout=timeout * tries, hosts_file=str(hosts)
        )
        assert resolver.nameservers == ["127.0.0.1"]
        assert [ns.port for ns in resolver.network_resolver.nameservers] == [responder.port]
    return resolver


@pytest.fixture
def hosts(tmp_path: Path) -> Path:
    path = tmp_path / "hosts"
    path.write_text(HOSTS)
    return path


@pytest.fixture
def responder() -> Iterator[DNSResponder]:
    with DNSResponder(
        ZONE, servfail={"bad.test"}, silent={"slow.test"}, truncate={"big.test"}
    ) as server:
        yield server


@pytest.fixture(params=KINDS)
def resolver(request: pytest.FixtureRequest, responder: DNSResponder, hosts: Path) -> Iterator[Any]:
    made = make_resolver(request.param, responder, hosts)
    yield made
    made.close()


def _numeric(address: str, port: Any, family: int, *args: Any) -> list[Any]:
    return std_socket.getaddrinfo(address, port, family, *args)


# -- forward lookups ----------------------------------------------------------


def test_a_and_aaaa(resolver: Any, responder: DNSResponder) -> None:
    assert isinstance(resolver, AbstractResolver)
    both = resolver.getaddrinfo("a.test", 80)
    assert both == (
        _numeric("10.0.0.1", 80, std_socket.AF_INET) + _numeric("fd00::1", 80, std_socket.AF_INET6)
    )
    assert resolver.getaddrinfo(
        "a.test", "http", std_socket.AF_INET6, std_socket.SOCK_STREAM
    ) == _numeric("fd00::1", "http", std_socket.AF_INET6, std_socket.SOCK_STREAM)
    assert resolver.getaddrinfo(
        "v6.test", None, std_socket.AF_INET6, 0, std_socket.IPPROTO_UDP
    ) == _numeric("fd00::6", None, std_socket.AF_INET6, 0, std_socket.IPPROTO_UDP)
    assert resolver.gethostbyname("a.test") == "10.0.0.1"
    assert resolver.gethostbyname_ex("two.test") == ("two.test", [], ["10.0.0.2", "10.0.0.3"])
    assert {name for _, name, _ in responder.queries} >= {"a.test", "v6.test", "two.test"}


def test_cname_chain(resolver: Any) -> None:
    assert resolver.gethostbyname_ex("www.test") == (
        "a.test",
        ["www.test", "mid.test"],
        ["10.0.0.1"],
    )
    infos = resolver.getaddrinfo(
        "www.test", 443, std_socket.AF_INET, std_socket.SOCK_STREAM, 0, std_socket.AI_CANONNAME
    )
    assert infos == [
        (
            std_socket.AF_INET,
            std_socket.SOCK_STREAM,
            std_socket.IPPROTO_TCP,
            "a.test",
            ("10.0.0.1", 443),
        )
    ]


def test_canonname_only_on_the_first_entry(resolver: Any) -> None:
    infos = resolver.getaddrinfo(
        "two.test",
        80,
        std_socket.AF_INET,
        std_socket.SOCK_STREAM,
        0,
        std_socket.AI_CANONNAME | std_socket.AI_PASSIVE,
    )
    assert [info[3] for info in infos] == ["two.test", ""]
    assert [info[4] for info in infos] == [("10.0.0.2", 80), ("10.0.0.3", 80)]


def test_numeric_hosts_need_no_query(resolver: Any, responder: DNSResponder) -> None:
    for args in [
        ("127.0.0.1", 80),
        ("::1", "http", std_socket.AF_INET6),
        (None, 0),
        ("10.1.2.3", 0, 0, 0, 0, std_socket.AI_CANONNAME),
        ("127.0.0.1", 80, 0, 0, 0, std_socket.AI_NUMERICHOST),
    ]:
        assert resolver.getaddrinfo(*args) == std_socket.getaddrinfo(*args)
    assert resolver.gethostbyname("10.1.2.3") == "10.1.2.3"
    assert resolver.gethostbyname_ex("10.1.2.3") == ("10.1.2.3", [], ["10.1.2.3"])
    numeric = std_socket.NI_NUMERICHOST | std_socket.NI_NUMERICSERV
    assert resolver.getnameinfo(("10.1.2.3", 80), numeric) == ("10.1.2.3", "80")
    with pytest.raises(std_socket.gaierror) as info:
        resolver.getaddrinfo("a.test", 80, 0, 0, 0, std_socket.AI_NUMERICHOST)
    assert info.value.errno == std_socket.EAI_NONAME
    assert responder.queries == []


def test_hosts_file_first(resolver: Any, responder: DNSResponder, hosts: Path) -> None:
    assert resolver.gethostbyname("filed") == "10.9.9.9"
    assert resolver.gethostbyname_ex("FILED.test") == ("filed.test", ["filed"], ["10.9.9.9"])
    assert resolver.getaddrinfo(
        "filed6.test", 1, std_socket.AF_INET6, std_socket.SOCK_DGRAM
    ) == _numeric("::9", 1, std_socket.AF_INET6, std_socket.SOCK_DGRAM)
    assert resolver.gethostbyaddr("10.9.9.9") == ("filed.test", ["filed"], ["10.9.9.9"])
    assert resolver.getnameinfo(("::9", 22), std_socket.NI_NUMERICSERV) == ("filed6.test", "22")
    assert responder.queries == []
    # Edits are seen without a new resolver, once the loop's clock has moved on
    # (the lookups made between two polls of the loop share one check).
    hosts.write_text(HOSTS + "10.8.8.8 later.test\n")
    sleep(0.01)
    assert resolver.gethostbyname("later.test") == "10.8.8.8"
    assert responder.queries == []


# -- failures --------------------------------------------------------------------


def _gaierror(call: Callable[[], Any]) -> int:
    with pytest.raises(std_socket.gaierror) as info:
        call()
    assert info.value.strerror
    return info.value.errno  # type: ignore[no-any-return]


def test_nxdomain(resolver: Any) -> None:
    assert _gaierror(lambda: resolver.getaddrinfo("nx.test", 80)) == std_socket.EAI_NONAME
    assert _gaierror(lambda: resolver.gethostbyname("nx.test")) == std_socket.EAI_NONAME
    assert _gaierror(lambda: resolver.gethostbyname_ex("nx.test")) == std_socket.EAI_NONAME
    assert _gaierror(lambda: resolver.gethostbyaddr("nx.test")) == std_socket.EAI_NONAME
    with pytest.raises(std_socket.gaierror) as info:
        resolver.getaddrinfo("nx.test", 80)
    assert info.value.args == (std_socket.EAI_NONAME, "Name or service not known")


def test_no_address_of_that_family(resolver: Any) -> None:
    assert _gaierror(lambda: resolver.getaddrinfo("v4.test", 80, std_socket.AF_INET6)) == -5
    assert _gaierror(lambda: resolver.gethostbyname("v6.test")) == -5
    # Both families asked: the one that has addresses answers alone.
    assert resolver.getaddrinfo("v6.test", 80, 0, std_socket.SOCK_STREAM) == _numeric(
        "fd00::6", 80, std_socket.AF_INET6, std_socket.SOCK_STREAM
    )


def test_servfail_is_temporary(resolver: Any) -> None:
    with pytest.raises(std_socket.gaierror) as info:
        resolver.getaddrinfo("bad.test", 80)
    assert info.value.args == (std_socket.EAI_AGAIN, "Temporary failure in name resolution")


@pytest.mark.parametrize("kind", KINDS)
def test_silent_server_times_out_after_the_tries(
    kind: str, responder: DNSResponder, hosts: Path
) -> None:
    resolver = make_resolver(kind, responder, hosts, timeout=0.3, tries=2)
    try:
        start = time.monotonic()
        with pytest.raises(LookupTimeout) as info:
            resolver.getaddrinfo("slow.test", 80, std_socket.AF_INET)
        elapsed = time.monotonic() - start
        # gevent's ares resolver raises herror for a timeout: it is both.
        with pytest.raises(std_socket.herror, match=r"ARES_ETIMEOUT|LifetimeTimeout"):
            resolver.gethostbyname("slow.test")
    finally:
        resolver.close()
    assert isinstance(info.value, std_socket.gaierror)
    assert info.value.errno == std_socket.EAI_AGAIN
    assert 0.2 < elapsed < 10
    sent = [q for q in responder.queries if q[1] == "slow.test"]
    if kind == "ares":
        assert len(sent) == 4  # ares_tries, twice
    else:
        assert len(sent) >= 1


def test_truncated_answer_retried_over_tcp(resolver: Any, responder: DNSResponder) -> None:
    assert resolver.gethostbyname("big.test") == "10.0.0.5"
    transports = [transport for transport, name, _ in responder.queries if name == "big.test"]
    assert transports[:2] == ["udp", "tcp"]


def test_errors_of_the_arguments_are_the_stdlibs(resolver: Any) -> None:
    for call in [
        lambda r: r.getaddrinfo("a.test", -1),
        lambda r: r.getaddrinfo("a.test", "no-such-service"),
        lambda r: r.getaddrinfo("a.test", 80, std_socket.AF_INET, 9999),
        lambda r: r.gethostbyname(25),
        lambda r: r.getnameinfo(("a.test", 80), 0),
        lambda r: r.getnameinfo(("10.0.0.1", "80"), 0),
    ]:
        with pytest.raises(Exception) as expected:
            call(std_socket)
        with pytest.raises(type(expected.value)) as got:
            call(resolver)
        assert got.value.args == expected.value.args


# -- reverse lookups ------------------------------------------------------------------


def test_reverse(resolver: Any) -> None:
    assert resolver.gethostbyaddr("10.0.0.1") == ("a.test", [], ["10.0.0.1"])
    assert resolver.gethostbyaddr("fd00::6") == ("v6.test", [], ["fd00::6"])
    assert resolver.gethostbyaddr("www.test") == ("a.test", [], ["10.0.0.1"])
    with pytest.raises(std_socket.herror) as info:
        resolver.gethostbyaddr("10.0.0.77")
    assert info.value.args == (1, "Unknown host")


def test_getnameinfo(resolver: Any) -> None:
    assert resolver.getnameinfo(("10.0.0.1", 80), 0) == ("a.test", "http")
    assert resolver.getnameinfo(("10.0.0.1", 53), std_socket.NI_DGRAM) == ("a.test", "domain")
    assert resolver.getnameinfo(("10.0.0.1", 80), std_socket.NI_NOFQDN) == ("a", "http")
    assert resolver.getnameinfo(("fd00::6", 80, 0, 0), std_socket.NI_NUMERICSERV) == (
        "v6.test",
        "80",
    )
    assert resolver.getnameinfo(("10.0.0.77", 80), 0) == ("10.0.0.77", "http")
    with pytest.raises(std_socket.gaierror) as info:
        resolver.getnameinfo(("10.0.0.77", 80), std_socket.NI_NAMEREQD)
    assert info.value.errno == std_socket.EAI_NONAME


# -- concurrency and cancellation ---------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_many_lookups_at_once(kind: str, hosts: Path) -> None:
    with DNSResponder(ZONE, delay=0.2) as slow:
        resolver = make_resolver(kind, slow, hosts, timeout=5.0)
        ticks: list[float] = []

        def ticker() -> None:
            while True:
                ticks.append(time.monotonic())
                sleep(0.01)

        ticking = Greenlet.spawn(ticker)
        try:
            start = time.monotonic()
            lookups = [Greenlet.spawn(resolver.gethostbyname, "a.test") for _ in range(100)]
            results = [glet.get(timeout=30) for glet in lookups]
            elapsed = time.monotonic() - start
        finally:
            ticking.kill()
            resolver.close()
    assert results == ["10.0.0.1"] * 100
    # One after another they would take 100 * 0.2 s = 20 s.
    assert elapsed < 5, elapsed
    assert len(ticks) > 5  # the other greenlet kept running meanwhile


@pytest.mark.fd_leak_check
@pytest.mark.parametrize("kind", KINDS)
def test_killed_lookups_leave_nothing_behind(
    kind: str, responder: DNSResponder, hosts: Path
) -> None:
    resolver = make_resolver(kind, responder, hosts, timeout=5.0)
    try:
        lookups = [Greenlet.spawn(resolver.getaddrinfo, "slow.test", 80) for _ in range(20)]
        sleep(0.1)
        assert len([q for q in responder.queries if q[1] == "slow.test"]) >= 20
        for glet in lookups:
            glet.kill()
        assert all(glet.dead for glet in lookups)
        _settle(resolver)
        # The resolver still answers.
        assert resolver.gethostbyname("a.test") == "10.0.0.1"
        _settle(resolver)
    finally:
        resolver.close()


@pytest.mark.fd_leak_check
@pytest.mark.parametrize("kind", KINDS)
def test_timeout_cancels_only_its_own_lookup(kind: str, hosts: Path) -> None:
    with DNSResponder(ZONE, delay=0.3, silent={"slow.test"}) as server:
        resolver = make_resolver(kind, server, hosts, timeout=5.0)
        try:
            other = Greenlet.spawn(resolver.gethostbyname, "a.test")
            with pytest.raises(Timeout):
                with Timeout(0.1):
                    resolver.gethostbyname("slow.test")
            assert other.get(timeout=10) == "10.0.0.1"
            _settle(resolver)
        finally:
            resolver.close()


def _settle(resolver: Any) -> None:
    """Let the loop run until the resolver watches no socket (ares) any more."""
    deadline = time.monotonic() + 10
    while getattr(resolver, "_watchers", None) and time.monotonic() < deadline:
        sleep(0.01)
    sleep(0.01)
    assert not getattr(resolver, "_watchers", None)


def test_hub_resolver_is_configurable(responder: DNSResponder, hosts: Path) -> None:
    from greenkit.config import config

    hub = get_hub()
    previous = hub._resolver
    try:
        for kind in KINDS:
            cls = _resolver_class(kind)
            config.resolver = kind  # type: ignore[assignment]
            config.resolver_nameservers = [responder.server]  # type: ignore[assignment]
            config.resolver_timeout = 2.0  # type: ignore[assignment]
            assert config.resolver is cls
            del hub.resolver
            created = hub.resolver
            assert type(created) is cls
            created.hosts.path = str(hosts)
            import greenkit.socket as gsocket

            assert gsocket.gethostbyname("a.test") == "10.0.0.1"
            created.close()
    finally:
        for name in ("resolver", "resolver_nameservers", "resolver_timeout"):
            config._reset(name)
        hub.resolver = previous
