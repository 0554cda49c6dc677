"""Shared helpers of greenkit-threads' tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from greenkit_testing import run_python

#: Prepended to the scripts of ``run_patched``: the core of what
#: ``greenkit.monkey.patch_thread`` does (greenkit-monkey is not a dependency
#: of this package): record the originals, copy ``__implements__`` into
#: ``_thread`` and ``threading``, and move the main thread to the main
#: greenlet's identity.
PATCH = """
import _thread, threading
import greenkit.thread as gthread, greenkit.threading as gthreading
from greenkit._originals import save_original
native_ident = _thread.get_ident()
for source, target in ((gthread, _thread), (gthreading, threading)):
    for name in source.__implements__:
        save_original(target.__name__, name, getattr(target, name, None))
        setattr(target, name, getattr(source, name))
main = threading.main_thread()
del threading._active[native_ident]
main._ident = threading.get_ident()
threading._active[main._ident] = main
"""


@pytest.fixture
def run_patched() -> Callable[..., list[str]]:
    """Run a script in a child interpreter with ``_thread``/``threading``
    patched; returns its output split into words.  Fails if the script
    fails or, unless ``quiet=False`` (it reports errors on purpose), writes
    to stderr, as the interpreter does for ignored exceptions."""

    def run(script: str, quiet: bool = True) -> list[str]:
        return run_python(script, prelude=PATCH, timeout=60, quiet=quiet).stdout.split()

    return run
