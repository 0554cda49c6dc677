"""Sphinx configuration of greenkit's documentation site (built by ``nox -s docs``).

The API pages, the settings table, the distribution tables and the
performance plots are generated from the installed code and from files in
the repository by the local extension ``_ext/greenkit_docs.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "greenkit"
author = "the greenkit developers"
copyright = "2026, the greenkit developers"
release = (ROOT / "VERSION").read_text().strip()
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "greenkit_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated", "examples"]
root_doc = "index"

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
# Docstrings inherited from the standard library's classes are not reST.
autodoc_inherit_docstrings = False

# Only the guides' explicit doctest/testcode blocks are run; the docstrings'
# own examples are the packages' business (their tests).
doctest_test_doctest_blocks = ""
doctest_global_setup = """
import greenkit
import subprocess as _subprocess
import sys as _sys

EXAMPLES = @EXAMPLES@
CERT = EXAMPLES + "/localhost.pem"

def run_example(name, runner=(), env=None):
    # docs/examples/<name> run in a fresh interpreter: its output, stripped.
    import os
    done = _subprocess.run([_sys.executable, *runner, EXAMPLES + "/" + name],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, **(env or {})})
    return (done.stdout + done.stderr).strip()
""".replace("@EXAMPLES@", repr(str(DOCS / "examples")))

html_theme = "furo"
html_title = f"greenkit {release}"
html_static_path: list[str] = []
