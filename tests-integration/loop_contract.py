"""A reusable contract suite for event loop classes.

Any loop the hub can drive must satisfy ``greenkit._interfaces`` (ILoop,
IWatcher, ICallback) *and* behave like an event loop.  This module checks
both, given only a factory that makes a new, non-default loop:

* ``CHECKS`` lists every check, a function taking one loop;
* ``run_contract(factory)`` runs them all (each on a fresh loop, destroyed
  afterwards) and raises ``AssertionError`` naming the first that fails;
* ``test_loop_contract.py`` runs each check as its own pytest test against
  the loop class named by ``GREENKIT_LOOP_CONTRACT_CLASS``.

The checks use nothing but the interfaces' members, so they are meant to
pass for any conforming loop, not just greenkit's libev one.  Waiting is
always bounded: a guard timer (unreferenced) breaks the loop after
``GUARD_TIMEOUT`` seconds, so a broken loop fails instead of hanging.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from zope.interface import verify

from greenkit._interfaces import (
    CallbackProtocol,
    ChildWatcherProtocol,
    ILoop,
    LoopProtocol,
    TimerProtocol,
    WatcherProtocol,
)
from greenkit_testing import GUARD_TIMEOUT, run_guarded

__all__ = ["CHECKS", "GUARD_TIMEOUT", "LoopFactory", "check", "run_contract", "run_guarded"]

LoopFactory = Callable[[], Any]
Check = Callable[[Any], None]

#: Every contract check, in definition order.
CHECKS: list[Check] = []

READ = 1
WRITE = 2


def check(func: Check) -> Check:
    """Register ``func`` as a contract check."""
    CHECKS.append(func)
    return func


def run_contract(factory: LoopFactory) -> None:
    """Run every check on a fresh loop from ``factory``; AssertionError on the first failure."""
    for func in CHECKS:
        loop = factory()
        try:
            func(loop)
        except AssertionError as exc:
            raise AssertionError(f"{func.__name__}: {exc}") from exc
        finally:
            loop.destroy()


def _socketpair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


# -- the interfaces -------------------------------------------------------------------


@check
def check_is_an_iloop(loop: Any) -> None:
    assert isinstance(loop, LoopProtocol), f"{type(loop)!r} does not provide ILoop"
    # gevent's zope.interface form of the contract (members and signatures).
    verify.verifyObject(ILoop, loop, tentative=True)
    assert isinstance(loop.default, bool)
    assert loop.default is False, "the factory must make a non-default loop"
    assert isinstance(loop.approx_timer_resolution, float)
    assert 0 < loop.approx_timer_resolution < 1
    assert loop.error_handler is None


@check
def check_watcher_factories_return_iwatchers(loop: Any) -> None:
    a, b = _socketpair()
    try:
        made = {
            "io": loop.io(a.fileno(), READ),
            "timer": loop.timer(1.0),
            "signal": loop.signal(getattr(__import__("signal"), "SIGUSR2", 12)),
            "idle": loop.idle(),
            "prepare": loop.prepare(),
            "check": loop.check(),
            "fork": loop.fork(),
            "async_": loop.async_(),
            "stat": loop.stat("."),
        }
        try:
            for name, watcher in made.items():
                assert isinstance(watcher, WatcherProtocol), f"loop.{name}() gave {watcher!r}"
                assert not watcher.active, name
                assert not watcher.pending, name
                assert watcher.ref is True, name
                assert isinstance(watcher.priority, int), name
        finally:
            for watcher in made.values():
                watcher.close()
    finally:
        a.close()
        b.close()


@check
def check_child_watcher_factory(loop: Any) -> None:
    # Child watchers may be reserved to the default loop; then asking a
    # non-default one must fail cleanly, with TypeError or ValueError.
    try:
        watcher = loop.child(999999)
    except (TypeError, ValueError):
        return
    try:
        assert isinstance(watcher, ChildWatcherProtocol)
        assert watcher.pid == 999999
    finally:
        watcher.close()


@check
def check_factories_take_ref_and_priority(loop: Any) -> None:
    t = loop.timer(1.0, 0.0, False, None)
    try:
        assert t.ref is False
    finally:
        t.close()
    for factory in (loop.idle, loop.prepare, loop.check, loop.async_):
        w = factory(ref=False, priority=None)
        try:
            assert w.ref is False
        finally:
            w.close()


@check
def check_callbacks_are_icallbacks(loop: Any) -> None:
    cb = loop.run_callback(lambda: None)
    assert isinstance(cb, CallbackProtocol), f"run_callback gave {cb!r}"
    assert cb.pending is True
    cb2 = loop.run_callback_threadsafe(lambda: None)
    assert isinstance(cb2, CallbackProtocol), f"run_callback_threadsafe gave {cb2!r}"
    assert run_guarded(loop)
    assert cb.pending is False
    assert cb2.pending is False


# -- behaviour ----------------------------------------------------------------------------


@check
def check_run_returns_when_nothing_is_active(loop: Any) -> None:
    assert run_guarded(loop, 5)
    assert run_guarded(loop, 5)
    loop.run(nowait=True)
    loop.run(once=True)


@check
def check_timer_fires_with_args(loop: Any) -> None:
    fired: list[tuple[Any, ...]] = []
    t = loop.timer(0.01)
    try:
        t.start(lambda *args: fired.append(args), 1, "two")
        assert t.active
        assert t.callback is not None
        assert t.args == (1, "two")
        assert run_guarded(loop)
        assert fired == [(1, "two")]
        assert not t.active
    finally:
        t.close()


@check
def check_timers_fire_in_deadline_order(loop: Any) -> None:
    order: list[int] = []
    timers = [loop.timer(delay) for delay in (0.03, 0.01, 0.02)]
    try:
        for t, name in zip(timers, (3, 1, 2), strict=True):
            t.start(order.append, name)
        assert run_guarded(loop)
        assert order == [1, 2, 3]
    finally:
        for t in timers:
            t.close()


@check
def check_timer_restart_reuses_a_stopped_timer(loop: Any) -> None:
    # The hub pools stopped timers (Hub.start_timer) and resets them with
    # TimerProtocol.restart: new delay, ref, priority, callback and args.
    fired: list[str] = []
    t = loop.timer(30.0, 0.0, True, 0)
    try:
        assert isinstance(t, TimerProtocol)
        assert t.loop is loop
        t.start(fired.append, "never")
        t.stop()
        t.restart(0.01, False, 1, True, fired.append, ("again",))
        assert t.active and t.ref is False and t.priority == 1
        assert t.args == ("again",)
        keep_alive = loop.timer(0.5)  # restart(ref=False) does not keep run() going
        keep_alive.start(lambda: None)
        try:
            assert run_guarded(loop)
        finally:
            keep_alive.close()
        assert fired == ["again"]
        assert not t.active
        t.restart(30.0, True, 0, False, fired.append, ("third",))
        try:
            t.restart(1.0, True, 0, False, fired.append, ())
        except AttributeError:
            pass
        else:
            raise AssertionError("restart() of an active timer must raise AttributeError")
    finally:
        t.close()


@check
def check_repeating_timer_and_stop(loop: Any) -> None:
    count: list[int] = []
    t = loop.timer(0.001, 0.001)

    def tick() -> None:
        count.append(1)
        if len(count) == 3:
            t.stop()

    try:
        t.start(tick)
        assert run_guarded(loop)
        assert len(count) == 3
        assert not t.active
    finally:
        t.close()


@check
def check_io_write_and_read_readiness(loop: Any) -> None:
    a, b = _socketpair()
    try:
        log: list[str] = []
        writable = loop.io(a.fileno(), WRITE)
        readable = loop.io(a.fileno(), READ)

        def on_write() -> None:
            log.append("write")
            writable.stop()
            b.send(b"ping")

        def on_read() -> None:
            log.append("read:" + a.recv(10).decode())
            readable.stop()

        try:
            readable.start(on_read)
            loop.run(nowait=True)
            assert log == [], "read readiness without data"
            writable.start(on_write)
            assert run_guarded(loop)
            assert log == ["write", "read:ping"]
        finally:
            writable.close()
            readable.close()
    finally:
        a.close()
        b.close()


@check
def check_run_callback_fifo(loop: Any) -> None:
    log: list[int] = []
    for i in range(100):
        loop.run_callback(log.append, i)
    assert run_guarded(loop)
    assert log == list(range(100))


@check
def check_callback_stop_and_close_cancel(loop: Any) -> None:
    log: list[int] = []
    loop.run_callback(log.append, 1).stop()
    loop.run_callback(log.append, 2).close()
    loop.run_callback(log.append, 3)
    assert run_guarded(loop)
    assert log == [3]


@check
def check_run_callback_threadsafe_wakes_the_loop(loop: Any) -> None:
    keep_alive = loop.timer(GUARD_TIMEOUT)
    outcome: list[str] = []

    def woken() -> None:
        outcome.append("woken")
        keep_alive.stop()

    def sender() -> None:
        time.sleep(0.1)
        loop.run_callback_threadsafe(woken)

    keep_alive.start(outcome.append, "timed out")
    th = threading.Thread(target=sender)
    th.start()
    try:
        loop.run()
    finally:
        th.join(GUARD_TIMEOUT)
        keep_alive.close()
    assert outcome == ["woken"]


@check
def check_unreferenced_watcher_does_not_keep_run_alive(loop: Any) -> None:
    fired: list[int] = []
    t = loop.timer(GUARD_TIMEOUT * 3, ref=False)
    try:
        t.start(fired.append, 1)
        assert run_guarded(loop)
        assert fired == []
        assert t.active
    finally:
        t.close()
    t = loop.timer(GUARD_TIMEOUT * 3)
    try:
        t.start(fired.append, 1)
        t.ref = False
        assert run_guarded(loop)
        assert fired == []
    finally:
        t.close()


@check
def check_stop_and_close(loop: Any) -> None:
    fired: list[int] = []
    t = loop.timer(0.001)
    t.start(fired.append, 1)
    t.stop()
    assert not t.active
    assert run_guarded(loop, 5)
    assert fired == []
    t.start(fired.append, 2)
    t.close()
    assert not t.active
    assert run_guarded(loop, 5)
    assert fired == []


@check
def check_idle_prepare_check_fire(loop: Any) -> None:
    log: list[str] = []
    watchers = {name: getattr(loop, name)() for name in ("idle", "prepare", "check")}
    try:
        for name, w in watchers.items():
            w.start(log.append, name)
        for _ in range(3):
            loop.run(nowait=True)
        assert set(log) == {"idle", "prepare", "check"}
    finally:
        for w in watchers.values():
            w.close()


@check
def check_async_send_from_a_thread(loop: Any) -> None:
    w = loop.async_()
    fired: list[int] = []

    def on_send() -> None:
        fired.append(1)
        w.stop()

    w.start(on_send)
    th = threading.Thread(target=lambda: (time.sleep(0.1), w.send()))
    th.start()
    try:
        assert run_guarded(loop)
    finally:
        th.join(GUARD_TIMEOUT)
        w.close()
    assert fired == [1]


@check
def check_break_ends_run(loop: Any) -> None:
    count: list[int] = []
    t = loop.timer(0.001, 0.001)

    def tick() -> None:
        count.append(1)
        loop.break_()

    try:
        t.start(tick)
        assert run_guarded(loop)
        assert count == [1]
        assert t.active
    finally:
        t.close()


@check
def check_now_and_update_now(loop: Any) -> None:
    first = loop.now()
    assert isinstance(first, float)
    time.sleep(0.02)
    loop.update_now()
    assert loop.now() > first


@check
def check_errors_go_to_handle_error(loop: Any) -> None:
    seen: list[tuple[Any, Any]] = []

    class Handler:
        def handle_error(self, context: Any, type: Any, value: Any, tb: Any) -> None:
            seen.append((context, type))

    loop.error_handler = Handler()
    log: list[str] = []
    t = loop.timer(0.001)

    def boom() -> None:
        raise ZeroDivisionError

    try:
        t.start(boom)
        loop.run_callback(boom)
        loop.run_callback(log.append, "still running")
        assert run_guarded(loop)
    finally:
        t.close()
    assert log == ["still running"]
    assert len(seen) == 2
    assert [typ for _, typ in seen] == [ZeroDivisionError, ZeroDivisionError]
    assert any(context is t for context, _ in seen), "the timer is the context of its error"


@check
def check_closing_fd_returns_bool(loop: Any) -> None:
    a, b = _socketpair()
    try:
        assert loop.closing_fd(a.fileno()) in (True, False)
    finally:
        a.close()
        b.close()


@check
def check_reinit_keeps_the_loop_usable(loop: Any) -> None:
    loop.reinit()
    fired: list[int] = []
    t = loop.timer(0.001)
    try:
        t.start(fired.append, 1)
        assert run_guarded(loop)
    finally:
        t.close()
    assert fired == [1]


@check
def check_destroy(loop: Any) -> None:
    t = loop.timer(GUARD_TIMEOUT)
    t.start(lambda: None)
    loop.run_callback(lambda: None)
    loop.destroy()
    assert not t.active
    loop.destroy()  # twice is harmless
    t.close()
