"""Log destinations of :class:`~greenkit.pywsgi.WSGIServer`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["LoggingLogAdapter"]


class _NoopLog:
    """A log that drops everything (``log=None``); false in a boolean context
    so the handler skips formatting access lines for it."""

    def write(self, *args: Any, **kwargs: Any) -> None:
        return None

    def flush(self) -> None:
        return None

    def writelines(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __bool__(self) -> bool:
        return False


class LoggingLogAdapter:
    """A file-like ``write()`` over a :mod:`logging`-style object: each
    written message (without its trailing newline) goes to
    ``logger.log(level, message)``.  Every other attribute, read, set or
    deleted, is the wrapped logger's."""

    __slots__ = ("_logger", "_level")

    def __init__(self, logger: Any, level: int = 20) -> None:
        object.__setattr__(self, "_logger", logger)
        object.__setattr__(self, "_level", level)

    def write(self, msg: str) -> None:
        if msg and msg.endswith("\n"):
            msg = msg[:-1]
        self._logger.log(self._level, msg)

    def flush(self) -> None:
        """Nothing is buffered."""

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in LoggingLogAdapter.__slots__:
            object.__setattr__(self, name, value)
        else:
            setattr(self._logger, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._logger, name)


LoggingLogAdapter.__module__ = "greenkit.pywsgi"
