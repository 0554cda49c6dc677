"""What :func:`greenkit.monkey.patch_thread` must repair after swapping
:mod:`_thread` and :mod:`threading`.

Once ``_thread.get_ident`` returns greenlet identities, state that the
interpreter built with native thread identities is stale:

- ``threading._active`` maps the *native* identity of the main thread to
  its :class:`threading.Thread` object; ``threading.current_thread()`` in
  the main greenlet would then invent a dummy thread.  The entry (and the
  object's ``_ident``) move to the main greenlet's identity.
- Locks already held by the patching thread record its native identity
  as their owner: importlib's module locks (patching usually happens
  while a module is being imported) and pure-Python ``RLock`` objects.
  They are re-owned by the patching greenlet so it can release them.
- At exit the interpreter calls ``threading._shutdown()``, which releases
  the main thread's state lock only if ``main_thread().ident`` equals
  ``get_ident()``; after patching from another thread they differ, and the
  process would wait for that lock forever.  The wrapper installed by
  :meth:`ThreadState.shutdown_wrapper` makes them agree when it runs in
  the main native thread.
- ``main_thread().join()`` from a greenlet would block the whole thread
  on a lock released only at exit; it waits cooperatively instead.
- :mod:`concurrent.futures.thread`, if already imported, holds a native
  module lock across ``Thread.start()`` (a greenlet switch once threads
  are greenlets): a second greenlet submitting work would block the whole
  thread on it, and a fork meanwhile would leave it held in the child.
- :mod:`logging`, if already imported, holds native ``RLock`` objects in
  its module lock and in every handler; they would block the whole thread
  instead of one greenlet, so they are replaced with new (now cooperative)
  ones.
"""

from __future__ import annotations

import gc
import os
import sys
import types
from collections.abc import Callable
from typing import Any

from greenkit import _originals

__all__ = ["ThreadState", "renew_futures_lock", "renew_logging_locks"]

#: Warnings when patching from a thread other than the main native thread.
NOT_MAIN_NATIVE_THREAD = (
    "Monkey-patching outside the main native thread. Some APIs will not "
    "be available. Expect a KeyError to be printed at shutdown."
)
NOT_MAIN_THREAD_JOIN = (
    "Monkey-patching not on the main thread; "
    "threading.main_thread().join() will hang from a greenlet"
)


class ThreadState:
    """The threading facts captured just before patching."""

    def __init__(
        self,
        native_get_ident: Callable[[], int],
        main_thread: Any,
        on_main_thread: bool,
        rlock_class: type | None,
    ) -> None:
        self.native_get_ident = native_get_ident
        self.native_ident = native_get_ident()
        self.main_thread = main_thread
        self.main_native_ident = None if main_thread is None else main_thread.ident
        self.on_main_thread = on_main_thread
        self.rlock_class = rlock_class
        self.new_ident: int | None = None
        #: Set when the main thread's program has ended (on the main thread only).
        self.main_ended: Any = None

    @classmethod
    def capture(cls, threading_mod: types.ModuleType | None) -> ThreadState:
        """Record the current native identity and whether it is the main thread's."""
        native_get_ident = _originals.get_original("_thread", "get_ident")
        ident = native_get_ident()
        rlock_class = getattr(sys.modules.get("threading"), "_PyRLock", None)
        if threading_mod is None:
            return cls(native_get_ident, None, True, rlock_class)
        main = threading_mod.main_thread()
        return cls(native_get_ident, main, main.ident == ident, rlock_class)

    def fix_main_thread(self, threading_mod: types.ModuleType) -> list[str]:
        """Move the main thread to the main greenlet's identity.

        Returns the warnings to issue (patching outside the main thread
        cannot do that).
        """
        if not self.on_main_thread:
            return [NOT_MAIN_NATIVE_THREAD, NOT_MAIN_THREAD_JOIN]
        new_ident = self.new_ident
        if new_ident is None or new_ident == self.native_ident:
            return []
        active = threading_mod._active
        if active.get(self.native_ident) is self.main_thread:
            del active[self.native_ident]
        active[new_ident] = self.main_thread
        self.main_thread._ident = new_ident
        if hasattr(self.main_thread, "_handle"):
            # 3.13: the native handle keeps the native identity, which a child
            # forked by the main greenlet would find mismatched.  The patched
            # maker's is done, like the native one, when threading._shutdown
            # marks it so.
            self.main_thread._handle = threading_mod._make_thread_handle(new_ident)
        from greenkit.event import Event

        self.main_ended = Event()
        self.main_thread.join = self._main_join(threading_mod, self.main_thread.join)
        return []

    def shutdown_wrapper(self, threading_mod: types.ModuleType) -> Callable[[], None]:
        """A ``threading._shutdown`` that works whatever thread patched, and
        wakes the greenlets joining the main thread."""
        original = threading_mod._shutdown

        def _shutdown() -> None:
            main = threading_mod._main_thread
            # Only for the original main thread: in a child forked by another
            # greenlet, threading made that greenlet's thread the main one.
            if (
                main is self.main_thread
                and main.is_alive()
                and self.native_get_ident() == self.main_native_ident
            ):
                main._ident = threading_mod.get_ident()
            if self.main_ended is not None:
                self.main_ended.set()
            original()

        return _shutdown

    def _main_join(
        self, threading_mod: types.ModuleType, native_join: Callable[..., None]
    ) -> Callable[..., None]:
        """``main_thread().join`` usable from a greenlet of the main thread.

        The native join waits on a real lock released only at interpreter
        exit, which would block the whole thread (and so the greenlets that
        must finish first).  A greenlet waits cooperatively instead, until
        the main greenlet's program ends (``threading._shutdown`` runs);
        other native threads keep the native join.
        """
        ended = self.main_ended
        main = self.main_thread

        def join(timeout: float | None = None) -> None:
            if self.native_get_ident() != self.main_native_ident or ended is None:
                native_join(timeout)
            elif threading_mod.current_thread() is main:
                raise RuntimeError("cannot join current thread")
            elif main.is_alive():  # not in a child forked by another greenlet
                ended.wait(timeout)

        return join

    def adopt_held_locks(self, existing_locks: bool) -> None:
        """Give the locks the patching thread holds to its new identity.

        Import locks always: patching often happens during an import (the
        module importing ``greenkit.monkey``), and importlib releases the
        module lock with the owner check ``owner == _thread.get_ident()``.
        Pure-Python RLocks only with ``existing_locks``.
        """
        self.new_ident = new_ident = sys.modules["_thread"].get_ident()
        if new_ident == self.native_ident:
            return
        bootstrap = sys.modules.get("_frozen_importlib") or sys.modules["importlib._bootstrap"]
        for ref in list(getattr(bootstrap, "_module_locks", {}).values()):
            lock = ref()
            if lock is not None and getattr(lock, "owner", None) == self.native_ident:
                lock.owner = new_ident
        cls = self.rlock_class
        if not existing_locks or cls is None:
            return
        for obj in gc.get_objects():
            if isinstance(obj, cls) and getattr(obj, "_owner", None) == self.native_ident:
                setattr(obj, "_owner", new_ident)  # noqa: B010


def _held(lock: Any) -> bool:
    is_owned = getattr(lock, "_is_owned", None)
    return bool(is_owned()) if is_owned is not None else False


def renew_logging_locks(logging_mod: types.ModuleType, threading_mod: types.ModuleType) -> None:
    """Replace :mod:`logging`'s module lock and each handler's lock with new
    cooperative RLocks, skipping any that is held right now."""
    lock = getattr(logging_mod, "_lock", None)
    if lock is not None and not _held(lock):
        setattr(logging_mod, "_lock", threading_mod.RLock())  # noqa: B010
    for ref in list(getattr(logging_mod, "_handlerList", ())):
        handler = ref() if callable(ref) else ref
        if handler is None or getattr(handler, "lock", None) is None:
            continue
        if not _held(handler.lock):
            handler.createLock()


def renew_futures_lock(futures_thread: types.ModuleType, thread_mod: types.ModuleType) -> Any:
    """A new cooperative ``_global_shutdown_lock`` for
    :mod:`concurrent.futures.thread`, reinitialised in forked children like
    the original; None when the current one is held (it must stay)."""
    lock = getattr(futures_thread, "_global_shutdown_lock", None)
    if lock is None or lock.locked():
        return None
    new = thread_mod.allocate_lock()
    reinit = getattr(new, "_at_fork_reinit", None)
    if reinit is not None:
        os.register_at_fork(after_in_child=reinit)
    return new
