"""``python celery_send.py N SECONDS``: queue N ``nap`` tasks at once and
wait for all their results; prints ``RESULT {"results": [...], "elapsed": s}``.
Runs without gevent: a plain celery client."""

from __future__ import annotations

import json
import sys
import time

from celery_tasks import nap

count, seconds = int(sys.argv[1]), float(sys.argv[2])
start = time.monotonic()
pending = [nap.delay(i, seconds) for i in range(count)]
results = [p.get(timeout=60) for p in pending]
print("RESULT " + json.dumps({"results": results, "elapsed": time.monotonic() - start}))
