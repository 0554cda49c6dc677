"""Which distributions greenkit has, which public modules each ships, and what each name is.

Read by the Sphinx extension (``greenkit_docs``) to write one API page per
distribution, and by ``check_api.py`` to verify that every name of every
public module's ``__all__`` made it into the built reference.  Both look at
the same two sources, so neither can drift from the code:

* ``packages/*/pyproject.toml`` in the repository: the distributions, their
  descriptions and dependencies;
* the installed distributions (the docs session installs every wheel):
  the modules each one ships and the objects in their ``__all__``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import re
import sys
import tomllib
import types
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Distribution",
    "Name",
    "classify",
    "distributions",
    "homes",
    "requirement_name",
    "public_modules",
]

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT / "packages"
#: The distribution that assembles the kit; listed first.
META = "greenkit"


def requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    return match.group(0).lower().replace("_", "-") if match else requirement


@dataclass
class Distribution:
    """One folder of ``packages/``: its distribution and what the docs say of it."""

    folder: str
    name: str
    description: str
    dependencies: list[str]
    extras: dict[str, list[str]]
    modules: list[str] = field(default_factory=list)

    @property
    def page(self) -> str:
        """The docname of its API page."""
        return f"api/{self.folder}"

    @property
    def sibling_dependencies(self) -> list[str]:
        """The greenkit distributions it requires."""
        return [
            requirement_name(req)
            for req in self.dependencies
            if requirement_name(req).startswith(META)
        ]


def public_modules(dist: str) -> list[str]:
    """Dotted names of the public modules an installed distribution ships.

    A module is public when no component of its name starts with ``_``
    (``__main__`` included).
    """
    found = set()
    for file in importlib.metadata.files(dist) or ():
        path = str(file)
        if not path.endswith(".py") or ".dist-info/" in path:
            continue
        parts = path[: -len(".py")].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and not any(part.startswith("_") for part in parts):
            found.add(".".join(parts))
    return sorted(found)


def distributions() -> list[Distribution]:
    """Every distribution of ``packages/``, the meta-package first, with its modules."""
    found = []
    for pyproject in sorted(PACKAGES.glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        dist = Distribution(
            folder=pyproject.parent.name,
            name=project["name"],
            description=project.get("description", ""),
            dependencies=list(project.get("dependencies", ())),
            extras={k: list(v) for k, v in project.get("optional-dependencies", {}).items()},
        )
        dist.modules = public_modules(dist.name)
        found.append(dist)
    found.sort(key=lambda d: (d.name != META, d.name))
    return found


@dataclass
class Name:
    """One name of a module's ``__all__`` and how the reference shows it.

    ``kind`` is ``"own"`` (documented on this module's page, with ``directive``),
    ``"greenkit"`` (the object of another public greenkit module; ``target``
    is its documented dotted name) or ``"stdlib"`` (an object of the
    standard library or a third-party module, shown by name).
    """

    name: str
    kind: str
    directive: str = ""
    target: str = ""


def _is_public_module(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


def _stdlib_twin(module: types.ModuleType) -> types.ModuleType | None:
    """The standard-library module a greenkit mirror is named after, if any."""
    last = module.__name__.rsplit(".", 1)[-1]
    if last in sys.stdlib_module_names:
        return importlib.import_module(last)
    return None


def _directive(obj: object) -> str:
    if isinstance(obj, type):
        return "autoexception" if issubclass(obj, BaseException) else "autoclass"
    if inspect.isroutine(obj):
        return "autofunction"
    return "autodata"


#: Values whose identity says nothing about where they were defined.
_SCALARS = (int, float, str, bytes, bool, type(None))


def _candidate_rank(module: str, name: str, obj: object) -> tuple[bool, bool, int]:
    return (module == META, getattr(obj, "__name__", name) != name, len(module))


def homes(dists: list[Distribution]) -> dict[int, str]:
    """id() of each greenkit class or function -> the dotted name it is documented under.

    An object is documented in the public module its ``__module__`` names,
    when that module lists it in ``__all__``; an object of a private module
    is documented in one public module that lists it (not the meta-package
    if another does, preferring the one that uses the object's own name).
    """
    candidates: dict[int, list[tuple[str, str, object]]] = {}
    data: dict[int, list[tuple[str, str]]] = {}
    for dist in dists:
        for module_name in dist.modules:
            module = importlib.import_module(module_name)
            for name in getattr(module, "__all__", ()):
                obj = getattr(module, name)
                owner = getattr(obj, "__module__", None) if hasattr(obj, "__qualname__") else None
                if owner is None and not isinstance(obj, _SCALARS + (types.ModuleType,)):
                    # A container or instance exported by several modules is
                    # documented once, in the most specific (deepest) of them.
                    data.setdefault(id(obj), []).append((module_name, name))
                if owner is None or not (owner == META or owner.startswith(META + ".")):
                    continue
                candidates.setdefault(id(obj), []).append((module_name, name, obj))
    found = {}
    for key, names in data.items():
        if len(names) > 1:
            found[key] = ".".join(max(names, key=lambda p: (len(p[0]), p[0])))
    for key, places in candidates.items():
        obj = places[0][2]
        owner = obj.__module__  # type: ignore[attr-defined]
        qualname = obj.__qualname__  # type: ignore[attr-defined]
        if _is_public_module(owner) and qualname.split(".")[0] in getattr(
            importlib.import_module(owner), "__all__", ()
        ):
            found[key] = f"{owner}.{qualname}"
            continue
        module_name, name, _ = min(places, key=lambda p: _candidate_rank(*p))
        found[key] = f"{module_name}.{name}"
    return found


def classify(module: types.ModuleType, name: str, home: dict[int, str]) -> Name:
    """How the reference shows ``module.name`` (``home``: from :func:`homes`)."""
    obj = getattr(module, name)
    if isinstance(obj, types.ModuleType):
        if obj.__name__.startswith(META + "."):
            return Name(name, "greenkit", target=obj.__name__)
        return Name(name, "stdlib")
    owner = getattr(obj, "__module__", None) if hasattr(obj, "__qualname__") else None
    if owner is None:
        if id(obj) in home and home[id(obj)] != f"{module.__name__}.{name}":
            return Name(name, "greenkit", target=home[id(obj)])
        twin = _stdlib_twin(module)
        if twin is not None and getattr(twin, name, object()) is obj:
            return Name(name, "stdlib")
        return Name(name, "own", _directive(obj))
    if not (owner == META or owner.startswith(META + ".")):
        return Name(name, "stdlib")
    target = home.get(id(obj))
    if target is None:  # a bound method or the like: documented where its function is
        target = f"{owner}.{obj.__qualname__}"  # type: ignore[attr-defined]
        if not _is_public_module(owner):
            return Name(name, "own", _directive(obj))
    if target == f"{module.__name__}.{name}":
        return Name(name, "own", _directive(obj))
    return Name(name, "greenkit", target=target)
