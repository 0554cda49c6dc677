"""signal and child watchers, and what the default loop does to SIGCHLD."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Callable, Iterator

import pytest

from greenkit.loop import libev
from greenkit_testing import run_python

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")


def _fork() -> int:
    # Python 3.12+ warns about fork() in a process with threads (pytest's
    # faulthandler watchdog is one); the children here only exit.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _sigchld_caught() -> bool:
    """Whether SIGCHLD has a handler at the C level (Linux: /proc/self/status SigCgt)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGCHLD - 1)))
    raise AssertionError("no SigCgt line")


needs_proc_status = pytest.mark.skipif(
    not os.path.exists("/proc/self/status"), reason="needs /proc/self/status"
)


@pytest.fixture
def python_sigchld_handler() -> Iterator[list[int]]:
    """A Python-level SIGCHLD handler recording signals; SIG_DFL put back afterwards."""
    received: list[int] = []
    previous = signal.signal(signal.SIGCHLD, lambda signum, frame: received.append(signum))
    try:
        yield received
    finally:
        signal.signal(signal.SIGCHLD, previous)


def _child_exit_reaches_python_handler(received: list[int]) -> bool:
    """Fork a child that exits at once; True if the Python SIGCHLD handler ran."""
    del received[:]
    pid = _fork()
    if pid == 0:
        os._exit(0)
    _reap(pid)
    deadline = time.monotonic() + 5.0
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(received)


# -- signal watchers ---------------------------------------------------------------


def test_signal_watcher_sees_sigusr1(loop: libev.loop, guarded_run: Callable[..., bool]) -> None:
    seen: list[object] = []
    w = loop.signal(signal.SIGUSR1)
    assert w.signum == signal.SIGUSR1

    def cb(*args: object) -> None:
        seen.append(args)
        w.stop()

    w.start(cb, "sig")
    os.kill(os.getpid(), signal.SIGUSR1)
    assert guarded_run(loop)
    assert seen == [("sig",)]
    assert not w.active
    w.close()


def test_signal_watcher_on_the_default_loop(
    default_loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    seen: list[int] = []
    w = default_loop.signal(signal.SIGUSR2)

    def cb() -> None:
        seen.append(1)
        w.stop()

    w.start(cb)
    os.kill(os.getpid(), signal.SIGUSR2)
    assert guarded_run(default_loop)
    assert seen == [1]
    w.close()


def test_signal_can_be_watched_twice_on_one_loop(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    seen: list[str] = []
    w1 = loop.signal(signal.SIGUSR1)
    w2 = loop.signal(signal.SIGUSR1)

    def cb(name: str, w: libev.signal) -> None:
        seen.append(name)
        w.stop()

    w1.start(cb, "one", w1)
    w2.start(cb, "two", w2)
    os.kill(os.getpid(), signal.SIGUSR1)
    assert guarded_run(loop)
    assert sorted(seen) == ["one", "two"]
    w1.close()
    w2.close()


def test_signal_belongs_to_one_loop_at_a_time(loop: libev.loop) -> None:
    other = libev.loop(default=False)
    try:
        w1 = loop.signal(signal.SIGUSR1)
        w1.start(lambda: None)
        w2 = other.signal(signal.SIGUSR1)
        with pytest.raises(ValueError):
            w2.start(lambda: None)
        assert not w2.active
        w1.stop()
        w2.start(lambda: None)  # free again
        assert w2.active
        w2.close()
        w1.close()
    finally:
        other.destroy()


@pytest.mark.parametrize("signum", [0, -1, 1000, signal.NSIG])
def test_bad_signal_numbers(loop: libev.loop, signum: int) -> None:
    with pytest.raises(ValueError):
        loop.signal(signum)


# -- child watchers ---------------------------------------------------------------


def test_child_watcher_sees_exit_status(
    default_loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    r, w = os.pipe()
    pid = _fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.read(r, 1)  # wait until the parent watches
        finally:
            os._exit(3)
    os.close(r)
    seen: list[tuple[int, int]] = []
    try:
        watcher = default_loop.child(pid)
        assert watcher.pid == pid

        def cb() -> None:
            seen.append((watcher.rpid, watcher.rstatus))
            watcher.stop()

        watcher.start(cb)
        assert watcher.active
        os.write(w, b"x")
        os.close(w)
        w = -1
        assert guarded_run(default_loop, 30)
    finally:
        if w >= 0:
            os.close(w)
        if not seen:
            _reap(pid)
    assert len(seen) == 1
    rpid, rstatus = seen[0]
    assert rpid == pid
    assert os.waitstatus_to_exitcode(rstatus) == 3
    assert watcher.rstatus == rstatus
    # libev reaped the child already.
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    watcher.close()


def test_child_watcher_for_any_child(
    default_loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    default_loop.install_sigchld()
    seen: list[tuple[int, int]] = []
    watcher = default_loop.child(0)

    def cb() -> None:
        seen.append((watcher.rpid, watcher.rstatus))
        watcher.stop()

    watcher.start(cb)
    pid = _fork()
    if pid == 0:  # pragma: no cover - child
        os._exit(7)
    try:
        assert guarded_run(default_loop, 30)
    finally:
        if not seen:
            _reap(pid)
    assert seen and seen[0][0] == pid
    assert os.waitstatus_to_exitcode(seen[0][1]) == 7
    watcher.close()


def test_child_rpid_rstatus_are_settable(default_loop: libev.loop) -> None:
    watcher = default_loop.child(12345)
    watcher.rpid = 99
    watcher.rstatus = 3 << 8
    assert watcher.rpid == 99
    assert os.waitstatus_to_exitcode(watcher.rstatus) == 3
    assert "pid=12345" in repr(watcher)
    watcher.close()


def test_child_watcher_needs_the_default_loop(loop: libev.loop) -> None:
    with pytest.raises(TypeError):
        loop.child(os.getpid())


# -- SIGCHLD disposition ------------------------------------------------------------


@needs_proc_status
def test_default_loop_leaves_default_sigchld_disposition() -> None:
    assert signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL
    assert not _sigchld_caught()
    lp = libev.loop(default=True)
    try:
        # Creating the default loop does not grab SIGCHLD ...
        assert not _sigchld_caught()
        assert signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL
        # ... child watchers do, and reset_sigchld() gives it back.
        w = lp.child(0)
        w.start(lambda: None)
        assert _sigchld_caught()
        w.stop()
        w.close()
        lp.reset_sigchld()
        assert not _sigchld_caught()
        lp.install_sigchld()
        assert _sigchld_caught()
    finally:
        lp.destroy()
    assert not _sigchld_caught()
    assert signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL


def test_python_sigchld_handler_survives_default_loop_creation(
    python_sigchld_handler: list[int],
) -> None:
    lp = libev.loop(default=True)
    try:
        assert _child_exit_reaches_python_handler(python_sigchld_handler)
    finally:
        lp.destroy()


def test_reset_sigchld_restores_python_handler(python_sigchld_handler: list[int]) -> None:
    handler = signal.getsignal(signal.SIGCHLD)
    lp = libev.loop(default=True)
    try:
        w = lp.child(0)
        w.start(lambda: None)
        w.stop()
        w.close()
        lp.reset_sigchld()
        assert signal.getsignal(signal.SIGCHLD) is handler
        assert _child_exit_reaches_python_handler(python_sigchld_handler)
    finally:
        lp.destroy()


@pytest.mark.parametrize("with_child_watcher", [False, True])
def test_destroying_default_loop_keeps_python_sigchld_handler(
    python_sigchld_handler: list[int], with_child_watcher: bool
) -> None:
    lp = libev.loop(default=True)
    if with_child_watcher:
        w = lp.child(0)
        w.start(lambda: None)
        w.close()
    lp.destroy()
    assert _child_exit_reaches_python_handler(python_sigchld_handler)


def _watch_any_child_exit(lp: libev.loop, guarded_run: Callable[..., bool]) -> None:
    """Fork a child that exits at once; run ``lp`` until a child watcher saw it."""
    seen: list[int] = []
    watcher = lp.child(0)

    def cb() -> None:
        seen.append(watcher.rpid)
        watcher.stop()

    watcher.start(cb)
    pid = _fork()
    if pid == 0:  # pragma: no cover - child
        os._exit(0)
    try:
        assert guarded_run(lp)
    finally:
        watcher.close()
        if not seen:
            _reap(pid)
    assert seen == [pid]


def test_python_sigchld_handler_still_runs_while_libev_has_sigchld(
    python_sigchld_handler: list[int], guarded_run: Callable[..., bool]
) -> None:
    lp = libev.loop(default=True)
    try:
        _watch_any_child_exit(lp, guarded_run)
        deadline = time.monotonic() + 5.0
        while not python_sigchld_handler and time.monotonic() < deadline:
            time.sleep(0.01)
        assert python_sigchld_handler and set(python_sigchld_handler) == {signal.SIGCHLD}
    finally:
        lp.destroy()


def test_wakeup_fd_sees_sigchld_while_libev_has_it(
    python_sigchld_handler: list[int], guarded_run: Callable[..., bool]
) -> None:
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    old_fd = signal.set_wakeup_fd(w)
    lp = libev.loop(default=True)
    try:
        _watch_any_child_exit(lp, guarded_run)
        assert os.read(r, 100) == bytes([signal.SIGCHLD])
    finally:
        lp.destroy()
        signal.set_wakeup_fd(old_fd)
        os.close(r)
        os.close(w)


def test_install_sigchld_again_after_signal_signal_replaced_the_handler(
    python_sigchld_handler: list[int], guarded_run: Callable[..., bool]
) -> None:
    lp = libev.loop(default=True)
    try:
        lp.install_sigchld()
        # Someone takes SIGCHLD away from libev; installing again takes it
        # back, in front of their handler.
        later: list[int] = []
        signal.signal(signal.SIGCHLD, lambda signum, frame: later.append(signum))
        lp.install_sigchld()
        _watch_any_child_exit(lp, guarded_run)
        deadline = time.monotonic() + 5.0
        while not later and time.monotonic() < deadline:
            time.sleep(0.01)
        assert later
        # reset_sigchld() puts back what it found at the last install.
        lp.reset_sigchld()
        assert _child_exit_reaches_python_handler(later)
    finally:
        lp.destroy()


@needs_proc_status
def test_reset_sigchld_keeps_a_disposition_set_after_install(
    python_sigchld_handler: list[int],
) -> None:
    lp = libev.loop(default=True)
    try:
        lp.install_sigchld()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        lp.reset_sigchld()  # must not put back the handler install found
        assert not _sigchld_caught()
    finally:
        lp.destroy()


def _subprocess_exit_code() -> int:
    return subprocess.run([sys.executable, "-c", "raise SystemExit(5)"], check=False).returncode


def test_subprocess_works_while_default_loop_exists(default_loop: libev.loop) -> None:
    assert _subprocess_exit_code() == 5
    default_loop.run(nowait=True)
    assert _subprocess_exit_code() == 5


def test_subprocess_works_after_reset_sigchld(default_loop: libev.loop) -> None:
    w = default_loop.child(0)
    w.start(lambda: None)
    w.close()
    default_loop.reset_sigchld()
    assert _subprocess_exit_code() == 5


def test_subprocess_works_after_default_loop_destroyed() -> None:
    lp = libev.loop(default=True)
    w = lp.child(0)
    w.start(lambda: None)
    lp.destroy()
    assert _subprocess_exit_code() == 5


def test_sigint_while_blocked_in_default_loop_raises_keyboard_interrupt() -> None:
    # The default loop lets Python run its signal handlers while libev blocks;
    # the KeyboardInterrupt that SIGINT's handler raises must come out of run()
    # (and not be printed and swallowed), so Ctrl-C stops a program.
    script = textwrap.dedent("""
        import os, signal, threading, time
        # Python's own handler, even if the parent ignores SIGINT (as a
        # background job of a non-interactive shell does).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from greenkit.loop import libev
        lp = libev.loop(default=True)
        t = lp.timer(5)
        t.start(lambda: print("timer fired"))
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            lp.run()
            print("run returned")
        except KeyboardInterrupt:
            print("KeyboardInterrupt from run")
    """)
    result = run_python(script, timeout=60)
    assert result.stdout.strip() == "KeyboardInterrupt from run", (result.stdout, result.stderr)
