"""Hatchling build hook: compile the cffi (API mode) extension against libev.

Standard wheels get the extension compiled in a scratch folder and mapped in
with ``force_include``; editable installs get it compiled in place under
``src/`` (hatchling ignores ``force_include`` for editable builds).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

HERE = Path(__file__).resolve().parent
PACKAGE_DIR = HERE / "src" / "greenkit" / "loop" / "libev"
MODULE = "greenkit.loop.libev._corecffi"
MISSING_HEADERS = (
    "greenkit-loop-libev needs the libev headers (ev.h): "
    "install 'libev-dev' (Debian/Ubuntu: apt-get install libev-dev) "
    "or 'libev' (macOS: brew install libev)."
)


def _load_builder() -> Any:
    spec = importlib.util.spec_from_file_location(
        "_greenkit_libev_build", PACKAGE_DIR / "_build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LibevBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compiles ``greenkit.loop.libev._corecffi`` for the running Python."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        build = _load_builder()
        if not build.find_ev_header():
            sys.exit(MISSING_HEADERS)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        if version == "editable":
            self._compile(build, PACKAGE_DIR.parent.parent.parent)
            return
        scratch = Path(tempfile.mkdtemp(prefix="greenkit-libev-"))
        self._scratch = scratch
        self._compile(build, scratch)
        built = scratch / "greenkit" / "loop" / "libev" / f"_corecffi{suffix}"
        build_data["force_include"][str(built)] = f"greenkit/loop/libev/_corecffi{suffix}"

    def _compile(self, build: Any, tmpdir: Path) -> None:
        ffibuilder = build.make_ffi()
        ffibuilder.compile(tmpdir=str(tmpdir), verbose=False)

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        # cffi leaves its generated C source and object beside the module.
        for leftover in ("_corecffi.c", "_corecffi.o"):
            path = PACKAGE_DIR / leftover
            if version == "editable" and path.exists():
                os.unlink(path)
