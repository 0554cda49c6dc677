"""What monkey patching puts into :mod:`threading` so that threads are greenlets.

This module is a helper for :mod:`greenkit.monkey`; for a cooperative
``threading``, monkey-patch.  Patching copies :data:`__implements__` into
the standard :mod:`threading` module, replacing the ``_thread`` functions
it captured when it was imported (``_start_new_thread``,
``_allocate_lock``, ``get_ident``, ``_set_sentinel``, ``Lock``; on 3.13
``_LockType``, ``_start_joinable_thread``, ``_ThreadHandle``, ``_make_thread_handle``,
``_get_main_thread_ident``, ``_thread_shutdown``) with
:mod:`greenkit.thread`'s, ``local`` with :class:`greenkit.local.local`,
and ``_CRLock`` with None, so that ``threading.RLock()`` builds the
pure-Python RLock over those cooperative pieces.  Then
``threading.Thread.start()`` spawns a greenlet, ``join()`` waits for it
cooperatively, and every lock, condition and semaphore blocks only the
calling greenlet.

:class:`_DummyThread` is what ``threading.current_thread()`` creates for
a greenlet that was not started by ``threading``: unlike the standard one,
it leaves ``threading._active`` when its greenlet finishes, so a program
spawning many greenlets does not accumulate dummy threads (on 3.13 through
:class:`_DeleteDummyThreadOnDel`, which replaces the standard one).  The main
thread's identity is moved to the main greenlet by
:func:`greenkit.monkey.patch_thread`.
"""

from __future__ import annotations

import sys
import threading as __threading__
import weakref
from typing import Any

from greenlet import getcurrent

# Imported to be patched in (see __implements__).
from greenkit.hub import sleep as _sleep  # noqa: F401
from greenkit.local import local
from greenkit.thread import (  # noqa: F401
    _get_main_thread_ident,
    _make_thread_handle,
    _on_greenlet_done,
    _set_sentinel,
    _ThreadHandle,
    get_ident,
)
from greenkit.thread import _shutdown as _thread_shutdown  # noqa: F401
from greenkit.thread import allocate_lock as _allocate_lock
from greenkit.thread import start_joinable_thread as _start_joinable_thread  # noqa: F401
from greenkit.thread import start_new_thread as _start_new_thread  # noqa: F401

Lock = _allocate_lock
#: 3.13's ``threading`` names the lock type ``_LockType`` (``Lock`` is it).
_LockType = _allocate_lock
_get_ident = get_ident
#: ``threading.RLock()`` falls back to the pure-Python RLock when this is None.
_CRLock = None

_CANDIDATES = [
    "local",
    "_start_new_thread",
    "_allocate_lock",
    "Lock",
    "_LockType",
    "_get_ident",
    "_sleep",
    "_DummyThread",
    "get_ident",
    "_set_sentinel",
    "_CRLock",
    # Python 3.13: threads are joined through handles.
    "_start_joinable_thread",
    "_ThreadHandle",
    "_make_thread_handle",
    "_thread_shutdown",
    "_get_main_thread_ident",
    "_DeleteDummyThreadOnDel",
]

#: Monkey patching copies these into :mod:`threading` (those it has).
__implements__ = [name for name in _CANDIDATES if hasattr(__threading__, name)]
#: Extra names copied along with ``__implements__`` (none here).
__extensions__: list[str] = []

__all__ = ["local", "Lock", "get_ident", "main_native_thread"]


def main_native_thread() -> Any:
    """The ``threading.Thread`` of the process's main native thread (after
    patching, its ``ident`` is the main greenlet's)."""
    return __threading__.main_thread()


_OriginalDummyThread = __threading__._DummyThread
#: Python 3.13+: ``threading._DummyThread.__init__`` ends with
#: ``_DeleteDummyThreadOnDel(self)``, which monkey patching makes ours.
_HAS_DELETE_ON_DEL = hasattr(__threading__, "_DeleteDummyThreadOnDel")


class _DummyThread(_OriginalDummyThread):
    """The ``threading.Thread`` standing for a greenlet (or foreign thread) that
    ``threading`` did not start; removed from ``threading._active`` when its
    greenlet finishes."""

    #: Whether this Python's ``threading._after_fork`` turns a dummy current
    #: thread into the ``_MainThread`` of the child by assigning ``__class__``
    #: (3.11.8+, 3.12.2+); this subclass keeps a layout that allows it.
    _NEEDS_CLASS_FORK_FIXUP = (
        sys.version_info[:3] >= (3, 11, 8)
        and sys.version_info[:3] != (3, 12, 0)
        and sys.version_info[:3] != (3, 12, 1)
    )

    def __init__(self) -> None:
        _OriginalDummyThread.__init__(self)
        if not _HAS_DELETE_ON_DEL:
            _forget_when_done(self)


class _Forget:
    """Removes a dummy thread from ``threading._active`` once its greenlet is done
    (unless the entry was replaced meanwhile).

    It may run while the interpreter shuts down (a plain greenlet collected
    late), when ``threading``'s globals are already cleared: then it does
    nothing.
    """

    __slots__ = ("ident", "thread_ref", "threading")

    def __init__(self, thread: Any) -> None:
        self.ident = thread.ident
        self.thread_ref = weakref.ref(thread)
        self.threading: Any = __threading__

    def __call__(self, _source: Any) -> None:
        thread = self.thread_ref()
        lock = getattr(self.threading, "_active_limbo_lock", None)
        active = getattr(self.threading, "_active", None)
        if thread is None or lock is None or active is None:
            return
        with lock:
            if active.get(self.ident) is thread:
                del active[self.ident]


def _forget_when_done(thread: Any) -> None:
    """Take the dummy ``thread`` of the current greenlet out of
    ``threading._active`` when that greenlet is done."""
    _on_greenlet_done(getcurrent(), _Forget(thread))


class _DeleteDummyThreadOnDel:
    """What Python 3.13's dummy threads call to leave ``threading._active``
    when their thread ends.

    The standard one keeps itself in a *native* thread-local, which all the
    greenlets of a thread share: each dummy thread's tracker replaced the
    previous one (dropping that greenlet's dummy while it still ran), and
    the last one was finalized at interpreter exit, after ``threading``'s
    globals were cleared (an "Exception ignored" traceback).  This one ties
    the dummy to the current greenlet instead.
    """

    __slots__ = ()

    def __init__(self, dummy_thread: Any) -> None:
        _forget_when_done(dummy_thread)
