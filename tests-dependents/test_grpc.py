"""grpcio's gevent support (``grpc.experimental.gevent.init_gevent()``) on
greenkit through the alias: 20 concurrent unary calls from greenlets to a
generic-handler server in another process (bytes in and out, no protobuf).

The server runs in a plain process of its own: a gRPC server inside a
gevent process does not answer in time on real gevent 26.9 either (its
calls end with DEADLINE_EXCEEDED); ``init_gevent`` is for clients.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from conftest import APPS, assert_clean_log, child_env, parse_result, run


def test_grpc_gevent_client_concurrent_calls(spawn: Any) -> None:
    # The server is plain grpc: the alias does not matter to it.
    server = spawn(
        "grpc-server", [sys.executable, str(APPS / "grpc_server.py")], env=child_env(alias=False)
    )
    server.wait_for_output("port ")
    port = server.output().split("port ", 1)[1].split()[0]
    result = parse_result(
        run([sys.executable, str(APPS / "grpc_client_scenario.py"), port], timeout=60).stdout
    )
    assert result["answers"] == [f"HELLO {i}" for i in range(20)]
    assert result["naps"] == 20
    # 20 calls of 0.5 s each: 10 s one after another.
    assert 0.5 <= result["elapsed"] < 4, result["elapsed"]
    assert server.stop(signal.SIGTERM, timeout=30) == 0
    assert_clean_log(server.output(), "the gRPC server's log")
