"""greenkit: gevent's programming model and API, assembled from small pieces.

This ``__init__`` belongs to the meta-package (distribution ``greenkit``);
every other distribution is a namespace portion of ``greenkit``.  Its first
statement extends ``__path__`` over those portions, and its top-level names
are loaded on first use (PEP 562) so that ``import greenkit.hub`` does not
import every package.
"""

__path__ = __import__("pkgutil").extend_path(__path__, __name__)

from importlib import import_module as _import_module  # noqa: E402
from typing import Any as _Any  # noqa: E402

#: Top-level name -> "module:attribute" it is loaded from on first access
#: ("module:" is the module itself; the attribute may be dotted).
#: A piece that adds to gevent's top-level API adds its line here
#: (e.g. ``"get_hub": "greenkit.hub:get_hub"``), keeping the table sorted.
_LAZY: dict[str, str] = {
    "Greenlet": "greenkit.greenlet:Greenlet",
    "GreenletExit": "greenkit.greenlet:GreenletExit",
    "Timeout": "greenkit.timeout:Timeout",
    "__version__": "greenkit._version:__version__",
    "config": "greenkit.config:",
    "fork": "greenkit.os:fork",
    "get_hub": "greenkit.hub:get_hub",
    "getcurrent": "greenkit.hub:getcurrent",
    "getswitchinterval": "sys:getswitchinterval",
    "idle": "greenkit.hub:idle",
    "iwait": "greenkit.hub:iwait",
    "joinall": "greenkit.greenlet:joinall",
    "kill": "greenkit.hub:kill",
    "killall": "greenkit.greenlet:killall",
    "reinit": "greenkit.hub:reinit",
    "setswitchinterval": "sys:setswitchinterval",
    "signal_handler": "greenkit.hub:signal_handler",
    "sleep": "greenkit.hub:sleep",
    "spawn": "greenkit.greenlet:Greenlet.spawn",
    "spawn_later": "greenkit.greenlet:Greenlet.spawn_later",
    "spawn_raw": "greenkit.hub:spawn_raw",
    "version_info": "greenkit._version:version_info",
    "wait": "greenkit.hub:wait",
    "with_timeout": "greenkit.timeout:with_timeout",
}

__all__ = sorted(name for name in _LAZY if not name.startswith("_"))


def __getattr__(name: str) -> _Any:
    try:
        target = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    module_name, _, attribute = target.partition(":")
    try:
        value = _import_module(module_name)
    except ModuleNotFoundError as ex:
        if ex.name is None or not module_name.startswith(ex.name):
            raise
        # A piece not installed (or not written yet): an AttributeError, so
        # hasattr() works, that names the distribution to install.
        from greenkit.config import distribution_for

        dist = distribution_for(module_name)
        hint = f"; install {dist}" if dist else ""
        raise AttributeError(
            f"module {__name__!r} has no attribute {name!r} ({module_name} is missing{hint})"
        ) from ex
    for part in filter(None, attribute.split(".")):
        value = getattr(value, part)
    globals()[name] = value  # later reads skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
