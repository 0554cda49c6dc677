"""Set-up shared by greenkit-gevent-compat's tests."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

import greenkit.gevent_compat as compat
from greenkit_testing import run_python


@pytest.fixture
def alias() -> Iterator[None]:
    """The alias installed for one test, then switched off again."""
    compat.install()
    try:
        yield
    finally:
        compat.uninstall()


def startup_hook() -> Path | None:
    """The installed ``.pth`` start-up hook (absent from an editable install)."""
    hook = Path(sysconfig.get_paths()["purelib"]) / "greenkit_gevent_compat.pth"
    return hook if hook.exists() else None


needs_startup_hook = pytest.mark.skipif(
    startup_hook() is None, reason="an editable install has no start-up hook (.pth)"
)


def real_gevent_installed() -> bool:
    """Whether a real gevent distribution is installed beside greenkit."""
    try:
        importlib.metadata.distribution("gevent")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def run_child(
    *argv: str, alias: str | None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``python *argv`` with GREENKIT_AS_GEVENT set to ``alias`` (None: unset)."""
    return run_python(
        argv=argv, env={compat.ENVIRONMENT_VARIABLE: alias}, timeout=timeout, check=False
    )
