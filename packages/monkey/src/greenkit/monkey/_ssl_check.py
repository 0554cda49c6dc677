"""Detect that :mod:`ssl` is being patched too late.

Patching replaces the attributes of the :mod:`ssl` module, but two kinds
of references escape it: modules that did ``from ssl import SSLContext``
keep the original objects, and classes that subclass the original
``SSLContext`` (or another patched class) keep its blocking behaviour.
Both are found before patching, so the warning can name them.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

__all__ = ["late_ssl_patch_message"]


def _is_own(module_name: str) -> bool:
    """Modules that legitimately hold the originals: ssl itself and ours."""
    return module_name in ("ssl", "_ssl") or module_name.startswith(("greenkit.", "gevent."))


def _subclasses(cls: type) -> Iterator[type]:
    sub: type
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def late_ssl_patch_message(source: types.ModuleType, target_name: str) -> str | None:
    """The warning to give when patching the module ``target_name`` (ssl)
    from ``source`` (greenkit.ssl) now, or None if it is safe.

    It is safe when the module was not imported yet, or when nothing outside
    it and greenkit holds references to the objects being replaced.
    """
    ssl_mod = sys.modules.get(target_name)
    if ssl_mod is None:
        return None
    names = source.__implements__
    originals = {
        id(getattr(ssl_mod, name)): getattr(ssl_mod, name)
        for name in names
        if hasattr(ssl_mod, name)
    }

    importers = []
    for module_name, module in list(sys.modules.items()):
        if (
            module is None
            or module is ssl_mod
            or _is_own(module_name)
            or _is_own(getattr(module, "__name__", ""))
        ):
            continue
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        if any(id(value) in originals for value in list(namespace.values())):
            importers.append(module_name)

    subclasses = set()
    for value in originals.values():
        if isinstance(value, type):
            for sub in _subclasses(value):
                if not _is_own(sub.__module__):
                    subclasses.add(f"{sub.__module__}.{sub.__qualname__}")

    if not importers and not subclasses:
        return None
    parts = [
        "Monkey-patching ssl after ssl has already been imported may lead to errors "
        "or to blocking the event loop. Please monkey-patch earlier "
        "(first thing in the main module)."
    ]
    if importers:
        parts.append(f"Modules that had direct imports (NOT patched): {sorted(importers)}.")
    if subclasses:
        parts.append(f"Subclasses (NOT patched): {sorted(subclasses)}.")
    return " ".join(parts)
