"""Notifying many greenlets at once: :class:`Event` and :class:`AsyncResult`.

An :class:`Event` is a flag greenlets wait for; an :class:`AsyncResult` is a
one-shot slot that carries a value or an exception to its waiters (and can
be the target of ``Greenlet.link``).  Waiters are woken from the hub, in
the order they started waiting; a greenlet that finds the object ready
while earlier waiters are still being woken takes its turn after them.
Both can be set from another native thread (the waiting hub is woken
through its loop); see ``greenkit._abstract_linkable`` for how.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from greenkit._abstract_linkable import AbstractLinkable
from greenkit.timeout import Timeout

__all__ = ["Event", "AsyncResult"]

_NOT_SET: Any = object()

#: A number of seconds, a Timeout (started if it is not), or None (no limit).
_TimeoutArg = float | Timeout | None


class Event(AbstractLinkable):
    """A flag that greenlets can wait for.

    :meth:`set` makes it true and wakes every waiting greenlet; :meth:`clear`
    makes it false again; :meth:`wait` blocks until it is true.  A waiter
    that was woken by :meth:`set` returns True even if the flag was cleared
    again before it ran.
    """

    __slots__ = ("_flag",)

    def __init__(self) -> None:
        AbstractLinkable.__init__(self)
        self._flag = False

    def __str__(self) -> str:
        state = "set" if self._flag else "clear"
        return f"<{type(self).__name__} {state} links={self.linkcount()}>"

    def _repr_state(self) -> str:
        return " set" if self._flag else " clear"

    def is_set(self) -> bool:
        """Return true if and only if the internal flag is true."""
        return self._flag

    def isSet(self) -> bool:
        """Alias of :meth:`is_set` (the threading module's old name)."""
        return self._flag

    def ready(self) -> bool:
        """Alias of :meth:`is_set` (the wait protocol's name)."""
        return self._flag

    def set(self) -> None:
        """Set the flag and wake every greenlet waiting for it (from the hub, soon).

        Greenlets that call :meth:`wait` once the flag is set do not block."""
        self._flag = True
        if self._links:
            self._check_and_notify()

    def clear(self) -> None:
        """Reset the flag: :meth:`wait` blocks again until the next :meth:`set`."""
        self._flag = False

    def wait(self, timeout: _TimeoutArg = None) -> bool:
        """Block until the flag is true, or until ``timeout`` seconds pass.

        Returns True if the flag was set (on entry, or by the :meth:`set` that
        woke this waiter), otherwise (the time ran out) the current flag,
        normally False.  ``timeout`` may also be a :class:`~greenkit.timeout.Timeout`.
        """
        if self._flag and self._notifier is None:
            return True
        if self._wait_core(timeout, False, True):
            return True
        return self._flag

    def _at_fork_reinit(self) -> None:
        self._reset_links()


class AsyncResult(AbstractLinkable):
    """A one-shot slot for a value or an exception, delivered to its waiters.

    Like :class:`Event`, :meth:`set` (or :meth:`set_exception`) wakes every
    waiter; :meth:`get` then returns the value (or raises the exception, with
    the traceback it had when it was stored).  It can be linked to a
    greenlet (``greenlet.link(result)``) to receive its outcome.  It also
    offers the methods of a ``concurrent.futures.Future`` that make sense
    here (it cannot be cancelled).
    """

    __slots__ = ("_value", "_exc_info")

    def __init__(self) -> None:
        AbstractLinkable.__init__(self)
        self._value: Any = _NOT_SET
        self._exc_info: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"<{type(self).__name__}{self._repr_state()} links={self.linkcount()}>"

    def _repr_state(self) -> str:
        if self._value is not _NOT_SET:
            return f" value={self._value!r}"
        if self._exc_info:
            return f" exception={self._exc_info[1]!r}"
        return " unset"

    # -- state ---------------------------------------------------------------------

    @property
    def value(self) -> Any:
        """The value given to :meth:`set`, or None if none was."""
        value = self._value
        return None if value is _NOT_SET else value

    @property
    def exc_info(self) -> tuple[Any, ...]:
        """``(type, value, traceback)`` of the exception given to
        :meth:`set_exception`, or an empty tuple if none was."""
        return self._exc_info

    @property
    def exception(self) -> BaseException | None:
        """The exception given to :meth:`set_exception`, or None."""
        exc_info = self._exc_info
        return exc_info[1] if exc_info else None

    def ready(self) -> bool:
        """True once a value or an exception is stored."""
        return self._value is not _NOT_SET or bool(self._exc_info)

    def successful(self) -> bool:
        """True if a value (not an exception) is stored."""
        return self._value is not _NOT_SET

    # -- setting -------------------------------------------------------------------

    def set(self, value: Any = None) -> None:
        """Store ``value`` and wake every waiter; later waits return at once."""
        self._exc_info = ()
        self._value = value
        if self._links:
            self._check_and_notify()

    def set_exception(
        self,
        exception: BaseException | type[BaseException],
        exc_info: tuple[Any, Any, TracebackType | None] | None = None,
    ) -> None:
        """Store ``exception`` and wake every waiter: :meth:`get` raises it.

        ``exc_info``, a ``sys.exc_info()`` triple, gives the traceback to raise
        it with; by default it keeps the traceback it has now (if any).
        """
        if isinstance(exception, type):
            exception = exception()
        tb = exc_info[2] if exc_info else exception.__traceback__
        self._value = _NOT_SET
        self._exc_info = (type(exception), exception, tb)
        if self._links:
            self._check_and_notify()

    def __call__(self, source: Any) -> None:
        """Link target: store the outcome of ``source`` (a finished greenlet or
        anything with ``successful()``, ``value`` and ``exception``)."""
        if source.successful():
            self.set(source.value)
        else:
            self.set_exception(source.exception, getattr(source, "exc_info", None))

    # -- getting -------------------------------------------------------------------

    def _value_or_raise(self) -> Any:
        exc_info = self._exc_info
        if exc_info:
            # Raise with the stored traceback each time, so repeated get()s
            # do not pile their frames onto it.
            raise exc_info[1].with_traceback(exc_info[2])
        return self._value

    def get(self, block: bool = True, timeout: _TimeoutArg = None) -> Any:
        """Return the value, or raise the exception, once one is stored.

        If nothing is stored yet: with ``block`` false raise
        :class:`~greenkit.timeout.Timeout` at once, otherwise wait, raising
        :class:`~greenkit.timeout.Timeout` if ``timeout`` seconds pass first.
        """
        if self._value is not _NOT_SET or self._exc_info:
            if self._notifier is not None and block:
                # Earlier waiters are being woken: take our turn after them.
                self._wait_core(timeout, False, True)
            return self._value_or_raise()
        if not block:
            raise Timeout()
        self._wait_core(timeout, False, False)
        return self._value_or_raise()

    def get_nowait(self) -> Any:
        """``get(block=False)``: the value or exception, else raise Timeout."""
        return self.get(block=False)

    def wait(self, timeout: _TimeoutArg = None) -> Any:
        """Block until a value or an exception is stored, or ``timeout`` seconds pass.

        Returns the value (None if an exception was stored, or if the time ran
        out); never raises the stored exception or a Timeout of its own.
        """
        if self.ready() and self._notifier is None:
            return self.value
        self._wait_core(timeout, False, True)
        return self.value

    # -- concurrent.futures.Future-like ----------------------------------------------

    def result(self, timeout: _TimeoutArg = None) -> Any:
        """``get(timeout=timeout)``."""
        return self.get(timeout=timeout)

    def done(self) -> bool:
        """True once a value or an exception is stored."""
        return self.ready()

    def running(self) -> bool:
        """True while nothing is stored yet (the outcome is still being computed)."""
        return not self.ready()

    def cancel(self) -> bool:
        """An AsyncResult cannot be cancelled: always False."""
        return False

    def cancelled(self) -> bool:
        """Always False (see :meth:`cancel`)."""
        return False

    def add_done_callback(self, fn: Callable[[AsyncResult], Any]) -> None:
        """Call ``fn(self)`` from the hub once a value or exception is stored
        (soon, if one already is)."""
        self.rawlink(fn)
