"""The examples from the specification seeds, run against the assembled greenkit."""

from __future__ import annotations

import io
import re
import time

import pytest

import greenkit
from greenkit.hub import Waiter, get_hub


def test_waiter_blocks_until_the_timer_switches() -> None:
    result = Waiter()
    timer = get_hub().loop.timer(0.1)
    timer.start(result.switch, "hello from Waiter")
    start = time.monotonic()
    assert result.get() == "hello from Waiter"
    assert time.monotonic() - start >= 0.05
    timer.close()


def test_waiter_stores_a_switch_that_comes_first() -> None:
    result = Waiter()
    timer = get_hub().loop.timer(0.1)
    timer.start(result.switch, "hi from Waiter")
    greenkit.sleep(0.2)
    start = time.monotonic()
    assert result.get() == "hi from Waiter"
    assert time.monotonic() - start < 0.05
    timer.close()


def test_timeout_raises_itself_after_the_delay() -> None:
    greenkit.Timeout(0.1).start()
    with pytest.raises(greenkit.Timeout) as info:
        greenkit.sleep(0.2)
    assert str(info.value) == "0.1 seconds"


def test_timeout_false_is_silenced_by_the_with_block() -> None:
    data = None
    with greenkit.Timeout(0.05, False):
        greenkit.sleep(1)
        data = "read"
    assert data is None


def test_with_timeout_returns_the_timeout_value() -> None:
    assert greenkit.with_timeout(0.05, greenkit.sleep, 1, timeout_value="late") == "late"
    assert greenkit.with_timeout(1, lambda: "early") == "early"


def test_greenlet_failure_report() -> None:
    hub = get_hub()
    stream = io.StringIO()
    hub.exception_stream = stream
    try:

        def divide() -> float:
            return 1 / 0

        g = greenkit.spawn(divide)
        g.join()
    finally:
        del hub.exception_stream
    assert isinstance(g.exception, ZeroDivisionError)
    assert not g.successful()
    report = stream.getvalue()
    assert "ZeroDivisionError: division by zero" in report
    assert re.search(
        r"<Greenlet at 0x[0-9a-f]+: .*divide.*> failed with ZeroDivisionError", report
    ), report


def test_subclass_str_customises_the_report() -> None:
    class Named(greenkit.Greenlet):
        def _run(self) -> None:
            raise KeyError("k")

        def __str__(self) -> str:
            return "<the named one>"

    hub = get_hub()
    stream = io.StringIO()
    hub.exception_stream = stream
    try:
        g = Named.spawn()
        g.join()
    finally:
        del hub.exception_stream
    assert "<the named one> failed with KeyError" in stream.getvalue()


def test_spawn_join_values_and_joinall() -> None:
    jobs = [greenkit.spawn(lambda x: x * 2, i) for i in range(5)]
    done = greenkit.joinall(jobs, timeout=5)
    assert len(done) == 5
    assert [g.value for g in jobs] == [0, 2, 4, 6, 8]


def test_killed_greenlet_is_successful_with_greenletexit_value() -> None:
    g = greenkit.spawn(greenkit.sleep, 10)
    greenkit.sleep(0)
    g.kill()
    assert g.dead and g.successful()
    assert isinstance(g.value, greenkit.GreenletExit)
