"""greenkit's configuration: every tunable gevent documents, in one place.

The module itself behaves as the configuration object::

    >>> from greenkit import config
    >>> config.max_blocking_time
    0.1
    >>> config.loop                      # the class itself, imported on first read
    <class 'greenkit.loop.libev.corecffi.loop'>
    >>> config.fileobject = 'thread'     # or config.set('fileobject', 'thread')

Each setting is read, the first time it is needed, from the environment
variable ``GREENKIT_<NAME>`` (``GREENKIT_MAX_BLOCKING_TIME``, ...).  When
that is unset, the variable gevent documents for the setting is honoured
(``GEVENT_LOOP``, ``GEVENT_RESOLVER``, ``GEVENT_BACKEND``, ...; also
``GEVENT_<NAME>``), with gevent's values mapped onto greenkit's: for
example ``GEVENT_LOOP=libev-cext`` selects greenkit's libev loop, and a
gevent value greenkit cannot honour (``libuv-cffi``) falls back to the
default with one :class:`ConfigWarning`.  Values set in code win over the
environment; set them before the parts of greenkit that use them start.

Importable settings (``loop``, ``resolver``, ``threadpool``,
``fileobject``, ``format_context``) accept an object, a dotted name, a
short name (``'thread'``, ``'block'``, ...) or a list of these tried in
order; reading one returns the imported object.  If nothing can be
imported the :class:`ImportError` names the distribution to install.

``print_help()`` (or ``python -m greenkit.config``) lists every setting with
its environment variables and default.

The module is a façade: the setting machinery is in ``_setting``, the
catalogue of settings in ``_catalogue``, and the map of which distribution
ships which module is here (``distribution_for``).
"""

from __future__ import annotations

import sys
import textwrap
import types
from collections.abc import Callable, Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any

from greenkit.config._catalogue import SETTINGS as _SETTINGS
from greenkit.config._setting import (
    BoolSetting,
    ByteCountSetting,
    ConfigWarning,
    FloatSetting,
    ImportableSetting,
    LibevBackendSetting,
    ListSetting,
    PassThroughSetting,
    Setting,
    validate_anything,
    validate_bool,
    validate_byte_count,
    validate_invalid,
)

__all__ = [
    "Config",
    "ConfigWarning",
    "Setting",
    "BoolSetting",
    "FloatSetting",
    "ByteCountSetting",
    "ImportableSetting",
    "ListSetting",
    "LibevBackendSetting",
    "PassThroughSetting",
    "config",
    "settings",
    "set",
    "get",
    "print_help",
    "validate_bool",
    "validate_byte_count",
    "validate_anything",
    "validate_invalid",
    "distribution_for",
]

# Re-exported classes and functions keep the public module name.
for _public in (BoolSetting, ByteCountSetting, ConfigWarning, FloatSetting, ImportableSetting,
                LibevBackendSetting, ListSetting, PassThroughSetting, Setting, validate_anything,
                validate_bool, validate_byte_count, validate_invalid):
    _public.__module__ = __name__
del _public

# ---------------------------------------------------------------------------
# which distribution ships which module

_DISTRIBUTIONS: tuple[tuple[str, str], ...] = (
    ("greenkit.loop.libev", "greenkit-loop-libev"),
    ("greenkit.threadpool", "greenkit-threads"),
    ("greenkit.threading", "greenkit-threads"),
    ("greenkit.thread", "greenkit-threads"),
    # The resolvers on third-party libraries come with an extra of greenkit-io.
    ("greenkit.resolver.ares", "greenkit-io[ares]"),
    ("greenkit.resolver.dnspython", "greenkit-io[dnspython]"),
    ("greenkit.resolver", "greenkit-io"),
    ("greenkit.socket", "greenkit-io"),
    ("greenkit.ssl", "greenkit-io"),
    ("greenkit.selectors", "greenkit-io"),
    ("greenkit.select", "greenkit-io"),
    ("greenkit.os", "greenkit-io"),
    ("greenkit.signal", "greenkit-io"),
    ("greenkit.fileobject", "greenkit-io"),
    ("greenkit.subprocess", "greenkit-io"),
    ("greenkit.baseserver", "greenkit-servers"),
    ("greenkit.server", "greenkit-servers"),
    ("greenkit.pywsgi", "greenkit-servers"),
    ("greenkit.backdoor", "greenkit-servers"),
    ("greenkit.monkey", "greenkit-monkey"),
    ("greenkit.timeout", "greenkit-timeout"),
    ("greenkit.event", "greenkit-sync"),
    ("greenkit.lock", "greenkit-sync"),
    ("greenkit.queue", "greenkit-sync"),
    ("greenkit.greenlet", "greenkit-greenlets"),
    ("greenkit.pool", "greenkit-greenlets"),
    ("greenkit.local", "greenkit-greenlets"),
    ("greenkit.util", "greenkit-greenlets"),
    ("greenkit.contextvars", "greenkit-greenlets"),
    ("greenkit.hub", "greenkit-hub"),
)


def distribution_for(dotted_name: str) -> str | None:
    """The greenkit distribution that ships ``dotted_name`` (a module or object), if known."""
    for prefix, dist in _DISTRIBUTIONS:
        if dotted_name == prefix or dotted_name.startswith(prefix + "."):
            return dist
    return None


def _setting_property(name: str) -> property:
    def fget(self: Any) -> Any:
        return _settings_of(self)[name].get()

    def fset(self: Any, value: Any) -> None:
        _settings_of(self)[name].set(value)

    def fdel(self: Any) -> None:
        _settings_of(self)[name].reset()

    setting = next(s for s in _SETTINGS if s.name == name)
    return property(fget, fset, fdel, doc=setting.desc)


def _settings_of(obj: Any) -> dict[str, Setting]:
    if isinstance(obj, types.ModuleType):
        return config.settings
    result: dict[str, Setting] = object.__getattribute__(obj, "settings")
    return result


class Config:
    """Global configuration: one attribute per setting.

    The instance greenkit uses is the ``greenkit.config`` module itself (and
    ``greenkit.config.config``); ``Config()`` makes an independent one with
    fresh settings, reading the environment anew.
    """

    settings: dict[str, Setting]

    def __init__(self, settings: Iterable[Setting] | None = None) -> None:
        import copy

        source = _SETTINGS if settings is None else list(settings)
        object.__setattr__(self, "settings", {s.name: copy.copy(s) for s in source})
        for setting in self.settings.values():
            setting.reset()

    def __getattr__(self, name: str) -> Any:
        try:
            setting = object.__getattribute__(self, "settings")[name]
        except KeyError:
            raise AttributeError(f"No configuration setting {name!r}") from None
        return setting.get()

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self.settings:
            raise AttributeError(f"No configuration setting {name!r}")
        self.settings[name].set(value)

    def set(self, name: str, value: Any) -> None:
        """Set the setting ``name`` (AttributeError if there is no such setting)."""
        if name not in self.settings:
            raise AttributeError(f"No configuration setting {name!r}")
        self.settings[name].set(value)

    def get(self, name: str) -> Any:
        """The value of setting ``name``."""
        if name not in self.settings:
            raise AttributeError(f"No configuration setting {name!r}")
        return self.settings[name].get()

    def _reset(self, name: str | None = None) -> None:
        names = list(self.settings) if name is None else [name]
        for each in names:
            self.settings[each].reset()

    def __dir__(self) -> list[str]:
        return list(self.settings)

    def print_help(self, file: IO[str] | None = None) -> None:
        """Print every setting with its environment variables, default and description."""
        _print_help(self.settings, file)


for _setting in _SETTINGS:
    setattr(Config, _setting.name, _setting_property(_setting.name))


def _print_help(settings: Mapping[str, Setting], file: IO[str] | None = None) -> None:
    out = sys.stdout if file is None else file
    lines = ["greenkit configuration. Set in code (greenkit.config.NAME = value) or in",
             "the environment, before greenkit uses the setting.", ""]
    for setting in settings.values():
        if not setting.document:
            continue
        lines.append(setting.name)
        lines.append(f"    Environment: {', '.join(setting.environment_keys)}")
        lines.append(f"    Default:     {setting.default!r}")
        lines.append(f"    Value:       {setting.kind}")
        lines.extend(textwrap.indent(textwrap.fill(para, 72), "    ")
                     for para in setting.desc.split("\n\n"))
        lines.append("")
    out.write("\n".join(lines))


# ---------------------------------------------------------------------------
# the module as the configuration object

#: The configuration instance (the module forwards its attributes to it).
config = Config(_SETTINGS)
#: name -> Setting, for every setting.
settings: dict[str, Setting] = config.settings


def set(name: str, value: Any) -> None:  # noqa: A001 - mirrors Config.set
    """Set setting ``name`` to ``value`` (AttributeError if there is no such setting)."""
    config.set(name, value)


def get(name: str) -> Any:
    """The value of setting ``name``."""
    return config.get(name)


def print_help(file: IO[str] | None = None) -> None:
    """Print every setting with its environment variables, default and description."""
    _print_help(settings, file)


def _reset(name: str | None = None) -> None:
    """Forget values set in code or read from the environment (for tests)."""
    config._reset(name)


class _ConfigModule(types.ModuleType):
    """The module type of ``greenkit.config``: each setting is a property."""

    def __dir__(self) -> list[str]:
        return sorted(list(super().__dir__()) + list(settings))


for _setting in _SETTINGS:
    setattr(_ConfigModule, _setting.name, _setting_property(_setting.name))
del _setting


def __getattr__(name: str) -> Any:
    # Only reached when the class properties are bypassed; keeps type
    # checkers aware that setting attributes exist.
    if name in settings:
        return settings[name].get()
    raise AttributeError(f"module {__name__!r} has no attribute or setting {name!r}")


if TYPE_CHECKING:
    resolver: Any
    threadpool: Any
    threadpool_idle_task_timeout: float
    loop: Any
    format_context: Callable[[Any], str]
    libev_backend: str | int | list[str] | None
    fileobject: Any
    disable_watch_children: bool
    track_greenlet_tree: bool
    monitor_thread: bool
    max_blocking_time: float
    print_blocking_reports: bool
    memory_monitor_period: float
    max_memory_usage: int | None
    trace_malloc: bool
    resolver_nameservers: list[str] | None
    resolver_timeout: float | None
    ares_flags: Any
    ares_timeout: Any
    ares_tries: Any
    ares_ndots: Any
    ares_udp_port: Any
    ares_tcp_port: Any
    ares_servers: list[str] | None

sys.modules[__name__].__class__ = _ConfigModule

