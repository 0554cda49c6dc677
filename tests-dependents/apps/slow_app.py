"""A WSGI application whose requests sleep: ``GET /?sleep=S`` answers
``<pid> <SERVER_SOFTWARE>`` after ``time.sleep(S)`` (cooperative once the
worker has monkey-patched the process, as gunicorn's gevent workers do)."""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import parse_qs


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    time.sleep(float(query.get("sleep", ["0"])[0]))
    body = f"{os.getpid()} {environ.get('SERVER_SOFTWARE', '')}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
