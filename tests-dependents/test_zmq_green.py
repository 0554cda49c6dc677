"""pyzmq's ``zmq.green`` on greenkit through the alias: REQ/REP over
loopback TCP and PUSH/PULL over inproc between greenlets."""

from __future__ import annotations

import sys

from conftest import APPS, parse_result, run


def test_zmq_green_sockets_cooperate() -> None:
    result = parse_result(run([sys.executable, str(APPS / "zmq_scenario.py")], timeout=60).stdout)
    assert result["answers"] == [f"HELLO {i}" for i in range(20)]
    assert result["served"] == 20
    assert result["pipeline"] == list(range(20))
    assert result["naps"] == 20
    # 20 clients that each wait 0.5 s: 10 s one after another.
    assert 0.5 <= result["elapsed"] < 4, result["elapsed"]
