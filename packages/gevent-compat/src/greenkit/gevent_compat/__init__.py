"""An opt-in ``gevent`` import alias over greenkit.

Switched on, every ``import gevent`` / ``import gevent.X`` in the process
gives greenkit: ``gevent.X is greenkit.X`` (the same module object, so
patches and ``isinstance`` checks agree), and ``gevent.__version__`` /
``gevent.version_info`` name the gevent release whose API greenkit provides
(:data:`GEVENT_VERSION`), so dependents' version checks pass, while
``greenkit.__version__`` stays greenkit's.

Two ways to switch it on:

* ``GREENKIT_AS_GEVENT=1`` in the environment: this distribution's start-up
  hook (a ``.pth`` file) installs the alias in every Python process of the
  environment that sees the variable, child processes included;
* :func:`install`, called before anything imports gevent.

Switched off, nothing is installed and a real gevent beside it is untouched;
switched on, the alias wins over a real gevent (none of its modules load).
"""

from __future__ import annotations

import sys

from greenkit.gevent_compat._finder import GeventAliasFinder, TopLevelLoader
from greenkit.gevent_compat._toplevel import GEVENT_VERSION, GEVENT_VERSION_INFO

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "GEVENT_VERSION",
    "GEVENT_VERSION_INFO",
    "install",
    "is_installed",
    "uninstall",
]

#: The variable whose true value (1/true/yes/on) switches the alias on at start-up.
ENVIRONMENT_VARIABLE = "GREENKIT_AS_GEVENT"


def _installed_finder() -> GeventAliasFinder | None:
    for finder in sys.meta_path:
        if isinstance(finder, GeventAliasFinder):
            return finder
    return None


def _gevent_names() -> list[str]:
    """The names of ``gevent`` and its submodules in ``sys.modules``."""
    return [name for name in sys.modules if name == "gevent" or name.startswith("gevent.")]


def _is_alias_module(name: str) -> bool:
    module = sys.modules.get(name)
    if module is None:
        return False
    if name == "gevent":
        return isinstance(getattr(module, "__loader__", None), TopLevelLoader)
    # Every other alias is a greenkit module under its own name.
    return getattr(module, "__name__", "").startswith("greenkit.")


def is_installed() -> bool:
    """Whether the alias answers imports of gevent in this process."""
    return _installed_finder() is not None


def install() -> None:
    """Make ``gevent`` and every ``gevent.X`` import greenkit from now on.

    Call it first thing, before anything imports gevent; calling it again is
    harmless.  Raises RuntimeError if a real gevent is already imported:
    mixing the two in one process would give two hubs and two loops.
    """
    if is_installed():
        return
    real = sorted(name for name in _gevent_names() if not _is_alias_module(name))
    if real:
        raise RuntimeError(
            f"gevent is already imported ({', '.join(real)}): call"
            " greenkit.gevent_compat.install() before anything imports gevent,"
            f" or set {ENVIRONMENT_VARIABLE}=1"
        )
    sys.meta_path.insert(0, GeventAliasFinder())


def uninstall() -> None:
    """Switch the alias off: forget the ``gevent`` names it gave and stop answering.

    greenkit's modules stay imported under their own names; objects already
    taken from ``gevent`` keep working (they are greenkit's).
    """
    finder = _installed_finder()
    if finder is None:
        return
    sys.meta_path.remove(finder)
    for name in _gevent_names():
        if _is_alias_module(name):
            del sys.modules[name]
