"""``python -m greenkit.monkey``: runs a script or module already patched,
with the same output as running it directly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from greenkit_testing import run_python

#: Leave out the modules whose mirrors are not under test here.
ONLY_TIME_AND_QUEUE = [
    "--no-os",
    "--no-thread",
    "--no-socket",
    "--no-select",
    "--no-ssl",
    "--no-subprocess",
    "--no-signal",
]

SCRIPT = """\
import os, sys, time
print(os.path.abspath(__file__))
print(__name__)
print(sys.argv[1:])
print(sys.path[0] == os.path.dirname(os.path.abspath(__file__)))
print(time.sleep.__module__)
"""


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_python(argv=args, cwd=cwd, env={"PYTHONWARNINGS": "error"}, check=False)


def test_script(tmp_path: Path) -> None:
    (tmp_path / "script.py").write_text(SCRIPT)
    patched = run(
        ["-m", "greenkit.monkey", *ONLY_TIME_AND_QUEUE, "script.py", "a", "--b"], tmp_path
    )
    plain = run(["script.py", "a", "--b"], tmp_path)
    assert patched.returncode == plain.returncode == 0, patched.stderr + plain.stderr
    lines, plain_lines = patched.stdout.splitlines(), plain.stdout.splitlines()
    assert lines[:4] == plain_lines[:4]
    assert lines[:4] == [str(tmp_path / "script.py"), "__main__", "['a', '--b']", "True"]
    assert plain_lines[4] == "time"
    assert lines[4].startswith("greenkit.")


def test_package_and_module(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(
        "import sys, queue\nprint(__name__, sys.argv[1:], queue.SimpleQueue.__module__)\n"
    )
    for target in (["pkg"], ["--module", "pkg"]):
        done = run(["-m", "greenkit.monkey", *ONLY_TIME_AND_QUEUE, *target, "x"], tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "__main__ ['x'] greenkit.queue\n"


def test_script_exit_status_and_error(tmp_path: Path) -> None:
    (tmp_path / "fails.py").write_text("import sys\nsys.exit(3)\n")
    assert (
        run(["-m", "greenkit.monkey", *ONLY_TIME_AND_QUEUE, "fails.py"], tmp_path).returncode == 3
    )
    (tmp_path / "raises.py").write_text("raise ValueError('boom')\n")
    done = run(["-m", "greenkit.monkey", *ONLY_TIME_AND_QUEUE, "raises.py"], tmp_path)
    assert done.returncode == 1
    assert "ValueError: boom" in done.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "no script or module to run"),
        (["--bogus", "x.py"], "unknown option --bogus"),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    done = run(["-m", "greenkit.monkey", *args], tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "usage: python -m greenkit.monkey" in done.stderr


def test_parse() -> None:
    from greenkit.monkey._main import parse

    assert parse(["--verbose", "--no-ssl", "--sys", "s.py", "--no-ssl"]) == (
        {"ssl": False, "sys": True},
        True,
        False,
        ["s.py", "--no-ssl"],
    )
    assert parse(["--module", "--not-an-option", "x"]) == (
        {},
        False,
        True,
        ["--not-an-option", "x"],
    )
    assert parse(["--", "--weird.py"]) == ({}, False, False, ["--weird.py"])


def test_verbose(tmp_path: Path) -> None:
    (tmp_path / "quiet.py").write_text("")
    done = run(["-m", "greenkit.monkey", "--verbose", *ONLY_TIME_AND_QUEUE, "quiet.py"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "greenkit.monkey: patch_all({'os': False," in done.stderr
    assert "'queue'" in done.stderr and "'time'" in done.stderr
