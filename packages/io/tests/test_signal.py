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
from greenkit.timeout import Timeout

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
    # Python itself never calls it: the loop keeps SIGCHLD and a greenlet does.
    assert stdlib_signal.getsignal(stdlib_signal.SIGCHLD) is not handler
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


def test_wakeup_fd_receives_sigchld_with_a_greenkit_handler() -> None:
    calls: list[int] = []
    r, w = os.pipe()
    gos.make_nonblocking(r)
    gos.make_nonblocking(w)
    old_fd = stdlib_signal.set_wakeup_fd(w)
    try:
        gsignal.signal(stdlib_signal.SIGCHLD, lambda signum, frame: calls.append(signum))
        pid = gos.fork()
        if not pid:
            os._exit(0)
        with Timeout(10):
            assert gos.nb_read(r, 100) == bytes([stdlib_signal.SIGCHLD])
            while not calls:
                sleep(0.01)
        assert gos.waitpid(pid, 0) == (pid, 0)
        sleep(0.05)
        assert calls == [stdlib_signal.SIGCHLD]  # once: Python does not call it too
    finally:
        stdlib_signal.set_wakeup_fd(old_fd)
        gos.close(r)
        gos.close(w)


def test_sigchld_handler_set_after_subprocess_use_keeps_child_watchers() -> None:
    # The loop has SIGCHLD already when the handler is set: setting it must
    # leave the loop in front, so child watchers keep seeing exits.
    get_hub().loop.install_sigchld()
    calls: list[int] = []
    gsignal.signal(stdlib_signal.SIGCHLD, lambda signum, frame: calls.append(signum))
    pid = gos.fork()
    if not pid:
        os._exit(3)
    with Timeout(10):
        rpid, status = gos.waitpid(pid, 0)
        while not calls:
            sleep(0.01)
    assert rpid == pid and os.waitstatus_to_exitcode(status) == 3
    assert calls == [stdlib_signal.SIGCHLD]


def test_errors_of_the_sigchld_handler_are_reported_not_raised(error_stream: io.StringIO) -> None:
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
