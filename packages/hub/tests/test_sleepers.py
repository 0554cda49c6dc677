"""sleep(seconds): the hub's heap of sleepers under one loop timer."""

from __future__ import annotations

import time
from typing import Any

import pytest
from greenlet import GreenletExit

from greenkit.exceptions import LoopExit
from greenkit.hub import kill, sleep, spawn_raw


def _sleeper(seconds: float, log: list[Any], name: Any) -> None:
    sleep(seconds)
    log.append(name)


def test_sleepers_wake_in_deadline_order_and_never_early(hub: Any) -> None:
    log: list[Any] = []
    delays = [0.03, 0.01, 0.05, 0.02, 0.04, 0.01]
    for i, delay in enumerate(delays):
        spawn_raw(_sleeper, delay, log, i)
    start = time.monotonic()
    sleep(0)  # all of them fall asleep
    assert len(hub._sleepers) == len(delays)
    timer = hub._sleepers._timer
    sleep(0.08)
    # Equal delays wake in the order they fell asleep.
    assert log == [1, 5, 3, 0, 4, 2]
    assert time.monotonic() - start >= 0.05
    assert len(hub._sleepers) == 0
    # One timer served them all, and it is idle now.
    assert hub._sleepers._timer is timer and not timer.active


def test_a_sleep_lasts_at_least_its_seconds(hub: Any) -> None:
    for seconds in (0.001, 0.005, 0.02):
        start = time.monotonic()
        sleep(seconds)
        assert time.monotonic() - start >= seconds


def test_a_killed_sleeper_is_never_woken_and_lets_the_loop_end(hub: Any) -> None:
    log: list[Any] = []
    glet = spawn_raw(_sleeper, 3600, log, "late")
    sleep(0)
    assert len(hub._sleepers) == 1
    kill(glet)
    sleep(0)
    assert glet.dead and len(hub._sleepers) == 0
    assert not hub._sleepers._timer.active
    # Nothing keeps the loop alive any more.
    assert hub.join(timeout=5) is True
    assert log == []


def test_an_interrupted_sleeper_sleeps_again_without_a_stray_wake_up(hub: Any) -> None:
    class Interrupt(Exception):
        pass

    log: list[Any] = []

    def body() -> None:
        try:
            sleep(0.02)
        except Interrupt:
            log.append("interrupted")
        start = time.monotonic()
        sleep(0.06)  # the first sleep's deadline passes meanwhile
        log.append(time.monotonic() - start >= 0.06)

    glet = spawn_raw(body)
    sleep(0)
    kill(glet, Interrupt)
    deadline = time.monotonic() + 10
    while not glet.dead and time.monotonic() < deadline:
        sleep(0.01)
    assert log == ["interrupted", True]


def test_many_abandoned_sleepers_are_dropped(hub: Any) -> None:
    log: list[Any] = []
    victims = [spawn_raw(_sleeper, 3600, log, "late") for _ in range(1000)]
    survivors = [spawn_raw(_sleeper, 0.5 + n / 1000, log, n) for n in range(10)]
    sleep(0)
    assert len(hub._sleepers) == 1010
    for glet in victims:
        kill(glet)
    sleep(0)
    assert len(hub._sleepers) == 10
    # The heap was rebuilt without the marked entries (not left to an hour).
    assert len(hub._sleepers._heap) < 500
    deadline = time.monotonic() + 10
    while not all(g.dead for g in survivors) and time.monotonic() < deadline:
        sleep(0.05)
    assert log == list(range(10))


def test_an_error_in_a_woken_sleeper_goes_to_the_hub_and_the_rest_still_wake(
    hub: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    log: list[Any] = []

    def failing() -> None:
        sleep(0.01)
        raise ZeroDivisionError("from a sleeper")

    spawn_raw(failing)
    spawn_raw(_sleeper, 0.01, log, "after")
    sleep(0.05)
    assert log == ["after"]
    assert "ZeroDivisionError" in capsys.readouterr().err


def test_sleep_without_ref_does_not_keep_the_loop_alive(hub: Any) -> None:
    glet = spawn_raw(sleep, 3600, False)
    sleep(0)
    assert len(hub._sleepers) == 0
    assert hub.join(timeout=5) is True
    kill(glet, GreenletExit)


def test_a_swapped_loop_gets_a_timer_per_sleep(hub: Any) -> None:
    # A loop the hub did not start with (a test's proxy) is used through its
    # public API: sleep() starts a timer of it and updates its time.
    real = hub.loop
    calls: list[str] = []

    class Proxy:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def update_now(self) -> None:
            calls.append("update_now")
            real.update_now()

        def timer(self, *args: Any, **kwargs: Any) -> Any:
            calls.append("timer")
            return real.timer(*args, **kwargs)

    hub._timer_pool.clear()
    hub.loop = Proxy()
    try:
        sleep(0.01)
    finally:
        hub.loop = real
    assert calls == ["timer", "update_now"]
    assert len(hub._sleepers) == 0


def test_the_hub_wakes_with_no_sleeper_left_after_loop_exit(hub: Any) -> None:
    # The only sleeper leaves: waiting on nothing is a LoopExit, as with
    # a timer per sleep.
    glet = spawn_raw(sleep, 3600)
    sleep(0)
    kill(glet)
    with pytest.raises(LoopExit):
        hub.switch()


def test_a_woken_sleeper_that_interrupts_the_others_leaves_the_heap_consistent(
    hub: Any,
) -> None:
    # Woken first, one sleeper interrupts 500 others synchronously, from
    # inside the timer's callback (the heap is rebuilt while that callback
    # walks it), and sleeps again; the others still wake, and the counts
    # end at zero.
    class Interrupt(Exception):
        pass

    log: list[Any] = []

    def victim() -> None:
        try:
            sleep(0.02)  # due before the survivor
        except Interrupt:
            killer_glet.switch()  # straight back to the killer

    victims = [spawn_raw(victim) for _ in range(500)]

    def killer() -> None:
        sleep(0.01)
        for glet in victims:
            glet.throw(Interrupt)
        log.append("interrupted")
        sleep(0.06)
        log.append("killer again")

    killer_glet = spawn_raw(killer)
    survivor = spawn_raw(_sleeper, 0.03, log, "survivor")
    deadline = time.monotonic() + 10
    while not (killer_glet.dead and survivor.dead) and time.monotonic() < deadline:
        sleep(0.01)
    assert log == ["interrupted", "survivor", "killer again"]
    assert survivor.dead and killer_glet.dead
    sleepers = hub._sleepers
    assert len(sleepers) == 0 and sleepers._marked == 0 and sleepers._heap == []
