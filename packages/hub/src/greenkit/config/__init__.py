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
"""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
import types
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

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

_ENV_PREFIX = "GREENKIT_"
_GEVENT_PREFIX = "GEVENT_"


class ConfigWarning(UserWarning):
    """A configuration value could not be honoured and was replaced (e.g. a gevent-only loop)."""


# ---------------------------------------------------------------------------
# value validators


_TRUE_WORDS = ("1", "true", "on", "yes")
_FALSE_WORDS = ("0", "false", "off", "no", "")


def validate_invalid(value: object) -> Any:
    """Reject every value (for settings that cannot be changed)."""
    raise ValueError(f"Not a valid value: {value!r}")


def validate_anything(value: Any) -> Any:
    """Accept any value unchanged."""
    return value


def validate_bool(value: object) -> bool:
    """A boolean: ``1``/``true``/``on``/``yes`` or ``0``/``false``/``off``/``no``
    (any case) in a string, otherwise the truth value of ``value``."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise ValueError(
            f"expected one of {', '.join(_TRUE_WORDS)}"
            f" or {', '.join(w for w in _FALSE_WORDS if w)},"
            f" not {value!r}"
        )
    return bool(value)


_BYTE_SUFFIXES = (("kb", 1024), ("mb", 1024**2), ("gb", 1024**3), ("k", 1024),
                  ("m", 1024**2), ("g", 1024**3), ("b", 1))


def validate_byte_count(value: object) -> int | None:
    """A positive number of bytes, or None.

    Strings may end in ``kb``, ``mb`` or ``gb`` (any case; multiples of 1024):
    ``'10MB'`` is 10485760."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"expected a number of bytes, not {value!r}")
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "").replace("_", "")
        multiplier = 1
        for suffix, factor in _BYTE_SUFFIXES:
            if text.endswith(suffix):
                text = text[: -len(suffix)]
                multiplier = factor
                break
        try:
            number = float(text)
        except ValueError:
            raise ValueError(
                f"expected a number of bytes, optionally ending in KB, MB or GB, not {value!r}"
            ) from None
        value = int(number * multiplier)
    elif isinstance(value, float):
        value = int(value)
    elif not isinstance(value, int):
        raise TypeError(f"expected a number of bytes, not {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"must be a positive number of bytes, not {value!r}")
    return value


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


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


# ---------------------------------------------------------------------------
# settings


_UNSET: Any = object()


class Setting:
    """One configuration value: its name, environment variables, default and validation.

    ``get()`` returns the value, reading the environment the first time;
    ``set(value)`` validates and stores a value given in code.
    """

    #: How values from the environment are turned into Python values.
    kind = "any value"

    def __init__(self, name: str, default: Any, desc: str, *,
                 gevent_environment_keys: Sequence[str] = (),
                 document: bool = True) -> None:
        self.name = name
        self.default = default
        self.desc = textwrap.dedent(desc).strip()
        self.document = document
        keys = [f"{_GEVENT_PREFIX}{name.upper()}"]
        for key in gevent_environment_keys:
            if key not in keys:
                keys.insert(len(keys) - 1, key)
        #: gevent's variables for this setting, documented one first.
        self.gevent_environment_keys: tuple[str, ...] = tuple(keys)
        self.value: Any = _UNSET
        #: Where the current value came from: 'default', 'code' or a variable name.
        self.source = "default"

    # -- names -------------------------------------------------------------

    @property
    def environment_key(self) -> str:
        """The greenkit environment variable: ``GREENKIT_<NAME>``."""
        return _ENV_PREFIX + self.name.upper()

    @property
    def environment_keys(self) -> tuple[str, ...]:
        """Every variable consulted, in order: greenkit's, then gevent's."""
        return (self.environment_key, *self.gevent_environment_keys)

    # -- validation ---------------------------------------------------------

    def validate(self, value: Any) -> Any:
        """Turn ``value`` into the setting's value or raise ValueError/TypeError."""
        return value

    def from_gevent(self, value: str) -> str:
        """Map a value of one of gevent's variables onto greenkit's meaning."""
        return value

    def _error(self, exc: Exception, origin: str = "") -> Exception:
        where = f" (from {origin})" if origin else ""
        message = f"Invalid value for setting {self.name!r}{where}: {exc}"
        if isinstance(exc, (ValueError, TypeError)):
            return type(exc)(message)
        return ValueError(message)

    def _checked(self, value: Any, origin: str = "") -> Any:
        try:
            return self.validate(value)
        except (ValueError, TypeError) as exc:
            raise self._error(exc, origin) from exc

    # -- access -------------------------------------------------------------

    def _from_environment(self) -> tuple[Any, str]:
        for key in self.environment_keys:
            raw = os.environ.get(key)
            if raw is None or not raw.strip():
                continue
            if key != self.environment_key:
                raw = self.from_gevent(raw)
            origin = f"environment variable {key}={os.environ[key]!r}"
            return self._checked(raw, origin), key
        return self._default_value(), "default"

    def _default_value(self) -> Any:
        return self._checked(self.default, "default")

    def get(self) -> Any:
        """The current value (from code, else the environment, else the default)."""
        value = self.value
        if value is _UNSET:
            value, self.source = self._from_environment()
            self.value = value
        return value

    def set(self, value: Any) -> None:
        """Validate and store ``value``; it wins over the environment."""
        self.value = self._checked(value)
        self.source = "code"

    def reset(self) -> None:
        """Forget the stored value: the next ``get()`` reads the environment again."""
        self.value = _UNSET
        self.source = "default"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class BoolSetting(Setting):
    """A true/false setting."""

    kind = ("a boolean: 1, true, on or yes for True; 0, false, off or no for False"
            " (any case)")

    def validate(self, value: Any) -> bool:
        return validate_bool(value)


class FloatSetting(Setting):
    """A positive number of seconds (None allowed when the default is None)."""

    kind = "a positive number"

    def __init__(self, name: str, default: Any, desc: str, *,
                 allow_none: bool = False, allowed_negative: Sequence[float] = (),
                 **kwargs: Any) -> None:
        self.allow_none = allow_none or default is None
        self.allowed_negative = tuple(allowed_negative)
        super().__init__(name, default, desc, **kwargs)

    def validate(self, value: Any) -> float | None:
        if value is None:
            if self.allow_none:
                return None
            raise TypeError("a number is required, not None")
        if isinstance(value, bool):
            raise TypeError(f"a number is required, not {value!r}")
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ValueError(f"not a number: {value!r}") from None
        elif isinstance(value, (int, float)):
            value = float(value)
        else:
            raise TypeError(f"a number is required, not {type(value).__name__} {value!r}")
        if value in self.allowed_negative:
            return float(value)
        if not value > 0:
            special = "".join(f" or {v:g}" for v in self.allowed_negative)
            raise ValueError(f"must be positive{special}, not {value!r}")
        return float(value)


class ByteCountSetting(Setting):
    """A positive number of bytes (``'10MB'`` style strings accepted), or None."""

    kind = "a number of bytes, optionally with a KB, MB or GB suffix"

    def validate(self, value: Any) -> int | None:
        return validate_byte_count(value)


class ListSetting(Setting):
    """A list of strings; comma-separated in a string (and in the environment)."""

    kind = "comma-separated strings"

    def validate(self, value: Any) -> list[str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            return _comma_list(value)
        if isinstance(value, Iterable):
            items = list(value)
            for item in items:
                if not isinstance(item, str):
                    raise TypeError(f"expected strings, got {type(item).__name__} {item!r}")
            return [item.strip() for item in items]
        raise TypeError(f"expected a string or a list of strings, not {value!r}")


class PassThroughSetting(Setting):
    """A value handed unchanged to the component that uses it (the c-ares options)."""

    kind = "passed unchanged to the resolver"

    @property
    def kwarg_name(self) -> str:
        """The keyword argument this setting becomes for the resolver's channel."""
        for prefix in ("ares_", "resolver_"):
            if self.name.startswith(prefix):
                name = self.name[len(prefix):]
                return "servers" if name == "nameservers" else name
        return self.name


class ResolverServersSetting(PassThroughSetting, ListSetting):
    """Nameserver addresses, as a list of strings."""

    kind = "comma-separated IP addresses"


class ResolverTimeoutSetting(PassThroughSetting, FloatSetting):
    """The resolver's total query time, in seconds."""

    kind = "a positive number of seconds"


class LibevBackendSetting(Setting):
    """libev backend and loop flags, handed to the loop as its ``flags``."""

    kind = "libev backend names, comma-separated (e.g. 'epoll', 'poll,nosigmask')"

    def validate(self, value: Any) -> str | int | list[str] | None:
        if value is None:
            return None
        if isinstance(value, bool):
            raise TypeError(f"expected backend names or flags, not {value!r}")
        if isinstance(value, int):
            if value < 0:
                raise ValueError(f"libev flags cannot be negative: {value!r}")
            return value
        if isinstance(value, str):
            names = _comma_list(value.lower())
            if not names:
                return None
            return ",".join(names)
        if isinstance(value, Iterable):
            items = list(value)
            for item in items:
                if not isinstance(item, str):
                    raise TypeError(f"expected backend names, got {item!r}")
            return [item.strip().lower() for item in items if item.strip()] or None
        raise TypeError(f"expected backend names or libev flags, not {value!r}")


class _TraceMallocSetting(BoolSetting):
    def from_gevent(self, value: str) -> str:
        # PYTHONTRACEMALLOC is a frame count for the interpreter: any positive
        # number means "on".
        text = value.strip()
        if text.isdigit():
            return "true" if int(text) > 0 else "false"
        return value


class _Unavailable:
    """Marks a gevent name greenkit cannot provide (a short name or dotted name)."""

    def __init__(self, name: str, why: str) -> None:
        self.name = name
        self.why = why


class ImportableSetting(Setting):
    """A setting naming an object to import: the loop class, the resolver class...

    Values: the object itself, a dotted name (``'pkg.module.Name'``), a short
    name from ``shortname_map``, gevent's names for the same things, or a
    list of those (a string may list them with commas): the first that
    imports is used.  The import happens on first read and is cached.
    """

    kind = ("an importable object: a dotted name, a short name, or a comma-separated list"
            " tried in order")

    def __init__(self, name: str, default: Any, desc: str, *,
                 shortname_map: Mapping[str, str] | None = None,
                 gevent_names: Mapping[str, str | _Unavailable] | None = None,
                 **kwargs: Any) -> None:
        #: short name -> dotted name
        self.shortname_map: dict[str, str] = dict(shortname_map or {})
        #: gevent's names (short or dotted) -> greenkit dotted name, or unavailable
        self.gevent_names: dict[str, str | _Unavailable] = dict(gevent_names or {})
        super().__init__(name, default, desc, **kwargs)
        self._spec: Any = _UNSET

    # -- normalising candidates -------------------------------------------

    def _translate(self, name: str) -> str | _Unavailable:
        name = name.strip()
        if name in self.shortname_map:
            return self.shortname_map[name]
        if name in self.gevent_names:
            return self.gevent_names[name]
        if name.startswith("gevent."):
            return "greenkit." + name[len("gevent."):]
        return name

    def _candidates(self, value: Any) -> list[Any]:
        """Validate a value given in code or the environment into candidates."""
        if isinstance(value, str):
            items: list[Any] = _comma_list(value)
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            items = [value]
        candidates: list[Any] = []
        dropped: list[_Unavailable] = []
        for item in items:
            if isinstance(item, str):
                translated = self._translate(item)
                if isinstance(translated, _Unavailable):
                    dropped.append(translated)
                    continue
                candidates.append(translated)
            elif item is None or not callable(item):
                raise TypeError(
                    f"expected a dotted name, a short name or a callable, not {item!r}")
            else:
                candidates.append(item)
        if dropped:
            reasons = "; ".join(f"{d.name!r}: {d.why}" for d in dropped)
            if not candidates:
                default = self._default_candidates()
                warnings.warn(
                    f"greenkit cannot honour {self.name}={reasons}; using the default"
                    f" {self._describe(default)} instead",
                    ConfigWarning, stacklevel=5)
                return default
            warnings.warn(
                f"greenkit cannot honour {self.name}={reasons}; trying"
                f" {self._describe(candidates)}",
                ConfigWarning, stacklevel=5)
        return candidates

    def _default_candidates(self) -> list[Any]:
        default = self.default
        items = list(default) if isinstance(default, (list, tuple)) else [default]
        result: list[Any] = []
        for item in items:
            translated = self._translate(item) if isinstance(item, str) else item
            if not isinstance(translated, _Unavailable):
                result.append(translated)
        return result

    @staticmethod
    def _describe(candidates: Sequence[Any]) -> str:
        names = [c if isinstance(c, str) else getattr(c, "__qualname__", repr(c))
                 for c in candidates]
        return names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"

    def validate(self, value: Any) -> Any:
        """Import ``value`` now (used by ``get_options`` and direct callers)."""
        return self._import_one_of(self._candidates(value))

    # -- importing -----------------------------------------------------------

    def _import_one(self, path: Any) -> Any:
        """Import one dotted name ``'module.Name'`` (or return a non-string unchanged)."""
        if not isinstance(path, str):
            return path
        if "/" in path or "\\" in path or not path:
            raise ImportError(f"Cannot import {path!r}: file paths are not supported;"
                              " give a dotted name")
        module_name, _, attribute = path.rpartition(".")
        if not module_name:
            # A bare module name: the module itself.
            return importlib.import_module(path)
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise
        except Exception as exc:
            raise ImportError(f"Cannot import {path!r}: importing {module_name!r} failed"
                              f" with {type(exc).__name__}: {exc}") from exc
        try:
            return getattr(module, attribute)
        except AttributeError:
            raise ImportError(f"Cannot import {path!r}: module {module_name!r} has no"
                              f" attribute {attribute!r}") from None

    def _import_one_of(self, candidates: Sequence[Any]) -> Any:
        """The first candidate that imports; ImportError naming what to install if none."""
        if not candidates:
            raise ImportError(f"Cannot import from empty list (setting {self.name!r})")
        failures: list[tuple[Any, ImportError]] = []
        for candidate in candidates:
            try:
                return self._import_one(candidate)
            except ImportError as exc:
                failures.append((candidate, exc))
        details = "; ".join(f"{c}: {e}" for c, e in failures)
        dists: list[str] = []
        for candidate, _ in failures:
            dist = distribution_for(candidate) if isinstance(candidate, str) else None
            if dist and dist not in dists:
                dists.append(dist)
        hint = ""
        if dists:
            hint = " Install " + " or ".join(dists) + " (pip install " + dists[0] + ")."
        which = "any of " if len(failures) > 1 else ""
        raise ImportError(
            f"Cannot import {which}{self._describe([c for c, _ in failures])} for setting"
            f" {self.name!r} ({details}).{hint}"
        ) from failures[-1][1]

    def get_options(self) -> dict[str, Any]:
        """Short name -> object, for the short names that import here."""
        result: dict[str, Any] = {}
        for short, dotted in self.shortname_map.items():
            try:
                result[short] = self._import_one(dotted)
            except ImportError:
                continue
        return result

    # -- access: validation is immediate, import lazy ------------------------

    def _from_environment(self) -> tuple[Any, str]:
        for key in self.environment_keys:
            raw = os.environ.get(key)
            if raw is None or not raw.strip():
                continue
            origin = f"environment variable {key}={raw!r}"
            try:
                return self._candidates(self.from_gevent(raw)), key
            except (TypeError, ValueError) as exc:
                raise self._error(exc, origin) from exc
        return self._default_candidates(), "default"

    def get(self) -> Any:
        value = self.value
        if value is not _UNSET:
            return value
        if self._spec is _UNSET:
            self._spec, self.source = self._from_environment()
        value = self._import_one_of(self._spec)
        self.value = value
        return value

    def set(self, value: Any) -> None:
        try:
            spec = self._candidates(value)
        except (TypeError, ValueError) as exc:
            raise self._error(exc) from exc
        self._spec = spec
        self.source = "code"
        if len(spec) == 1 and not isinstance(spec[0], str):
            self.value = spec[0]
        else:
            self.value = _UNSET

    def reset(self) -> None:
        super().reset()
        self._spec = _UNSET

    @property
    def candidates(self) -> list[Any]:
        """What ``get()`` will try (or tried), in order, without importing."""
        if self._spec is _UNSET:
            return list(self._from_environment()[0])
        return list(self._spec)


_LIBUV_WHY = "libuv loops are not available in greenkit"

_SETTINGS: list[Setting] = [
    ImportableSetting(
        "resolver",
        ["thread", "dnspython", "ares", "block"],
        """
        The class used to create the hub's DNS resolver (``Hub.resolver``).
        Short names: thread, dnspython, ares, block.  Shipped by greenkit-io.
        """,
        shortname_map={
            "thread": "greenkit.resolver.thread.Resolver",
            "dnspython": "greenkit.resolver.dnspython.Resolver",
            "ares": "greenkit.resolver.ares.Resolver",
            "block": "greenkit.resolver.blocking.Resolver",
        },
        gevent_names={
            "gevent.resolver_thread.Resolver": "greenkit.resolver.thread.Resolver",
            "gevent.resolver_ares.Resolver": "greenkit.resolver.ares.Resolver",
            "gevent.resolver.cares.Resolver": "greenkit.resolver.ares.Resolver",
        },
        gevent_environment_keys=["GEVENT_RESOLVER"],
    ),
    ImportableSetting(
        "threadpool",
        "greenkit.threadpool.ThreadPool",
        """
        The class used to create the hub's thread pool (``Hub.threadpool``).
        Shipped by greenkit-threads.
        """,
        gevent_environment_keys=["GEVENT_THREADPOOL"],
    ),
    FloatSetting(
        "threadpool_idle_task_timeout",
        5.0,
        """
        How long, in seconds, an idle thread of the default thread pool waits
        for a task before exiting.  -1 means wait forever.
        """,
        allowed_negative=(-1.0,),
        gevent_environment_keys=["GEVENT_THREADPOOL_IDLE_TASK_TIMEOUT"],
    ),
    ImportableSetting(
        "loop",
        ["libev"],
        """
        The event loop class every new hub instantiates (``loop(flags, default)``).
        Short name: libev (gevent's libev-cext and libev-cffi mean the same loop;
        gevent's libuv loops are not available and fall back to libev with a
        warning).  Shipped by greenkit-loop-libev.
        """,
        shortname_map={"libev": "greenkit.loop.libev.loop"},
        gevent_names={
            "libev-cext": "greenkit.loop.libev.loop",
            "libev-cffi": "greenkit.loop.libev.loop",
            "gevent.libev.corecext.loop": "greenkit.loop.libev.loop",
            "gevent.libev.corecffi.loop": "greenkit.loop.libev.loop",
            "gevent.core.loop": "greenkit.loop.libev.loop",
            "libuv-cffi": _Unavailable("libuv-cffi", _LIBUV_WHY),
            "libuv": _Unavailable("libuv", _LIBUV_WHY),
            "gevent.libuv.loop.loop": _Unavailable("gevent.libuv.loop.loop", _LIBUV_WHY),
        },
        gevent_environment_keys=["GEVENT_LOOP"],
    ),
    ImportableSetting(
        "format_context",
        "pprint.saferepr",
        """
        The function that formats a greenlet's context (e.g. ``spawn_tree_locals``)
        in error reports.
        """,
        gevent_environment_keys=["GEVENT_FORMAT_CONTEXT"],
    ),
    LibevBackendSetting(
        "libev_backend",
        None,
        """
        libev backend names and loop flags for new loops, such as 'epoll' or
        'poll,nosigmask' (passed to the loop as ``flags``).  None lets libev choose.
        """,
        gevent_environment_keys=["GEVENT_BACKEND"],
    ),
    ImportableSetting(
        "fileobject",
        ["posix", "thread"],
        """
        The FileObject class ``greenkit.fileobject.FileObject`` names.
        Short names: thread, posix, block.  Shipped by greenkit-io.
        """,
        shortname_map={
            "thread": "greenkit.fileobject.FileObjectThread",
            "posix": "greenkit.fileobject.FileObjectPosix",
            "block": "greenkit.fileobject.FileObjectBlock",
        },
        gevent_names={
            "gevent._fileobjectcommon.FileObjectThread": "greenkit.fileobject.FileObjectThread",
            "gevent._fileobjectposix.FileObjectPosix": "greenkit.fileobject.FileObjectPosix",
            "gevent._fileobjectcommon.FileObjectBlock": "greenkit.fileobject.FileObjectBlock",
        },
        gevent_environment_keys=["GEVENT_FILE"],
    ),
    BoolSetting(
        "disable_watch_children",
        False,
        """
        Should the event loop *not* watch child processes (no SIGCHLD child
        watchers for ``greenkit.os`` / ``greenkit.subprocess``)?  Advanced.
        """,
        gevent_environment_keys=["GEVENT_NOWAITPID"],
    ),
    BoolSetting(
        "track_greenlet_tree",
        True,
        """
        Should greenlets record their spawning greenlet, spawn tree locals and
        spawning stack?  False makes spawning faster and lighter.
        """,
        gevent_environment_keys=["GEVENT_TRACK_GREENLET_TREE"],
    ),
    BoolSetting(
        "monitor_thread",
        False,
        """
        Should each hub start a native monitoring thread the first time it
        runs?  It reports a loop blocked longer than max_blocking_time and,
        with psutil, watches memory usage (see greenkit.events).
        """,
        gevent_environment_keys=["GEVENT_MONITOR_THREAD_ENABLE"],
    ),
    FloatSetting(
        "max_blocking_time",
        0.1,
        """
        With monitor_thread on: roughly how long, in seconds, the event loop
        may go without switching greenlets before it is reported as blocked.
        Relies on greenlet.settrace (a tracer installed earlier is still called).
        """,
        gevent_environment_keys=["GEVENT_MAX_BLOCKING_TIME"],
    ),
    BoolSetting(
        "print_blocking_reports",
        True,
        """
        With monitor_thread on: print a report to the hub's exception_stream
        when the loop is blocked?  The EventLoopBlocked event is emitted either way.
        """,
        gevent_environment_keys=["GEVENT_MONITOR_PRINT_BLOCKING_REPORTS"],
    ),
    FloatSetting(
        "memory_monitor_period",
        5.0,
        """
        With monitor_thread on and max_memory_usage set: roughly how often, in
        seconds, the process's memory usage is checked (at least once a second).
        """,
        gevent_environment_keys=["GEVENT_MONITOR_MEMORY_PERIOD"],
    ),
    ByteCountSetting(
        "max_memory_usage",
        None,
        """
        With monitor_thread on: the memory usage, in bytes, above which
        MemoryUsageThresholdExceeded is emitted (and MemoryUsageUnderThreshold
        when it falls back).  Accepts a KB, MB or GB suffix.  Needs psutil.
        No default.
        """,
        gevent_environment_keys=["GEVENT_MONITOR_MEMORY_MAX"],
    ),
    _TraceMallocSetting(
        "trace_malloc",
        False,
        """
        Should the loop's native objects record where they were allocated?
        Only for low-level debugging.
        """,
        gevent_environment_keys=["PYTHONTRACEMALLOC"],
    ),
    ResolverServersSetting(
        "resolver_nameservers",
        None,
        """
        IP addresses of the nameservers the dnspython and ares resolvers use
        instead of the system's (comma-separated in the environment).  The
        thread and blocking resolvers ignore it.
        """,
        gevent_environment_keys=["GEVENT_RESOLVER_NAMESERVERS"],
    ),
    ResolverTimeoutSetting(
        "resolver_timeout",
        None,
        """
        The total time, in seconds, the ares and dnspython resolvers spend on a query.
        """,
        gevent_environment_keys=["GEVENT_RESOLVER_TIMEOUT"],
    ),
    PassThroughSetting("ares_flags", None, "c-ares channel flags (ares resolver only).",
                       gevent_environment_keys=["GEVENTARES_FLAGS"]),
    PassThroughSetting("ares_timeout", None,
                       "c-ares timeout. Deprecated: prefer resolver_timeout.",
                       gevent_environment_keys=["GEVENTARES_TIMEOUT"]),
    PassThroughSetting("ares_tries", None, "c-ares number of tries (ares resolver only).",
                       gevent_environment_keys=["GEVENTARES_TRIES"]),
    PassThroughSetting("ares_ndots", None, "c-ares ndots option (ares resolver only).",
                       gevent_environment_keys=["GEVENTARES_NDOTS"]),
    PassThroughSetting("ares_udp_port", None, "c-ares UDP port (ares resolver only).",
                       gevent_environment_keys=["GEVENTARES_UDP_PORT"]),
    PassThroughSetting("ares_tcp_port", None, "c-ares TCP port (ares resolver only).",
                       gevent_environment_keys=["GEVENTARES_TCP_PORT"]),
    ResolverServersSetting(
        "ares_servers",
        None,
        "Nameserver IP addresses for the ares resolver (comma-separated in the environment)."
        " Deprecated: prefer resolver_nameservers.",
        gevent_environment_keys=["GEVENTARES_SERVERS"],
    ),
]


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
