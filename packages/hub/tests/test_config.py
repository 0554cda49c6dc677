"""greenkit.config: settings, environment variables (greenkit's and gevent's), validation."""

from __future__ import annotations

import io
import os
import sys
import types
from collections.abc import Iterator

import pytest

from greenkit import config
from greenkit.config import Config, ConfigWarning, ImportableSetting, validate_bool
from greenkit_testing import run_python

ALL_SETTINGS = [
    "resolver",
    "threadpool",
    "threadpool_idle_task_timeout",
    "loop",
    "format_context",
    "libev_backend",
    "fileobject",
    "disable_watch_children",
    "track_greenlet_tree",
    "monitor_thread",
    "max_blocking_time",
    "print_blocking_reports",
    "memory_monitor_period",
    "max_memory_usage",
    "trace_malloc",
    "resolver_nameservers",
    "resolver_timeout",
    "ares_flags",
    "ares_timeout",
    "ares_tries",
    "ares_ndots",
    "ares_udp_port",
    "ares_tcp_port",
    "ares_servers",
]


@pytest.fixture(autouse=True)
def clean_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from the defaults: no relevant variables, nothing cached."""
    for setting in config.settings.values():
        for key in setting.environment_keys:
            monkeypatch.delenv(key, raising=False)
    config._reset()
    yield
    config._reset()


def fake_module(monkeypatch: pytest.MonkeyPatch, dotted: str, **attrs: object) -> types.ModuleType:
    """Install a stand-in module (and its parents) in sys.modules for this test."""
    parts = dotted.split(".")
    for i in range(2, len(parts)):
        parent = ".".join(parts[:i])
        if parent not in sys.modules or sys.modules[parent] is None:
            monkeypatch.setitem(sys.modules, parent, types.ModuleType(parent))
    module = types.ModuleType(dotted)
    for name, value in attrs.items():
        setattr(module, name, value)
    monkeypatch.setitem(sys.modules, dotted, module)
    return module


def block_module(monkeypatch: pytest.MonkeyPatch, dotted: str) -> None:
    """Make ``import dotted`` fail for this test."""
    monkeypatch.setitem(sys.modules, dotted, None)


# -- the module as the configuration object ----------------------------------


def test_every_documented_setting_exists() -> None:
    assert sorted(config.settings) == sorted(ALL_SETTINGS)
    assert config.settings is config.config.settings
    for name in ALL_SETTINGS:
        assert name in dir(config)


def test_defaults() -> None:
    from pprint import saferepr

    from greenkit.loop.libev import loop

    assert config.loop is loop
    assert config.format_context is saferepr
    assert config.max_blocking_time == 0.1
    assert config.monitor_thread is False
    assert config.print_blocking_reports is True
    assert config.track_greenlet_tree is True
    assert config.disable_watch_children is False
    assert config.memory_monitor_period == 5.0
    assert config.max_memory_usage is None
    assert config.libev_backend is None
    assert config.threadpool_idle_task_timeout == 5.0
    assert config.trace_malloc is False
    assert config.resolver_nameservers is None
    assert config.resolver_timeout is None
    for name in (
        "ares_flags",
        "ares_timeout",
        "ares_tries",
        "ares_ndots",
        "ares_udp_port",
        "ares_tcp_port",
        "ares_servers",
    ):
        assert getattr(config, name) is None


def test_loop_from_config_creates_a_loop() -> None:
    loop = config.loop(default=False)
    try:
        assert not loop.default
    finally:
        loop.destroy()


def test_set_get_and_attribute_assignment() -> None:
    config.max_blocking_time = 0.5
    assert config.max_blocking_time == 0.5
    assert config.get("max_blocking_time") == 0.5
    config.set("max_blocking_time", "0.25")
    assert config.max_blocking_time == 0.25
    assert config.config.max_blocking_time == 0.25
    assert config.settings["max_blocking_time"].source == "code"
    del config.max_blocking_time
    assert config.max_blocking_time == 0.1


def test_unknown_setting() -> None:
    with pytest.raises(AttributeError, match="no_such_setting"):
        config.set("no_such_setting", True)
    with pytest.raises(AttributeError):
        config.get("no_such_setting")
    with pytest.raises(AttributeError):
        config.no_such_setting  # noqa: B018
    with pytest.raises(AttributeError):
        config.config.no_such_setting = 1


def test_value_is_read_once_then_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENKIT_MAX_BLOCKING_TIME", "2")
    assert config.max_blocking_time == 2.0
    monkeypatch.setenv("GREENKIT_MAX_BLOCKING_TIME", "3")
    assert config.max_blocking_time == 2.0
    config._reset("max_blocking_time")
    assert config.max_blocking_time == 3.0


def test_code_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENKIT_MONITOR_THREAD", "true")
    config.monitor_thread = False
    assert config.monitor_thread is False


def test_independent_config_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    config.max_blocking_time = 7
    other = Config()
    assert other.max_blocking_time == 0.1
    other.max_blocking_time = 3
    assert config.max_blocking_time == 7
    assert sorted(dir(other)) == sorted(ALL_SETTINGS)
    assert other.__getattr__("max_blocking_time") == 3


def test_print_help_lists_settings_and_variables() -> None:
    out = io.StringIO()
    config.print_help(out)
    text = out.getvalue()
    for name in ALL_SETTINGS:
        assert f"\n{name}\n" in text
    for key in (
        "GREENKIT_LOOP",
        "GEVENT_LOOP",
        "GEVENT_BACKEND",
        "GEVENT_FILE",
        "GEVENT_MONITOR_THREAD_ENABLE",
        "GEVENT_MONITOR_MEMORY_MAX",
        "GEVENTARES_SERVERS",
    ):
        assert key in text


def test_python_dash_m_prints_help() -> None:
    env = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = run_python(argv=["-m", "greenkit.config"], env=env, timeout=60)
    assert "max_blocking_time" in result.stdout
    assert "GEVENT_MAX_BLOCKING_TIME" in result.stdout


# -- environment variables ------------------------------------------------------


def test_environment_keys() -> None:
    setting = config.settings["libev_backend"]
    assert setting.environment_key == "GREENKIT_LIBEV_BACKEND"
    assert setting.environment_keys[:2] == ("GREENKIT_LIBEV_BACKEND", "GEVENT_BACKEND")
    assert config.settings["monitor_thread"].environment_keys[:2] == (
        "GREENKIT_MONITOR_THREAD",
        "GEVENT_MONITOR_THREAD_ENABLE",
    )
    assert "GEVENT_NOWAITPID" in config.settings["disable_watch_children"].environment_keys
    assert "GEVENTARES_TRIES" in config.settings["ares_tries"].environment_keys


@pytest.mark.parametrize(
    ("key", "name", "raw", "expected"),
    [
        ("GEVENT_MAX_BLOCKING_TIME", "max_blocking_time", "0.5", 0.5),
        ("GEVENT_MONITOR_THREAD_ENABLE", "monitor_thread", "yes", True),
        ("GEVENT_MONITOR_PRINT_BLOCKING_REPORTS", "print_blocking_reports", "off", False),
        ("GEVENT_TRACK_GREENLET_TREE", "track_greenlet_tree", "0", False),
        ("GEVENT_NOWAITPID", "disable_watch_children", "1", True),
        ("GEVENT_DISABLE_WATCH_CHILDREN", "disable_watch_children", "true", True),
        ("GEVENT_MONITOR_MEMORY_PERIOD", "memory_monitor_period", "10", 10.0),
        ("GEVENT_MONITOR_MEMORY_MAX", "max_memory_usage", "10MB", 10 * 1024 * 1024),
        ("GEVENT_THREADPOOL_IDLE_TASK_TIMEOUT", "threadpool_idle_task_timeout", "-1", -1.0),
        ("GEVENT_RESOLVER_TIMEOUT", "resolver_timeout", "2.5", 2.5),
        (
            "GEVENT_RESOLVER_NAMESERVERS",
            "resolver_nameservers",
            "8.8.8.8, 1.1.1.1",
            ["8.8.8.8", "1.1.1.1"],
        ),
        ("GEVENTARES_SERVERS", "ares_servers", "10.0.0.1,10.0.0.2", ["10.0.0.1", "10.0.0.2"]),
        ("GEVENTARES_FLAGS", "ares_flags", "5", "5"),
        ("GEVENTARES_TRIES", "ares_tries", "3", "3"),
        ("GEVENT_BACKEND", "libev_backend", "epoll,NoSigMask", "epoll,nosigmask"),
        ("PYTHONTRACEMALLOC", "trace_malloc", "5", True),
        ("GREENKIT_TRACE_MALLOC", "trace_malloc", "on", True),
    ],
)
def test_gevent_and_greenkit_variables(
    monkeypatch: pytest.MonkeyPatch, key: str, name: str, raw: str, expected: object
) -> None:
    monkeypatch.setenv(key, raw)
    assert getattr(config, name) == expected
    assert config.settings[name].source == key


def test_greenkit_variable_wins_over_gevent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEVENT_MAX_BLOCKING_TIME", "9")
    monkeypatch.setenv("GREENKIT_MAX_BLOCKING_TIME", "0.3")
    assert config.max_blocking_time == 0.3


def test_empty_variable_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENKIT_MAX_BLOCKING_TIME", "")
    monkeypatch.setenv("GEVENT_MAX_BLOCKING_TIME", "0.7")
    assert config.max_blocking_time == 0.7


@pytest.mark.parametrize("word", ["1", "true", "TRUE", "on", "Yes", " yes "])
def test_bool_true_words(monkeypatch: pytest.MonkeyPatch, word: str) -> None:
    monkeypatch.setenv("GREENKIT_MONITOR_THREAD", word)
    assert config.monitor_thread is True


@pytest.mark.parametrize("word", ["0", "false", "Off", "NO"])
def test_bool_false_words(monkeypatch: pytest.MonkeyPatch, word: str) -> None:
    monkeypatch.setenv("GREENKIT_TRACK_GREENLET_TREE", word)
    assert config.track_greenlet_tree is False


def test_validate_bool() -> None:
    assert validate_bool("on") and validate_bool("1") and validate_bool(True)
    assert not validate_bool("off") and not validate_bool("0") and not validate_bool("")
    with pytest.raises(ValueError):
        validate_bool(" hmm ")


def test_invalid_environment_value_names_setting_and_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GEVENT_MONITOR_THREAD_ENABLE", "perhaps")
    with pytest.raises(ValueError, match=r"'monitor_thread'.*GEVENT_MONITOR_THREAD_ENABLE"):
        config.monitor_thread  # noqa: B018
    monkeypatch.setenv("GEVENT_MAX_BLOCKING_TIME", "soon")
    with pytest.raises(ValueError, match=r"Invalid value for setting 'max_blocking_time'"):
        config.max_blocking_time  # noqa: B018


# -- numeric validation ----------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1, "-0.5", "0"])
def test_max_blocking_time_must_be_positive(bad: object) -> None:
    with pytest.raises(
        ValueError, match=r"Invalid value for setting 'max_blocking_time'.*positive"
    ):
        config.max_blocking_time = bad
    assert config.max_blocking_time == 0.1


@pytest.mark.parametrize("bad", [None, object(), True, [1]])
def test_max_blocking_time_type_errors(bad: object) -> None:
    with pytest.raises(TypeError, match="'max_blocking_time'"):
        config.max_blocking_time = bad


def test_optional_floats_accept_none() -> None:
    config.resolver_timeout = 3
    assert config.resolver_timeout == 3.0
    config.resolver_timeout = None
    assert config.resolver_timeout is None


def test_idle_task_timeout_allows_minus_one_only() -> None:
    config.threadpool_idle_task_timeout = -1
    assert config.threadpool_idle_task_timeout == -1.0
    with pytest.raises(ValueError, match="threadpool_idle_task_timeout"):
        config.threadpool_idle_task_timeout = -2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10MB", 10 * 1024**2),
        ("10mb", 10 * 1024**2),
        ("512kb", 512 * 1024),
        ("1GB", 1024**3),
        ("2 gb", 2 * 1024**3),
        ("1000", 1000),
        (4096, 4096),
        ("1.5mb", int(1.5 * 1024**2)),
        (None, None),
    ],
)
def test_max_memory_usage_byte_sizes(value: object, expected: object) -> None:
    config.max_memory_usage = value
    assert config.max_memory_usage == expected


@pytest.mark.parametrize("bad", ["lots", "MB", "-1kb", 0, -5])
def test_max_memory_usage_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="'max_memory_usage'"):
        config.max_memory_usage = bad


def test_list_settings() -> None:
    config.resolver_nameservers = "1.2.3.4,5.6.7.8"
    assert config.resolver_nameservers == ["1.2.3.4", "5.6.7.8"]
    config.resolver_nameservers = ("9.9.9.9",)
    assert config.resolver_nameservers == ["9.9.9.9"]
    with pytest.raises(TypeError, match="resolver_nameservers"):
        config.resolver_nameservers = [1, 2]
    assert config.settings["resolver_nameservers"].kwarg_name == "servers"
    assert config.settings["resolver_timeout"].kwarg_name == "timeout"
    assert config.settings["ares_tries"].kwarg_name == "tries"


def test_libev_backend_values() -> None:
    config.libev_backend = ["EPOLL", "nosigmask"]
    assert config.libev_backend == ["epoll", "nosigmask"]
    config.libev_backend = 0
    assert config.libev_backend == 0
    config.libev_backend = ""
    assert config.libev_backend is None
    with pytest.raises(TypeError, match="libev_backend"):
        config.libev_backend = 1.5
    with pytest.raises(ValueError, match="libev_backend"):
        config.libev_backend = -3


def test_libev_backend_reaches_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEVENT_BACKEND", "poll")
    loop = config.loop(flags=config.libev_backend, default=False)
    try:
        assert "poll" in loop.backend
    finally:
        loop.destroy()


# -- importable settings: loop -----------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "libev-cext",
        "libev-cffi",
        "libev",
        "gevent.libev.corecffi.loop",
        "gevent.libev.corecext.loop",
        "greenkit.loop.libev.loop",
    ],
)
def test_gevent_loop_names_select_libev(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from greenkit.loop.libev import loop

    monkeypatch.setenv("GEVENT_LOOP", value)
    assert config.loop is loop


@pytest.mark.parametrize("value", ["libuv-cffi", "libuv", "gevent.libuv.loop.loop"])
def test_libuv_falls_back_with_one_warning(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from greenkit.loop.libev import loop

    monkeypatch.setenv("GEVENT_LOOP", value)
    with pytest.warns(ConfigWarning, match="libuv") as record:
        assert config.loop is loop
    assert len(record) == 1
    # cached: no further warning
    assert config.loop is loop


def test_libuv_in_a_list_is_dropped_with_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    from greenkit.loop.libev import loop

    monkeypatch.setenv("GEVENT_LOOP", "libuv-cffi,libev-cffi")
    with pytest.warns(ConfigWarning) as record:
        assert config.loop is loop
    assert len(record) == 1


def test_libuv_set_in_code_warns_once() -> None:
    from greenkit.loop.libev import loop

    with pytest.warns(ConfigWarning) as record:
        config.loop = "libuv"
    assert len(record) == 1
    assert config.loop is loop


def test_loop_accepts_a_class() -> None:
    class MyLoop:
        pass

    config.loop = MyLoop
    assert config.loop is MyLoop
    config.loop = [MyLoop]
    assert config.loop is MyLoop


def test_importable_rejects_non_callables() -> None:
    with pytest.raises(TypeError, match="'loop'"):
        config.loop = 42
    with pytest.raises(TypeError, match="'resolver'"):
        config.resolver = [None]


# -- importable settings: resolver, threadpool, fileobject ------------------------------


RESOLVERS = {
    "thread": "greenkit.resolver.thread",
    "ares": "greenkit.resolver.ares",
    "dnspython": "greenkit.resolver.dnspython",
    "block": "greenkit.resolver.blocking",
}


@pytest.fixture
def fake_resolvers(monkeypatch: pytest.MonkeyPatch) -> dict[str, type]:
    classes = {}
    for short, module in RESOLVERS.items():
        cls = type("Resolver", (), {"short": short})
        fake_module(monkeypatch, module, Resolver=cls)
        classes[short] = cls
    return classes


@pytest.mark.parametrize("short", sorted(RESOLVERS))
def test_gevent_resolver_short_names(
    monkeypatch: pytest.MonkeyPatch, fake_resolvers: dict[str, type], short: str
) -> None:
    monkeypatch.setenv("GEVENT_RESOLVER", short)
    assert config.resolver is fake_resolvers[short]


def test_resolver_default_is_thread(fake_resolvers: dict[str, type]) -> None:
    assert config.resolver is fake_resolvers["thread"]
    assert config.settings["resolver"].candidates[0] == "greenkit.resolver.thread.Resolver"


def test_resolver_list_tries_in_order(
    monkeypatch: pytest.MonkeyPatch, fake_resolvers: dict[str, type]
) -> None:
    monkeypatch.setenv("GEVENT_RESOLVER", "foo,bar,block,dnspython")
    assert config.resolver is fake_resolvers["block"]


def test_resolver_dotted_names(fake_resolvers: dict[str, type]) -> None:
    config.resolver = "greenkit.resolver.blocking.Resolver"
    assert config.resolver is fake_resolvers["block"]
    config.resolver = "gevent.resolver.blocking.Resolver"
    assert config.resolver is fake_resolvers["block"]
    config.resolver = "gevent.resolver_ares.Resolver"
    assert config.resolver is fake_resolvers["ares"]
    config.resolver = ["nothing.here.Resolver", "block"]
    assert config.resolver is fake_resolvers["block"]


def test_missing_resolver_names_the_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    block_module(monkeypatch, "greenkit.resolver")
    for module in RESOLVERS.values():
        monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ImportError, match=r"'resolver'.*greenkit-io") as info:
        config.resolver  # noqa: B018
    assert "pip install greenkit-io" in str(info.value)


def test_missing_threadpool_names_the_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    block_module(monkeypatch, "greenkit.threadpool")
    with pytest.raises(ImportError, match=r"'threadpool'.*greenkit-threads"):
        config.threadpool  # noqa: B018


def test_missing_loop_names_the_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    config.loop = "greenkit.loop.nonexistent.loop"
    with pytest.raises(ImportError, match="loop"):
        config.loop  # noqa: B018
    block_module(monkeypatch, "greenkit.loop.libev")
    config.loop = "libev"
    with pytest.raises(ImportError, match="greenkit-loop-libev"):
        config.loop  # noqa: B018


def test_gevent_threadpool_name(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = type("ThreadPool", (), {})
    fake_module(monkeypatch, "greenkit.threadpool", ThreadPool=pool)
    monkeypatch.setenv("GEVENT_THREADPOOL", "gevent.threadpool.ThreadPool")
    assert config.threadpool is pool


@pytest.mark.parametrize(
    ("short", "cls"),
    [("thread", "FileObjectThread"), ("posix", "FileObjectPosix"), ("block", "FileObjectBlock")],
)
def test_gevent_file_names(monkeypatch: pytest.MonkeyPatch, short: str, cls: str) -> None:
    classes = {
        name: type(name, (), {})
        for name in ("FileObjectThread", "FileObjectPosix", "FileObjectBlock")
    }
    fake_module(monkeypatch, "greenkit.fileobject", **classes)
    monkeypatch.setenv("GEVENT_FILE", short)
    assert config.fileobject is classes[cls]


def test_format_context_dotted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEVENT_FORMAT_CONTEXT", "builtins.repr")
    assert config.format_context is repr


def test_import_is_lazy(monkeypatch: pytest.MonkeyPatch) -> None:
    # Setting a name that cannot be imported is fine until it is read.
    config.threadpool = "no.such.module.Pool"
    assert config.settings["threadpool"].candidates == ["no.such.module.Pool"]
    with pytest.raises(ImportError, match=r"no\.such\.module"):
        config.threadpool  # noqa: B018


def test_importable_setting_helpers() -> None:
    setting = ImportableSetting("thing", "pprint.saferepr", "A thing.")
    with pytest.raises(ImportError, match="Cannot import from empty list"):
        setting._import_one_of([])
    path = list(sys.path)
    with pytest.raises(ImportError, match=r"Cannot import 'foo/bar/gevent\.no_such_module'"):
        setting._import_one("foo/bar/gevent.no_such_module")
    assert sys.path == path
    assert setting._import_one(test_importable_setting_helpers) is test_importable_setting_helpers
    assert setting.get_options() == {}
    setting.shortname_map = {"repr": "builtins.repr", "bad": "bad/path"}
    assert setting.get_options() == {"repr": repr}
    from pprint import saferepr

    assert setting.get() is saferepr


@pytest.mark.parametrize(
    ("name", "dist"),
    [
        ("greenkit.loop.libev.corecffi.loop", "greenkit-loop-libev"),
        ("greenkit.resolver.ares.Resolver", "greenkit-io[ares]"),
        ("greenkit.resolver.dnspython", "greenkit-io[dnspython]"),
        ("greenkit.resolver.thread.Resolver", "greenkit-io"),
        ("greenkit.threadpool.ThreadPool", "greenkit-threads"),
        ("greenkit.thread", "greenkit-threads"),
        ("greenkit.config", "greenkit-hub"),
        ("greenkit.gunicorn.Worker", "greenkit-gunicorn"),
        ("greenkit.threadpoolx", None),
        ("os.path", None),
    ],
)
def test_distribution_for(name: str, dist: str | None) -> None:
    # The map is generated from the packages' metadata (tools/package_map.py).
    assert config.distribution_for(name) == dist
