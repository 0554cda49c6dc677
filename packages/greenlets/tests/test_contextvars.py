"""greenkit.contextvars, and the standard contextvars under greenkit greenlets."""

from __future__ import annotations

import contextvars as std
import functools
from typing import Any

import pytest
from greenlet import greenlet as RawGreenlet

import greenkit.contextvars as gcv
from greenkit.greenlet import Greenlet
from greenkit.hub import sleep
from greenkit.pool import Pool


def in_greenlet(func: Any, *args: Any) -> Any:
    return Greenlet.spawn(func, *args).get(timeout=5)


def isolated(func: Any) -> Any:
    """Run the test in a fresh greenkit Context."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return gcv.Context().run(func, *args, **kwargs)

    return wrapper


# -- the module -------------------------------------------------------------------------


def test_public_names() -> None:
    assert set(gcv.__all__) == {"ContextVar", "Context", "Token", "copy_context"}
    assert gcv.ContextVar is not std.ContextVar  # a separate implementation


def test_contextvar_construction() -> None:
    with pytest.raises(TypeError):
        gcv.ContextVar()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        gcv.ContextVar(1)  # type: ignore[arg-type]
    var: gcv.ContextVar[int] = gcv.ContextVar("aaa")
    assert var.name == "aaa"
    with pytest.raises(AttributeError):
        var.name = "bbb"  # type: ignore[misc]
    assert hash(var) != hash("aaa")
    assert var != gcv.ContextVar("aaa")
    assert gcv.ContextVar[int] is not None


@isolated
def test_get_set_reset() -> None:
    var = gcv.ContextVar("var")
    with pytest.raises(LookupError):
        var.get()
    assert var.get(None) is None
    assert var.get("dflt") == "dflt"
    token1 = var.set("one")
    assert token1.var is var
    assert token1.old_value is gcv.Token.MISSING
    assert var.get() == "one"
    token2 = var.set("two")
    assert token2.old_value == "one"
    var.reset(token2)
    assert var.get() == "one"
    with pytest.raises(RuntimeError):
        var.reset(token2)  # used
    var.reset(token1)
    with pytest.raises(LookupError):
        var.get()


@isolated
def test_default() -> None:
    var = gcv.ContextVar("var", default=5)
    assert var.get() == 5
    assert var.get(7) == 7
    var.set(6)
    assert var.get() == 6


@isolated
def test_reset_checks_the_token() -> None:
    a = gcv.ContextVar("a")
    b = gcv.ContextVar("b")
    token = a.set(1)
    with pytest.raises(ValueError):
        b.reset(token)
    with pytest.raises(TypeError):
        a.reset("not a token")  # type: ignore[arg-type]
    other = gcv.Context()
    with pytest.raises(ValueError):
        other.run(a.reset, token)


@isolated
def test_reprs() -> None:
    var = gcv.ContextVar("a", default=123)
    assert "'a'" in repr(var) and "123" in repr(var)
    items: list[Any] = []
    looped = gcv.ContextVar("a", default=items)
    items.append(looped)
    assert "..." in repr(looped)
    token = var.set(1)
    assert repr(var) in repr(token)
    assert " used " not in repr(token)
    var.reset(token)
    assert " used " in repr(token)
    assert repr(gcv.Token.MISSING) == "<Token.MISSING>"


def test_context_mapping() -> None:
    with pytest.raises(TypeError):
        gcv.Context(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        gcv.Context(a=1)  # type: ignore[call-arg]
    ctx = gcv.Context()
    with pytest.raises(TypeError, match="ContextVar key was expected"):
        ctx[1]  # type: ignore[index]
    with pytest.raises(TypeError, match="ContextVar key was expected"):
        1 in ctx  # noqa: B015
    with pytest.raises(TypeError, match="ContextVar key was expected"):
        ctx.get(1)  # type: ignore[arg-type]
    var = gcv.ContextVar("v")
    assert len(ctx) == 0 and var not in ctx and ctx.get(var, "d") == "d"
    ctx.run(var.set, 1)
    assert len(ctx) == 1 and ctx[var] == 1 and var in ctx
    assert list(ctx) == [var] and dict(ctx.items()) == {var: 1}
    with pytest.raises(KeyError):
        ctx[gcv.ContextVar("other")]


@isolated
def test_run_scopes_changes_and_returns() -> None:
    var = gcv.ContextVar("var")
    var.set("outer")
    ctx = gcv.Context()

    def inner(*args: Any, **kwargs: Any) -> tuple[Any, ...]:
        assert var.get(None) is None
        var.set("inner")
        return args, kwargs, gcv.copy_context()

    args, kwargs, snapshot = ctx.run(inner, 1, a=2)
    assert (args, kwargs) == ((1,), {"a": 2})
    assert var.get() == "outer"
    assert ctx[var] == "inner" and snapshot[var] == "inner"
    assert snapshot == ctx and snapshot is not ctx


def test_run_cannot_be_reentered_and_restores_on_error() -> None:
    ctx = gcv.Context()
    var = gcv.ContextVar("var")

    def fail() -> None:
        var.set("spam")
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        ctx.run(fail)
    assert ctx[var] == "spam"
    assert var.get(None) is None

    def reenter() -> None:
        ctx.run(lambda: None)

    with pytest.raises(RuntimeError, match="already entered"):
        ctx.run(reenter)
    ctx.run(lambda: None)  # usable again


@isolated
def test_copy_is_independent() -> None:
    var = gcv.ContextVar("var")
    var.set(1)
    snapshot = gcv.copy_context()
    copy2 = snapshot.copy()
    var.set(2)
    assert snapshot[var] == 1 and copy2[var] == 1
    snapshot.run(var.set, 3)
    assert snapshot[var] == 3 and copy2[var] == 1 and var.get() == 2


# -- per greenlet ----------------------------------------------------------------------


def test_greenkit_contextvars_are_greenlet_local() -> None:
    var = gcv.ContextVar("var")
    var.set("main")

    def child(value: str) -> list[Any]:
        seen = [var.get(None)]
        var.set(value)
        sleep(0.001)
        seen.append(var.get())
        return seen

    glets = [Greenlet.spawn(child, f"g{i}") for i in range(5)]
    assert [g.get(timeout=5) for g in glets] == [[None, f"g{i}"] for i in range(5)]
    assert var.get() == "main"
    raw = RawGreenlet(lambda: gcv.copy_context().get(var))
    assert raw.switch() is None


std_var: std.ContextVar[Any] = std.ContextVar("std_var", default="unset")


def test_stdlib_contextvars_are_isolated_between_greenlets() -> None:
    token = std_var.set("main")
    try:

        def child(value: str) -> list[Any]:
            # A greenlet starts with an empty context: nothing is copied
            # from the greenlet that spawned it (as in gevent).
            seen = [std_var.get()]
            std_var.set(value)
            sleep(0.001)
            seen.append(std_var.get())
            return seen

        glets = [Greenlet.spawn(child, f"g{i}") for i in range(5)]
        assert [g.get(timeout=5) for g in glets] == [["unset", f"g{i}"] for i in range(5)]
        assert std_var.get() == "main"
        pool = Pool(3)
        assert sorted(pool.map(child, ["a", "b", "c", "d"])) == [["unset", v] for v in "abcd"]
        assert std_var.get() == "main"
    finally:
        std_var.reset(token)


def test_stdlib_context_can_be_passed_on_explicitly() -> None:
    token = std_var.set("parent")
    try:
        ctx = std.copy_context()
        assert in_greenlet(ctx.run, std_var.get) == "parent"
        glet = Greenlet(std_var.get)
        glet.gr_context = std.copy_context()
        glet.start()
        assert glet.get(timeout=5) == "parent"
    finally:
        std_var.reset(token)
