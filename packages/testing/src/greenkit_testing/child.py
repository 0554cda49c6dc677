"""Run a snippet of Python in a child interpreter: the one way greenkit's
tests check what only a fresh process shows (import side effects, monkey
patching, fork, signals, crashes)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence

__all__ = ["run_python"]


def run_python(
    code: str | None = None,
    *,
    argv: Sequence[str] = (),
    prelude: str = "",
    flags: Sequence[str] = (),
    env: Mapping[str, str | None] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 120,
    check: bool = True,
    quiet: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``prelude + dedent(code)`` with this interpreter (``sys.executable
    *flags -c CODE *argv``; without *code*: ``sys.executable *flags *argv``,
    e.g. ``argv=["-m", "greenkit.config"]``) and return the finished process,
    its output captured as text.

    - *env*: variables set over the current environment (None: removed).
    - *check*: fail the test (with the end of the child's stderr) unless the
      child exited with status 0.
    - *quiet*: also fail if the child wrote anything to stderr (ignored
      exceptions, warnings printed by the interpreter).
    """
    command = [sys.executable, *flags]
    if code is not None:
        command += ["-c", prelude + textwrap.dedent(code)]
    command += list(argv)
    environ = None
    if env is not None:
        environ = {**os.environ, **{k: v for k, v in env.items() if v is not None}}
        for key in [k for k, v in env.items() if v is None]:
            environ.pop(key, None)
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=environ, cwd=cwd, check=False
    )
    if check:
        assert done.returncode == 0, f"child exited with {done.returncode}:\n{done.stderr[-3000:]}"
    if quiet:
        assert done.stderr == "", done.stderr[-3000:]
    return done
