"""Which greenkit module answers an import of each gevent module name.

greenkit mirrors gevent's layout (``gevent.hub`` is ``greenkit.hub``), so the
rule is a prefix swap; the table lists the gevent names whose counterpart
lives at another path.  A gevent name whose counterpart greenkit lacks (the
Cython and libuv back ends, say) is not found, as any missing module is.
"""

from __future__ import annotations

__all__ = ["RENAMED", "greenkit_name_for"]

#: gevent module name -> greenkit module name, where the two differ.
RENAMED: dict[str, str] = {
    # ``gevent.core`` is "the module of the default loop implementation".
    "gevent.core": "greenkit.loop.libev",
    "gevent.libev": "greenkit.loop.libev",
    "gevent.libev.corecffi": "greenkit.loop.libev.corecffi",
    "gevent.libev.watcher": "greenkit.loop.libev.watcher",
    # The deprecated top-level resolver names gevent still answers to.
    "gevent.resolver_thread": "greenkit.resolver.thread",
    "gevent.resolver_ares": "greenkit.resolver.ares",
}

_PREFIX = "gevent."


def greenkit_name_for(gevent_name: str) -> str | None:
    """The greenkit module behind ``gevent_name``, or None for a name outside ``gevent.``."""
    if not gevent_name.startswith(_PREFIX):
        return None
    return RENAMED.get(gevent_name, "greenkit." + gevent_name[len(_PREFIX) :])
