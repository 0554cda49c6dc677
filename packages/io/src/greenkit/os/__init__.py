"""Cooperative counterparts of parts of the standard ``os`` module.

* ``nb_read``/``nb_write``: I/O on a non-blocking descriptor (see
  :func:`make_nonblocking`) that parks only the calling greenlet while the
  descriptor is not ready.
* ``tp_read``/``tp_write``: blocking I/O run in the hub's thread pool
  (needs greenkit-threads).
* ``fork`` and friends: fork and re-initialize the hub in the child; the
  ``*_and_watch`` variants also start a child watcher in the parent, so
  that :func:`waitpid` can wait cooperatively and a SIGCHLD handler set
  through :func:`greenkit.signal.signal` still runs when the child exits.
* ``close``: closes a descriptor that greenlets may be waiting on without
  tripping libev (not patched into ``os``).

Every other public name of ``os`` is re-exported unchanged.  Monkey
patching copies ``__implements__`` into ``os``.
"""

from __future__ import annotations

import os as _os
import time
from collections.abc import Callable
from errno import EAGAIN, EINTR
from typing import Any, TypeVar

from greenkit._io_wait import close_fd
from greenkit._stdlib_mirror import reexport
from greenkit.hub import get_hub, reinit, sleep

# The unpatched functions: tests substitute ``_read``/``_write``.
_read = _os.read
_write = _os.write
_waitpid = _os.waitpid
_fork = _os.fork

_IGNORED_ERRORS = (EAGAIN, EINTR)

_A = TypeVar("_A")
_T = TypeVar("_T")

__implements__ = ["fork", "forkpty", "waitpid", "posix_spawn", "posix_spawnp"]
__extensions__ = [
    "tp_read",
    "tp_write",
    "make_nonblocking",
    "nb_read",
    "nb_write",
    "fork_and_watch",
    "forkpty_and_watch",
    "fork_gevent",
    "forkpty_gevent",
]
__implements__ = [name for name in __implements__ if hasattr(_os, name)]
__all__ = __implements__ + __extensions__

# Re-export the rest of ``os`` (everything public that we do not replace).
reexport(globals(), _os, __implements__)

#: Close an fd even while greenlets wait on it (closing is deferred until
#: nothing watches it; see ``greenkit._io_wait.close_fd``).  Not patched
#: into ``os``: plain ``os.close`` stays the system call.
close = close_fd


def make_nonblocking(fd: int) -> bool:
    """Put ``fd`` in non-blocking mode; True if it was blocking before."""
    if _os.get_blocking(fd):
        _os.set_blocking(fd, False)
        return True
    return False


def _nb_io(func: Callable[[int, _A], _T], fd: int, arg: _A, events: int) -> _T:
    hub = None
    event = None
    try:
        while True:
            try:
                return func(fd, arg)
            except OSError as ex:
                if ex.errno not in _IGNORED_ERRORS:
                    raise
            if hub is None:
                hub = get_hub()
                assert hub.loop is not None, "waiting in a destroyed hub"
                event = hub.loop.io(fd, events)
            assert event is not None, "made with the hub on the first pass"
            hub.wait(event)
    finally:
        if event is not None:
            event.close()


def nb_read(fd: int, n: int) -> bytes:
    """Read up to ``n`` bytes from the non-blocking ``fd``; only the calling
    greenlet waits while nothing is available."""
    return _nb_io(_read, fd, n, 1)


def nb_write(fd: int, buf: Any) -> int:
    """Write some of ``buf`` to the non-blocking ``fd``; only the calling
    greenlet waits while there is no room.  Returns the count written."""
    return _nb_io(_write, fd, buf, 2)


def tp_read(fd: int, n: int) -> bytes:
    """``os.read`` run in the hub's thread pool."""
    data: bytes = get_hub().threadpool.apply(_read, (fd, n))
    return data


def tp_write(fd: int, buf: Any) -> int:
    """``os.write`` run in the hub's thread pool."""
    written: int = get_hub().threadpool.apply(_write, (fd, buf))
    return written


# -- fork ---------------------------------------------------------------------

#: pid -> the child watcher while it runs, then (pid, status, time) once it exited.
_watched_children: dict[int, Any] = {}


def _in_child() -> None:
    """After a fork, in the child: re-initialize the hub; the parent's
    children are not this process's."""
    reinit()
    for watched in _watched_children.values():
        if not isinstance(watched, tuple):
            watched.close()
    _watched_children.clear()


def fork_gevent() -> int:
    """``os.fork()``, then re-initialize the hub (loop, thread pool, resolver)
    in the child.  The parent does not watch the child: use
    :func:`fork_and_watch` for that."""
    pid = _fork()
    if pid == 0:
        _in_child()
    return pid


def forkpty_gevent() -> tuple[int, int]:
    """``os.forkpty()``, then re-initialize the hub in the child."""
    pid, master_fd = _os.forkpty()
    if pid == 0:
        _in_child()
    return pid, master_fd


def _on_child(watcher: Any, callback: Callable[[Any], Any] | None) -> None:
    watcher.stop()
    pid = watcher.pid
    result = (pid, watcher.rstatus, time.time())
    if _watched_children.get(pid) is watcher:
        _watched_children[pid] = result
    if callback is not None:
        callback(watcher)


def _sigchld_loop(loop: Any) -> Any:
    """``loop`` (default: the hub's) with SIGCHLD routed to it, or None if it
    cannot watch children (only the default loop can).  Done before a child
    is created: a child that exits before then would go unnoticed."""
    loop = loop if loop is not None else get_hub().loop
    if not loop.default:
        return None
    loop.install_sigchld()
    return loop


def _watch(pid: int, callback: Callable[[Any], Any] | None, loop: Any, ref: bool) -> None:
    watcher = loop.child(pid, ref=ref)
    _watched_children[pid] = watcher
    watcher.start(_on_child, watcher, callback)


def _reap_children(timeout: float = 60) -> None:
    """Forget exit statuses nobody collected within ``timeout`` seconds."""
    oldest = time.time() - timeout
    for pid, value in list(_watched_children.items()):
        if isinstance(value, tuple) and value[2] <= oldest:
            del _watched_children[pid]


def fork_and_watch(
    callback: Callable[[Any], Any] | None = None,
    loop: Any = None,
    ref: bool = False,
    fork: Callable[[], int] = fork_gevent,
) -> int:
    """Fork with ``fork`` (default :func:`fork_gevent`) and, in the parent,
    watch the child with a child watcher on ``loop`` (the hub's).

    When the child exits, ``callback(watcher)`` runs in the hub, the status
    is kept for :func:`waitpid`.  ``ref`` says whether the watcher keeps
    the loop alive.  A loop that cannot watch children (not the default
    loop) leaves the child unwatched.
    """
    loop = _sigchld_loop(loop)
    pid = fork()
    if pid and loop is not None:
        _reap_children()
        _watch(pid, callback, loop, ref)
    return pid


def forkpty_and_watch(
    callback: Callable[[Any], Any] | None = None,
    loop: Any = None,
    ref: bool = False,
    forkpty: Callable[[], tuple[int, int]] = forkpty_gevent,
) -> tuple[int, int]:
    """Like :func:`fork_and_watch`, with ``forkpty`` (default
    :func:`forkpty_gevent`); returns ``(pid, master_fd)``."""
    result: list[tuple[int, int]] = []

    def do_fork() -> int:
        result.append(forkpty())
        return result[0][0]

    fork_and_watch(callback, loop, ref, do_fork)
    return result[0]


def _no_waitpid() -> bool:
    return bool(_os.environ.get("GREENKIT_NOWAITPID") or _os.environ.get("GEVENT_NOWAITPID"))


def fork(*args: Any, **kwargs: Any) -> int:
    """Fork; the hub keeps working in the child, and the parent watches the
    child (:func:`fork_and_watch`) so :func:`waitpid` and SIGCHLD handlers
    work cooperatively.  With ``GREENKIT_NOWAITPID`` (or ``GEVENT_NOWAITPID``)
    set in the environment this is :func:`fork_gevent`."""
    if _no_waitpid():
        return fork_gevent()
    return fork_and_watch(*args, **kwargs)


def forkpty(*args: Any, **kwargs: Any) -> tuple[int, int]:
    """``forkpty`` counterpart of :func:`fork`."""
    if _no_waitpid():
        return forkpty_gevent()
    return forkpty_and_watch(*args, **kwargs)


def _spawn_and_watch(spawn: Callable[..., int], args: Any, kwargs: Any) -> int:
    loop = _sigchld_loop(None)
    pid = spawn(*args, **kwargs)
    if loop is not None:
        _reap_children()
        _watch(pid, None, loop, False)
    return pid


def posix_spawn(*args: Any, **kwargs: Any) -> int:
    """``os.posix_spawn``, with the child watched like :func:`fork_and_watch`'s."""
    return _spawn_and_watch(_os.posix_spawn, args, kwargs)


def posix_spawnp(*args: Any, **kwargs: Any) -> int:
    """``os.posix_spawnp``, with the child watched like :func:`fork_and_watch`'s."""
    return _spawn_and_watch(_os.posix_spawnp, args, kwargs)


# -- waitpid ------------------------------------------------------------------


def _take_finished(pid: int) -> tuple[int, int]:
    watched = _watched_children.pop(pid)
    return watched[0], watched[1]


def _forget(pid: int) -> None:
    """The status of ``pid`` was collected elsewhere: drop its watcher."""
    watched = _watched_children.pop(pid, None)
    if watched is not None and not isinstance(watched, tuple):
        watched.close()


def _wait_child_watcher(pid: int) -> tuple[int, int]:
    """Block the current greenlet until a child watcher for ``pid`` (0: any) fires."""
    hub = get_hub()
    assert hub.loop is not None, "waiting for a child in a destroyed hub"
    watcher = hub.loop.child(pid)
    try:
        hub.wait(watcher)
        rpid, status = watcher.rpid, watcher.rstatus
    finally:
        watcher.close()
    watched = _watched_children.get(rpid)
    if isinstance(watched, tuple):
        del _watched_children[rpid]
    else:
        _forget(rpid)
    return rpid, status


def waitpid(pid: int, options: int) -> tuple[int, int]:
    """Wait for a child like ``os.waitpid``, blocking only the calling greenlet.

    Children started by :func:`fork`/:func:`fork_and_watch` are reported
    from their child watchers (their status is kept until collected);
    ``pid == -1`` returns the earliest finished one first.  ``WNOHANG``
    returns ``(0, 0)`` when nothing has exited.  Process-group waits
    (``pid == 0`` or ``< -1``) use ``os.waitpid`` itself.
    """
    if pid == -1:
        finished = [value for value in _watched_children.values() if isinstance(value, tuple)]
        if finished:
            return _take_finished(min(finished, key=lambda v: v[2])[0])
        return _waitpid_unwatched(pid, options)
    if pid in _watched_children:
        watched = _watched_children[pid]
        if isinstance(watched, tuple):
            return _take_finished(pid)
        if options & _os.WNOHANG:
            return 0, 0
        return _wait_child_watcher(pid)
    if pid <= 0:
        return _waitpid(pid, options)
    return _waitpid_unwatched(pid, options)


def _poll_child(pid: int, options: int) -> tuple[int, int]:
    """Without child watchers: ask ``os.waitpid`` now and then, sleeping between."""
    delay = 0.001
    while True:
        rpid, status = _waitpid(pid, options | _os.WNOHANG)
        if rpid:
            return rpid, status
        sleep(delay)
        delay = min(delay * 2, 0.05)


def _waitpid_unwatched(pid: int, options: int) -> tuple[int, int]:
    blocking = not options & _os.WNOHANG
    # Route SIGCHLD before looking, so that no exit goes unnoticed.
    if blocking and _sigchld_loop(None) is None:
        return _poll_child(pid, options)
    try:
        rpid, status = _waitpid(pid, options | _os.WNOHANG)
    except ChildProcessError:
        if pid == -1 and any(not isinstance(v, tuple) for v in _watched_children.values()):
            # libev reaped them; their watchers report the status.
            if options & _os.WNOHANG:
                return 0, 0
            return _wait_child_watcher(0)
        raise
    if rpid:
        _forget(rpid)
        return rpid, status
    if options & _os.WNOHANG:
        return 0, 0
    return _wait_child_watcher(pid if pid > 0 else 0)
