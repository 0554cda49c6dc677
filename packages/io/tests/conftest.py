"""Set-up shared by greenkit-io's tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from greenkit.hub import get_hub
from greenkit.resolver.blocking import Resolver as BlockingResolver
from greenkit_testing import warm_up_hub

# Create and run the main thread's hub before any test, so that its loop's
# own file descriptors (epoll, eventfd) never count as a test's leak.
pytest_sessionstart = warm_up_hub


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    """A pipe ``(read_fd, write_fd)``, closed afterwards unless the test did."""
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


@pytest.fixture
def blocking_resolver() -> Iterator[None]:
    """Name lookups in the calling greenlet, without the hub's thread pool
    (which lives in greenkit-threads)."""
    hub = get_hub()
    previous = hub._resolver
    hub.resolver = BlockingResolver()
    yield
    hub.resolver = previous
