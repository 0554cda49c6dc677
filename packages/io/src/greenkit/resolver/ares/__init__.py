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
c-ares retry and time queries out.  The io watchers do not keep the loop
alive by themselves; the timer does while a query is pending.

Many greenlets' queries run at once on the one channel.  Each waits for
its own answer; answers are handed over after ``process_fd`` returns, never
from inside c-ares.  A greenlet that is killed (or whose ``Timeout``
expires) gives up its query: c-ares cannot cancel a single query, so the
answer is dropped when it arrives, and when every pending query has been
given up the resolver cancels them all in c-ares, which closes its sockets
(and so the watchers go away too).

Results and errors are the standard library's
(:class:`greenkit.resolver._lookup.LookupResolver`); the hosts file is
read first, by greenkit, and c-ares only queries nameservers.

Settings (``greenkit.config``): ``resolver_nameservers`` (or the older
``ares_servers``; ``addr``, ``addr:port`` or ``[v6addr]:port``),
``resolver_timeout`` (or ``ares_timeout``: the time of one try),
``ares_tries``, ``ares_ndots``, ``ares_udp_port``, ``ares_tcp_port`` and
``ares_flags``; keyword arguments of the constructor, named as pycares'
``Channel`` names them, win over them.  Without nameservers c-ares uses the
system's (``/etc/resolv.conf``).
"""

from __future__ import annotations

from socket import AF_INET, AF_INET6
from typing import Any

try:
    import pycares
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "greenkit.resolver.ares needs pycares: pip install 'greenkit-io[ares]'") from exc

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
)

__all__ = ["Resolver"]

_READ = 1
_WRITE = 2
_BAD_FD = pycares.ARES_SOCKET_BAD
#: Longest wait between two checks of c-ares's timeouts.
_MAX_TIMER = 1.0

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

    def __init__(self, hub: Any = None, *, hosts_file: str | None = None,
                 **kwargs: Any) -> None:
        from greenkit.config import config

        if hub is None:
            hub = get_hub()
        self.hub = hub
        self.hosts = HostsFile(hosts_file)
        self.params = {**_channel_params(config), **kwargs}
        self._watchers: dict[int, Any] = {}
        self._timer: Any = None
        self._pending: set[_Query] = set()
        self._ready: list[tuple[Waiter, Any]] = []
        self._closed = False
        _start_shutdown_thread()
        self.cares = pycares.Channel(sock_state_cb=self._sock_state, lookups="b",
                                     **self.params)

    @property
    def servers(self) -> list[str]:
        """The nameservers c-ares queries (``addr:port`` strings)."""
        return list(self.cares.servers)

    def __repr__(self) -> str:
        return (f"<{type(self).__module__}.{type(self).__name__} at {id(self):#x}"
                f" servers={self.params.get('servers')!r} pending={len(self._pending)}>")

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
            watcher = self.hub.loop.io(fd, events, ref=False)
            watcher.start(self._on_io, fd, events)
            self._watchers[fd] = watcher

    def _on_io(self, fd: int, events: int) -> None:
        self.cares.process_fd(fd if events & _READ else _BAD_FD,
                              fd if events & _WRITE else _BAD_FD)
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
        timer = self._timer
        if timer is not None:
            timer.close()
            self._timer = None
        if not self._pending or self._closed:
            return
        channel: Any = self.cares  # pycares leaves timeout() unannotated
        after = min(max(channel.timeout(), 0.001), _MAX_TIMER)
        self._timer = self.hub.loop.timer(after)
        self._timer.start(self._on_timer)

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """Start ``method(*args, callback=..., **kwargs)`` on the channel and wait
        (only this greenlet) for its ``(result, status)``."""
        if self._closed:
            raise Failure(AGAIN, "resolver closed")
        waiter = Waiter(self.hub)
        query = _Query(self, waiter)
        self._pending.add(query)
        try:
            method(*args, callback=query, **kwargs)
        except BaseException:
            self._pending.discard(query)
            raise
        if query.finished:
            return waiter.get()
        self._arm_timer()
        try:
            return waiter.get()
        finally:
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
        result, status = self._call(self.cares.getaddrinfo, name, None, family=family)
        if status is not None:
            raise self._failure(status)
        addresses: list[tuple[int, str]] = []
        for node in result.nodes:
            address = node.addr[0]
            if isinstance(address, bytes):
                address = address.decode("ascii")
            if node.family in (AF_INET, AF_INET6) and (node.family, address) not in addresses:
                addresses.append((node.family, address))
        if not addresses:
            raise Failure(NODATA)
        addresses.sort(key=lambda pair: pair[0] != AF_INET)
        canonical, aliases = name, []
        for cname in result.cnames:
            if cname.alias not in aliases:
                aliases.append(cname.alias)
            canonical = cname.name
        return Answer(canonical, [alias for alias in aliases if alias != canonical], addresses)

    def _resolve_reverse(self, address: str) -> tuple[str, list[str]]:
        result, status = self._call(self.cares.gethostbyaddr, address)
        if status is not None:
            raise self._failure(status)
        return result.name, [alias for alias in result.aliases if alias != result.name]

    # -- end ------------------------------------------------------------------

    def close(self) -> None:
        """Cancel pending queries, stop watching c-ares' sockets, destroy the channel."""
        if self._closed:
            return
        self.cares.cancel()
        self._closed = True
        if self._timer is not None:
            self._timer.close()
            self._timer = None
        for watcher in self._watchers.values():
            watcher.close()
        self._watchers.clear()
        self._pending.clear()
        ready, self._ready = self._ready, []
        for waiter, value in ready:
            self.hub.loop.run_callback(waiter.switch, value)
        self.cares.close()
