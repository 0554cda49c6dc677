"""Running blocking functions in native threads, with results delivered to greenlets.

:class:`ThreadPool` owns up to ``maxsize`` native worker threads.
``spawn(func, *args, **kwargs)`` queues the call and returns an
:class:`~greenkit.event.AsyncResult` at once; a worker runs the call and
hands the outcome back to the pool's hub (the hub of the thread that created
the pool) through a :class:`ThreadResult`, whose ``async_`` watcher wakes
that hub's loop.  Only greenlets see the waiting: ``result.get()`` blocks
the calling greenlet, never the hub.  The mapping helpers (``apply``,
``map``, ``imap``, ...) come from :class:`greenkit.pool.GroupMappingMixin`.

Worker threads are created lazily, one per outstanding task up to
``maxsize``, and are always real threads: the pool uses the original
(unpatched) ``_thread`` functions and a C queue, so it keeps working after
monkey patching.  A worker runs each task in a greenlet of its own
(:class:`ThreadPool._WorkerGreenlet`); a task that uses greenkit (sleeps,
sockets, ...) gets that thread's own hub, destroyed when the worker exits.
With ``idle_task_timeout`` > 0 a worker that waited that long without work
exits (the pool starts new ones when work comes).

A pool is used from the thread of its hub (InvalidThreadUseError
otherwise), except that ``apply`` from one of its own workers simply calls
the function, so a task may use the pool it runs in without deadlocking.
After ``fork()`` the child's pool starts afresh: no workers, no tasks.

:class:`ThreadPoolExecutor` is a ``concurrent.futures.ThreadPoolExecutor``
running on a :class:`ThreadPool`; its futures can be waited on by greenlets
(``result()``, ``greenkit.wait``), and with ``threading`` monkey-patched
``concurrent.futures.wait``/``as_completed`` work on them too.
"""

from __future__ import annotations

import _queue
import concurrent.futures
import concurrent.futures.thread
import os
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import _base as _futures_base
from typing import IO, TYPE_CHECKING, Any

from greenlet import greenlet as RawGreenlet

from greenkit._hub_local import get_hub, get_hub_if_exists
from greenkit._originals import get_original, is_patched
from greenkit.event import AsyncResult, Event
from greenkit.exceptions import InvalidThreadUseError
from greenkit.hub import spawn_raw
from greenkit.pool import GroupMappingMixin

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = ["ThreadPool", "ThreadResult", "ThreadPoolExecutor"]

# Native primitives, never their monkey-patched replacements.
_start_new_thread, _allocate_lock, _get_ident, _thread_local = get_original(
    "_thread", ["start_new_thread", "allocate_lock", "get_ident", "_local"]
)
_SimpleQueue = _queue.SimpleQueue
_Empty = _queue.Empty

#: How long ``kill()`` waits, at most, for the workers to exit.
_KILL_WAIT = 1.0


def _get_thread_profile() -> Any:
    """The profile function ``threading.setprofile`` installed for new threads."""
    return threading.getprofile()


def _get_thread_trace() -> Any:
    """The trace function ``threading.settrace`` installed for new threads."""
    return threading.gettrace()


def _delivered(_result: Any) -> None:
    """A :class:`ThreadResult`'s receiver once its outcome was delivered."""


class ThreadResult:
    """Carries the outcome of one task from a worker thread to a hub.

    ``set(value)`` or ``handle_error(context, exc_info)`` may be called from
    any thread; they wake ``hub`` through an ``async_`` watcher (which keeps
    the hub's loop alive until then).  In the hub, ``call_when_ready()``
    runs, then ``receiver(self)`` (an AsyncResult, or any callable taking an
    object with ``successful()``, ``value``, ``exception`` and ``exc_info``),
    then an error is also reported with ``hub.handle_error(context, ...)``,
    as a failing greenlet would be.  Afterwards the value and exception are
    dropped, and ``receiver`` is a no-op, so nothing is kept alive by a
    delivered result.
    """

    __slots__ = (
        "receiver",
        "hub",
        "context",
        "value",
        "exc_info",
        "async_watcher",
        "_call_when_ready",
        "__weakref__",
    )

    def __init__(
        self, receiver: Callable[[Any], Any] | None, hub: Hub, call_when_ready: Callable[[], Any]
    ) -> None:
        self.receiver = receiver
        self.hub = hub
        self.context: Any = None
        self.value: Any = None
        self.exc_info: tuple[Any, ...] = ()
        self._call_when_ready = call_when_ready
        assert hub.loop is not None, "a thread's result for a destroyed hub"
        self.async_watcher = hub.loop.async_()
        self.async_watcher.start(self._on_async)

    @property
    def exception(self) -> BaseException | None:
        """The exception the task raised, or None."""
        return self.exc_info[1] if self.exc_info else None

    def successful(self) -> bool:
        """True unless the task raised."""
        return not self.exc_info

    def set(self, value: Any) -> None:
        """Deliver ``value`` (from any thread)."""
        self.value = value
        self._wake()

    def handle_error(self, context: Any, exc_info: tuple[Any, ...]) -> None:
        """Deliver an exception, ``exc_info`` being a ``sys.exc_info()`` triple
        (from any thread); ``context`` says where it happened."""
        self.context = context
        self.exc_info = exc_info
        self._wake()

    def _wake(self) -> None:
        watcher = self.async_watcher
        try:
            watcher.send()
        except (ValueError, AttributeError, TypeError):
            # The hub was destroyed (its loop with it): nobody can receive.
            pass

    def _on_async(self) -> None:
        self.async_watcher.close()
        try:
            self._call_when_ready()
            receiver = self.receiver
            if receiver is not None:
                receiver(self)
            if self.exc_info:
                self.hub.handle_error(self.context, *self.exc_info)
        finally:
            self.receiver = _delivered
            self._call_when_ready = _noop
            self.value = None
            self.context = None
            self.exc_info = ()

    def close(self) -> None:
        """Forget the task: nothing will be delivered (used after ``fork()``)."""
        self.async_watcher.close()
        self.receiver = _delivered
        self._call_when_ready = _noop


def _noop() -> None:
    pass


class _TaskResult(AsyncResult):
    """The AsyncResult ``ThreadPool.spawn`` returns; ``link`` is ``rawlink``, so
    the mapping helpers can link it like a greenlet."""

    __slots__ = ()

    def link(self, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(self)`` from the hub once the outcome is in."""
        self.rawlink(callback)


class _WorkerGreenlet(RawGreenlet):  # type: ignore[misc]
    """The greenlet a pool's worker thread runs its tasks in.

    ``_before_run_task``/``_after_run_task`` surround every task: they install
    the profile and trace functions given to ``threading.setprofile``/
    ``settrace`` (if any) for the task only.  Subclass them through a
    ThreadPool subclass's ``_WorkerGreenlet`` attribute.
    """

    def __init__(self, threadpool: ThreadPool) -> None:
        RawGreenlet.__init__(self)
        self._threadpool = threadpool
        self.thread_ident = _get_ident()
        #: Where failures of the task set-up are described.
        self._stderr: IO[str] = sys.stderr

    def __repr__(self) -> str:
        hub = get_hub_if_exists() if _get_ident() == self.thread_ident else None
        return (
            f"<ThreadPoolWorker at {id(self):#x} thread_ident={self.thread_ident:#x} "
            f"threadpool-hub={self._threadpool.hub!r} hub={hub!r}>"
        )

    def _before_run_task(
        self,
        func: Any,
        args: Any,
        kwargs: Any,
        thread_result: Any,
        _sys: Any = sys,
        _get_thread_profile: Any = _get_thread_profile,
        _get_thread_trace: Any = _get_thread_trace,
    ) -> None:
        profile = _get_thread_profile()
        if profile is not None:
            _sys.setprofile(profile)
        trace = _get_thread_trace()
        if trace is not None:
            _sys.settrace(trace)

    def _after_run_task(
        self, func: Any, args: Any, kwargs: Any, thread_result: Any, _sys: Any = sys
    ) -> None:
        # Setting even None is audited: only clear what the task left behind.
        if _sys.getprofile() is not None:
            _sys.setprofile(None)
        if _sys.gettrace() is not None:
            _sys.settrace(None)

    def run(self) -> None:
        """Run tasks until told to exit (returns) or until something of the pool
        itself fails (raises: the worker is lost, ``_worker_main`` accounts for it)."""
        pool = self._threadpool
        try:
            while True:
                task = pool._next_task()
                if task is None:
                    return
                func, args, kwargs, result = task
                del task
                try:
                    self._before_run_task(func, args, kwargs, result)
                except BaseException:  # noqa: BLE001 - handed to the caller
                    self._report_failure("Failed to run worker thread")
                    result.handle_error((self, func), sys.exc_info())
                    del func, args, kwargs, result
                    continue
                try:
                    value = func(*args, **kwargs)
                except BaseException:  # noqa: BLE001 - handed to the caller
                    result.handle_error((self, func), sys.exc_info())
                else:
                    result.set(value)
                    del value
                try:
                    self._after_run_task(func, args, kwargs, result)
                except Exception:  # noqa: BLE001 - the result is delivered; keep serving
                    self._report_failure("Failed to clean up after a task")
                del func, args, kwargs, result
        finally:
            hub = get_hub_if_exists()
            if hub is not None:
                hub.destroy(destroy_loop=True)

    def _report_failure(self, message: str) -> None:
        try:
            self._stderr.write(message + "\n")
            traceback.print_exc(file=self._stderr)
        except Exception:  # noqa: BLE001, S110 - a broken stream must not kill the worker
            pass


def _worker_main(pool: ThreadPool) -> None:
    """Body of a worker thread: run the worker greenlet to the end."""
    ident = _get_ident()
    exited = _allocate_lock()
    exited.acquire()
    lock = pool._lock
    with lock:
        pool._worker_idents.add(ident)
        pool._worker_exits.add(exited)
    try:
        pool._WorkerGreenlet(pool).switch()
    except BaseException:  # noqa: BLE001 - the thread ends here; say why
        with lock:
            pool._size -= 1  # not told to stop: no longer counted
        traceback.print_exc()
        pool._adjust()  # replace it if work is waiting
    finally:
        with lock:
            pool._worker_idents.discard(ident)
            pool._worker_exits.discard(exited)
        exited.release()


class ThreadPool(GroupMappingMixin):
    """ThreadPool(maxsize, hub=None, idle_task_timeout=-1): a pool of native threads.

    ``maxsize`` (settable) bounds the number of worker threads; ``size``
    (settable, at most ``maxsize``) is how many there are now.  ``spawn``
    returns an AsyncResult; it blocks the calling greenlet while more than
    ``maxsize`` tasks are outstanding (so one task may wait in the queue
    while ``maxsize`` run), and while ``maxsize`` is 0, until it is raised.
    ``len(pool)`` is the number of outstanding tasks.  ``hub`` is the hub
    results are delivered to (default: the current thread's);
    ``idle_task_timeout`` > 0 makes idle workers exit after that many seconds.
    """

    _WorkerGreenlet = _WorkerGreenlet

    def __init__(self, maxsize: int, hub: Hub | None = None, idle_task_timeout: float = -1) -> None:
        if hub is None:
            hub = get_hub()
        self.hub = hub
        self._maxsize = 0
        self._idle_task_timeout = idle_task_timeout
        self._reset()
        self._set_maxsize(maxsize)

    def _reset(self) -> None:
        """Fresh state: no workers, no tasks (at creation and after fork)."""
        self.pid = os.getpid()
        self._lock = _allocate_lock()
        self._task_queue: Any = _SimpleQueue()
        #: Workers running or about to run (not counting those told to stop).
        self._size = 0
        #: Idents of the live worker threads.
        self._worker_idents: set[int] = set()
        #: Native locks held by live workers, released when they exit.
        self._worker_exits: set[Any] = set()
        #: Tasks spawned whose outcome has not been delivered yet.
        self._outstanding = 0
        self._pending: set[ThreadResult] = set()
        self._room = Event()
        self._room.set()
        self._all_done = Event()
        self._all_done.set()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} at {id(self):#x} tasks={self._outstanding} "
            f"size={self._size} maxsize={self._maxsize} hub={self.hub!r}>"
        )

    def __len__(self) -> int:
        """The number of tasks spawned and not yet delivered."""
        return self._outstanding

    # -- sizing --------------------------------------------------------------------

    @property
    def maxsize(self) -> int:
        """The largest number of worker threads; lowering it shrinks ``size``."""
        return self._maxsize

    @maxsize.setter
    def maxsize(self, value: int) -> None:
        self._set_maxsize(value)

    def _set_maxsize(self, value: int) -> None:
        if not isinstance(value, int):
            raise TypeError(f"maxsize must be an int, not {type(value).__name__}")
        if value < 0:
            raise ValueError(f"maxsize must not be negative: {value!r}")
        self._maxsize = value
        if self._size > value:
            self._set_size(value)
        self._room.set()
        self._adjust()

    @property
    def size(self) -> int:
        """The number of worker threads (0 <= size <= maxsize)."""
        return self._size

    @size.setter
    def size(self, value: int) -> None:
        if value < 0:
            raise ValueError(f"size must not be negative: {value!r}")
        if value > self._maxsize:
            raise ValueError(f"size must not exceed maxsize ({self._maxsize}): {value!r}")
        self._check_fork()
        self._set_size(value)

    def _set_size(self, value: int) -> None:
        with self._lock:
            while self._size < value:
                self._start_worker()
            while self._size > value:
                # Stops one worker once the tasks queued before it have run.
                self._size -= 1
                self._task_queue.put(None)

    def _adjust(self) -> None:
        """Start workers until each outstanding task has one (up to maxsize)."""
        with self._lock:
            wanted = min(self._outstanding, self._maxsize)
            while self._size < wanted:
                self._start_worker()

    def _start_worker(self) -> None:
        # Called with self._lock held.
        self._size += 1
        _start_new_thread(_worker_main, (self,))

    def free_count(self) -> int:
        """How many more tasks could start running now without queueing."""
        return max(0, self._maxsize - self._outstanding)

    # -- worker side (called in worker threads) --------------------------------------

    def _next_task(self) -> Any:
        """The next task for the calling worker, or None when it must exit."""
        queue = self._task_queue
        timeout = self._idle_task_timeout
        while True:
            if timeout is None or timeout <= 0:
                return queue.get()
            try:
                return queue.get(timeout=timeout)
            except _Empty:
                with self._lock:
                    # Exit only if nothing was queued meanwhile: whoever queues
                    # work counts the workers under this lock afterwards.
                    if queue.empty():
                        self._size -= 1
                        return None

    # -- spawning (in the hub's thread) -------------------------------------------

    def _check_fork(self) -> None:
        if self.pid != os.getpid():
            self._on_fork()

    def _on_fork(self) -> None:
        """In a forked child: the parent's workers do not exist here; start afresh."""
        for result in list(self._pending):
            result.close()
        self._reset()

    def _check_thread(self) -> None:
        # The hub is thread-local: the pool's hub is this thread's hub or none.
        # (Native thread idents would do too, but hub.thread_ident may be a
        # greenlet ident when threading is monkey-patched.)
        if self.hub is None or get_hub_if_exists() is not self.hub:
            raise InvalidThreadUseError(
                f"{self!r} can only be used from the thread of its hub, "
                f"not thread {_get_ident():#x}"
            )

    def spawn(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> AsyncResult:
        """Queue ``func(*args, **kwargs)`` for a worker thread; returns an
        AsyncResult receiving its value or exception (in this hub).  Blocks the
        calling greenlet while the pool is full."""
        if not callable(func):
            raise TypeError(f"{func!r} is not callable")
        self._check_thread()
        self._check_fork()
        while self._maxsize == 0 or self._outstanding > self._maxsize:
            self._room.clear()
            self._room.wait()
        receiver = _TaskResult()
        result = ThreadResult(receiver, self.hub, lambda: self._on_task_done(result))
        self._pending.add(result)
        self._outstanding += 1
        self._all_done.clear()
        self._task_queue.put((func, args, kwargs, result))
        self._adjust()
        return receiver

    def _on_task_done(self, result: ThreadResult) -> None:
        self._pending.discard(result)
        self._outstanding -= 1
        if not self._outstanding:
            self._all_done.set()
        self._room.set()

    # -- GroupMappingMixin hooks ----------------------------------------------------

    def _apply_immediately(self) -> bool:
        # A task using its own pool: queueing would deadlock a full pool.
        return _get_ident() in self._worker_idents

    def _apply_async_use_greenlet(self) -> bool:
        # Queue from a new greenlet: apply_async() never blocks, and the task
        # starts only once the caller yields, like a spawned greenlet.
        return True

    # -- waiting and stopping ---------------------------------------------------------

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every spawned task has been delivered; False if ``timeout``
        seconds passed first."""
        if not self._outstanding:
            return True
        return bool(self._all_done.wait(timeout))

    def kill(self) -> None:
        """Stop every worker once the tasks already queued have run, and wait
        (briefly, blocking the thread) for the workers to exit.  The pool can
        be used again afterwards: new work starts new workers."""
        if self.pid != os.getpid():
            self._on_fork()
            return
        self._set_size(0)
        with self._lock:
            exits = list(self._worker_exits)
        deadline = _monotonic() + _KILL_WAIT
        for exited in exits:
            remaining = deadline - _monotonic()
            if remaining <= 0:
                break
            if exited.acquire(True, remaining):
                exited.release()


_monotonic = get_original("time", "monotonic")


# -- concurrent.futures --------------------------------------------------------------


class _ExecutorFuture:
    """A ``concurrent.futures.Future`` look-alike over an AsyncResult.

    ``result()``/``exception()`` wait cooperatively (raising
    ``concurrent.futures.TimeoutError``); it can be given to
    ``greenkit.wait``/``iwait`` (``rawlink``/``unlink``).  It has the
    attributes ``concurrent.futures.wait`` and ``as_completed`` use
    (``_condition``, ``_waiters``, ``_state``), but as long as ``threading``
    is not monkey-patched, waiting that way for a future that is not done
    would block the hub's thread for good: ``_waiters`` then raises
    AttributeError instead.
    """

    def __init__(self, async_result: AsyncResult) -> None:
        self._async_result = async_result
        self._cf_condition: Any = None
        self._cf_waiters: list[Any] = []
        #: FINISHED for concurrent.futures once its waiters were told, not
        #: before: a waiter installed in between must not be told twice.
        self._cf_finished = False
        async_result.rawlink(self._notify_cf_waiters)

    def __repr__(self) -> str:
        state = "finished" if self.done() else "running"
        return f"<{type(self).__name__} at {id(self):#x} state={state}>"

    # -- the Future API ----------------------------------------------------------

    def done(self) -> bool:
        """True once the task's outcome is in."""
        return self._async_result.ready()

    def running(self) -> bool:
        """True until the task's outcome is in (queued tasks count as running)."""
        return not self.done()

    def cancel(self) -> bool:
        """A task handed to a thread cannot be cancelled: always False."""
        return False

    def cancelled(self) -> bool:
        """Always False (see :meth:`cancel`)."""
        return False

    def _wait_done(self, timeout: float | None) -> None:
        result = self._async_result
        if not result.ready():
            result.wait(timeout)
            if not result.ready():
                raise concurrent.futures.TimeoutError()

    def result(self, timeout: float | None = None) -> Any:
        """The task's value (or raise its exception), waiting cooperatively at most
        ``timeout`` seconds (``concurrent.futures.TimeoutError``)."""
        self._wait_done(timeout)
        return self._async_result.get()

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The task's exception, or None; waits like :meth:`result`."""
        self._wait_done(timeout)
        return self._async_result.exception

    def add_done_callback(self, fn: Callable[[Any], Any]) -> None:
        """Call ``fn(self)`` once done: at once if it already is, else from the hub.
        Errors in ``fn`` are logged and ignored, as concurrent.futures does."""
        if self.done():
            self._call_logged(fn)
        else:
            self._async_result.rawlink(lambda _: self._call_logged(fn))

    def _call_logged(self, fn: Callable[[Any], Any]) -> None:
        try:
            fn(self)
        except Exception:
            _futures_base.LOGGER.exception("exception calling callback for %r", self)

    # -- waiting with greenkit.wait -----------------------------------------------

    def rawlink(self, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(self)`` from the hub once done."""
        self._async_result.rawlink(_FutureLink(self, callback))

    def unlink(self, callback: Callable[[Any], Any]) -> None:
        """Remove a callback added with :meth:`rawlink`."""
        self._async_result.unlink(_FutureLink(self, callback))

    # -- what concurrent.futures.wait/as_completed use --------------------------------

    @property
    def _condition(self) -> Any:
        if self._cf_condition is None:
            self._cf_condition = threading.Condition()
        return self._cf_condition

    @property
    def _waiters(self) -> list[Any]:
        # A waiter installed on a running future blocks on a threading.Event:
        # unless threading is patched, that would block the hub's thread.
        if not self._cf_finished and not is_patched("threading"):
            raise AttributeError(
                "_waiters: concurrent.futures.wait()/as_completed() can wait on a "
                "greenkit future only when threading is monkey-patched"
            )
        return self._cf_waiters

    @property
    def _state(self) -> str:
        return _futures_base.FINISHED if self._cf_finished else _futures_base.RUNNING

    @property
    def _exception(self) -> BaseException | None:
        return self._async_result.exception

    def _notify_cf_waiters(self, _source: Any = None) -> None:
        """Once the task is done (in the hub): mark the future FINISHED for
        concurrent.futures and tell its waiters.

        Both happen under its condition, which a greenlet in
        ``concurrent.futures.wait`` may hold across a switch, and telling a
        waiter takes the waiter's locks: the hub must not block on them, so a
        new greenlet does it.  A future whose condition was never created has
        no such waiter; nor has one whose condition is free and that has no
        waiters (always the case unless threading is patched): then the
        future is marked at once.
        """
        condition = self._cf_condition
        if condition is None:
            self._cf_finished = True
        elif not self._cf_waiters and condition.acquire(False):
            try:
                self._cf_finished = True
            finally:
                condition.release()
        else:
            spawn_raw(self._tell_cf_waiters)

    def _tell_cf_waiters(self) -> None:
        with self._condition:
            self._cf_finished = True
            failed = self._async_result.exception is not None
            # Waiters remove themselves (as_completed): notify a snapshot.
            for waiter in list(self._cf_waiters):
                if failed:
                    waiter.add_exception(self)
                else:
                    waiter.add_result(self)


class _FutureLink:
    """A link calling ``callback(future)``; equal to any link of the same pair,
    so ``unlink`` finds it."""

    __slots__ = ("future", "callback")

    def __init__(self, future: _ExecutorFuture, callback: Callable[[Any], Any]) -> None:
        self.future = future
        self.callback = callback

    def __call__(self, _source: Any) -> None:
        self.callback(self.future)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _FutureLink)
            and other.future is self.future
            and other.callback == self.callback
        )

    def __hash__(self) -> int:
        return hash((id(self.future), self.callback))


class ThreadPoolExecutor(concurrent.futures.ThreadPoolExecutor):
    """A ``concurrent.futures.ThreadPoolExecutor`` whose work runs in a
    :class:`ThreadPool` of native threads (even when threading is patched).

    Its futures are waited on cooperatively (``result()``, ``exception()``,
    ``greenkit.wait``); with ``threading`` monkey-patched,
    ``concurrent.futures.wait`` and ``as_completed`` accept them as well.
    Futures cannot be cancelled once submitted.  ``initializer(*initargs)``
    runs once in each worker thread, before its first task.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        thread_name_prefix: str = "",
        initializer: Callable[..., Any] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        super().__init__(max_workers, thread_name_prefix, initializer, initargs)
        self._threadpool = ThreadPool(self._max_workers)
        self._initialized = _thread_local()

    def _adjust_thread_count(self) -> None:
        # The ThreadPool starts the threads.
        pass

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` in a worker thread; returns a future."""
        with self._shutdown_lock:
            if self._broken:
                raise concurrent.futures.thread.BrokenThreadPool(self._broken)
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
        if self._initializer is not None:
            args = (fn, *args)
            fn = self._run_initialized
        return _ExecutorFuture(self._threadpool.spawn(fn, *args, **kwargs))

    def _run_initialized(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not getattr(self._initialized, "done", False):
            assert self._initializer is not None
            self._initializer(*self._initargs)
            self._initialized.done = True
        return fn(*args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new work; with ``wait``, wait (cooperatively) for what was
        submitted, then stop the threads.  Nothing can be cancelled."""
        with self._shutdown_lock:
            self._shutdown = True
        if wait:
            self._threadpool.join()
        self._threadpool.kill()

    kill = shutdown
