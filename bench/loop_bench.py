#!/usr/bin/env python
"""Event-loop microbenchmark: greenkit's libev loop next to gevent's.

Compares, in the same run, three loops that share one API
(``loop(default=False)``, ``run_callback``, ``timer``, ``io``, ``run``):

  greenkit     ``greenkit.loop.libev.loop`` (Python + cffi, system libev)
  gevent-cffi  gevent's libev loop bound through cffi (``GEVENT_LOOP=libev-cffi``
               set before gevent is imported, loop taken from ``gevent.core``)
  gevent-cext  gevent's default Cython-compiled libev loop (context only)

The figure that matters is the same-run ratio greenkit / gevent-cffi, a *cost*:
< 1 means greenkit is faster, > 1 slower.

Method (the house style of ../../shared/bench): every (workload, impl) runs in
a fresh child process (gevent picks its loop at import time, so nothing may
leak between implementations); in the child a warm-up, then ``--reps`` timed
repetitions, median taken.  The driver runs all implementations of a workload
before the next one, ``--rounds`` times, rotating the implementation order each
round; figure = median over rounds of the in-process medians, ratio = median
over rounds of the same-round ratio.

Workloads (``--only`` takes group letters and/or workload names):

  a  a_burst      queue N=200k no-op callbacks, then ``run()``     ns/callback
     a_chain1     1 callback in flight, each re-queues the next    ns/callback
                  until N have run (one loop iteration per hop
                  unless the loop drains new callbacks in the same pass)
     a_chain100   the same with 100 callbacks in flight            ns/callback
  b  b_startstop  one timer, ``start(cb); stop()`` 200k times       ns/start+stop
     b_lifecycle  50k fresh timers: create, start, stop, close      ns/timer
  c  c_io         100 nonblocking socketpairs, an io READ watcher
                  on each reader; per round the driver writes 1 byte
                  to every writer, then ``run(once=True)`` until all
                  100 callbacks fired (each reads its byte); 2000 rounds
                  -> c_io_round (us/round) and c_io_event (ns/event);
                  c_io_net is (round - floor)/100 where the floor is the
                  same 100 writes + 100 reads with no loop, timed in the
                  same child: the loop's own share per event

Usage (inside a venv with greenkit-loop-libev and gevent==26.9.0)::

    python bench/loop_bench.py                 # 3 rounds x 5 reps
    python bench/loop_bench.py --quick         # 1 round x 3 reps
    python bench/loop_bench.py --only a,b_startstop --reps 7

Writes bench/results/loop-latest.json.  An implementation that cannot be
imported shows ``n/i``; the run goes on.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time

IMPLS = ("greenkit", "gevent-cffi", "gevent-cext")
BASELINE = "gevent-cffi"
ENV = {
    "gevent-cffi": {"GEVENT_LOOP": "libev-cffi"},
    "gevent-cext": {"GEVENT_LOOP": "libev-cext"},
}
WORKLOADS = ("a_burst", "a_chain1", "a_chain100", "b_startstop", "b_lifecycle", "c_io")
# Rows of the table: (row name, workload that produces it).
ROWS = (
    ("a_burst", "a_burst"),
    ("a_chain1", "a_chain1"),
    ("a_chain100", "a_chain100"),
    ("b_startstop", "b_startstop"),
    ("b_lifecycle", "b_lifecycle"),
    ("c_io_round", "c_io"),
    ("c_io_event", "c_io"),
    ("c_io_net", "c_io"),
)
HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


class Unavailable(Exception):
    pass


# --------------------------------------------------------------------------
# child side: one implementation, one workload
# --------------------------------------------------------------------------


def load_loop(impl):
    """The loop class of ``impl`` (imports happen here, in the child only)."""
    try:
        if impl == "greenkit":
            from greenkit.loop.libev import loop

            return loop
        if impl == "gevent-cffi":
            # GEVENT_LOOP=libev-cffi is already in our environment (set by the
            # driver), so gevent.core is the cffi loop; check, then fall back
            # to naming the module.
            import gevent.core

            loop = gevent.core.loop
            if loop.__module__ != "gevent.libev.corecffi":
                from gevent.libev.corecffi import loop
            return loop
        if impl == "gevent-cext":
            from gevent.libev.corecext import loop

            return loop
    except ImportError as e:
        raise Unavailable(f"{type(e).__name__}: {e}") from None
    raise ValueError(impl)


def _noop():
    pass


def w_burst(L, a):
    n = a.n_callbacks
    lp = L(default=False)
    extra = {"queue_ns": [], "run_ns": []}

    def rep():
        rc = lp.run_callback
        f = _noop
        t0 = now()
        for _ in range(n):
            rc(f)
        t1 = now()
        lp.run()
        t2 = now()
        extra["queue_ns"].append((t1 - t0) / n * 1e9)
        extra["run_ns"].append((t2 - t1) / n * 1e9)
        return (t2 - t0) / n * 1e9

    samples = measure(rep, a)
    lp.destroy()
    for k in ("queue_ns", "run_ns"):
        extra[k] = round(statistics.median(extra[k][a.warmup :]), 1)
    return {"a_burst": ("ns/callback", samples)}, extra


def w_chain(L, a, width):
    n = a.n_callbacks
    lp = L(default=False)
    extra = {"iterations_per_callback": []}

    def rep():
        rc = lp.run_callback
        left = [n - width]

        def hop():
            if left[0] > 0:
                left[0] -= 1
                rc(hop)

        it0 = lp.iteration
        t0 = now()
        for _ in range(width):
            rc(hop)
        lp.run()
        t1 = now()
        if left[0]:
            raise RuntimeError(f"loop returned with {left[0]} callbacks not run")
        extra["iterations_per_callback"].append((lp.iteration - it0) / n)
        return (t1 - t0) / n * 1e9

    samples = measure(rep, a)
    lp.destroy()
    extra["iterations_per_callback"] = round(
        statistics.median(extra["iterations_per_callback"][a.warmup :]), 4
    )
    return {f"a_chain{width}": ("ns/callback", samples)}, extra


def w_startstop(L, a):
    n = a.n_timer
    lp = L(default=False)
    t = lp.timer(10.0, 0.0)

    def rep():
        start, stop, f = t.start, t.stop, _noop
        t0 = now()
        for _ in range(n):
            start(f)
            stop()
        return (now() - t0) / n * 1e9

    samples = measure(rep, a)
    t.close()
    lp.destroy()
    return {"b_startstop": ("ns/start+stop", samples)}, {}


def w_lifecycle(L, a):
    n = a.n_lifecycle
    lp = L(default=False)

    def rep():
        mk, f = lp.timer, _noop
        t0 = now()
        for _ in range(n):
            t = mk(10.0, 0.0)
            t.start(f)
            t.stop()
            t.close()
        return (now() - t0) / n * 1e9

    samples = measure(rep, a)
    lp.destroy()
    return {"b_lifecycle": ("ns/timer", samples)}, {}


def _raise_fd_limit(need):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def w_io(L, a):
    npairs, rounds = a.pairs, a.io_rounds
    _raise_fd_limit(2 * npairs + 64)
    socks = [socket.socketpair() for _ in range(npairs)]
    for r, w in socks:
        r.setblocking(False)
        w.setblocking(False)
    rfds = [r.fileno() for r, _ in socks]
    wfds = [w.fileno() for _, w in socks]
    read, write = os.read, os.write
    lp = L(default=False)
    fired = [0]

    def on_read(fd):
        if read(fd, 1):
            fired[0] += 1

    watchers = []
    for fd in rfds:
        w = lp.io(fd, 1)  # 1 == READ everywhere
        w.start(on_read, fd)
        watchers.append(w)
    extra = {"iterations_per_round": [], "floor_us": []}

    def floor_rep():
        t0 = now()
        for _ in range(rounds):
            for fd in wfds:
                write(fd, b"x")
            for fd in rfds:
                read(fd, 1)
        return (now() - t0) / rounds * 1e6

    def rep():
        run = lp.run
        it0 = lp.iteration
        t0 = now()
        for _ in range(rounds):
            fired[0] = 0
            for fd in wfds:
                write(fd, b"x")
            while fired[0] < npairs:
                run(once=True)
        t1 = now()
        extra["iterations_per_round"].append((lp.iteration - it0) / rounds)
        # the floor right after, so both see the same machine state
        extra["floor_us"].append(floor_rep())
        return (t1 - t0) / rounds * 1e6

    samples = measure(rep, a)
    for w in watchers:
        w.stop()
        w.close()
    lp.destroy()
    for r, w in socks:
        r.close()
        w.close()
    floors = extra["floor_us"][a.warmup :]
    net = [(s - f) / npairs * 1e3 for s, f in zip(samples, floors, strict=True)]
    extra = {
        "iterations_per_round": round(
            statistics.median(extra["iterations_per_round"][a.warmup :]), 3
        ),
        "floor_us": round(statistics.median(floors), 2),
    }
    return {
        "c_io_round": ("us/round", samples),
        "c_io_event": ("ns/event", [s / npairs * 1e3 for s in samples]),
        "c_io_net": ("ns/event", net),
    }, extra


now = time.perf_counter


def measure(fn, a):
    """warm-up + timed reps; returns the timed samples (callers that collect
    side figures drop the first ``a.warmup`` of those themselves)."""
    for _ in range(a.warmup):
        gc.collect()
        fn()
    samples, util = [], []
    for _ in range(a.reps):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        samples.append(fn())
        w1, c1 = time.perf_counter(), time.process_time()
        if w1 > w0:
            util.append((c1 - c0) / (w1 - w0))
    CPU_UTIL.extend(util)
    return samples


CPU_UTIL = []


def child(a):
    global now
    signal.alarm(max(1, a.max_seconds))  # default action: terminate
    if a.clock == "cpu":
        now = time.process_time
    impl, wl = a.child, a.workload
    try:
        L = load_loop(impl)
    except Unavailable as e:
        print(
            "RESULT "
            + json.dumps({"impl": impl, "workload": wl, "status": "n/i", "detail": str(e)}),
            flush=True,
        )
        return 0
    fn = {
        "a_burst": w_burst,
        "a_chain1": lambda L, a: w_chain(L, a, 1),
        "a_chain100": lambda L, a: w_chain(L, a, 100),
        "b_startstop": w_startstop,
        "b_lifecycle": w_lifecycle,
        "c_io": w_io,
    }[wl]
    metrics, extra = fn(L, a)
    extra["loop"] = f"{L.__module__}.{L.__qualname__}"
    if CPU_UTIL:
        extra["cpu_util"] = round(statistics.median(CPU_UTIL), 3)
    rec = {
        "impl": impl,
        "workload": wl,
        "status": "ok",
        "extra": extra,
        "metrics": {
            name: {"unit": unit, "value": statistics.median(s), "samples": s}
            for name, (unit, s) in metrics.items()
        },
    }
    print("RESULT " + json.dumps(rec), flush=True)
    return 0


# --------------------------------------------------------------------------
# driver side
# --------------------------------------------------------------------------


def run_child(impl, wl, a):
    env = dict(os.environ)
    env.pop("GEVENT_LOOP", None)
    env.update(ENV.get(impl, {}))
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        impl,
        "--workload",
        wl,
        "--reps",
        str(a.reps),
        "--warmup",
        str(a.warmup),
        "--n-callbacks",
        str(a.n_callbacks),
        "--n-timer",
        str(a.n_timer),
        "--n-lifecycle",
        str(a.n_lifecycle),
        "--pairs",
        str(a.pairs),
        "--io-rounds",
        str(a.io_rounds),
        "--max-seconds",
        str(a.max_seconds),
        "--clock",
        a.clock,
    ]
    try:
        p = subprocess.run(
            cmd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=a.max_seconds + 30,
        )
    except subprocess.TimeoutExpired:
        return {"impl": impl, "workload": wl, "status": "timeout"}
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (p.stderr or "").strip().splitlines()[-3:]
    return {
        "impl": impl,
        "workload": wl,
        "status": f"error rc={p.returncode}",
        "detail": " | ".join(tail),
    }


def select(only):
    if not only:
        return list(WORKLOADS)
    out = []
    for tok in only.split(","):
        tok = tok.strip()
        if not tok:
            continue
        hits = [
            w
            for w in WORKLOADS
            if w == tok or w.split("_")[0] == tok or (tok.startswith("c_io") and w == "c_io")
        ]
        if not hits:
            sys.exit(f"unknown workload {tok!r}; choose from a, b, c or {', '.join(WORKLOADS)}")
        out += [w for w in hits if w not in out]
    return [w for w in WORKLOADS if w in out]


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def summarize(records, workloads):
    """records: list of rounds, each {impl: {workload: rec}} -> table rows."""
    rows = []
    for row, wl in ROWS:
        if wl not in workloads:
            continue
        out = {"workload": row, "unit": None, "values": {}, "ratios": {}}
        for impl in IMPLS:
            vals, status = [], None
            for rnd in records:
                rec = rnd.get(impl, {}).get(wl)
                if rec and rec.get("status") == "ok":
                    m = rec["metrics"][row]
                    out["unit"] = m["unit"]
                    vals.append(m["value"])
                elif rec:
                    status = rec.get("status")
            out["values"][impl] = statistics.median(vals) if vals else (status or "n/i")
        for base in (BASELINE, "gevent-cext"):
            rs = []
            for rnd in records:
                g = rnd.get("greenkit", {}).get(wl)
                b = rnd.get(base, {}).get(wl)
                if g and b and g.get("status") == b.get("status") == "ok":
                    bv = b["metrics"][row]["value"]
                    if bv > 0:
                        rs.append(g["metrics"][row]["value"] / bv)
            out["ratios"][base] = round(statistics.median(rs), 3) if rs else None
        rows.append(out)
    return rows


def print_table(rows, a):
    head = ["workload", "unit", "greenkit", "gevent-cffi", "gevent-cext", "gk/cffi", "gk/cext"]
    body = []
    for r in rows:
        v = r["values"]
        body.append(
            [
                r["workload"],
                r["unit"] or "",
                fmt(v["greenkit"]),
                fmt(v["gevent-cffi"]),
                fmt(v["gevent-cext"]),
                fmt(r["ratios"][BASELINE]),
                fmt(r["ratios"]["gevent-cext"]),
            ]
        )
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print()
    print(line(head))
    print(line(["-" * w for w in widths]))
    for b in body:
        print(line(b))
    print(
        f"\nmedian of {a.rounds} round(s) x {a.reps} rep(s); ratio = cost "
        f"(greenkit / other, same round; < 1 means greenkit is faster)"
    )


def versions():
    out = {"python": sys.version.split()[0], "machine": platform.machine()}
    try:
        from importlib import metadata

        for d in ("gevent", "greenlet", "cffi", "greenkit-loop-libev"):
            try:
                out[d] = metadata.version(d)
            except Exception:
                pass
    except ImportError:
        pass
    return out


def driver(a):
    workloads = select(a.only)
    records = []
    order = list(IMPLS)
    t_start = time.time()
    for rnd in range(a.rounds):
        this = {impl: {} for impl in IMPLS}
        for wl in workloads:
            for impl in order:
                rec = run_child(impl, wl, a)
                this[impl][wl] = rec
                if rec.get("status") == "ok":
                    vals = ", ".join(
                        f"{k}={fmt(m['value'])} {m['unit']}" for k, m in rec["metrics"].items()
                    )
                else:
                    vals = rec.get("status", "?") + (
                        f" ({rec['detail']})" if rec.get("detail") else ""
                    )
                print(f"round {rnd + 1}/{a.rounds}  {wl:<12} {impl:<12} {vals}", flush=True)
        records.append(this)
        order = order[1:] + order[:1]  # rotate the implementation order
    rows = summarize(records, workloads)
    print_table(rows, a)
    os.makedirs(RESULTS, exist_ok=True)
    doc = {
        "bench": "loop",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t_start)),
        "seconds": round(time.time() - t_start, 1),
        "versions": versions(),
        "args": {k: v for k, v in vars(a).items() if k not in ("child", "workload")},
        "baseline": BASELINE,
        "rows": rows,
        "rounds": records,
    }
    path = os.path.join(RESULTS, "loop-latest.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"wrote {os.path.relpath(path)}")
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="1 round x 3 reps")
    p.add_argument(
        "--reps",
        type=int,
        default=None,
        help="timed repetitions inside each child (default 5; 3 with --quick)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="driver rounds, impl order rotated each (default 3; 1 with --quick)",
    )
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--only", default="", help="comma list: a,b,c and/or workload names")
    p.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="time by wall clock (default) or the child's CPU time",
    )
    p.add_argument("--n-callbacks", type=int, default=200_000)
    p.add_argument("--n-timer", type=int, default=200_000)
    p.add_argument("--n-lifecycle", type=int, default=50_000)
    p.add_argument("--pairs", type=int, default=100)
    p.add_argument("--io-rounds", type=int, default=2000)
    p.add_argument(
        "--max-seconds", type=int, default=120, help="hard limit per child process (SIGALRM)"
    )
    p.add_argument("--child", choices=IMPLS, help=argparse.SUPPRESS)
    p.add_argument("--workload", choices=WORKLOADS, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.reps is None:
        a.reps = 3 if a.quick else 5
    if a.rounds is None:
        a.rounds = 1 if a.quick else 3
    if a.reps < 1 or a.rounds < 1:
        p.error("--reps and --rounds must be >= 1")
    if a.child:
        return child(a)
    return driver(a)


if __name__ == "__main__":
    sys.exit(main())
