"""The ``gevent`` module itself while the alias is on: a thin module over greenkit's top level.

It cannot be greenkit's own top-level module: ``gevent.__version__`` must
name the gevent release whose API greenkit provides (dependents check it)
while ``greenkit.__version__`` stays greenkit's, and the import system binds
every imported submodule (``gevent.hub``) as an attribute of its parent, which
must not write into greenkit.  Every other attribute read falls through to
``greenkit`` (``gevent.spawn is greenkit.spawn``).
"""

from __future__ import annotations

import importlib
import types
from typing import Any

import greenkit
from greenkit._version import VersionInfo

__all__ = [
    "GEVENT_VERSION",
    "GEVENT_VERSION_INFO",
    "SUBMODULES_OF_THE_TOP_LEVEL",
    "new_gevent_module",
]

#: The gevent release whose API and behaviour greenkit reproduces.
GEVENT_VERSION = "26.9.0"
GEVENT_VERSION_INFO = VersionInfo(26, 9, 0, "final", 0)

#: Submodules that gevent's own ``__init__`` imports, so that code may use
#: ``gevent.hub`` or ``gevent.event`` after a bare ``import gevent``; here they
#: are imported on first access instead.
SUBMODULES_OF_THE_TOP_LEVEL = frozenset(
    {"event", "exceptions", "greenlet", "hub", "libev", "os", "timeout"}
)

_DOC = """gevent, answered by greenkit (greenkit-gevent-compat's alias is on).

Every ``gevent.X`` module is the greenkit module of the same name.
"""


def new_gevent_module() -> types.ModuleType:
    """A fresh ``gevent`` package module whose unknown attributes are greenkit's."""
    module = types.ModuleType("gevent", _DOC)

    def __getattr__(name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(f"module 'gevent' has no attribute {name!r}")
        if name in SUBMODULES_OF_THE_TOP_LEVEL:
            # Through the alias, so that sys.modules and this module's
            # attribute agree, as they would after gevent's own import.
            return importlib.import_module(f"gevent.{name}")
        try:
            return getattr(greenkit, name)
        except AttributeError:
            raise AttributeError(f"module 'gevent' has no attribute {name!r}") from None

    def __dir__() -> list[str]:
        public = {name for name in dir(greenkit) if not name.startswith("__")}
        return sorted(set(module.__dict__) | public | SUBMODULES_OF_THE_TOP_LEVEL)

    module.__dict__.update(
        __getattr__=__getattr__,
        __dir__=__dir__,
        __all__=list(greenkit.__all__),
        __version__=GEVENT_VERSION,
        version_info=GEVENT_VERSION_INFO,
        # Submodules come from the alias finder only: an empty search path
        # keeps the path-based finders (and a real gevent) out of ``gevent.*``.
        __path__=[],
    )
    return module
