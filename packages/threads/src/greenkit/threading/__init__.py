"""What monkey patching puts into :mod:`threading` so that threads are greenlets.

This module is a helper for :mod:`greenkit.monkey`; for a cooperative
``threading``, monkey-patch.  Patching copies :data:`__implements__` into
the standard :mod:`threading` module, replacing the ``_thread`` functions
it captured when it was imported (``_start_new_thread``,
``_allocate_lock``, ``get_ident``, ``_set_sentinel``, ``Lock``; on 3.13
``_start_joinable_thread``, ``_ThreadHandle``, ``_make_thread_handle``,
``_thread_shutdown``) with
:mod:`greenkit.thread`'s, ``local`` with :class:`greenkit.local.local`,
and ``_CRLock`` with None, so that ``threading.RLock()`` builds the
pure-Python RLock over those cooperative pieces.  Then
``threading.Thread.start()`` spawns a greenlet, ``join()`` waits for it
cooperatively, and every lock, condition and semaphore blocks only the
calling greenlet.

:class:`_DummyThread` is what ``threading.current_thread()`` creates for
a greenlet that was not started by ``threading``: unlike the standard one,
it leaves ``threading._active`` when its greenlet finishes, so a program
spawning many greenlets does not accumulate dummy threads.  The main
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
    _make_thread_handle,
    _set_sentinel,
    _ThreadHandle,
    get_ident,
)
from greenkit.thread import _shutdown as _thread_shutdown  # noqa: F401
from greenkit.thread import allocate_lock as _allocate_lock
from greenkit.thread import start_joinable_thread as _start_joinable_thread  # noqa: F401
from greenkit.thread import start_new_thread as _start_new_thread  # noqa: F401

Lock = _allocate_lock
_get_ident = get_ident
#: ``threading.RLock()`` falls back to the pure-Python RLock when this is None.
_CRLock = None

_CANDIDATES = ["local", "_start_new_thread", "_allocate_lock", "Lock", "_get_ident",
               "_sleep", "_DummyThread", "get_ident", "_set_sentinel", "_CRLock",
               # Python 3.13: threads are joined through handles.
               "_start_joinable_thread", "_ThreadHandle", "_make_thread_handle",
               "_thread_shutdown"]

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


class _DummyThread(_OriginalDummyThread):
    """The ``threading.Thread`` standing for a greenlet (or foreign thread) that
    ``threading`` did not start; removed from ``threading._active`` when its
    greenlet finishes."""

    #: Whether this Python's ``threading._after_fork`` turns a dummy current
    #: thread into the ``_MainThread`` of the child by assigning ``__class__``
    #: (3.11.8+, 3.12.2+); this subclass keeps a layout that allows it.
    _NEEDS_CLASS_FORK_FIXUP = (
        sys.version_info[:3] >= (3, 11, 8) and sys.version_info[:3] != (3, 12, 0)
        and sys.version_info[:3] != (3, 12, 1)
    )

    def __init__(self) -> None:
        _OriginalDummyThread.__init__(self)
        _forget_when_done(getcurrent(), self)


class _Forget:
    """Removes a dummy thread from ``threading._active`` once its greenlet is done
    (unless the entry was replaced meanwhile)."""

    __slots__ = ("ident", "thread_ref", "greenlet_ref")

    def __init__(self, ident: int, thread: Any) -> None:
        self.ident = ident
        self.thread_ref = weakref.ref(thread)
        self.greenlet_ref: Any = None

    def __call__(self, _source: Any) -> None:
        thread = self.thread_ref()
        if thread is None:
            return
        threading_mod: Any = __threading__
        active = threading_mod._active
        with threading_mod._active_limbo_lock:
            if active.get(self.ident) is thread:
                del active[self.ident]


def _forget_when_done(greenlet: Any, thread: Any) -> None:
    forget = _Forget(thread.ident, thread)
    rawlink = getattr(greenlet, "rawlink", None)
    if rawlink is not None:
        rawlink(forget)
    elif greenlet.parent is not None:
        # A plain greenlet (not the thread's main one): it has no links; it is
        # done when collected.
        forget.greenlet_ref = weakref.ref(greenlet, forget)
        # Keep the callback alive as long as the dummy thread is.
        thread._greenkit_forget = forget

