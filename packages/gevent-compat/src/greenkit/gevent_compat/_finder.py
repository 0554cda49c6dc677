"""The import hook: a meta-path finder that answers every ``gevent`` / ``gevent.*`` import.

``gevent.X`` is made the very module object ``greenkit.X`` (not a copy), so
a patch applied through one name is seen through the other and
``isinstance`` agrees.  The greenkit module is imported under its own name
when the import system creates ``gevent.X``; the code, source and package
queries that runpy makes (``python -m gevent.monkey``) are answered by the
greenkit module's own loader, so its ``__main__`` runs once, as ``__main__``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import types
from collections.abc import Sequence
from importlib.machinery import ModuleSpec

from greenkit.gevent_compat._names import greenkit_name_for
from greenkit.gevent_compat._toplevel import new_gevent_module

__all__ = ["GeventAliasFinder", "TopLevelLoader"]


class TopLevelLoader(importlib.abc.Loader):
    """Creates the ``gevent`` module (see ``_toplevel``)."""

    def create_module(self, spec: ModuleSpec) -> types.ModuleType:
        return new_gevent_module()

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module is complete when created."""


class _AliasLoader(importlib.abc.InspectLoader):
    """Gives the greenkit module ``target`` for a ``gevent.X`` name."""

    def __init__(self, target: str, target_spec: ModuleSpec) -> None:
        self.target = target
        self.target_spec = target_spec
        self._own_spec: ModuleSpec | None = None

    def create_module(self, spec: ModuleSpec) -> types.ModuleType:
        module = importlib.import_module(self.target)
        self._own_spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system stamped the alias spec on the module; greenkit's
        # module keeps its own.
        if self._own_spec is not None:
            module.__spec__ = self._own_spec

    def _target_loader(self) -> importlib.abc.InspectLoader:
        loader = self.target_spec.loader
        if not isinstance(loader, importlib.abc.InspectLoader):
            raise ImportError(f"{self.target} has no code to inspect", name=self.target)
        return loader

    def is_package(self, fullname: str) -> bool:
        return self.target_spec.submodule_search_locations is not None

    def get_code(self, fullname: str) -> types.CodeType | None:
        return self._target_loader().get_code(self.target)

    def get_source(self, fullname: str) -> str | None:
        return self._target_loader().get_source(self.target)


class GeventAliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``gevent`` and ``gevent.*`` in greenkit; first on ``sys.meta_path`` while on."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname == "gevent":
            return ModuleSpec("gevent", TopLevelLoader(), is_package=True)
        greenkit_name = greenkit_name_for(fullname)
        if greenkit_name is None:
            return None
        try:
            target_spec = importlib.util.find_spec(greenkit_name)
        except ModuleNotFoundError:
            target_spec = None  # a parent greenkit lacks: gevent.X is not found either
        if target_spec is None:
            return None
        spec = ModuleSpec(
            fullname,
            _AliasLoader(greenkit_name, target_spec),
            origin=target_spec.origin,
            is_package=target_spec.submodule_search_locations is not None,
        )
        if target_spec.submodule_search_locations is not None:
            spec.submodule_search_locations = list(target_spec.submodule_search_locations)
        return spec

    def __repr__(self) -> str:
        return "<greenkit.gevent_compat alias: gevent -> greenkit>"
