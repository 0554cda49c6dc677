"""``python grpc_server.py``: a plain (threaded, no gevent) gRPC server on a
free 127.0.0.1 port with one generic unary method, ``/demo.Demo/Nap``,
that sleeps 0.5 s and answers its request in upper case (bytes in, bytes
out: no protobuf).  Prints ``port N``; SIGTERM stops it."""

from __future__ import annotations

import signal
import time
from concurrent import futures
from typing import Any

import grpc

SLEEP = 0.5


def nap(request: bytes, context: Any) -> bytes:
    time.sleep(SLEEP)
    return request.upper()


server = grpc.server(futures.ThreadPoolExecutor(max_workers=40))
server.add_generic_rpc_handlers(
    (
        grpc.method_handlers_generic_handler(
            "demo.Demo", {"Nap": grpc.unary_unary_rpc_method_handler(nap)}
        ),
    )
)
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(f"port {port}", flush=True)
signal.signal(signal.SIGTERM, lambda *_: server.stop(grace=1))
server.wait_for_termination()
print("stopped", flush=True)
