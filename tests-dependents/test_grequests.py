"""grequests on greenkit through the alias: ``grequests.map`` of 30 slow
local URLs (grequests monkey-patches the process when imported)."""

from __future__ import annotations

import sys

from conftest import APPS, parse_result, run


def test_grequests_map_fetches_concurrently() -> None:
    result = parse_result(
        run([sys.executable, str(APPS / "grequests_scenario.py")], timeout=60).stdout
    )
    assert result["answers"] == [[200, f"slept /{i}"] for i in range(30)]
    assert result["patched"] is True
    # 30 requests of 0.5 s each: 15 s one after another.
    assert 0.5 <= result["elapsed"] < 5, result["elapsed"]
