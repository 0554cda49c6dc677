"""Greenlet-local objects: ``threading.local`` where each greenlet is a thread.

An attribute stored on a :class:`local` is seen only by the greenlet that
stored it::

    data = local()
    data.number = 42        # this greenlet's value
    # another greenlet sees no ``number`` until it sets its own

Every greenlet gets its own ``__dict__`` for the object, created the first
time the greenlet touches it.  Subclasses behave like subclasses of
``threading.local``:

* ``__init__`` runs again, with the arguments given to the constructor, the
  first time each other greenlet uses the object (``local`` itself takes no
  arguments: ``local(1)`` is a TypeError);
* class attributes, methods, properties and other descriptors work as on any
  object: a data descriptor (``property``, ``__slots__`` members) wins over
  the per-greenlet ``__dict__``, which wins over other class attributes;
* ``__slots__`` values are stored on the object itself, so they are shared
  by all greenlets;
* ``__getattr__`` is called for missing attributes;
* ``__dict__`` cannot be replaced or deleted.

A greenlet's values are released when it finishes (for ``Greenlet``
objects, from the hub right after; for plain greenlets, when the greenlet
object is garbage collected), and all of them when the local object is
collected.  Locals work in any greenlet, including a thread's main
greenlet and plain ``greenlet.greenlet`` objects.
"""

from __future__ import annotations

from copy import copy as _copy
from typing import Any
from weakref import WeakSet
from weakref import ref as wref

from greenlet import getcurrent

__all__ = ["local", "all_local_dicts_for_greenlet"]

_MISSING: Any = object()
_OBJECT_CLASS = object.__dict__["__class__"]


class _Entry:
    """One greenlet's values for one local: the dict, a weak reference to the
    greenlet, and the link that drops the entry when the greenlet finishes."""

    __slots__ = ("dict", "greenlet_ref", "link", "__weakref__")

    def __init__(self) -> None:
        self.dict: dict[str, Any] = {}
        self.greenlet_ref: Any = None
        self.link: Any = None


class _Forget:
    """Removes an entry from its state; used both as a weakref callback (the
    greenlet was collected) and as a greenlet link (it finished).  Holds the
    state weakly so a running greenlet does not keep the local's data alive."""

    __slots__ = ("state_ref", "key", "entry_ref")

    def __init__(self, state: _LocalState, key: int, entry: _Entry) -> None:
        self.state_ref = wref(state)
        self.key = key
        self.entry_ref = wref(entry)

    def __call__(self, _source: Any) -> None:
        state = self.state_ref()
        if state is None:
            return
        dicts = state.dicts
        entry = self.entry_ref()
        if entry is not None and dicts.get(self.key) is entry:
            del dicts[self.key]


class _LocalState:
    """What a local object keeps besides its slots: the per-greenlet entries
    (keyed by ``id(greenlet)``) and the constructor arguments."""

    __slots__ = ("dicts", "args", "kwargs", "owner_type", "owner_id", "__weakref__")

    def __init__(self, owner: local, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.dicts: dict[int, _Entry] = {}
        self.args = args
        self.kwargs = kwargs
        self.owner_type = type(owner)
        self.owner_id = id(owner)
        _all_states.add(self)

    def new_entry(self, greenlet: Any) -> _Entry:
        key = id(greenlet)
        entry = _Entry()
        forget = _Forget(self, key, entry)
        entry.greenlet_ref = wref(greenlet, forget)
        rawlink = getattr(greenlet, "rawlink", None)
        if rawlink is not None:
            # A Greenlet tells us when it finishes, even if still referenced.
            rawlink(forget)
            entry.link = forget
        self.dicts[key] = entry
        return entry

    def __del__(self) -> None:
        # The local is gone: take our links off greenlets that are still
        # running, so they do not accumulate.
        for entry in list(self.dicts.values()):
            link = entry.link
            if link is None:
                continue
            greenlet = entry.greenlet_ref()
            if greenlet is not None:
                try:
                    greenlet.unlink(link)
                except Exception:  # noqa: BLE001, S110 - best effort during collection
                    pass
        self.dicts.clear()


#: Every live local's state, for ``all_local_dicts_for_greenlet``.
_all_states: WeakSet[_LocalState] = WeakSet()


def _type_lookup(cls: type, name: str) -> Any:
    """The class attribute ``name`` as found along the MRO, without invoking
    descriptors (like the interpreter's own type lookup)."""
    for base in cls.__mro__:
        namespace = base.__dict__
        if name in namespace:
            return namespace[name]
    return _MISSING


def _is_data_descriptor(attr: Any) -> bool:
    kind = type(attr)
    return hasattr(kind, "__set__") or hasattr(kind, "__delete__")


class local:
    """Greenlet-local data: see the module documentation."""

    __slots__ = ("_greenkit_local_state", "__weakref__")

    _greenkit_local_state: _LocalState

    def __new__(cls, *args: Any, **kwargs: Any) -> local:
        if (args or kwargs) and cls.__init__ is local.__init__:
            raise TypeError("Initialization arguments are not supported")
        self = object.__new__(cls)
        state = _LocalState(self, args, kwargs)
        _set_state(self, state)
        # The constructing greenlet's dict; type.__call__ runs __init__ next.
        state.new_entry(getcurrent())
        return self

    def __init__(self) -> None:
        pass

    def __getattribute__(self, name: str) -> Any:
        if name == "__class__" and _type_lookup(type(self), name) is _OBJECT_CLASS:
            # isinstance() (and so the gc-walking debug helpers) ask for this:
            # answering must not create a dict (and run __init__) here.
            return type(self)
        values = _current_dict(self)
        if name == "__dict__":
            return values
        cls = type(self)
        attr = _type_lookup(cls, name)
        if attr is not _MISSING:
            getter = getattr(type(attr), "__get__", None)
            if getter is not None and _is_data_descriptor(attr):
                return getter(attr, self, cls)
        if name in values:
            return values[name]
        if attr is _MISSING:
            raise AttributeError(f"{cls.__name__!r} object has no attribute {name!r}")
        getter = getattr(type(attr), "__get__", None)
        if getter is not None:
            return getter(attr, self, cls)
        return attr

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "__dict__":
            raise AttributeError(
                f"{type(self).__name__!r} object attribute '__dict__' is read-only"
            )
        values = _current_dict(self)
        attr = _type_lookup(type(self), name)
        if attr is not _MISSING:
            setter = getattr(type(attr), "__set__", None)
            if setter is not None:
                setter(attr, self, value)
                return
        values[name] = value

    def __delattr__(self, name: str) -> None:
        if name == "__dict__":
            raise AttributeError(
                f"{type(self).__name__!r} object attribute '__dict__' is read-only"
            )
        values = _current_dict(self)
        attr = _type_lookup(type(self), name)
        if attr is not _MISSING:
            deleter = getattr(type(attr), "__delete__", None)
            if deleter is not None:
                deleter(attr, self)
                return
        try:
            del values[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}"
            ) from None

    def __copy__(self) -> local:
        """A new local of the same class, built with the same constructor
        arguments, holding a shallow copy of this greenlet's values (and of
        the slot values)."""
        state = _get_state(self)
        cls = type(self)
        duplicate = cls(*state.args, **state.kwargs)
        values = _current_dict(duplicate)
        values.clear()
        values.update(_copy(_current_dict(self)))
        for base in cls.__mro__:
            for slot in _own_slots(base):
                try:
                    value = _get_slot(base, slot, self)
                except AttributeError:
                    continue
                _set_slot(base, slot, duplicate, value)
        return duplicate


_state_slot = local.__dict__["_greenkit_local_state"]
_get_state_raw = _state_slot.__get__
_set_state_raw = _state_slot.__set__


def _get_state(obj: local) -> _LocalState:
    state: _LocalState = _get_state_raw(obj, local)
    return state


def _set_state(obj: local, state: _LocalState) -> None:
    _set_state_raw(obj, state)


def _own_slots(cls: type) -> tuple[str, ...]:
    if cls is local:
        return ()
    slots = cls.__dict__.get("__slots__", ())
    if isinstance(slots, str):
        slots = (slots,)
    return tuple(name for name in slots if name not in ("__dict__", "__weakref__"))


def _get_slot(cls: type, name: str, obj: Any) -> Any:
    descriptor = cls.__dict__.get(_mangle(cls, name))
    if descriptor is None:
        raise AttributeError(name)
    return descriptor.__get__(obj, cls)


def _set_slot(cls: type, name: str, obj: Any, value: Any) -> None:
    cls.__dict__[_mangle(cls, name)].__set__(obj, value)


def _mangle(cls: type, name: str) -> str:
    if name.startswith("__") and not name.endswith("__"):
        return f"_{cls.__name__.lstrip('_')}{name}"
    return name


def _current_dict(obj: local) -> dict[str, Any]:
    """The calling greenlet's dict for ``obj``, made (and ``__init__`` run
    again with the constructor's arguments) on the greenlet's first use."""
    state: _LocalState = _get_state_raw(obj, local)
    greenlet = getcurrent()
    entry = state.dicts.get(id(greenlet))
    if entry is not None:
        return entry.dict
    entry = state.new_entry(greenlet)
    init = type(obj).__init__
    if init is not local.__init__:
        try:
            init(obj, *state.args, **state.kwargs)
        except BaseException:
            state.dicts.pop(id(greenlet), None)
            raise
    return entry.dict


def all_local_dicts_for_greenlet(greenlet: Any) -> list[tuple[tuple[type, int], dict[str, Any]]]:
    """Every local object's values for ``greenlet``, as a list of
    ``((type of the local, id of the local), dict)`` pairs (a debugging aid:
    the dicts are the live ones)."""
    key = id(greenlet)
    result = []
    for state in list(_all_states):
        entry = state.dicts.get(key)
        if entry is None or entry.greenlet_ref() is not greenlet:
            continue
        result.append(((state.owner_type, state.owner_id), entry.dict))
    return result
