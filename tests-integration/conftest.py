"""tests-integration: helpers shared by the tests of the assembled greenkit.

Makes the helper modules here (loop_contract) importable, offers
``run_script`` for tests that need a process of their own (monkey patching
changes the standard library for the whole process), and refreshes the
hub's loop clock before each test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from greenkit_testing import run_python

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))


@pytest.fixture(autouse=True)
def _fresh_loop_clock() -> None:
    """Bring this thread's hub loop's cached time up to date, if there is a hub.

    libev measures a new timer from the time it cached at its last
    iteration.  Between tests the hub does not run, so after a test that
    spent seconds elsewhere (a subprocess, say) a timer started before the
    next test's first switch would be "due" at once, as in a program whose
    hub was blocked that long.  A running program refreshes it every
    iteration; do it here too.
    """
    if "greenkit.hub" in sys.modules:
        hub = sys.modules["greenkit.hub"].get_hub_if_exists()
        if hub is not None:
            hub.loop.update_now()


#: A self-signed certificate and key for ``localhost`` / 127.0.0.1 (100 years).
KEYCERT = _HERE / "localhost_keycert.pem"

#: Prepended to every script: ``report(value)`` prints the result the test
#: reads; ``together(func, *argsets)`` runs ``func(*args)`` for each argument
#: tuple in its own greenlet and returns their results and whether their
#: (start, end) intervals all shared an instant -- which a call blocking
#: the whole thread would prevent.
_PRELUDE = """
import json as _json, sys as _sys, time as _time
def report(value):
    _sys.stdout.write("RESULT " + _json.dumps(value) + "\\n")
    _sys.stdout.flush()
def together(func, *argsets):
    import greenkit
    spans = []
    def timed(*args):
        start = _time.monotonic()
        value = func(*args)
        spans.append((start, _time.monotonic()))
        return value
    jobs = [greenkit.spawn(timed, *args) for args in argsets]
    greenkit.joinall(jobs, raise_error=True)
    overlapped = max(start for start, _ in spans) < min(end for _, end in spans)
    return [job.value for job in jobs], overlapped
"""


def run_script(code: str, *args: str, timeout: float = 60) -> Any:
    """Run ``code`` in a fresh interpreter; return what it passed to ``report()``.

    Fails the test (with the script's output) when the script exits non-zero,
    prints anything on stderr, or reports nothing.
    """
    done = run_python(code, argv=args, prelude=_PRELUDE, timeout=timeout, cwd=_HERE, check=False)
    output = f"exit status {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode == 0, output
    assert done.stderr == "", output
    results = [line[7:] for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(results) == 1, output
    return json.loads(results[0])
