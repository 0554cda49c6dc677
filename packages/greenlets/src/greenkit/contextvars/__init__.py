"""Greenlet-local context variables with the API of the ``contextvars`` module.

Since greenlet 0.4.17 every greenlet already runs in its own
``contextvars`` context (``greenlet.gr_context``): the standard library's
:class:`contextvars.ContextVar` values set in one greenlet are not seen by
another, and a new greenlet starts with an empty context (greenkit does not
copy the spawning greenlet's context, matching gevent).  So on the Pythons
greenkit supports this module is *not* patched into the standard library by
monkey patching, and the standard module is what most code should use.

This module is a separate, pure-Python implementation of the same API
(:pep:`567`) whose notion of "current context" is strictly per greenlet
(stored in a :class:`greenkit.local.local`), for code that wants exactly
that.  Its objects do not mix with the standard library's.  Setting a
variable copies the context's mapping, so it costs time proportional to the
number of variables set in that context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from reprlib import recursive_repr
from types import GenericAlias
from typing import Any, Generic, TypeVar

from greenkit.local import local

__all__ = ["ContextVar", "Context", "Token", "copy_context"]

_T = TypeVar("_T")


class _Missing:
    """The marker for "no value" (``Token.MISSING``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<Token.MISSING>"


_MISSING: Any = _Missing()
_NO_DEFAULT: Any = object()


class _ContextHolder(local):
    """The current context of each greenlet (a new, empty one to start with)."""

    context: Context

    def __init__(self) -> None:
        self.context = Context()


def _current() -> Context:
    return _holder.context


def _check_key(key: object) -> None:
    if not isinstance(key, ContextVar):
        raise TypeError(f"a ContextVar key was expected, got {key!r}")


class Context(Mapping["ContextVar[Any]", Any]):
    """A mapping of :class:`ContextVar` to values; ``run()`` makes it current.

    ``Context()`` is empty; :func:`copy_context` copies the current one.
    """

    __slots__ = ("_data", "_prev", "_entered")

    def __init__(self) -> None:
        # Never mutated in place: ContextVar.set() installs a new dict, so
        # copies may share it.
        self._data: dict[ContextVar[Any], Any] = {}
        self._prev: Context | None = None
        self._entered = False

    def run(self, callable: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Call ``callable(*args, **kwargs)`` with this context current in
        this greenlet; changes it makes to variables stay in this context.
        A context can be entered by only one caller at a time."""
        if self._entered:
            raise RuntimeError(f"cannot enter context: {self!r} is already entered")
        holder = _holder
        self._prev = holder.context
        self._entered = True
        holder.context = self
        try:
            return callable(*args, **kwargs)
        finally:
            holder.context = self._prev
            self._prev = None
            self._entered = False

    def copy(self) -> Context:
        """A shallow copy."""
        duplicate = Context()
        duplicate._data = self._data
        return duplicate

    def __getitem__(self, var: ContextVar[Any]) -> Any:
        _check_key(var)
        return self._data[var]

    def __contains__(self, var: object) -> bool:
        _check_key(var)
        return var in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[ContextVar[Any]]:
        return iter(self._data)

    def get(self, var: ContextVar[Any], default: Any = None) -> Any:
        """The value of ``var`` in this context, else ``default``."""
        _check_key(var)
        return self._data.get(var, default)


_holder = _ContextHolder()


def copy_context() -> Context:
    """A shallow copy of the calling greenlet's current context."""
    return _current().copy()


class ContextVar(Generic[_T]):
    """A context variable: ``ContextVar(name, *, default=...)``.

    ``get()`` reads its value in the current context, ``set()`` changes it
    there and returns a :class:`Token` that ``reset()`` uses to undo it.
    Variables compare and hash by identity.
    """

    __slots__ = ("_name", "_default")

    def __init__(self, name: str, *, default: Any = _NO_DEFAULT) -> None:
        if not isinstance(name, str):
            raise TypeError("context variable name must be a str")
        self._name = name
        self._default = default

    @property
    def name(self) -> str:
        """The name given to the constructor (read-only)."""
        return self._name

    def get(self, default: Any = _NO_DEFAULT) -> Any:
        """The value in the current context; else ``default``, else the
        variable's default; else raise LookupError."""
        data = _current()._data
        if self in data:
            return data[self]
        if default is not _NO_DEFAULT:
            return default
        if self._default is not _NO_DEFAULT:
            return self._default
        raise LookupError(self)

    def set(self, value: Any) -> Token:
        """Give the variable ``value`` in the current context."""
        context = _current()
        data = context._data
        old_value = data.get(self, _MISSING)
        new_data = dict(data)
        new_data[self] = value
        context._data = new_data
        return Token(context, self, old_value)

    def reset(self, token: Token) -> None:
        """Restore the value the variable had before the ``set()`` that
        returned ``token`` (each token can be used once, in its context)."""
        if not isinstance(token, Token):
            raise TypeError(f"expected an instance of Token, got {token!r}")
        if token._used:
            raise RuntimeError(f"{token!r} has already been used once")
        if token._var is not self:
            raise ValueError(f"{token!r} was created by a different ContextVar")
        context = _current()
        if token._context is not context:
            raise ValueError(f"{token!r} was created in a different Context")
        new_data = dict(context._data)
        if token._old_value is _MISSING:
            new_data.pop(self, None)
        else:
            new_data[self] = token._old_value
        context._data = new_data
        token._used = True

    @recursive_repr()
    def __repr__(self) -> str:
        text = f"<ContextVar name={self._name!r}"
        if self._default is not _NO_DEFAULT:
            text += f" default={self._default!r}"
        return f"{text} at {id(self):#x}>"


class Token:
    """What ``ContextVar.set()`` returns: ``var``, ``old_value`` (or
    ``Token.MISSING``); pass it to ``ContextVar.reset()``."""

    __slots__ = ("_context", "_var", "_old_value", "_used")

    #: ``old_value`` of a token whose variable had no value before ``set()``.
    MISSING: Any = _MISSING

    def __init__(self, context: Context, var: ContextVar[Any], old_value: Any) -> None:
        self._context = context
        self._var = var
        self._old_value = old_value
        self._used = False

    @property
    def var(self) -> ContextVar[Any]:
        """The variable whose ``set()`` created this token."""
        return self._var

    @property
    def old_value(self) -> Any:
        """The value before ``set()``, or ``Token.MISSING``."""
        return self._old_value

    def __repr__(self) -> str:
        used = " used" if self._used else ""
        return f"<Token{used} var={self._var!r} at {id(self):#x}>"

    def __class_getitem__(cls, item: Any) -> GenericAlias:
        return GenericAlias(cls, item)
