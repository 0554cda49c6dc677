"""Set-up shared by greenkit-io's tests."""

from __future__ import annotations

import pytest

from greenkit.hub import get_hub, sleep


def pytest_sessionstart(session: pytest.Session) -> None:
    """Create and run the main thread's hub before any test, so that its loop's
    own file descriptors (epoll, eventfd) never count as a test's leak."""
    get_hub()
    sleep(0.001)
