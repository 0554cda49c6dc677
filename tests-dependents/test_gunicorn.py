"""gunicorn's own gevent workers (``-k gevent`` on gunicorn's HTTP parser,
``-k gevent_pywsgi`` on gevent's pywsgi) running on greenkit through the
alias, and greenkit's native workers (greenkit-gunicorn, when installed),
with one and two worker processes sharing the listening socket."""

from __future__ import annotations

import http.client
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_clean_log, bin_path, free_port, wait_for_port

#: Concurrent requests, each sleeping this long in the application.
CLIENTS = 20
SLEEP = 1.0


def _get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def _overlapping_requests(port: int) -> tuple[float, list[tuple[int, str]]]:
    start = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(lambda _: _get(port, f"/?sleep={SLEEP}"), range(CLIENTS)))
    return time.monotonic() - start, answers


#: The native workers (greenkit-gunicorn), named as ``-k`` takes them.
NATIVE = ("greenkit.gunicorn.Worker", "greenkit.gunicorn.PyWSGIWorker")


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("worker", ["gevent", "gevent_pywsgi", *NATIVE])
def test_gunicorn_worker(spawn: Any, tmp_path: Path, worker: str, processes: int) -> None:
    if worker in NATIVE:
        pytest.importorskip("greenkit.gunicorn", reason="greenkit-gunicorn is not installed")
    port = free_port()
    master = spawn(
        "gunicorn",
        [
            bin_path("gunicorn"),
            "-k",
            worker,
            "-w",
            str(processes),
            "--worker-connections",
            "100",
            "-b",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "10",
            "--access-logfile",
            str(tmp_path / "access.log"),
            "--no-control-socket",
            "slow_app:app",
        ],
    )
    wait_for_port(port, service=master)
    for _ in range(processes):
        master.wait_for_output("Booting worker")
    elapsed, answers = _overlapping_requests(port)

    assert [status for status, _ in answers] == [200] * CLIENTS
    pids = {int(body.split()[0]) for _, body in answers}
    assert 1 <= len(pids) <= processes
    if worker == "gevent_pywsgi":
        # gunicorn's pywsgi worker names the gevent release the alias reports.
        assert all(" gevent/26.9.0 gunicorn/" in body for _, body in answers), answers[0]
    # Served one at a time they would take CLIENTS * SLEEP seconds.
    assert SLEEP <= elapsed < CLIENTS * SLEEP / 4, elapsed

    assert master.stop(signal.SIGTERM, timeout=30) == 0
    output = master.output()
    assert output.count("Booting worker") == processes
    assert output.count("Worker exiting") == processes
    assert "Shutting down: Master" in output
    assert_clean_log(output, "gunicorn's log")
    access = (tmp_path / "access.log").read_text()
    assert access.count('"GET /?sleep=') == CLIENTS
