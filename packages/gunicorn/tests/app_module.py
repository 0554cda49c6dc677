"""The WSGI application the tests serve with gunicorn (copied into a temporary folder).

Routes (query string ``s=<seconds>`` where a duration is taken):

* ``/`` -- ``pid=<worker pid>``;
* ``/sleep?s=0.5`` -- ``time.sleep`` (blocking unless patched), then the pid;
  with ``mark=<name>`` it first creates the file ``<name>`` in its folder;
* ``/file`` -- ``BIG_FILE`` (2 MiB) through ``wsgi.file_wrapper`` (sendfile
  under gunicorn's parser);
* ``/info`` -- JSON: the pid, what the module saw when it was imported
  (pid, whether ``socket`` was monkey-patched) and parts of the environ.
"""

import json
import os
import time
from urllib.parse import parse_qs

from greenkit import monkey

#: What ``/file`` sends.
BIG_FILE = bytes(range(256)) * 8192
IMPORTED_IN = os.getpid()
PATCHED_AT_IMPORT = monkey.is_module_patched("socket")


def _seconds(environ):
    values = parse_qs(environ.get("QUERY_STRING", "")).get("s", ["0.5"])
    return float(values[0])


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/sleep":
        for marker in parse_qs(environ.get("QUERY_STRING", "")).get("mark", ()):
            with open(marker, "w"):
                pass
        time.sleep(_seconds(environ))
    if path == "/file":
        with open("big.bin", "wb") as out:
            out.write(BIG_FILE)
        start_response(
            "200 OK",
            [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BIG_FILE)))],
        )
        return environ["wsgi.file_wrapper"](open("big.bin", "rb"), 65536)
    if path == "/info":
        body = json.dumps(
            {
                "pid": os.getpid(),
                "imported_in": IMPORTED_IN,
                "patched_at_import": PATCHED_AT_IMPORT,
                "patched_now": monkey.is_module_patched("socket"),
                "url_scheme": environ["wsgi.url_scheme"],
                "remote_port": environ.get("REMOTE_PORT"),
                "raw_uri": environ.get("RAW_URI"),
                "has_gunicorn_socket": "gunicorn.socket" in environ,
                "multithread": environ["wsgi.multithread"],
            }
        ).encode()
        content_type = "application/json"
    else:
        body = f"pid={os.getpid()}\n".encode()
        content_type = "text/plain"
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
