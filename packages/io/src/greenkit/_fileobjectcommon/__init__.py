"""What every greenkit file object shares: argument checking and the wrappers.

:class:`OpenDescriptor` validates ``io.open()``-style arguments (``mode``,
``buffering``/``bufsize``, ``encoding``, ``errors``, ``newline``,
``closefd``/``close``) and builds the layered io object (raw, buffer, text)
that a file object wraps.  :class:`FileObjectBase` delegates to that object;
:class:`FileObjectBlock` does nothing more (plain blocking I/O), and
:class:`FileObjectThread` runs each blocking call in the hub's thread pool.
The cooperative, non-blocking :class:`~greenkit.fileobject.FileObjectPosix`
lives in ``greenkit._fileobjectposix``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from errno import EBADF
from typing import TYPE_CHECKING, Any

from greenkit.hub import get_hub
from greenkit.lock import DummySemaphore, Semaphore

__all__ = [
    "FileObjectBase",
    "FileObjectBlock",
    "FileObjectClosed",
    "FileObjectThread",
    "OpenDescriptor",
    "WriteallMixin",
]

#: Raised by methods of a file object that was closed.
FileObjectClosed = OSError(EBADF, "Bad file descriptor (FileObject was closed)")

_MODE_CHARS = frozenset("rwxabt+U")

#: The methods of an io object that a file object forwards.
_IO_METHODS = (
    "flush",
    "fileno",
    "isatty",
    "read",
    "read1",
    "readable",
    "readall",
    "readinto",
    "readinto1",
    "readline",
    "readlines",
    "seek",
    "seekable",
    "tell",
    "truncate",
    "writable",
    "write",
    "writelines",
    "detach",
)

if TYPE_CHECKING:
    # What the mixin is put before: a raw object (its ``write`` is the next
    # in the MRO).  At run time the mixin derives from object only.
    _RawBase = io.RawIOBase
else:
    _RawBase = object


class WriteallMixin(_RawBase):
    """Adds :meth:`writeall`: keep writing until every byte went out.

    A raw (unbuffered) object may write only part of what it is given;
    ``writeall`` loops over such partial writes.  Put it before the raw
    class in the bases.
    """

    def writeall(self, value: Any) -> int:
        """Write all of ``value`` (bytes-like); return its length."""
        view = memoryview(value).cast("B")
        total = len(view)
        written = 0
        write = super().write
        while written < total:
            count = write(view[written:])
            if count is None:  # a non-blocking raw object that would block
                continue
            written += count
        return total


class _AtomicFileIO(WriteallMixin, io.FileIO):
    """An unbuffered file whose ``write`` always writes everything."""

    def write(self, b: Any) -> int:
        return self.writeall(b)


def _check_optional_str(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be str or None, not {type(value).__name__}")


class OpenDescriptor:
    """The validated arguments of a file object, able to open the io object.

    ``fobj`` is a file descriptor, a path, or an object with ``fileno()``
    (such an object is used as is by the blocking and threaded file
    objects: ``mode`` and the rest are then only checked).  ``close`` is
    the old name of ``closefd`` and ``bufsize`` of ``buffering``.
    ``atomic_write`` makes an unbuffered binary object's ``write`` write
    everything (see :class:`WriteallMixin`).  Bad arguments raise the
    TypeError or ValueError ``io.open()`` would.
    """

    default_buffer_size = io.DEFAULT_BUFFER_SIZE

    def __init__(
        self,
        fobj: Any,
        mode: str = "r",
        bufsize: int | None = None,
        close: bool | None = None,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
        buffering: int | None = None,
        closefd: bool | None = None,
        atomic_write: bool = False,
    ) -> None:
        if closefd is None:
            closefd = True if close is None else bool(close)
        if buffering is None:
            buffering = -1 if bufsize is None else bufsize
        if not isinstance(mode, str):
            raise TypeError(f"mode must be str, not {type(mode).__name__}")
        if not isinstance(buffering, int) or isinstance(buffering, bool):
            raise TypeError(f"buffering must be an integer, not {type(buffering).__name__}")
        _check_optional_str("encoding", encoding)
        _check_optional_str("errors", errors)
        _check_optional_str("newline", newline)
        modes = set(mode)
        if not modes <= _MODE_CHARS or len(mode) > len(modes):
            raise ValueError(f"invalid mode: {mode!r}")
        if "U" in modes:
            if modes & set("wxa+"):
                raise ValueError("mode U cannot be combined with 'x', 'w', 'a', or '+'")
            raise ValueError(f"invalid mode: {mode!r} (mode U was removed in Python 3.11)")
        self.creating = "x" in modes
        self.reading = "r" in modes
        self.writing = "w" in modes
        self.appending = "a" in modes
        self.updating = "+" in modes
        self.text = "t" in modes
        self.binary = "b" in modes
        if self.text and self.binary:
            raise ValueError("can't have text and binary mode at once")
        kinds = self.creating + self.reading + self.writing + self.appending
        if kinds > 1:
            raise ValueError("can't have read/write/append mode at once")
        if kinds == 0:
            raise ValueError("must have exactly one of create/read/write/append mode")
        if self.binary:
            for name, value in (("encoding", encoding), ("errors", errors), ("newline", newline)):
                if value is not None:
                    raise ValueError(
                        f"binary mode doesn't take an {name} argument"
                        if name != "newline"
                        else "binary mode doesn't take a newline argument"
                    )
        if newline not in (None, "", "\n", "\r", "\r\n"):
            raise ValueError(f"illegal newline value: {newline!r}")
        if self.binary and buffering == 1:
            buffering = -1  # io.open warns; line buffering means nothing for bytes
        if not self.binary and buffering == 0:
            raise ValueError("can't have unbuffered text I/O")

        self._fobj = fobj
        self.mode = mode
        self.buffering = buffering
        self.closefd = closefd
        self.encoding = encoding
        self.errors = errors
        self.newline = newline
        self.atomic_write = bool(atomic_write)
        self.can_read = self.reading or self.updating
        self.can_write = self.writing or self.creating or self.appending or self.updating
        self.native = not self.text and not self.binary

    @property
    def fobj(self) -> Any:
        """What the file object was made from (descriptor, path or object)."""
        return self._fobj

    @property
    def fileio_mode(self) -> str:
        """The mode for ``io.FileIO`` (no text, binary or U flag)."""
        kind = "x" if self.creating else "r" if self.reading else "w" if self.writing else "a"
        return kind + ("+" if self.updating else "")

    def is_fd(self) -> bool:
        """True if ``fobj`` is a file descriptor."""
        return isinstance(self._fobj, int) and not isinstance(self._fobj, bool)

    def is_path(self) -> bool:
        """True if ``fobj`` is a file name."""
        return isinstance(self._fobj, (str, bytes, os.PathLike))

    def opened(self) -> Any:
        """The io object to wrap: the given object itself, or a new raw object
        wrapped in a buffer and text layer as ``io.open`` would."""
        if not (self.is_fd() or self.is_path()):
            return self._fobj
        return self.wrap_raw(self.open_raw())

    def open_raw(self) -> Any:
        """A new unbuffered binary object for ``fobj`` (descriptor or path)."""
        if self.is_path() and not self.closefd:
            raise ValueError("Cannot use closefd=False with file name")
        cls = _AtomicFileIO if self.atomic_write else io.FileIO
        return cls(self._fobj, self.fileio_mode, closefd=self.closefd)

    def wrap_raw(self, raw: Any) -> Any:
        """Layer ``raw`` the way ``io.open`` does for these arguments.  If this
        fails, ``raw`` is closed (so nothing leaks) before the error propagates."""
        try:
            return self._wrap(raw)
        except BaseException:
            raw.close()
            raise

    def _wrap(self, raw: Any) -> Any:
        buffering = self.buffering
        line_buffering = buffering == 1 or (buffering < 0 and raw.isatty())
        if buffering == 0:
            return raw
        if buffering < 0 or buffering == 1:
            buffering = self.default_buffer_size
        if self.updating:
            buffer: Any = io.BufferedRandom(raw, buffering)
        elif self.reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if self.binary:
            return buffer
        encoding = self.encoding
        if encoding is None:
            encoding = io.text_encoding(None)
        text = io.TextIOWrapper(buffer, encoding, self.errors, self.newline, line_buffering)
        text.mode = self.mode  # type: ignore[misc]
        return text


class FileObjectBase:
    """Delegates to the io object built by an :class:`OpenDescriptor`.

    Attributes not defined here come from the wrapped object (``read1``
    exists only when the wrapped object has it).  ``io`` is the wrapped
    object; ``name`` survives ``close()``.
    """

    def __init__(self, descriptor: OpenDescriptor) -> None:
        self._descriptor = descriptor
        self._close = descriptor.closefd
        self._io: Any = self._open(descriptor)
        try:
            self.name = self._io.name
        except AttributeError:
            pass

    def _open(self, descriptor: OpenDescriptor) -> Any:
        return descriptor.opened()

    @property
    def io(self) -> Any:
        """The wrapped io object (None once closed)."""
        return self._io

    @io.setter
    def io(self, value: Any) -> None:
        self._io = value

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._io is None

    def close(self) -> None:
        """Flush and close; the descriptor is closed too unless ``close=False``."""
        fobj = self._io
        if fobj is None:
            return
        self._io = None
        self._do_close(fobj, self._close)

    def _do_close(self, fobj: Any, closefd: bool) -> None:
        if closefd or self._descriptor.is_fd() or self._descriptor.is_path():
            # An object we created ourselves honours closefd by itself.
            fobj.close()
        else:
            fobj.flush()

    def __getattr__(self, name: str) -> Any:
        fobj = self.__dict__.get("_io")
        if fobj is None:
            if name in _IO_METHODS:
                raise FileObjectClosed
            raise AttributeError(name)
        return getattr(fobj, name)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x} {self._extra_repr()}>"

    def _extra_repr(self) -> str:
        return "closed" if self._io is None else f"_fobj={self._io!r}"


class FileObjectBlock(FileObjectBase):
    """A file object whose operations block the whole thread (no cooperation).

    Takes the arguments of :class:`OpenDescriptor`; useful where cooperative
    I/O is impossible or unwanted, with the same interface as the others.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(OpenDescriptor(*args, **kwargs))


class FileObjectThread(FileObjectBase):
    """A file object whose blocking operations run in a thread pool.

    Only the calling greenlet waits; the rest of the hub keeps running.
    ``threadpool`` defaults to ``get_hub().threadpool``.  ``lock`` serializes
    operations: True (default) makes a new :class:`~greenkit.lock.Semaphore`,
    False disables it, anything else is used as the lock.  Other arguments
    are those of :class:`OpenDescriptor`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        lock = kwargs.pop("lock", True)
        threadpool = kwargs.pop("threadpool", None)
        descriptor = OpenDescriptor(*args, **kwargs)
        self.threadpool = threadpool if threadpool is not None else get_hub().threadpool
        if lock is True:
            self.lock: Any = Semaphore()
        elif lock is False:
            self.lock = DummySemaphore()
        else:
            self.lock = lock
        if not hasattr(self.lock, "__enter__"):
            raise TypeError(f"Expected a Semaphore or boolean, got {type(self.lock)!r}")
        super().__init__(descriptor)

    def _open(self, descriptor: OpenDescriptor) -> Any:
        fobj = self.threadpool.apply(descriptor.opened)
        for name in _IO_METHODS:
            method = getattr(fobj, name, None)
            if method is not None:
                setattr(self, name, self._in_thread(name))
        return fobj

    def _in_thread(self, name: str) -> Callable[..., Any]:
        def method(*args: Any, **kwargs: Any) -> Any:
            fobj = self._io
            if fobj is None:
                raise FileObjectClosed
            with self.lock:
                return self.threadpool.apply(getattr(fobj, name), args, kwargs)

        method.__name__ = name
        return method

    def _do_close(self, fobj: Any, closefd: bool) -> None:
        for name in _IO_METHODS:
            self.__dict__.pop(name, None)
        with self.lock:
            self.threadpool.apply(super()._do_close, (fobj, closefd))
