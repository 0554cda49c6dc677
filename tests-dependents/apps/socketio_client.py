"""``python socketio_client.py URL N``: N python-socketio clients (threads,
no gevent) connect over websocket only, each emits ``nap`` and waits for
``woke``; prints ``RESULT {"answers": [...], "elapsed": s}``."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import socketio

URL, COUNT = sys.argv[1], int(sys.argv[2])
answers: list[Any] = []
errors: list[str] = []


def one(index: int) -> None:
    try:
        with socketio.SimpleClient() as client:
            client.connect(URL, transports=["websocket"], wait_timeout=20)
            if client.transport != "websocket":
                raise AssertionError(f"transport is {client.transport}")
            client.emit("nap", index)
            event, data = client.receive(timeout=20)
            answers.append([event, data])
    except Exception as ex:  # noqa: BLE001 - reported to the test
        errors.append(f"{index}: {ex!r}")


start = time.monotonic()
threads = [threading.Thread(target=one, args=(i,)) for i in range(COUNT)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(
    "RESULT "
    + json.dumps({"answers": answers, "errors": errors, "elapsed": time.monotonic() - start})
)
