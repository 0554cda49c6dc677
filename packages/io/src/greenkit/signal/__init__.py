"""``signal.signal``/``getsignal`` that cooperate with child watchers.

libev learns that children exited through SIGCHLD, so a plain
``signal.signal(SIGCHLD, handler)`` would take that away from child
watchers (and from :func:`greenkit.os.waitpid`).  Through this module a
SIGCHLD handler is kept by greenkit instead: the loop keeps SIGCHLD, and
``handler(SIGCHLD, None)`` runs in a new greenlet each time a child exits
(its errors are printed by the hub).  Python's wakeup fd
(``signal.set_wakeup_fd``) still receives SIGCHLD.  ``getsignal(SIGCHLD)``
returns that handler.  Setting ``SIG_DFL`` or ``SIG_IGN`` gives SIGCHLD back to the
process (``loop.reset_sigchld()``) and sets it for real.  Other signals
pass straight to the standard library.  Every other public name of
``signal`` is re-exported; monkey patching copies ``__implements__``.
"""

from __future__ import annotations

import signal as _signal
import sys
from typing import TYPE_CHECKING, Any

from greenlet import getcurrent

from greenkit._stdlib_mirror import reexport
from greenkit.hub import get_hub, get_hub_if_exists, spawn_raw

if TYPE_CHECKING:
    from greenkit._interfaces import ChildWatcherProtocol

__implements__ = ["signal", "getsignal"]
__extensions__: list[str] = []
__all__ = __implements__ + __extensions__

# Re-export the rest of ``signal``.
reexport(globals(), _signal, __implements__)

_signal_signal = _signal.signal
_signal_getsignal = _signal.getsignal
_SIGCHLD: int | None = getattr(_signal, "SIGCHLD", None)
_SIG_DFL = _signal.SIG_DFL
_SIG_IGN = _signal.SIG_IGN

#: The SIGCHLD handler greenkit calls, and the child watcher (any pid) that does.
_child_handler: Any = None
_child_watcher: ChildWatcherProtocol | None = None


def getsignal(signalnum: int) -> Any:
    """Like ``signal.getsignal``; for SIGCHLD, the handler greenkit keeps."""
    if signalnum == _SIGCHLD and _child_handler is not None:
        return _child_handler
    return _signal_getsignal(signalnum)


def _run_child_handler(handler: Any) -> None:
    try:
        handler(_SIGCHLD, None)
    except:  # noqa: E722 - printed like any greenlet's error, not raised in main
        get_hub().handle_error(getcurrent(), *sys.exc_info())


def _wakeup_only(_signum: int, _frame: Any) -> None:
    """Python-level SIGCHLD handler while greenkit keeps the real one: none
    of its own work (see :func:`signal`)."""


def _on_child_exit() -> None:
    handler = _child_handler
    if handler is not None:
        spawn_raw(_run_child_handler, handler)


def _stop_child_watcher() -> None:
    global _child_watcher
    if _child_watcher is not None:
        _child_watcher.close()
        _child_watcher = None


def signal(signalnum: int, handler: Any) -> Any:
    """Set the handler for ``signalnum``; return the previous one.

    For SIGCHLD a callable is kept by greenkit and called (in a greenlet)
    whenever a child exits, so child watchers keep working; ``SIG_DFL`` and
    ``SIG_IGN`` return SIGCHLD to the process.  Other signals: exactly
    ``signal.signal``.
    """
    global _child_handler, _child_watcher
    if signalnum != _SIGCHLD:
        return _signal_signal(signalnum, handler)
    if handler not in (_SIG_DFL, _SIG_IGN) and not callable(handler):
        raise TypeError(
            "signal handler must be signal.SIG_IGN, signal.SIG_DFL, or a callable object"
        )
    old = getsignal(signalnum)
    if handler in (_SIG_DFL, _SIG_IGN):
        _child_handler = None
        _stop_child_watcher()
        hub = get_hub_if_exists()
        if hub is not None and hub.loop is not None:
            hub_loop: Any = hub.loop  # reset_sigchld() is libev's, beyond LoopProtocol
            hub_loop.reset_sigchld()
        _signal_signal(signalnum, handler)
        return old
    loop = get_hub().loop
    assert loop is not None, "SIGCHLD handling in a destroyed hub"
    if not loop.default:  # no child watchers here: nothing to cooperate with
        return _signal_signal(signalnum, handler)
    _child_handler = handler
    # Python's own C handler goes beneath the loop's, which passes SIGCHLD on
    # to it: so Python still writes the signal to its wakeup fd
    # (``signal.set_wakeup_fd``).  The handler itself runs from the watcher.
    _signal_signal(signalnum, _wakeup_only)
    default_loop: Any = loop  # install_sigchld() is libev's, beyond LoopProtocol
    default_loop.install_sigchld()
    if _child_watcher is None:
        watcher = loop.child(0, ref=False)
        watcher.start(_on_child_exit)
        _child_watcher = watcher
    return old
