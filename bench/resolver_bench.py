#!/usr/bin/env python
"""Resolver benchmark: many concurrent lookups, greenkit's resolvers beside gevent's.

Every lookup goes to greenkit-testing's ``DNSResponder`` on 127.0.0.1 (a
free port, its own thread in this driver process) or to the hosts file: no
query leaves loopback.  Each (workload, implementation) runs in a fresh
child process: ``--lookups`` lookups by ``--concurrency`` greenlets at once,
each of a distinct name (the zone's TTL is 0, so no cache answers), timed
``--reps`` times; the figure is the median, in lookups per second (higher
is better).  Children run ``--rounds`` times, the implementations taking
turns, and the table shows the median round: on a shared machine one run
says little.  Beside it, the CPU time the child process spent per lookup
(user + system, in microseconds: lower is better), which the machine's
load disturbs much less than the rate.

Workloads:

  dns    ``gethostbyname`` of distinct names that only the responder knows:
         greenkit's ares and dnspython resolvers, gevent's ares resolver,
         each given the responder as its only nameserver.  The thread
         resolvers (greenkit's and gevent's) cannot be pointed at a
         nameserver -- they ask the C library, which asks the system's
         nameservers -- so they have no dns row.
  hosts  ``gethostbyname('localhost')``, answered from /etc/hosts without
         any query: the thread resolvers (the C library in the hub's thread
         pool), greenkit's ares and dnspython resolvers (greenkit's hosts
         file parser) and gevent's ares resolver (c-ares' own).

Usage (a venv with greenkit, greenkit-testing, pycares, dnspython and
gevent==26.9.0; ``nox -s bench`` runs it)::

    python bench/resolver_bench.py [--lookups 2000] [--concurrency 100] [--reps 3] [--rounds 3]

Writes bench/results/resolver-latest.json.  An implementation that cannot be
imported shows ``n/i``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

IMPLS = {
    "dns": ("greenkit-ares", "greenkit-dnspython", "gevent-ares"),
    "hosts": (
        "greenkit-thread",
        "greenkit-ares",
        "greenkit-dnspython",
        "gevent-thread",
        "gevent-ares",
    ),
}
HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


class Unavailable(Exception):
    pass


# -- child side --------------------------------------------------------------


def make_resolver(impl: str, server: str) -> tuple[object, object]:
    """(resolver, spawn-and-join function) of ``impl``, pointed at ``server``."""
    host, port = server.rsplit(":", 1)
    try:
        if impl.startswith("greenkit-"):
            from greenkit.greenlet import Greenlet

            def run_all(functions: list) -> None:
                glets = [Greenlet.spawn(f) for f in functions]
                for glet in glets:
                    glet.get()

            kind = impl.split("-", 1)[1]
            if kind == "ares":
                from greenkit.resolver.ares import Resolver

                return Resolver(servers=[server], timeout=5.0, tries=2), run_all
            if kind == "dnspython":
                from greenkit.resolver.dnspython import Resolver as DnsResolver

                return DnsResolver(nameservers=[server], timeout=10.0), run_all
            from greenkit.resolver.thread import Resolver as ThreadResolver

            return ThreadResolver(), run_all
        import gevent

        def run_gevent(functions: list) -> None:
            glets = [gevent.spawn(f) for f in functions]
            gevent.joinall(glets, raise_error=True)

        if impl == "gevent-ares":
            from gevent.resolver.ares import Resolver as GeventAres

            return GeventAres(
                servers=[host], udp_port=int(port), tcp_port=int(port), timeout=5.0, tries=2
            ), run_gevent
        from gevent.resolver.thread import Resolver as GeventThread

        return GeventThread(), run_gevent
    except ImportError as exc:
        raise Unavailable(f"{type(exc).__name__}: {exc}") from None


def _work(resolver: object, names: list[str], expected: str) -> None:
    """One greenlet's share: look each name up, check the address."""
    for name in names:
        if resolver.gethostbyname(name) != expected:  # type: ignore[attr-defined]
            raise AssertionError(name)


def child(impl: str, workload: str, server: str, lookups: int, concurrency: int, reps: int) -> dict:
    resolver, run_all = make_resolver(impl, server)
    rates = []
    cpu = 0.0
    for rep in range(reps + 1):  # the first is a warm-up
        if workload == "dns":
            names = [f"h{rep}-{i}.bench" for i in range(lookups)]
            expected = "10.0.0.1"
        else:
            names = ["localhost"] * lookups
            expected = "127.0.0.1"
        chunks = [names[i::concurrency] for i in range(concurrency)]
        functions = [
            lambda chunk=chunk, expected=expected: _work(resolver, chunk, expected)
            for chunk in chunks
        ]
        start, start_cpu = time.perf_counter(), time.process_time()
        run_all(functions)  # type: ignore[operator]
        elapsed = time.perf_counter() - start
        if rep:
            rates.append(lookups / elapsed)
            cpu += time.process_time() - start_cpu
    return {
        "rates": rates,
        "median": statistics.median(rates),
        "cpu_us": cpu / (lookups * reps) * 1e6,
    }


# -- driver side ---------------------------------------------------------------


def zone(lookups: int, reps: int) -> dict:
    return {
        f"h{rep}-{i}.bench": [("A", "10.0.0.1")] for rep in range(reps + 1) for i in range(lookups)
    }


def run_child(impl: str, workload: str, server: str, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        impl,
        "--workload",
        workload,
        "--server",
        server,
        "--lookups",
        str(args.lookups),
        "--concurrency",
        str(args.concurrency),
        "--reps",
        str(args.reps),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child")
    parser.add_argument("--workload")
    parser.add_argument("--server")
    args = parser.parse_args()
    if args.child:
        try:
            result = child(
                args.child, args.workload, args.server, args.lookups, args.concurrency, args.reps
            )
        except Unavailable as exc:
            result = {"error": f"n/i ({exc})"}
        print(json.dumps(result))
        return

    from greenkit_testing.dns import DNSResponder

    results: dict = {
        "lookups": args.lookups,
        "concurrency": args.concurrency,
        "reps": args.reps,
        "rounds": args.rounds,
        "python": sys.version.split()[0],
        "rows": {},
    }
    runs: dict[str, list[dict]] = {}
    with DNSResponder(zone(args.lookups, args.reps), ttl=0) as responder:
        for _ in range(args.rounds):
            for workload, impls in IMPLS.items():
                for impl in impls:
                    runs.setdefault(f"{workload}/{impl}", []).append(
                        run_child(impl, workload, responder.server, args)
                    )
        results["queries_answered"] = len(responder.queries)
    for row, done in runs.items():
        good = [run for run in done if "median" in run]
        if not good:
            results["rows"][row] = done[0]
            continue
        results["rows"][row] = {
            "median": statistics.median(run["median"] for run in good),
            "cpu_us": statistics.median(run["cpu_us"] for run in good),
            "rounds": [run["median"] for run in good],
        }
    print(
        f"resolver bench: {args.lookups} lookups, {args.concurrency} greenlets at once, "
        f"median of {args.reps} reps, median round of {args.rounds}"
    )
    print(f"{'workload':<8} {'implementation':<20} {'lookups/s':>10} {'CPU us/lookup':>14}")
    for row, data in results["rows"].items():
        workload, impl = row.split("/")
        if "median" in data:
            print(f"{workload:<8} {impl:<20} {data['median']:10.0f} {data['cpu_us']:14.1f}")
        else:
            print(f"{workload:<8} {impl:<20} {data['error'][:60]}")
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "resolver-latest.json"), "w") as handle:
        json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
