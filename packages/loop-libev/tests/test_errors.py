"""Bad input, closed watchers, destroyed loops, and errors raised by callbacks."""

from __future__ import annotations

import errno
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import pytest

from greenkit.loop import libev
from greenkit_testing import run_python

SockPair = tuple[socket.socket, socket.socket]


# -- invalid file descriptors --------------------------------------------------------


def test_closed_fd_is_ebadf(loop: libev.loop, closed_fd: int) -> None:
    with pytest.raises(OSError) as info:
        loop.io(closed_fd, libev.READ)
    assert info.value.errno == errno.EBADF


@pytest.mark.parametrize("fd", [-1, -100])
def test_negative_fd_is_value_error(loop: libev.loop, fd: int) -> None:
    with pytest.raises(ValueError):
        loop.io(fd, libev.READ)


@pytest.mark.parametrize("fd", ["3", 3.0, None, object(), b"1"])
def test_non_int_fd_is_type_error(loop: libev.loop, fd: object) -> None:
    with pytest.raises(TypeError):
        loop.io(fd, libev.READ)  # type: ignore[arg-type]


def test_setting_a_bad_fd(loop: libev.loop, sockpair: SockPair, closed_fd: int) -> None:
    a, _b = sockpair
    w = loop.io(a.fileno(), libev.READ)
    with pytest.raises(ValueError):
        w.fd = -1
    with pytest.raises(OSError) as info:
        w.fd = closed_fd
    assert info.value.errno == errno.EBADF
    with pytest.raises(TypeError):
        w.fd = "1"  # type: ignore[assignment]
    assert w.fd == a.fileno()
    w.close()


# -- event masks ------------------------------------------------------------------------


@pytest.mark.parametrize("events", [0, 4, 0x100, libev.READ | 0x100, -1, 1 << 20])
def test_bad_event_mask_is_value_error(loop: libev.loop, sockpair: SockPair, events: int) -> None:
    a, _b = sockpair
    with pytest.raises(ValueError):
        loop.io(a.fileno(), events)
    w = loop.io(a.fileno(), libev.READ)
    with pytest.raises(ValueError):
        w.events = events
    assert w.events == libev.READ
    w.close()


@pytest.mark.parametrize("events", ["1", 1.0, None])
def test_non_int_event_mask_is_type_error(
    loop: libev.loop, sockpair: SockPair, events: object
) -> None:
    a, _b = sockpair
    with pytest.raises(TypeError):
        loop.io(a.fileno(), events)  # type: ignore[arg-type]


# -- non-callable callbacks --------------------------------------------------------------


def _watchers(loop: libev.loop, fd: int) -> list[libev.watcher]:
    return [
        loop.io(fd, libev.READ),
        loop.timer(1),
        loop.idle(),
        loop.prepare(),
        loop.check(),
        loop.fork(),
        loop.async_(),
    ]


@pytest.mark.parametrize("bad", [None, 5, "callable?", (print,)])
def test_non_callable_to_start_and_feed(loop: libev.loop, sockpair: SockPair, bad: object) -> None:
    for w in _watchers(loop, sockpair[0].fileno()):
        with pytest.raises(TypeError):
            w.start(bad)  # type: ignore[arg-type]
        assert not w.active
        assert w.callback is None
        with pytest.raises(TypeError):
            w.feed(libev.READ, bad)  # type: ignore[arg-type]
        assert not w.pending
        assert w not in loop._keepaliveset
        w.close()


@pytest.mark.parametrize("bad", [None, 5])
def test_non_callable_to_again(loop: libev.loop, bad: object) -> None:
    t = loop.timer(1, 1)
    with pytest.raises(TypeError):
        t.again(bad)  # type: ignore[arg-type]
    assert not t.active
    t.close()


@pytest.mark.parametrize("bad", [None, 5, "x"])
def test_non_callable_to_run_callback(loop: libev.loop, bad: object) -> None:
    with pytest.raises(TypeError):
        loop.run_callback(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        loop.run_callback_threadsafe(bad)  # type: ignore[arg-type]
    assert loop.callback_count == 0


# -- timers ----------------------------------------------------------------------------


@pytest.mark.parametrize("repeat", [-1, -0.001, -1e9])
def test_negative_repeat_is_value_error(loop: libev.loop, repeat: float) -> None:
    with pytest.raises(ValueError):
        loop.timer(1, repeat)


@pytest.mark.parametrize("args", [(float("nan"),), (1.0, float("nan"))])
def test_nan_timer_is_value_error(loop: libev.loop, args: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        loop.timer(*args)


@pytest.mark.parametrize("after", [None, object(), [1]])
def test_non_number_timer_is_rejected(loop: libev.loop, after: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        loop.timer(after)  # type: ignore[arg-type]


# -- priority -------------------------------------------------------------------------


def test_priority_errors(loop: libev.loop) -> None:
    with pytest.raises(ValueError):
        loop.timer(1, priority=libev.MAXPRI + 1)
    with pytest.raises(ValueError):
        loop.idle(priority=libev.MINPRI - 1)
    t = loop.timer(1)
    with pytest.raises(ValueError):
        t.priority = 3
    t.start(lambda: None)
    with pytest.raises(AttributeError):
        t.priority = 1
    t.stop()
    fed = loop.idle()
    fed.feed(libev.READ, lambda: None)
    with pytest.raises(AttributeError):  # pending counts as in use
        fed.priority = 1
    fed.close()
    t.close()


# -- closed watchers ----------------------------------------------------------------------


def test_closed_watcher_use_is_value_error(loop: libev.loop, sockpair: SockPair) -> None:
    for w in _watchers(loop, sockpair[0].fileno()):
        w.close()
        with pytest.raises(ValueError):
            w.start(lambda: None)
        with pytest.raises(ValueError):
            w.feed(libev.READ, lambda: None)
        with pytest.raises(ValueError):
            w.priority = 1
        with pytest.raises(ValueError):
            _ = w.priority
        assert not w.active
        assert not w.pending
        assert w not in loop._keepaliveset
        w.stop()
        w.close()


def test_closed_timer_again_remaining_at(loop: libev.loop) -> None:
    t = loop.timer(1, 1)
    t.close()
    with pytest.raises(ValueError):
        t.again(lambda: None)
    with pytest.raises(ValueError):
        t.remaining()
    with pytest.raises(ValueError):
        _ = t.at


def test_closed_async_send(loop: libev.loop) -> None:
    a = loop.async_()
    a.close()
    with pytest.raises(ValueError):
        a.send()
    assert not a.pending


def test_closed_io_attributes(loop: libev.loop, sockpair: SockPair) -> None:
    w = loop.io(sockpair[0].fileno(), libev.READ)
    w.close()
    with pytest.raises(ValueError):
        w.fd = sockpair[1].fileno()
    with pytest.raises(ValueError):
        w.events = libev.WRITE


def test_closed_watcher_in_its_own_callback(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    log: list[int] = []
    t = loop.timer(0.001, 0.001)

    def cb() -> None:
        log.append(1)
        t.close()

    t.start(cb)
    assert guarded_run(loop)
    assert log == [1]
    assert t.closed


# -- destroyed loops -----------------------------------------------------------------------


def _destroyed() -> libev.loop:
    lp = libev.loop(default=False)
    lp.destroy()
    return lp


LOOP_USES: dict[str, Callable[[libev.loop], object]] = {
    "run": lambda lp: lp.run(),
    "run_nowait": lambda lp: lp.run(nowait=True),
    "run_once": lambda lp: lp.run(once=True),
    "timer": lambda lp: lp.timer(1),
    "io": lambda lp: lp.io(0, libev.READ),
    "idle": lambda lp: lp.idle(),
    "prepare": lambda lp: lp.prepare(),
    "check": lambda lp: lp.check(),
    "fork": lambda lp: lp.fork(),
    "async_": lambda lp: lp.async_(),
    "signal": lambda lp: lp.signal(10),
    "stat": lambda lp: lp.stat("/"),
    "run_callback": lambda lp: lp.run_callback(print),
    "run_callback_threadsafe": lambda lp: lp.run_callback_threadsafe(print),
    "now": lambda lp: lp.now(),
    "update_now": lambda lp: lp.update_now(),
    "break_": lambda lp: lp.break_(),
    "ref": lambda lp: lp.ref(),
    "unref": lambda lp: lp.unref(),
    "verify": lambda lp: lp.verify(),
    "reinit": lambda lp: lp.reinit(),
    "closing_fd": lambda lp: lp.closing_fd(0),
    "iteration": lambda lp: lp.iteration,
    "depth": lambda lp: lp.depth,
    "pendingcnt": lambda lp: lp.pendingcnt,
    "backend": lambda lp: lp.backend,
    "backend_int": lambda lp: lp.backend_int,
}


@pytest.mark.parametrize("use", sorted(LOOP_USES))
def test_destroyed_loop_use_is_value_error(use: str) -> None:
    lp = _destroyed()
    with pytest.raises(ValueError):
        LOOP_USES[use](lp)


def test_watchers_of_a_destroyed_loop(sockpair: SockPair) -> None:
    lp = libev.loop(default=False)
    t = lp.timer(1, 1)
    io = lp.io(sockpair[0].fileno(), libev.READ)
    a = lp.async_()
    idle = lp.idle()
    idle.start(lambda: None)
    lp.destroy()
    for w in (t, io, a, idle):
        assert not w.active
        with pytest.raises(ValueError):
            w.start(lambda: None)
        with pytest.raises(ValueError):
            w.feed(libev.READ, lambda: None)
    with pytest.raises(ValueError):
        t.again(lambda: None)
    with pytest.raises(ValueError):
        t.remaining()
    with pytest.raises(ValueError):
        a.send()
    for w in (t, io, a, idle):
        w.stop()
        w.close()


def test_destroyed_loop_keeps_handle_error_and_repr(capsys: pytest.CaptureFixture[str]) -> None:
    lp = _destroyed()
    assert "destroyed" in repr(lp)
    try:
        raise RuntimeError("after destroy")
    except RuntimeError:
        lp.handle_error("ctx", *sys.exc_info())
    assert "after destroy" in capsys.readouterr().err


def _run_script(body: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONMALLOC": "malloc", "MALLOC_PERTURB_": "85", "PYTHONFAULTHANDLER": "1"}
    return run_python(body, env=env, timeout=60, check=False)


@pytest.mark.parametrize("how", ["timer", "io", "run_callback", "idle"])
def test_destroy_from_inside_a_callback_never_crashes(how: str) -> None:
    # Destroying the loop from one of its own callbacks must not free the
    # libev loop under ev_run(): either destroy refuses (an exception), or it
    # is made safe; it must never crash the process.
    result = _run_script(f"""
        import socket
        from greenkit.loop import libev
        lp = libev.loop(default=False)
        a, b = socket.socketpair()
        outcome = []

        def cb(*args):
            try:
                lp.destroy()
                outcome.append("destroyed")
            except Exception as e:
                outcome.append(type(e).__name__)

        how = {how!r}
        if how == "timer":
            w = lp.timer(0)
            w.start(cb)
        elif how == "io":
            w = lp.io(a.fileno(), libev.WRITE)
            w.start(cb)
        elif how == "idle":
            w = lp.idle()
            w.start(cb)
        else:
            lp.run_callback(cb)
            lp.run_callback(print, "second callback")
        try:
            lp.run()
        except ValueError:
            pass
        for _ in range(3):
            try:
                lp.run(nowait=True)
            except ValueError:
                pass
        lp.destroy()
        print("survived", outcome)
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "survived" in result.stdout


def test_starting_io_watcher_on_an_fd_closed_since_creation() -> None:
    # The fd was valid when the watcher was made but is closed before start():
    # start() must report EBADF and leave the watcher as it was (stopped, no
    # callback), never let libev abort the process on the next iteration.
    # (In a child process, so that an abort fails this test only.)
    result = _run_script("""
        import errno, socket
        from greenkit.loop import libev
        lp = libev.loop(default=False)
        a, b = socket.socketpair()
        w = lp.io(a.fileno(), libev.READ)
        a.close()
        b.close()
        try:
            w.start(print, 1)
            print("started")
        except OSError as e:
            print("OSError", errno.errorcode[e.errno])
        print("state", w.active, w.callback, w.args, w in lp._keepaliveset, lp.activecnt)
        lp.run(nowait=True)
        w.close()
        lp.destroy()
        print("survived")
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines == ["OSError EBADF", "state False None None False 0", "survived"], lines


# -- errors raised by callbacks ---------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.calls: list[
            tuple[Any, type[BaseException] | None, BaseException | None, TracebackType | None]
        ] = []

    def handle_error(
        self,
        context: Any,
        type: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.calls.append((context, type, value, tb))


def test_watcher_exception_goes_to_error_handler(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    recorder = Recorder()
    loop.error_handler = recorder
    log: list[str] = []
    bad = loop.timer(0.001)
    good = loop.timer(0.05)

    def boom() -> None:
        raise ZeroDivisionError("boom")

    bad.start(boom)
    good.start(log.append, "later timer still fires")
    assert guarded_run(loop)
    assert log == ["later timer still fires"]
    assert len(recorder.calls) == 1
    context, typ, value, tb = recorder.calls[0]
    assert context is bad
    assert typ is ZeroDivisionError
    assert isinstance(value, ZeroDivisionError)
    assert str(value) == "boom"
    assert tb is not None
    bad.close()
    good.close()


def test_callback_exception_goes_to_error_handler(loop: libev.loop) -> None:
    recorder = Recorder()
    loop.error_handler = recorder
    log: list[int] = []

    def boom() -> None:
        raise KeyError("k")

    cb = loop.run_callback(boom)
    loop.run_callback(log.append, 2)
    loop.run()
    assert log == [2]
    assert [(c, t) for c, t, _v, _tb in recorder.calls] == [(cb, KeyError)]


def test_io_exception_keeps_loop_running(
    loop: libev.loop, sockpair: SockPair, guarded_run: Callable[..., bool]
) -> None:
    recorder = Recorder()
    loop.error_handler = recorder
    a, _b = sockpair
    count: list[int] = []
    w = loop.io(a.fileno(), libev.WRITE)

    def cb() -> None:
        count.append(1)
        if len(count) == 3:
            w.stop()
        raise ValueError(len(count))

    w.start(cb)
    assert guarded_run(loop)
    assert len(count) == 3
    assert [str(v) for _c, _t, v, _tb in recorder.calls] == ["1", "2", "3"]
    w.close()


def test_handle_error_can_be_overridden_on_the_loop(loop: libev.loop) -> None:
    seen: list[tuple[object, object]] = []
    loop.handle_error = lambda context, t, v, tb: seen.append((context, t))  # type: ignore[method-assign]
    t = loop.timer(0)
    t.start(lambda: 1 / 0)
    loop.run()
    assert seen == [(t, ZeroDivisionError)]
    t.close()


def test_error_without_handler_is_printed(
    loop: libev.loop, capsys: pytest.CaptureFixture[str]
) -> None:
    log: list[int] = []

    def boom() -> None:
        raise RuntimeError("printed, not raised")

    loop.run_callback(boom)
    loop.run_callback(log.append, 1)
    loop.run()
    assert log == [1]
    err = capsys.readouterr().err
    assert "RuntimeError" in err
    assert "printed, not raised" in err


def test_failing_error_handler_does_not_kill_the_loop(
    loop: libev.loop, capsys: pytest.CaptureFixture[str]
) -> None:
    class Broken:
        def handle_error(self, *args: object) -> None:
            raise LookupError("handler broke")

    loop.error_handler = Broken()
    log: list[int] = []
    loop.run_callback(lambda: 1 / 0)
    loop.run_callback(log.append, 1)
    loop.run()
    assert log == [1]
    assert "handler broke" in capsys.readouterr().err


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_system_errors_propagate_from_watchers(loop: libev.loop, exc: type[BaseException]) -> None:
    log: list[str] = []
    t = loop.timer(0)
    later = loop.timer(0.05)

    def cb() -> None:
        raise exc("stop")

    t.start(cb)
    later.start(log.append, "later")
    with pytest.raises(exc):
        loop.run()
    # The loop is still usable, and the other watcher is still there.
    assert later.active
    loop.run()
    assert log == ["later"]
    t.close()
    later.close()


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_system_errors_propagate_from_callbacks(loop: libev.loop, exc: type[BaseException]) -> None:
    log: list[int] = []

    def cb() -> None:
        raise exc()

    loop.run_callback(cb)
    with pytest.raises(exc):
        loop.run()
    loop.run_callback(log.append, 1)
    loop.run()
    assert log == [1]


def test_system_error_goes_to_error_handler_when_set(loop: libev.loop) -> None:
    recorder = Recorder()
    loop.error_handler = recorder

    def cb() -> None:
        raise KeyboardInterrupt

    loop.run_callback(cb)
    loop.run()  # the handler decides; nothing propagates here
    assert [t for _c, t, _v, _tb in recorder.calls] == [KeyboardInterrupt]


def test_error_handler_raising_system_exit_propagates(loop: libev.loop) -> None:
    class Reraiser:
        def handle_error(
            self, context: object, t: object, v: BaseException | None, tb: object
        ) -> None:
            raise SystemExit(4)

    loop.error_handler = Reraiser()
    loop.run_callback(lambda: 1 / 0)
    with pytest.raises(SystemExit) as info:
        loop.run()
    assert info.value.code == 4


def test_destroy_while_running_elsewhere_is_refused() -> None:
    # A loop whose run() is in progress on another stack (here: another
    # thread) cannot be freed under it; destroy() says so instead.
    lp = libev.loop(default=False)
    started = threading.Event()
    stop = lp.async_()
    stop.start(lambda: None)
    hook = lp.prepare(ref=False)
    hook.start(started.set)

    def runner() -> None:
        lp.run(once=True)

    t = threading.Thread(target=runner)
    t.start()
    try:
        assert started.wait(10)
        with pytest.raises(RuntimeError, match="another greenlet or thread"):
            lp.destroy()
        assert lp.ptr is not None
    finally:
        stop.send()
        t.join(10)
    assert not t.is_alive()
    hook.close()
    stop.close()
    lp.destroy()
    assert lp.ptr is None


def test_io_restart_checks_the_fd_unless_stopped_in_the_same_iteration() -> None:
    # A watcher restarted in the iteration that stopped it skips the fd check
    # (libev then makes no epoll call for the fd); one restarted in a later
    # iteration is checked again.  Neither may abort the process.
    result = _run_script("""
        import errno, socket
        from greenkit.loop import libev
        lp = libev.loop(default=False)
        a, b = socket.socketpair()
        b.send(b"x")
        w = lp.io(a.fileno(), libev.READ)
        seen = []

        def restart_in_the_same_iteration():
            # In the callback: stop, lose the fd, start again.
            w.stop()
            a.close()
            try:
                w.start(print)
                seen.append("restarted")
            except OSError as e:
                seen.append(errno.errorcode[e.errno])
            w.stop()

        w.start(restart_in_the_same_iteration)
        lp.run(once=True)
        print(seen)
        lp.run(nowait=True)
        # Stopped in an earlier iteration: the closed fd is refused.
        try:
            w.start(print)
            print("started")
        except OSError as e:
            print("OSError", errno.errorcode[e.errno])
        lp.run(nowait=True)
        w.close()
        b.close()
        lp.destroy()
        print("survived")
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines == ["['restarted']", "OSError EBADF", "survived"], lines
