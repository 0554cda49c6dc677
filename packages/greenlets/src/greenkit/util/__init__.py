"""Low-level utilities: run-time introspection and debugging aids.

* :func:`format_run_info` / :func:`print_run_info`: every thread's stack and
  every greenlet (as :class:`GreenletTree` s), for humans;
* :class:`GreenletTree`: the greenlets of a thread arranged by which one
  spawned which;
* :class:`assert_switches`: a context manager failing when its body does
  not let other greenlets run;
* :class:`wrap_errors`: make a function return chosen exceptions instead of
  raising them.

The text these produce is meant to be read, not parsed: its exact layout
is not guaranteed.
"""

from __future__ import annotations

import gc
import pprint
import sys
import threading
import traceback
from collections.abc import Callable
from time import perf_counter
from types import FrameType, TracebackType
from typing import IO, TYPE_CHECKING, Any

from greenlet import getcurrent, gettrace, settrace
from greenlet import greenlet as RawGreenlet

from greenkit._hub_local import get_hub_if_exists
from greenkit._originals import get_original
from greenkit.local import all_local_dicts_for_greenlet

if TYPE_CHECKING:
    from greenkit.hub import Hub

__all__ = [
    "format_run_info",
    "print_run_info",
    "GreenletTree",
    "wrap_errors",
    "assert_switches",
    "clear_stack_frames",
]

_BANNER = "*" * 80
#: The native thread ident (``threading.get_ident`` names greenlets once patched).
_native_get_ident: Callable[[], int] = get_original("_thread", "get_ident")
_VALUE_WIDTH = 30


# -- wrap_errors -------------------------------------------------------------------


class wrap_errors:
    """``wrap_errors(errors, func)``: a callable that calls ``func`` and
    returns, instead of raising, any exception that is an instance of
    ``errors`` (an exception class or a tuple of them).

    Handy for greenlets whose "expected" errors should be a result rather
    than a failure the hub reports.  ``str()``, ``repr()`` and other
    attributes are those of ``func``.
    """

    def __init__(
        self,
        errors: type[BaseException] | tuple[type[BaseException], ...],
        func: Callable[..., Any],
    ) -> None:
        self.__errors = errors
        self.__func = func

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.__func(*args, **kwargs)
        except self.__errors as ex:
            return ex

    def __str__(self) -> str:
        return str(self.__func)

    def __repr__(self) -> str:
        return repr(self.__func)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__func, name)


# -- stacks ------------------------------------------------------------------------


def _stack_lines(frame: Any, limit: int | None) -> list[str]:
    lines: list[str] = []
    for chunk in traceback.format_stack(frame, limit):
        lines.extend(chunk.rstrip("\n").split("\n"))
    return lines


def clear_stack_frames(frame: FrameType | None) -> None:
    """Drop the local variables of ``frame`` and its callers, where possible
    (frames that are still executing cannot be cleared and are skipped)."""
    while frame is not None:
        try:
            frame.clear()
        except RuntimeError:
            pass
        frame = frame.f_back


def _safe_repr(obj: Any) -> str:
    # Run info is often printed when things are already going wrong: a
    # broken __repr__ must not hide everything else.
    try:
        return repr(obj)
    except Exception as ex:  # noqa: BLE001
        return f"<{type(obj).__name__} at {id(obj):#x} (repr failed: {ex!r})>"


def _safe_pformat(obj: Any) -> list[str]:
    try:
        return pprint.pformat(obj).splitlines()
    except Exception as ex:  # noqa: BLE001
        return [f"<unprintable {type(obj).__name__}: {ex!r}>"]


# -- GreenletTree -------------------------------------------------------------------


def _all_greenlets() -> list[Any]:
    return [obj for obj in gc.get_objects() if isinstance(obj, RawGreenlet)]


def _is_ignored(greenlet: Any) -> bool:
    return bool(getattr(greenlet, "greenlet_tree_is_ignored", False))


def _spawner(greenlet: Any) -> Any:
    ref = getattr(greenlet, "spawning_greenlet", None)
    if callable(ref):
        try:
            return ref()
        except TypeError:
            return None
    return None


def _tree_parent(greenlet: Any) -> Any:
    """The greenlet under which ``greenlet`` appears in a tree: the one that
    spawned it if known and alive, else its ``parent``; greenlets marked
    ``greenlet_tree_is_ignored`` are skipped, and one marked
    ``greenlet_tree_is_root`` has none."""
    seen = {id(greenlet)}
    while True:
        if getattr(greenlet, "greenlet_tree_is_root", False):
            return None
        candidate = _spawner(greenlet)
        if candidate is None:
            candidate = greenlet.parent
        if candidate is None or id(candidate) in seen:
            return None
        if not _is_ignored(candidate):
            return candidate
        seen.add(id(candidate))
        greenlet = candidate


def _root_of(greenlet: Any) -> Any:
    seen = set()
    while id(greenlet) not in seen:
        seen.add(id(greenlet))
        parent = _tree_parent(greenlet)
        if parent is None:
            return greenlet
        greenlet = parent
    return greenlet


def _sort_key(tree: GreenletTree) -> tuple[int, float]:
    # Plain greenlets (the hub) first, then Greenlets by minimal_ident if
    # they have one (reading it would allocate one and change their repr).
    if not hasattr(tree.greenlet, "rawlink"):
        return (0, 0)
    ident = getattr(tree.greenlet, "_ident", None)
    return (1, ident if isinstance(ident, int) else float("inf"))


_DETAIL_KEYS = (
    "running_stacks",
    "running_stack_limit",
    "spawning_stacks",
    "spawn_tree_locals",
    "locals",
)


def _detail_options(details: Any) -> dict[str, Any] | None:
    if not details:
        return None
    options: dict[str, Any] = dict.fromkeys(_DETAIL_KEYS, True)
    options["running_stack_limit"] = None
    if isinstance(details, dict):
        options.update(details)
    return options


class GreenletTree:
    """A greenlet and the trees of the greenlets it spawned.

    In greenkit a greenlet's ``parent`` is usually the hub, so the tree
    follows ``spawning_greenlet`` (recorded while
    ``config.track_greenlet_tree`` is true) where it is known, and
    ``parent`` otherwise.  A greenlet with a true ``greenlet_tree_is_root``
    attribute starts a tree of its own; one with a true
    ``greenlet_tree_is_ignored`` is left out (its children move up).

    ``str()`` draws the hierarchy; ``format()`` adds details.  Use
    :meth:`forest` for the trees of all threads and :meth:`current_tree`
    for the calling thread's.
    """

    #: The greenlet this tree represents.
    greenlet: Any = None
    #: Is this tree the root for the current thread?
    is_current_tree = False
    #: Is this tree a root (not the child of another)?
    root = False

    def __init__(self, greenlet: Any) -> None:
        self.greenlet = greenlet
        self.child_trees: list[GreenletTree] = []

    def add_child(self, tree: GreenletTree) -> None:
        """Make ``tree`` a child of this one (it is no longer a root)."""
        tree.root = False
        self.child_trees.append(tree)

    # -- building -----------------------------------------------------------

    @classmethod
    def _build(cls) -> tuple[list[GreenletTree], Any]:
        current_root = _root_of(getcurrent())
        nodes: dict[int, GreenletTree] = {}
        greenlets = [g for g in _all_greenlets() if not _is_ignored(g)]
        for greenlet in greenlets:
            nodes[id(greenlet)] = cls(greenlet)
        roots: list[GreenletTree] = []
        for greenlet in greenlets:
            tree = nodes[id(greenlet)]
            parent = _tree_parent(greenlet)
            parent_tree = nodes.get(id(parent)) if parent is not None else None
            if parent_tree is None:
                tree.root = True
                roots.append(tree)
            else:
                parent_tree.add_child(tree)
        for tree in nodes.values():
            tree.child_trees.sort(key=_sort_key)
        for tree in roots:
            if tree.greenlet is current_root:
                tree.is_current_tree = True
        return roots, current_root

    @classmethod
    def forest(cls) -> list[GreenletTree]:
        """The root trees: one per native thread using greenlets (plus any
        greenlet marked as a root), the calling thread's first."""
        roots, _ = cls._build()
        roots.sort(key=lambda tree: not tree.is_current_tree)
        return roots

    @classmethod
    def current_tree(cls) -> GreenletTree:
        """The tree holding the calling greenlet (from its root)."""
        roots, current_root = cls._build()
        for tree in roots:
            if tree.greenlet is current_root:
                return tree
        tree = cls(current_root)
        tree.root = tree.is_current_tree = True
        return tree

    # -- formatting ---------------------------------------------------------

    def _label(self) -> str:
        greenlet = self.greenlet
        text = _safe_repr(greenlet)
        ready = getattr(greenlet, "ready", None)
        if callable(ready) and hasattr(greenlet, "successful"):
            if ready():
                if greenlet.successful():
                    value = _safe_repr(getattr(greenlet, "value", None))[:_VALUE_WIDTH]
                    return f"{text}; finished with value {value}"
                return f"{text}; finished with exception {_safe_repr(greenlet.exception)}"
        if not greenlet:
            return f"{text}; not running"
        return text

    def _details(self, options: dict[str, Any]) -> list[str]:
        greenlet = self.greenlet
        lines = [f"Parent: {_safe_repr(greenlet.parent)}"]
        frame = getattr(greenlet, "gr_frame", None)
        if options.get("running_stacks") and frame is not None:
            lines.append("Running:")
            lines.extend(_stack_lines(frame, options.get("running_stack_limit")))
        spawning_stack = getattr(greenlet, "spawning_stack", None)
        if options.get("spawning_stacks") and spawning_stack is not None:
            lines.append("Spawned at:")
            lines.extend(_stack_lines(spawning_stack, None))
        if options.get("spawn_tree_locals"):
            tree_locals = self._own_tree_locals()
            if tree_locals:
                lines.append("Spawn Tree Locals")
                lines.extend(_safe_pformat(tree_locals))
        if options.get("locals"):
            found = [
                (key, values) for key, values in all_local_dicts_for_greenlet(greenlet) if values
            ]
            if found:
                lines.append("Greenlet Locals:")
                for (kind, ident), values in found:
                    lines.append(f"  Local {kind!r} at {ident:#x}")
                    lines.extend("    " + line for line in _safe_pformat(values))
        return lines

    def _own_tree_locals(self) -> Any:
        """The greenlet's spawn tree locals, unless they are the ones of the
        greenlet that spawned it (printed there)."""
        greenlet = self.greenlet
        raw = getattr(greenlet, "_tree_locals", None)
        if raw is None or not isinstance(raw, dict):
            raw = (
                greenlet.__dict__.get("spawn_tree_locals")
                if hasattr(greenlet, "__dict__")
                else None
            )
        if not raw:
            return None
        spawner = _spawner(greenlet)
        if spawner is not None:
            theirs = getattr(spawner, "_tree_locals", None)
            if not isinstance(theirs, dict) and hasattr(spawner, "__dict__"):
                theirs = spawner.__dict__.get("spawn_tree_locals")
            if theirs is raw:
                return None
        return raw

    def _render(self, lines: list[str], options: dict[str, Any] | None, trail: list[bool]) -> None:
        depth = len(trail)
        label = self._label()
        if depth == 0:
            lines.append(label)
        else:
            bars = "".join(("|" if more else " ") + "    " for more in trail[:-1])
            lines.append(f" {bars}+--- {label}")
        if options is not None:
            width = 6 * (depth + 1)
            if depth == 0:
                prefix = " :" + " " * (width - 2)
            else:
                columns = [" "] * width
                for level, more in enumerate(trail, start=1):
                    if more:
                        columns[5 * level - 4] = ":"
                prefix = "".join(columns)
            lines.extend(prefix + line for line in self._details(options))
        children = self.child_trees
        for index, child in enumerate(children):
            child._render(lines, options, [*trail, index < len(children) - 1])

    def format_lines(self, details: bool | dict[str, Any] = True) -> list[str]:
        """The lines drawing this tree.

        ``details`` true adds, for each greenlet, its parent, its running
        stack, the stack that spawned it, its spawn tree locals and its
        non-empty greenlet-local values; a dict turns some of these off
        (keys ``running_stacks``, ``spawning_stacks``, ``spawn_tree_locals``,
        ``locals``; ``running_stack_limit`` limits the frames shown)."""
        lines: list[str] = []
        self._render(lines, _detail_options(details), [])
        return lines

    def format(self, details: bool | dict[str, Any] = True) -> str:
        """``format_lines(details)`` joined into one string."""
        return "\n".join(self.format_lines(details))

    def __str__(self) -> str:
        return self.format(False)


# -- run info ---------------------------------------------------------------------


def _format_threads(
    lines: list[str], thread_stacks: bool, limit: int | None, current_thread_ident: int | None
) -> None:
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    if current_thread_ident is None:
        current_thread_ident = _native_get_ident()
    lines.append(_BANNER)
    lines.append("* Threads")
    for ident, frame in sys._current_frames().items():
        lines.append(_BANNER)
        marker = " (current)" if ident == current_thread_ident else ""
        name = names.get(ident)
        named = f" {name}" if name else ""
        lines.append(f"Thread {ident:#x}{named}{marker}")
        if thread_stacks:
            lines.extend(_stack_lines(frame, limit))
        else:
            lines.append("\t...stack elided...")
        hub = get_hub_if_exists() if ident == _native_get_ident() else None
        if hub is not None:
            lines.append(f"\t Has hub {_safe_repr(hub)}")


def _format_greenlets(lines: list[str], greenlet_stacks: bool, limit: int | None) -> None:
    lines.append(_BANNER)
    lines.append("* Greenlets")
    lines.append(_BANNER)
    options = {"running_stacks": greenlet_stacks, "running_stack_limit": limit}
    for index, tree in enumerate(GreenletTree.forest()):
        if index:
            lines.append("---- Thread boundary")
        lines.extend(tree.format_lines(details=options))


def format_run_info(
    thread_stacks: bool = True,
    greenlet_stacks: bool = True,
    limit: int | None = None,
    current_thread_ident: int | None = None,
) -> list[str]:
    """Describe the process's threads and greenlets; returns a list of lines.

    ``thread_stacks``/``greenlet_stacks`` false leave out the stacks of
    running threads/greenlets (spawning stacks are always shown); ``limit``
    bounds the frames of each stack (``traceback.format_stack``);
    ``current_thread_ident`` names the thread to mark as current (default:
    the calling one)."""
    lines: list[str] = []
    _format_threads(lines, thread_stacks, limit, current_thread_ident)
    _format_greenlets(lines, greenlet_stacks, limit)
    return lines


def print_run_info(
    thread_stacks: bool = True,
    greenlet_stacks: bool = True,
    limit: int | None = None,
    file: IO[str] | None = None,
) -> None:
    """Write ``format_run_info()`` to ``file`` (default ``sys.stderr``)."""
    lines = format_run_info(thread_stacks, greenlet_stacks, limit)
    stream = sys.stderr if file is None else file
    for line in lines:
        print(line, file=stream)


# -- assert_switches -----------------------------------------------------------------


class _FailedToSwitch(AssertionError):
    """Raised by :class:`assert_switches` when its body did not switch."""


class _SwitchTracer:
    """A ``greenlet.settrace`` function counting switches; it chains to the
    trace function installed before it (so tracers nest)."""

    def __init__(self) -> None:
        self.active_greenlet: Any = getcurrent()
        self.greenlet_switch_counter = 0
        self.started_at = self.last_switch_at = perf_counter()
        self.longest = 0.0
        self._installed = True
        self.previous_trace_function: Callable[[str, Any], Any] | None = settrace(self)

    def __call__(self, event: str, args: Any) -> None:
        self.greenlet_switch_counter += 1
        if event in ("switch", "throw"):
            target = args[1]
            self.active_greenlet = target
            self._switched(target)
        previous = self.previous_trace_function
        if previous is not None:
            previous(event, args)

    def _switched(self, target: Any) -> None:
        pass

    def _note_gap(self, now: float) -> None:
        gap = now - self.last_switch_at
        if gap > self.longest:
            self.longest = gap
        self.last_switch_at = now

    def kill(self) -> None:
        """Stop tracing and put back the previous trace function."""
        if self._installed:
            self._installed = False
            if gettrace() is self:
                settrace(self.previous_trace_function)

    def failure(self) -> str | None:
        """Why the body failed, or None."""
        if self.greenlet_switch_counter:
            return None
        elapsed = perf_counter() - self.started_at
        return f"To any greenlet in {elapsed:.4f} seconds"


class _MaxSwitchTracer(_SwitchTracer):
    """Fails when more than ``max_blocking_time`` passed between switches."""

    def __init__(self, max_blocking_time: float) -> None:
        self.max_blocking_time = max_blocking_time
        super().__init__()

    def _switched(self, target: Any) -> None:
        self._note_gap(perf_counter())

    def failure(self) -> str | None:
        self._note_gap(perf_counter())
        if self.longest <= self.max_blocking_time:
            return None
        return (
            f"To any greenlet in {self.longest:.4f} seconds "
            f"(max allowed {self.max_blocking_time:.4f} seconds)"
        )


class _HubSwitchTracer(_SwitchTracer):
    """Fails unless the hub was switched into, at most ``max_blocking_time``
    apart."""

    def __init__(self, hub: Hub, max_blocking_time: float) -> None:
        self.hub = hub
        self.max_blocking_time = max_blocking_time
        self.entered_hub = False
        super().__init__()

    def _switched(self, target: Any) -> None:
        if target is self.hub:
            self.entered_hub = True
            self._note_gap(perf_counter())

    def failure(self) -> str | None:
        self._note_gap(perf_counter())
        if self.entered_hub and self.longest <= self.max_blocking_time:
            return None
        return (
            f"To the hub in {self.longest:.4f} seconds "
            f"(max allowed {self.max_blocking_time:.4f} seconds)"
        )


class assert_switches:
    """A context manager asserting that its body lets other greenlets run.

    Without ``max_blocking_time`` the body must switch greenlets at least
    once.  With it, the body may run at most that many seconds between two
    switches (with ``hub_only``, between two switches into the hub, and it
    must switch into the hub at least once).  Otherwise, on leaving the
    block an ``AssertionError`` is raised (unless the body raised).  The
    tracer in use is the ``tracer`` attribute while inside::

        with assert_switches():
            sleep(0.1)          # fine: the hub ran
        with assert_switches(max_blocking_time=1.0):
            pass                # fine: nothing switched, but quickly
    """

    tracer: Any = None

    def __init__(self, max_blocking_time: float | None = None, hub_only: bool = False) -> None:
        self.max_blocking_time = max_blocking_time
        self.hub_only = hub_only

    def __enter__(self) -> assert_switches:
        if self.max_blocking_time is None:
            self.tracer = _SwitchTracer()
        elif self.hub_only:
            from greenkit.hub import get_hub

            self.tracer = _HubSwitchTracer(get_hub(), self.max_blocking_time)
        else:
            self.tracer = _MaxSwitchTracer(self.max_blocking_time)
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        tracer = self.tracer
        self.tracer = None
        tracer.kill()
        if t is not None:
            return
        reason = tracer.failure()
        if reason is None:
            return
        message = [
            "Failed to switch.",
            reason,
            f"Active greenlet: {tracer.active_greenlet!r}",
        ]
        raise _FailedToSwitch("\n".join(message))
