"""Tests of the greenkit_testing pytest plugin, through pytester.

Runs that leak descriptors or end the process on purpose are made in a
subprocess so that this process stays clean.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time

import pytest

import greenkit_testing
from greenkit_testing import plugin

FD_LEAK_TESTS = """
import os
import pytest

def test_leaks_a_file(fd_leak_check, tmp_path):
    path = tmp_path / "leaked-file.txt"
    path.write_text("x")
    os.open(str(path), os.O_RDONLY)

@pytest.mark.fd_leak_check
def test_leaks_a_pipe_marked():
    os.pipe()

def test_closes_everything(fd_leak_check):
    r, w = os.pipe()
    os.close(r)
    os.close(w)

def test_unchecked_leak_is_not_reported():
    os.pipe()
"""


def test_plugin_is_loaded_by_entry_point(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.hasplugin("greenkit_testing")
    assert pytestconfig.pluginmanager.getplugin("greenkit_testing") is plugin


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.deadline(seconds):*",
            "@pytest.mark.fd_leak_check:*",
            "@pytest.mark.greenlet_leak_check:*",
        ]
    )


def test_open_fds_lists_a_new_pipe() -> None:
    before = greenkit_testing.open_fds()
    assert before is not None
    r, w = os.pipe()
    try:
        now = greenkit_testing.open_fds()
        assert now is not None
        assert {r, w} <= set(now) and not {r, w} & set(before)
        assert now[r].startswith("pipe:")
    finally:
        os.close(r)
        os.close(w)


def test_fd_leak_check_names_leaked_fds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fds=FD_LEAK_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*test leaked 1 file descriptor(s): fd * -> */leaked-file.txt*",
            "*test leaked 2 file descriptor(s): fd * -> pipe:*, fd * -> pipe:*",
        ]
    )
    result.stdout.fnmatch_lines(["ERROR test_fds.py::test_leaks_a_file*"])
    result.stdout.fnmatch_lines(["ERROR test_fds.py::test_leaks_a_pipe_marked*"])


def test_fd_leak_check_module_mark(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mod="""
        import os
        import pytest
        pytestmark = pytest.mark.fd_leak_check

        def test_one():
            os.pipe()

        def test_two():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)


SLEEPER = """
import time
import pytest

{decorator}
def test_sleeps_too_long():
    time.sleep(30)
"""


def _run_sleeper(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, decorator: str, env: str | None
) -> tuple[pytest.RunResult, float]:
    pytester.makepyfile(test_sleeper=SLEEPER.format(decorator=decorator))
    if env is None:
        monkeypatch.delenv(plugin.DEADLINE_ENV, raising=False)
    else:
        monkeypatch.setenv(plugin.DEADLINE_ENV, env)
    start = time.monotonic()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=25)
    return result, time.monotonic() - start


def test_deadline_marker_ends_a_hanging_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, elapsed = _run_sleeper(pytester, monkeypatch, "@pytest.mark.deadline(0.5)", None)
    assert result.ret != 0
    assert elapsed < 20
    result.stderr.fnmatch_lines(["Timeout (0:00:00.500000)!*", "*in test_sleeps_too_long*"])


def test_deadline_from_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, elapsed = _run_sleeper(pytester, monkeypatch, "", "0.5")
    assert result.ret != 0
    assert elapsed < 20
    result.stderr.fnmatch_lines(["Timeout*", "*in test_sleeps_too_long*"])


def test_deadline_zero_switches_it_off(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_quick="""
        import time
        import pytest

        @pytest.mark.deadline(0)
        def test_slower_than_env_deadline():
            time.sleep(0.6)

        @pytest.mark.deadline(None)
        def test_none_too():
            time.sleep(0.6)
        """
    )
    monkeypatch.setenv(plugin.DEADLINE_ENV, "0.3")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=25)
    result.assert_outcomes(passed=2)


def test_deadline_is_cancelled_between_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each test is shorter than the deadline, their sum is longer.
    pytester.makepyfile(
        test_many="""
        import time
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_short(n):
            time.sleep(0.3)
        """
    )
    monkeypatch.setenv(plugin.DEADLINE_ENV, "0.8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=25)
    result.assert_outcomes(passed=4)


def test_bad_deadline_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plugin.DEADLINE_ENV, "soon")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=25)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*GREENKIT_TEST_DEADLINE: 'soon' is not a number of seconds*"])


def test_greenlet_leak_check(pytester: pytest.Pytester) -> None:
    pytest.importorskip("greenlet")
    pytester.makepyfile(
        test_glets="""
        import greenlet
        import pytest

        PARKED = []

        def test_parks_a_greenlet(greenlet_leak_check):
            g = greenlet.greenlet(lambda: greenlet.getcurrent().parent.switch())
            g.switch()
            PARKED.append(g)

        @pytest.mark.greenlet_leak_check
        def test_finishes_its_greenlet():
            g = greenlet.greenlet(lambda: 42)
            assert g.switch() == 42
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=25)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*test left greenlets alive: <greenlet.greenlet object*"])


def test_greenlet_leak_check_without_greenlet(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import sys
        sys.modules["greenlet"] = None  # as if it were not installed
        """
    )
    pytester.makepyfile(
        test_noglet="""
        def test_checked(greenlet_leak_check):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=25)
    result.assert_outcomes(passed=1)


def _greenkit_installed() -> bool:
    try:
        return importlib.util.find_spec("greenkit") is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.skipif(_greenkit_installed(), reason="a real greenkit is installed here")
def test_fresh_loop_skips_without_loop_libev(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_loop="""
        def test_uses_loop(fresh_loop):
            raise AssertionError("not reached")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", timeout=25)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*greenkit-loop-libev is not installed*"])


@pytest.mark.skipif(_greenkit_installed(), reason="a real greenkit is installed here")
def test_fresh_loop_makes_and_destroys_a_loop(pytester: pytest.Pytester) -> None:
    # A stand-in greenkit.loop.libev portion in the run's folder.
    libev = pytester.path / "greenkit" / "loop" / "libev"
    libev.mkdir(parents=True)
    (libev / "__init__.py").write_text(
        "EVENTS = []\n"
        "class loop:\n"
        "    def __init__(self, default=None):\n"
        "        EVENTS.append(('new', default))\n"
        "    def destroy(self):\n"
        "        EVENTS.append(('destroy', None))\n"
    )
    pytester.makepyfile(
        test_loop="""
        from greenkit.loop import libev

        def test_gets_a_fresh_loop(fresh_loop):
            assert isinstance(fresh_loop, libev.loop)
            assert libev.EVENTS == [("new", False)]

        def test_destroyed_after():
            assert libev.EVENTS == [("new", False), ("destroy", None)]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=25)
    result.assert_outcomes(passed=2)


def test_not_in_greenkit_namespace() -> None:
    assert greenkit_testing.__name__ == "greenkit_testing"
    assert "greenkit" not in sys.modules or sys.modules["greenkit"] is not greenkit_testing
