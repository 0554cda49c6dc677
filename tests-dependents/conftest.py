"""tests-dependents: gevent's ecosystem running on greenkit through the alias.

Run by ``nox -s dependents`` with ``GREENKIT_AS_GEVENT=1`` in the
environment, so every child process imports greenkit when it asks for
gevent.  Each scenario runs the dependent in processes of its own (every
one in its own process group, killed as a group if the test fails or
runs out of time), talks to it over 127.0.0.1 only, and checks three
things: the work overlapped (N tasks that each sleep S seconds finish in
well under N * S), the processes shut down cleanly, and their logs hold no
traceback.

Helpers here: :func:`free_port`, :func:`wait_for_port`, :func:`run`,
:func:`assert_clean_log`, the ``spawn`` fixture (:class:`Service`) and the
session-wide ``redis_url`` fixture (a Debian ``redis-server`` on a free
loopback port, stopped by pid).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
#: The scripts and modules the scenarios run (apps, clients, servers).
APPS = HERE / "apps"
#: What a scenario script prints, followed by JSON, to hand its result over.
RESULT_PREFIX = "RESULT "

#: Lines that must never appear in a dependent's output.
_UNCLEAN = re.compile(
    r"Traceback \(most recent call last\)|Exception ignored|"
    r"> failed with |\bCRITICAL\b|\[ERROR\]|: ERROR/|ERROR:",
)


#: The environment variable that switches the gevent alias on.
ALIAS_ENV = "GREENKIT_AS_GEVENT"


def child_env(alias: bool = True, **extra: str) -> dict[str, str]:
    """The environment for a child: ours (the session switched the alias on;
    ``alias=False`` leaves it off), ``APPS`` on ``PYTHONPATH``, unbuffered
    output, plus ``extra``."""
    env = dict(os.environ)
    if not alias:
        env.pop(ALIAS_ENV, None)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(APPS) + (os.pathsep + path if path else "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def bin_path(name: str) -> str:
    """A console script of the venv the tests run in (gunicorn, celery, locust)."""
    found = Path(sys.executable).parent / name
    if not found.exists():
        pytest.fail(f"{name} is not installed beside {sys.executable}")
    return str(found)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, deadline: float = 30.0, service: Service | None = None) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if service is not None and service.proc.poll() is not None:
            pytest.fail(
                f"{service.name} exited with {service.proc.returncode} before "
                f"listening:\n{service.output()}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    detail = f":\n{service.output()}" if service is not None else ""
    pytest.fail(f"nothing listens on 127.0.0.1:{port} after {deadline}s{detail}")


def assert_clean_log(text: str, what: str = "output") -> None:
    """No traceback, ignored exception, greenlet failure or error line in ``text``."""
    bad = [line for line in text.splitlines() if _UNCLEAN.search(line)]
    assert not bad, f"{what} is not clean ({bad[0]!r}):\n{text}"


def parse_result(stdout: str) -> Any:
    """The JSON a scenario script printed after :data:`RESULT_PREFIX`."""
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise AssertionError(f"no {RESULT_PREFIX.strip()} line in:\n{stdout}")


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run(
    argv: Sequence[str], timeout: float, env: dict[str, str] | None = None, clean: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion in a process group of its own (killed as a
    group on timeout); fail unless it exits 0 (and, if ``clean``, prints no
    traceback)."""
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env or child_env(),
        cwd=APPS,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out = proc.stdout.read() if proc.stdout else ""
        pytest.fail(f"{argv[:3]} did not finish within {timeout}s:\n{out}")
    finally:
        if proc.stdout:
            proc.stdout.close()
    assert proc.returncode == 0, f"{argv[:3]} exited with {proc.returncode}:\n{out}"
    if clean:
        assert_clean_log(out, f"{argv[:3]}")
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, "")


class Service:
    """A long-running child (server, worker) in its own process group,
    its stdout and stderr going to a log file."""

    def __init__(
        self, name: str, argv: Sequence[str], log: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.log = log
        self._log_file = open(log, "wb")  # noqa: SIM115 - closed by stop()/kill()
        self.proc = subprocess.Popen(
            list(argv),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env or child_env(),
            cwd=APPS,
            start_new_session=True,
        )

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log.read_text(errors="replace")

    def wait_for_output(self, needle: str, deadline: float = 30.0) -> None:
        """Wait until ``needle`` appears in the log (fail if the process ends first)."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if needle in self.output():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        pytest.fail(
            f"{self.name} did not print {needle!r} within {deadline}s "
            f"(exit status {self.proc.poll()}):\n{self.output()}"
        )

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit by itself; fail (killing its group) if it does not."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"{self.name} did not exit within {timeout}s:\n{self.output()}")
        self._log_file.close()
        return code

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig`` to the process (not its group: a master stops its own
        children) and wait for it to exit; returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def kill(self) -> None:
        """SIGKILL the whole process group (after a failure)."""
        if self.proc.poll() is None:
            _kill_group(self.proc)
        else:
            # Children of an exited leader may still run.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._log_file.close()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Any]:
    """``spawn(name, argv, env=None)`` starts a :class:`Service` logging to
    ``tmp_path/<name>.log``; whatever is still running at teardown is killed."""
    started: list[Service] = []

    def start(name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> Service:
        service = Service(name, argv, tmp_path / f"{name}.log", env)
        started.append(service)
        return service

    yield start
    for service in started:
        service.kill()


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of its own on a free 127.0.0.1 port (no persistence),
    stopped by pid at the end of the session."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server not found: apt-get install -y redis-server")
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    with open(folder / "redis.log", "wb") as log:
        proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        end = time.monotonic() + 20
        while not _redis_ping(port):
            if proc.poll() is not None or time.monotonic() > end:
                pytest.fail(f"redis-server did not start:\n{(folder / 'redis.log').read_text()}")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
