"""greenkit.os: non-blocking and thread-pool I/O, fork and cooperative waitpid."""

from __future__ import annotations

import errno
import importlib.util
import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest

import greenkit.os as gos
from greenkit.hub import get_hub, sleep, spawn_raw

pytestmark = pytest.mark.fd_leak_check


@pytest.fixture(autouse=True)
def _give_sigchld_back() -> Iterator[None]:
    """Child watchers route SIGCHLD to libev; hand it back after each test."""
    yield
    get_hub().loop.reset_sigchld()


def in_child(pid: int, body: Callable[[], int]) -> int:
    """In the child (``pid == 0``) run ``body`` and exit with its result,
    never returning into pytest; in the parent return ``pid``."""
    if pid:
        return pid
    code = 99
    try:
        code = body()
    finally:
        os._exit(code)


class InlinePool:
    """A stand-in thread pool that runs calls in the calling thread."""

    def apply(self, func: Callable[..., Any], args: Any = (), kwargs: Any = None) -> Any:
        return func(*args, **(kwargs or {}))


def test_module_surface() -> None:
    assert set(gos.__implements__) == {"fork", "forkpty", "waitpid", "posix_spawn", "posix_spawnp"}
    assert gos.__all__ == gos.__implements__ + gos.__extensions__
    for name in gos.__extensions__:
        assert not hasattr(os, name)
    assert gos.getpid is os.getpid and gos.WNOHANG == os.WNOHANG
    assert gos.fork is not os.fork and gos.waitpid is not os.waitpid


def test_make_nonblocking(pipe: tuple[int, int]) -> None:
    r, _w = pipe
    assert gos.make_nonblocking(r) is True
    assert not os.get_blocking(r)
    assert gos.make_nonblocking(r) is False


def test_nb_read_and_write_cooperate_through_a_full_pipe(pipe: tuple[int, int]) -> None:
    r, w = pipe
    gos.make_nonblocking(r)
    gos.make_nonblocking(w)
    total = 1 << 20
    received = bytearray()

    def consume() -> None:
        while len(received) < total:
            received.extend(gos.nb_read(r, 65536))

    spawn_raw(consume)
    sent = 0
    block = memoryview(b"x" * 65536)
    while sent < total:
        sent += gos.nb_write(w, block[: total - sent])
    while len(received) < total:
        sleep(0.001)
    assert len(received) == total


@pytest.mark.parametrize(
    ("func", "patched", "events"), [(gos.nb_read, "_read", 1), (gos.nb_write, "_write", 2)]
)
def test_nb_io_retries_eintr_and_closes_its_watcher(func: Any, patched: str, events: int) -> None:
    interrupted = OSError(errno.EINTR, "Interrupted")
    with (
        mock.patch.object(gos, patched, side_effect=[interrupted, 42]),
        mock.patch.object(gos, "get_hub") as get_hub_mock,
    ):
        assert func(100, 1) == 42
    get_hub_mock.assert_called_once_with()
    io = get_hub_mock.return_value.loop.io
    io.assert_called_once_with(100, events)
    io.return_value.close.assert_called_once_with()
    with (
        mock.patch.object(gos, patched, side_effect=[interrupted, ValueError()]),
        mock.patch.object(gos, "get_hub") as get_hub_mock,
    ):
        with pytest.raises(ValueError):
            func(100, 1)
    get_hub_mock.return_value.loop.io.return_value.close.assert_called_once_with()


def test_tp_read_and_write_use_the_hub_threadpool(pipe: tuple[int, int]) -> None:
    r, w = pipe
    hub = get_hub()
    old = hub._threadpool
    hub.threadpool = InlinePool()
    try:
        assert gos.tp_write(w, b"abc") == 3
        assert gos.tp_read(r, 10) == b"abc"
    finally:
        hub.threadpool = old


@pytest.mark.skipif(
    importlib.util.find_spec("greenkit.threadpool") is None,
    reason="needs greenkit-threads (greenkit.threadpool)",
)
def test_tp_read_waits_in_a_thread_while_greenlets_run(pipe: tuple[int, int]) -> None:
    r, w = pipe
    spawn_raw(lambda: (sleep(0.02), gos.tp_write(w, b"late")))
    assert gos.tp_read(r, 10) == b"late"  # blocking read in a worker; the writer ran


def test_close_without_watchers_closes_at_once(pipe: tuple[int, int]) -> None:
    r, _w = pipe
    fd = os.dup(r)
    gos.close(fd)
    with pytest.raises(OSError):
        os.fstat(fd)


def test_fork_reinits_the_hub_and_waitpid_reports_the_status() -> None:
    def child() -> int:
        sleep(0.01)  # the hub works in the child
        return 7

    pid = in_child(gos.fork(), child)
    assert gos.waitpid(pid, 0) == (pid, 7 << 8)
    with pytest.raises(ChildProcessError):
        gos.waitpid(pid, 0)


def test_the_child_forgets_the_parents_children() -> None:
    first = in_child(gos.fork(), lambda: (sleep(0.2), 0)[1])
    assert first in gos._watched_children
    second = in_child(gos.fork(), lambda: 0 if gos._watched_children == {} else 1)
    assert gos.waitpid(second, 0) == (second, 0)
    assert gos.waitpid(first, 0) == (first, 0)


def test_waitpid_wnohang_then_blocking_lets_others_run() -> None:
    pid = in_child(gos.fork(), lambda: (sleep(0.2), 3)[1])
    assert gos.waitpid(pid, os.WNOHANG) == (0, 0)
    ticks: list[int] = []

    def ticker() -> None:
        for i in range(3):
            ticks.append(i)
            sleep(0.01)

    spawn_raw(ticker)
    rpid, status = gos.waitpid(pid, 0)
    assert (rpid, os.waitstatus_to_exitcode(status)) == (pid, 3)
    assert ticks == [0, 1, 2]


def test_waitpid_any_child_then_echild() -> None:
    pid = in_child(gos.fork(), lambda: 0)
    rpid, status = gos.waitpid(-1, 0)
    assert (rpid, status) == (pid, 0)
    with pytest.raises(OSError) as info:
        gos.waitpid(-1, os.WNOHANG)
    assert info.value.errno == errno.ECHILD


def test_waitpid_any_returns_a_finished_watched_child_first() -> None:
    pid = in_child(gos.fork(), lambda: 5)
    while not isinstance(gos._watched_children.get(pid), tuple):
        sleep(0.01)
    assert gos.waitpid(-1, os.WNOHANG) == (pid, 5 << 8)


def test_waitpid_bad_pids() -> None:
    with pytest.raises(OSError):
        gos.waitpid(-2, 0)
    with pytest.raises(OSError):
        gos.waitpid(1, 0)


def test_waitpid_on_a_child_forked_without_watching() -> None:
    pid = in_child(gos.fork_gevent(), lambda: (sleep(0.05), 4)[1])
    ran: list[bool] = []
    spawn_raw(ran.append, True)
    rpid, status = gos.waitpid(pid, 0)
    assert (rpid, os.waitstatus_to_exitcode(status), ran) == (pid, 4, [True])


def test_fork_and_watch_calls_back_with_the_watcher() -> None:
    seen: list[tuple[int, int]] = []
    pid = in_child(gos.fork_and_watch(lambda w: seen.append((w.pid, w.rstatus))), lambda: 2)
    while not seen:
        sleep(0.01)
    assert seen == [(pid, 2 << 8)]
    assert gos.waitpid(pid, os.WNOHANG) == (pid, 2 << 8)


def test_reap_children_forgets_old_statuses() -> None:
    pid = in_child(gos.fork(), lambda: 0)
    while not isinstance(gos._watched_children.get(pid), tuple):
        sleep(0.01)
    gos._reap_children(0)
    assert pid not in gos._watched_children


def test_nowaitpid_environment_means_fork_gevent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENKIT_NOWAITPID", "1")
    pid = in_child(gos.fork(), lambda: 0)
    assert pid not in gos._watched_children
    assert gos.waitpid(pid, 0) == (pid, 0)


def test_forkpty_and_watch() -> None:
    def child() -> int:
        os.write(1, b"from child\n")
        return 0

    pid, master = gos.forkpty()
    in_child(pid, child)
    try:
        data = b""
        while b"from child" not in data:
            try:
                gos.make_nonblocking(master)
                data += gos.nb_read(master, 100)
            except OSError:  # EIO: the child is gone
                break
        assert b"from child" in data
        assert gos.waitpid(pid, 0) == (pid, 0)
    finally:
        os.close(master)


@pytest.mark.skipif(shutil.which("true") is None, reason="needs /bin/true")
def test_posix_spawn_is_watched() -> None:
    true = shutil.which("true")
    assert true is not None
    pid = gos.posix_spawn(true, [true], dict(os.environ))
    assert pid in gos._watched_children
    assert gos.waitpid(pid, 0) == (pid, 0)
    pid = gos.posix_spawnp("true", ["true"], dict(os.environ))
    assert gos.waitpid(pid, 0) == (pid, 0)


def test_without_child_watchers_fork_is_unwatched_and_waitpid_polls() -> None:
    """Only the default loop has child watchers: elsewhere children are polled."""
    fake_hub = mock.Mock()
    fake_hub.loop.default = False
    with mock.patch.object(gos, "get_hub", return_value=fake_hub):
        pid = in_child(gos.fork(), lambda: (sleep(0.05), 9)[1])
        assert pid not in gos._watched_children
        ran: list[bool] = []
        spawn_raw(ran.append, True)
        rpid, status = gos.waitpid(pid, 0)
    assert (rpid, os.waitstatus_to_exitcode(status), ran) == (pid, 9, [True])
    fake_hub.loop.child.assert_not_called()


def test_close_while_a_greenlet_waits_in_nb_read(pipe: tuple[int, int]) -> None:
    r, w = pipe
    fd = os.dup(r)
    gos.make_nonblocking(fd)
    results: list[bytes] = []
    spawn_raw(lambda: results.append(gos.nb_read(fd, 10)))
    sleep(0.01)
    gos.close(fd)
    while not results:
        sleep(0.001)
    assert results == [b""]  # woken at end of file, not left hanging
    sleep(0.01)
    with pytest.raises(OSError):
        os.fstat(fd)
    os.write(w, b"x")  # the pipe itself is untouched
    assert os.read(r, 1) == b"x"


def test_close_of_a_bad_descriptor_raises(pipe: tuple[int, int]) -> None:
    r, _w = pipe
    fd = os.dup(r)
    os.close(fd)
    with pytest.raises(OSError) as info:
        gos.close(fd)
    assert info.value.errno == errno.EBADF
