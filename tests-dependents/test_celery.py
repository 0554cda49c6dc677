"""celery's gevent pool (``celery worker -P gevent``) on greenkit through
the alias: tasks that sleep run concurrently, and SIGTERM shuts the worker
down warmly."""

from __future__ import annotations

import signal
import sys
from typing import Any

import pytest
from conftest import APPS, assert_clean_log, bin_path, child_env, parse_result, run

TASKS = 20
SLEEP = 1.0


@pytest.mark.deadline(150)
def test_celery_gevent_pool_runs_tasks_concurrently(spawn: Any, redis_url: str) -> None:
    env = child_env(CELERY_BROKER=redis_url)
    worker = spawn(
        "celery-worker",
        [
            bin_path("celery"),
            "-A",
            "celery_tasks",
            "worker",
            "-P",
            "gevent",
            "-c",
            str(TASKS),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            "greenkit@127.0.0.1",
        ],
        env=env,
    )
    worker.wait_for_output("ready.", deadline=60)

    done = run(
        [sys.executable, str(APPS / "celery_send.py"), str(TASKS), str(SLEEP)], timeout=120, env=env
    )
    result = parse_result(done.stdout)
    assert result["results"] == list(range(TASKS))
    # One after another they would take TASKS * SLEEP seconds.
    assert SLEEP <= result["elapsed"] < TASKS * SLEEP / 4, result

    assert worker.stop(signal.SIGTERM, timeout=60) == 0
    output = worker.output()
    assert "concurrency: 20 (gevent)" in output
    assert output.count("succeeded in") == TASKS
    assert "Warm shutdown" in output
    assert_clean_log(output, "the celery worker's log")
