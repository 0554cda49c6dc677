"""Filling a cooperative module with the rest of the stdlib module it mirrors.

``greenkit.os``, ``greenkit.select``, ``greenkit.signal`` and ``greenkit.ssl``
replace a few names of their standard module (``__implements__``) and offer
every other public name unchanged, as gevent's modules do, so that they can
stand in for the standard module.
"""

from __future__ import annotations

from collections.abc import Container
from types import ModuleType
from typing import Any

__all__ = ["reexport"]


def reexport(
    namespace: dict[str, Any],
    module: ModuleType,
    skip: Container[str] = (),
    *,
    modules: bool = True,
) -> list[str]:
    """Copy ``module``'s public names into ``namespace`` (a module's globals),
    except those in ``skip`` and, with ``modules`` false, submodules; return
    the names copied."""
    copied = []
    for name in dir(module):
        if name.startswith("_") or name in skip:
            continue
        value = getattr(module, name)
        if not modules and isinstance(value, ModuleType):
            continue
        namespace[name] = value
        copied.append(name)
    return copied
