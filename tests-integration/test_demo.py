"""The README's main job (tools/demo.py) runs and reports success."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "tools" / "demo.py"


def test_demo_small_run_succeeds() -> None:
    result = subprocess.run(
        [sys.executable, str(DEMO), "--clients", "20", "--rounds", "5", "--sleepers", "50"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "100/100 round trips" in result.stdout
    assert "50/50 sleepers woke" in result.stdout
    assert "result:      OK" in result.stdout
