"""Stopping (graceful and quick), max-requests restarts and the heartbeat."""

from __future__ import annotations

import http.client
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from conftest import Gunicorn, pid_of


def wait_for_file(master: Gunicorn, name: str) -> None:
    path = master.folder / name
    deadline = time.monotonic() + 15
    while not path.exists():
        assert time.monotonic() < deadline, master.log()
        time.sleep(0.02)


def sleep_in_background(master: Gunicorn, seconds: float) -> Future[tuple[int, bytes]]:
    """GET /sleep in a thread; return once the application is sleeping."""
    executor = ThreadPoolExecutor(1)
    future = executor.submit(master.get, f"/sleep?s={seconds}&mark=busy")
    executor.shutdown(wait=False)
    wait_for_file(master, "busy")
    return future


def test_sigterm_lets_the_request_in_flight_finish(gunicorn: Callable[..., Gunicorn]) -> None:
    master = gunicorn("-w", "1", "--graceful-timeout", "20")
    reply = sleep_in_background(master, 1)
    master.signal(signal.SIGTERM)
    status, _ = reply.result(10)
    assert status == 200
    assert master.wait(10) < 5
    master.wait_for_log(r"Worker exiting")


#: A gunicorn configuration file whose greenkit.events subscriber makes the
#: worker's monkey patching take long (and says when it starts).
SLOW_PATCHING_CONF = """
import os
import time

import greenkit.events


def slow_patching(event):
    if isinstance(event, greenkit.events.GeventWillPatchAllEvent):
        with open("patching", "w") as marker:
            marker.write(str(os.getpid()))
        time.sleep(1.5)


greenkit.events.subscribers.append(slow_patching)
"""


@pytest.mark.parametrize("worker_class", ["greenkit.gunicorn.Worker"])  # shared boot code
def test_sigterm_while_the_worker_boots_is_not_lost(gunicorn: Callable[..., Gunicorn]) -> None:
    master = gunicorn(
        "-w",
        "1",
        "-c",
        "slow_conf.py",
        "--graceful-timeout",
        "20",
        files={"slow_conf.py": SLOW_PATCHING_CONF},
    )
    wait_for_file(master, "patching")
    master.signal(signal.SIGTERM)
    # The worker stops once booted instead of being killed after --graceful-timeout.
    assert master.wait(15) < 8
    master.wait_for_log(r"Worker exiting")


def test_idle_keep_alive_connections_do_not_delay_the_stop(
    gunicorn: Callable[..., Gunicorn],
) -> None:
    master = gunicorn("-w", "1", "--keep-alive", "60", "--graceful-timeout", "20")
    idle = master.connection()
    idle.request("GET", "/")
    assert idle.getresponse().read().startswith(b"pid=")
    reply = sleep_in_background(master, 1)
    master.signal(signal.SIGTERM)
    # The idle connection is closed at once, the busy one finishes its request.
    assert idle.sock is not None and idle.sock.recv(1) == b""
    idle.close()
    assert reply.result(10)[0] == 200
    assert master.wait(10) < 5


def test_graceful_timeout_bounds_the_stop(gunicorn: Callable[..., Gunicorn]) -> None:
    master = gunicorn("-w", "1", "--graceful-timeout", "1")
    reply = sleep_in_background(master, 60)
    start = time.monotonic()
    master.signal(signal.SIGTERM)
    master.wait(15)
    assert 0.5 < time.monotonic() - start < 6
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        reply.result(10)


def test_sigquit_stops_at_once(gunicorn: Callable[..., Gunicorn]) -> None:
    master = gunicorn("-w", "1", "--graceful-timeout", "20")
    reply = sleep_in_background(master, 60)
    master.signal(signal.SIGQUIT)
    assert master.wait(15) < 5
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        reply.result(10)


def test_max_requests_restarts_the_worker_without_losing_requests(
    gunicorn: Callable[..., Gunicorn],
) -> None:
    master = gunicorn("-w", "1", "--max-requests", "3")
    served: dict[int, int] = {}
    for _ in range(10):
        status, body = master.get("/")
        assert status == 200
        pid = pid_of(body)
        served[pid] = served.get(pid, 0) + 1
    # Every worker answered at most 3 requests, then another took over.
    assert len(served) >= 4
    assert max(served.values()) <= 3
    master.wait_for_log(r"Autorestarting worker after current request", count=3)


@pytest.mark.parametrize("worker_class", ["greenkit.gunicorn.Worker"])  # shared main loop
def test_heartbeat_keeps_an_idle_or_busy_worker_from_being_killed(
    gunicorn: Callable[..., Gunicorn],
) -> None:
    master = gunicorn("-w", "1", "--timeout", "2")
    first = pid_of(master.get("/")[1])
    # Idle for longer than --timeout (the master looks about once a second).
    time.sleep(3.2)
    assert pid_of(master.get("/")[1]) == first
    # Busy for longer than --timeout: the request sleeps cooperatively, so
    # the worker's heartbeat goes on and the master leaves it alone.
    status, body = master.get("/sleep?s=3.2")
    assert status == 200 and pid_of(body) == first
    assert master.worker_pids() == [first]


def test_sigabrt_runs_the_hook_and_exits_with_status_1(gunicorn: Callable[..., Gunicorn]) -> None:
    master = gunicorn(
        "-w",
        "1",
        "-c",
        "abort_conf.py",
        files={
            "abort_conf.py": "def worker_abort(worker):\n"
            "    worker.log.info('worker_abort hook ran')\n"
        },
    )
    first = pid_of(master.get("/")[1])
    # What the master sends a worker that missed its heartbeat.
    os.kill(first, signal.SIGABRT)
    master.wait_for_log(rf"Worker \(pid:{first}\) exited with code 1")
    master.expected.append(rf"Worker \(pid:{first}\) exited with code 1")
    assert "worker_abort hook ran" in master.log()
    assert pid_of(master.get("/")[1]) != first
