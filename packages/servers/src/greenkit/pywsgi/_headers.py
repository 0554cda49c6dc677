"""The request's header fields as :class:`~greenkit.pywsgi.WSGIHandler` keeps them."""

from __future__ import annotations

from typing import Any

__all__ = ["RequestHeaders"]


class RequestHeaders:
    """The request's header fields: case-insensitive lookups over the lines
    in arrival order (obsolete folded lines joined to the previous one)."""

    __slots__ = ("_items", "_index")

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        index: dict[str, list[str]] = {}
        for key, value in items:
            values = index.get(key.lower())
            if values is None:
                index[key.lower()] = [value]
            else:
                values.append(value)
        self._index = index

    def get(self, name: str, default: Any = None) -> Any:
        """The first value of ``name``, or ``default``."""
        values = self._index.get(name.lower())
        return default if values is None else values[0]

    def get_all(self, name: str, failobj: Any = None) -> Any:
        """Every value of ``name`` in order (``failobj`` if none)."""
        values = self._index.get(name.lower())
        return failobj if values is None else list(values)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def keys(self) -> list[str]:
        return [key for key, _ in self._items]

    def __iter__(self) -> Any:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<RequestHeaders {self._items!r}>"


RequestHeaders.__module__ = "greenkit.pywsgi"
