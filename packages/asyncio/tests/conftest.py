"""Fixtures for greenkit-asyncio's tests: a greenkit event loop per test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import greenkit.asyncio as gasyncio


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    """An asyncio.Runner whose loop is a greenkit loop, closed after the test."""
    with asyncio.Runner(loop_factory=gasyncio.new_event_loop) as r:
        yield r
