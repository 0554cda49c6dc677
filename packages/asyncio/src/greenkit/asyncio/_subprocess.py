"""Subprocess transports whose children are reaped by libev child watchers.

asyncio's Unix loop reaps its children through a child watcher of its own:
a thread blocked in ``waitpid`` per child (3.11, 3.12) or a pidfd (3.13+),
chosen through the deprecated ``AbstractChildWatcher`` machinery.  On the
hub there is a better one: the default libev loop reaps children on SIGCHLD
and calls a child watcher per pid (as :mod:`greenkit.subprocess` does).
:func:`make_subprocess_transport` starts asyncio's own Unix subprocess
transport and watches its pid with ``hub.loop.child(pid)``.

This is the one place that relies on asyncio internals, which have the
same shape from 3.11 to 3.14 (``tests/test_subprocess.py`` checks them on
each Python the package supports):

* ``BaseEventLoop._make_subprocess_transport`` -- what ``subprocess_exec``
  and ``subprocess_shell`` call; the greenkit loop overrides it;
* ``unix_events._UnixSubprocessTransport`` -- the transport (its ``Popen``
  is ``_proc``), told of the exit by ``_process_exited(returncode)``, which
  it expects once; ``_returncode`` and ``_wait()`` say whether it was, and
  wait for it.

A child watcher set on asyncio's policy with the deprecated
``set_child_watcher()`` (3.11 to 3.13) still has the last word, as asyncio
promises: one that reaps every child (``FastChildWatcher``'s
``waitpid(-1)``) would take libev's, one that replaces the SIGCHLD handler
(``MultiLoopChildWatcher``) would starve it.  :func:`policy_child_watcher`
says when; the two that only wait for the pids they are given
(``ThreadedChildWatcher``, ``PidfdChildWatcher``, also the ones asyncio
creates lazily) leave the children to libev.

``Popen.poll()`` reaps a child that has exited, and asyncio calls it in
``close()`` (and ``Popen.send_signal()`` calls it before each signal): a
child reaped that way never reaches libev, so after those calls, and after
starting the watcher (the patched, cooperative ``Popen`` yields while it
starts, and libev may reap meanwhile), the transport reports what ``Popen``
found.
"""

from __future__ import annotations

import asyncio
import os
import sys
from asyncio import unix_events
from typing import Any

__all__ = ["HubSubprocessTransport", "make_subprocess_transport", "policy_child_watcher"]


#: asyncio's Unix subprocess transport (private: typeshed does not declare it).
_UnixSubprocessTransport: Any = unix_events._UnixSubprocessTransport  # type: ignore[attr-defined]


class HubSubprocessTransport(_UnixSubprocessTransport):  # type: ignore[misc]
    """asyncio's Unix subprocess transport, reaped by a child watcher on the hub."""

    _watcher: Any = None

    def _watch(self, hub_loop: Any) -> None:
        """Start the child watcher.  It is not referenced: a running loop keeps
        the hub's loop alive anyway, and a stopped one must not."""
        watcher = self._watcher = hub_loop.child(self._pid, ref=False)
        watcher.start(self._on_child_exit, watcher)
        self._proc.poll()
        self._check_reaped()

    def _unwatch(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.close()

    def _on_child_exit(self, watcher: Any) -> None:
        """(In the hub.) libev reaped the child: report its exit to the loop."""
        returncode = os.waitstatus_to_exitcode(watcher.rstatus)
        self._unwatch()
        self._report(returncode)

    def _check_reaped(self) -> None:
        """Report an exit that ``Popen`` reaped before libev could."""
        proc = self._proc
        if self._watcher is not None and proc is not None and proc.returncode is not None:
            self._unwatch()
            self._report(proc.returncode)

    def _report(self, returncode: int) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._exited, returncode)

    def _exited(self, returncode: int) -> None:
        if self._returncode is None:
            self._process_exited(returncode)

    # Each of these may end in Popen.poll(), which reaps an exited child.

    def close(self) -> None:
        super().close()
        self._check_reaped()

    def send_signal(self, signal: int) -> None:
        try:
            super().send_signal(signal)
        finally:
            self._check_reaped()

    def terminate(self) -> None:
        try:
            super().terminate()
        finally:
            self._check_reaped()

    def kill(self) -> None:
        try:
            super().kill()
        finally:
            self._check_reaped()


async def make_subprocess_transport(
    loop: Any,
    hub_loop: Any,
    protocol: Any,
    args: Any,
    shell: bool,
    stdin: Any,
    stdout: Any,
    stderr: Any,
    bufsize: int,
    extra: Any,
    kwargs: dict[str, Any],
) -> HubSubprocessTransport:
    """Start the child with asyncio's transport and watch it on ``hub_loop``
    (the default libev loop); return the transport once its pipes are connected."""
    waiter = loop.create_future()
    # A child that exits at once must find SIGCHLD routed to libev already.
    hub_loop.install_sigchld()
    transport = HubSubprocessTransport(
        loop,
        protocol,
        args,
        shell,
        stdin,
        stdout,
        stderr,
        bufsize,
        waiter=waiter,
        extra=extra,
        **kwargs,
    )
    transport._watch(hub_loop)
    try:
        await waiter
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException:
        transport.close()
        await transport._wait()
        raise
    return transport


def policy_child_watcher() -> Any:
    """The child watcher of asyncio's policy that the loop must use, or None.

    None on 3.14+ (no child watchers), when the policy has none, or when it
    is one that waits only for the pids it is given (libev reaps those).
    """
    if sys.version_info >= (3, 14):
        return None
    watcher = getattr(asyncio.get_event_loop_policy(), "_watcher", None)
    own_pids_only = (unix_events.ThreadedChildWatcher, unix_events.PidfdChildWatcher)
    if watcher is None or isinstance(watcher, own_pids_only):
        return None
    return watcher
