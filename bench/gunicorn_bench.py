#!/usr/bin/env python
"""gunicorn benchmark: greenkit's worker classes against gevent's, same run.

A WSGI hello world (13-byte body, ``Content-Length``) served by
``gunicorn -w 2`` on 127.0.0.1 with each worker class in turn:

  greenkit         ``greenkit.gunicorn.Worker`` (gunicorn's HTTP parser)
  greenkit-pywsgi  ``greenkit.gunicorn.PyWSGIWorker`` (greenkit.pywsgi)
  gevent           ``gunicorn.workers.ggevent.GeventWorker`` (``-k gevent``,
                   real gevent 26.9.0) -- the baseline of ``greenkit``
  gevent-pywsgi    ``gunicorn.workers.ggevent.GeventPyWSGIWorker`` -- the
                   baseline of ``greenkit-pywsgi``

The load is ``wrk`` (Debian's package; ``--latency`` for the percentiles)
with a fixed number of keep-alive connections for a fixed time, after a
warm-up run; without wrk, a Python load generator runs in a separate
process (``--load python``; slower, so it saturates sooner).  Each round
starts every worker class once (a fresh master each time), rotating the
order between rounds; a figure is the median over rounds, a ratio the
median of the same-round ratios greenkit / gevent (req/s: > 1 means
greenkit serves more; p99: < 1 means greenkit answers sooner).

Usage (in a venv with greenkit-gunicorn, gunicorn and gevent==26.9.0)::

    python bench/gunicorn_bench.py                # 3 rounds x 10 s per class
    python bench/gunicorn_bench.py --quick        # 1 round x 5 s
    python bench/gunicorn_bench.py --only greenkit,gevent --connections 100

Writes bench/results/gunicorn-latest.json.  A class whose worker cannot be
imported shows ``n/i`` and the run goes on.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HOST = "127.0.0.1"
IMPLS = {
    "greenkit": "greenkit.gunicorn.Worker",
    "greenkit-pywsgi": "greenkit.gunicorn.PyWSGIWorker",
    "gevent": "gunicorn.workers.ggevent.GeventWorker",
    "gevent-pywsgi": "gunicorn.workers.ggevent.GeventPyWSGIWorker",
}
#: Which implementation each one is compared with.
BASELINE = {"greenkit": "gevent", "greenkit-pywsgi": "gevent-pywsgi"}
BODY = b"Hello, World!"
APP = f"""\
BODY = {BODY!r}
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
"""
RESULTS = Path(__file__).resolve().parent / "results" / "gunicorn-latest.json"
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+) ")
_BOOTING = re.compile(r"Booting worker with pid: (\d+)")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


# -- the server ---------------------------------------------------------------------


def _importable(module: str) -> bool:
    probe = f"import {module}"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def _control_socket_args() -> list[str]:
    """gunicorn >= 25 opens a control socket in $HOME unless told not to."""
    from gunicorn.config import KNOWN_SETTINGS

    if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
        return ["--no-control-socket"]
    return []


class Master:
    """``gunicorn -w N -k <class>`` serving the hello world on a free port."""

    def __init__(self, worker_class: str, workers: int, folder: Path) -> None:
        (folder / "hello_app.py").write_text(APP)
        self.log_path = folder / "gunicorn.log"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-k",
            worker_class,
            "-w",
            str(workers),
            "-b",
            f"{HOST}:0",
            "--chdir",
            str(folder),
            "--worker-connections",
            "1000",
            "--backlog",
            "2048",
            *_control_socket_args(),
            "hello_app:app",
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=folder, stdout=log, stderr=subprocess.STDOUT
            )
        self.port = int(self._wait(_LISTENING)[0])
        self._wait(_BOOTING, count=workers)
        self._check_answer()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait(self, pattern: re.Pattern[str], count: int = 1) -> list[str]:
        """The matches of ``pattern`` in the log, once there are ``count``."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found: list[str] = pattern.findall(self.log())
            if len(found) >= count:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"gunicorn did not start:\n{self.log()}")

    def _check_answer(self) -> None:
        # Also waits until a worker has loaded the app.
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            connection.request("GET", "/")
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200 or body != BODY:
            self.stop()
            raise RuntimeError(f"unexpected answer {response.status} {body!r}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def unclean_lines(self) -> list[str]:
        return [
            line
            for line in self.log().splitlines()
            if re.search(r"Traceback|\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT", line)
        ]


# -- the load -------------------------------------------------------------------------


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(port: int, seconds: float, connections: int, threads: int) -> dict[str, float]:
    """``wrk --latency``: req/s, p50/p99 latency (ms), errors."""
    out = subprocess.run(
        [
            "wrk",
            "--latency",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            f"http://{HOST}:{port}/",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    if not (rate and p50 and p99):
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(rate.group(1)),
        "p50_ms": _seconds(p50.group(1)) * 1e3,
        "p99_ms": _seconds(p99.group(1)) * 1e3,
        "errors": errors + (int(non_2xx.group(1)) if non_2xx else 0),
    }


_REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


def _python_client(port: int, stop_at: float, latencies: list[float], errors: list[int]) -> None:
    """One keep-alive connection sending requests one after another until ``stop_at``."""
    expected_tail = BODY
    try:
        sock = socket.create_connection((HOST, port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with sock:
            while time.monotonic() < stop_at:
                start = time.perf_counter()
                sock.sendall(_REQUEST)
                data = b""
                while not data.endswith(expected_tail):
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("closed")
                    data += chunk
                latencies.append(time.perf_counter() - start)
    except OSError:
        errors.append(1)


def python_load_child(port: int, seconds: float, connections: int) -> None:
    """The Python load generator's process: prints a JSON summary."""
    latencies: list[float] = []
    errors: list[int] = []
    stop_at = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_python_client, args=(port, stop_at, latencies, errors))
        for _ in range(connections)
    ]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    latencies.sort()

    def pick(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e3 if latencies else 0

    print(
        json.dumps(
            {
                "rps": len(latencies) / elapsed,
                "p50_ms": pick(0.50),
                "p99_ms": pick(0.99),
                "errors": len(errors),
            }
        )
    )


def run_python_load(port: int, seconds: float, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--load-child", str(port), str(seconds), str(connections)],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


# -- the driver -------------------------------------------------------------------------


def measure(impl: str, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"gkbench-{impl}-") as tmp:
        master = Master(IMPLS[impl], args.workers, Path(tmp))
        try:
            if args.load == "wrk":
                run_wrk(master.port, args.warmup, args.connections, args.threads)
                result = run_wrk(master.port, args.duration, args.connections, args.threads)
            else:
                run_python_load(master.port, args.warmup, args.connections)
                result = run_python_load(master.port, args.duration, args.connections)
        finally:
            master.stop()
        unclean = master.unclean_lines()
        if unclean:
            print(f"  {impl}: unclean log:\n    " + "\n    ".join(unclean[:10]))
        result["unclean_log_lines"] = len(unclean)
        return result


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _fmt(value: float | None, spec: str) -> str:
    return "n/i" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up load")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn -w")
    parser.add_argument(
        "--load", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python"
    )
    parser.add_argument(
        "--only",
        default=",".join(IMPLS),
        help="comma-separated implementations: " + ", ".join(IMPLS),
    )
    parser.add_argument("--quick", action="store_true", help="1 round of 5 s")
    parser.add_argument("--load-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_child:
        port, seconds, connections = args.load_child
        python_load_child(int(port), float(seconds), int(connections))
        return 0
    if args.quick:
        args.rounds, args.duration = 1, 5.0

    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(wanted) - set(IMPLS)
    if unknown:
        parser.error(f"unknown implementation(s): {sorted(unknown)}")
    modules = {
        "greenkit": "greenkit.gunicorn",
        "greenkit-pywsgi": "greenkit.gunicorn",
        "gevent": "gevent",
        "gevent-pywsgi": "gevent",
    }
    available = [impl for impl in wanted if _importable(modules[impl])]
    print(
        f"gunicorn -w {args.workers}, {args.connections} keep-alive connections, "
        f"{args.load} load, {args.rounds} round(s) x {args.duration:g} s "
        f"(+{args.warmup:g} s warm-up) per worker class"
    )

    rounds: list[dict[str, dict[str, float]]] = []
    for number in range(args.rounds):
        shift = number % len(available) if available else 0
        order = available[shift:] + available[:shift]
        record: dict[str, dict[str, float]] = {}
        for impl in order:
            record[impl] = measure(impl, args)
            r = record[impl]
            print(
                f"  round {number + 1} {impl:16s} {r['rps']:9.0f} req/s  "
                f"p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  errors {r['errors']:g}"
            )
        rounds.append(record)

    print()
    print(
        f"{'worker class':18s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s}   "
        f"{'req/s gk/gevent':>15s} {'p99 gk/gevent':>13s}"
    )
    summary: dict[str, dict[str, float | None]] = {}
    for impl in IMPLS:
        samples = [record[impl] for record in rounds if impl in record]
        row: dict[str, float | None] = {
            "rps": _median([s["rps"] for s in samples]),
            "p50_ms": _median([s["p50_ms"] for s in samples]),
            "p99_ms": _median([s["p99_ms"] for s in samples]),
        }
        base = BASELINE.get(impl)
        if base is not None:
            pairs = [(r[impl], r[base]) for r in rounds if impl in r and base in r]
            row["rps_ratio"] = _median([a["rps"] / b["rps"] for a, b in pairs])
            row["p99_ratio"] = _median([a["p99_ms"] / b["p99_ms"] for a, b in pairs])
        summary[impl] = row
        ratios = (
            f"{_fmt(row.get('rps_ratio'), '15.2f')} {_fmt(row.get('p99_ratio'), '13.2f')}"
            if base is not None
            else f"{'(baseline)':>15s}"
        )
        print(
            f"{impl:18s} {_fmt(row['rps'], '9.0f')} {_fmt(row['p50_ms'], '8.2f')} "
            f"{_fmt(row['p99_ms'], '8.2f')}   {ratios}"
        )

    versions = {}
    for dist in ("greenkit-gunicorn", "gunicorn", "gevent"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "settings": {k: v for k, v in vars(args).items() if k != "load_child"},
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "versions": versions,
                "rounds": rounds,
                "summary": summary,
            },
            indent=2,
        )
    )
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
