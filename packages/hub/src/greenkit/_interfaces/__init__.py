"""The contract between the hub and its event loop, as typing Protocols.

The hub talks to its loop only through these members, so any loop class
named by ``greenkit.config.loop`` that satisfies ``ILoop`` can drive it.
They mirror the interfaces gevent documents for its loops (ILoop, IWatcher,
ICallback); ``tests-integration`` holds a contract suite that checks a loop
class against them at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

__all__ = ["ICallback", "IWatcher", "ILoop"]


@runtime_checkable
class ICallback(Protocol):
    """A function queued to run in the loop at the next opportune moment."""

    @property
    def pending(self) -> bool:
        """True until the function has run or was cancelled."""

    def stop(self) -> None:
        """Cancel the call if it is still pending."""

    def close(self) -> None:
        """An alias of ``stop``."""


@runtime_checkable
class IWatcher(Protocol):
    """Something the loop watches for; ``callback(*args)`` runs when it happens."""

    @property
    def active(self) -> bool:
        """True while started."""

    @property
    def pending(self) -> bool:
        """True when an event arrived and the callback has not run yet."""

    callback: Callable[..., Any] | None
    args: tuple[Any, ...] | None
    ref: bool
    priority: int

    def start(self, callback: Callable[..., Any], *args: Any) -> None:
        """Begin watching."""

    def stop(self) -> None:
        """Stop watching; ``start`` may be called again."""

    def close(self) -> None:
        """Stop and release native resources; the watcher is unusable afterwards."""


@runtime_checkable
class ILoop(Protocol):
    """The event loop a hub runs: watcher factories, callbacks, time, lifecycle."""

    error_handler: Any

    @property
    def default(self) -> bool:
        """True for the process's default loop (signals, child processes)."""

    approx_timer_resolution: float

    def run(self, nowait: bool = False, once: bool = False) -> None:
        """Run until nothing keeps the loop alive (or one iteration)."""

    def break_(self, how: int = ...) -> None:
        """Make ``run()`` return."""

    def now(self) -> float:
        """The loop's notion of the current time, in seconds."""

    def update_now(self) -> None:
        """Refresh the loop's notion of time."""

    def destroy(self) -> None:
        """Release the loop's resources."""

    def reinit(self) -> None:
        """Re-create kernel state in a forked child."""

    def closing_fd(self, fd: int) -> bool:
        """``fd`` is about to close; True if that queued events for its watchers."""

    def handle_error(self, context: Any, type: Any, value: Any, tb: Any) -> None:
        """Report an error raised by a callback."""

    def run_callback(self, func: Callable[..., Any], *args: Any) -> ICallback:
        """Queue ``func(*args)`` to run in the loop soon."""

    def run_callback_threadsafe(self, func: Callable[..., Any], *args: Any) -> ICallback:
        """Queue ``func(*args)`` from any thread and wake the loop."""

    def io(self, fd: int, events: int, ref: bool = True,
           priority: int | None = None) -> IWatcher:
        """A watcher for readiness of ``fd`` (1 read, 2 write)."""

    def timer(self, after: float, repeat: float = 0.0, ref: bool = True,
              priority: int | None = None) -> IWatcher:
        """A watcher firing after ``after`` seconds, then every ``repeat``."""

    def signal(self, signum: int, ref: bool = True, priority: int | None = None) -> IWatcher:
        """A watcher for a POSIX signal."""

    def idle(self, ref: bool = True, priority: int | None = None) -> IWatcher:
        """A watcher firing when the loop is idle."""

    def prepare(self, ref: bool = True, priority: int | None = None) -> IWatcher:
        """A watcher firing before each poll."""

    def check(self, ref: bool = True, priority: int | None = None) -> IWatcher:
        """A watcher firing after each poll."""

    def fork(self, ref: bool = True, priority: int | None = None) -> IWatcher:
        """A watcher firing in a forked child after ``reinit()``."""

    def async_(self, ref: bool = True, priority: int | None = None) -> IWatcher:
        """A watcher triggered by ``send()`` from any thread."""

    def child(self, pid: int, trace: int = 0, ref: bool = True) -> IWatcher:
        """A watcher for status changes of a child process."""

    def stat(self, path: Any, interval: float = 0.0, ref: bool = True,
             priority: int | None = None) -> IWatcher:
        """A watcher for changes of a path's stat data."""
