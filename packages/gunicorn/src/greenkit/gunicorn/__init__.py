"""gunicorn workers running on greenkit (gunicorn's ``gevent`` worker classes' counterparts).

``gunicorn -k greenkit.gunicorn.Worker app:app`` serves with gunicorn's own
HTTP parser, one greenlet per connection on greenkit's hub;
``gunicorn -k greenkit.gunicorn.PyWSGIWorker app:app`` serves through
:mod:`greenkit.pywsgi`, writing gunicorn's access log.  Both monkey-patch
the standard library in the worker process after ``fork()``, before the
application is loaded (unless ``--preload`` loaded it in the master).
"""

from __future__ import annotations

from greenkit.gunicorn._pywsgi import PyWSGIWorker
from greenkit.gunicorn._worker import Worker

__all__ = ["PyWSGIWorker", "Worker"]
