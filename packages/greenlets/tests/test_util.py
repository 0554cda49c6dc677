"""greenkit.util: run info, GreenletTree, assert_switches, wrap_errors."""

from __future__ import annotations

import gc
import inspect
import io
import re
import sys
import threading
import time
from typing import Any

import pytest
from greenlet import getcurrent, gettrace
from greenlet import greenlet as RawGreenlet

import greenkit.util as util
from greenkit import config
from greenkit.greenlet import Greenlet
from greenkit.hub import get_hub, sleep
from greenkit.local import local


class MyLocal(local):
    def __init__(self, foo: Any) -> None:
        self.foo = foo


class Expected(Exception):
    pass


def normalize(text: str) -> str:
    return re.sub(r"0x[0-9a-f]+", "X", text)


@pytest.fixture
def tracking() -> Any:
    old = config.track_greenlet_tree
    config.track_greenlet_tree = True
    try:
        yield
    finally:
        config.track_greenlet_tree = old


def test_public_names() -> None:
    assert set(util.__all__) >= {
        "format_run_info",
        "print_run_info",
        "GreenletTree",
        "wrap_errors",
        "assert_switches",
    }
    for name in util.__all__:
        assert hasattr(util, name)
    assert issubclass(util._FailedToSwitch, AssertionError)


# -- wrap_errors ------------------------------------------------------------------------


def test_wrap_errors_returns_chosen_errors() -> None:
    def func(x: int) -> float:
        """doc"""
        return 1 / x

    wrapped = util.wrap_errors(ZeroDivisionError, func)
    assert wrapped(2) == 0.5
    result = wrapped(0)
    assert isinstance(result, ZeroDivisionError)
    assert str(wrapped) == str(func) and repr(wrapped) == repr(func)
    assert wrapped.__name__ == "func"  # other attributes come from func
    multi = util.wrap_errors((KeyError, ValueError), {}.__getitem__)
    assert isinstance(multi("missing"), KeyError)
    with pytest.raises(TypeError):
        util.wrap_errors(KeyError, func)("text")


def test_wrap_errors_in_a_greenlet(error_stream: io.StringIO) -> None:
    glet = Greenlet.spawn(util.wrap_errors(Expected, lambda: (_ for _ in ()).throw(Expected())))
    assert isinstance(glet.get(timeout=5), Expected)
    assert glet.successful()
    assert error_stream.getvalue() == ""


# -- format_run_info / print_run_info ---------------------------------------------------


def test_format_run_info_lists_threads_and_greenlets() -> None:
    lines = util.format_run_info()
    assert all(isinstance(line, str) for line in lines)
    text = "\n".join(lines)
    assert "Threads" in text and "Greenlets" in text
    assert f"{threading.get_ident():#x}" in text
    assert "MainThread" in text
    assert __file__ in text  # this test's frame is on the thread's stack


def test_format_run_info_stack_options() -> None:
    long = "\n".join(util.format_run_info())
    short = "\n".join(util.format_run_info(thread_stacks=False, greenlet_stacks=False))
    assert "stack elided" in short
    assert len(short) < len(long)
    limited = util.format_run_info(limit=1)
    assert len(limited) < len(util.format_run_info())
    marked = "\n".join(util.format_run_info(current_thread_ident=12345))
    assert "(current)" not in marked


def test_format_run_info_other_threads() -> None:
    started = threading.Event()
    stop = threading.Event()

    def worker() -> None:
        started.set()
        stop.wait(5)

    thread = threading.Thread(target=worker, name="util-test-worker")
    thread.start()
    try:
        started.wait(5)
        text = "\n".join(util.format_run_info())
        assert "util-test-worker" in text
        assert "stop.wait(5)" in text
    finally:
        stop.set()
        thread.join()


def test_print_run_info_with_greenlet_details(tracking: None) -> None:
    outer = local()
    outer.some_attr = 1

    def root() -> str:
        mine = MyLocal(42)
        empty = local()
        assert mine and empty
        getcurrent().spawn_tree_locals["a value"] = 42
        out = io.StringIO()
        printer = Greenlet.spawn(util.print_run_info, file=out)
        printer.join()
        return out.getvalue()

    glet = Greenlet.spawn(root)
    glet.name = "Printer"
    value = glet.get(timeout=5)
    assert "Spawned at" in value
    assert "Parent:" in value
    assert "Spawn Tree Locals" in value and "'a value': 42" in value
    assert "Greenlet Locals:" in value
    assert "MyLocal" in value and "{'foo': 42}" in value
    assert "{'some_attr': 1}" in value
    assert "Printer" in value
    assert "{}" not in value  # empty locals are not printed


def test_format_run_info_survives_broken_reprs() -> None:
    class Broken(Greenlet):
        def __str__(self) -> str:
            raise RuntimeError("no repr for you")

    glet = Broken(sleep, 1)
    glet.start()
    sleep(0)
    try:
        text = "\n".join(util.format_run_info())
        assert "repr failed" in text and "no repr for you" in text
    finally:
        glet.kill()


def test_print_run_info_defaults_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    util.print_run_info(thread_stacks=False, greenlet_stacks=False)
    assert "* Greenlets" in capsys.readouterr().err


# -- GreenletTree -------------------------------------------------------------------------


def test_current_tree_of_main_greenlet(hub: Any) -> None:
    tree = util.GreenletTree.current_tree()
    assert tree.greenlet is getcurrent()
    assert tree.is_current_tree and tree.root
    children = [child.greenlet for child in tree.child_trees]
    assert hub in children
    forest = util.GreenletTree.forest()
    assert forest[0].is_current_tree and forest[0].greenlet is getcurrent()
    assert all(not other.is_current_tree for other in forest[1:])


def test_tree_follows_spawning_greenlets(tracking: None) -> None:
    hub = get_hub()
    hub.exception_stream = None
    try:

        def leaf() -> None:
            raise Expected()

        def middle() -> Greenlet:
            child = Greenlet.spawn(leaf)
            child.name = "Leaf"
            child.join()
            return child

        def builder() -> Greenlet:
            glet = Greenlet.spawn(middle)
            glet.name = "Middle"
            glet.join()
            getcurrent().spawn_tree_locals["stl"] = "STL"
            return glet

        top = Greenlet.spawn(builder)
        top.name = "Top"
        top.join()
        reader = Greenlet.spawn(util.GreenletTree.current_tree)
        tree = reader.get(timeout=5)
    finally:
        del hub.exception_stream

    def find(node: Any, glet: Any) -> Any:
        if node.greenlet is glet:
            return node
        for child in node.child_trees:
            found = find(child, glet)
            if found is not None:
                return found
        return None

    assert tree.greenlet is getcurrent()
    middle_glet = top.value
    leaf_glet = middle_glet.value
    top_node = find(tree, top)
    assert top_node in tree.child_trees
    assert [c.greenlet for c in top_node.child_trees] == [middle_glet]
    assert [c.greenlet for c in top_node.child_trees[0].child_trees] == [leaf_glet]

    text = normalize(tree.format(details={"running_stacks": False, "spawning_stacks": False}))
    assert '+--- <Greenlet "Top" at X: builder>; finished with value <Greenlet "Midd' in text
    assert ' |    +--- <Greenlet "Middle" at X: middle>; finished with value' in text
    assert '+--- <Greenlet "Leaf" at X: leaf>; finished with exception Expected()' in text
    assert "Spawn Tree Locals\n" in text and "{'stl': 'STL'}" in text
    assert text.count("{'stl': 'STL'}") == 1  # shown where they start only
    assert "Parent: <Hub" in text

    simple = str(tree)
    assert "Parent" not in simple and "Top" in simple
    assert tree.format(False) == simple
    assert tree.format_lines(False) == simple.split("\n")
    full = tree.format()
    assert "Spawned at:" in full and "Running:" in full


def test_tree_layout() -> None:
    root = util.GreenletTree(getcurrent())
    a = util.GreenletTree(RawGreenlet(lambda: None))
    b = util.GreenletTree(RawGreenlet(lambda: None))
    a1 = util.GreenletTree(RawGreenlet(lambda: None))
    root.add_child(a)
    root.add_child(b)
    a.add_child(a1)
    lines = [normalize(line) for line in root.format_lines(details={"locals": False})]
    assert lines == [
        normalize(repr(getcurrent())),
        " :    Parent: None",
        normalize(f" +--- {a.greenlet!r}; not running"),
        normalize(f" :          Parent: {getcurrent()!r}"),
        normalize(f" |    +--- {a1.greenlet!r}; not running"),
        normalize(f" :                Parent: {getcurrent()!r}"),
        normalize(f" +--- {b.greenlet!r}; not running"),
        normalize(f"            Parent: {getcurrent()!r}"),
    ]


def test_tree_roots_and_ignored_greenlets() -> None:
    def inner() -> Any:
        child = RawGreenlet(util.GreenletTree.current_tree)
        child.parent.greenlet_tree_is_ignored = True
        child.greenlet_tree_is_root = True
        return child.switch()

    outer = RawGreenlet(inner)
    tree = outer.switch()
    text = normalize(tree.format(details={"running_stacks": False, "spawning_stacks": False}))
    lines = text.split("\n")
    assert len(lines) == 2
    assert lines[0].endswith("dead>; not running")
    assert lines[1].startswith(" :    Parent: <greenlet.greenlet object at X")
    assert tree.root and not tree.child_trees


def test_forest_without_tracking() -> None:
    old = config.track_greenlet_tree
    config.track_greenlet_tree = False
    try:
        glet = Greenlet.spawn(util.GreenletTree.forest)
        forest = glet.get(timeout=5)
    finally:
        config.track_greenlet_tree = old
    assert forest and forest[0].greenlet is getcurrent()
    # Without spawning information a Greenlet hangs under its parent, the hub.
    hub_node = [c for c in forest[0].child_trees if c.greenlet is get_hub()][0]
    assert glet in [c.greenlet for c in hub_node.child_trees]
    del forest, hub_node
    gc.collect()


# -- assert_switches ------------------------------------------------------------------------


def test_assert_switches_detects_blocking() -> None:
    with pytest.raises(util._FailedToSwitch) as info:
        with util.assert_switches():
            time.sleep(0.001)
    assert "To any greenlet in" in str(info.value)

    with pytest.raises(util._FailedToSwitch) as info:
        with util.assert_switches(0.001):
            time.sleep(0.05)
    assert "(max allowed 0.0010 seconds)" in str(info.value)

    with pytest.raises(util._FailedToSwitch) as info:
        with util.assert_switches(0.001, hub_only=True):
            time.sleep(0)
    message = str(info.value)
    assert "To the hub in" in message and "(max allowed 0.0010 seconds)" in message

    with util.assert_switches(1.0, hub_only=False):
        time.sleep(0)


def test_assert_switches_passes_when_switching() -> None:
    with util.assert_switches():
        sleep(0)
    with util.assert_switches(1.0, hub_only=True):
        sleep(0.001)
    with util.assert_switches(1.0):
        sleep(0.001)


def test_assert_switches_without_a_body() -> None:
    with pytest.raises(util._FailedToSwitch):
        with util.assert_switches():
            pass
    with util.assert_switches(max_blocking_time=1, hub_only=False):
        pass


def test_assert_switches_long_gap_after_switching_fails() -> None:
    with pytest.raises(util._FailedToSwitch):
        with util.assert_switches(0.01, hub_only=True):
            sleep(0)
            time.sleep(0.05)


def test_assert_switches_does_not_hide_errors() -> None:
    with pytest.raises(NameError):
        with util.assert_switches():
            raise NameError()
    assert gettrace() is None


def test_assert_switches_nests() -> None:
    before = gettrace()
    with util.assert_switches() as outer:
        assert gettrace() is outer.tracer
        assert outer.tracer.active_greenlet is not None
        with util.assert_switches() as inner:
            assert gettrace() is inner.tracer
            assert inner.tracer.previous_trace_function is outer.tracer
            marker = object()
            inner.tracer("switch", (marker, marker))
            assert inner.tracer.active_greenlet is marker
            assert outer.tracer.active_greenlet is marker
        assert gettrace() is outer.tracer
    assert gettrace() is before


# -- clear_stack_frames -----------------------------------------------------------------------


def test_clear_stack_frames() -> None:
    completed: list[int] = []

    def run() -> None:
        util.clear_stack_frames(inspect.currentframe())
        completed.append(1)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert completed == [1]

    def gen() -> Any:
        secret = object()
        yield secret

    it = gen()
    next(it)
    frame = it.gi_frame
    util.clear_stack_frames(frame)
    if sys.version_info < (3, 13):
        # Clearing a suspended generator's frame closes it; Python 3.13 refuses
        # (RuntimeError), which clear_stack_frames skips like a running frame.
        assert it.gi_frame is None or not it.gi_frame.f_locals
    util.clear_stack_frames(None)
