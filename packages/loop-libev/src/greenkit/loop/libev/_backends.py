"""libev's backend and loop-flag names, and the conversions between them.

Only ``loop`` construction and introspection use these (none is on a hot
path); the public names are re-exported by ``corecffi``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._corecffi import lib

__all__ = [
    "BACKENDS",
    "FLAGS",
    "get_version",
    "get_header_version",
    "supported_backends",
    "recommended_backends",
    "embeddable_backends",
]

#: Backend names accepted in ``flags`` and reported by ``loop.backend``.
BACKENDS: dict[str, int] = {
    "select": lib.EVBACKEND_SELECT,
    "poll": lib.EVBACKEND_POLL,
    "epoll": lib.EVBACKEND_EPOLL,
    "kqueue": lib.EVBACKEND_KQUEUE,
    "devpoll": lib.EVBACKEND_DEVPOLL,
    "port": lib.EVBACKEND_PORT,
    "linuxaio": lib.EVBACKEND_LINUXAIO,
    "iouring": lib.EVBACKEND_IOURING,
}

#: Loop flag names accepted in ``flags``.
FLAGS: dict[str, int] = {
    "auto": lib.EVFLAG_AUTO,
    "noenv": lib.EVFLAG_NOENV,
    "forkcheck": lib.EVFLAG_FORKCHECK,
    "noinotify": lib.EVFLAG_NOINOTIFY,
    "signalfd": lib.EVFLAG_SIGNALFD,
    "nosigmask": lib.EVFLAG_NOSIGMASK,
    "notimerfd": lib.EVFLAG_NOTIMERFD,
}

_ALL_FLAG_BITS = lib.EVBACKEND_MASK
for _bit in FLAGS.values():
    _ALL_FLAG_BITS |= _bit


def get_version() -> str:
    """The version of the libev library loaded at run time."""
    return f"libev-{lib.ev_version_major()}.{lib.ev_version_minor():02d}"


def get_header_version() -> str:
    """The libev version greenkit was compiled against (same as the library here)."""
    return get_version()


def _backend_names(mask: int) -> list[str]:
    return [name for name, bit in BACKENDS.items() if mask & bit]


def supported_backends() -> list[str]:
    """Backends compiled into libev and usable on this system."""
    return _backend_names(lib.ev_supported_backends())


def recommended_backends() -> list[str]:
    """Backends libev picks by default on this system."""
    return _backend_names(lib.ev_recommended_backends())


def embeddable_backends() -> list[str]:
    """Backends whose loops can be embedded in another loop."""
    return _backend_names(lib.ev_embeddable_backends())


def _parse_flags(flags: int | str | Iterable[str] | None) -> int:
    """Turn names ('epoll,nosigmask'), a list of names or an int into libev flags."""
    if flags is None:
        return int(lib.EVFLAG_AUTO)
    if isinstance(flags, bool):
        raise TypeError(f"flags must be an int, a string or names, not {flags!r}")
    if isinstance(flags, int):
        if flags < 0 or flags & ~_ALL_FLAG_BITS:
            raise ValueError(f"Invalid value for backend: {flags:#x}")
        return flags
    if isinstance(flags, str):
        names: Iterable[str] = flags.split(",")
    else:
        names = flags
    result = 0
    for raw in names:
        name = str(raw).strip().lower()
        if not name:
            continue
        if name in FLAGS:
            result |= FLAGS[name]
        elif name in BACKENDS:
            result |= BACKENDS[name]
        else:
            raise ValueError(f"Invalid backend or flag: {name!r}")
    return result


def _flags_to_names(flags: int) -> str:
    names = _backend_names(flags)
    names += [name for name, bit in FLAGS.items() if bit and flags & bit]
    return ",".join(names)


for _public in (
    get_version,
    get_header_version,
    supported_backends,
    recommended_backends,
    embeddable_backends,
):
    _public.__module__ = "greenkit.loop.libev.corecffi"
del _public
