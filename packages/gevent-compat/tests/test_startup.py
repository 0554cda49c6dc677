"""GREENKIT_AS_GEVENT: the start-up hook switches the alias on for a whole process tree."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import needs_startup_hook, real_gevent_installed, run_child

pytestmark = needs_startup_hook

PROBE = textwrap.dedent(
    """
    import sys
    import gevent, gevent.hub, greenkit, greenkit.hub
    print(gevent.__version__, gevent.hub is greenkit.hub,
          greenkit.__version__ != gevent.__version__)
    """
)


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_true_values_switch_the_alias_on(value: str) -> None:
    result = run_child("-c", PROBE, alias=value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["26.9.0", "True", "True"]
    assert result.stderr == ""


def test_child_processes_inherit_the_alias() -> None:
    code = textwrap.dedent(
        f"""
        import subprocess, sys
        out = subprocess.run([sys.executable, "-c", {PROBE!r}], capture_output=True, text=True)
        print(out.stdout.strip(), out.returncode)
        """
    )
    result = run_child("-c", code, alias="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["26.9.0", "True", "True", "0"]


#: Which gevent imports, and whether the hook loaded any of greenkit.
WHICH_GEVENT = textwrap.dedent(
    """
    import sys
    import gevent, gevent.hub
    print(gevent.hub.__name__, gevent.__version__, "greenkit.gevent_compat" in sys.modules)
    """
)

needs_real_gevent = pytest.mark.skipif(
    not real_gevent_installed(), reason="needs gevent installed beside greenkit"
)


@needs_real_gevent
@pytest.mark.parametrize("value", [None, "", "0", "false", "off"])
def test_off_leaves_a_real_gevent_untouched(value: str | None) -> None:
    result = run_child("-c", WHICH_GEVENT, alias=value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["gevent.hub", "26.9.0", "False"]
    assert result.stderr == ""


@needs_real_gevent
def test_on_the_alias_wins_over_a_real_gevent() -> None:
    code = WHICH_GEVENT + textwrap.dedent(
        """
        import importlib.metadata, os
        init = importlib.metadata.distribution("gevent").locate_file("gevent/__init__.py")
        real = os.path.dirname(str(init))
        files = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
        loaded = [f for f in files if f.startswith(real)]
        print(loaded)
        """
    )
    result = run_child("-c", code, alias="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["greenkit.hub 26.9.0 True", "[]"]


def test_off_imports_nothing_of_greenkit() -> None:
    code = textwrap.dedent(
        """
        import sys
        try:
            import gevent
        except ImportError:
            pass
        print(sorted(m for m in sys.modules if m.startswith("greenkit")))
        """
    )
    result = run_child("-c", code, alias="0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_value_that_is_not_a_boolean_leaves_it_off_with_one_line() -> None:
    code = "import sys; print([f for f in sys.meta_path if 'Alias' in type(f).__name__])"
    result = run_child("-c", code, alias="maybe")
    assert result.returncode == 0
    assert result.stdout.strip() == "[]"
    assert result.stderr.strip().splitlines() == [
        "greenkit-gevent-compat: GREENKIT_AS_GEVENT='maybe' is not a boolean"
        " (1/0, true/false, yes/no, on/off); the gevent alias stays off"
    ]


def test_python_dash_m_gevent_monkey_runs_greenkits_runner(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            """
            import socket, sys
            import gevent.monkey, greenkit.socket
            patched = gevent.monkey.is_module_patched("socket")
            print(patched, socket.socket is greenkit.socket.socket)
            print(sys.argv[1:])
            """
        )
    )
    result = run_child("-m", "gevent.monkey", str(script), "arg1", alias="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["True True", "['arg1']"]


def test_interpreter_exits_cleanly_with_the_alias_on() -> None:
    code = "import gevent; gevent.spawn(gevent.sleep, 0.01).join(); print('done')"
    result = run_child("-c", code, alias="1")
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "done", "")
