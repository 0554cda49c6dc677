"""Shared test helpers for greenkit's packages.

The pytest plugin (:mod:`greenkit_testing.plugin`) loads by itself once this
distribution is installed; see its docstring for the fixtures and markers.
This is a plain top-level package, deliberately outside the ``greenkit``
namespace, and never a runtime dependency of any greenkit distribution.
"""

from greenkit_testing.plugin import DEADLINE_ENV, DEFAULT_DEADLINE, open_fds

__all__ = ["DEADLINE_ENV", "DEFAULT_DEADLINE", "open_fds"]
