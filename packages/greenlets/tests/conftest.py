"""Fixtures for greenkit.greenlet's tests."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from greenkit.hub import get_hub


@pytest.fixture
def error_stream() -> Iterator[io.StringIO]:
    """Capture what the hub prints for errors (tracebacks, failure reports)."""
    hub = get_hub()
    stream = io.StringIO()
    hub.exception_stream = stream
    try:
        yield stream
    finally:
        del hub.exception_stream
