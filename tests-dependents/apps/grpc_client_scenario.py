"""``python grpc_client_scenario.py PORT``: grpc's gevent support
(``grpc.experimental.gevent.init_gevent()`` after ``patch_all``) making 20
concurrent unary calls from 20 greenlets, beside 20 sleeping greenlets."""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import grpc  # noqa: E402
from grpc.experimental import gevent as grpc_gevent  # noqa: E402
from scenario import report, sleepers  # noqa: E402

grpc_gevent.init_gevent()

COUNT, SLEEP = 20, 0.5
channel = grpc.insecure_channel(f"127.0.0.1:{sys.argv[1]}")
nap = channel.unary_unary("/demo.Demo/Nap")
start = time.monotonic()
naps = sleepers(COUNT, SLEEP)
calls = [gevent.spawn(nap, b"hello %d" % i, timeout=20) for i in range(COUNT)]
gevent.joinall(calls + naps, timeout=30, raise_error=True)
elapsed = time.monotonic() - start
channel.close()
report(
    {
        "answers": [call.value.decode() for call in calls],
        "naps": sum(bool(n.value) for n in naps),
        "elapsed": elapsed,
    }
)
