"""Shared test helpers for greenkit's packages.

The pytest plugin (:mod:`greenkit_testing.plugin`) loads by itself once this
distribution is installed; see its docstring for the fixtures and markers.
:func:`run_python` (:mod:`greenkit_testing.child`) runs a snippet in a child
interpreter.  This is a plain top-level package, deliberately outside the
``greenkit`` namespace, and never a runtime dependency of any greenkit
distribution.
"""

from greenkit_testing.child import run_python
from greenkit_testing.plugin import (
    DEADLINE_ENV,
    DEFAULT_DEADLINE,
    GUARD_TIMEOUT,
    open_fds,
    run_guarded,
    warm_up_hub,
)

__all__ = [
    "DEADLINE_ENV",
    "DEFAULT_DEADLINE",
    "GUARD_TIMEOUT",
    "open_fds",
    "run_guarded",
    "run_python",
    "warm_up_hub",
]
