"""The command line of ``python -m greenkit.monkey``.

``python -m greenkit.monkey [--verbose] [--no-<name> | --<name>]...
[--module] (script | module) [args...]`` where each ``<name>`` is a
parameter of :func:`greenkit.monkey.patch_all` (``--no-thread``,
``--no-ssl``, ``--sys``...).  The target then runs as ``__main__`` with
``sys.argv`` set as ``python script args`` (or ``python -m module args``)
would, so its output is the same as unpatched, only cooperative.
"""

from __future__ import annotations

import inspect
import os
import runpy
import sys
from typing import Any, NoReturn

__all__ = ["run"]

USAGE = (
    "usage: python -m greenkit.monkey [--verbose] [--no-<name> | --<name>]... "
    "[--module] (script | module) [args...]\n"
    "  <name> is an argument of greenkit.monkey.patch_all: {names}"
)


def _patch_all_names() -> list[str]:
    from greenkit.monkey import patch_all

    return [
        name
        for name, param in inspect.signature(patch_all).parameters.items()
        if param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]


def _usage_error(message: str, names: list[str]) -> NoReturn:
    print(message, file=sys.stderr)
    print(USAGE.format(names=", ".join(names)), file=sys.stderr)
    raise SystemExit(2)


def parse(argv: list[str]) -> tuple[dict[str, Any], bool, bool, list[str]]:
    """Split ``argv`` into (patch_all arguments, verbose, run as module,
    target and its arguments)."""
    names = _patch_all_names()
    options: dict[str, Any] = {}
    verbose = as_module = False
    index = 0
    while index < len(argv) and argv[index].startswith("--"):
        option = argv[index][2:]
        index += 1
        if option == "verbose":
            verbose = True
        elif option == "module":
            as_module = True
            break
        elif option == "":
            break
        elif option == "help":
            print(USAGE.format(names=", ".join(names)))
            raise SystemExit(0)
        elif option.startswith("no-") and option[3:] in names:
            options[option[3:]] = False
        elif option in names:
            options[option] = True
        else:
            _usage_error(f"unknown option --{option}", names)
    target = argv[index:]
    if not target:
        _usage_error("no script or module to run", names)
    return options, verbose, as_module, target


def run(argv: list[str]) -> None:
    """Patch as the options of ``argv`` say, then run its script or module."""
    from greenkit.monkey import patch_all, saved

    options, verbose, as_module, target = parse(argv)
    patch_all(**options)
    if verbose:
        print(f"greenkit.monkey: patch_all({options}); patched: {sorted(saved)}", file=sys.stderr)
    sys.argv[:] = target
    if as_module:
        runpy.run_module(target[0], run_name="__main__", alter_sys=True)
        return
    script = target[0]
    if os.path.isfile(script):
        # ``python script.py`` puts the script's directory first on sys.path
        # (run_path does that itself for a directory or a zip file).
        sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")
