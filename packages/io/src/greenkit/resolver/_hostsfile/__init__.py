"""The hosts file (``/etc/hosts``), read by the resolvers that query DNS themselves.

The ares and dnspython resolvers answer names and addresses listed in the
hosts file before asking a nameserver, as the C library does with
``hosts: files dns``.  :class:`HostsFile` parses the file on first use and
again whenever its modification time or size changes, so edits are seen
without restarting.  Without a ``clock`` it checks that (one ``stat``) at
every lookup; with one -- the resolvers give their hub loop's ``now``, which
moves on each time the loop polls for I/O -- at most once per reading of the
clock: an edit is seen by the lookups made after the loop's next poll (any
wait), and the many lookups between two polls share one ``stat``.

Format (hosts(5)): one address per line followed by its canonical name and
aliases; ``#`` starts a comment.  As in the C library, a name's canonical
name and aliases come from the first line that lists it, and its addresses
from every line that does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import ip_address
from socket import AF_INET, AF_INET6

__all__ = ["DEFAULT_PATH", "HostEntry", "HostsFile"]

DEFAULT_PATH = "/etc/hosts"

_NEVER_READ = object()


@dataclass
class HostEntry:
    """What the hosts file says about one name (or one address)."""

    #: The first name of the first line listing the name (or address).
    name: str
    #: The other names of that line.
    aliases: list[str] = field(default_factory=list)
    #: IPv4 addresses of every line listing the name, in file order.
    ipv4: list[str] = field(default_factory=list)
    #: IPv6 addresses of every line listing the name, in file order.
    ipv6: list[str] = field(default_factory=list)

    def addresses(self, family: int) -> list[tuple[int, str]]:
        """``(family, address)`` pairs for ``family`` (AF_INET, AF_INET6 or 0: both)."""
        found: list[tuple[int, str]] = []
        if family in (0, AF_INET):
            found += [(AF_INET, address) for address in self.ipv4]
        if family in (0, AF_INET6):
            found += [(AF_INET6, address) for address in self.ipv6]
        return found


class HostsFile:
    """Lookups in one hosts file (``path``, default ``/etc/hosts``).

    A missing or unreadable file is an empty one.  ``clock``, if given, is
    called at each lookup; the file is checked for changes only when its
    value differs from the last check's (see the module docstring).
    """

    def __init__(self, path: str | None = None, clock: Callable[[], object] | None = None) -> None:
        self._path = path or DEFAULT_PATH
        self._clock = clock
        self._checked: object = _NEVER_READ
        self._stamp: object = _NEVER_READ
        self._by_name: dict[str, HostEntry] = {}
        self._by_address: dict[str, HostEntry] = {}
        self._pairs: list[tuple[str, str]] = []

    @property
    def path(self) -> str:
        """The file read; setting it makes the next lookup read the new one."""
        return self._path

    @path.setter
    def path(self, path: str) -> None:
        self._path = path
        self._checked = self._stamp = _NEVER_READ

    def _refresh(self) -> None:
        clock = self._clock
        if clock is not None:
            now = clock()
            if now == self._checked:
                return
            self._checked = now
        try:
            stat = os.stat(self.path)
        except OSError:
            stamp = None
        else:
            stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        text = ""
        if stamp is not None:
            try:
                with open(self.path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
            except OSError:
                text = ""
        self._parse(text)

    def _parse(self, text: str) -> None:
        by_name: dict[str, HostEntry] = {}
        by_address: dict[str, HostEntry] = {}
        pairs: list[tuple[str, str]] = []
        for line in text.splitlines():
            fields = line.split("#", 1)[0].split()
            if len(fields) < 2:
                continue
            try:
                address = ip_address(fields[0].split("%", 1)[0])
            except ValueError:
                continue
            text_address = fields[0] if address.version == 6 else str(address)
            names = fields[1:]
            key = str(address)
            if key not in by_address:
                by_address[key] = HostEntry(names[0], names[1:])
            for name in names:
                pairs.append((name, text_address))
                entry = by_name.get(name.lower())
                if entry is None:
                    entry = by_name[name.lower()] = HostEntry(names[0], names[1:])
                target = entry.ipv4 if address.version == 4 else entry.ipv6
                if text_address not in target:
                    target.append(text_address)
        self._by_name, self._by_address, self._pairs = by_name, by_address, pairs

    def iter_all_host_addr_pairs(self) -> Iterator[tuple[str, str]]:
        """Every ``(name, address)`` the file lists, in file order (as gevent's
        ``HostsFile`` offers them)."""
        self._refresh()
        return iter(list(self._pairs))

    def lookup(self, name: str) -> HostEntry | None:
        """The entry for ``name`` (case-insensitive; a trailing dot is ignored)."""
        self._refresh()
        return self._by_name.get(name.rstrip(".").lower()) if name else None

    def reverse(self, address: str) -> HostEntry | None:
        """The entry of the first line listing ``address`` (a numeric address)."""
        self._refresh()
        try:
            key = str(ip_address(address.split("%", 1)[0]))
        except ValueError:
            return None
        return self._by_address.get(key)
