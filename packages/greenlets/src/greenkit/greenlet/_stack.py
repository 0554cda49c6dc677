"""Spawning stacks: what ``Greenlet.spawning_stack`` shows, captured cheaply at
spawn time and turned into frame-like objects only when read."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

__all__ = ["_Frame", "_build_frames", "_capture_stack", "sys_getframe"]

#: Looked up at every capture (not bound once) so tests can replace it.
sys_getframe = sys._getframe


class _Frame:
    """A lightweight stand-in for one frame of a captured spawning stack.

    It has what ``traceback.extract_stack`` / ``format_stack`` read
    (``f_code``, ``f_lineno``, ``f_globals``, ``f_back``), without keeping
    the real frame (and its locals) alive.
    """

    __slots__ = ("f_code", "f_lineno", "f_globals", "f_back")

    def __init__(self, f_code: Any, f_lineno: int, f_globals: dict[str, Any],
                 f_back: _Frame | None) -> None:
        self.f_code = f_code
        self.f_lineno = f_lineno
        self.f_globals = f_globals
        self.f_back = f_back

    @property
    def f_locals(self) -> dict[str, Any]:
        """Always empty: locals are not captured."""
        return {}

    def __repr__(self) -> str:
        return (f"<_Frame {self.f_code.co_name} at "
                f"{self.f_code.co_filename}:{self.f_lineno}>")


def _capture_stack(limit: int) -> tuple[Any, ...] | None:
    """(code, lineno, globals) triples, flattened, of the caller of
    ``Greenlet.__init__`` and its callers, at most ``limit`` frames."""
    frame: FrameType | None
    try:
        frame = sys_getframe()
    except ValueError:
        return None
    # Skip this function and Greenlet.__init__.
    frame = frame.f_back if frame is not None else None
    if frame is not None:
        frame = frame.f_back
    data: list[Any] = []
    append = data.append
    while frame is not None and limit > 0:
        append(frame.f_code)
        append(frame.f_lineno)
        append(frame.f_globals)
        frame = frame.f_back
        limit -= 1
    return tuple(data)


def _build_frames(data: tuple[Any, ...]) -> _Frame | None:
    frame: _Frame | None = None
    for i in range(len(data) - 3, -1, -3):
        frame = _Frame(data[i], data[i + 1], data[i + 2], frame)
    return frame
