"""A celery application on the redis broker named by ``CELERY_BROKER``
(which is also the result backend), with one task that sleeps."""

from __future__ import annotations

import os
import time

from celery import Celery

app = Celery(
    "celery_tasks", broker=os.environ["CELERY_BROKER"], backend=os.environ["CELERY_BROKER"]
)
app.conf.broker_connection_retry_on_startup = True


@app.task
def nap(index: int, seconds: float) -> int:
    """Sleep ``seconds`` (cooperatively in a ``-P gevent`` worker) and return ``index``."""
    time.sleep(seconds)
    return index
