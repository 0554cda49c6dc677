"""Run the loop contract (loop_contract.py) against a loop class.

The class is named by a dotted path in ``GREENKIT_LOOP_CONTRACT_CLASS``
(default ``greenkit.loop.libev.loop``); it is called as
``cls(default=False)`` to make each fresh, non-default loop.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest
from loop_contract import CHECKS, LoopFactory, run_contract

from greenkit._interfaces import ILoop

ENV = "GREENKIT_LOOP_CONTRACT_CLASS"
DEFAULT_CLASS = "greenkit.loop.libev.loop"


def resolve(dotted: str) -> Any:
    """The object named by ``package.module.attr`` (or ``package.module:attr``)."""
    if ":" in dotted:
        module_name, _, attr = dotted.partition(":")
    else:
        module_name, _, attr = dotted.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"{ENV}: not a dotted class path: {dotted!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.fixture(scope="module")
def loop_class() -> Any:
    return resolve(os.environ.get(ENV) or DEFAULT_CLASS)


@pytest.fixture(scope="module")
def factory(loop_class: Any) -> LoopFactory:
    return lambda: loop_class(default=False)


def test_resolve() -> None:
    assert resolve("greenkit._interfaces.ILoop") is ILoop
    assert resolve("greenkit._interfaces:ILoop") is ILoop
    with pytest.raises(ValueError):
        resolve("nodots")


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
def test_contract(check: Any, factory: LoopFactory) -> None:
    loop = factory()
    try:
        check(loop)
    finally:
        loop.destroy()


def test_run_contract_all_at_once(factory: LoopFactory) -> None:
    run_contract(factory)


def test_run_contract_names_the_failing_check(loop_class: Any) -> None:
    class Broken(loop_class):  # type: ignore[misc, valid-type]
        """A loop whose run_callback never runs the function it is given."""

        def run_callback(self, func: Any, *args: Any) -> Any:
            return super().run_callback(lambda: None)

    with pytest.raises(AssertionError, match=r"^check_run_callback_fifo: "):
        run_contract(lambda: Broken(default=False))
