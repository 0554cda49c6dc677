"""The setting machinery of :mod:`greenkit.config`: validators and the Setting classes.

A :class:`Setting` knows its name, its environment variables (greenkit's
``GREENKIT_<NAME>``, then gevent's), its default and how to validate a
value; the catalogue (``_catalogue``) lists the settings greenkit has and
the façade (``greenkit.config``) turns them into module attributes.
"""

from __future__ import annotations

import importlib
import os
import textwrap
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "ConfigWarning",
    "Setting",
    "BoolSetting",
    "FloatSetting",
    "ByteCountSetting",
    "ImportableSetting",
    "ListSetting",
    "LibevBackendSetting",
    "PassThroughSetting",
    "ResolverServersSetting",
    "ResolverTimeoutSetting",
    "validate_bool",
    "validate_byte_count",
    "validate_anything",
    "validate_invalid",
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


_BYTE_SUFFIXES = (
    ("kb", 1024),
    ("mb", 1024**2),
    ("gb", 1024**3),
    ("k", 1024),
    ("m", 1024**2),
    ("g", 1024**3),
    ("b", 1),
)


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
# settings


_UNSET: Any = object()


class Setting:
    """One configuration value: its name, environment variables, default and validation.

    ``get()`` returns the value, reading the environment the first time;
    ``set(value)`` validates and stores a value given in code.
    """

    #: How values from the environment are turned into Python values.
    kind = "any value"

    def __init__(
        self,
        name: str,
        default: Any,
        desc: str,
        *,
        gevent_environment_keys: Sequence[str] = (),
        document: bool = True,
    ) -> None:
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

    kind = "a boolean: 1, true, on or yes for True; 0, false, off or no for False (any case)"

    def validate(self, value: Any) -> bool:
        return validate_bool(value)


class FloatSetting(Setting):
    """A positive number of seconds (None allowed when the default is None)."""

    kind = "a positive number"

    def __init__(
        self,
        name: str,
        default: Any,
        desc: str,
        *,
        allow_none: bool = False,
        allowed_negative: Sequence[float] = (),
        **kwargs: Any,
    ) -> None:
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
                name = self.name[len(prefix) :]
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

    kind = (
        "an importable object: a dotted name, a short name, or a comma-separated list"
        " tried in order"
    )

    def __init__(
        self,
        name: str,
        default: Any,
        desc: str,
        *,
        shortname_map: Mapping[str, str] | None = None,
        gevent_names: Mapping[str, str | _Unavailable] | None = None,
        **kwargs: Any,
    ) -> None:
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
            return "greenkit." + name[len("gevent.") :]
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
                raise TypeError(f"expected a dotted name, a short name or a callable, not {item!r}")
            else:
                candidates.append(item)
        if dropped:
            reasons = "; ".join(f"{d.name!r}: {d.why}" for d in dropped)
            if not candidates:
                default = self._default_candidates()
                warnings.warn(
                    f"greenkit cannot honour {self.name}={reasons}; using the default"
                    f" {self._describe(default)} instead",
                    ConfigWarning,
                    stacklevel=5,
                )
                return default
            warnings.warn(
                f"greenkit cannot honour {self.name}={reasons}; trying"
                f" {self._describe(candidates)}",
                ConfigWarning,
                stacklevel=5,
            )
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
        names = [
            c if isinstance(c, str) else getattr(c, "__qualname__", repr(c)) for c in candidates
        ]
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
            raise ImportError(
                f"Cannot import {path!r}: file paths are not supported; give a dotted name"
            )
        module_name, _, attribute = path.rpartition(".")
        if not module_name:
            # A bare module name: the module itself.
            return importlib.import_module(path)
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise
        except Exception as exc:
            raise ImportError(
                f"Cannot import {path!r}: importing {module_name!r} failed"
                f" with {type(exc).__name__}: {exc}"
            ) from exc
        try:
            return getattr(module, attribute)
        except AttributeError:
            raise ImportError(
                f"Cannot import {path!r}: module {module_name!r} has no attribute {attribute!r}"
            ) from None

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
            dist = _distribution_for(candidate) if isinstance(candidate, str) else None
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


def _distribution_for(dotted_name: str) -> str | None:
    """``greenkit.config.distribution_for``, imported when an import fails (the
    map of distributions lives in the façade, which imports this module)."""
    from greenkit.config import distribution_for

    return distribution_for(dotted_name)
