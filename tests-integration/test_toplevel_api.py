"""The assembled set offers what ``import gevent`` offers, under ``greenkit``.

gevent's top-level names resolve to the pieces' objects and work together;
every public gevent module has its ``greenkit`` counterpart; and
``import greenkit`` stays cheap (nothing but the meta-package loads).
"""

from __future__ import annotations

import importlib
import importlib.util
import signal
import time

import pytest
from conftest import run_script

import greenkit
from greenkit_testing.gevent_api import GEVENT_TOP_LEVEL_ALL

#: gevent's public modules (``gevent.X`` -> ``greenkit.X``).
GEVENT_MODULES = (
    "backdoor",
    "baseserver",
    "contextvars",
    "event",
    "events",
    "exceptions",
    "fileobject",
    "greenlet",
    "hub",
    "local",
    "lock",
    "monkey",
    "os",
    "pool",
    "pywsgi",
    "queue",
    "resolver",
    "resolver.blocking",
    "resolver.thread",
    "select",
    "selectors",
    "server",
    "signal",
    "socket",
    "ssl",
    "subprocess",
    "thread",
    "threading",
    "threadpool",
    "time",
    "timeout",
    "util",
)


@pytest.mark.parametrize("name", GEVENT_TOP_LEVEL_ALL)
def test_gevent_top_level_name_resolves(name: str) -> None:
    assert name in greenkit.__all__
    assert getattr(greenkit, name) is not None


def test_top_level_names_are_the_pieces_objects() -> None:
    from greenkit import greenlet, hub, os, timeout

    assert greenkit.Greenlet is greenlet.Greenlet
    assert greenkit.spawn == greenlet.Greenlet.spawn
    assert greenkit.joinall is greenlet.joinall
    assert greenkit.Timeout is timeout.Timeout
    assert greenkit.sleep is hub.sleep
    assert greenkit.get_hub is hub.get_hub
    assert greenkit.wait is hub.wait
    assert greenkit.iwait is hub.iwait
    assert greenkit.fork is os.fork
    assert greenkit.signal_handler is hub.signal_handler
    assert greenkit.config is importlib.import_module("greenkit.config")


@pytest.mark.parametrize("name", GEVENT_MODULES)
def test_gevent_module_has_a_counterpart(name: str) -> None:
    if name == "ssl" and importlib.util.find_spec("greenkit.ssl") is None:
        pytest.skip("greenkit.ssl is not installed (layer 6, in progress)")
    module = importlib.import_module(f"greenkit.{name}")
    assert module.__name__ == f"greenkit.{name}"
    if not name.startswith("resolver."):
        assert isinstance(module.__all__, list | tuple)


def test_top_level_api_works_together() -> None:
    def nap(n: int) -> int:
        greenkit.sleep(0.2)
        return n

    started = time.monotonic()
    jobs = [greenkit.spawn(nap, n) for n in range(10)]
    later = greenkit.spawn_later(0.1, lambda: "later")
    assert set(greenkit.joinall(jobs + [later], timeout=30)) == {*jobs, later}
    assert [job.value for job in jobs] == list(range(10))
    assert later.value == "later"
    assert time.monotonic() - started < 1.5  # ten 0.2 s sleeps at once

    assert sorted(
        j.value for j in greenkit.iwait([greenkit.spawn(lambda n=n: n) for n in range(3)])
    ) == [0, 1, 2]
    assert len(greenkit.wait([greenkit.spawn(greenkit.sleep, 0)], timeout=30)) == 1
    assert greenkit.with_timeout(5, lambda: "in time") == "in time"
    with pytest.raises(greenkit.Timeout):
        greenkit.with_timeout(0.05, greenkit.sleep, 5)
    assert greenkit.with_timeout(0.05, greenkit.sleep, 5, timeout_value="late") == "late"

    stuck = greenkit.spawn(greenkit.sleep, 60)
    greenkit.sleep(0)
    greenkit.kill(stuck)  # asynchronous: it dies when it next runs
    stuck.join(30)
    assert stuck.dead
    assert isinstance(stuck.value, greenkit.GreenletExit)
    many = [greenkit.spawn(greenkit.sleep, 60) for _ in range(5)]
    greenkit.killall(many, timeout=30)
    assert all(g.dead for g in many)
    assert greenkit.getcurrent() is not greenkit.get_hub()


def test_signal_handler_runs_in_a_greenlet() -> None:
    got = []
    handler = greenkit.signal_handler(signal.SIGUSR1, got.append, "usr1")
    try:
        import os

        os.kill(os.getpid(), signal.SIGUSR1)
        with greenkit.Timeout(30):
            while not got:
                greenkit.sleep(0.01)
    finally:
        handler.cancel()
    assert got == ["usr1"]


def test_from_greenkit_import_monkey_like_gevent() -> None:
    loaded = run_script("""
        import sys
        import greenkit
        bare = sorted(m for m in sys.modules if m.startswith("greenkit."))
        from greenkit import monkey
        report({"bare": bare, "patch_all": callable(monkey.patch_all),
                "servers": "greenkit.pywsgi" in sys.modules})
    """)
    # The top level imports no piece until one of its names is used, and
    # the monkey module does not drag the servers in.
    assert loaded == {"bare": [], "patch_all": True, "servers": False}


def test_forked_child_runs_its_own_hub() -> None:
    result = run_script("""
        import os
        import greenkit
        greenkit.sleep(0.01)  # the parent's hub is running
        pid = greenkit.fork()
        if pid == 0:
            jobs = [greenkit.spawn(greenkit.sleep, 0.1) for _ in range(3)]
            greenkit.joinall(jobs)
            os._exit(0 if all(j.successful() for j in jobs) else 3)
        _, status = os.waitpid(pid, 0)
        report(os.waitstatus_to_exitcode(status))
    """)
    assert result == 0
