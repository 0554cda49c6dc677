"""The README's main job (tools/demo.py) runs and reports success."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "tools" / "demo.py"


def test_demo_small_run_succeeds() -> None:
    result = subprocess.run(
        [sys.executable, str(DEMO), "--clients", "20", "--requests", "6", "--sleepers", "50"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "120/120 answered correctly (/sleep 40, /hash 40, /resolve 40)" in out
    assert "errors:      0 (none)" in out
    assert "keep-alive:  20 connections for 20 clients" in out
    assert "50/50 sleepers woke" in out
    assert "result:      OK" in out
    assert result.stderr == ""


def test_demo_reports_failure_with_exit_status_1() -> None:
    # Far more work than fits in the time allowed: the run is abandoned.
    result = subprocess.run(
        [
            sys.executable,
            str(DEMO),
            "--clients",
            "50",
            "--requests",
            "100",
            "--sleepers",
            "0",
            "--give-up-after",
            "0.001",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "result:      FAILED" in result.stdout
