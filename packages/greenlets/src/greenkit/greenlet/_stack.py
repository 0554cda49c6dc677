"""Spawning stacks: the frame-like objects ``Greenlet.spawning_stack`` shows,
built only when read from what ``greenkit.greenlet`` captured at spawn time."""

from __future__ import annotations

from types import CodeType
from typing import Any

__all__ = ["_Frame", "_build_frames"]


class _Frame:
    """A lightweight stand-in for one frame of a captured spawning stack.

    It has what ``traceback.extract_stack`` / ``format_stack`` read
    (``f_code``, ``f_lineno``, ``f_globals``, ``f_back``), without keeping
    the real frame (and its locals) alive.
    """

    __slots__ = ("f_code", "f_lineno", "f_globals", "f_back")

    def __init__(
        self, f_code: Any, f_lineno: int, f_globals: dict[str, Any], f_back: _Frame | None
    ) -> None:
        self.f_code = f_code
        self.f_lineno = f_lineno
        self.f_globals = f_globals
        self.f_back = f_back

    @property
    def f_locals(self) -> dict[str, Any]:
        """Always empty: locals are not captured."""
        return {}

    def __repr__(self) -> str:
        return f"<_Frame {self.f_code.co_name} at {self.f_code.co_filename}:{self.f_lineno}>"


def _line_of(code: CodeType, lasti: int) -> int:
    """The line number of bytecode offset ``lasti`` in ``code`` (what a frame's
    ``f_lineno`` reads while that instruction runs)."""
    for start, end, line in code.co_lines():
        if start <= lasti < end and line is not None:
            return line
    return code.co_firstlineno


def _build_frames(data: tuple[Any, ...]) -> _Frame | None:
    """The ``_Frame`` chain for (code, lasti, globals) triples, innermost first."""
    frame: _Frame | None = None
    for i in range(len(data) - 3, -1, -3):
        code = data[i]
        frame = _Frame(code, _line_of(code, data[i + 1]), data[i + 2], frame)
    return frame
