"""Timeouts for greenlets: raise an exception in a greenlet after a delay.

A :class:`Timeout` remembers the greenlet that called :meth:`Timeout.start`
and arms a timer on that thread's hub.  If the timer fires before
:meth:`Timeout.cancel` (or :meth:`Timeout.close`), the hub throws the
exception into that greenlet, wherever it is blocked::

    timeout = Timeout(2.5)
    timeout.start()
    try:
        ...  # code that may block for too long
    finally:
        timeout.cancel()

or, equivalently, ``with Timeout(2.5): ...``.

Layering: this module sits above ``greenkit.hub`` and imports it; the hub
never imports this module.  It takes its timers from the hub's pool
(``Hub.start_timer`` / ``Hub.return_timer``).

For the distributions above (sync, greenlets, io...), :func:`start_for_call`
is the entry point for the ``timeout`` argument of a blocking call: it
starts the call's deadline and returns an object to ``close()`` when the
call ends (not in ``__all__``, which mirrors gevent's).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from greenlet import getcurrent

from greenkit._hub_local import get_hub, this_thread

__all__ = ["Timeout", "with_timeout"]

_T = TypeVar("_T")
_TimeoutT = TypeVar("_TimeoutT", bound="Timeout")


class _NoTimer:
    """A timer that never fires, shared by every timeout that has none.

    It stands in for ``Timeout.timer`` until a real loop timer is needed (and
    after ``close()``), and it is what ``Timeout._start_new_or_dummy(None)``
    returns: an object with the timeout interface on which every operation
    does nothing and which is never pending.
    """

    __slots__ = ()

    pending = False
    active = False
    seconds = None
    exception = None

    @property
    def timer(self) -> _NoTimer:
        return self

    def start(self, *args: Any, **kwargs: Any) -> None:
        """Do nothing: this timer never fires."""

    def stop(self) -> None:
        """Do nothing."""

    def cancel(self) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""

    def __enter__(self) -> _NoTimer:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def __repr__(self) -> str:
        return f"<{__name__}._NoTimer>"


_NO_TIMER = _NoTimer()


def _is_raisable(obj: object) -> bool:
    """True for an exception instance or an exception class."""
    return isinstance(obj, BaseException) or (
        isinstance(obj, type) and issubclass(obj, BaseException)
    )


class Timeout(BaseException):
    """Raise *exception* in the greenlet that called :meth:`start`, *seconds*
    after that call, unless cancelled first.

    - *seconds* ``None`` (the default): the timeout never expires, and no
      timer is allocated.  A negative value expires as soon as the greenlet
      next yields to the hub (as ``0`` does); gevent documents negative
      values as poorly defined, so do not rely on this.
    - *exception* ``None`` (the default): the ``Timeout`` instance itself is
      raised.  An exception class or instance: that is raised instead.  A
      string: the instance itself is raised, and its ``str()`` ends with the
      string.  ``False``: the instance itself is raised, and used as a
      context manager the ``with`` block swallows it (see :meth:`__exit__`).
      Anything else is reported as a ``TypeError`` in the greenlet when the
      timeout expires.
    - *ref* ``False``: a pending timeout does not keep the hub's loop alive.
    - *priority*: the libev priority of the timer.

    Catch timeouts carefully: the one caught may belong to an enclosing
    block, so check identity (``except Timeout as t: if t is not mine:
    raise``).
    """

    # Slots keep creation cheap (no per-instance dict is materialised);
    # BaseException still gives instances a __dict__ for other attributes.
    # ``_hub`` and ``_timer_shown`` are set by start() before any use.
    __slots__ = ("seconds", "exception", "_timer", "_timer_shown", "_ref", "_priority", "_hub")

    def __init__(
        self,
        seconds: float | None = None,
        exception: Any = None,
        ref: bool = True,
        priority: int = -1,
    ) -> None:
        # BaseException.__new__ stored the constructor arguments in ``args``;
        # a Timeout has no args of its own (its str() is computed).  (Cheaper
        # than calling BaseException.__init__, with the same effect.)
        self.args = ()
        self.seconds = seconds
        self.exception = exception
        self._ref = ref
        self._priority = priority
        self._timer: Any = _NO_TIMER

    @property
    def timer(self) -> Any:
        """The loop timer while the timeout is started; a shared never-firing
        placeholder when there is none.

        Timers come from a pool the hub keeps, and ``cancel()`` normally gives
        the timer back for the next ``sleep()`` or Timeout.  A timer read here
        is not given back: code that keeps it never sees it reused by others
        (after ``cancel()`` it simply stays stopped).
        """
        timer = self._timer
        if timer is not _NO_TIMER:
            self._timer_shown = True
        return timer

    # -- scheduling ------------------------------------------------------------

    def start(self) -> None:
        """Schedule the timeout: *seconds* from now, the exception is raised in
        the calling greenlet.

        Raises AssertionError if the timeout is already pending (cancel it
        first to restart it).  Does nothing if *seconds* is None.
        """
        timer = self._timer
        if timer is not _NO_TIMER:
            if timer.pending or timer.active:
                raise AssertionError(f"{self!r} is already started; to restart it, cancel it first")
            # An expired timer is released; a restart counts the full
            # *seconds* again on a fresh one.
            Timeout.close(self)
        seconds = self.seconds
        if seconds is None:
            return
        hub = this_thread.hub
        if hub is None:  # (not ``or``: a hub that has not started yet is falsy)
            hub = get_hub()
        self._hub = hub
        self._timer_shown = False
        # Counted from now, not from the loop's cached time.  (A function and
        # one tuple: one allocation less per start than a bound method.)
        self._timer = hub.start_timer(
            seconds, self._ref, self._priority, True, _expire, (self, getcurrent())
        )

    @classmethod
    def start_new(
        cls: type[_TimeoutT], timeout: Any = None, exception: Any = None, ref: bool = True
    ) -> _TimeoutT:
        """Return a started timeout.

        If *timeout* is already a :class:`Timeout`, start it unless it is
        pending, and return it; otherwise create ``cls(timeout, exception,
        ref=ref)``, start it and return it.
        """
        if isinstance(timeout, Timeout):
            if not timeout.pending:
                timeout.start()
            return timeout  # type: ignore[return-value]
        new = cls(timeout, exception, ref=ref)
        new.start()
        return new

    @classmethod
    def _start_new_or_dummy(cls, timeout: Any, exception: Any = None, ref: bool = True) -> Any:
        """Like :meth:`start_new`, except that a *timeout* of None returns a
        shared object whose start/cancel/close and context-manager methods do
        nothing and which is never pending (no Timeout is allocated)."""
        if timeout is None:
            return _NO_TIMER
        return cls.start_new(timeout, exception, ref)

    def close(self) -> None:
        """Cancel the timeout if it is pending, and release its loop timer.

        The timeout may be started again afterwards; that takes a timer anew
        and counts the full *seconds* from then.  ``cancel()`` is the same
        method.
        """
        timer = self._timer
        if timer is not _NO_TIMER:
            self._timer = _NO_TIMER
            if self._timer_shown:
                # Someone holds this timer (see ``timer``): stop it, never reuse it.
                timer.stop()
            else:
                self._hub.return_timer(timer)

    #: If the timeout is pending, cancel it; otherwise do nothing.  It may be
    #: started again afterwards.  (One method with :meth:`close`, which is
    #: cheaper than one calling the other on this hot path.)
    cancel = close

    @property
    def pending(self) -> bool:
        """True if the timeout is scheduled to be raised."""
        timer = self._timer
        return bool(timer.pending or timer.active)

    def _on_expiration(self, prev_greenlet: Any, ex: Any) -> None:
        """Raise ``ex`` in ``prev_greenlet`` (the greenlet that started the
        timeout) unless it has finished; runs in the hub when the timer fires.
        A hook with gevent's signature: subclasses may add to it."""
        if prev_greenlet.dead:
            # The greenlet that started us has finished without cancelling.
            return
        prev_greenlet.throw(ex)

    def _exception_to_raise(self) -> Any:
        exception = self.exception
        if exception is None or exception is False or isinstance(exception, str):
            return self
        if not _is_raisable(exception):
            return TypeError(
                f"exceptions must derive from BaseException, not {type(exception).__name__}"
            )
        return exception

    # -- context manager -------------------------------------------------------

    def __enter__(self: _TimeoutT) -> _TimeoutT:
        """Start the timeout (unless it is already pending) and return it."""
        if not self.pending:
            self.start()
        return self

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        """Close the timeout.  If it was created with ``exception=False`` and it
        is this very timeout that expired, suppress it."""
        self.close()
        if value is self and self.exception is False:
            return True
        return None

    # -- text ------------------------------------------------------------------

    def __repr__(self) -> str:
        parts = [f"<{type(self).__name__} at {id(self):#x} seconds={self.seconds}"]
        if self.exception is not None:
            parts.append(f" exception={self.exception!r}")
        if self.pending:
            parts.append(" pending")
        parts.append(">")
        return "".join(parts)

    def __str__(self) -> str:
        """``'2.5 seconds'``; ``'1 second'``; with ``exception=False``
        ``'2.5 seconds (silent)'``; with another exception ``'2.5 seconds: '``
        followed by its str(); ``''`` when *seconds* is None."""
        seconds = self.seconds
        if seconds is None:
            return ""
        unit = "second" if seconds == 1 else "seconds"
        exception = self.exception
        if exception is None:
            return f"{seconds} {unit}"
        if exception is False:
            return f"{seconds} {unit} (silent)"
        return f"{seconds} {unit}: {exception}"


def _expire(timeout: Timeout, owner: Any) -> None:
    """The callback of a started timeout's timer (runs in the hub)."""
    timeout._on_expiration(owner, timeout._exception_to_raise())


def start_for_call(timeout: Timeout | float | None, exception: Any = None) -> Timeout | _NoTimer:
    """Start the deadline of one blocking call given a ``timeout`` argument.

    - None: no deadline; a shared object that never fires is returned (no
      allocation).
    - a :class:`Timeout`: the caller's own; it is started unless pending, and
      returned.
    - a number of seconds: a new Timeout raising *exception* (None: itself).

    Close what is returned when the call ends (``finally: timer.close()``);
    for a caller's Timeout that cancels it, for one made here it also gives
    its loop timer back to the hub.  Tell this deadline's expiry from an
    enclosing one by identity (``except BaseException as ex: if ex is
    timer``, or ``isinstance(ex, exception)``).
    """
    if timeout is None:
        return _NO_TIMER
    return Timeout.start_new(timeout, exception)


_NOT_GIVEN: Any = object()


def with_timeout(
    seconds: float | None,
    function: Callable[..., _T],
    *args: Any,
    timeout_value: Any = _NOT_GIVEN,
    **kwargs: Any,
) -> Any:
    """Call ``function(*args, **kwargs)`` under a :class:`Timeout` of *seconds*.

    If the call does not return in time it is interrupted; then
    *timeout_value* is returned if given, otherwise the :class:`Timeout` is
    raised.  *timeout_value* is not passed to *function*.
    """
    timeout = start_for_call(seconds)
    try:
        return function(*args, **kwargs)
    except Timeout as ex:
        if ex is timeout and timeout_value is not _NOT_GIVEN:
            return timeout_value
        raise
    finally:
        timeout.close()
