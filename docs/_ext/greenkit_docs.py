"""Sphinx extension: the parts of greenkit's site that are generated from the code.

* ``api/``: one page per distribution of ``packages/`` (what it is, what it
  depends on, its public modules with every name of their ``__all__``) and
  an index; written when the builder starts, before Sphinx reads sources.
* ``greenkit-settings``: a table of every ``greenkit.config`` setting with
  its ``GREENKIT_*`` and ``GEVENT_*`` variables and default.
* ``greenkit-distributions``: a table of the distributions and their
  dependencies.
* ``greenkit-renamed``: the gevent modules that live at another path in
  greenkit (from ``greenkit-gevent-compat``'s table).
* ``_generated/``: the performance page's plots (matplotlib) and tables of
  the yardstick's ratios, from ``performance/results.json``.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from greenkit_api import Distribution, classify, distributions, homes, requirement_name
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

__all__ = ["setup"]

DOCS = Path(__file__).resolve().parents[1]
API = DOCS / "api"
GENERATED = DOCS / "_generated"
RESULTS = DOCS / "performance" / "results.json"


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _plain(text: str) -> str:
    """``text`` (e.g. a pyproject description) escaped so that reST reads it literally."""
    return re.sub(r"([\\`*_|\[\]<>:])", r"\\\1", text)


def _heading(text: str, char: str) -> list[str]:
    return [text, char * len(text), ""]


def _dist_ref(dists: dict[str, Distribution], requirement: str) -> str:
    name = requirement_name(requirement)
    if name in dists:
        return f":doc:`{requirement.strip()} </api/{dists[name].folder}>`"
    return f"``{requirement.strip()}``"


# -- API pages ----------------------------------------------------------------------


def _module_section(module_name: str, home: dict[int, str]) -> list[str]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        raise RuntimeError(f"public module {module_name} has no __all__")
    lines = _heading(f"``{module_name}``", "-")
    lines += [f".. automodule:: {module_name}", ""]
    linked, stdlib = [], []
    for name in names:
        entry = classify(module, name, home)
        if entry.kind == "own":
            lines += [f".. {entry.directive}:: {name}"]
            if entry.directive in ("autoclass", "autoexception"):
                lines += ["   :members:", "   :undoc-members:", "   :show-inheritance:"]
            lines += [""]
        elif entry.kind == "greenkit":
            linked.append(f"* ``{name}``: :py:obj:`{entry.target}`")
        else:
            stdlib.append(f"``{name}``")
    if linked:
        lines += [".. rubric:: Documented elsewhere", ""]
        lines += [f"``{module_name}`` also exports these greenkit objects:", ""]
        lines += [*linked, ""]
    if stdlib:
        lines += [".. rubric:: From the standard library", ""]
        lines += [
            f"``{module_name}`` also exports these names unchanged from the standard"
            " library (or the third-party module that defines them), so it can stand"
            " in for the module it mirrors: " + ", ".join(stdlib) + ".",
            "",
        ]
    return lines


def _dist_page(dist: Distribution, dists: dict[str, Distribution], home: dict[int, str]) -> str:
    needed_by = [
        other for other in dists.values()
        if dist.name in other.sibling_dependencies
        or any(dist.name in map(requirement_name, reqs) for reqs in other.extras.values())
    ]  # fmt: skip
    lines = _heading(f"``{dist.name}``", "=")
    lines += [_plain(dist.description), ""]
    lines += [f":Folder: ``packages/{dist.folder}``"]
    lines += [f":Install: ``pip install {dist.name}``"]
    deps = ", ".join(_dist_ref(dists, req) for req in dist.dependencies) or "nothing"
    lines += [f":Depends on: {deps}"]
    for extra, reqs in dist.extras.items():
        listed = ", ".join(_dist_ref(dists, req) for req in reqs)
        lines += [f":Extra ``[{extra}]``: {listed}"]
    if needed_by:
        users = ", ".join(f":doc:`{o.name} </api/{o.folder}>`" for o in needed_by)
        lines += [f":Needed by: {users}"]
    modules = ", ".join(f":py:mod:`{m}`" for m in dist.modules) or "none"
    lines += [f":Public modules: {modules}", ""]
    for module_name in dist.modules:
        lines += _module_section(module_name, home)
    return "\n".join(lines) + "\n"


def _api_index(dists: list[Distribution]) -> str:
    lines = _heading("API reference", "=")
    lines += [
        "One page per distribution: what it contains, what it depends on, and every",
        "name of every public module (each module's ``__all__``). Names a module",
        "re-exports from elsewhere in greenkit link to where they are documented;",
        "names a standard-library mirror takes unchanged from the standard library",
        "are listed by name. These pages are generated from the installed",
        "distributions and ``packages/*/pyproject.toml`` at build time.",
        "",
        ".. greenkit-distributions::",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "   :hidden:",
        "",
        *[f"   {d.folder}" for d in dists],
        "",
    ]
    return "\n".join(lines)


def write_api_pages(app: Sphinx) -> None:
    """Write ``api/*.rst`` from the distributions (removing pages of vanished ones)."""
    dists = distributions()
    by_name = {d.name: d for d in dists}
    home = homes(dists)
    pages = {"index.rst": _api_index(dists)}
    for dist in dists:
        pages[f"{dist.folder}.rst"] = _dist_page(dist, by_name, home)
    API.mkdir(exist_ok=True)
    for stale in API.glob("*.rst"):
        if stale.name not in pages:
            stale.unlink()
    for name, text in pages.items():
        _write_if_changed(API / name, text)


class DistributionsTable(SphinxDirective):
    """A table: distribution, public modules, greenkit distributions it depends on."""

    def run(self) -> list[nodes.Node]:
        dists = distributions()
        by_name = {d.name: d for d in dists}
        rows = [".. list-table::", "   :header-rows: 1", "",
                "   * - distribution", "     - public modules", "     - depends on"]  # fmt: skip
        for dist in dists:
            others = [r for r in dist.dependencies if requirement_name(r) not in by_name]
            deps = [_dist_ref(by_name, r) for r in dist.sibling_dependencies] + [
                f"``{r}``" for r in others
            ]
            deps += [
                f"extra ``[{extra}]``: " + ", ".join(_dist_ref(by_name, r) for r in reqs)
                for extra, reqs in dist.extras.items()
            ]
            rows += [
                f"   * - :doc:`{dist.name} </api/{dist.folder}>`",
                "     - " + (", ".join(f"``{m}``" for m in dist.modules) or "none"),
                "     - " + (", ".join(deps) or "nothing"),
            ]
        return self.parse_lines(rows)

    def parse_lines(self, lines: list[str]) -> list[nodes.Node]:
        # reST: in a MyST page, use the directive inside an {eval-rst} block.
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=self.get_source_info()[0]), 0, container)
        return list(container.children)


# -- settings -------------------------------------------------------------------------


def _literal(text: str) -> str:
    return "``" + text.replace("`", "'") + "``" if text else ""


class SettingsTable(DistributionsTable):
    """Every documented ``greenkit.config`` setting, read from the settings objects:
    a definition list (name; variables, default, kind of value; description)."""

    def run(self) -> list[nodes.Node]:
        from greenkit.config import settings

        rows = []
        for name, setting in settings.items():
            if not setting.document:
                continue
            keys = ", ".join(_literal(k) for k in setting.environment_keys)
            rows += [
                f"``{name}``",
                f"   :Environment: {keys}",
                f"   :Default: {_literal(repr(setting.default))}",
                f"   :Takes: {setting.kind}",
                "",
                *("   " + line if line else "" for line in setting.desc.splitlines()),
                "",
            ]
        return self.parse_lines(rows)


class RenamedTable(DistributionsTable):
    """The gevent modules whose greenkit counterpart lives at another path."""

    def run(self) -> list[nodes.Node]:
        from greenkit.gevent_compat._names import RENAMED

        rows = [".. list-table::", "   :header-rows: 1", "",
                "   * - gevent module", "     - greenkit module"]  # fmt: skip
        for gevent_name, greenkit_name in RENAMED.items():
            rows += [f"   * - ``{gevent_name}``", f"     - ``{greenkit_name}``"]
        return self.parse_lines(rows)


# -- performance ------------------------------------------------------------------------


def _results() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RESULTS.read_text())
    return data


def write_plots(app: Sphinx) -> None:
    """One bar chart per recorded run: each implementation's cost relative to gevent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "greenkit"  # reproducible SVG ids
    GENERATED.mkdir(exist_ok=True)
    for run in _results()["runs"]:
        benches = list(run["ratios"])
        # greenkit first, so its bars come first in every group.
        impls = sorted((i for i in run["impls"] if i != "gevent"), key=lambda i: i != "greenkit")
        fig, ax = plt.subplots(figsize=(8, 0.42 * len(benches) + 1.4))
        height = 0.8 / len(impls)
        for k, impl in enumerate(impls):
            ys = [i + (k - (len(impls) - 1) / 2) * height for i in range(len(benches))]
            xs = [run["ratios"][b].get(impl) or 0 for b in benches]
            ax.barh(ys, xs, height=height, label=impl)
        ax.axvline(1.0, color="black", linewidth=1)
        ax.set_yticks(range(len(benches)), benches)
        ax.invert_yaxis()
        ax.set_xlabel("cost relative to gevent 26.9 (< 1: cheaper or faster)")
        ax.set_title(f"Same-run cost ratios to gevent 26.9, {run['date']}", fontsize=10)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        svg = GENERATED / f"perf-{run['id']}.svg"
        fig.savefig(svg, format="svg", metadata={"Date": None})
        plt.close(fig)


def _run_markdown(run: dict[str, Any], heading: bool) -> list[str]:
    impls = [i for i in run["impls"] if i != "gevent"]
    spread = run.get("gevent_spread_pct", {})
    lines = [f"### {run['date']}", ""] if heading else []
    lines += [f"![Cost ratios to gevent, {run['date']}](_generated/perf-{run['id']}.svg)", ""]
    header = ["benchmark", *impls] + (["gevent's spread"] if spread else [])
    lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for bench, ratios in run["ratios"].items():
        cells = [f"{ratios[i]:.2f}" if ratios.get(i) is not None else "—" for i in impls]
        if spread:
            cells.append(f"{spread.get(bench, 0)} %")
        lines += [f"| `{bench}` | " + " | ".join(cells) + " |"]
    lines += ["", f"- **Date:** {run['date']}", f"- **Machine:** {run['machine']}",
              f"- **Command:** `{run['command']}`", f"- **Note:** {run['note']}"]  # fmt: skip
    if spread:
        lines += [
            "- *gevent's spread* is gevent's own round-to-round spread, (max − min) / median:"
            " how far the machine let the same code drift in that run."
        ]
    return lines + [""]


def write_perf_pages(app: Sphinx) -> None:
    """Markdown for the performance page: the latest run, and every run."""
    runs = _results()["runs"]
    latest = _run_markdown(runs[0], heading=False)
    every = [line for run in runs for line in _run_markdown(run, heading=True)]
    GENERATED.mkdir(exist_ok=True)
    _write_if_changed(GENERATED / "perf-latest.md", "\n".join(latest))
    _write_if_changed(GENERATED / "perf-runs.md", "\n".join(every))


def drop_type_docstring(
    app: Sphinx, what: str, name: str, obj: object, options: Any, lines: list[str]
) -> None:
    """A module-level value without a ``#:`` comment gets no text (not its type's docstring)."""
    if what == "data" and not isinstance(obj, type):
        own = type(obj).__doc__ or ""
        if lines and " ".join(lines).split() == own.split():
            lines.clear()


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", drop_type_docstring)
    app.connect("builder-inited", write_api_pages)
    app.connect("builder-inited", write_plots)
    app.connect("builder-inited", write_perf_pages)
    app.add_directive("greenkit-distributions", DistributionsTable)
    app.add_directive("greenkit-settings", SettingsTable)
    app.add_directive("greenkit-renamed", RenamedTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
