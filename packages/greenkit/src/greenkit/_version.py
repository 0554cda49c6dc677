"""The installed greenkit version (read from the distribution's metadata)."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from typing import NamedTuple

__all__ = ["VersionInfo", "__version__", "version_info"]

try:
    __version__: str = version("greenkit")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"


class VersionInfo(NamedTuple):
    """``version_info`` like :data:`sys.version_info`: (major, minor, micro, level, serial)."""

    major: int
    minor: int
    micro: int
    releaselevel: str
    serial: int


def _parse(text: str) -> VersionInfo:
    match = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(a|b|rc|\.dev)(\d+))?", text)
    if match is None:
        return VersionInfo(0, 0, 0, "unknown", 0)
    major, minor, micro, level, serial = match.groups()
    levels = {None: "final", "a": "alpha", "b": "beta", "rc": "candidate", ".dev": "dev"}
    return VersionInfo(
        int(major), int(minor or 0), int(micro or 0), levels[level], int(serial or 0)
    )


version_info = _parse(__version__)
