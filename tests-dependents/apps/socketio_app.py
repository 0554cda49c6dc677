"""``python socketio_app.py PORT BACKEND``: Flask + Flask-SocketIO with
``async_mode='gevent'``, served by gevent's pywsgi (greenkit's, through the
alias) the way ``SocketIO.run`` serves it.

BACKEND ``gevent-websocket``: websockets through gevent-websocket's
``WebSocketHandler`` (what Flask-SocketIO picks when it is installed);
``simple-websocket``: as if gevent-websocket were not installed, so
engine.io falls back to simple-websocket, which finds the connection's
socket through pywsgi's environ.  Every ``nap`` event sleeps one second
before answering ``woke``; SIGTERM stops the server (exit 0).
"""

from __future__ import annotations

import sys

PORT, BACKEND = int(sys.argv[1]), sys.argv[2]
if BACKEND == "simple-websocket":
    # What engine.io and Flask-SocketIO see when gevent-websocket is absent.
    sys.modules["geventwebsocket"] = None  # type: ignore[assignment]
elif BACKEND != "gevent-websocket":
    raise SystemExit(f"unknown backend {BACKEND!r}")

from gevent import monkey  # noqa: E402

monkey.patch_all()

import signal  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from flask import Flask, request  # noqa: E402
from flask_socketio import SocketIO, emit  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent")


@socketio.on("nap")
def nap(data: Any) -> None:
    socketio.sleep(1.0)
    emit(
        "woke",
        {
            "echo": data,
            "gevent_websocket": "wsgi.websocket" in request.environ,
            "server_software": request.environ.get("SERVER_SOFTWARE"),
        },
    )


@app.route("/")
def index() -> str:
    return "hello"


def _stop() -> None:
    socketio.stop()


gevent.signal_handler(signal.SIGTERM, _stop)
print(f"serving on {PORT} with {BACKEND}", flush=True)
socketio.run(app, host="127.0.0.1", port=PORT, log_output=True)
print("stopped", flush=True)
