"""The contract between the hub and its event loop.

The hub talks to its loop only through these members, so any loop class
named by ``greenkit.config.loop`` that satisfies the contract can drive it.
It is written once, as typing Protocols (``LoopProtocol``,
``WatcherProtocol``, ``CallbackProtocol``: static typing and ``isinstance``
checks), and published under gevent's names ``ILoop``, ``IWatcher`` and
``ICallback`` as the zope.interface interfaces gevent documents, derived
from the Protocols, so that ``zope.interface.verify.verifyObject(ILoop,
hub.loop)`` holds as it does on gevent.  ``tests-integration`` holds a
contract suite that checks a loop class against both at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from zope.interface import Attribute, Interface, classImplements
from zope.interface.interface import InterfaceClass, fromMethod

__all__ = [
    "AsyncProtocol",
    "CallbackProtocol",
    "ChildWatcherProtocol",
    "ICallback",
    "ILoop",
    "IWatcher",
    "LoopProtocol",
    "TimerProtocol",
    "WatcherProtocol",
]


@runtime_checkable
class CallbackProtocol(Protocol):
    """A function queued to run in the loop at the next opportune moment."""

    #: The function, None once it has run or was cancelled.
    callback: Callable[..., Any] | None
    #: Its arguments, None once it has run or was cancelled.
    args: tuple[Any, ...] | None

    @property
    def pending(self) -> bool:
        """True until the function has run or was cancelled."""

    def stop(self) -> None:
        """Cancel the call if it is still pending."""

    def close(self) -> None:
        """An alias of ``stop``."""


@runtime_checkable
class WatcherProtocol(Protocol):
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
class TimerProtocol(WatcherProtocol, Protocol):
    """A timer watcher; the hub keeps stopped ones for reuse (``Hub.start_timer``)."""

    #: The loop that created the timer.
    loop: LoopProtocol

    def restart(
        self,
        after: float,
        ref: bool,
        priority: int,
        update: bool,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> None:
        """Reuse a stopped timer: fire once, ``after`` seconds from now (the
        loop's clock refreshed first if ``update``), with ``ref`` and
        ``priority``, calling ``callback(*args)``.  Raises AttributeError if
        the timer is active or pending."""


@runtime_checkable
class AsyncProtocol(WatcherProtocol, Protocol):
    """A watcher another thread triggers (``loop.async_()``)."""

    def send(self) -> None:
        """Make the watcher's callback run in its loop's thread (from any thread)."""


@runtime_checkable
class ChildWatcherProtocol(WatcherProtocol, Protocol):
    """A watcher of a child process's status changes (``loop.child()``)."""

    @property
    def pid(self) -> int:
        """The watched pid (0: any child)."""

    @property
    def rpid(self) -> int:
        """The pid whose status changed."""

    @property
    def rstatus(self) -> int:
        """Its raw wait status (decode with ``os.waitstatus_to_exitcode``)."""


@runtime_checkable
class LoopProtocol(Protocol):
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

    def run_callback(self, func: Callable[..., Any], *args: Any) -> CallbackProtocol:
        """Queue ``func(*args)`` to run in the loop soon."""

    def run_callback_threadsafe(self, func: Callable[..., Any], *args: Any) -> CallbackProtocol:
        """Queue ``func(*args)`` from any thread and wake the loop."""

    def io(
        self, fd: int, events: int, ref: bool = True, priority: int | None = None
    ) -> WatcherProtocol:
        """A watcher for readiness of ``fd`` (1 read, 2 write)."""

    def timer(
        self, after: float, repeat: float = 0.0, ref: bool = True, priority: int | None = None
    ) -> TimerProtocol:
        """A watcher firing after ``after`` seconds, then every ``repeat``."""

    def signal(self, signum: int, ref: bool = True, priority: int | None = None) -> WatcherProtocol:
        """A watcher for a POSIX signal."""

    def idle(self, ref: bool = True, priority: int | None = None) -> WatcherProtocol:
        """A watcher firing when the loop is idle."""

    def prepare(self, ref: bool = True, priority: int | None = None) -> WatcherProtocol:
        """A watcher firing before each poll."""

    def check(self, ref: bool = True, priority: int | None = None) -> WatcherProtocol:
        """A watcher firing after each poll."""

    def fork(self, ref: bool = True, priority: int | None = None) -> WatcherProtocol:
        """A watcher firing in a forked child after ``reinit()``."""

    def async_(self, ref: bool = True, priority: int | None = None) -> AsyncProtocol:
        """A watcher triggered by ``send()`` from any thread."""

    def child(self, pid: int, trace: int = 0, ref: bool = True) -> ChildWatcherProtocol:
        """A watcher for status changes of a child process."""

    def stat(
        self, path: Any, interval: float = 0.0, ref: bool = True, priority: int | None = None
    ) -> WatcherProtocol:
        """A watcher for changes of a path's stat data."""


def _as_zope_interface(name: str, protocol: type) -> Any:
    """The zope.interface interface with ``protocol``'s members: its methods
    (signatures without ``self``), and its properties and annotated data
    attributes as ``Attribute``s."""
    members: dict[str, Any] = {}
    for member, value in vars(protocol).items():
        if member.startswith("_"):
            continue
        if isinstance(value, property):
            members[member] = Attribute(value.__doc__ or member)
        elif callable(value):
            members[member] = fromMethod(value, name=member)
    for member in getattr(protocol, "__annotations__", {}):
        members.setdefault(member, Attribute(member))
    return InterfaceClass(
        name, (Interface,), members, __doc__=protocol.__doc__, __module__=__name__
    )


ICallback = _as_zope_interface("ICallback", CallbackProtocol)
IWatcher = _as_zope_interface("IWatcher", WatcherProtocol)
ILoop = _as_zope_interface("ILoop", LoopProtocol)


def _declare_libev() -> None:
    """greenkit-loop-libev (the loop greenkit ships, a dependency of the hub)
    implements the contract; the loop imports nothing from greenkit, so the
    declaration is made here."""
    from greenkit.loop.libev import callback, loop, watcher

    classImplements(loop, ILoop)
    classImplements(callback, ICallback)
    classImplements(watcher, IWatcher)


_declare_libev()
