"""Timer watchers: one-shot, repeat, again, at, remaining, update, restart."""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Callable

import pytest

from greenkit.loop import libev


def test_one_shot_fires_once_and_clears_callback_and_args(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    calls: list[tuple[object, ...]] = []
    t = loop.timer(0.001)
    t.start(lambda *a: calls.append(a), 1, "two")
    assert t.active
    assert t.callback is not None
    assert t.args == (1, "two")
    assert t in loop._keepaliveset
    assert guarded_run(loop)
    assert calls == [(1, "two")]
    assert not t.active
    assert not t.pending
    assert t.callback is None
    assert t.args is None
    assert t not in loop._keepaliveset
    t.close()


def test_one_shot_can_be_restarted(loop: libev.loop, guarded_run: Callable[..., bool]) -> None:
    calls: list[int] = []
    t = loop.timer(0.001)
    t.start(calls.append, 1)
    assert guarded_run(loop)
    t.start(calls.append, 2)
    assert guarded_run(loop)
    assert calls == [1, 2]
    t.close()


def test_one_shot_restarted_from_its_own_callback(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    calls: list[int] = []
    t = loop.timer(0.001)

    def cb(n: int) -> None:
        calls.append(n)
        if n < 3:
            t.start(cb, n + 1)

    t.start(cb, 1)
    assert guarded_run(loop)
    assert calls == [1, 2, 3]
    assert not t.active
    assert t.callback is None
    t.close()


def test_events_marker_receives_revents(loop: libev.loop, guarded_run: Callable[..., bool]) -> None:
    seen: list[tuple[object, ...]] = []
    t = loop.timer(0.001)
    t.start(lambda *a: seen.append(a), libev.EVENTS, "x")
    assert guarded_run(loop)
    assert len(seen) == 1
    revents, tail = seen[0]
    assert isinstance(revents, int)
    assert revents != 0
    assert tail == "x"
    t.close()


def test_repeat(loop: libev.loop, guarded_run: Callable[..., bool]) -> None:
    calls: list[int] = []
    t = loop.timer(0.001, repeat=0.001)
    assert t.after == 0.001
    assert t.repeat == 0.001

    def cb() -> None:
        calls.append(1)
        assert t.active  # a repeating timer stays active in its callback
        if len(calls) == 5:
            t.stop()

    t.start(cb)
    assert guarded_run(loop)
    assert len(calls) == 5
    assert not t.active
    t.close()


def test_zero_and_negative_after_fire_promptly(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    calls: list[str] = []
    t0 = loop.timer(0)
    tneg = loop.timer(-5)
    t0.start(calls.append, "zero")
    tneg.start(calls.append, "negative")
    assert guarded_run(loop, 5)
    assert sorted(calls) == ["negative", "zero"]
    t0.close()
    tneg.close()


def test_timers_fire_in_deadline_order(loop: libev.loop, guarded_run: Callable[..., bool]) -> None:
    order: list[int] = []
    timers = [loop.timer(delay) for delay in (0.03, 0.01, 0.02)]
    for t, name in zip(timers, (3, 1, 2), strict=True):
        t.start(order.append, name)
    assert guarded_run(loop)
    assert order == [1, 2, 3]
    for t in timers:
        t.close()


def test_remaining(loop: libev.loop) -> None:
    t = loop.timer(5.0)
    assert t.remaining() == pytest.approx(5.0)
    loop.update_now()
    t.start(lambda: None)
    assert 4.0 < t.remaining() <= 5.0 + 1e-6  # floating-point deadline
    t.close()


def test_at_is_on_the_loop_clock(loop: libev.loop) -> None:
    # The 'at' property is documented as "when the timer fires next, on the
    # loop's clock (loop.now())".
    loop.update_now()
    t = loop.timer(5.0)
    t.start(lambda: None)
    assert t.at == pytest.approx(loop.now() + 5.0, abs=1.0)
    t.close()


def test_again_starts_a_stopped_repeating_timer(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    calls: list[object] = []
    t = loop.timer(30, repeat=0.001)

    def cb(x: object) -> None:
        calls.append(x)
        t.stop()

    t.again(cb, t)
    assert t.active
    assert t.args == (t,)
    assert t in loop._keepaliveset
    assert guarded_run(loop)
    # again() used 'repeat' (0.001 s), not 'after' (30 s).
    assert calls == [t]
    assert t not in loop._keepaliveset
    t.close()


def test_again_restarts_an_active_timer(loop: libev.loop) -> None:
    t = loop.timer(30, repeat=20)
    t.start(lambda: None)
    assert t.remaining() > 25
    t.again(lambda: None)
    assert t.active
    # 'repeat' (20 s), not what was left of 'after' (30 s); libev computes the
    # deadline in floating point, so allow for rounding.
    assert t.remaining() <= 20.0 + 1e-6
    assert loop.activecnt == 1
    t.close()
    assert loop.activecnt == 0


def test_again_without_repeat_stops_the_timer(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    calls: list[int] = []
    t = loop.timer(30)
    t.start(calls.append, 1)
    t.again(calls.append, 2)
    assert not t.active
    assert t not in loop._keepaliveset
    assert guarded_run(loop, 5)  # nothing keeps the loop alive
    assert calls == []
    t.close()


def test_unref_timer_with_again_keeps_counts_balanced(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    t = loop.timer(30, repeat=30, ref=False)
    t.again(lambda: None)
    assert t.active
    assert guarded_run(loop, 5)  # not referenced
    t.again(lambda: None)
    t.stop()
    t.close()
    assert guarded_run(loop, 5)  # and nothing left over


def test_unreferenced_one_shot_firing_keeps_counts_balanced(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    calls: list[str] = []
    unref = loop.timer(0, ref=False)
    keeper = loop.timer(0.02)
    unref.start(calls.append, "unref")
    keeper.start(calls.append, "keeper")
    assert guarded_run(loop)
    assert calls == ["unref", "keeper"]
    assert loop.activecnt == 0
    # Had libev's count gone negative, run() would now block until the guard.
    assert guarded_run(loop, 5)
    unref.close()
    keeper.close()


def test_stopping_an_unreferenced_timer_keeps_counts_balanced(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    t = loop.timer(30, ref=False)
    for _ in range(3):
        t.start(lambda: None)
        t.stop()
        t.stop()  # stopping a stopped timer gives nothing back twice
    assert not t.active and t.callback is None
    assert loop.activecnt == 0
    assert guarded_run(loop, 5)  # neither a reference left over nor one missing
    t.close()
    t.stop()  # closed: nothing to do


def _expire_then(loop: libev.loop, t: libev.timer, action: Callable[[], None]) -> None:
    """Make ``t`` (started, delay 0, low priority) expire in the same loop
    iteration as a high-priority timer whose callback runs ``action``: libev
    has then stopped ``t`` but its callback has not run yet."""
    first = loop.timer(0, priority=libev.MAXPRI)
    first.start(action)


def _counts_are_balanced(loop: libev.loop, guarded_run: Callable[..., bool]) -> None:
    # A negative count makes run() spin until the guard; one too many, the same.
    assert guarded_run(loop, 5)
    fired: list[str] = []
    keeper = loop.timer(0.02)
    keeper.start(fired.append, "keeper")
    assert guarded_run(loop, 5)
    assert fired == ["keeper"]  # and a referenced timer still keeps it running
    keeper.close()


def test_stopping_an_expired_unreferenced_timer_before_its_callback(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    calls: list[str] = []
    t = loop.timer(0, ref=False, priority=libev.MINPRI)
    t.start(calls.append, "t")
    _expire_then(loop, t, t.stop)
    _counts_are_balanced(loop, guarded_run)
    assert calls == []
    t.close()


def test_restarting_an_expired_unreferenced_timer_before_its_callback(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    calls: list[str] = []
    t = loop.timer(0, ref=False, priority=libev.MINPRI)
    t.start(calls.append, "t")
    _expire_then(loop, t, lambda: t.start(calls.append, "again"))
    _counts_are_balanced(loop, guarded_run)
    assert calls and set(calls) == {"again"}
    t.close()
    _counts_are_balanced(loop, guarded_run)


def test_unreferencing_an_expired_timer_before_its_callback(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    calls: list[str] = []
    t = loop.timer(0, priority=libev.MINPRI)
    t.start(calls.append, "t")

    def flip() -> None:
        t.ref = False

    _expire_then(loop, t, flip)
    _counts_are_balanced(loop, guarded_run)
    assert calls == ["t"]
    t.close()


def test_feeding_an_active_unreferenced_timer(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    calls: list[str] = []
    t = loop.timer(30, ref=False)
    t.start(calls.append, "t")
    t.feed(libev.NONE, calls.append, "fed")
    assert guarded_run(loop, 5)
    assert calls == ["fed"]
    assert t.active and t in loop._keepaliveset  # the fed event did not stop it
    t.stop()
    _counts_are_balanced(loop, guarded_run)
    t.close()


def test_restart_reuses_a_stopped_timer(loop: libev.loop, guarded_run: Callable[..., bool]) -> None:
    calls: list[int] = []
    t = loop.timer(30, repeat=30, ref=False, priority=2)
    t.start(calls.append, 0)
    t.stop()
    t.restart(0.01, True, -1, True, calls.append, (1,))
    assert t.active and t.ref is True and t.priority == -1
    assert t.after == 0.01 and t.repeat == 0.0
    assert t.callback == calls.append and t.args == (1,)
    # Deferred: the loop's list holds it until it is armed, then the
    # keep-alive set does.
    assert t in loop._timers_to_arm and t not in loop._keepaliveset
    assert loop.activecnt == 1
    loop._arm_timers()
    assert t in loop._keepaliveset and loop.activecnt == 1
    assert guarded_run(loop)
    assert calls == [1] and not t.active
    # Unreferenced: started, but it does not keep the loop running.
    t.restart(30, False, 0, False, calls.append, (2,))
    assert t.active and t.ref is False
    assert guarded_run(loop, 5)
    t.stop()
    assert guarded_run(loop, 5) and calls == [1]
    t.close()


def test_restart_refuses_what_set_and_priority_refuse(loop: libev.loop) -> None:
    t = loop.timer(30)
    t.start(lambda: None)
    with pytest.raises(AttributeError):
        t.restart(1, True, 0, True, print, ())
    t.stop()
    with pytest.raises(ValueError, match="priority"):
        t.restart(1, True, libev.MAXPRI + 1, True, print, ())
    with pytest.raises(ValueError, match="NaN"):
        t.restart(float("nan"), True, 0, True, print, ())
    assert not t.active and t.callback is None
    t.close()
    with pytest.raises(ValueError, match="closed"):
        t.restart(1, True, 0, True, print, ())


def test_start_with_update_refreshes_loop_time(loop: libev.loop) -> None:
    loop.update_now()
    before = loop.now()
    time.sleep(0.05)
    t = loop.timer(1)
    t.start(lambda: None, update=True)
    assert loop.now() >= before + 0.04
    t.close()


def test_start_without_update_keeps_loop_time(loop: libev.loop) -> None:
    loop.update_now()
    before = loop.now()
    time.sleep(0.02)
    t = loop.timer(1)
    t.start(lambda: None, update=False)
    assert loop.now() == before
    t.close()


def test_start_counts_from_now_by_default(loop: libev.loop) -> None:
    """A timer started after the loop's thread was busy counts from the start
    call, not from the loop's last poll (starting_timer_may_update_loop_time)."""
    assert loop.starting_timer_may_update_loop_time is True
    loop.update_now()
    time.sleep(0.3)  # busy: the loop's cached time goes stale
    fired: list[float] = []
    started = time.monotonic()
    t = loop.timer(0.2)
    t.start(lambda: fired.append(time.monotonic() - started))
    loop.run(once=True)
    assert len(fired) == 1
    assert fired[0] >= 0.19
    t.close()


def test_timer_kept_alive_by_loop_without_references(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    calls: list[int] = []
    t = loop.timer(0.001)
    t.start(calls.append, 1)
    ref = weakref.ref(t)
    del t
    gc.collect()
    assert ref() is not None  # the loop holds it while it is active
    assert guarded_run(loop)
    assert calls == [1]
    gc.collect()
    assert ref() is None  # and lets go once libev stopped it


def test_timer_repr(loop: libev.loop) -> None:
    t = loop.timer(1.5, 2.5)
    assert "after=1.5" in repr(t)
    assert "repeat=2.5" in repr(t)
    t.start(lambda: None)
    assert "active" in repr(t)
    t.close()


# -- restart(update=True): handed to libev when the loop next polls ----------------


def test_deferred_restart_cancelled_before_the_loop_runs_leaves_nothing(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    calls: list[int] = []
    t = loop.timer(30)
    for i in range(5):
        t.restart(0.0, True, 0, True, calls.append, (i,))
        assert t.active and t.priority == 0 and t in loop._timers_to_arm
        t.stop()
        assert not t.active and t not in loop._keepaliveset
        assert t.callback is None and t.args is None
    assert guarded_run(loop, 5)  # nothing keeps it running: returns at once
    assert calls == []
    _counts_are_balanced(loop, guarded_run)
    t.close()


def test_deferred_restart_counts_from_the_restart_not_from_arming(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    fired: list[float] = []
    t = loop.timer(30)
    t.restart(0.05, True, 0, True, lambda: fired.append(time.monotonic()), ())
    began = time.monotonic()
    time.sleep(0.1)  # the loop is not running: the timer is due meanwhile
    armed_at = time.monotonic()
    assert guarded_run(loop, 5)
    assert len(fired) == 1 and fired[0] - began >= 0.05
    assert fired[0] - armed_at < 1.0  # at the first poll, not another 0.05 s later
    t.close()


def test_a_timer_deferred_from_a_callback_keeps_the_loop_running(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    # A watcher callback (after the poll) restarts a timer and nothing else
    # is active: run() must go on to arm and fire it, not return early.
    fired: list[str] = []
    later = loop.timer(30)
    first = loop.timer(0.01)

    def on_first() -> None:
        fired.append("first")
        later.restart(0.05, True, 0, True, fired.append, ("later",))

    began = time.monotonic()
    first.start(on_first)
    assert guarded_run(loop, 5)
    assert fired == ["first", "later"] and time.monotonic() - began >= 0.06
    _counts_are_balanced(loop, guarded_run)
    first.close()
    later.close()


def test_deferred_timers_fire_in_due_order_and_the_backlog_is_bounded(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    fired: list[int] = []
    due: dict[int, tuple[float, float]] = {}  # (no earlier than, no later than)
    timers = [loop.timer(30) for _ in range(3000)]
    for i, t in enumerate(timers):
        began = time.monotonic()
        t.restart(0.001 * ((i * 7919) % 3000) / 100, True, 0, True, fired.append, (i,))
        due[i] = (began + t.after, time.monotonic() + t.after)
        assert len(loop._timers_to_arm) <= loop._MAX_TIMERS_TO_ARM
    assert guarded_run(loop, 10)
    assert sorted(fired) == list(range(3000))
    # In due order: no timer fires after one that was surely due later.
    late = [(a, b) for a, b in zip(fired, fired[1:], strict=False) if due[b][1] < due[a][0]]
    assert late == []
    _counts_are_balanced(loop, guarded_run)
    for t in timers:
        t.close()


def test_reading_a_deferred_timer_arms_it(loop: libev.loop) -> None:
    t = loop.timer(30)
    t.restart(10.0, False, 1, True, lambda: None, ())
    assert t.active and t.priority == 1 and not t.pending
    assert 9.0 < t.remaining() <= 10.0  # (armed by the read)
    assert not loop._timers_to_arm or t._arm_at is None
    with pytest.raises(AttributeError):
        t.restart(1.0, True, 0, True, lambda: None, ())
    with pytest.raises(AttributeError):
        t.priority = 0
    t.stop()
    assert not t.active
    t.close()


def test_feeding_a_deferred_timer_arms_it_and_keeps_it_alive(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    calls: list[str] = []
    t = loop.timer(1)
    t.restart(30, False, 0, True, calls.append, ("due",))
    t.feed(libev.NONE, calls.append, "fed")
    assert t.active and t in loop._keepaliveset
    assert guarded_run(loop, 5)
    assert calls == ["fed"]
    assert t.active and t in loop._keepaliveset  # still started, still kept
    t.stop()
    _counts_are_balanced(loop, guarded_run)
    t.close()


def test_destroying_the_loop_stops_its_deferred_timers() -> None:
    lp = libev.loop(default=False)
    calls: list[int] = []
    t = lp.timer(30)
    t.restart(0.0, True, 0, True, calls.append, (1,))
    assert t.active and lp.activecnt == 1
    lp.destroy()
    assert not t.active and t.callback is None and t.args is None
    assert calls == []
    t.close()
