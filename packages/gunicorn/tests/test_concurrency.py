"""Monkey patching in the worker, cooperative requests, the pool size and
several worker processes on one listening socket."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from conftest import Gunicorn, pid_of


def concurrent_gets(
    master: Gunicorn, paths: list[str], stagger: float = 0.0
) -> list[tuple[int, bytes, float]]:
    """GET every path at once (``stagger`` seconds apart), each on its own
    connection: ``(status, body, seconds from the first start)`` per path."""
    start = time.monotonic()

    def get(index: int) -> tuple[int, bytes, float]:
        time.sleep(index * stagger)
        status, body = master.get(paths[index])
        return status, body, time.monotonic() - start

    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(get, range(len(paths))))


def test_patched_before_the_app_is_loaded_and_sleeps_cooperate(
    gunicorn: Callable[..., Gunicorn],
) -> None:
    master = gunicorn("-w", "1")
    status, body = master.get("/info")
    info = json.loads(body)
    assert status == 200
    # Imported in the worker process, after monkey patching.
    assert info["imported_in"] == info["pid"] != master.pid
    assert info["patched_at_import"] is True
    assert info["multithread"] is True
    results = concurrent_gets(master, ["/sleep?s=0.5"] * 8)
    assert [status for status, _, _ in results] == [200] * 8
    assert {pid_of(body) for _, body, _ in results} == {info["pid"]}
    # Eight 0.5 s time.sleep calls in one process: together, not one after another (4 s).
    assert max(elapsed for _, _, elapsed in results) < 2.5


def test_preload_loads_the_app_in_the_master_and_still_cooperates(
    gunicorn: Callable[..., Gunicorn],
) -> None:
    master = gunicorn("-w", "1", "--preload")
    info = json.loads(master.get("/info")[1])
    # Loaded unpatched in the master; the worker patches after fork.
    assert info["imported_in"] == master.pid != info["pid"]
    assert info["patched_at_import"] is False
    assert info["patched_now"] is True
    results = concurrent_gets(master, ["/sleep?s=0.5"] * 8)
    assert [status for status, _, _ in results] == [200] * 8
    assert max(elapsed for _, _, elapsed in results) < 2.5


def test_worker_connections_is_the_pool_size(gunicorn: Callable[..., Gunicorn]) -> None:
    master = gunicorn("-w", "1", "--worker-connections", "2")
    results = concurrent_gets(master, ["/sleep?s=0.5"] * 3, stagger=0.1)
    assert [status for status, _, _ in results] == [200] * 3
    # -w 1: one process served all three.
    assert {pid_of(body) for _, body, _ in results} == set(master.worker_pids())
    assert len(master.worker_pids()) == 1
    first, second, third = (elapsed for _, _, elapsed in results)
    # The third connection waits in the backlog until one of the two others
    # is done (>= 0.5 s), then sleeps its own 0.5 s; served at once it would
    # be done after 0.7 s.
    assert third >= 0.95
    assert max(first, second) < third


#: A gunicorn configuration file: each worker logs when it has loaded the app.
READY_CONF = """
def post_worker_init(worker):
    worker.log.info("worker %s ready to serve", worker.pid)
"""


def test_two_worker_processes_share_the_listening_socket(gunicorn: Callable[..., Gunicorn]) -> None:
    master = gunicorn(
        "-w",
        "2",
        "--worker-connections",
        "1",
        "-c",
        "ready_conf.py",
        files={"ready_conf.py": READY_CONF},
    )
    master.wait_for_log(r"ready to serve", count=2)
    # With one connection per worker, the second request can only go to the
    # other process: both serve from the one socket the master bound.
    results = concurrent_gets(master, ["/sleep?s=0.4"] * 2, stagger=0.1)
    assert [status for status, _, _ in results] == [200, 200]
    assert {pid_of(body) for _, body, _ in results} == set(master.worker_pids())
