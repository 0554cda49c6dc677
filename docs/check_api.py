"""Check that the built API reference documents every public name of every distribution.

Run by ``nox -s docs`` after the HTML build, in the venv where every
distribution is installed::

    python docs/check_api.py docs/_build/html

For each public module of each distribution, each name of its ``__all__``
must be in the built site: a name greenkit defines as an object of the
Python domain in ``objects.inv`` (so autodoc really documented it), a name
re-exported from another greenkit module as its target there, and a name a
standard-library mirror re-exports by name on the module's page.  Exits 1
listing whatever is missing.
"""

from __future__ import annotations

import html
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

from greenkit_api import classify, distributions, homes  # noqa: E402
from sphinx.util.inventory import InventoryFile  # noqa: E402

__all__ = ["missing_names"]


def _inventory(html_dir: Path) -> set[str]:
    with open(html_dir / "objects.inv", "rb") as stream:
        inventory = InventoryFile.load(stream, "", lambda base, uri: uri)
    names: set[str] = set()
    for role, entries in inventory.items():
        if role.startswith("py:"):
            names.update(entries)
    return names


def missing_names(html_dir: Path) -> list[str]:
    """Every public name the built reference at ``html_dir`` lacks, as ``module.name (why)``."""
    documented = _inventory(html_dir)
    dists = distributions()
    home = homes(dists)
    missing = []
    for dist in dists:
        page = html.unescape((html_dir / "api" / f"{dist.folder}.html").read_text())
        for module_name in dist.modules:
            if module_name not in documented:
                missing.append(f"{module_name} (module)")
            module = importlib.import_module(module_name)
            for name in module.__all__:
                entry = classify(module, name, home)
                if entry.kind == "own" and f"{module_name}.{name}" not in documented:
                    missing.append(f"{module_name}.{name} (not documented by autodoc)")
                elif entry.kind == "greenkit" and entry.target not in documented:
                    missing.append(f"{module_name}.{name} (its target {entry.target} is not)")
                elif entry.kind == "stdlib" and f">{name}<" not in page:
                    missing.append(f"{module_name}.{name} (not on {dist.folder}.html)")
    return missing


def main() -> int:
    html_dir = Path(sys.argv[1])
    missing = missing_names(html_dir)
    for line in missing:
        print("undocumented:", line)
    count = sum(len(importlib.import_module(m).__all__) for d in distributions() for m in d.modules)
    print(f"api coverage: {count - len(missing)} of {count} public names documented")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
