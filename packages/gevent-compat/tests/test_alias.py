"""The alias installed from code: gevent's names give greenkit's very modules."""

from __future__ import annotations

import importlib
import sys
import types

import pytest

import greenkit
import greenkit.gevent_compat as compat
import greenkit.hub

pytestmark = pytest.mark.usefixtures("alias")

#: gevent modules that dependents import, each the greenkit module of the same name.
SAME_NAME = [
    "hub", "greenlet", "timeout", "event", "queue", "lock", "pool", "local", "socket",
    "ssl", "select", "selectors", "subprocess", "threadpool", "monkey", "server",
    "baseserver", "pywsgi", "os", "signal", "thread", "threading", "time", "util",
    "events", "exceptions", "fileobject", "backdoor", "contextvars", "resolver",
    "resolver.thread", "resolver.blocking", "_socketcommon", "_interfaces",
]  # fmt: skip


@pytest.mark.parametrize("name", SAME_NAME)
def test_gevent_module_is_the_greenkit_module(name: str) -> None:
    ours = importlib.import_module(f"gevent.{name}")
    assert ours is importlib.import_module(f"greenkit.{name}")
    assert sys.modules[f"gevent.{name}"] is ours
    # The greenkit module keeps its own name and spec.
    assert ours.__name__ == f"greenkit.{name}"
    assert ours.__spec__ is not None and ours.__spec__.name == f"greenkit.{name}"


def test_from_gevent_import_submodules() -> None:
    from gevent import monkey, pool, pywsgi, socket

    assert monkey is sys.modules["greenkit.monkey"]
    assert pool.Pool is sys.modules["greenkit.pool"].Pool
    assert socket.socket is sys.modules["greenkit.socket"].socket
    assert pywsgi.WSGIServer is sys.modules["greenkit.pywsgi"].WSGIServer


def test_renamed_modules() -> None:
    import gevent.core
    import gevent.libev

    import greenkit.loop.libev

    assert gevent.core is greenkit.loop.libev
    assert gevent.libev is greenkit.loop.libev
    assert gevent.core.loop is greenkit.loop.libev.loop
    assert importlib.import_module("gevent.resolver_thread") is importlib.import_module(
        "greenkit.resolver.thread"
    )


def test_top_level_falls_through_to_greenkit() -> None:
    import gevent

    for name in ("spawn", "sleep", "Greenlet", "Timeout", "get_hub", "joinall", "killall"):
        assert getattr(gevent, name) is getattr(greenkit, name), name
    assert set(greenkit.__all__) <= set(dir(gevent))
    assert gevent.__all__ == list(greenkit.__all__)
    with pytest.raises(AttributeError, match="module 'gevent' has no attribute 'no_such_name'"):
        gevent.no_such_name  # noqa: B018


@pytest.mark.parametrize("name", ["event", "exceptions", "greenlet", "hub", "os", "timeout"])
def test_submodules_gevents_init_imports_are_attributes(name: str) -> None:
    import gevent

    sys.modules.pop(f"gevent.{name}", None)
    gevent.__dict__.pop(name, None)
    module = getattr(gevent, name)
    assert module is importlib.import_module(f"greenkit.{name}")
    assert sys.modules[f"gevent.{name}"] is module
    assert name in dir(gevent)


def test_dir_lists_only_readable_names() -> None:
    import gevent

    unreadable = [name for name in dir(gevent) if not hasattr(gevent, name)]
    assert unreadable == []


def test_versions() -> None:
    import gevent

    assert gevent.__version__ == compat.GEVENT_VERSION == "26.9.0"
    assert gevent.version_info == (26, 9, 0, "final", 0)
    assert gevent.version_info[:2] >= (1, 4)  # the kind of check dependents make
    assert gevent.version_info.major == 26
    # greenkit keeps its own version.
    assert greenkit.__version__ != gevent.__version__
    assert greenkit.version_info != gevent.version_info


def test_one_object_for_isinstance_and_patches(monkeypatch: pytest.MonkeyPatch) -> None:
    import gevent
    import gevent.hub

    g = gevent.spawn(lambda: 42)
    assert isinstance(g, greenkit.Greenlet)
    assert g.get() == 42
    monkeypatch.setattr(gevent.hub, "_gevent_compat_probe", "seen", raising=False)
    assert greenkit.hub._gevent_compat_probe == "seen"  # type: ignore[attr-defined]


def test_submodule_binding_stays_on_the_gevent_module() -> None:
    import gevent
    import gevent.pool

    assert gevent.__dict__["pool"] is sys.modules["greenkit.pool"]
    # Nothing of gevent's leaks into greenkit's top level.
    assert greenkit.__version__ == importlib.import_module("greenkit._version").__version__


def test_missing_gevent_module_is_not_found() -> None:
    with pytest.raises(ModuleNotFoundError) as info:
        importlib.import_module("gevent.libuv.loop")
    assert info.value.name is not None and info.value.name.startswith("gevent.libuv")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("gevent.no_such_module")


def test_install_is_idempotent_and_first_on_meta_path() -> None:
    compat.install()
    finders = [f for f in sys.meta_path if type(f).__name__ == "GeventAliasFinder"]
    assert len(finders) == 1
    assert sys.meta_path[0] is finders[0]
    assert compat.is_installed()


def test_uninstall_forgets_the_gevent_names() -> None:
    import gevent.hub  # noqa: F401

    compat.uninstall()
    assert not compat.is_installed()
    assert "gevent" not in sys.modules and "gevent.hub" not in sys.modules
    # greenkit's modules stay imported under their own names.
    assert sys.modules["greenkit.hub"] is greenkit.hub
    compat.install()  # for the fixture's uninstall


def test_install_refuses_after_a_real_gevent_import(monkeypatch: pytest.MonkeyPatch) -> None:
    compat.uninstall()
    monkeypatch.setitem(sys.modules, "gevent", types.ModuleType("gevent"))
    with pytest.raises(RuntimeError, match="gevent is already imported"):
        compat.install()
    assert not compat.is_installed()
    monkeypatch.delitem(sys.modules, "gevent")
    compat.install()  # for the fixture's uninstall
