"""Make the standard library cooperative.

Monkey patching replaces, in place, parts of the standard library with
greenkit's cooperative versions that behave the same way (as closely as
possible): ``socket.socket`` becomes :class:`greenkit.socket.socket`,
``time.sleep`` becomes :func:`greenkit.sleep`, threads become greenlets, and
so on.  Code written for blocking I/O then runs concurrently in greenlets
without changes.

The main entry point is :func:`patch_all`, which patches every supported
module.  Its arguments can leave modules out, but the defaults are the best
tested, and some patches depend on others.  Patch as early as possible,
ideally as the first lines of the main module, before anything else is
imported::

    from greenkit import monkey; monkey.patch_all()

Patching late can leave modules holding references to the blocking
originals (``from socket import socket``), and patching outside the main
native thread breaks the main thread's identity.  A script can also be
started already patched: ``python -m greenkit.monkey [options] script.py``
(see :func:`main`).

Each stdlib mirror module (``greenkit.socket``, ``greenkit.time``, ...)
lists in ``__implements__`` the names copied into the stdlib module whose
name it mirrors (or the one named by its ``__target__``, e.g.
``greenkit.thread`` patches ``_thread``).  Before an attribute is replaced,
its original value is recorded both in :data:`saved` and in the hub's
registry (:mod:`greenkit._originals`), so :func:`get_original` -- and the
thread pool and monitoring thread, which use that registry -- always find
the real blocking object.

Plugins: :func:`patch_all` and :func:`patch_module` announce what they do
through :mod:`greenkit.events` -- :class:`~greenkit.events.GeventWillPatchAllEvent`,
then a will/did pair of module events for each module, then
:class:`~greenkit.events.GeventDidPatchBuiltinModulesEvent` and
:class:`~greenkit.events.GeventDidPatchAllEvent`.  Each event goes to the
subscribers of :data:`greenkit.events.subscribers` (zope.event's) and to
the setuptools entry points of its group (``greenkit.plugins.monkey.*`` and
gevent's ``gevent.plugins.monkey.*``).  A subscriber of a *will* event may
raise :class:`~greenkit.events.DoNotPatch` to cancel that patch.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from collections.abc import Iterable
from typing import Any

from greenkit import _originals
from greenkit import events as _events

__all__ = [
    "patch_all",
    "patch_builtins",
    "patch_dns",
    "patch_os",
    "patch_queue",
    "patch_select",
    "patch_signal",
    "patch_socket",
    "patch_ssl",
    "patch_subprocess",
    "patch_sys",
    "patch_thread",
    "patch_time",
    # query functions
    "get_original",
    "is_module_patched",
    "is_object_patched",
    "is_anything_patched",
    # plugin API
    "patch_module",
    # module functions
    "main",
    # errors and warnings
    "MonkeyPatchWarning",
]


class MonkeyPatchWarning(RuntimeWarning):
    """Something about monkey patching may not work as expected (patching
    too late, patching twice with different arguments, patching outside the
    main thread...)."""


#: Module name -> {attribute name -> the value it had before this module
#: patched it}.  Also holds the remembered :func:`patch_all` settings under
#: :data:`_PATCH_ALL_SETTINGS`.  Every original is recorded in the hub's
#: registry too, which never forgets, so :func:`get_original` is not fooled
#: by code that replaces this mapping.
saved: dict[str, dict[str, Any]] = {}

#: The key of :data:`saved` remembering what :func:`patch_all` was asked to
#: patch (the name gevent uses, which its tests read).
_PATCH_ALL_SETTINGS = "_gevent_saved_patch_all_module_settings"

_MISSING = object()


# ---------------------------------------------------------------------------
# query functions


def get_original(mod_name: str, item_name: str | Iterable[str]) -> Any:
    """The original (unpatched) value of ``mod_name.item_name``.

    ``item_name`` may be one name or a sequence of names, in which case a
    list is returned.  Names that were never patched are read from the
    module (importing it if needed), so this also works in a process that
    was not patched at all.
    """
    if isinstance(item_name, str):
        return _originals.get_original(mod_name, item_name)
    return _originals.get_original(mod_name, list(item_name))


def is_module_patched(mod_name: str) -> bool:
    """Whether anything in the module ``mod_name`` has been patched (it has
    an entry in :data:`saved`)."""
    return mod_name in saved


def is_object_patched(mod_name: str, item_name: str) -> bool:
    """Whether ``mod_name.item_name`` has been patched."""
    return is_module_patched(mod_name) and item_name in saved[mod_name]


def is_anything_patched() -> bool:
    """Whether this process has patched anything at all (remembered
    :func:`patch_all` arguments alone do not count)."""
    return any(name != _PATCH_ALL_SETTINGS for name in saved)


# ---------------------------------------------------------------------------
# warnings


def _process_warnings(messages: list[str]) -> None:
    """Issue each queued message as a :class:`MonkeyPatchWarning`."""
    for message in messages:
        warnings.warn(message, MonkeyPatchWarning, stacklevel=3)


def _queue_warning(message: str, queue: list[str] | None) -> None:
    """Add ``message`` to ``queue``, or warn right away when there is none.

    :func:`patch_all` collects the warnings of every patch and issues them
    at the end, when the ``warnings`` machinery no longer runs half-patched.
    """
    if queue is None:
        _process_warnings([message])
    else:
        queue.append(message)


# ---------------------------------------------------------------------------
# the machinery


def _record(owner: str, attr: str, value: Any) -> None:
    """Record ``value`` as the original of ``owner.attr``, in :data:`saved` and
    in the hub's registry (the first record wins)."""
    _originals.save_original(owner, attr, value)
    saved.setdefault(owner, {}).setdefault(attr, value)


def _save(module: types.ModuleType, attr: str) -> None:
    """Record the current ``module.attr`` as its original (if it has one)."""
    value = getattr(module, attr, _MISSING)
    if value is not _MISSING:
        _record(module.__name__, attr, value)


def patch_item(module: types.ModuleType, attr: str, newitem: Any) -> None:
    """Replace ``module.attr`` with ``newitem``, recording the original first."""
    _save(module, attr)
    setattr(module, attr, newitem)


def remove_item(module: types.ModuleType, attr: str) -> None:
    """Delete ``module.attr`` (if present), recording the original first."""
    if not hasattr(module, attr):
        return
    _save(module, attr)
    delattr(module, attr)


def _as_module(module: types.ModuleType | str) -> types.ModuleType:
    return importlib.import_module(module) if isinstance(module, str) else module


def _notify(event: Any, queue: list[str] | None) -> None:
    """Deliver ``event`` to subscribers and plugins.

    :class:`~greenkit.events.DoNotPatch` propagates (it cancels the patch);
    a plugin that cannot be loaded becomes a warning instead of breaking
    patching.
    """
    try:
        _events.notify_and_call_entry_points(event)
    except _events.DoNotPatch:
        raise
    except ImportError as exc:
        _queue_warning(f"Failed to load a greenkit monkey-patching plugin: {exc!r}", queue)


def patch_module(
    target_module: types.ModuleType | str,
    source_module: types.ModuleType | str,
    items: Iterable[str] | None = None,
    _warnings: list[str] | None = None,
    _patch_kwargs: dict[str, Any] | None = None,
) -> bool:
    """Copy the attributes ``items`` of ``source_module`` into ``target_module``.

    Both may be modules or module names.  ``items`` defaults to the
    source's ``__implements__`` (which must then exist).  Before the copy
    the source's ``_gevent_will_monkey_patch(target, items, warn, **kwargs)``
    hook runs, if it has one, and a
    :class:`~greenkit.events.GeventWillPatchModuleEvent` is emitted; either
    may raise :class:`~greenkit.events.DoNotPatch` to leave the module
    alone.  After it, ``_gevent_did_monkey_patch`` runs and a
    :class:`~greenkit.events.GeventDidPatchModuleEvent` is emitted.  Every
    replaced value is recorded first (see :func:`get_original`).

    Returns whether the module was patched (false if it was vetoed).
    """
    target = _as_module(target_module)
    source = _as_module(source_module)
    if items is None:
        implements = getattr(source, "__implements__", None)
        if implements is None:
            raise AttributeError(
                f"{source.__name__!r} has no __implements__ list; pass the names as items"
            )
        items = implements
    names = list(items)
    # Every value is fetched before anything changes: a missing one leaves
    # the target untouched.
    values = [getattr(source, name) for name in names]
    kwargs = dict(_patch_kwargs or {})

    def warn(message: str) -> None:
        _queue_warning(message, _warnings)

    try:
        hook = getattr(source, "_gevent_will_monkey_patch", None)
        if hook is not None:
            hook(target, names, warn, **kwargs)
        _notify(
            _events.GeventWillPatchModuleEvent(target.__name__, source, target, names), _warnings
        )
    except _events.DoNotPatch:
        return False

    for name, value in zip(names, values, strict=True):
        patch_item(target, name, value)

    hook = getattr(source, "_gevent_did_monkey_patch", None)
    if hook is not None:
        hook(target, names, warn, **kwargs)
    _notify(_events.GeventDidPatchModuleEvent(target.__name__, source, target), _warnings)
    return True


def _patch_stdlib(
    name: str,
    items: Iterable[str] | None = None,
    _warnings: list[str] | None = None,
    _patch_kwargs: dict[str, Any] | None = None,
) -> tuple[types.ModuleType, types.ModuleType | None]:
    """Patch a stdlib module from its mirror ``greenkit.<name>``.

    The target is the mirror's ``__target__`` (default: ``name``).  Returns
    the mirror and the stdlib module, or None in its place when a plugin
    vetoed the patch.
    """
    source = importlib.import_module("greenkit." + name)
    target = importlib.import_module(getattr(source, "__target__", name))
    done = patch_module(target, source, items, _warnings, _patch_kwargs)
    return source, (target if done else None)


# ---------------------------------------------------------------------------
# the individual patches


def patch_time() -> None:
    """Replace :func:`time.sleep` with :func:`greenkit.sleep`."""
    _patch_stdlib("time")


def patch_queue() -> None:
    """Make :mod:`queue`'s classes the cooperative ones of :mod:`greenkit.queue`.

    In particular :class:`queue.SimpleQueue`, implemented in C, would
    otherwise block the whole thread; the others are replaced too so that
    code sharing them with greenlets never blocks the hub.
    """
    _patch_stdlib("queue")


def patch_os() -> None:
    """Replace :func:`os.fork` (and the other ``__implements__`` of
    :mod:`greenkit.os`) with the cooperative versions, which reinitialise
    the hub in the child and let ``waitpid`` wait cooperatively."""
    _patch_stdlib("os")


def patch_signal() -> None:
    """Make :func:`signal.signal` cooperate with greenkit's child watchers
    (a ``SIGCHLD`` handler keeps working with :mod:`greenkit.subprocess`)."""
    _patch_stdlib("signal")


def patch_subprocess() -> None:
    """Replace :class:`subprocess.Popen` and friends with
    :mod:`greenkit.subprocess`, whose waits and pipes are cooperative."""
    _patch_stdlib("subprocess")


def patch_builtins() -> None:
    """Kept for API compatibility; does nothing on Python 3.

    Python 2 needed a greenlet-aware import lock.  Python 3's per-module
    import locks come from :mod:`_thread`, which :func:`patch_thread`
    already makes cooperative.
    """


def patch_sys(stdin: bool = True, stdout: bool = True, stderr: bool = True) -> None:
    """Kept for API compatibility; does nothing on Python 3.

    Replacing ``sys.std*`` with thread-pool file objects hangs the
    interpreter when it flushes them at shutdown, so Python 3 keeps the
    real ones (``stdin``, ``stdout`` and ``stderr`` are accepted and
    ignored).
    """


def patch_dns() -> None:
    """Replace the DNS functions of :mod:`socket` (``getaddrinfo``,
    ``gethostbyname``, ...; :data:`greenkit.socket.__dns__`) with versions
    that use the hub's resolver.  :func:`patch_socket` does it by default."""
    gsocket = importlib.import_module("greenkit.socket")
    _patch_stdlib("socket", items=list(gsocket.__dns__))


def patch_socket(dns: bool = True, aggressive: bool = True) -> None:
    """Replace :class:`socket.socket` and the module's blocking functions
    with :mod:`greenkit.socket`'s.

    With ``dns=False`` the name-resolution functions
    (:data:`greenkit.socket.__dns__`) are left alone.  ``aggressive`` is
    accepted for compatibility; Python 3's :mod:`socket` needs nothing
    removed.
    """
    gsocket = importlib.import_module("greenkit.socket")
    items = list(gsocket.__implements__)
    if not dns:
        skipped = set(getattr(gsocket, "__dns__", ()))
        items = [name for name in items if name not in skipped]
    _patch_stdlib("socket", items=items)


#: What ``aggressive`` patching removes: interfaces greenkit cannot make
#: cooperative, so that code falls back to ``select``/``poll``.
_SELECT_REMOVED = ("epoll", "kqueue", "kevent", "devpoll")
_SELECTORS_REMOVED = ("EpollSelector", "KqueueSelector", "DevpollSelector")


def patch_select(aggressive: bool = True) -> None:
    """Replace :func:`select.select` and :func:`select.poll` with the
    cooperative versions, and :mod:`selectors`' default selector with
    :mod:`greenkit.selectors`'.

    With ``aggressive`` (the default) the interfaces greenkit does not
    provide are removed: ``select.epoll``, ``kqueue``, ``kevent``,
    ``devpoll`` and the matching :mod:`selectors` classes, so that
    libraries probing for them fall back to the patched ones.
    """
    _source, select_mod = _patch_stdlib("select")
    if select_mod is not None and aggressive:
        for name in _SELECT_REMOVED:
            remove_item(select_mod, name)
    _source, selectors_mod = _patch_stdlib("selectors")
    if selectors_mod is None:
        return
    if aggressive:
        for name in _SELECTORS_REMOVED:
            remove_item(selectors_mod, name)
    if select_mod is not None:
        _patch_selector_classes(selectors_mod, select_mod)


def _patch_selector_classes(selectors_mod: types.ModuleType, select_mod: types.ModuleType) -> None:
    """Make the stdlib selector classes use the patched :mod:`select`.

    ``SelectSelector`` and ``PollSelector`` bound ``select.select`` and
    ``select.poll`` when :mod:`selectors` was imported, so patching the
    module alone leaves them blocking.
    """

    def _select(*args: Any) -> Any:
        return select_mod.select(*args)

    # The marker gevent puts on functions installed by monkey patching.
    _select._gevent_monkey = True  # type: ignore[attr-defined]
    select_selector = getattr(selectors_mod, "SelectSelector", None)
    if select_selector is not None:
        _patch_class_item(select_selector, "_select", staticmethod(_select))
    poll_selector = getattr(selectors_mod, "PollSelector", None)
    if poll_selector is not None and hasattr(select_mod, "poll"):
        _patch_class_item(poll_selector, "_selector_cls", select_mod.poll)


def _patch_class_item(cls: type, attr: str, newitem: Any) -> None:
    """Replace the class attribute ``cls.attr``; the original is recorded
    under the module name ``"<module>.<class>"``."""
    _record(f"{cls.__module__}.{cls.__qualname__}", attr, cls.__dict__[attr])
    setattr(cls, attr, newitem)


def patch_ssl(_warnings: list[str] | None = None) -> None:
    """Replace :class:`ssl.SSLContext`, :class:`ssl.SSLSocket` and the
    module's helpers with :mod:`greenkit.ssl`'s.

    Patching :mod:`ssl` after it was imported is unreliable: modules that
    did ``from ssl import SSLContext`` and subclasses of the original
    classes keep the blocking implementation.  When that is detected the
    first time ssl is patched, a :class:`MonkeyPatchWarning` names them.
    """
    from greenkit.monkey._ssl_check import late_ssl_patch_message

    source = importlib.import_module("greenkit.ssl")
    target_name = getattr(source, "__target__", "ssl")
    if not _originals.is_patched(target_name):
        message = late_ssl_patch_message(source, target_name)
        if message:
            _queue_warning(message, _warnings)
    _patch_stdlib("ssl", _warnings=_warnings)


def patch_thread(
    threading: bool = True,
    _threading_local: bool = True,
    Event: bool = True,
    logging: bool = True,
    existing_locks: bool = True,
    _warnings: list[str] | None = None,
) -> None:
    """Make threads greenlets: patch :mod:`_thread` (``start_new_thread``,
    ``allocate_lock``, ``get_ident``, ...) and, with ``threading``, the
    :mod:`threading` module.

    - ``Event``: :class:`threading.Event` becomes :class:`greenkit.event.Event`.
    - ``_threading_local``: :class:`_threading_local.local` becomes
      :class:`greenkit.local.local`.
    - ``existing_locks``: pure-Python ``RLock`` objects held by the
      patching thread are re-owned by the patching greenlet, so they can be
      released after patching (importlib's module locks always are).
    - ``logging``: if :mod:`logging` is imported, its module lock and the
      lock of each existing handler are replaced with new cooperative ones
      (unless held at that moment).  So is the module lock of
      :mod:`concurrent.futures.thread`, held across thread starts.

    Call this from the main native thread (in the main greenlet): the main
    thread's entry in ``threading._active`` is moved to the main greenlet's
    new identity.  Patching from another thread works only partly, and
    :class:`MonkeyPatchWarning` says so.
    """
    from greenkit.monkey import _thread_fixups

    threading_mod = importlib.import_module("threading") if threading else None
    before = _thread_fixups.ThreadState.capture(threading_mod)
    # Before _thread is patched: the wrapper needs the native get_ident.
    shutdown = None if threading_mod is None else before.shutdown_wrapper(threading_mod)

    _source, thread_mod = _patch_stdlib("thread", _warnings=_warnings)
    if thread_mod is None:
        return
    if threading_mod is not None:
        _patch_stdlib("threading", _warnings=_warnings)
        if Event:
            from greenkit.event import Event as GreenEvent

            patch_item(threading_mod, "Event", GreenEvent)
    if _threading_local:
        from greenkit.local import local

        patch_item(importlib.import_module("_threading_local"), "local", local)

    before.adopt_held_locks(existing_locks)
    futures_thread = sys.modules.get("concurrent.futures.thread")
    if futures_thread is not None:
        new_lock = _thread_fixups.renew_futures_lock(futures_thread, thread_mod)
        if new_lock is not None:
            patch_item(futures_thread, "_global_shutdown_lock", new_lock)
    if threading_mod is None or shutdown is None:
        return
    patch_item(threading_mod, "_shutdown", shutdown)
    for message in before.fix_main_thread(threading_mod):
        _queue_warning(message, _warnings)
    if logging and "logging" in sys.modules:
        _thread_fixups.renew_logging_locks(sys.modules["logging"], threading_mod)


# ---------------------------------------------------------------------------
# patch_all


#: The parameters of :func:`patch_all` that name modules (as opposed to
#: options of one patch), in patching order.  The order matters: threads
#: before anything that creates locks, socket before ssl, os (fork) first.
_PATCH_ALL_ORDER = (
    "os",
    "time",
    "thread",
    "sys",
    "socket",
    "select",
    "ssl",
    "subprocess",
    "builtins",
    "signal",
    "queue",
    "contextvars",
)


def _settings_to_apply(settings: dict[str, Any], queue: list[str]) -> dict[str, Any] | None:
    """Merge ``settings`` into the remembered ones; return what to patch now.

    The first call patches everything asked for.  A later call with other
    arguments warns (the union of every true argument ends up patched) and
    patches only the modules whose argument turned true; None means there
    is nothing to do.
    """
    remembered: dict[str, Any] = saved.setdefault(_PATCH_ALL_SETTINGS, {})
    if not remembered:
        remembered.update(settings)
        return dict(settings)
    if remembered != settings:
        _queue_warning(
            "Patching more than once will result in the union of all True parameters being patched",
            queue,
        )
    newly_true = {key for key, value in settings.items() if value and not remembered.get(key)}
    for key in newly_true:
        remembered[key] = True
    if not newly_true.intersection(_PATCH_ALL_ORDER):
        return None
    todo = dict(settings)
    for name in _PATCH_ALL_ORDER:
        todo[name] = name in newly_true
    return todo


def patch_all(
    socket: bool = True,
    dns: bool = True,
    time: bool = True,
    select: bool = True,
    thread: bool = True,
    os: bool = True,
    ssl: bool = True,
    subprocess: bool = True,
    sys: bool = False,
    aggressive: bool = True,
    Event: bool = True,
    builtins: bool = True,
    signal: bool = True,
    queue: bool = True,
    contextvars: bool = True,
    **kwargs: Any,
) -> bool:
    """Patch every supported module (each argument can leave one out).

    Order: os, time, thread (with ``Event``), sys, socket (with ``dns``,
    ``aggressive``), select (with ``aggressive``), ssl, subprocess,
    builtins, signal, queue; ``contextvars`` needs no patch on Python 3.
    Extra keyword arguments are passed to plugins through the events.

    Calling it again with other arguments warns, and patches only what was
    not patched yet (the union of the true arguments ends up patched).

    Returns a true value unless a subscriber cancelled patching by raising
    :class:`~greenkit.events.DoNotPatch` from the will-patch-all event.
    """
    settings = {
        "socket": socket,
        "dns": dns,
        "time": time,
        "select": select,
        "thread": thread,
        "os": os,
        "ssl": ssl,
        "subprocess": subprocess,
        "sys": sys,
        "aggressive": aggressive,
        "Event": Event,
        "builtins": builtins,
        "signal": signal,
        "queue": queue,
        "contextvars": contextvars,
    }
    queued: list[str] = []
    first_time = not saved.get(_PATCH_ALL_SETTINGS)
    todo = _settings_to_apply(settings, queued)
    try:
        if todo is None:
            return True
        try:
            _notify(_events.GeventWillPatchAllEvent(todo, kwargs), queued)
        except _events.DoNotPatch:
            if first_time:
                saved.pop(_PATCH_ALL_SETTINGS, None)
            return False

        if todo["os"]:
            patch_os()
        if todo["time"]:
            patch_time()
        if todo["thread"]:
            patch_thread(Event=todo["Event"], _warnings=queued)
        if todo["sys"]:
            patch_sys()
        if todo["socket"]:
            patch_socket(dns=todo["dns"], aggressive=todo["aggressive"])
        if todo["select"]:
            patch_select(aggressive=todo["aggressive"])
        if todo["ssl"]:
            patch_ssl(_warnings=queued)
        if todo["subprocess"]:
            patch_subprocess()
        if todo["builtins"]:
            patch_builtins()
        if todo["signal"]:
            patch_signal()
        if todo["queue"]:
            patch_queue()

        _notify(_events.GeventDidPatchBuiltinModulesEvent(todo, kwargs), queued)
        _notify(_events.GeventDidPatchAllEvent(todo, kwargs), queued)
        return True
    finally:
        _process_warnings(queued)


# ---------------------------------------------------------------------------
# python -m greenkit.monkey


def main(argv: list[str] | None = None) -> None:
    """Run a script or module with the standard library patched.

    ``python -m greenkit.monkey [--verbose] [--no-<module> | --<module>]...
    [--module] (script | module) [args...]``: parse the patching options,
    call :func:`patch_all` with them, then run the script (a file, or a
    directory or zip with a ``__main__.py``) or, with ``--module``, the
    module as ``__main__`` with ``sys.argv`` set to the script and its own
    arguments, as ``python script args`` would.
    """
    from greenkit.monkey._main import run

    run(sys.argv[1:] if argv is None else argv)
