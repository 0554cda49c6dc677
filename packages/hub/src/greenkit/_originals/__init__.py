"""The registry of original (unpatched) standard-library objects.

Monkey patching replaces stdlib attributes (``_thread.start_new_thread``,
``time.sleep``, ``socket.socket``, ...) with cooperative versions.  Code
that must keep the real ones -- the monitoring thread, the thread pool,
locks that wake other native threads -- asks this registry, which lives in
the hub so that those modules never import ``greenkit.monkey``.  The
monkey module records each original here before it replaces it.
"""

from __future__ import annotations

import importlib
from typing import Any, overload

__all__ = ["save_original", "get_original", "is_patched"]

#: module name -> {attribute name -> the object found there before patching}
_saved: dict[str, dict[str, Any]] = {}


def save_original(module_name: str, name: str, value: Any) -> None:
    """Remember ``value`` as the original ``module_name.name`` (the first one wins)."""
    _saved.setdefault(module_name, {}).setdefault(name, value)


def is_patched(module_name: str, name: str | None = None) -> bool:
    """Whether anything (or ``name``) of ``module_name`` has been replaced."""
    saved = _saved.get(module_name)
    if not saved:
        return False
    return True if name is None else name in saved


@overload
def get_original(module_name: str, item_name: str) -> Any: ...
@overload
def get_original(module_name: str, item_name: list[str] | tuple[str, ...]) -> list[Any]: ...


def get_original(module_name: str, item_name: Any) -> Any:
    """The original object(s) ``module_name.item_name`` (a name or a list of names),
    as they were before monkey patching; unpatched names come from the module."""
    names = [item_name] if isinstance(item_name, str) else list(item_name)
    saved = _saved.get(module_name, {})
    module = None
    found = []
    for name in names:
        if name in saved:
            found.append(saved[name])
            continue
        if module is None:
            module = importlib.import_module(module_name)
        found.append(getattr(module, name))
    return found[0] if isinstance(item_name, str) else found
