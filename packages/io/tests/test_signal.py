"""greenkit.signal: SIGCHLD handlers that keep child watchers working."""

from __future__ import annotations

import io
import os
import signal as stdlib_signal
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

import greenkit.os as gos
import greenkit.signal as gsignal
from greenkit.hub import get_hub, sleep

pytestmark = pytest.mark.fd_leak_check


@pytest.fixture(autouse=True)
def _restore_sigchld() -> Iterator[None]:
    assert gsignal.getsignal(stdlib_signal.SIGCHLD) == stdlib_signal.SIG_DFL
    yield
    gsignal.signal(stdlib_signal.SIGCHLD, stdlib_signal.SIG_DFL)
    get_hub().loop.reset_sigchld()


def test_module_surface() -> None:
    assert gsignal.__implements__ == ["signal", "getsignal"]
    assert gsignal.__all__ == ["signal", "getsignal"]
    assert gsignal.SIGALRM == stdlib_signal.SIGALRM
    assert gsignal.alarm is stdlib_signal.alarm
    assert gsignal.Signals is stdlib_signal.Signals


def test_other_signals_pass_through() -> None:
    def handler(*_args: Any) -> None:
        pass

    old = gsignal.signal(stdlib_signal.SIGUSR1, handler)
    try:
        assert stdlib_signal.getsignal(stdlib_signal.SIGUSR1) is handler
        assert gsignal.getsignal(stdlib_signal.SIGUSR1) is handler
    finally:
        gsignal.signal(stdlib_signal.SIGUSR1, old)


def test_bad_sigchld_handler_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="callable"):
        gsignal.signal(stdlib_signal.SIGCHLD, 42)


def test_sigchld_handler_runs_in_a_greenlet_and_waitpid_still_works() -> None:
    calls: list[tuple[int, Any]] = []

    def handler(signum: int, frame: Any) -> None:
        sleep(0)  # a greenlet, not the hub: it may block
        calls.append((signum, frame))

    assert gsignal.signal(stdlib_signal.SIGCHLD, handler) == stdlib_signal.SIG_DFL
    assert gsignal.getsignal(stdlib_signal.SIGCHLD) is handler
    # The real disposition is untouched: the loop keeps SIGCHLD.
    assert stdlib_signal.getsignal(stdlib_signal.SIGCHLD) == stdlib_signal.SIG_DFL
    pid = gos.fork()
    if not pid:
        os._exit(0)
    while not calls:
        sleep(0.01)
    assert calls == [(stdlib_signal.SIGCHLD, None)]
    assert gos.waitpid(-1, os.WNOHANG) == (pid, 0)
    with pytest.raises(ChildProcessError):
        gos.waitpid(-1, os.WNOHANG)
    assert gsignal.signal(stdlib_signal.SIGCHLD, stdlib_signal.SIG_DFL) is handler
    assert gsignal.getsignal(stdlib_signal.SIGCHLD) == stdlib_signal.SIG_DFL


def test_errors_of_the_sigchld_handler_are_reported_not_raised(
        error_stream: io.StringIO) -> None:
    done: list[bool] = []

    def handler(*_args: Any) -> None:
        done.append(True)
        raise TypeError("printed, not raised")

    gsignal.signal(stdlib_signal.SIGCHLD, handler)
    pid = gos.fork()
    if not pid:
        os._exit(0)
    while not done:
        sleep(0.01)
    sleep(0.01)
    assert gos.waitpid(pid, 0) == (pid, 0)
    assert "TypeError: printed, not raised" in error_stream.getvalue()


def test_sig_dfl_gives_children_back_to_plain_waitpid() -> None:
    gsignal.signal(stdlib_signal.SIGCHLD, lambda *_args: None)
    gsignal.signal(stdlib_signal.SIGCHLD, stdlib_signal.SIG_DFL)
    pid = os.fork()
    if not pid:
        os._exit(6)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 6


def test_sigchld_without_child_watchers_is_the_plain_signal() -> None:
    def handler(*_args: Any) -> None:
        pass

    fake_hub = mock.Mock()
    fake_hub.loop.default = False
    with mock.patch.object(gsignal, "get_hub", return_value=fake_hub):
        gsignal.signal(stdlib_signal.SIGCHLD, handler)
    try:
        assert stdlib_signal.getsignal(stdlib_signal.SIGCHLD) is handler
        assert gsignal.getsignal(stdlib_signal.SIGCHLD) is handler
    finally:
        stdlib_signal.signal(stdlib_signal.SIGCHLD, stdlib_signal.SIG_DFL)
