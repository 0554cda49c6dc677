"""greenkit.local: greenlet-local objects with threading.local semantics."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator, Mapping
from copy import copy
from typing import Any

import pytest
from greenlet import getcurrent
from greenlet import greenlet as RawGreenlet

import greenkit.local as local_module
from greenkit.greenlet import Greenlet
from greenkit.hub import sleep, spawn_raw
from greenkit.local import all_local_dicts_for_greenlet, local


def in_greenlet(func: Any, *args: Any) -> Any:
    """Run func in a new Greenlet and return its result (or raise)."""
    return Greenlet.spawn(func, *args).get(timeout=5)


def settle() -> None:
    """Let finished greenlets' links run, then collect."""
    sleep(0)
    sleep(0)
    gc.collect()


# -- basics ----------------------------------------------------------------------------


def test_public_names() -> None:
    assert set(local_module.__all__) == {"local", "all_local_dicts_for_greenlet"}
    assert local.__module__ == "greenkit.local"


def test_values_are_per_greenlet() -> None:
    data = local()
    data.number = 42
    assert data.number == 42
    assert data.__dict__ == {"number": 42}

    def other() -> tuple[list[Any], int]:
        seen = sorted(data.__dict__.items())
        data.number = 11
        return seen, data.number

    assert in_greenlet(other) == ([], 11)
    assert data.number == 42


def test_each_greenlet_gets_its_own_dict() -> None:
    data = local()
    dicts = [in_greenlet(lambda: data.__dict__) for _ in range(3)]
    assert len({id(d) for d in dicts}) == 3
    assert data.__dict__ is data.__dict__
    assert data.__dict__ is not dicts[0]


def test_dict_is_updatable_but_not_replaceable() -> None:
    data = local()
    data.__dict__.setdefault("widgets", [])
    assert data.widgets == []
    with pytest.raises(AttributeError):
        data.__dict__ = {}  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del data.__dict__


def test_missing_attribute_and_delete() -> None:
    data = local()
    with pytest.raises(AttributeError):
        data.missing  # noqa: B018
    with pytest.raises(AttributeError):
        del data.missing
    data.x = 1
    del data.x
    assert not hasattr(data, "x")

    def in_other() -> None:
        with pytest.raises(AttributeError):
            del data.thing

    in_greenlet(in_other)


def test_no_constructor_arguments_without_init() -> None:
    with pytest.raises(TypeError, match="Initialization arguments are not supported"):
        local("foo")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="Initialization arguments are not supported"):
        local(kw="foo")  # type: ignore[call-arg]


def test_works_in_raw_greenlets_and_main() -> None:
    data = local()
    data.where = "main"
    raw = RawGreenlet(lambda: (data.__dict__.copy(), setattr(data, "where", "raw"), data.where))
    seen, _, where = raw.switch()
    assert seen == {} and where == "raw"
    assert data.where == "main"

    def hubside() -> None:
        data.where = "spawn_raw"

    spawn_raw(hubside)
    sleep(0)
    assert data.where == "main"


def test_works_in_native_threads() -> None:
    data = local()
    data.value = "main"
    seen: list[Any] = []

    def run() -> None:
        seen.append(getattr(data, "value", None))
        data.value = "thread"
        seen.append(data.value)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [None, "thread"]
    assert data.value == "main"


# -- subclasses ------------------------------------------------------------------------


class Counted(local):
    inits = 0
    kind = "class"

    def __init__(self, start: int, *, step: int = 1) -> None:
        type(self).inits += 1
        self.value = start
        self.step = step

    def bump(self) -> int:
        self.value += self.step
        return self.value  # type: ignore[no-any-return]


def test_subclass_init_runs_again_per_greenlet_with_the_arguments() -> None:
    Counted.inits = 0
    data = Counted(10, step=5)
    assert Counted.inits == 1
    assert data.bump() == 15
    assert in_greenlet(data.bump) == 15
    assert Counted.inits == 2
    assert data.value == 15
    in_greenlet(lambda: data.kind)  # any first use runs __init__
    assert Counted.inits == 3


def test_init_failure_is_retried() -> None:
    attempts: list[int] = []

    class Flaky(local):
        def __init__(self) -> None:
            attempts.append(1)
            if len(attempts) == 2:
                raise RuntimeError("first try in the new greenlet")
            self.ok = True

    data = Flaky()

    def use() -> bool:
        with pytest.raises(RuntimeError):
            data.ok  # noqa: B018
        return bool(data.ok)

    assert in_greenlet(use) is True
    assert len(attempts) == 3


class ReadProperty:
    """A non-data descriptor."""

    def __get__(self, inst: Any, owner: Any) -> Any:
        return 42 if inst is not None else self


class Slotted(local):
    __slots__ = ["initialized", "obj"]

    path = ""
    type_path = "MyPath"
    read_property = ReadProperty()

    def __init__(self, obj: Any) -> None:
        super().__init__()
        if not hasattr(self, "initialized"):
            self.obj = obj
        self.path = ""


def test_slots_are_shared_and_win_over_the_dict() -> None:
    data = Slotted(object())
    data.initialized = 1

    def change() -> None:
        assert data.initialized == 1
        data.initialized = 2

    in_greenlet(change)
    assert data.initialized == 2
    data.__dict__["initialized"] = 42
    assert data.initialized == 2
    del data.initialized
    assert not hasattr(data, "initialized")
    assert "initialized" in data.__dict__


def test_class_attributes_and_descriptors() -> None:
    data = Slotted(object())
    del data.path  # the instance value goes, the class value shows again
    assert data.path == ""
    with pytest.raises(AttributeError):
        del data.path
    assert data.read_property == 42
    data.read_property = 1  # the dict wins over a non-data descriptor
    assert data.read_property == 1
    assert isinstance(Slotted.read_property, ReadProperty)
    assert data.type_path == "MyPath" and "type_path" not in data.__dict__
    data.type_path = "Local"
    assert data.type_path == "Local" and "type_path" in data.__dict__
    assert in_greenlet(lambda: data.type_path) == "MyPath"


class WithProperty(local):
    CLASS_PROP = 42

    def __init__(self) -> None:
        self._hidden = 0

    @property
    def desc(self) -> Any:
        return self

    @property
    def hidden(self) -> int:
        return self._hidden  # type: ignore[no-any-return]

    @hidden.setter
    def hidden(self, value: int) -> None:
        self._hidden = value * 2

    @staticmethod
    def a_staticmethod() -> int:
        return 42

    @classmethod
    def a_classmethod(cls) -> type:
        return cls


class WithPropertySub(WithProperty):
    pass


@pytest.mark.parametrize("kind", [WithProperty, WithPropertySub])
def test_properties_class_attrs_and_methods(kind: type[WithProperty]) -> None:
    data = kind()
    assert data.CLASS_PROP == 42
    data.CLASS_PROP = 1
    assert data.CLASS_PROP == 1 and data.__dict__["CLASS_PROP"] == 1
    del data.CLASS_PROP
    assert data.CLASS_PROP == 42
    assert data.desc is data
    data.hidden = 5
    assert data.hidden == 10 and data.__dict__["_hidden"] == 10
    assert data.a_staticmethod() == 42
    assert data.a_classmethod() is kind
    assert type(data) is kind and data.__class__ is kind
    assert isinstance(data, local)


def test_getattr_is_called_for_missing_names() -> None:
    class WithGetattr(local):
        def __getattr__(self, name: str) -> Any:
            if name == "foo":
                return 42
            raise AttributeError(name)

    data = WithGetattr()
    assert data.foo == 42
    data.foo = "baz"
    assert data.foo == "baz"
    with pytest.raises(AttributeError):
        data.bar  # noqa: B018


def test_mixing_in_an_abc() -> None:
    class LocalMapping(local, Mapping[str, Any]):
        def __getitem__(self, name: str) -> Any:
            return self.d[name]

        def __iter__(self) -> Iterator[str]:
            return iter(self.d)

        def __len__(self) -> int:
            return len(self.d)

    data = LocalMapping()
    data.d = {"a": 1}
    assert "a" in data and list(data.keys()) == ["a"]
    assert in_greenlet(lambda: hasattr(data, "d")) is False


def test_mixing_in_a_plain_class() -> None:
    class Base:
        marker = "base"

    class Derived(Base, local):
        pass

    data = Derived()
    data.x = 1
    assert data.marker == "base"
    assert in_greenlet(lambda: hasattr(data, "x")) is False


def test_isinstance_does_not_touch_the_greenlets_dict() -> None:
    inits: list[int] = []

    class Tracked(local):
        def __init__(self) -> None:
            inits.append(1)

    data = Tracked()
    assert in_greenlet(lambda: isinstance(data, Tracked) and isinstance(data, int)) is False
    assert inits == [1]


# -- copy ------------------------------------------------------------------------------


def test_copy_is_shallow_and_independent() -> None:
    shared = object()
    data = Slotted(shared)
    data.path = "123"
    duplicate = copy(data)
    assert type(duplicate) is Slotted
    assert duplicate.path == "123"
    assert duplicate.obj is shared
    duplicate.path = "321"
    assert data.path == "123"


def test_copy_plain_local() -> None:
    data = local()
    data.thing = [42]
    duplicate = copy(data)
    assert duplicate.thing is data.thing
    assert duplicate.__dict__ is not data.__dict__


# -- lifetime --------------------------------------------------------------------------


class Sentinel:
    pass


def test_values_released_when_a_greenlet_finishes_even_if_referenced() -> None:
    data = local()
    refs: list[weakref.ref[Sentinel]] = []

    def use() -> None:
        sentinel = Sentinel()
        refs.append(weakref.ref(sentinel))
        data.sentinel = sentinel

    glets = [Greenlet.spawn(use) for _ in range(5)]
    for glet in glets:
        glet.join()
    settle()
    assert all(glet.dead for glet in glets)  # still referenced here
    assert [ref() for ref in refs] == [None] * 5
    assert all(glet.has_links() == 0 for glet in glets)


def test_values_released_when_a_raw_greenlet_is_collected() -> None:
    data = local()
    refs: list[weakref.ref[Sentinel]] = []

    def use() -> None:
        sentinel = Sentinel()
        refs.append(weakref.ref(sentinel))
        data.sentinel = sentinel

    raw = RawGreenlet(use)
    raw.switch()
    assert refs[0]() is not None  # a dead raw greenlet keeps them until collected
    del raw
    gc.collect()
    assert refs[0]() is None


def test_values_released_when_the_local_is_collected_in_a_running_greenlet() -> None:
    refs: list[weakref.ref[Sentinel]] = []

    def run() -> int:
        for _ in range(200):
            data = local()
            sentinel = Sentinel()
            refs.append(weakref.ref(sentinel))
            data.sentinel = sentinel
            del data, sentinel
        gc.collect()
        # Our links on this (still running) greenlet were removed as well.
        return getcurrent().has_links()  # type: ignore[no-any-return]

    glet = Greenlet.spawn(run)
    sleep(0)
    assert glet.dead
    assert glet.value == 0
    assert all(ref() is None for ref in refs)


def test_local_is_collectable_while_greenlets_using_it_live() -> None:
    holder = [local()]
    ref = weakref.ref(holder[0])
    glet = Greenlet.spawn(lambda: (setattr(holder[0], "x", 1), sleep(5)))
    sleep(0)
    assert glet.has_links() == 1
    holder.clear()
    gc.collect()
    assert ref() is None
    assert glet.has_links() == 0
    glet.kill()


# -- all_local_dicts_for_greenlet --------------------------------------------------------


def test_all_local_dicts_for_greenlet() -> None:
    class Reporter(Greenlet):
        def _run(self) -> Any:
            mine = local()
            mine.foo = 42
            empty = local()
            self.ids = (id(mine), id(empty))
            result = all_local_dicts_for_greenlet(self)
            del mine, empty
            return result

    glet = Reporter()
    glet.start()
    result = glet.get(timeout=5)
    mine_id, empty_id = glet.ids
    assert sorted(result, key=lambda pair: pair[0][1] != mine_id) == [
        ((local, mine_id), {"foo": 42}),
        ((local, empty_id), {}),
    ]


def test_all_local_dicts_for_greenlet_main_and_others() -> None:
    class Mine(local):
        pass

    data = Mine()
    data.x = 1
    found = all_local_dicts_for_greenlet(getcurrent())
    assert ((Mine, id(data)), {"x": 1}) in found
    stranger = RawGreenlet(lambda: None)
    assert all_local_dicts_for_greenlet(stranger) == []
