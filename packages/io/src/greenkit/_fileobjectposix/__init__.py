"""Cooperative file objects over non-blocking POSIX file descriptors.

:class:`GreenFileDescriptorIO` is a raw io object: it puts its descriptor in
non-blocking mode and, whenever a read or write would block, parks the
calling greenlet on an io watcher until the descriptor is ready.
:class:`GreenOpenDescriptor` builds it (for a descriptor, a path, or the
``fileno()`` of an existing file object) and layers buffering and text on
top like ``io.open``; :class:`FileObjectPosix` is the file object.
"""

from __future__ import annotations

import io
import os
from errno import EBADF
from typing import Any

from greenkit._fileobjectcommon import FileObjectBase, OpenDescriptor, WriteallMixin
from greenkit._io_wait import cancel_wait_ex, close_fd
from greenkit.hub import get_hub

__all__ = ["FileObjectPosix", "GreenFileDescriptorIO", "GreenOpenDescriptor"]

_READ = 1
_WRITE = 2


def _set_blocking(fd: int, blocking: bool) -> bool:
    """Set ``fd``'s blocking mode; return the mode it had."""
    was = os.get_blocking(fd)
    if was != blocking:
        os.set_blocking(fd, blocking)
    return was


class GreenFileDescriptorIO(io.RawIOBase):
    """Unbuffered cooperative I/O on a file descriptor (an ``io.RawIOBase``).

    ``closefd`` says whether :meth:`close` closes the descriptor; when it
    does not, the descriptor's original blocking mode is restored.  Closing
    wakes any greenlet blocked on it with ``EBADF`` first (the watchers are
    stopped before the descriptor goes away, and one watched elsewhere is
    closed by :func:`greenkit.os.close`).  ``name`` is the descriptor,
    or the name of the object it came from.
    """

    def __init__(
        self, fileno: int, open_descriptor: OpenDescriptor, closefd: bool = True, name: Any = None
    ) -> None:
        super().__init__()
        self._fileno = fileno
        self._closefd = closefd
        self.mode = open_descriptor.fileio_mode
        self._readable = open_descriptor.can_read
        self._writable = open_descriptor.can_write
        self._was_blocking = _set_blocking(fileno, False)
        self.hub = get_hub()
        assert self.hub.loop is not None, "a file object in a destroyed hub"
        io_watcher = self.hub.loop.io
        self._read_watcher = io_watcher(fileno, _READ) if self._readable else None
        self._write_watcher = io_watcher(fileno, _WRITE) if self._writable else None
        if name is not None:
            self.name = name

    # -- state ---------------------------------------------------------------

    def readable(self) -> bool:
        self._checkClosed()
        return self._readable

    def writable(self) -> bool:
        self._checkClosed()
        return self._writable

    def seekable(self) -> bool:
        self._checkClosed()
        try:
            os.lseek(self._fileno, 0, os.SEEK_CUR)
        except OSError:
            return False
        return True

    def fileno(self) -> int:
        self._checkClosed()
        return self._fileno

    def isatty(self) -> bool:
        self._checkClosed()
        return os.isatty(self._fileno)

    def close(self) -> None:
        if self.closed:
            return
        try:
            self.flush()
        finally:
            self._stop_watchers()
            super().close()
            if self._closefd:
                # Safe even if another greenlet still selects on it.
                close_fd(self._fileno)
            elif self._was_blocking:
                try:
                    os.set_blocking(self._fileno, True)
                except OSError:
                    pass

    def _stop_watchers(self) -> None:
        """Stop our watchers now (so the fd may close) and make a greenlet
        blocked on one of them raise ``cancel_wait_ex``."""
        for watcher in (self._read_watcher, self._write_watcher):
            if watcher is None:
                continue
            callback = watcher.callback
            watcher.close()
            waiter = getattr(callback, "__self__", None)
            if waiter is not None:
                assert self.hub.loop is not None, "closing a file object in a destroyed hub"
                self.hub.loop.run_callback(waiter.throw, cancel_wait_ex)
        self._read_watcher = self._write_watcher = None

    def _wait(self, watcher: Any) -> None:
        if watcher is None:
            raise OSError(EBADF, "Bad file descriptor")
        self.hub.wait(watcher)

    # -- reading and writing -------------------------------------------------

    def readinto(self, b: Any) -> int:
        """Read into the writable buffer ``b``, waiting cooperatively for data."""
        self._checkClosed()
        if not self._readable:
            raise io.UnsupportedOperation("read")
        view = memoryview(b).cast("B")
        while True:
            try:
                data = os.read(self._fileno, len(view))
            except BlockingIOError:
                self._wait(self._read_watcher)
                continue
            view[: len(data)] = data
            return len(data)

    def readall(self) -> bytes:
        """Read until end of file."""
        chunks: list[bytes] = []
        while True:
            data = self.read(io.DEFAULT_BUFFER_SIZE)
            if not data:
                return b"".join(chunks)
            chunks.append(data)

    def write(self, b: Any) -> int:
        """Write some of ``b`` (at least one byte), waiting cooperatively for room."""
        self._checkClosed()
        if not self._writable:
            raise io.UnsupportedOperation("write")
        while True:
            try:
                return os.write(self._fileno, b)
            except BlockingIOError:
                self._wait(self._write_watcher)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._checkClosed()
        return os.lseek(self._fileno, offset, whence)

    def tell(self) -> int:
        return self.seek(0, io.SEEK_CUR)

    def truncate(self, size: int | None = None) -> int:
        self._checkClosed()
        if size is None:
            size = self.tell()
        os.ftruncate(self._fileno, size)
        return size

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fileno={self._fileno}"
        return f"<{type(self).__name__} at {id(self):#x} {state} mode={self.mode!r}>"


class _AtomicGreenFileDescriptorIO(WriteallMixin, GreenFileDescriptorIO):
    """A cooperative raw object whose ``write`` always writes everything."""

    def write(self, b: Any) -> int:
        return self.writeall(b)


class GreenOpenDescriptor(OpenDescriptor):
    """An :class:`OpenDescriptor` whose raw object is cooperative.

    A path is opened (with ``O_NONBLOCK`` semantics applied afterwards); an
    existing file object is used through its ``fileno()``, and closed with
    the file object when ``closefd`` allows.
    """

    def opened(self) -> Any:
        return self.wrap_raw(self.open_raw())

    def open_raw(self) -> Any:
        fobj = self.fobj
        cls = _AtomicGreenFileDescriptorIO if self.atomic_write else GreenFileDescriptorIO
        if self.is_fd():
            return cls(fobj, self, closefd=self.closefd, name=fobj)
        if self.is_path():
            fileio = super().open_raw()
            try:
                fd = os.dup(fileio.fileno())
            finally:
                fileio.close()
            return cls(fd, self, closefd=True, name=fileio.name)
        return cls(fobj.fileno(), self, closefd=False, name=getattr(fobj, "name", None))


class FileObjectPosix(FileObjectBase):
    """A cooperative file object over a POSIX file descriptor.

    Takes the arguments of :class:`~greenkit._fileobjectcommon.OpenDescriptor`:
    ``fobj`` is a descriptor, a path, or a file object (its descriptor is
    used, and the object is closed with this one unless ``close=False``).
    Reads and writes that would block park only the calling greenlet.
    Works for pipes, sockets and terminals; regular files never block.
    ``fileio`` is the raw :class:`GreenFileDescriptorIO`.
    """

    default_bufsize = io.DEFAULT_BUFFER_SIZE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        descriptor = GreenOpenDescriptor(*args, **kwargs)
        super().__init__(descriptor)
        raw = self._io
        while hasattr(raw, "buffer"):
            raw = raw.buffer
        self.fileio = getattr(raw, "raw", raw)
        self.mode = descriptor.mode

    def _do_close(self, fobj: Any, closefd: bool) -> None:
        try:
            fobj.close()
        finally:
            wrapped = self._descriptor.fobj
            if closefd and not (self._descriptor.is_fd() or self._descriptor.is_path()):
                wrapped.close()
