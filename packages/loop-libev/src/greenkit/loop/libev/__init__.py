"""greenkit's libev event loop: ``loop``, its watchers and callbacks.

A cffi (API mode) binding to the system libev.  This package imports
nothing else from greenkit; the hub drives it through the interfaces in
``greenkit._interfaces``.
"""

from .corecffi import (
    BACKENDS,
    ERROR,
    EVENTS,
    FLAGS,
    MAXPRI,
    MINPRI,
    NONE,
    READ,
    UNDEF,
    WRITE,
    callback,
    embeddable_backends,
    get_header_version,
    get_version,
    loop,
    recommended_backends,
    supported_backends,
    time,
)
from .watcher import async_, check, child, fork, idle, io, prepare, signal, stat, timer, watcher

__all__ = [
    "loop",
    "callback",
    "watcher",
    "io",
    "timer",
    "signal",
    "idle",
    "prepare",
    "check",
    "fork",
    "async_",
    "child",
    "stat",
    "EVENTS",
    "READ",
    "WRITE",
    "NONE",
    "UNDEF",
    "ERROR",
    "MINPRI",
    "MAXPRI",
    "BACKENDS",
    "FLAGS",
    "get_version",
    "get_header_version",
    "supported_backends",
    "recommended_backends",
    "embeddable_backends",
    "time",
]
