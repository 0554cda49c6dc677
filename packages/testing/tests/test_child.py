"""run_python (a snippet in a child interpreter) and run_guarded (a loop run
under a guard timer)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from greenkit_testing import run_guarded, run_python


def test_runs_dedented_code_after_the_prelude() -> None:
    done = run_python(
        """
        print(PRELUDE_VALUE * 2)
    """,
        prelude="PRELUDE_VALUE = 21\n",
    )
    assert done.stdout == "42\n"
    assert done.returncode == 0


def test_argv_flags_cwd_and_the_same_interpreter(tmp_path: Path) -> None:
    (tmp_path / "script.py").write_text(
        "import os, sys; print(sys.executable, sys.argv[1:], os.getcwd(), sys.flags.optimize)"
    )
    done = run_python(argv=["script.py", "a", "--b"], flags=["-O"], cwd=tmp_path)
    executable, rest = done.stdout.split(" ", 1)
    assert executable == sys.executable
    assert rest.strip() == f"['a', '--b'] {tmp_path} 1"


def test_env_sets_and_removes_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GK_CHILD_REMOVED", "present")
    code = "import os; print(os.environ.get('GK_CHILD_SET'), os.environ.get('GK_CHILD_REMOVED'))"
    done = run_python(code, env={"GK_CHILD_SET": "yes", "GK_CHILD_REMOVED": None})
    assert done.stdout.split() == ["yes", "None"]
    assert os.environ["GK_CHILD_REMOVED"] == "present"


def test_check_fails_the_test_on_a_nonzero_exit() -> None:
    with pytest.raises(AssertionError, match="child exited with 3"):
        run_python("import sys; sys.stderr.write('boom'); sys.exit(3)")
    done = run_python("raise SystemExit(3)", check=False)
    assert done.returncode == 3


def test_quiet_fails_the_test_on_stderr_output() -> None:
    with pytest.raises(AssertionError, match="noise"):
        run_python("import sys; sys.stderr.write('noise')", quiet=True)
    assert run_python("import sys; sys.stderr.write('noise')").stderr == "noise"


class _Timer:
    def __init__(self, loop: _Loop, after: float, ref: bool) -> None:
        self.loop, self.after, self.ref, self.closed = loop, after, ref, False

    def start(self, callback: Any) -> None:
        self.loop.started.append((self.after, self.ref, callback))

    def close(self) -> None:
        self.closed = True


class _Loop:
    """Enough of the loop contract for run_guarded: run() either returns by
    itself or fires the guard (``hang``)."""

    def __init__(self, hang: bool) -> None:
        self.hang = hang
        self.started: list[tuple[float, bool, Any]] = []
        self.timers: list[_Timer] = []
        self.broken = False

    def update_now(self) -> None:
        pass

    def timer(self, after: float, ref: bool = True) -> _Timer:
        timer = _Timer(self, after, ref)
        self.timers.append(timer)
        return timer

    def break_(self) -> None:
        self.broken = True

    def run(self) -> None:
        if self.hang:
            self.started[0][2]()


def test_run_guarded_reports_whether_the_loop_returned_by_itself() -> None:
    finished = _Loop(hang=False)
    assert run_guarded(finished, 5) is True
    assert finished.started[0][:2] == (5, False)  # an unreferenced guard
    assert finished.timers[0].closed and not finished.broken
    hung = _Loop(hang=True)
    assert run_guarded(hung) is False
    assert hung.broken and hung.timers[0].closed
