"""locust on greenkit through the alias: a headless run and a distributed
master + worker run against gevent's pywsgi serving slow requests."""

from __future__ import annotations

import csv
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import APPS, assert_clean_log, bin_path, free_port, run, wait_for_port

USERS = 20
#: Every request takes this long on the server.
SLEEP = 0.2
RUN_TIME = 4


@pytest.fixture
def slow_server(spawn: Any) -> Any:
    """gevent's pywsgi on a free port, every request sleeping SLEEP seconds."""
    port = free_port()
    server = spawn(
        "slow-server", [sys.executable, str(APPS / "slow_server.py"), str(port), str(SLEEP)]
    )
    wait_for_port(port, service=server)
    server.url = f"http://127.0.0.1:{port}"
    yield server
    assert server.stop(signal.SIGTERM, timeout=30) == 0
    assert_clean_log(server.output(), "the server's log")


def _stats(csv_prefix: Path) -> tuple[int, int, float]:
    """(requests, failures, requests per second) of the Aggregated row of
    locust's stats CSV."""
    with open(f"{csv_prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                return (
                    int(row["Request Count"]),
                    int(row["Failure Count"]),
                    float(row["Requests/s"]),
                )
    raise AssertionError("no Aggregated row in locust's stats")


def _assert_concurrent(csv_prefix: Path, output: str) -> None:
    requests, failures, rate = _stats(csv_prefix)
    assert failures == 0, output
    assert requests >= USERS, output
    # Users taking turns would make at most 1 / SLEEP requests a second.
    # (The rate, not the count: locust's --run-time timer is started on a
    # loop time cached at start-up, so the run is shorter than asked, on
    # real gevent too.)
    assert rate > 4 / SLEEP, output


def test_locust_headless(slow_server: Any, tmp_path: Path) -> None:
    prefix = tmp_path / "headless"
    done = run(
        [
            bin_path("locust"),
            "-f",
            str(APPS / "locustfile.py"),
            "--headless",
            "-u",
            str(USERS),
            "-r",
            str(USERS),
            "--run-time",
            f"{RUN_TIME}s",
            "-H",
            slow_server.url,
            "--only-summary",
            "--csv",
            str(prefix),
        ],
        timeout=60,
    )
    _assert_concurrent(prefix, done.stdout)


@pytest.mark.deadline(120)
def test_locust_distributed_master_and_worker_exit(
    slow_server: Any, spawn: Any, tmp_path: Path
) -> None:
    port = free_port()
    prefix = tmp_path / "distributed"
    master = spawn(
        "locust-master",
        [
            bin_path("locust"),
            "-f",
            str(APPS / "locustfile.py"),
            "--headless",
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            str(port),
            "--expect-workers",
            "1",
            "-u",
            str(USERS),
            "-r",
            str(USERS),
            "--run-time",
            f"{RUN_TIME}s",
            "-H",
            slow_server.url,
            "--only-summary",
            "--csv",
            str(prefix),
        ],
    )
    worker = spawn(
        "locust-worker",
        [
            bin_path("locust"),
            "-f",
            str(APPS / "locustfile.py"),
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(port),
        ],
    )
    assert master.wait(timeout=60) == 0, master.output()
    # The master tells the worker to quit; it must exit by itself.
    assert worker.wait(timeout=30) == 0, worker.output()
    _assert_concurrent(prefix, master.output())
    assert_clean_log(master.output(), "the locust master's log")
    assert_clean_log(worker.output(), "the locust worker's log")
