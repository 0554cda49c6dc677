"""Spawning stacks: captured at spawn time (``_capture_stack``), turned into
the frame-like objects ``Greenlet.spawning_stack`` shows only when read."""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

__all__ = ["_Frame", "_build_frames", "_capture_stack"]


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


def _capture_stack(limit: int, sys_getframe: Callable[[], FrameType]) -> tuple[Any, ...] | None:
    """(code, lasti, globals) triples, flattened, of the caller of
    ``Greenlet.__init__`` and its callers, at most ``limit`` frames.

    The bytecode offset is kept rather than the line number: reading
    ``f_lineno`` decodes the code's line table on every frame of every
    spawn (a third of this function's time), while ``spawning_stack`` is
    rarely read; ``_build_frames`` maps offsets to lines then.
    ``sys_getframe`` is ``greenkit.greenlet.sys_getframe``, which the
    caller reads at each spawn (tests, gevent's too, replace it there).
    """
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
        append(frame.f_lasti)
        append(frame.f_globals)
        frame = frame.f_back
        limit -= 1
    # Greenlets spawned from one place (an accept loop, a pool) have equal
    # stacks: they share one tuple, which saves ~0.3 KB per greenlet.
    global _last_stack
    stack = tuple(data)
    if stack == _last_stack:
        return _last_stack
    _last_stack = stack
    return stack


#: The spawning stack captured last (see _capture_stack).
_last_stack: tuple[Any, ...] = ()
