"""The WSGI application of the gunicorn guide: every request waits half a second."""

import time

from greenkit import monkey


def app(environ, start_response):
    time.sleep(0.5)  # the worker patched time before it loaded this module: cooperative
    software = environ["SERVER_SOFTWARE"].split("/")[0]
    body = f"{software}, time patched: {monkey.is_module_patched('time')}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
