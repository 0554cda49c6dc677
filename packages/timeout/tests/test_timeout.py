"""greenkit.timeout: Timeout and with_timeout."""

from __future__ import annotations

import gc
import io
import threading
import time
import weakref
from typing import Any

import pytest
from greenlet import getcurrent

import greenkit.timeout as timeout_module
from greenkit.hub import Waiter, get_hub, sleep, spawn_raw
from greenkit.timeout import Timeout, with_timeout
from greenkit_testing import run_python

# Generous bounds: SHORT must expire well inside LONG even on a loaded machine.
SHORT = 0.02
LONG = 2.0


class Error(Exception):
    pass


def _block_until_thrown() -> BaseException:
    """Park the current greenlet in the hub until something is thrown in."""
    waiter = Waiter()
    try:
        waiter.get()
    except BaseException as ex:  # noqa: BLE001 - the test inspects it
        return ex
    raise AssertionError("woken without an exception")


# -- module surface -----------------------------------------------------------------


def test_public_names() -> None:
    assert timeout_module.__all__ == ["Timeout", "with_timeout"]
    assert Timeout.__module__ == "greenkit.timeout"
    assert with_timeout.__module__ == "greenkit.timeout"
    assert issubclass(Timeout, BaseException)
    assert not issubclass(Timeout, Exception)


def test_hub_does_not_import_timeout() -> None:
    code = "import sys, greenkit.hub; print('greenkit.timeout' in sys.modules)"
    out = run_python(code, timeout=60)
    assert out.stdout.strip() == "False"


# -- raising it directly ------------------------------------------------------------


def test_raise_class_directly() -> None:
    with pytest.raises(Timeout) as info:
        raise Timeout
    assert not info.value.pending
    assert info.value.seconds is None


def test_raise_instance_directly() -> None:
    t = Timeout()
    with pytest.raises(Timeout) as info:
        raise t
    assert info.value is t
    assert not t.pending


def test_args_are_empty() -> None:
    assert Timeout(1.5, Error).args == ()
    assert Timeout().args == ()


# -- str and repr -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "exception", "expected"),
    [
        (0.1, None, "0.1 seconds"),
        (2, None, "2 seconds"),
        (1, None, "1 second"),
        (1.0, None, "1.0 second"),
        (-1, None, "-1 seconds"),
        (2, False, "2 seconds (silent)"),
        (1, False, "1 second (silent)"),
        (1.5, "XXX", "1.5 seconds: XXX"),
        (0.5, "", "0.5 seconds: "),
        (1.5, ValueError, "1.5 seconds: <class 'ValueError'>"),
        (1.5, ValueError("boom"), "1.5 seconds: boom"),
        (None, None, ""),
        (None, "XXX", ""),
    ],
)
def test_str(seconds: float | None, exception: object, expected: str) -> None:
    assert str(Timeout(seconds, exception)) == expected


def test_repr_not_started() -> None:
    t = Timeout(0.1)
    assert repr(t) == f"<Timeout at {id(t):#x} seconds=0.1>"
    t = Timeout()
    assert repr(t) == f"<Timeout at {id(t):#x} seconds=None>"


def test_repr_shows_exception_and_pending() -> None:
    t = Timeout(5, False)
    assert repr(t) == f"<Timeout at {id(t):#x} seconds=5 exception=False>"
    t.start()
    try:
        assert repr(t) == f"<Timeout at {id(t):#x} seconds=5 exception=False pending>"
    finally:
        t.close()
    assert repr(t) == f"<Timeout at {id(t):#x} seconds=5 exception=False>"
    t = Timeout(1.5, "XXX")
    assert repr(t).endswith(" seconds=1.5 exception='XXX'>")
    t = Timeout(1.5, ValueError)
    assert repr(t).endswith(" seconds=1.5 exception=<class 'ValueError'>>")


def test_repr_uses_subclass_name() -> None:
    class MyTimeout(Timeout):
        pass

    t = MyTimeout(2)
    assert repr(t) == f"<MyTimeout at {id(t):#x} seconds=2>"
    assert str(t) == "2 seconds"


# -- the documented example ---------------------------------------------------------


def test_seed_example_timeout_raised_from_sleep() -> None:
    start = time.monotonic()
    t = Timeout(0.1)
    t.start()
    with pytest.raises(Timeout) as info:
        sleep(0.2 + LONG)
    elapsed = time.monotonic() - start
    assert info.value is t
    assert str(info.value) == "0.1 seconds"
    assert not t.pending
    assert 0.09 <= elapsed < LONG
    t.close()


# -- start / cancel / close ---------------------------------------------------------


def test_start_makes_pending_and_cancel_prevents_expiry() -> None:
    t = Timeout(SHORT)
    assert not t.pending
    t.start()
    assert t.pending
    t.cancel()
    assert not t.pending
    sleep(SHORT * 5)  # would have raised if the cancel did nothing
    assert not t.pending
    t.close()


def test_start_twice_is_an_error() -> None:
    t = Timeout(LONG)
    t.start()
    try:
        with pytest.raises(AssertionError, match="already started"):
            t.start()
        assert t.pending
    finally:
        t.cancel()


def test_cancel_and_close_when_idle_do_nothing() -> None:
    t = Timeout(1)
    t.cancel()
    t.close()
    t.close()
    assert not t.pending
    t = Timeout()
    t.cancel()
    t.close()
    assert not t.pending


def test_close_stops_a_pending_timeout() -> None:
    t = Timeout(SHORT)
    t.start()
    t.close()
    assert not t.pending
    sleep(SHORT * 5)


def test_timer_is_taken_by_start_and_given_back_by_cancel(hub: Any) -> None:
    t = Timeout(LONG)
    placeholder = t.timer
    assert not placeholder.pending and not placeholder.active
    t.start()
    timer = t._timer  # not through ``t.timer``, which would keep it out of the pool
    assert timer is not placeholder
    assert timer.active
    t.cancel()
    assert not timer.active
    assert t.timer is placeholder
    # The stopped timer went back to the hub, which hands it to the next user.
    assert timer in hub._timer_pool
    t.close()
    assert t.timer is placeholder
    t2 = Timeout(LONG * 2)
    t2.start()
    assert t2._timer is timer and timer.active
    assert timer.callback is not None and timer.args is not None
    t2.close()
    assert not timer.active and timer.callback is None


def test_a_timer_read_by_user_code_is_never_reused(hub: Any) -> None:
    t = Timeout(LONG)
    t.start()
    kept = t.timer
    assert kept.active
    t.cancel()
    assert not kept.active and kept.callback is None
    assert kept not in hub._timer_pool
    # Other timeouts and sleeps never get it, so stopping it later is harmless.
    others = [Timeout(LONG) for _ in range(3)]
    for other in others:
        other.start()
    sleep(SHORT)
    assert all(other._timer is not kept for other in others)
    kept.stop()
    assert all(other.pending for other in others)
    for other in others:
        other.close()
    # Reading it again after a restart shows the new timer.
    t.start()
    assert t.timer is not kept and t.timer.active
    t.close()


def test_restart_after_cancel_counts_the_full_delay_again() -> None:
    t = Timeout(SHORT * 4)
    t.start()
    sleep(SHORT * 2)
    t.cancel()
    t.start()
    start = time.monotonic()
    with pytest.raises(Timeout):
        sleep(LONG)
    assert time.monotonic() - start >= SHORT * 3


def test_none_seconds_never_expires_and_allocates_no_timer() -> None:
    t = Timeout(None)
    placeholder = t.timer
    t.start()
    assert not t.pending
    assert t.timer is placeholder
    sleep(SHORT)
    t.start()  # still not pending, so starting again is fine
    t.cancel()
    with Timeout(None) as t2:
        sleep(SHORT)
    assert not t2.pending


def test_attributes() -> None:
    t = Timeout(3, Error, ref=False, priority=1)
    assert t.seconds == 3
    assert t.exception is Error
    t.start()
    try:
        assert t.timer.ref is False
        assert t.timer.priority == 1
    finally:
        t.close()
    t = Timeout(3)
    t.start()
    try:
        assert t.timer.ref is True
        assert t.timer.priority == -1
    finally:
        t.close()


def test_restart_after_cancel_counts_full_seconds_again() -> None:
    t = Timeout(0.4)
    t.start()
    sleep(0.25)
    t.cancel()
    started = time.monotonic()
    t.start()
    with pytest.raises(Timeout) as info:
        sleep(LONG)
    elapsed = time.monotonic() - started
    assert info.value is t
    assert elapsed >= 0.35, elapsed
    t.close()


def test_restart_after_expiry_counts_full_seconds_again() -> None:
    t = Timeout(0.2)
    t.start()
    with pytest.raises(Timeout):
        sleep(LONG)
    started = time.monotonic()
    t.start()
    assert t.pending
    with pytest.raises(Timeout) as info:
        sleep(LONG)
    assert info.value is t
    assert time.monotonic() - started >= 0.15
    t.close()


def test_restart_after_close() -> None:
    t = Timeout(SHORT)
    t.start()
    t.close()
    t.start()
    with pytest.raises(Timeout) as info:
        sleep(LONG)
    assert info.value is t
    t.close()


def test_seconds_count_from_start_not_from_stale_loop_time() -> None:
    sleep(0)  # let the loop cache its time
    time.sleep(0.3)  # the loop's clock is now 0.3 s behind
    t = Timeout(0.4)
    t.start()
    try:
        sleep(0.15)  # would raise if measured from the stale loop time
        assert t.pending
    finally:
        t.close()
    assert not t.pending


def test_zero_and_negative_seconds_expire_at_next_yield() -> None:
    for seconds in (0, -1):
        t = Timeout(seconds)
        t.start()
        # No switch into the hub yet, so nothing can have been raised.
        assert t.pending
        with pytest.raises(Timeout) as info:
            sleep(LONG)
        assert info.value is t
        t.close()


def test_expires_while_blocked_in_hub_switch() -> None:
    t = Timeout(SHORT)
    t.start()
    ex = _block_until_thrown()
    assert ex is t
    assert not t.pending
    t.close()


# -- what is raised -----------------------------------------------------------------


def test_exception_class_is_raised() -> None:
    t = Timeout(SHORT, ValueError)
    t.start()
    with pytest.raises(ValueError) as info:
        sleep(LONG)
    assert type(info.value) is ValueError
    assert info.value.args == ()
    t.close()


def test_exception_instance_is_raised() -> None:
    err = Error("too slow")
    t = Timeout(SHORT, err)
    t.start()
    with pytest.raises(Error) as info:
        sleep(LONG)
    assert info.value is err
    t.close()


def test_string_exception_raises_the_timeout_itself() -> None:
    t = Timeout(SHORT, "XXX")
    t.start()
    with pytest.raises(Timeout) as info:
        sleep(LONG)
    assert info.value is t
    assert str(info.value).endswith("XXX")
    t.close()


def test_false_exception_outside_a_with_block_raises_the_timeout() -> None:
    t = Timeout(SHORT, False)
    t.start()
    with pytest.raises(Timeout) as info:
        sleep(LONG)
    assert info.value is t
    t.close()


@pytest.mark.parametrize("bad", [object(), type("NotAnError", (), {}), 42])
def test_non_exception_is_reported_as_type_error(bad: object) -> None:
    t = Timeout(SHORT, bad)
    t.start()
    with pytest.raises(TypeError, match="exceptions must derive from BaseException"):
        sleep(LONG)
    t.close()


# -- context manager ----------------------------------------------------------------


def test_with_block_finishing_in_time() -> None:
    t = Timeout(LONG)
    assert not t.pending
    with t as entered:
        assert entered is t
        assert t.pending
        sleep(SHORT)
    assert not t.pending
    sleep(SHORT)


def test_with_block_expiring_raises_the_timeout() -> None:
    with pytest.raises(Timeout) as info:
        with Timeout(SHORT) as t:
            sleep(LONG)
    assert info.value is t
    assert not t.pending


def test_with_block_false_is_silent() -> None:
    reached = []
    start = time.monotonic()
    with Timeout(0.1, False) as t:
        sleep(LONG)
        reached.append("inside")  # pragma: no cover - must be skipped
    reached.append("after")
    assert reached == ["after"]
    assert 0.09 <= time.monotonic() - start < LONG
    assert str(t).endswith("(silent)")


def test_with_block_custom_exceptions() -> None:
    with pytest.raises(OSError, match="way too long"):
        with Timeout(SHORT, OSError("way too long")):
            sleep(LONG)
    with pytest.raises(ValueError):
        with Timeout(SHORT, ValueError):
            sleep(LONG)
    with pytest.raises(Timeout) as info:
        with Timeout(SHORT, "XXX") as t:
            sleep(LONG)
    assert info.value is t
    assert str(t) == f"{SHORT} seconds: XXX"


def test_with_block_cancel_inside() -> None:
    finished = False
    with Timeout(SHORT) as t:
        t.cancel()
        assert not t.pending
        sleep(SHORT * 5)  # would raise if the cancel had not taken
        finished = True
    assert finished and not t.pending


def test_with_block_does_not_restart_a_pending_timeout() -> None:
    t = Timeout(LONG)
    t.start()
    timer = t.timer
    with t:
        assert t.timer is timer
    assert not t.pending


def test_with_block_does_not_swallow_other_exceptions() -> None:
    with pytest.raises(Error):
        with Timeout(LONG, False):
            raise Error
    # A silent timeout only swallows itself, not some other Timeout.
    other = Timeout(LONG)
    with pytest.raises(Timeout) as info:
        with Timeout(LONG, False):
            raise other
    assert info.value is other


def test_exit_return_values() -> None:
    silent = Timeout(LONG, False)
    assert silent.__exit__(Timeout, silent, None) is True
    assert silent.__exit__(None, None, None) is None
    loud = Timeout(LONG)
    assert loud.__exit__(Timeout, loud, None) is None


def test_with_block_drops_its_exception_reference() -> None:
    err = Error()
    err_ref = weakref.ref(err)
    with Timeout(LONG, err):
        sleep(SHORT)
    del err
    gc.collect()
    assert err_ref() is None


def test_sleep0_loop_is_interrupted() -> None:
    count = 0
    with Timeout(SHORT, False):
        while True:
            sleep(0)
            count += 1
    assert count > 0


# -- nesting ------------------------------------------------------------------------


def test_nested_silent_outer_expires_first() -> None:
    reached = []
    with Timeout(SHORT, False):
        with Timeout(LONG, False):
            sleep(LONG * 2)
        reached.append("between")  # pragma: no cover - must be skipped
    assert reached == []


def test_nested_outer_expires_first() -> None:
    with Timeout(SHORT) as outer:
        with Timeout(LONG) as inner:
            with pytest.raises(Timeout) as info:
                sleep(LONG * 2)
            assert info.value is outer
            assert not outer.pending
            assert inner.pending
        assert not inner.pending


def test_nested_inner_expires_first() -> None:
    with Timeout(LONG) as outer:
        with Timeout(SHORT) as inner:
            with pytest.raises(Timeout) as info:
                sleep(LONG * 2)
            assert info.value is inner
            assert outer.pending
            assert not inner.pending
    assert not outer.pending


def test_outer_timeout_passes_through_a_silent_inner_block() -> None:
    with pytest.raises(Timeout) as info:
        with Timeout(SHORT) as outer:
            with Timeout(LONG, False):
                sleep(LONG * 2)
    assert info.value is outer


# -- greenlets and threads ----------------------------------------------------------


def test_raised_in_the_greenlet_that_started_it() -> None:
    seen: list[object] = []

    def worker() -> None:
        t = Timeout(SHORT)
        t.start()
        try:
            sleep(LONG)
        except Timeout as ex:
            seen.append(ex is t)
            seen.append(getcurrent())
        finally:
            t.close()

    g = spawn_raw(worker)
    sleep(SHORT * 10)  # the main greenlet must not see that Timeout
    deadline = time.monotonic() + LONG
    while not g.dead and time.monotonic() < deadline:
        sleep(SHORT)
    assert seen == [True, g]


def test_expiry_after_the_greenlet_finished_is_ignored(hub: Any) -> None:
    stream = io.StringIO()
    hub.exception_stream = stream
    try:
        holder: list[Timeout] = []

        def worker() -> None:
            t = Timeout(SHORT)
            t.start()  # never cancelled
            holder.append(t)

        g = spawn_raw(worker)
        sleep(SHORT * 10)
        assert g.dead
        assert not holder[0].pending
        assert stream.getvalue() == ""
        holder[0].close()
    finally:
        del hub.exception_stream


def test_timeout_in_another_thread_uses_that_threads_hub() -> None:
    result: dict[str, object] = {}

    def in_thread() -> None:
        try:
            t = Timeout(SHORT)
            t.start()
            try:
                sleep(LONG)
            except Timeout as ex:
                result["raised"] = ex is t
            finally:
                t.close()
            result["hub"] = get_hub()
        finally:
            get_hub().destroy(destroy_loop=True)

    th = threading.Thread(target=in_thread)
    th.start()
    th.join(LONG * 5)
    assert result["raised"] is True
    assert result["hub"] is not get_hub()


def test_unref_timeout_does_not_keep_the_loop_alive() -> None:
    from greenkit.hub import wait

    t = Timeout(LONG * 5, ref=False)
    t.start()
    try:
        started = time.monotonic()
        assert wait(timeout=LONG * 3) is True
        assert time.monotonic() - started < LONG
        assert t.pending
    finally:
        t.close()


# -- start_new and the dummy --------------------------------------------------------


def test_start_new_creates_a_started_timeout() -> None:
    t = Timeout.start_new(LONG, Error, ref=False)
    try:
        assert type(t) is Timeout
        assert t.pending
        assert t.seconds == LONG
        assert t.exception is Error
        assert t.timer.ref is False
    finally:
        t.close()


def test_start_new_defaults_and_subclass() -> None:
    class MyTimeout(Timeout):
        pass

    t = MyTimeout.start_new(LONG)
    try:
        assert type(t) is MyTimeout
        assert t.exception is None
        assert t.timer.ref is True
    finally:
        t.close()
    t = Timeout.start_new()
    assert t.seconds is None
    assert not t.pending


def test_start_new_with_a_timeout() -> None:
    t = Timeout(LONG)
    assert Timeout.start_new(t) is t
    assert t.pending
    timer = t.timer
    assert Timeout.start_new(t) is t  # already pending: left alone
    assert t.timer is timer
    t.close()


def test_start_new_expires() -> None:
    t = Timeout.start_new(SHORT)
    with pytest.raises(Timeout) as info:
        sleep(LONG)
    assert info.value is t
    t.close()


def test_start_new_or_dummy_none_is_a_shared_no_op() -> None:
    dummy = Timeout._start_new_or_dummy(None)
    assert Timeout._start_new_or_dummy(None) is dummy
    assert Timeout._start_new_or_dummy(None, Error) is dummy
    assert not isinstance(dummy, Timeout)
    assert dummy.pending is False
    assert dummy.seconds is None
    assert dummy.exception is None
    assert dummy.timer is dummy
    assert dummy.start() is None
    assert dummy.cancel() is None
    assert dummy.close() is None
    assert dummy.pending is False
    with dummy as entered:
        assert entered is dummy
        sleep(SHORT)
    assert dummy.__exit__(Error, Error(), None) is None
    # It is also the placeholder timer of timeouts that have no timer.
    assert Timeout(None).timer is dummy


def test_start_new_or_dummy_with_seconds() -> None:
    t = Timeout._start_new_or_dummy(LONG)
    try:
        assert isinstance(t, Timeout)
        assert t.pending
    finally:
        t.close()
    t = Timeout._start_new_or_dummy(SHORT, Error)
    with pytest.raises(Error):
        sleep(LONG)
    t.close()


# -- with_timeout -------------------------------------------------------------------


def test_with_timeout_raises_when_expired() -> None:
    with pytest.raises(Timeout) as info:
        with_timeout(SHORT, sleep, LONG)
    assert info.value.seconds == SHORT
    assert not info.value.pending


def test_with_timeout_returns_timeout_value_when_expired() -> None:
    marker = object()
    assert with_timeout(SHORT, sleep, LONG, timeout_value=marker) is marker
    assert with_timeout(SHORT, sleep, LONG, timeout_value=None) is None


def test_with_timeout_returns_the_result_in_time() -> None:
    marker = object()
    assert with_timeout(LONG, sleep, SHORT, timeout_value=marker) is None

    def add(a: int, b: int, *, c: int = 0, **kw: object) -> tuple[int, dict[str, object]]:
        return a + b + c, kw

    assert with_timeout(LONG, add, 1, 2, c=3, d=4, timeout_value=marker) == (6, {"d": 4})
    assert with_timeout(None, add, 1, 2) == (3, {})


def test_with_timeout_leaves_no_pending_timer() -> None:
    from greenkit.hub import wait

    with_timeout(LONG * 5, sleep, 0)
    started = time.monotonic()
    assert wait(timeout=LONG * 3) is True
    assert time.monotonic() - started < LONG


def test_with_timeout_passes_other_errors_and_other_timeouts() -> None:
    def fail() -> None:
        raise Error("inner")

    with pytest.raises(Error):
        with_timeout(LONG, fail, timeout_value=1)
    # An enclosing timeout is not the one with_timeout owns: it propagates
    # even though timeout_value was given.
    with pytest.raises(Timeout) as info:
        with Timeout(SHORT) as outer:
            with_timeout(LONG, sleep, LONG * 2, timeout_value=1)
    assert info.value is outer


def test_on_expiration_is_a_hook_with_gevents_signature() -> None:
    # gevent's test support subclasses Timeout and extends _on_expiration.
    seen: list[object] = []

    class Recording(Timeout):
        def _on_expiration(self, prev_greenlet: Any, ex: Any) -> None:
            seen.append((prev_greenlet, ex))
            Timeout._on_expiration(self, prev_greenlet, ex)

    timeout = Recording(0.01, KeyError("late"))
    timeout.start()
    try:
        with pytest.raises(KeyError, match="late"):
            sleep(5)
    finally:
        timeout.close()
    assert len(seen) == 1 and seen[0][0] is getcurrent()
