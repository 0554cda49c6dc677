"""cffi build script for ``greenkit.loop.libev._corecffi`` (API mode).

The declarations live in ``_corecffi_cdef.h`` and the C helpers in
``_corecffi_source.c``; this script only joins them and names the library.
Used by the package's hatchling hook; ``python _build.py`` builds in place.
"""

from __future__ import annotations

import os
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
MODULE_NAME = "greenkit.loop.libev._corecffi"

#: Where ev.h is looked for when no compiler flags say otherwise.
HEADER_DIRS = ("/usr/include", "/usr/local/include", "/opt/homebrew/include", "/opt/local/include")


def _extra_dirs(variable: str) -> list[str]:
    return [d for d in os.environ.get(variable, "").split(os.pathsep) if d]


def find_ev_header() -> str | None:
    """Return the folder holding ``ev.h``, or None when libev-dev is missing."""
    for folder in (*_extra_dirs("CPATH"), *_extra_dirs("C_INCLUDE_PATH"), *HEADER_DIRS):
        if os.path.exists(os.path.join(folder, "ev.h")):
            return folder
    return None


def make_ffi() -> FFI:
    """An FFI builder for the extension, ready for ``compile()``."""
    header_dir = find_ev_header()
    include_dirs = [header_dir] if header_dir and header_dir != "/usr/include" else []
    library_dirs = [os.path.join(os.path.dirname(d), "lib") for d in include_dirs]
    ffibuilder = FFI()
    ffibuilder.cdef((HERE / "_corecffi_cdef.h").read_text())
    ffibuilder.set_source(
        MODULE_NAME,
        (HERE / "_corecffi_source.c").read_text(),
        libraries=["ev"],
        include_dirs=include_dirs,
        library_dirs=library_dirs,
        extra_compile_args=["-O2", "-Wno-unused-function"],
    )
    return ffibuilder


if __name__ == "__main__":  # pragma: no cover - developer convenience
    make_ffi().compile(tmpdir=str(HERE.parents[3]), verbose=True)
