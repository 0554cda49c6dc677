"""geventhttpclient on greenkit through the alias: 50 concurrent requests
to a slow local pywsgi server."""

from __future__ import annotations

import sys

from conftest import APPS, parse_result, run


def test_geventhttpclient_concurrent_requests() -> None:
    result = parse_result(
        run([sys.executable, str(APPS / "geventhttpclient_scenario.py")], timeout=60).stdout
    )
    assert result["answers"] == [[200, f"slept /{i}"] for i in range(50)]
    assert result["naps"] == 50
    # 50 requests of 0.5 s each: 25 s one after another.
    assert 0.5 <= result["elapsed"] < 5, result["elapsed"]
