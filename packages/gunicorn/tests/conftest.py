"""A real gunicorn master for each test, and small HTTP clients for talking to it.

``gunicorn`` (fixture) starts ``python -m gunicorn`` in a subprocess with the
worker class under test, bound to ``127.0.0.1:0`` (the port is read from
the master's "Listening at" line), serving ``tests/app_module.py`` copied
into a temporary folder, with its log in a file.  At the end of the test
the master is stopped (SIGTERM, then SIGKILL by pid) and its log must be
clean: no traceback, no error, no warning, no worker timeout.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gunicorn.config import KNOWN_SETTINGS

HERE = Path(__file__).resolve().parent
CERT = HERE / "localhost_keycert.pem"
WORKERS = ["greenkit.gunicorn.Worker", "greenkit.gunicorn.PyWSGIWorker"]
#: Lines that must never appear in a master's log.
UNCLEAN = re.compile(
    r"Traceback|Exception ignored|\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT|"
    r"Warning|was sent SIGKILL"
)
_LISTENING = re.compile(r"Listening at: \w+://127\.0\.0\.1:(\d+) ")
_HAS_CONTROL_SOCKET = any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS)


class Gunicorn:
    """A gunicorn master serving ``app_module:app`` (see the module docstring)."""

    def __init__(self, folder: Path, worker_class: str, *args: str) -> None:
        shutil.copy(HERE / "app_module.py", folder / "app_module.py")
        self.folder = folder
        #: Regexes of unclean lines this test expects in the log.
        self.expected: list[str] = []
        self.log_path = folder / "gunicorn.log"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-k",
            worker_class,
            "-b",
            "127.0.0.1:0",
            "--chdir",
            str(folder),
            *args,
        ]
        if _HAS_CONTROL_SOCKET:
            command.append("--no-control-socket")
        command.append("app_module:app")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=folder, stdout=log, stderr=subprocess.STDOUT
            )
        self.pid = self.process.pid
        self.port = self._wait_for_port()

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = _LISTENING.search(self.log())
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"gunicorn did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, count: int = 1, timeout: float = 15) -> list[str]:
        """Wait until ``pattern`` (a regex) matched ``count`` times; return the matches."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.findall(pattern, self.log())
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} x{count} not in the log:\n{self.log()}")
            time.sleep(0.02)

    def worker_pids(self) -> list[int]:
        return [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", self.log())]

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait(self, timeout: float) -> float:
        """Wait for the master to exit; return how long that took."""
        start = time.monotonic()
        self.process.wait(timeout)
        return time.monotonic() - start

    def stop(self) -> None:
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def assert_clean_log(self) -> None:
        """No line of the log matches UNCLEAN, except those the test expects
        (regexes in ``expected``)."""
        unclean = [
            line
            for line in self.log().splitlines()
            if UNCLEAN.search(line)
            and not any(re.search(allowed, line) for allowed in self.expected)
        ]
        assert not unclean, self.log()

    # -- clients --------------------------------------------------------------

    def connection(self, timeout: float = 20, tls: bool = False) -> http.client.HTTPConnection:
        if tls:
            context = ssl.create_default_context(cafile=str(CERT))
            return http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=timeout, context=context
            )
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def get(self, path: str, timeout: float = 20, tls: bool = False) -> tuple[int, bytes]:
        """One request on a new connection: ``(status, body)``."""
        connection = self.connection(timeout, tls)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def pid_of(body: bytes) -> int:
    """The worker pid in a ``pid=<n>`` body."""
    return int(body.decode().strip().removeprefix("pid="))


def raw_connection(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=20)


@pytest.fixture(params=WORKERS, ids=["Worker", "PyWSGIWorker"])
def worker_class(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def gunicorn(tmp_path: Path, worker_class: str) -> Iterator[Callable[..., Gunicorn]]:
    """``gunicorn(*args, files={name: text})`` starts a master with the
    worker class under test (``files`` written beside the app first); each
    one is stopped and its log checked at the end of the test."""
    started: list[Gunicorn] = []

    def start(*args: str, files: dict[str, str] | None = None) -> Gunicorn:
        folder = tmp_path / f"master{len(started)}"
        folder.mkdir()
        for name, text in (files or {}).items():
            (folder / name).write_text(text)
        master = Gunicorn(folder, worker_class, *args)
        started.append(master)
        return master

    yield start
    for master in started:
        master.stop()
    for master in started:
        master.assert_clean_log()
