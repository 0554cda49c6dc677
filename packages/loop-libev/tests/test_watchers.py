"""What every watcher type shares: start/stop/close/feed, active/pending,
callback/args, ref, priority, keep-alive and context-manager use."""

from __future__ import annotations

import gc
import signal
import socket
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from greenkit.loop import libev


class Resources:
    def __init__(self, sock: socket.socket, path: Path) -> None:
        self.sock = sock
        self.path = path


FACTORIES: dict[str, Callable[..., libev.watcher]] = {
    "io": lambda lp, res, **kw: lp.io(res.sock.fileno(), libev.READ, **kw),
    "timer": lambda lp, res, **kw: lp.timer(30, **kw),
    "signal": lambda lp, res, **kw: lp.signal(signal.SIGUSR2, **kw),
    "idle": lambda lp, res, **kw: lp.idle(**kw),
    "prepare": lambda lp, res, **kw: lp.prepare(**kw),
    "check": lambda lp, res, **kw: lp.check(**kw),
    "fork": lambda lp, res, **kw: lp.fork(**kw),
    "async_": lambda lp, res, **kw: lp.async_(**kw),
    "stat": lambda lp, res, **kw: lp.stat(str(res.path), **kw),
}

#: Watchers that fire by themselves in every loop iteration once started.
SELF_FIRING = {"idle", "prepare", "check"}


@pytest.fixture
def res(tmp_path: Path) -> Iterator[Resources]:
    a, b = socket.socketpair()
    path = tmp_path / "watched"
    path.write_bytes(b"")
    try:
        yield Resources(a, path)
    finally:
        a.close()
        b.close()


@pytest.fixture(params=sorted(FACTORIES))
def make(
    request: pytest.FixtureRequest, loop: libev.loop, res: Resources
) -> Iterator[Callable[..., libev.watcher]]:
    made: list[libev.watcher] = []
    factory = FACTORIES[request.param]

    def make(**kw: object) -> libev.watcher:
        w = factory(loop, res, **kw)
        made.append(w)
        return w

    make.kind = request.param  # type: ignore[attr-defined]
    yield make
    for w in made:
        w.close()


def _noop(*args: object) -> None:
    pass


def test_fresh_watcher_state(make: Callable[..., libev.watcher], loop: libev.loop) -> None:
    w = make()
    assert isinstance(w, libev.watcher)
    assert w.loop is loop
    assert not w.active
    assert not w.pending
    assert not w.closed
    assert w.callback is None
    assert w.args is None
    assert w.ref is True
    assert w.priority == 0
    assert w not in loop._keepaliveset


def test_start_stop(make: Callable[..., libev.watcher], loop: libev.loop) -> None:
    w = make()
    w.start(_noop, 1, 2)
    assert w.active
    assert w.callback is _noop
    assert w.args == (1, 2)
    assert w in loop._keepaliveset
    w.stop()
    assert not w.active
    assert w.callback is None
    assert w.args is None
    assert w not in loop._keepaliveset
    w.stop()  # stopping twice is harmless
    w.start(_noop)
    assert w.active
    assert w.args == ()


def test_restart_replaces_callback(make: Callable[..., libev.watcher], loop: libev.loop) -> None:
    w = make()
    w.start(_noop, 1)
    count = loop.activecnt
    second = []
    w.start(second.append, 2)
    assert w.active
    assert loop.activecnt == count
    assert w.callback == second.append
    assert w.args == (2,)
    w.stop()
    assert loop.activecnt == 0


def test_callback_and_args_attributes(make: Callable[..., libev.watcher]) -> None:
    w = make()
    w.start(_noop)
    other: list[object] = []
    w.callback = other.append
    assert w.callback == other.append
    w.args = (1,)
    assert w.args == (1,)
    with pytest.raises(TypeError):
        w.callback = 5  # type: ignore[assignment]
    with pytest.raises(TypeError):
        w.callback = False  # type: ignore[assignment]
    assert w.callback == other.append


def test_args_must_be_a_tuple_or_none(loop: libev.loop) -> None:
    # gevent's watchers accept only a tuple (or None) as args.
    w = loop.timer(10)
    w.start(_noop)
    w.args = None
    assert w.args is None
    with pytest.raises(TypeError):
        w.args = 5  # type: ignore[assignment]
    with pytest.raises(TypeError):
        w.args = [4, 5]  # type: ignore[assignment]
    w.close()


def test_feed_runs_callback_next_iteration(
    make: Callable[..., libev.watcher], loop: libev.loop
) -> None:
    w = make()
    seen: list[tuple[object, ...]] = []
    w.feed(libev.READ, lambda *a: seen.append(a), "fed")
    assert w.pending
    assert not w.active
    assert loop.pendingcnt >= 1
    assert w in loop._keepaliveset
    assert seen == []
    loop.run(nowait=True)
    assert seen == [("fed",)]
    assert not w.pending
    assert not w.active
    assert w not in loop._keepaliveset


def test_feed_with_events_marker(make: Callable[..., libev.watcher], loop: libev.loop) -> None:
    w = make()
    seen: list[object] = []
    w.feed(libev.WRITE, seen.append, libev.EVENTS)
    loop.run(nowait=True)
    assert seen == [libev.WRITE]


def test_stop_cancels_a_fed_event(make: Callable[..., libev.watcher], loop: libev.loop) -> None:
    w = make()
    seen: list[int] = []
    w.feed(libev.READ, seen.append, 1)
    assert w.pending
    w.stop()
    assert not w.pending
    assert w not in loop._keepaliveset
    loop.run(nowait=True)
    assert seen == []
    assert loop.pendingcnt == 0


def test_close(make: Callable[..., libev.watcher], loop: libev.loop) -> None:
    w = make()
    w.start(_noop)
    w.close()
    assert w.closed
    assert not w.active
    assert not w.pending
    assert w not in loop._keepaliveset
    assert "closed" in repr(w)
    w.close()  # twice is harmless
    w.stop()
    assert loop.activecnt == 0


def test_context_manager_closes(make: Callable[..., libev.watcher], loop: libev.loop) -> None:
    with make() as w:
        w.start(_noop)
        assert w.active
    assert w.closed
    assert not w.active
    assert w not in loop._keepaliveset
    with pytest.raises(ValueError):
        w.start(_noop)


def test_unreferenced_watcher_does_not_keep_run_alive(
    make: Callable[..., libev.watcher], loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    w = make(ref=False)
    assert w.ref is False
    w.start(_noop)
    assert w.active
    assert loop.activecnt == 0
    assert guarded_run(loop, 5)
    w.stop()
    assert guarded_run(loop, 5)


def test_ref_property_on_active_watcher(
    make: Callable[..., libev.watcher], loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    w = make()
    w.start(_noop)
    assert loop.activecnt == 1
    w.ref = False
    assert w.ref is False
    assert loop.activecnt == 0
    assert guarded_run(loop, 5)  # returns although w is active
    w.ref = True
    assert loop.activecnt == 1
    w.ref = False
    w.stop()  # stopping an unreferenced watcher leaves the counts balanced
    w.ref = True
    assert loop.activecnt == 0
    assert guarded_run(loop, 5)


def test_priority(make: Callable[..., libev.watcher]) -> None:
    w = make(priority=libev.MAXPRI)
    assert w.priority == libev.MAXPRI
    w.priority = libev.MINPRI
    assert w.priority == libev.MINPRI
    w.start(_noop)
    with pytest.raises(AttributeError):
        w.priority = 0
    assert w.priority == libev.MINPRI
    w.stop()
    w.priority = 1
    assert w.priority == 1


@pytest.mark.parametrize("bad", [libev.MAXPRI + 1, libev.MINPRI - 1, 100])
def test_priority_out_of_range(make: Callable[..., libev.watcher], bad: int) -> None:
    with pytest.raises(ValueError):
        make(priority=bad)
    w = make()
    with pytest.raises(ValueError):
        w.priority = bad
    assert w.priority == 0


def test_started_watcher_kept_alive_by_loop(
    make: Callable[..., libev.watcher], loop: libev.loop
) -> None:
    w = make()
    w.start(_noop)
    ref = weakref.ref(w)
    del w
    gc.collect()
    again = ref()
    assert again is not None
    assert again.active
    again.stop()
    # the fixture still lists it; drop that reference too
    again.close()
    del again
    assert all(x is not ref() or not x.active for x in loop._keepaliveset)


def test_repr_names_the_type(make: Callable[..., libev.watcher]) -> None:
    w = make()
    assert make.kind.rstrip("_") in repr(w)  # type: ignore[attr-defined]
    w.start(_noop)
    assert "active" in repr(w)


def test_unstarted_watcher_is_collected(loop: libev.loop) -> None:
    for factory in (lambda: loop.timer(1), lambda: loop.idle(), lambda: loop.async_()):
        w = factory()
        ref = weakref.ref(w)
        del w
        gc.collect()
        assert ref() is None


def test_stopped_watcher_without_references_is_collected(loop: libev.loop) -> None:
    w = loop.timer(30, 30)
    w.start(_noop)
    ref = weakref.ref(w)
    del w
    gc.collect()
    assert ref() is not None
    ref().stop()  # type: ignore[union-attr]
    gc.collect()
    assert ref() is None


def test_watcher_of_other_loop_is_independent(loop: libev.loop) -> None:
    other = libev.loop(default=False)
    try:
        t = other.timer(0)
        seen: list[int] = []
        t.start(seen.append, 1)
        loop.run()
        assert seen == []
        other.run()
        assert seen == [1]
        t.close()
    finally:
        other.destroy()


def test_io_watcher_whose_fd_was_closed_gets_an_error_event(
    guarded_run: Callable[..., bool],
) -> None:
    # With the select backend libev notices the closed fd, stops the watcher
    # and calls it with EV_ERROR; the loop survives and forgets the watcher.
    # (epoll and poll builds of Debian's libev assert on this instead.)
    lp = libev.loop("select", default=False)
    try:
        a, b = socket.socketpair()
        seen: list[int] = []
        w = lp.io(a.fileno(), libev.READ)
        w.start(seen.append, libev.EVENTS)
        lp.run(nowait=True)
        a.close()
        b.close()
        lp.run(nowait=True)
        assert len(seen) == 1
        assert seen[0] & libev.ERROR
        assert not w.active
        assert w not in lp._keepaliveset
        assert lp.activecnt == 0
        assert guarded_run(lp, 5)
        w.close()
    finally:
        lp.destroy()
