"""greenkit demo: a WSGI server and its HTTP clients, cooperating in one thread.

What a gevent user writes, with ``greenkit`` for ``gevent``: the standard
library is monkey-patched, a ``greenkit.pywsgi.WSGIServer`` serves a small
WSGI application on 127.0.0.1, and ``--clients`` greenlets each send
``--requests`` requests over one keep-alive ``http.client`` connection,
while ``--sleepers`` greenlets sleep random short times.  Every request does
cooperative work: ``/sleep`` sleeps, ``/hash`` hashes its body in the hub's
thread pool, ``/resolve`` looks ``localhost`` up through the patched
``socket.getaddrinfo`` (the hub's resolver).  One process, one thread, one
hub.  Prints a summary (requests, errors, throughput, latency percentiles,
the most requests in flight at once) and exits 1 if anything fell short.

    python tools/demo.py [--clients 200] [--requests 50] [--sleepers 500]
                         [--give-up-after 60]
"""

from __future__ import annotations

from greenkit import monkey

monkey.patch_all()

# ruff: noqa: E402 -- the standard library is imported after patching it.
import argparse
import hashlib
import http.client
import random
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import greenkit
from greenkit.pywsgi import WSGIServer

ROUTES = ("/sleep", "/hash", "/resolve")


class App:
    """The WSGI application: cooperative work per request, and what it saw."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.max_in_flight = 0
        self.served: Counter[str] = Counter()
        self.connections: set[str] = set()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            path = environ["PATH_INFO"]
            self.connections.add(environ["REMOTE_PORT"])
            body = environ["wsgi.input"].read()
            if path == "/sleep":
                greenkit.sleep(random.uniform(0.001, 0.005))
                answer = b"slept"
            elif path == "/hash":
                hub = greenkit.get_hub()
                answer = hub.threadpool.apply(hash_body, (body,)).encode()
            elif path == "/resolve":
                infos = socket.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM)
                answer = infos[0][4][0].encode()
            else:
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"no such page\n"]
            self.served[path] += 1
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [answer]
        finally:
            self.in_flight -= 1


def hash_body(body: bytes) -> str:
    """CPU work for the thread pool (hashlib releases the GIL on big inputs)."""
    return hashlib.sha256(body * 64).hexdigest()


def expected_answer(path: str, body: bytes) -> bytes:
    if path == "/sleep":
        return b"slept"
    if path == "/hash":
        return hash_body(body).encode()
    return b"127.0.0.1"


class Stats:
    def __init__(self) -> None:
        self.ok = 0
        self.errors: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.lateness: list[float] = []
        self.sleeps = 0


def client(port: int, requests: int, number: int, stats: Stats) -> None:
    """One keep-alive connection; ``requests`` requests cycling over the routes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for n in range(requests):
            path = ROUTES[(number + n) % len(ROUTES)]
            body = f"client {number} request {n}".encode()
            started = time.perf_counter()
            try:
                conn.request("POST", path, body=body)
                response = conn.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as ex:
                stats.errors[type(ex).__name__] += 1
                conn.close()
                continue
            stats.latencies.append(time.perf_counter() - started)
            if response.status != 200:
                stats.errors[f"HTTP {response.status}"] += 1
            elif answer != expected_answer(path, body):
                stats.errors["wrong answer"] += 1
            else:
                stats.ok += 1
    finally:
        conn.close()


def sleeper(delay: float, stats: Stats) -> None:
    start = time.monotonic()
    time.sleep(delay)  # patched: greenkit.sleep
    stats.lateness.append(time.monotonic() - start - delay)
    stats.sleeps += 1


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--sleepers", type=int, default=500)
    parser.add_argument(
        "--give-up-after",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="abandon the run (and report failure) after this long",
    )
    args = parser.parse_args()

    app = App()
    stats = Stats()
    server = WSGIServer(("127.0.0.1", 0), app, backlog=1024, log=None)
    server.start()
    port = server.server_port

    started = time.perf_counter()
    rnd = random.Random(7)
    work = [greenkit.spawn(client, port, args.requests, n, stats) for n in range(args.clients)]
    work += [greenkit.spawn(sleeper, rnd.uniform(0, 0.05), stats) for _ in range(args.sleepers)]
    finished = greenkit.joinall(work, timeout=args.give_up_after)
    elapsed = time.perf_counter() - started
    server.stop(timeout=5)

    failed = [g for g in work if g.ready() and not g.successful()]
    expected = args.clients * args.requests
    errors = sum(stats.errors.values())
    cooperated = app.max_in_flight >= min(args.clients, 2)
    ok = (
        len(finished) == len(work)
        and not failed
        and errors == 0
        and stats.ok == expected
        and stats.sleeps == args.sleepers
        and len(app.connections) == args.clients
        and cooperated
    )
    ms = [1000 * percentile(stats.latencies, f) for f in (0.5, 0.9, 0.99, 1.0)]
    worst = max(stats.lateness, default=0.0) * 1000
    error_list = ", ".join(f"{k}: {v}" for k, v in stats.errors.most_common()) or "none"
    routes = ", ".join(f"{path} {app.served[path]}" for path in ROUTES)
    print(
        f"greenkit demo: WSGIServer on 127.0.0.1:{port}, stdlib monkey-patched, one hub, "
        f"{greenkit.get_hub().loop.backend} backend"
    )
    print(f"  requests:    {stats.ok}/{expected} answered correctly ({routes})")
    print(f"  errors:      {errors} ({error_list})")
    print(f"  keep-alive:  {len(app.connections)} connections for {args.clients} clients")
    print(f"  throughput:  {stats.ok / elapsed:,.0f} requests/s")
    print(
        f"  latency:     p50 {ms[0]:.1f} ms, p90 {ms[1]:.1f} ms, p99 {ms[2]:.1f} ms, "
        f"max {ms[3]:.1f} ms"
    )
    print(f"  concurrency: at most {app.max_in_flight} requests in flight at once")
    print(
        f"  timers:      {stats.sleeps}/{args.sleepers} sleepers woke, "
        f"worst lateness {worst:.1f} ms"
    )
    print(
        f"  greenlets:   {len(work)} spawned here, {len(work) - len(finished)} unfinished, "
        f"{len(failed)} failed"
    )
    print(f"  elapsed:     {elapsed:.3f} s")
    print(f"  result:      {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
