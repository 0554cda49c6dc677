#!/usr/bin/env python3
"""Generate the package map from the packages' own metadata.

Which folder is which distribution, what it ships, what it depends on and on
which layer it stands is said once, by each package: its
``packages/<folder>/pyproject.toml`` (``[project]`` name, description,
dependencies, optional-dependencies; ``[tool.greenkit]``) and its ``src/``
tree.  From these the script writes:

* the packages table of the root ``README.md``, between
  ``<!-- package-map:start -->`` and ``<!-- package-map:end -->``;
* the layers table of ``docs/layout.md``, between ``<!-- layers:start -->``
  and ``<!-- layers:end -->``;
* ``greenkit.config._distributions`` (in ``packages/hub``), the map from
  module to distribution behind ``greenkit.config.distribution_for`` and
  the "install X" hints of failed imports.

A package's ``[tool.greenkit]`` table declares what the metadata cannot say::

    [tool.greenkit]
    layer = 6            # imports point only down the layers
    [tool.greenkit.extra-modules]
    "greenkit.resolver.ares" = "ares"    # a module that needs an extra

Each package's ``README.md`` must name every one of its public modules
(``greenkit.resolver.ares``, or a name in it such as
``greenkit.resolver.ares.Resolver``); the script reports a missing one,
which is written by hand.

The public modules are read from ``src/``: every package directory whose
name does not start with ``_`` (walking through namespace directories, such
as ``greenkit/loop``, and into public subpackages, such as
``greenkit.resolver.ares``), and every public top-level ``.py`` module.

``--check`` changes nothing: it prints every disagreement and exits 1 if
there is any.  Only the standard library is used.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sync_versions import META, NOT_RUNTIME, cli, normalize, split_requirement

ROOT = Path(__file__).resolve().parent.parent
START = "<!-- package-map:start -->"
END = "<!-- package-map:end -->"
README = Path("README.md")
LAYOUT = Path("docs/layout.md")
LAYERS_START = "<!-- layers:start -->"
LAYERS_END = "<!-- layers:end -->"
DISTRIBUTIONS = Path("packages/hub/src/greenkit/config/_distributions.py")
DIST_PREFIX = "greenkit-"


@dataclass(frozen=True)
class Entry:
    """One distribution, as its pyproject.toml and src/ tree describe it."""

    folder: str
    name: str
    description: str
    dependencies: tuple[str, ...]
    extras: dict[str, list[str]]
    layer: int | None
    extra_modules: dict[str, str]  # module -> extra it needs
    modules: tuple[str, ...]

    @property
    def key(self) -> str:
        return normalize(self.name)


def public_modules(src: Path) -> list[str]:
    """The public modules under ``src``, dotted, in walk order."""
    found: list[str] = []

    def walk(path: Path, dotted: str, in_namespace: bool) -> None:
        for child in sorted(path.iterdir()):
            if child.name.startswith(("_", ".")):
                continue
            name = f"{dotted}.{child.stem}" if dotted else child.stem
            if child.is_dir():
                if (child / "__init__.py").exists():
                    found.append(name)
                    walk(child, name, in_namespace=False)
                elif in_namespace:
                    walk(child, name, in_namespace=True)
            elif child.suffix == ".py" and in_namespace:
                found.append(name)

    if (src / "greenkit" / "__init__.py").exists():
        found.append("greenkit")  # the meta-package: everything in it is private
    for child in sorted(src.iterdir()):
        if child.name.startswith(("_", ".")) or not child.is_dir() or child.name == "greenkit":
            continue
        if (child / "__init__.py").exists():
            found.append(child.name)
    if (src / "greenkit").is_dir() and not (src / "greenkit" / "__init__.py").exists():
        walk(src / "greenkit", "greenkit", in_namespace=True)
    return found


def load(root: Path = ROOT) -> tuple[list[Entry], list[str]]:
    """Every package's entry, and the problems in their declarations."""
    entries: list[Entry] = []
    problems: list[str] = []
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        where = str(pyproject.relative_to(root))
        data = tomllib.loads(pyproject.read_text())
        project = data.get("project", {})
        tool = data.get("tool", {}).get("greenkit", {})
        extras = {k: list(v) for k, v in project.get("optional-dependencies", {}).items()}
        layer = tool.get("layer")
        if layer is not None and not isinstance(layer, int):
            problems.append(f"{where}: [tool.greenkit] layer must be an integer")
            layer = None
        extra_modules = dict(tool.get("extra-modules", {}))
        src = pyproject.parent / "src"
        modules = public_modules(src) if src.is_dir() else []
        for module, extra in extra_modules.items():
            if extra not in extras:
                problems.append(f"{where}: {module} needs extra {extra!r}, which is not declared")
            if module not in modules:
                problems.append(f"{where}: {module} (in extra-modules) is not a public module")
        entry = Entry(
            folder=pyproject.parent.name,
            name=project.get("name", ""),
            description=project.get("description", ""),
            dependencies=tuple(project.get("dependencies", [])),
            extras=extras,
            layer=layer,
            extra_modules=extra_modules,
            modules=tuple(modules),
        )
        if entry.layer is None and entry.key not in NOT_RUNTIME:
            problems.append(f"{where}: no [tool.greenkit] layer")
        readme = pyproject.parent / "README.md"
        text = readme.read_text() if readme.exists() else ""
        for module in modules:
            if not re.search(rf"(?<![\w.]){re.escape(module)}(?!\w)", text):
                problems.append(
                    f"packages/{entry.folder}/README.md: public module {module} is not named"
                )
        entries.append(entry)

    layers = {e.key: e.layer for e in entries}
    for entry in entries:
        for req in entry.dependencies:
            dep = normalize(split_requirement(req)[0])
            mine, theirs = entry.layer, layers.get(dep)
            if mine is not None and theirs is not None and theirs > mine:
                problems.append(
                    f"packages/{entry.folder}: layer {mine} depends on {dep} (layer {theirs})"
                )
    return entries, problems


def addons(entries: list[Entry]) -> dict[str, str]:
    """{distribution: extra of the meta-package that installs it}."""
    meta = next((e for e in entries if e.key == META), None)
    if meta is None:
        return {}
    return {
        normalize(split_requirement(req)[0]): extra
        for extra, reqs in meta.extras.items()
        for req in reqs
    }


# -- the README table -----------------------------------------------------------


def _code(text: str) -> str:
    return f"`{text}`"


def _dependency_cell(entry: Entry, siblings: set[str]) -> str:
    if entry.key == META:
        return "every runtime distribution, pinned exactly"
    names = []
    for req in entry.dependencies:
        name = normalize(split_requirement(req)[0])
        if name == META:
            names.append("the meta-package (the whole kit)")
        elif name in siblings and name.startswith(DIST_PREFIX):
            names.append(name.removeprefix(DIST_PREFIX))
        else:
            names.append(split_requirement(req)[0])
    for extra, reqs in entry.extras.items():
        if entry.key == META:
            continue
        third = ", ".join(split_requirement(r)[0] for r in reqs)
        names.append(f"{third} with `[{extra}]`")
    return ", ".join(names) or "—"


def _distribution_cell(entry: Entry, addon_of: dict[str, str]) -> str:
    cell = _code(entry.name)
    if entry.key == META:
        cell += " (meta-package)"
    elif entry.key in addon_of:
        cell += f" (add-on: `pip install greenkit[{addon_of[entry.key]}]`)"
    return cell


def _modules_cell(entry: Entry) -> str:
    cells = []
    for module in entry.modules:
        extra = entry.extra_modules.get(module)
        cells.append(_code(module) + (f" (`[{extra}]`)" if extra else ""))
    return ", ".join(cells)


def _layer_cell(entry: Entry, addon_of: dict[str, str]) -> str:
    if entry.layer is None:
        return "tests only"
    return f"{entry.layer}" + (" (add-on)" if entry.key in addon_of else "")


def readme_table(entries: list[Entry]) -> str:
    """The README's packages table, ordered by layer, then folder."""
    addon_of = addons(entries)
    siblings = {e.key for e in entries}
    rows = [
        "| folder | distribution | what | modules | depends on | layer |",
        "|---|---|---|---|---|---|",
    ]
    order = sorted(entries, key=lambda e: (e.layer is None, e.layer or 0, e.folder))
    for entry in order:
        cells = [
            _code(f"packages/{entry.folder}"),
            _distribution_cell(entry, addon_of),
            entry.description.replace("|", "\\|"),
            _modules_cell(entry),
            _dependency_cell(entry, siblings),
            _layer_cell(entry, addon_of),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def layers_table(entries: list[Entry]) -> str:
    """docs/layout.md's table: the distributions on each layer."""
    addon_of = addons(entries)
    by_layer: dict[int, list[str]] = {}
    for entry in sorted(entries, key=lambda e: (e.key in addon_of, e.name)):
        if entry.layer is None:
            continue
        cell = _code(entry.name)
        if entry.key == META:
            cell += " (meta-package)"
        elif entry.key in addon_of:
            cell += " (add-on)"
        by_layer.setdefault(entry.layer, []).append(cell)
    rows = ["| layer | distributions |", "| --- | --- |"]
    rows += [f"| {layer} | {', '.join(by_layer[layer])} |" for layer in sorted(by_layer)]
    return "\n".join(rows) + "\n"


def replace_between(text: str, start_mark: str, end_mark: str, body: str, where: str) -> str:
    """``text`` with everything between the two marker lines replaced by ``body``."""
    start, end = text.find(start_mark), text.find(end_mark)
    if start < 0 or end < start:
        raise SystemExit(f"{where}: no {start_mark} ... {end_mark} markers")
    return text[: start + len(start_mark)] + "\n" + body + text[end:]


# -- greenkit.config._distributions ------------------------------------------------


def distributions_module(entries: list[Entry]) -> str:
    """The source of greenkit.config._distributions."""
    pairs: list[tuple[str, str]] = []
    for entry in entries:
        if entry.key == META or entry.key in NOT_RUNTIME:
            continue
        for module in entry.modules:
            extra = entry.extra_modules.get(module)
            pairs.append((module, f"{entry.name}[{extra}]" if extra else entry.name))
    # The most specific prefix first: distribution_for takes the first match.
    pairs.sort(key=lambda pair: (-pair[0].count("."), pair[0]))
    lines = [
        '"""Which distribution ships which greenkit module.',
        "",
        "Generated by tools/package_map.py from every packages/*/pyproject.toml and",
        "src/ tree; do not edit (run ``python tools/package_map.py``).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        '__all__ = ["DISTRIBUTIONS"]',
        "",
        "#: (module, requirement that installs it), the most specific module first.",
        "DISTRIBUTIONS: tuple[tuple[str, str], ...] = (",
        *(f'    ("{module}", "{dist}"),' for module, dist in pairs),
        ")",
    ]
    return "\n".join(lines) + "\n"


# -- main -----------------------------------------------------------------------


def plan(root: Path = ROOT) -> tuple[list[str], dict[Path, str]]:
    """Return (disagreements, {file: generated text})."""
    entries, problems = load(root)
    readme, layout = root / README, root / LAYOUT
    wanted = {
        readme: replace_between(readme.read_text(), START, END, readme_table(entries), str(README)),
        layout: replace_between(
            layout.read_text(), LAYERS_START, LAYERS_END, layers_table(entries), str(LAYOUT)
        ),
        root / DISTRIBUTIONS: distributions_module(entries),
    }
    changed: dict[Path, str] = {}
    for path, text in wanted.items():
        have = path.read_text() if path.exists() else None
        if have != text:
            problems.append(f"{path.relative_to(root)}: out of date with the packages' metadata")
            changed[path] = text
    return problems, changed


def main(argv: list[str] | None = None) -> int:
    return cli(
        argv, __doc__, plan, lambda root: "the package map agrees with the packages' metadata"
    )


if __name__ == "__main__":
    sys.exit(main())
