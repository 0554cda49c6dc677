"""pyzmq's ``zmq.green``: a REP server greenlet answering 20 REQ client
greenlets over tcp://127.0.0.1 and a PUSH/PULL pipeline over inproc://,
beside 20 sleeping greenlets; nothing blocks the hub."""

from __future__ import annotations

import time

import gevent
import zmq.green as zmq
from scenario import report, sleepers

COUNT, SLEEP = 20, 0.5

context = zmq.Context()
rep = context.socket(zmq.REP)
port = rep.bind_to_random_port("tcp://127.0.0.1")
pull = context.socket(zmq.PULL)
pull.bind("inproc://pipeline")


def serve() -> int:
    for _ in range(COUNT):
        rep.send(rep.recv().upper())
    return COUNT


def ask(index: int) -> str:
    req = context.socket(zmq.REQ)
    req.connect(f"tcp://127.0.0.1:{port}")
    gevent.sleep(SLEEP)  # every client waits, then they all ask at once
    req.send(b"hello %d" % index)
    answer = req.recv().decode()
    req.close()
    return answer


def produce() -> None:
    push = context.socket(zmq.PUSH)
    push.connect("inproc://pipeline")
    for index in range(COUNT):
        gevent.sleep(SLEEP / COUNT)
        push.send(b"%d" % index)
    push.close()


def consume() -> list[int]:
    return [int(pull.recv()) for _ in range(COUNT)]


start = time.monotonic()
naps = sleepers(COUNT, SLEEP)
server, consumer = gevent.spawn(serve), gevent.spawn(consume)
clients = [gevent.spawn(ask, i) for i in range(COUNT)]
producer = gevent.spawn(produce)
gevent.joinall([server, consumer, producer, *clients, *naps], timeout=30, raise_error=True)
elapsed = time.monotonic() - start
rep.close()
pull.close()
context.term()
report(
    {
        "answers": [c.value for c in clients],
        "served": server.value,
        "pipeline": consumer.value,
        "naps": sum(bool(n.value) for n in naps),
        "elapsed": elapsed,
    }
)
