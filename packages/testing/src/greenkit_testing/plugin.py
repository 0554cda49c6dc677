"""pytest plugin shared by greenkit's test suites (entry point ``greenkit_testing``).

Installed with ``greenkit-testing`` it loads by itself and adds:

``deadline`` (always on)
    Every test gets a deadline covering setup, call and teardown: when it
    runs out, :func:`faulthandler.dump_traceback_later` prints every
    thread's traceback to stderr and ends the process, so a hang is a
    failure instead of a stuck run.  The default is ``GREENKIT_TEST_DEADLINE``
    seconds (60 when unset); ``@pytest.mark.deadline(seconds)`` changes it
    for one test, and ``0``/``None`` switches it off.

``fd_leak_check`` (fixture, or marker of the same name)
    Fails the test, in teardown, when it leaves file descriptors open that
    were not open when it started, naming each one and what it points to.

``greenlet_leak_check`` (fixture, or marker of the same name)
    Fails the test when more greenlets are alive (started or not, but not
    dead) after it than before.  Does nothing when greenlet is not
    installed.

``fresh_loop`` (fixture)
    A new non-default ``greenkit.loop.libev.loop``, destroyed after the
    test; the test is skipped when greenkit-loop-libev is not installed.

``guarded_run`` (fixture)
    :func:`run_guarded`: run a loop until it has nothing left to do, broken
    by an unreferenced guard timer after a generous timeout, so a missing
    event fails the test instead of hanging it.

``hub`` (fixture)
    This thread's greenkit hub (created if needed); skipped when
    greenkit-hub is not installed.

``error_stream`` (fixture)
    What the hub prints for errors, captured in a ``StringIO``.

:func:`warm_up_hub`
    A ``pytest_sessionstart`` hook for suites that check file descriptor
    leaks: ``from greenkit_testing import warm_up_hub as
    pytest_sessionstart`` in a ``conftest.py`` creates and runs the main
    thread's hub first, so that its loop's own descriptors (epoll,
    eventfd) never count as a test's leak.

The leak checks are opt-in: request the fixture, mark a test, or mark a
whole module with ``pytestmark = pytest.mark.fd_leak_check``.
"""

from __future__ import annotations

import faulthandler
import gc
import importlib
import importlib.util
import io
import os
from collections.abc import Generator, Iterator
from typing import Any

import pytest

__all__ = [
    "DEADLINE_ENV",
    "DEFAULT_DEADLINE",
    "GUARD_TIMEOUT",
    "error_stream",
    "fd_leak_check",
    "fresh_loop",
    "greenlet_leak_check",
    "guarded_run",
    "hub",
    "open_fds",
    "run_guarded",
    "warm_up_hub",
]

#: Environment variable giving the default per-test deadline, in seconds.
DEADLINE_ENV = "GREENKIT_TEST_DEADLINE"
#: The per-test deadline when the environment does not say.
DEFAULT_DEADLINE = 60.0
#: Generous upper bound, in seconds, for anything a loop test waits for.
GUARD_TIMEOUT = 10.0

_MARKERS = (
    "deadline(seconds): end the test process with every thread's traceback if this "
    f"test (setup, call and teardown) runs longer than seconds (default ${DEADLINE_ENV} "
    f"or {DEFAULT_DEADLINE:g}; 0 or None: no deadline)",
    "fd_leak_check: fail the test if it leaves file descriptors open",
    "greenlet_leak_check: fail the test if it leaves greenlets alive",
)
_LEAK_FIXTURES = ("fd_leak_check", "greenlet_leak_check")

_stderr_fd_key = pytest.StashKey[int]()
_default_deadline_key = pytest.StashKey[float]()


def _parse_deadline(value: object, source: str) -> float:
    if value is None:
        return 0.0
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise pytest.UsageError(f"{source}: {value!r} is not a number of seconds") from None
    if seconds < 0:
        raise pytest.UsageError(f"{source}: {value!r} is negative")
    return seconds


def pytest_configure(config: pytest.Config) -> None:
    for line in _MARKERS:
        config.addinivalue_line("markers", line)
    env = os.environ.get(DEADLINE_ENV)
    config.stash[_default_deadline_key] = (
        DEFAULT_DEADLINE if env in (None, "") else _parse_deadline(env, DEADLINE_ENV)
    )
    # Output capture is suspended while plugins are configured, so fd 2 is
    # the real stderr here; keep a copy for faulthandler to write to.
    config.stash[_stderr_fd_key] = os.dup(2)


def pytest_unconfigure(config: pytest.Config) -> None:
    fd = config.stash.get(_stderr_fd_key, None)
    if fd is not None:
        del config.stash[_stderr_fd_key]
        os.close(fd)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A leak-check marker requests its fixture, first so that it brackets
    # every other fixture of the test.
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is None:
            continue
        for name in reversed(_LEAK_FIXTURES):
            if item.get_closest_marker(name) is not None and name not in names:
                names.insert(0, name)


def _deadline_for(item: pytest.Item) -> float:
    marker = item.get_closest_marker("deadline")
    if marker is None:
        return item.config.stash[_default_deadline_key]
    if marker.kwargs or len(marker.args) != 1:
        raise pytest.UsageError(f"{item.nodeid}: use @pytest.mark.deadline(seconds)")
    return _parse_deadline(marker.args[0], f"{item.nodeid}: deadline")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Runs inside pytest's own faulthandler_timeout bracket, so this timer
    # replaces that one (faulthandler keeps a single pending dump).
    seconds = _deadline_for(item)
    if seconds > 0:
        faulthandler.dump_traceback_later(
            seconds, exit=True, file=item.config.stash[_stderr_fd_key]
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    try:
        return (yield)
    finally:
        if _deadline_for(item) > 0:
            faulthandler.cancel_dump_traceback_later()


def open_fds() -> dict[int, str] | None:
    """Map each open file descriptor of this process to what it refers to.

    None when the platform offers no listing (neither /proc/self/fd nor
    /dev/fd).
    """
    for folder in ("/proc/self/fd", "/dev/fd"):
        if not os.path.isdir(folder):
            continue
        found = {}
        for entry in os.listdir(folder):
            fd = int(entry)
            try:
                os.fstat(fd)  # the listing's own descriptor is closed by now
            except OSError:
                continue
            try:
                found[fd] = os.readlink(os.path.join(folder, entry))
            except OSError:
                found[fd] = "?"
        return found
    return None


@pytest.fixture
def fd_leak_check() -> Iterator[None]:
    """Fail the test if it leaves file descriptors open."""
    before = open_fds()
    if before is None:
        pytest.skip("cannot list open file descriptors on this platform")
    yield
    gc.collect()
    after = open_fds() or {}
    leaked = sorted(set(after.items()) - set(before.items()))
    if leaked:
        listing = ", ".join(f"fd {fd} -> {target}" for fd, target in leaked)
        pytest.fail(f"test leaked {len(leaked)} file descriptor(s): {listing}", pytrace=False)


def _live_greenlets(greenlet_type: Any) -> dict[int, Any]:
    gc.collect()
    return {
        id(obj): obj for obj in gc.get_objects() if isinstance(obj, greenlet_type) and not obj.dead
    }


@pytest.fixture
def greenlet_leak_check() -> Iterator[None]:
    """Fail the test if it leaves more greenlets alive than it found."""
    try:
        import greenlet
    except ImportError:
        # Nothing can leak greenlets without greenlet installed.
        yield
        return
    before = _live_greenlets(greenlet.greenlet)
    yield
    after = _live_greenlets(greenlet.greenlet)
    new = [repr(obj) for key, obj in after.items() if key not in before]
    del before, after
    if new:
        more = f" and {len(new) - 10} more" if len(new) > 10 else ""
        pytest.fail(f"test left greenlets alive: {', '.join(new[:10])}{more}", pytrace=False)


def _find_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@pytest.fixture
def fresh_loop() -> Iterator[Any]:
    """A new non-default greenkit.loop.libev loop, destroyed after the test."""
    if not _find_module("greenkit.loop.libev"):
        pytest.skip("greenkit-loop-libev is not installed")
    # Imported only here: an installed but broken loop fails the test.
    libev = importlib.import_module("greenkit.loop.libev")
    loop = libev.loop(default=False)
    try:
        yield loop
    finally:
        loop.destroy()


@pytest.fixture
def error_stream() -> Iterator[io.StringIO]:
    """What this thread's greenkit hub prints for errors (tracebacks and
    "... failed with ..." reports), captured instead of going to stderr."""
    if not _find_module("greenkit.hub"):
        pytest.skip("greenkit-hub is not installed")
    hub = importlib.import_module("greenkit.hub").get_hub()
    stream = io.StringIO()
    hub.exception_stream = stream
    try:
        yield stream
    finally:
        del hub.exception_stream


def run_guarded(loop: Any, timeout: float = GUARD_TIMEOUT) -> bool:
    """``loop.run()``, broken after ``timeout`` seconds by an unreferenced
    guard timer; True if it returned by itself.  Uses only the loop
    contract (``greenkit._interfaces.LoopProtocol``), so it works with any
    loop class."""
    expired: list[bool] = []

    def on_timeout() -> None:
        expired.append(True)
        loop.break_()

    loop.update_now()
    guard = loop.timer(timeout, ref=False)
    guard.start(on_timeout)
    try:
        loop.run()
    finally:
        guard.close()
    return not expired


@pytest.fixture
def guarded_run() -> Any:
    """``guarded_run(loop, timeout=GUARD_TIMEOUT)``: :func:`run_guarded`."""
    return run_guarded


@pytest.fixture
def hub() -> Any:
    """This thread's greenkit hub (created if needed)."""
    if not _find_module("greenkit.hub"):
        pytest.skip("greenkit-hub is not installed")
    return importlib.import_module("greenkit.hub").get_hub()


def warm_up_hub(session: pytest.Session | None = None) -> None:
    """Create the main thread's hub and let its loop run once (a
    ``pytest_sessionstart`` hook; see the module docstring)."""
    hubmod = importlib.import_module("greenkit.hub")
    hubmod.get_hub()
    hubmod.sleep(0.001)
