"""Installs the alias at interpreter start-up when ``GREENKIT_AS_GEVENT`` is true.

Imported by ``greenkit_gevent_compat.pth`` (which site runs in every
interpreter of the environment) only when the variable is set to something
other than an off word (empty, 0, false, no, off), so a process without it
pays for one ``os.environ`` lookup and imports nothing of greenkit's.  A value that is not a
boolean leaves the alias off and says so in one line: a start-up hook must
never stop the interpreter.
"""

from __future__ import annotations

import os
import sys

from greenkit.config import validate_bool
from greenkit.gevent_compat import ENVIRONMENT_VARIABLE, install

__all__: list[str] = []


def _install_from_environment() -> None:
    value = os.environ.get(ENVIRONMENT_VARIABLE, "")
    try:
        wanted = validate_bool(value)
    except ValueError:
        print(
            f"greenkit-gevent-compat: {ENVIRONMENT_VARIABLE}={value!r} is not a boolean"
            " (1/0, true/false, yes/no, on/off); the gevent alias stays off",
            file=sys.stderr,
        )
        return
    if not wanted:
        return
    try:
        install()
    except RuntimeError as ex:  # a real gevent imported by an earlier .pth file
        print(f"greenkit-gevent-compat: {ex}", file=sys.stderr)


_install_from_environment()
