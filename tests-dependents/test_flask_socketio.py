"""Flask-SocketIO (``async_mode='gevent'``) on gevent's pywsgi, which is
greenkit's through the alias, with websockets through gevent-websocket's
handler and through simple-websocket, and clients in another process."""

from __future__ import annotations

import signal
import sys
from typing import Any

import pytest
from conftest import APPS, assert_clean_log, free_port, parse_result, run, wait_for_port

CLIENTS = 10
#: What each ``nap`` event sleeps on the server.
SLEEP = 1.0


@pytest.mark.parametrize("backend", ["gevent-websocket", "simple-websocket"])
def test_flask_socketio_websockets(spawn: Any, backend: str) -> None:
    port = free_port()
    server = spawn(
        "socketio-server", [sys.executable, str(APPS / "socketio_app.py"), str(port), backend]
    )
    wait_for_port(port, service=server)
    done = run(
        [
            sys.executable,
            str(APPS / "socketio_client.py"),
            f"http://127.0.0.1:{port}",
            str(CLIENTS),
        ],
        timeout=60,
    )
    result = parse_result(done.stdout)
    assert result["errors"] == []
    assert sorted(data["echo"] for _, data in result["answers"]) == list(range(CLIENTS))
    assert {event for event, _ in result["answers"]} == {"woke"}
    # Which websocket server answered: gevent-websocket puts its websocket
    # in the environ; simple-websocket recognised pywsgi by SERVER_SOFTWARE.
    expect_gws = backend == "gevent-websocket"
    assert all(data["gevent_websocket"] is expect_gws for _, data in result["answers"])
    assert all(data["server_software"].startswith("gevent/") for _, data in result["answers"])
    # One after another the naps would take CLIENTS * SLEEP seconds.
    assert SLEEP <= result["elapsed"] < CLIENTS * SLEEP / 3, result["elapsed"]

    assert server.stop(signal.SIGTERM, timeout=30) == 0
    output = server.output()
    assert "stopped" in output
    assert_clean_log(output, "the server's log")
