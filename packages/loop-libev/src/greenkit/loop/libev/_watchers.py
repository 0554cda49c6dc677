"""The libev watchers with little logic of their own: signal, idle, prepare,
check, fork, async_, child and stat (public in ``watcher``, beside the
base class, io and timer)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._corecffi import ffi, lib
from .watcher import _NSIG, _check_seconds, _closed_error, watcher

if TYPE_CHECKING:
    from .corecffi import loop as Loop

__all__ = ["async_", "check", "child", "fork", "idle", "prepare", "signal", "stat"]


class signal(watcher):
    """Delivery of a POSIX signal to the process."""

    __slots__ = ("_signum",)
    _c_type = "struct ev_signal *"
    _c_init = lib.gk_signal_init
    _start_fn = lib.ev_signal_start
    _stop_fn = lib.ev_signal_stop

    def __init__(
        self, loop: Loop, signum: int, ref: bool = True, priority: int | None = None
    ) -> None:
        signum = int(signum)
        if not 0 < signum < _NSIG:
            raise ValueError(f"illegal signal number: {signum!r}")
        self._signum = signum
        self._bind(loop, ref, priority, signum)

    @property
    def signum(self) -> int:
        """The watched signal number."""
        return self._signum

    def start(self, callback: Callable[..., Any], *args: Any) -> None:
        w, _ptr = self._live()
        if not w.active:
            self.loop._claim_signal(self._signum)
        try:
            super().start(callback, *args)
        except BaseException:
            if not w.active:
                self.loop._release_signal(self._signum)
            raise

    def stop(self) -> None:
        w = self._watcher
        was_active = w is not None and w.active
        super().stop()
        if was_active:
            self.loop._release_signal(self._signum)

    def _format(self) -> str:
        return f" signum={self._signum}"


class idle(watcher):
    """Fires when the loop has nothing else to do (and keeps it from blocking)."""

    __slots__ = ()
    _c_type = "struct ev_idle *"
    _c_init = lib.gk_idle_init
    _start_fn = lib.ev_idle_start
    _stop_fn = lib.ev_idle_stop


class prepare(watcher):
    """Fires at the start of each loop iteration, before polling for I/O."""

    __slots__ = ()
    _c_type = "struct ev_prepare *"
    _c_init = lib.gk_prepare_init
    _start_fn = lib.ev_prepare_start
    _stop_fn = lib.ev_prepare_stop


class check(watcher):
    """Fires in each loop iteration right after polling for I/O."""

    __slots__ = ()
    _c_type = "struct ev_check *"
    _c_init = lib.gk_check_init
    _start_fn = lib.ev_check_start
    _stop_fn = lib.ev_check_stop


class fork(watcher):
    """Fires in the child after ``loop.reinit()`` following a fork."""

    __slots__ = ()
    _c_type = "struct ev_fork *"
    _c_init = lib.gk_fork_init
    _start_fn = lib.ev_fork_start
    _stop_fn = lib.ev_fork_stop


class async_(watcher):
    """Wakes the loop from any thread: ``send()`` is thread-safe."""

    __slots__ = ()
    _c_type = "struct ev_async *"
    _c_init = lib.gk_async_init
    _start_fn = lib.ev_async_start
    _stop_fn = lib.ev_async_stop

    def send(self) -> None:
        """Make the callback run in the loop's thread (coalesced until it does)."""
        w, ptr = self._live()
        lib.ev_async_send(ptr, w)

    def send_ignoring_arg(self, _ignored: object) -> None:
        """``send()`` with one ignored argument, for use as a callback."""
        self.send()

    @property
    def pending(self) -> bool:
        """True when ``send()`` was called and the loop has not noticed yet."""
        w = self._watcher
        return w is not None and bool(lib.gk_async_pending(w) or w.pending)


class child(watcher):
    """Status changes of a child process (default loop only)."""

    __slots__ = ("_pid", "_trace")
    _c_type = "struct ev_child *"
    _c_init = lib.gk_child_init
    _start_fn = lib.ev_child_start
    _stop_fn = lib.ev_child_stop

    def __init__(self, loop: Loop, pid: int, trace: int = 0, ref: bool = True) -> None:
        if not loop.default:
            raise TypeError("child watchers are only available on the default loop")
        self._pid = int(pid)
        self._trace = 1 if trace else 0
        self._bind(loop, ref, None, self._pid, self._trace)

    def start(self, callback: Callable[..., Any], *args: Any) -> None:
        self.loop.install_sigchld()
        super().start(callback, *args)

    @property
    def pid(self) -> int:
        """The watched pid (0: any child)."""
        return self._pid

    @property
    def rpid(self) -> int:
        """The pid whose status changed."""
        w = self._watcher
        return 0 if w is None else int(w.rpid)

    @rpid.setter
    def rpid(self, value: int) -> None:
        w = self._watcher
        if w is None:
            raise _closed_error(self)
        w.rpid = int(value)

    @property
    def rstatus(self) -> int:
        """The raw wait status (decode with ``os.waitstatus_to_exitcode``)."""
        w = self._watcher
        return 0 if w is None else int(w.rstatus)

    @rstatus.setter
    def rstatus(self, value: int) -> None:
        w = self._watcher
        if w is None:
            raise _closed_error(self)
        w.rstatus = int(value)

    def _format(self) -> str:
        return f" pid={self._pid} rstatus={self.rstatus}"


class stat(watcher):
    """Changes of a path's ``stat()`` data, polled every ``interval`` seconds."""

    __slots__ = ("_path", "_paths", "_c_path", "_interval")
    _c_type = "struct ev_stat *"
    _c_init = lib.gk_stat_init
    _start_fn = lib.ev_stat_start
    _stop_fn = lib.ev_stat_stop

    def __init__(
        self,
        loop: Loop,
        path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
        interval: float = 0.0,
        ref: bool = True,
        priority: int | None = None,
    ) -> None:
        self._path = os.fspath(path)
        #: The path as the bytes handed to libev (gevent's watcher names it so too).
        self._paths = os.fsencode(self._path)
        if b"\0" in self._paths:
            raise ValueError("embedded null byte in path")
        self._c_path = ffi.new("char[]", self._paths)
        self._interval = _check_seconds("interval", interval)
        self._bind(loop, ref, priority, self._c_path, self._interval)

    @property
    def path(self) -> str | bytes:
        """The watched path, as given."""
        return self._path

    @property
    def interval(self) -> float:
        """The polling interval libev uses (it raises tiny values to its minimum)."""
        w = self._watcher
        return self._interval if w is None else float(w.interval)

    @property
    def attr(self) -> Any:
        """Current ``struct stat`` of the path, or None when it does not exist."""
        w = self._watcher
        if w is None or not w.attr.st_nlink:
            return None
        return w.attr

    @property
    def prev(self) -> Any:
        """The ``struct stat`` before the last change, or None."""
        w = self._watcher
        if w is None or not w.prev.st_nlink:
            return None
        return w.prev

    def _format(self) -> str:
        return f" path={self._path!r}"
