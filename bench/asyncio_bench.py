#!/usr/bin/env python
"""asyncio workloads on greenkit's event loop, asyncio's default loop and uvloop.

The same code, written as asyncio protocols, runs on three loops:

  greenkit  ``greenkit.asyncio.GreenkitEventLoop`` (asyncio's selector loop
            waiting in greenkit's hub: Python + cffi libev)
  asyncio   the standard library's default loop (selector loop on epoll)
  uvloop    uvloop (libuv, Cython) -- context, the fast end

Workloads:

  echo_c1     one client, 64-byte round trips to an echo server         msg/s
  echo_c100   100 clients at once, the same                              msg/s
  http        a minimal keep-alive HTTP/1.1 responder (asyncio.Protocol)
              under ``wrk -t1 -c50 -d3s`` (skipped if wrk is absent)     req/s

Method (as ../bench/loop_bench.py): every (workload, loop) in a fresh child
process; in the child a warm-up (for echo, a whole run on a throwaway loop:
the first loop of a process echoed ~3x slower than later ones, whatever the
loop), then ``--reps`` timed repetitions, median taken; the driver runs
all loops of a workload before the next workload, for ``--rounds`` rounds,
rotating the loop order.  Ratios are same-round ratios
greenkit/asyncio and greenkit/uvloop expressed as a *cost* (> 1: greenkit
slower), median over rounds.  Loopback only (127.0.0.1).

Usage: ``python bench/asyncio_bench.py [--quick] [--rounds N] [--reps N] [--only echo_c1,http]``
Writes bench/results/asyncio-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

HOST = "127.0.0.1"
LOOPS = ("greenkit", "asyncio", "uvloop")
WORKLOADS = ("echo_c1", "echo_c100", "http")
MESSAGE = b"x" * 64
ROUND_TRIPS = 20_000
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n"
    b"Connection: keep-alive\r\n\r\nHello, World!"
)


# -- the workloads (protocols) ------------------------------------------------------


class EchoServer(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class EchoClient(asyncio.Protocol):
    """Sends MESSAGE, waits for all 64 bytes back, repeats ``count`` times."""

    def __init__(self, count: int, done: asyncio.Future[None]) -> None:
        self.count = count
        self.done = done
        self.received = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def start(self) -> None:
        self.transport.write(MESSAGE)

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self.received < len(MESSAGE):
            return
        self.received = 0
        self.count -= 1
        if self.count:
            self.transport.write(MESSAGE)
        elif not self.done.done():
            self.done.set_result(None)


class HttpServer(asyncio.Protocol):
    """Answers every complete request head with a fixed keep-alive response."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        answers = self.buffer.count(b"\r\n\r\n")
        if answers:
            self.buffer = self.buffer[self.buffer.rfind(b"\r\n\r\n") + 4 :]
            self.transport.write(RESPONSE * answers)


async def echo(clients: int, reps: int) -> list[float]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoServer, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    conns = [
        await loop.create_connection(lambda: EchoClient(0, loop.create_future()), HOST, port)
        for _ in range(clients)
    ]
    samples = []
    for rep in range(reps + 1):  # the first is the warm-up
        per_client = ROUND_TRIPS // clients
        futures = []
        for _transport, protocol in conns:
            protocol.count = per_client
            protocol.done = loop.create_future()
            futures.append(protocol.done)
        start = time.perf_counter()
        for _transport, protocol in conns:
            protocol.start()
        await asyncio.gather(*futures)
        elapsed = time.perf_counter() - start
        if rep:
            samples.append(per_client * clients / elapsed)
    for transport, _protocol in conns:
        transport.close()
    server.close()
    await server.wait_closed()
    return samples


async def http(reps: int) -> list[float]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HttpServer, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    samples = []
    for rep in range(reps + 1):
        duration = "1s" if rep == 0 else "3s"
        proc = await asyncio.create_subprocess_exec(
            "wrk",
            "-t1",
            "-c50",
            f"-d{duration}",
            f"http://{HOST}:{port}/",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate()
        match = re.search(rb"Requests/sec:\s*([\d.]+)", out)
        if rep and match:
            samples.append(float(match.group(1)))
    server.close()
    await server.wait_closed()
    return samples


def _new_loop(impl: str) -> asyncio.AbstractEventLoop:
    if impl == "greenkit":
        import greenkit.asyncio

        return greenkit.asyncio.new_event_loop()
    if impl == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _measure(impl: str, workload: str, reps: int) -> list[float]:
    loop = _new_loop(impl)
    with asyncio.Runner(loop_factory=lambda: loop) as runner:
        if workload == "http":
            return runner.run(http(reps))
        return runner.run(echo(int(workload.removeprefix("echo_c")), reps))


def child(impl: str, workload: str, reps: int) -> None:
    try:
        _new_loop(impl).close()
    except ImportError:
        print("RESULT " + json.dumps({"error": "n/i"}))
        return
    if workload != "http":
        # The first loop of a process ran the echo workload at a third of the
        # speed of any later one (every loop alike): warm the process up on a
        # throwaway loop, then time a fresh one.
        _measure(impl, workload, 0)
    samples = _measure(impl, workload, reps)
    print(
        "RESULT "
        + json.dumps(
            {"samples": samples, "median": statistics.median(samples) if samples else None}
        )
    )


# -- the driver ---------------------------------------------------------------------


def _run_child(impl: str, workload: str, reps: int) -> float | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", impl, workload, "--reps", str(reps)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            value = json.loads(line[7:]).get("median")
            return float(value) if value is not None else None
    sys.stderr.write(proc.stderr[-2000:])
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("LOOP", "WORKLOAD"), help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1 round x 3 reps")
    parser.add_argument("--only", default=",".join(WORKLOADS))
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.reps)
        return 0
    if args.quick:
        args.rounds, args.reps = 1, 3
    workloads = [w for w in args.only.split(",") if w]
    if "http" in workloads and shutil.which("wrk") is None:
        print("wrk not found: skipping http")
        workloads.remove("http")
    figures: dict[str, dict[str, list[float]]] = {w: {i: [] for i in LOOPS} for w in workloads}
    ratios: dict[str, dict[str, list[float]]] = {
        w: {"asyncio": [], "uvloop": []} for w in workloads
    }
    for workload in workloads:
        for rnd in range(args.rounds):
            order = LOOPS[rnd % 3 :] + LOOPS[: rnd % 3]
            got = {impl: _run_child(impl, workload, args.reps) for impl in order}
            for impl, value in got.items():
                if value is not None:
                    figures[workload][impl].append(value)
            for other in ("asyncio", "uvloop"):
                mine, theirs = got["greenkit"], got[other]
                if mine and theirs:
                    ratios[workload][other].append(theirs / mine)  # cost: throughput inverted
    unit = {"echo_c1": "msg/s", "echo_c100": "msg/s", "http": "req/s"}
    print(
        f"{'workload':<12}{'greenkit':>12}{'asyncio':>12}{'uvloop':>12}"
        f"{'cost vs asyncio':>17}{'cost vs uvloop':>16}  unit"
    )
    report: dict[str, Any] = {
        "python": sys.version.split()[0],
        "rounds": args.rounds,
        "reps": args.reps,
        "workloads": {},
    }
    for workload in workloads:
        med = {i: statistics.median(v) if v else None for i, v in figures[workload].items()}
        rat = {o: statistics.median(v) if v else None for o, v in ratios[workload].items()}
        cells = "".join(f"{med[i]:>12.0f}" if med[i] else f"{'n/i':>12}" for i in LOOPS)
        rcells = "".join(
            f"{rat[o]:>{w}.2f}" if rat[o] else f"{'-':>{w}}"
            for o, w in (("asyncio", 17), ("uvloop", 16))
        )
        print(f"{workload:<12}{cells}{rcells}  {unit[workload]}")
        report["workloads"][workload] = {"median": med, "cost": rat, "unit": unit[workload]}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "asyncio-latest.json"), "w") as handle:
        json.dump(report, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
