"""A resolver on c-ares (through pycares), driven by the hub's loop.

Install it with ``pip install 'greenkit-io[ares]'`` and select it with
``GREENKIT_RESOLVER=ares`` (or ``GEVENT_RESOLVER=ares``, or
``greenkit.config.resolver = "ares"``).

How the loop drives c-ares: the resolver owns one ``pycares.Channel``
created with a socket-state callback.  c-ares reports through it every
socket it opens or closes and whether it wants to read or write it; the
resolver keeps one io watcher per such socket in the hub's loop and, when
the socket is ready, calls ``Channel.process_fd``.  One timer, armed for
the deadline ``Channel.timeout()`` gives while queries are pending, lets
c-ares retry and time queries out: it is armed when a query starts and
none is armed, and re-armed after every round of ``process_fd`` (not per
query: with many queries in flight that is once per loop iteration).  The
io watchers do not keep the loop alive by themselves; the timer does while
a query is pending.

Many greenlets' queries run at once on the one channel.  Each waits for
its own answer; answers are handed over after ``process_fd`` returns, never
from inside c-ares.  A greenlet that is killed (or whose ``Timeout``
expires) gives up its query: c-ares cannot cancel a single query, so the
answer is dropped when it arrives, and when every pending query has been
given up the resolver cancels them all in c-ares, which closes its sockets
(and so the watchers go away too).

Results and errors are the standard library's
(:class:`greenkit.resolver._lookup.LookupResolver`); the hosts file is
read first, by greenkit, and c-ares only queries nameservers.  A name is
asked with ``Channel.search`` (c-ares applies ``ndots`` and the search
domains, retries, and falls back to TCP for a truncated answer) for its A
and/or AAAA records, both at once for ``AF_UNSPEC``; the CNAME chain in the
answer is followed here.  An address is asked with ``Channel.query`` for
the PTR records of its ``in-addr.arpa``/``ip6.arpa`` name.  These are
c-ares' plain DNS calls: its ``getaddrinfo`` would add an RFC 6724 sort
(a socket opened, connected and closed per address) and, through pycares
5, depends on the ``lookups`` option, which pycares hands to c-ares in a
buffer it has already freed (lookups then fail at random with
``ARES_ECONNREFUSED``); so the channel is made without it.

Settings (``greenkit.config``): ``resolver_nameservers`` (or the older
``ares_servers``; ``addr``, ``addr:port`` or ``[v6addr]:port``),
``resolver_timeout`` (or ``ares_timeout``: the time of one try),
``ares_tries``, ``ares_ndots``, ``ares_udp_port``, ``ares_tcp_port`` and
``ares_flags``; keyword arguments of the constructor, named as pycares'
``Channel`` names them, win over them.  Without nameservers c-ares uses the
system's (``/etc/resolv.conf``).
"""

from __future__ import annotations

from ipaddress import ip_address
from socket import AF_INET, AF_INET6
from typing import TYPE_CHECKING, Any

try:
    import pycares
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "greenkit.resolver.ares needs pycares: pip install 'greenkit-io[ares]'"
    ) from exc

from greenkit._originals import get_original
from greenkit._waiter import Waiter
from greenkit.hub import get_hub
from greenkit.resolver._hostsfile import HostsFile
from greenkit.resolver._lookup import (
    AGAIN,
    FAIL,
    NODATA,
    NXDOMAIN,
    Answer,
    Failure,
    LookupResolver,
    merge_answers,
)

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = ["Resolver"]

_READ = 1
_WRITE = 2
_BAD_FD = pycares.ARES_SOCKET_BAD
#: Longest wait between two checks of c-ares's timeouts.
_MAX_TIMER = 1.0
#: Record types (RFC 1035, RFC 3596).
_A, _CNAME, _PTR, _AAAA = 1, 5, 12, 28
#: The questions for both families, IPv4's first (its addresses come first).
_BOTH = (_A, _AAAA)
_FAMILIES = {_A: AF_INET, _AAAA: AF_INET6}

_errno = pycares.errno
_KINDS = {
    _errno.ARES_ENOTFOUND: NXDOMAIN,
    _errno.ARES_EBADNAME: NXDOMAIN,
    _errno.ARES_ENONAME: NXDOMAIN,
    _errno.ARES_ENODATA: NODATA,
    _errno.ARES_ESERVFAIL: AGAIN,
    _errno.ARES_EREFUSED: AGAIN,
    _errno.ARES_ETIMEOUT: AGAIN,
    _errno.ARES_ECONNREFUSED: AGAIN,
    _errno.ARES_ECANCELLED: AGAIN,
    _errno.ARES_EDESTRUCTION: AGAIN,
}

#: config setting -> Channel keyword, and how a value from the environment is read.
_SETTINGS: dict[str, tuple[str, Any]] = {
    "ares_flags": ("flags", int),
    "ares_tries": ("tries", int),
    "ares_ndots": ("ndots", int),
    "ares_udp_port": ("udp_port", int),
    "ares_tcp_port": ("tcp_port", int),
}


def _channel_params(config: Any) -> dict[str, Any]:
    """The pycares Channel keywords the configuration asks for."""
    params: dict[str, Any] = {}
    servers = config.resolver_nameservers or config.ares_servers
    if servers:
        params["servers"] = list(servers)
    timeout = config.resolver_timeout
    if timeout is None and config.ares_timeout is not None:
        timeout = float(config.ares_timeout)
    if timeout is not None:
        params["timeout"] = float(timeout)
    for setting, (keyword, convert) in _SETTINGS.items():
        value = getattr(config, setting)
        if value is not None:
            params[keyword] = convert(value)
    return params


def _start_shutdown_thread() -> None:
    """Give pycares' channel-destroying helper a real thread.

    pycares (5.x) destroys channels in a helper thread it starts with
    ``threading.Thread`` and feeds through ``queue.SimpleQueue``.  Once
    ``threading`` and ``queue`` are monkey-patched those would be a
    greenlet blocked on a native queue (stopping the hub) or a cooperative
    queue read from another thread; start the helper first on the original
    ``_thread.start_new_thread`` with the original ``SimpleQueue``.
    """
    manager = getattr(pycares, "_shutdown_manager", None)
    if manager is None or getattr(manager, "_thread", True) is not None:
        return
    simple_queue = get_original("queue", "SimpleQueue")
    if not isinstance(manager._queue, simple_queue):
        manager._queue = simple_queue()
    start_new_thread = get_original("_thread", "start_new_thread")
    manager._thread = start_new_thread(manager._run_safe_shutdown_loop, ())


def _addresses(name: str, rtype: int, records: list[Any]) -> Answer:
    """The answer to ``name``'s question for ``rtype`` (A or AAAA) in the
    answer section ``records``: the CNAME chain from ``name`` (or, when the
    search list added a domain, from the first record's owner) followed to
    the canonical name, and that name's addresses."""
    family = _FAMILIES[rtype]
    if len(records) == 1 and records[0].type == rtype:  # the common case, at once
        return Answer(name, [], [(family, records[0].data.addr)])
    cnames: dict[str, Any] = {}
    found: dict[str, list[str]] = {}
    for record in records:
        owner = record.name.lower()
        if record.type == _CNAME:
            cnames.setdefault(owner, record.data.cname)
        elif record.type == rtype:
            found.setdefault(owner, []).append(record.data.addr)
    canonical = name
    key = name.rstrip(".").lower()
    if key not in cnames and key not in found and records:
        canonical = records[0].name
        key = canonical.lower()
    aliases: list[str] = []
    while key in cnames and len(aliases) < len(records):
        aliases.append(canonical)
        canonical = cnames[key]
        key = canonical.lower()
    addresses = found.get(key)
    if not addresses:
        raise Failure(NODATA)
    return Answer(canonical, aliases, [(family, address) for address in dict.fromkeys(addresses)])


class _Query:
    """One pending c-ares call and the greenlet waiting for it."""

    __slots__ = ("resolver", "waiter", "abandoned", "finished")

    def __init__(self, resolver: Resolver, waiter: Waiter) -> None:
        self.resolver = resolver
        self.waiter = waiter
        self.abandoned = False
        self.finished = False

    def __call__(self, result: Any, status: Any) -> None:
        """pycares' callback: ``(result, None)`` or ``(None, error code)``."""
        self.finished = True
        resolver = self.resolver
        resolver._pending.discard(self)
        if self.abandoned:
            return
        if self.waiter.greenlet is None:
            self.waiter.switch((result, status))  # answered before it waited: stored
        else:
            resolver._ready.append((self.waiter, (result, status)))


class Resolver(LookupResolver):
    """c-ares resolver of the hub ``hub`` (default: the current thread's).

    ``hosts_file`` is the hosts file read before any query (default
    ``/etc/hosts``); other keyword arguments go to ``pycares.Channel``
    (``servers``, ``timeout``, ``tries``, ``ndots``, ``udp_port``...), over
    what ``greenkit.config`` says.  ``cares`` is the channel, ``params``
    the keywords it was made with.
    """

    def __init__(
        self, hub: Hub | None = None, *, hosts_file: str | None = None, **kwargs: Any
    ) -> None:
        from greenkit.config import config

        if hub is None:
            hub = get_hub()
        assert hub.loop is not None, "a resolver on a destroyed hub"
        self.hub = hub
        self.hosts = HostsFile(hosts_file, clock=hub.loop.now)
        self.params = {**_channel_params(config), **kwargs}
        self._watchers: dict[int, Any] = {}
        # set() is libev's timer's own, beyond TimerProtocol.
        self._timer: Any = hub.loop.timer(0.0)
        self._pending: set[_Query] = set()
        self._ready: list[tuple[Waiter, Any]] = []
        self._closed = False
        _start_shutdown_thread()
        self.cares = pycares.Channel(sock_state_cb=self._sock_state, **self.params)

    @property
    def servers(self) -> list[str]:
        """The nameservers c-ares queries (``addr:port`` strings)."""
        return list(self.cares.servers)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__module__}.{type(self).__name__} at {id(self):#x}"
            f" servers={self.params.get('servers')!r} pending={len(self._pending)}>"
        )

    # -- the loop drives c-ares ---------------------------------------------

    def _sock_state(self, fd: int, readable: bool, writable: bool) -> None:
        """c-ares' socket-state callback: watch ``fd`` for what it wants."""
        if self._closed:
            return
        events = (_READ if readable else 0) | (_WRITE if writable else 0)
        watcher = self._watchers.pop(fd, None)
        if watcher is not None:
            if watcher.events == events:
                self._watchers[fd] = watcher
                return
            watcher.close()
        if events:
            assert self.hub.loop is not None, "c-ares sockets of a destroyed hub"
            watcher = self.hub.loop.io(fd, events, ref=False)
            watcher.start(self._on_io, fd, events)
            self._watchers[fd] = watcher

    def _on_io(self, fd: int, events: int) -> None:
        self.cares.process_fd(fd if events & _READ else _BAD_FD, fd if events & _WRITE else _BAD_FD)
        self._after_processing()

    def _on_timer(self) -> None:
        self.cares.process_fd(_BAD_FD, _BAD_FD)
        self._after_processing()

    def _after_processing(self) -> None:
        """Hand the answers over (in the hub, outside c-ares), then re-arm the timer."""
        ready, self._ready = self._ready, []
        for waiter, value in ready:
            waiter.switch(value)
        self._arm_timer()

    def _arm_timer(self) -> None:
        """(Re-)arm the one timer for c-ares' next deadline, or stop it when no
        query is pending."""
        timer = self._timer
        timer.stop()
        if not self._pending or self._closed:
            return
        channel: Any = self.cares  # pycares leaves timeout() unannotated
        timer.set(min(max(channel.timeout(), 0.001), _MAX_TIMER))
        timer.start(self._on_timer)

    def _ask(self, method: Any, name: str, types: tuple[int, ...]) -> list[tuple[Any, Any]]:
        """Start ``method(name, type, callback=...)`` on the channel for each of
        ``types`` at once and wait (only this greenlet) for their ``(result,
        status)`` pairs, in order."""
        if self._closed:
            raise Failure(AGAIN, "resolver closed")
        queries: list[_Query] = []
        try:
            for rtype in types:
                query = _Query(self, Waiter(self.hub))
                queries.append(query)
                self._pending.add(query)
                try:
                    method(name, rtype, callback=query)
                except BaseException as exc:
                    self._pending.discard(query)
                    if not isinstance(exc, pycares.AresError):
                        query.finished = True
                        raise
                    if not query.finished:  # refused before any callback
                        query(None, exc.args[0])
            if self._pending and not self._timer.active:
                self._arm_timer()
            return [query.waiter.get() for query in queries]
        finally:
            for query in queries:
                if not query.finished:
                    self._give_up(query)

    def _give_up(self, query: _Query) -> None:
        """The waiting greenlet left (killed, timed out): drop its answer; when
        nobody waits for any query any more, cancel them all in c-ares."""
        query.abandoned = True
        if all(pending.abandoned for pending in self._pending):
            self.cares.cancel()  # calls back every query at once, here
            self._pending.clear()
            self._arm_timer()

    # -- the two questions LookupResolver asks ---------------------------------

    @staticmethod
    def _failure(status: int) -> Failure:
        name = str(pycares.errno.errorcode.get(status, status))
        timeout = name if status == _errno.ARES_ETIMEOUT else ""
        return Failure(_KINDS.get(status, FAIL), name, timeout)

    def _resolve(self, name: str, family: int) -> Answer:
        if family:
            rtype = _AAAA if family == AF_INET6 else _A
            ((result, status),) = self._ask(self.cares.search, name, (rtype,))
            if status is not None:
                raise self._failure(status)
            return _addresses(name, rtype, result.answer)
        # AF_UNSPEC: both questions at once, one answer from the two.
        answers: list[Answer | Failure] = []
        for rtype, (result, status) in zip(
            _BOTH, self._ask(self.cares.search, name, _BOTH), strict=True
        ):
            try:
                if status is not None:
                    raise self._failure(status)
                answers.append(_addresses(name, rtype, result.answer))
            except Failure as failure:
                answers.append(failure)
        return merge_answers(answers)

    def _resolve_reverse(self, address: str) -> tuple[str, list[str]]:
        pointer = ip_address(address).reverse_pointer
        ((result, status),) = self._ask(self.cares.query, pointer, (_PTR,))
        if status is not None:
            raise self._failure(status)
        names = list(
            dict.fromkeys(record.data.dname for record in result.answer if record.type == _PTR)
        )
        if not names:
            raise Failure(NODATA)
        return names[0], names[1:]

    # -- end ------------------------------------------------------------------

    def close(self) -> None:
        """Cancel pending queries, stop watching c-ares' sockets, destroy the channel."""
        if self._closed:
            return
        self.cares.cancel()
        self._closed = True
        self._timer.close()
        for watcher in self._watchers.values():
            watcher.close()
        self._watchers.clear()
        self._pending.clear()
        ready, self._ready = self._ready, []
        for waiter, value in ready:
            assert self.hub.loop is not None, "answers for a destroyed hub"
            self.hub.loop.run_callback(waiter.switch, value)
        self.cares.close()
