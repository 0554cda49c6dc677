"""The loop object: creation, default singleton, flags, properties, run/break/ref, destroy."""

from __future__ import annotations

import gc
import os
import signal as signal_module
import threading
import time
from collections.abc import Callable

import pytest

from greenkit.loop import libev


def test_version_helpers() -> None:
    version = libev.get_version()
    assert isinstance(version, str)
    assert version.startswith("libev-4.")
    assert libev.get_header_version() == version


def test_backend_helpers() -> None:
    supported = libev.supported_backends()
    recommended = libev.recommended_backends()
    assert "select" in supported
    assert "poll" in supported
    assert set(recommended) <= set(supported)
    assert all(name in libev.BACKENDS for name in supported + libev.embeddable_backends())


def test_module_time_is_wall_clock() -> None:
    assert abs(libev.time() - time.time()) < 5.0


def test_constants() -> None:
    assert libev.READ == 1
    assert libev.WRITE == 2
    assert libev.MINPRI == -2
    assert libev.MAXPRI == 2
    assert repr(libev.EVENTS) == "greenkit.loop.libev.EVENTS"


# -- default loop vs new loops -------------------------------------------------


def test_non_default_loops_are_distinct(loop: libev.loop) -> None:
    other = libev.loop(default=False)
    try:
        assert other is not loop
        assert not other.default
        assert other.ptr != loop.ptr
    finally:
        other.destroy()


def test_default_loop_is_a_singleton(default_loop: libev.loop) -> None:
    assert libev.loop(default=True) is default_loop
    # In the main thread, no argument means the default loop.
    assert libev.loop() is default_loop
    assert default_loop.default
    new = libev.loop(default=False)
    try:
        assert new is not default_loop
        assert not new.default
    finally:
        new.destroy()


def test_default_loop_can_be_recreated_after_destroy(guarded_run: Callable[..., bool]) -> None:
    first = libev.loop(default=True)
    first.destroy()
    assert first.ptr is None
    second = libev.loop(default=True)
    try:
        assert second is not first
        assert second.default
        assert second.ptr is not None
        assert guarded_run(second, 5)  # usable, and run() returns when idle
    finally:
        second.destroy()


def test_default_loop_recreated_repeatedly_stays_sound(guarded_run: Callable[..., bool]) -> None:
    # libev's default loop lives in one static C struct that is reused on
    # re-creation: whatever destroy() leaves behind (reference counts, the
    # wake-up pipe) shows up in the next incarnation.
    for _ in range(4):
        lp = libev.loop(default=True)
        try:
            assert guarded_run(lp, 5), "run() with nothing active did not return"
            # A threadsafe callback from another thread still wakes it.
            keep_alive = lp.timer(20)
            outcome: list[str] = []

            def woke(keep_alive: libev.timer = keep_alive, outcome: list[str] = outcome) -> None:
                outcome.append("woke")
                keep_alive.stop()

            keep_alive.start(outcome.append, "timeout")
            th = threading.Thread(
                target=lambda lp=lp, woke=woke: (time.sleep(0.05), lp.run_callback_threadsafe(woke))
            )
            th.start()
            lp.run()
            th.join(30)
            keep_alive.close()
            assert outcome == ["woke"]
            # Leave things behind for destroy() to clean up.
            lp.run_callback(lambda: None)
            a = lp.async_()
            a.start(lambda: None)
            a.send()
            unref = lp.timer(30, ref=False)
            unref.start(lambda: None)
        finally:
            lp.destroy()


def test_destroyed_default_loop_no_longer_claims_to_be_default() -> None:
    # gevent: "It no longer claims to be the default" once destroyed.
    lp = libev.loop(default=True)
    lp.destroy()
    assert not lp.default


def test_loop_in_other_thread_is_not_default() -> None:
    result: dict[str, object] = {}

    def body() -> None:
        lp = libev.loop()
        try:
            result["default"] = lp.default
            fired: list[int] = []
            t = lp.timer(0.001)
            t.start(fired.append, 1)
            lp.run()
            result["fired"] = fired
        finally:
            lp.destroy()

    th = threading.Thread(target=body)
    th.start()
    th.join(30)
    assert not th.is_alive()
    assert result == {"default": False, "fired": [1]}


# -- flags -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["select", "poll", "epoll"])
def test_backend_by_name(name: str) -> None:
    if name not in libev.supported_backends():
        pytest.skip(f"{name} not supported here")
    lp = libev.loop(name, default=False)
    try:
        assert lp.backend == name
        assert lp.backend_int == libev.BACKENDS[name]
        assert lp.origflags == name
        assert lp.origflags_int == libev.BACKENDS[name]
    finally:
        lp.destroy()


@pytest.mark.parametrize("flags", [1, 2, ["select"], ["SELECT"], "Poll", " select ", ("poll",)])
def test_backend_by_int_list_or_mixed_case(flags: object) -> None:
    lp = libev.loop(flags, default=False)  # type: ignore[arg-type]
    try:
        expected = {1: "select", 2: "poll"}
        if isinstance(flags, int):
            assert lp.backend_int == flags
            assert lp.backend == expected[flags]
        else:
            assert lp.backend in ("select", "poll")
            assert lp.backend_int == libev.BACKENDS[lp.backend]
    finally:
        lp.destroy()


def test_backend_and_flag_names_combined() -> None:
    lp = libev.loop("select,nosigmask", default=False)
    try:
        assert lp.backend == "select"
        assert lp.origflags_int == libev.BACKENDS["select"] | libev.FLAGS["nosigmask"]
        assert set(lp.origflags.split(",")) == {"select", "nosigmask"}
    finally:
        lp.destroy()
    lp = libev.loop(["poll", "noenv"], default=False)
    try:
        assert lp.backend == "poll"
        assert lp.origflags_int == libev.BACKENDS["poll"] | libev.FLAGS["noenv"]
    finally:
        lp.destroy()


def test_no_flags_picks_a_recommended_backend(loop: libev.loop) -> None:
    assert loop.backend in libev.recommended_backends()
    assert loop.origflags_int == 0


@pytest.mark.parametrize("flags", ["blabla", "select,blabla", ["poll", "nope"], 1 << 30, -1])
def test_bad_flags_are_value_errors(flags: object) -> None:
    with pytest.raises(ValueError):
        libev.loop(flags, default=False)  # type: ignore[arg-type]


@pytest.mark.parametrize("flags", [object(), 1.5, True])
def test_flags_of_wrong_type_are_type_errors(flags: object) -> None:
    with pytest.raises(TypeError):
        libev.loop(flags, default=False)  # type: ignore[arg-type]


def test_libev_flags_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIBEV_FLAGS", str(libev.BACKENDS["select"]))
    lp = libev.loop(default=False)
    try:
        assert lp.backend == "select"
    finally:
        lp.destroy()
    # 'noenv' makes libev ignore the variable.
    lp = libev.loop(["noenv", "poll"], default=False)
    try:
        assert lp.backend == "poll"
    finally:
        lp.destroy()


# -- properties ------------------------------------------------------------------


def test_iteration_counts_polls(loop: libev.loop) -> None:
    start = loop.iteration
    loop.run(nowait=True)
    loop.run(nowait=True)
    assert loop.iteration == start + 2


def test_depth_inside_and_outside_run(loop: libev.loop) -> None:
    seen: list[int] = []
    assert loop.depth == 0

    def outer() -> None:
        seen.append(loop.depth)
        inner = loop.timer(0)
        inner.start(lambda: seen.append(loop.depth))
        loop.run()  # nested run
        inner.close()

    t = loop.timer(0)
    t.start(outer)
    loop.run()
    t.close()
    assert seen == [1, 2]
    assert loop.depth == 0


def test_pendingcnt_and_activecnt(loop: libev.loop) -> None:
    assert loop.pendingcnt == 0
    assert loop.activecnt == 0
    t = loop.timer(60)
    t.start(lambda: None)
    assert loop.activecnt == 1
    unref = loop.timer(60, ref=False)
    unref.start(lambda: None)
    assert loop.activecnt == 1  # unreferenced watchers do not keep run() alive
    idle = loop.idle()
    idle.feed(libev.READ, lambda: None)
    assert loop.pendingcnt == 1
    loop.run(nowait=True)
    assert loop.pendingcnt == 0
    t.close()
    unref.close()
    idle.close()
    assert loop.activecnt == 0


def test_now_and_update_now(loop: libev.loop) -> None:
    first = loop.now()
    assert isinstance(first, float)
    assert abs(first - time.time()) < 5.0
    time.sleep(0.05)
    assert loop.now() == first  # cached until updated
    loop.update_now()
    assert loop.now() >= first + 0.04
    loop.update()  # old alias
    assert loop.now() >= first + 0.04


def test_run_returns_when_nothing_is_active(loop: libev.loop) -> None:
    loop.run()
    loop.run()  # repeating does not fail
    loop.run(once=True)
    loop.run(nowait=True)


def test_break_stops_a_repeating_timer_loop(loop: libev.loop) -> None:
    count: list[int] = []

    def tick() -> None:
        count.append(1)
        if len(count) == 3:
            loop.break_()

    t = loop.timer(0.001, 0.001)
    t.start(tick)
    loop.run()  # would run forever without break_
    assert len(count) == 3
    assert t.active
    t.close()


def test_unref_lets_run_return_with_an_active_watcher(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    fired: list[int] = []
    t = loop.timer(30)
    t.start(fired.append, 1)
    loop.unref()
    try:
        assert guarded_run(loop, 20)
    finally:
        loop.ref()
    assert fired == []
    assert t.active
    t.close()
    assert loop.activecnt == 0


def test_ref_keeps_run_alive_until_the_guard(
    loop: libev.loop, guarded_run: Callable[..., bool]
) -> None:
    loop.ref()
    try:
        assert not guarded_run(loop, 0.05)
    finally:
        loop.unref()
    assert guarded_run(loop, 20)


def test_verify(loop: libev.loop) -> None:
    # ev_verify aborts the process on an inconsistent loop; a sound one
    # returns, with the watchers as they were.
    t = loop.timer(10)
    t.start(lambda: None)
    assert loop.verify() is None
    assert t.active
    t.close()
    assert loop.verify() is None
    assert t.closed


def test_closing_fd(loop: libev.loop, sockpair: tuple) -> None:
    a, _b = sockpair
    fd = a.fileno()
    assert loop.closing_fd(fd) is False  # nothing watches it
    seen: list[int] = []
    w = loop.io(fd, libev.READ)
    w.start(seen.append, libev.EVENTS)
    assert loop.closing_fd(fd) is True
    assert w.pending
    loop.run(nowait=True)
    assert seen and seen[0] & libev.READ
    w.close()
    assert loop.closing_fd(fd) is False
    assert loop.closing_fd(-1) is False
    assert loop.closing_fd(100000) is False


def test_sig_pending_attribute(loop: libev.loop) -> None:
    # Listed among the loop's attributes in the issue (gevent's loop has it).
    assert not loop.sig_pending
    w = loop.signal(signal_module.SIGUSR2)
    seen: list[int] = []
    w.start(seen.append, 1)
    w.feed(libev.READ, seen.append, 2)
    assert loop.sig_pending
    loop.run(nowait=True)
    assert seen == [2]
    assert not loop.sig_pending
    w.close()


def test_approx_timer_resolution(loop: libev.loop) -> None:
    assert 0 < loop.approx_timer_resolution < 0.1


def test_error_handler_defaults_to_none(loop: libev.loop) -> None:
    assert loop.error_handler is None


def test_repr(loop: libev.loop) -> None:
    assert "loop" in repr(loop)
    assert loop.backend in repr(loop)
    loop.destroy()
    assert "destroyed" in repr(loop)


def test_callback_count_and_activecnt(loop: libev.loop) -> None:
    loop.run_callback(lambda: None)
    loop.run_callback(lambda: None)
    assert loop.callback_count == 2
    assert loop.activecnt >= 1  # waiting callbacks keep run() alive
    loop.run()
    assert loop.callback_count == 0
    assert loop.activecnt == 0


# -- destroy -------------------------------------------------------------------


def test_destroy_is_idempotent() -> None:
    lp = libev.loop(default=False)
    lp.destroy()
    lp.destroy()
    assert lp.ptr is None


def test_destroy_stops_active_watchers() -> None:
    lp = libev.loop(default=False)
    t = lp.timer(10)
    t.start(lambda: None)
    i = lp.idle()
    i.start(lambda: None)
    lp.destroy()
    assert not t.active
    assert not i.active
    assert len(lp._keepaliveset) == 0
    # Watchers of a destroyed loop can still be stopped and closed.
    t.stop()
    t.close()
    i.close()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_loop_fds_are_released_on_destroy(tmp_path: object) -> None:
    import socket

    gc.collect()
    before = _open_fds()
    for _ in range(5):
        lp = libev.loop(default=False)
        a, b = socket.socketpair()
        w = lp.io(a.fileno(), libev.READ)
        w.start(lambda: None)
        t = lp.timer(10)
        t.start(lambda: None)
        asy = lp.async_()
        asy.start(lambda: None)
        asy.send()
        st = lp.stat(str(tmp_path))
        st.start(lambda: None)
        sig = lp.signal(signal_module.SIGUSR2)
        sig.start(lambda: None)
        lp.run_callback_threadsafe(lambda: None)
        lp.run(nowait=True)
        lp.destroy()
        a.close()
        b.close()
        del w, t, asy, st, sig
    gc.collect()
    assert _open_fds() == before
