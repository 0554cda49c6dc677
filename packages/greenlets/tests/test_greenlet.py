"""greenkit.greenlet: Greenlet, joinall, killall."""

from __future__ import annotations

import gc
import io
import re
import sys
import time
import traceback
import weakref
from typing import Any

import pytest
from greenlet import getcurrent
from greenlet import greenlet as RawGreenlet

import greenkit.greenlet as greenlet_module
from greenkit import config
from greenkit.greenlet import Greenlet, GreenletExit, joinall, killall
from greenkit.hub import get_hub, sleep
from greenkit.timeout import Timeout

# Generous bounds: SHORT must pass well inside LONG even on a loaded machine.
SHORT = 0.02
LONG = 3.0


class Error(Exception):
    pass


def normalize(text: str) -> str:
    return re.sub(r"0x[0-9a-f]+", "X", text)


def returns(value: Any) -> Any:
    return value


def raises(exc: BaseException) -> None:
    raise exc


def sleeps_then_returns(seconds: float, value: Any = None) -> Any:
    sleep(seconds)
    return value


# -- module surface ------------------------------------------------------------------


def test_public_names() -> None:
    assert set(greenlet_module.__all__) >= {"Greenlet", "joinall", "killall", "GreenletExit"}
    for name in greenlet_module.__all__:
        assert hasattr(greenlet_module, name)
    assert Greenlet.__module__ == "greenkit.greenlet"
    assert issubclass(Greenlet, RawGreenlet)
    assert issubclass(GreenletExit, BaseException)
    assert not issubclass(GreenletExit, Exception)


# -- construction and starting ------------------------------------------------------------


def test_parent_is_the_hub_and_arguments_are_kept() -> None:
    g = Greenlet(returns, 1)
    assert g.parent is get_hub()
    assert g.args == (1,)
    assert g.kwargs == {}
    h = Greenlet(run=returns, value=2)
    assert h.kwargs == {"value": 2}


@pytest.mark.parametrize("bad", [1, "text", object()])
def test_non_callable_run_is_rejected_at_construction(bad: Any) -> None:
    with pytest.raises(TypeError):
        Greenlet(bad)
    with pytest.raises(TypeError):
        Greenlet.spawn(bad)
    with pytest.raises(TypeError):
        Greenlet.spawn_later(0.01, bad)
    Greenlet(None)  # None means "call _run": allowed


def test_spawn_later_needs_a_function() -> None:
    with pytest.raises(TypeError):
        Greenlet.spawn_later(1)


def test_states_through_a_lifetime() -> None:
    g = Greenlet(sleeps_then_returns, SHORT, value=5)
    assert not g and not g.started and not g.dead and not g.ready()
    assert not g.successful() and g.value is None and g.exception is None
    assert g.exc_info is None

    g.start()
    assert g and g.started and not g.dead and not g.ready()

    sleep(0)  # it runs, then sleeps
    assert g and g.started and not g.dead and not g.ready()

    g.join(LONG)
    assert not g and not g.started and g.dead and g.ready()
    assert g.successful() and g.value == 5 and g.exception is None
    assert g.exc_info is None


def test_spawn_returns_a_started_greenlet() -> None:
    g = Greenlet.spawn(returns, "v")
    assert g.started
    assert g.get(timeout=LONG) == "v"


def test_start_is_idempotent_and_cannot_restart() -> None:
    calls = []
    g = Greenlet(calls.append, 1)
    g.start()
    g.start()
    g.join(LONG)
    g.start()
    sleep(SHORT)
    assert calls == [1]
    assert g.dead and not g.started


def test_start_later_and_spawn_later_wait() -> None:
    began = time.perf_counter()
    g = Greenlet.spawn_later(0.05, time.perf_counter)
    h = Greenlet(time.perf_counter)
    h.start_later(0.05)
    assert g.started and h.started
    sleep(0)
    assert not g.ready() and not h.ready()
    assert g.get(timeout=LONG) - began >= 0.04
    assert h.get(timeout=LONG) - began >= 0.04


def test_spawn_later_counts_from_the_call_after_a_blocked_hub() -> None:
    """After the hub was blocked (a blocking call, CPU work), spawn_later(0.3)
    still waits 0.3 s from the call, as on gevent: the loop's stale clock is
    refreshed when the timer starts."""
    sleep(0)
    time.sleep(0.5)  # blocks the hub: the loop's cached time is now stale
    began = time.perf_counter()
    g = Greenlet.spawn_later(0.3, time.perf_counter)
    assert g.get(timeout=LONG) - began >= 0.28


def test_run_of_a_subclass_is_underscore_run() -> None:
    class Doubler(Greenlet):
        def __init__(self, n: int) -> None:
            Greenlet.__init__(self)
            self.n = n

        def _run(self) -> int:
            return self.n * 2

    assert Doubler.spawn(21).get(timeout=LONG) == 42

    class WithArgs(Greenlet):
        def _run(self, a: int, b: int = 0) -> int:
            return a - b

    assert WithArgs.spawn(None, 10, b=3).get(timeout=LONG) == 7
    # A run argument takes precedence over _run.
    assert WithArgs.spawn(returns, "x").get(timeout=LONG) == "x"


def test_base_greenlet_without_run_returns_none() -> None:
    g = Greenlet()
    g.start()
    assert g.get(timeout=LONG) is None and g.successful()


# -- results --------------------------------------------------------------------------------


def test_error_is_recorded_and_reraised_with_traceback(error_stream: io.StringIO) -> None:
    err = Error("boom")
    g = Greenlet.spawn(raises, err)
    g.join(LONG)
    assert g.dead and g.ready() and not g.successful()
    assert g.exception is err and g.value is None
    assert g.exc_info is not None
    assert g.exc_info[0] is Error and g.exc_info[1] is err
    with pytest.raises(Error) as info:
        g.get()
    assert info.value is err
    frames = [entry.name for entry in traceback.extract_tb(info.value.__traceback__)]
    assert "raises" in frames


def test_greenlet_exit_is_success_with_the_exception_as_value() -> None:
    exit_ = GreenletExit("bye")
    g = Greenlet.spawn(raises, exit_)
    g.join(LONG)
    assert g.successful()
    assert g.value is exit_
    assert g.exception is None and g.exc_info is None
    assert g.get() is exit_


def test_failure_report_text(error_stream: io.StringIO) -> None:
    def divide(a: int, b: int) -> float:
        return a / b

    g = Greenlet.spawn(divide, 1, 0)
    g.join(LONG)
    text = error_stream.getvalue()
    assert "Traceback (most recent call last)" in text
    assert "ZeroDivisionError: division by zero" in text
    line = [ln for ln in text.splitlines() if "failed with" in ln]
    assert len(line) == 1
    expected = "<Greenlet at X: divide(1, 0)> failed with ZeroDivisionError"
    assert normalize(line[0]).endswith(expected)


def test_failure_report_uses_a_custom_str(error_stream: io.StringIO) -> None:
    class Named(Greenlet):
        def __init__(self, seconds: float) -> None:
            Greenlet.__init__(self)
            self.seconds = seconds

        def _run(self) -> None:
            raise Error("named")

        def __str__(self) -> str:
            return f"Named({self.seconds})"

    g = Named(0.5)
    g.start()
    g.join(LONG)
    assert "Named(0.5) failed with Error" in error_stream.getvalue()
    assert str(g) == "Named(0.5)"


def test_custom_str_may_use_repr_without_recursing() -> None:
    class Wrapping(Greenlet):
        def __str__(self) -> str:
            return "wrapped " + repr(self)

    g = Wrapping()
    assert normalize(str(g)) == "wrapped <Wrapping at X: _run>"


def test_greenlet_exit_is_not_reported(error_stream: io.StringIO) -> None:
    g = Greenlet.spawn(raises, GreenletExit())
    g.join(LONG)
    assert error_stream.getvalue() == ""


def test_errors_go_to_hub_handle_error_with_the_greenlet_as_context(hub: Any) -> None:
    seen: list[tuple[Any, ...]] = []
    hub.handle_error = lambda context, t, v, tb: seen.append((context, t, v))
    try:
        err = Error("x")
        g = Greenlet.spawn(raises, err)
        g.join(LONG)
    finally:
        del hub.handle_error
    assert seen == [(g, Error, err)]


def test_exc_info_is_clean_inside_a_new_greenlet() -> None:
    import sys

    seen = []
    try:
        raise Error("outer")
    except Error:
        g = Greenlet.spawn(lambda: seen.append(sys.exc_info()))
        g.join(LONG)
        assert isinstance(sys.exc_info()[1], Error)
    assert seen == [(None, None, None)]


# -- repr / str / names -----------------------------------------------------------------------


def module_function() -> None:
    pass


class Holder:
    def method(self) -> None:
        pass


def test_str_of_a_function_greenlet() -> None:
    g = Greenlet.spawn(module_function)
    assert normalize(str(g)) == "<Greenlet at X: module_function>"
    g.join(LONG)
    assert normalize(str(g)) == "<Greenlet at X: module_function>"
    assert repr(g) == str(g)


def test_str_with_arguments_and_bound_methods() -> None:
    g = Greenlet(returns, "a", 2, key=[3])
    assert normalize(str(g)) == "<Greenlet at X: returns('a', 2, key=[3])>"
    h = Greenlet(Holder().method)
    assert re.match(
        r"<Greenlet at X: <bound method Holder.method of <.*Holder object at X>>>$",
        normalize(str(h)),
    )


def test_str_of_a_subclass() -> None:
    class Sub(Greenlet):
        pass

    assert normalize(str(Sub())) == "<Sub at X: _run>"
    assert (
        normalize(str(Sub(None, "question", answer=42)))
        == "<Sub at X: _run('question', answer=42)>"
    )


def test_name_and_minimal_ident() -> None:
    g = Greenlet(module_function)
    assert normalize(str(g)).startswith("<Greenlet at X:")
    ident = g.minimal_ident
    assert isinstance(ident, int) and ident >= 0
    assert g.minimal_ident == ident
    assert g.name == f"Greenlet-{ident}"
    assert normalize(str(g)).startswith(f'<Greenlet "Greenlet-{ident}" at X:')
    g.name = "Foo"
    assert g.name == "Foo"
    assert normalize(str(g)) == '<Greenlet "Foo" at X: module_function>'


def test_minimal_idents_are_small_unique_and_reused() -> None:
    gc.collect()
    gs = [Greenlet() for _ in range(5)]
    idents = [g.minimal_ident for g in gs]
    assert len(set(idents)) == 5
    assert all(0 <= ident < 1000 for ident in idents)
    freed = min(idents)
    del gs[idents.index(freed)]
    gc.collect()
    # The smallest free ident is handed out next.
    assert Greenlet().minimal_ident <= freed


def test_minimal_ident_needs_the_hub_as_parent() -> None:
    g = Greenlet(module_function)
    g.parent = getcurrent()
    try:
        with pytest.raises(AttributeError, match="ident_registry"):
            _ = g.minimal_ident
    finally:
        g.parent = get_hub()


# -- links -------------------------------------------------------------------------------------


def test_links_run_in_order_in_the_hub_after_death() -> None:
    order: list[Any] = []
    g = Greenlet.spawn(returns, 1)
    hub = get_hub()

    def raw(source: Greenlet) -> None:
        order.append(("raw", getcurrent() is hub, source is g, source.dead))

    def spawned(source: Greenlet) -> None:
        current = getcurrent()
        order.append(("link", current is not hub and current.parent is hub, source.value))

    g.rawlink(raw)
    g.link(spawned)
    for i in range(20):
        g.rawlink(lambda _s, i=i: order.append(i))
    assert order == []
    g.join(LONG)
    sleep(SHORT)
    assert order[0] == ("raw", True, True, True)
    assert order[1] == ("link", True, 1)
    assert order[2:] == list(range(20))


def test_link_value_and_link_exception_filter(error_stream: io.StringIO) -> None:
    calls: list[str] = []
    ok = Greenlet.spawn(returns, 1)
    bad = Greenlet.spawn(raises, Error())
    for g in (ok, bad):
        g.link_value(lambda s: calls.append(f"value:{s is ok}"))
        g.link_exception(lambda s: calls.append(f"exception:{s is bad}"))
    joinall([ok, bad], timeout=LONG)
    sleep(SHORT)
    assert sorted(calls) == ["exception:True", "value:True"]


def test_linking_a_finished_greenlet_fires_soon() -> None:
    g = Greenlet.spawn(returns, 1)
    g.join(LONG)
    calls = []
    g.rawlink(calls.append)
    assert calls == []
    sleep(SHORT)
    assert calls == [g]


def test_unlink_and_has_links() -> None:
    g = Greenlet.spawn(sleeps_then_returns, SHORT)

    def cb(_source: Any) -> None:
        raise AssertionError("unlinked callback ran")

    assert not g.has_links()
    for method in (g.link, g.link_value, g.link_exception, g.rawlink):
        method(cb)
        assert g.has_links() == 1
        g.unlink(cb)
        assert g.has_links() == 0
    g.unlink(cb)  # not linked: no error
    g.rawlink(cb)
    g.link(cb)
    assert g.has_links() == 2
    g.unlink_all()
    assert not g.has_links()
    g.join(LONG)
    sleep(SHORT)


def test_a_link_can_unlink_a_later_one() -> None:
    results = []
    g = Greenlet.spawn(returns, 1)

    def first(source: Greenlet) -> None:
        source.unlink(second)
        results.append("first")

    def second(_source: Greenlet) -> None:
        results.append("second")

    g.rawlink(first)
    g.rawlink(second)
    g.join(LONG)
    sleep(SHORT)
    assert results == ["first"]


def test_failing_link_is_reported_and_others_still_run(error_stream: io.StringIO) -> None:
    results = []
    g = Greenlet.spawn(returns, 1)

    def failing(_source: Any) -> None:
        raise Error("in link")

    g.rawlink(failing)
    g.link(failing)
    g.rawlink(lambda s: results.append(s.value))
    g.join(LONG)
    sleep(SHORT)
    assert results == [1]
    assert error_stream.getvalue().count("Error: in link") == 2


def test_link_rejects_non_callables() -> None:
    g = Greenlet()
    with pytest.raises(TypeError):
        g.rawlink(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        g.link(1)  # type: ignore[arg-type]


# -- join / get ----------------------------------------------------------------------------


def test_join_timeout_returns_none_and_unlinks() -> None:
    g = Greenlet.spawn(sleep, LONG)
    try:
        began = time.perf_counter()
        assert g.join(timeout=SHORT) is None
        assert SHORT * 0.5 <= time.perf_counter() - began < LONG
        assert not g.ready()
        assert not g.has_links()
    finally:
        g.kill()


def test_join_does_not_swallow_an_outer_timeout() -> None:
    g = Greenlet.spawn(sleep, LONG)
    outer = Timeout.start_new(SHORT)
    try:
        with pytest.raises(Timeout) as info:
            g.join(timeout=LONG)
        assert info.value is outer
        assert not g.has_links()
    finally:
        outer.close()
        g.kill()


def test_get_timeout_raises_timeout() -> None:
    g = Greenlet.spawn(sleep, LONG)
    try:
        with pytest.raises(Timeout):
            g.get(timeout=SHORT)
        mine = Timeout(SHORT)
        with pytest.raises(Timeout) as info:
            g.get(timeout=mine)
        assert info.value is mine
        assert not g.has_links()
    finally:
        g.kill()


def test_get_without_blocking() -> None:
    g = Greenlet.spawn(returns, 7)
    with pytest.raises(Timeout):
        g.get(block=False)
    g.join(LONG)
    assert g.get(block=False) == 7
    never = Greenlet(returns, 1)
    with pytest.raises(Timeout):
        never.get(block=False)


def test_join_on_a_never_started_greenlet_times_out() -> None:
    g = Greenlet(returns, 1)
    assert g.join(timeout=SHORT) is None
    assert not g.ready()


def test_context_manager_joins() -> None:
    with Greenlet.spawn(sleeps_then_returns, SHORT, 3) as g:
        assert g.started
    assert g.dead and g.value == 3


def test_context_manager_kills_with_the_body_exception(error_stream: io.StringIO) -> None:
    with pytest.raises(Error):
        with Greenlet.spawn(sleep, LONG) as g:
            sleep(0)
            raise Error("from body")
    assert g.dead and not g.successful()
    with pytest.raises(Error, match="from body"):
        g.get()


# -- kill / throw ------------------------------------------------------------------------


def test_kill_before_start_prevents_running_and_runs_links() -> None:
    ran = []
    linked = []
    for start in (None, "start", "start_later"):
        g = Greenlet(ran.append, 1)
        g.link(linked.append)
        if start == "start":
            g.start()
        elif start == "start_later":
            g.start_later(SHORT)
        g.kill()
        assert g.dead and g.ready() and not g and not g.started
        assert g.successful() and isinstance(g.value, GreenletExit)
        g.kill()  # twice is harmless
        sleep(SHORT * 2)
        assert ran == []
        assert linked[-1] is g
    assert len(linked) == 3


def test_kill_before_start_with_an_error(error_stream: io.StringIO) -> None:
    g = Greenlet(returns, 1)
    g.start()
    g.kill(Error("no"), block=False)
    assert g.dead and not g.successful()
    assert isinstance(g.exception, Error)
    with pytest.raises(Error):
        g.get()
    h = Greenlet(returns, 1)
    h.kill(42)  # not an exception: the greenlet fails with TypeError
    assert isinstance(h.exception, TypeError)


def test_kill_running_greenlet_blocks_until_dead() -> None:
    cleanup = []

    def worker() -> None:
        try:
            sleep(LONG)
        finally:
            cleanup.append("done")

    g = Greenlet.spawn(worker)
    sleep(0)
    assert g and not g.dead
    assert g.kill() is None
    assert g.dead and g.successful() and isinstance(g.value, GreenletExit)
    assert cleanup == ["done"]


def test_kill_non_blocking_takes_effect_from_the_hub() -> None:
    g = Greenlet.spawn(sleep, LONG)
    sleep(0)
    g.kill(block=False)
    assert not g.dead
    g.join(LONG)
    assert g.dead and isinstance(g.value, GreenletExit)


def test_kill_with_timeout_when_the_exception_is_ignored() -> None:
    def stubborn() -> str:
        try:
            sleep(LONG)
        except GreenletExit:
            sleep(0.2)
        return "finished"

    g = Greenlet.spawn(stubborn)
    sleep(0)
    began = time.perf_counter()
    g.kill(timeout=SHORT)  # never raises
    assert time.perf_counter() - began < 0.2
    assert not g.dead
    assert g.get(timeout=LONG) == "finished"


def test_kill_with_exception_instance(error_stream: io.StringIO) -> None:
    g = Greenlet.spawn(sleep, LONG)
    sleep(0)
    err = Error("killed")
    g.kill(err)
    assert g.exception is err
    assert "killed" in error_stream.getvalue()


def test_throw_on_a_never_switched_greenlet() -> None:
    ran = []
    g = Greenlet.spawn(ran.append, 1)
    g.throw(GreenletExit)
    joinall([g], timeout=LONG)
    assert ran == []
    assert isinstance(g.value, GreenletExit) and g.exc_info is None


def test_hub_kill_uses_greenlet_kill() -> None:
    from greenkit.hub import kill

    ran = []
    g = Greenlet.spawn(ran.append, 1)
    kill(g)
    sleep(SHORT)
    assert g.dead and ran == []


# -- joinall / killall ---------------------------------------------------------------------


def test_joinall_returns_finished_in_order() -> None:
    slow = Greenlet.spawn(sleeps_then_returns, 0.05, "slow")
    fast = Greenlet.spawn(returns, "fast")
    done = joinall([slow, fast])
    assert done == [fast, slow]
    assert sorted(map(id, joinall([fast, slow, fast]))) == sorted(map(id, [fast, slow, fast]))


def test_joinall_timeout_and_count() -> None:
    forever = Greenlet.spawn(sleep, LONG)
    quick = Greenlet.spawn(returns, 1)
    try:
        assert joinall([forever, quick], count=1) == [quick]
        began = time.perf_counter()
        assert joinall([forever], timeout=SHORT) == []
        assert time.perf_counter() - began < LONG
    finally:
        forever.kill()


def test_joinall_raise_error(error_stream: io.StringIO) -> None:
    def later() -> None:
        sleep(0.05)
        raise Error("first")

    a = Greenlet.spawn(later)
    b = Greenlet.spawn(raises, Error("second"))
    with pytest.raises(Error, match="second"):
        joinall([a, b], raise_error=True)
    assert joinall([a, b], timeout=LONG) == [b, a]  # b had finished already
    ok = [Greenlet.spawn(returns, i) for i in range(3)]
    assert joinall(ok, raise_error=True) == ok


def test_joinall_count_with_errors_ignored(error_stream: io.StringIO) -> None:
    sleeper = Greenlet.spawn(sleep, LONG)
    raiser = Greenlet.spawn(raises, Error())
    try:
        assert joinall([sleeper, raiser], raise_error=False, count=1) == [raiser]
        assert not sleeper.ready()
    finally:
        sleeper.kill()


def test_killall_blocking() -> None:
    gs = [Greenlet.spawn(sleep, LONG) for _ in range(5)]
    never = Greenlet(returns, 1)
    scheduled = Greenlet.spawn(returns, 2)
    sleep(0)
    later = Greenlet.spawn(returns, 3)  # start queued, not run yet
    killall(gs + [never, scheduled, later])
    for g in gs + [never, later]:
        assert g.dead and isinstance(g.value, GreenletExit)
    assert scheduled.value == 2


def test_killall_non_blocking() -> None:
    gs = [Greenlet.spawn(sleep, LONG) for _ in range(3)]
    sleep(0)
    killall(iter(gs), block=False)
    assert not any(g.dead for g in gs)
    sleep(SHORT)
    assert all(g.dead for g in gs)


def test_killall_timeout_raises() -> None:
    def stubborn() -> None:
        while True:
            try:
                sleep(LONG)
            except GreenletExit:
                pass

    g = Greenlet.spawn(stubborn)
    sleep(0)
    try:
        with pytest.raises(Timeout):
            killall([g], timeout=SHORT)
    finally:
        g.kill(ValueError, block=False)
        sleep(SHORT)


def test_killall_raw_greenlets_and_empty() -> None:
    from greenkit.hub import spawn_raw

    killall([])
    raw = spawn_raw(returns, 1)
    killall([raw])
    assert raw.dead


# -- spawn tree / callbacks ---------------------------------------------------------------


@pytest.fixture
def tracking() -> Any:
    old = config.track_greenlet_tree
    config.track_greenlet_tree = True
    yield
    config.track_greenlet_tree = old


def test_spawn_tree_locals_and_spawning_greenlet(tracking: Any) -> None:
    seen: dict[str, Any] = {}

    def parent_body() -> None:
        child = Greenlet()
        seen["same_locals"] = child.spawn_tree_locals is getcurrent().spawn_tree_locals
        seen["spawner"] = child.spawning_greenlet() is getcurrent()

    a = Greenlet(parent_body)
    b = Greenlet(parent_body)
    assert not hasattr(getcurrent(), "spawn_tree_locals")
    assert a.spawn_tree_locals is not b.spawn_tree_locals
    assert a.spawn_tree_locals == {}
    assert a.spawning_greenlet() is getcurrent()
    a.start()
    a.join(LONG)
    assert seen == {"same_locals": True, "spawner": True}


def test_spawning_stack(tracking: Any) -> None:
    def make() -> Greenlet:
        return Greenlet()

    g = make()
    stack = g.spawning_stack
    assert stack is not None
    assert stack.f_code.co_name == "make"
    assert stack.f_back.f_code.co_name == "test_spawning_stack"
    lines = traceback.format_stack(stack)
    assert any("return Greenlet()" in line for line in lines)

    class Shallow(Greenlet):
        spawning_stack_limit = 1

    assert Shallow().spawning_stack.f_back is None


def test_spawning_stack_line_numbers_are_the_calls(tracking: Any) -> None:
    # Offsets are captured at spawn and turned into lines when read: each
    # frame shows the line its ``f_lineno`` showed at spawn time, also in a
    # loop body and in a call spread over several lines.
    class Recording(Greenlet):
        def __init__(self) -> None:
            callers = (sys._getframe(1), sys._getframe(2))
            self.expected = [(f.f_code.co_name, f.f_lineno) for f in reversed(callers)]
            Greenlet.__init__(self)

    def make(items: list[Recording]) -> None:
        for _ in range(2):
            items.append(Recording())
        items.append(Recording())

    made: list[Recording] = []
    make(made)
    assert len({g.expected[1][1] for g in made}) == 2
    for g in made:
        frames = traceback.extract_stack(g.spawning_stack)
        assert [(f.name, f.lineno) for f in frames[-3:-1]] == g.expected


def test_spawning_stack_when_frames_are_unavailable(
    tracking: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_frames(*_args: Any) -> Any:
        raise ValueError("call stack is not deep enough")

    monkeypatch.setattr(greenlet_module, "sys_getframe", no_frames)
    assert Greenlet().spawning_stack is None


def test_no_tracking_when_disabled() -> None:
    old = config.track_greenlet_tree
    config.track_greenlet_tree = False
    try:
        g = Greenlet()
    finally:
        config.track_greenlet_tree = old
    assert g.spawning_greenlet is None
    assert g.spawn_tree_locals is None
    assert g.spawning_stack is None


def test_spawn_callbacks() -> None:
    seen: list[Greenlet] = []
    Greenlet.add_spawn_callback(seen.append)
    try:
        a = Greenlet.spawn(returns, 1)
        b = Greenlet.spawn_later(0.001, returns, 2)
        c = Greenlet(returns, 3)
        assert seen == [a, b, c]
    finally:
        Greenlet.remove_spawn_callback(seen.append)
    Greenlet.remove_spawn_callback(seen.append)  # again: no error
    Greenlet.spawn(returns, 4).join(LONG)
    assert len(seen) == 3
    joinall([a, b, c], timeout=LONG)


# -- memory --------------------------------------------------------------------------------


def test_finished_greenlets_are_collectable() -> None:
    g = Greenlet.spawn(returns, object())
    g.link(lambda s: None)
    g.join(LONG)
    sleep(SHORT)
    ref = weakref.ref(g)
    del g
    gc.collect()
    assert ref() is None


def test_many_greenlets() -> None:
    gs = [Greenlet.spawn(returns, i) for i in range(2000)]
    done = joinall(gs, timeout=LONG * 5)
    assert len(done) == 2000
    assert [g.value for g in gs] == list(range(2000))
