"""greenkit.fileobject: FileObjectPosix, FileObjectThread, FileObjectBlock."""

from __future__ import annotations

import errno
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import greenkit.select
from greenkit._fileobjectcommon import OpenDescriptor, WriteallMixin
from greenkit.fileobject import FileObject, FileObjectBlock, FileObjectPosix, FileObjectThread
from greenkit.hub import sleep, spawn_raw

pytestmark = pytest.mark.fd_leak_check

HAVE_THREADPOOL = importlib.util.find_spec("greenkit.threadpool") is not None


class InlinePool:
    """A stand-in thread pool that runs calls in the calling thread."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def apply(self, func: Callable[..., Any], args: Any = (), kwargs: Any = None) -> Any:
        self.calls.append(getattr(func, "__name__", repr(func)))
        return func(*args, **(kwargs or {}))


def test_default_is_posix() -> None:
    assert FileObject is FileObjectPosix


@pytest.mark.parametrize("cls", [FileObjectPosix, FileObjectBlock])
def test_binary_round_trip_over_a_pipe(cls: Any, pipe: Any) -> None:
    r, w = pipe
    writer = cls(w, "wb")
    reader = cls(r, "rb")
    writer.write(b"hello\nworld\n")
    writer.close()
    assert reader.readline() == b"hello\n"
    assert list(reader) == [b"world\n"]
    reader.close()
    for fd in (r, w):
        with pytest.raises(OSError) as info:
            os.fstat(fd)
        assert info.value.errno == errno.EBADF


def test_mode_is_reported_as_given(pipe: Any) -> None:
    r, w = pipe
    with (
        FileObjectPosix(w, "wb", close=False) as writer,
        FileObjectPosix(r, "rb", close=False) as reader,
    ):
        assert (writer.mode, reader.mode) == ("wb", "rb")
    os.fstat(r)  # close=False left the descriptors open
    os.fstat(w)


def test_text_mode_with_encoding_and_newline(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes("a\u2603\r\nb\n".encode("utf-8"))
    with FileObjectPosix(str(path), "r", encoding="utf-8") as f:
        assert f.readlines() == ["a\u2603\n", "b\n"]
    with FileObjectPosix(str(path), "r", encoding="utf-8", newline="") as f:
        assert f.readline() == "a\u2603\r\n"
    with FileObjectPosix(str(path), "rb") as f:
        assert f.read() == "a\u2603\r\nb\n".encode("utf-8")


def test_native_mode_reads_str_and_has_no_read1(pipe: Any) -> None:
    r, w = pipe
    os.write(w, b"abc")
    os.close(w)
    with FileObjectPosix(r, "r") as f:
        assert not hasattr(f, "read1")
        assert f.read() == "abc"
    with pytest.raises(OSError):
        os.close(r)


def test_read_is_cooperative(pipe: Any) -> None:
    r, w = pipe
    reader = FileObjectPosix(r, "rb")
    writer = FileObjectPosix(w, "wb", bufsize=0)
    order: list[str] = []

    def write() -> None:
        order.append("writer")
        for ch in b"hello":
            writer.write(bytes([ch]))
            sleep(0.001)
        writer.close()

    spawn_raw(write)
    order.append("reader")
    buf = bytearray(32)
    count = reader.readinto(buf)
    assert order == ["reader", "writer"]
    assert 1 <= count <= 5
    rest = reader.read()
    assert bytes(buf[:count]) + rest == b"hello"
    reader.close()


def test_write_blocks_only_the_writer_when_the_pipe_is_full(pipe: Any) -> None:
    r, w = pipe
    writer = FileObjectPosix(w, "wb")
    reader = FileObjectPosix(r, "rb", bufsize=0)
    payload = b"x" * (1 << 20)
    received = bytearray()

    def read() -> None:
        while len(received) < len(payload):
            received.extend(reader.read(65536))

    spawn_raw(read)
    assert writer.writelines([payload]) is None
    writer.flush()
    while len(received) < len(payload):
        sleep(0.001)
    assert received == payload
    writer.close()
    reader.close()


def test_bufsize_zero_gives_the_raw_object(pipe: Any) -> None:
    r, w = pipe
    with FileObjectPosix(r, "rb", bufsize=0) as f:
        assert f.io is f.fileio
        assert f.fileno() == r
        assert f.name == r


def test_seek_on_a_pipe_raises_like_lseek(pipe: Any) -> None:
    r, _w = pipe
    with pytest.raises(OSError) as native:
        os.lseek(r, 0, os.SEEK_SET)
    f = FileObjectPosix(r, "r", close=False)
    with pytest.raises(OSError) as ours:
        f.fileio.seek(0)
    assert ours.value.args == native.value.args
    assert not f.fileio.seekable()
    f.close()


def test_wrapping_an_open_file_object(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"B" * 15 + b"a" * 100)
    with open(path, "rb") as raw:
        f = FileObjectPosix(raw, "rb", close=False)
        assert f.seekable()
        f.seek(15)
        assert f.tell() == 15
        assert f.read(1024) == b"a" * 100
        assert f.name == str(path)
        f.close()
        assert not raw.closed
    with open(path, "rb") as raw:
        f = FileObjectPosix(raw, "rb")
        f.close()
        assert raw.closed


def test_name_survives_close_and_nameless_objects_have_none(tmp_path: Path, pipe: Any) -> None:
    r, _w = pipe

    class Nameless:
        def fileno(self) -> int:
            return r

        def close(self) -> None:
            pass

    f = FileObjectPosix(Nameless(), "rb")
    with pytest.raises(AttributeError):
        _ = f.name
    f.close()
    with pytest.raises(AttributeError):
        _ = f.name
    path = tmp_path / "named"
    path.write_text("x")
    g = FileObjectPosix(str(path))
    g.close()
    assert g.name == str(path)


def test_closed_file_object(pipe: Any) -> None:
    r, _w = pipe
    f = FileObjectPosix(r, "rb")
    assert not f.closed
    f.close()
    f.close()
    assert f.closed
    with pytest.raises(OSError) as info:
        f.read()
    assert info.value.errno == errno.EBADF
    with pytest.raises(AttributeError):
        _ = f.no_such_attribute


def test_close_wakes_a_blocked_reader_with_ebadf(pipe: Any) -> None:
    r, _w = pipe
    f = FileObjectPosix(r, "rb", bufsize=0)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            f.read(1)
        except OSError as ex:
            errors.append(ex)

    spawn_raw(read)
    sleep(0.01)
    f.close()
    sleep(0.01)
    assert len(errors) == 1 and errors[0].errno == errno.EBADF


def test_close_false_restores_blocking_mode(pipe: Any) -> None:
    r, _w = pipe
    assert os.get_blocking(r)
    f = FileObjectPosix(r, "rb", close=False)
    assert not os.get_blocking(r)
    f.close()
    assert os.get_blocking(r)


def test_writeall_mixin_on_atomic_unbuffered_files(pipe: Any) -> None:
    r, w = pipe
    for descriptor_class in (OpenDescriptor,):
        fobj = descriptor_class(w, "wb", buffering=0, closefd=False, atomic_write=True).opened()
        assert isinstance(fobj, WriteallMixin)
        assert fobj.write(b"abc") == 3
        fobj.close()
    f = FileObjectPosix(w, "wb", buffering=0, close=False, atomic_write=True)
    assert isinstance(f.io, WriteallMixin)
    assert f.write(memoryview(b"de")) == 2
    f.close()
    assert os.read(r, 10) == b"abcde"


@pytest.mark.parametrize(
    ("kwargs", "kind", "message"),
    [
        ({"mode": 42}, TypeError, "mode"),
        ({"buffering": "nope"}, TypeError, "buffering"),
        ({"encoding": 42}, TypeError, "encoding"),
        ({"errors": 42}, TypeError, "errors"),
        ({"mode": "aoeug"}, ValueError, "mode"),
        ({"mode": "wU"}, ValueError, "mode U cannot be combined"),
        ({"mode": "rtb"}, ValueError, "text and binary"),
        ({"mode": "rw"}, ValueError, "append mode at once"),
        ({"mode": "+"}, ValueError, "exactly one"),
        ({"mode": "rb", "encoding": "ascii"}, ValueError, "take an encoding"),
        ({"mode": "rb", "errors": "strict"}, ValueError, "take an errors"),
        ({"mode": "rb", "newline": "\n"}, ValueError, "take a newline"),
        ({"mode": "r", "buffering": 0}, ValueError, "unbuffered text"),
        ({"mode": "r", "newline": "x"}, ValueError, "illegal newline"),
    ],
)
def test_open_descriptor_rejects_bad_arguments(kwargs: Any, kind: Any, message: str) -> None:
    with pytest.raises(kind, match=message):
        OpenDescriptor(1, **kwargs)


def test_open_descriptor_properties() -> None:
    d = OpenDescriptor(5, "a+b", bufsize=7, close=False)
    assert (d.appending, d.updating, d.binary, d.text) == (True, True, True, False)
    assert (d.can_read, d.can_write, d.buffering, d.closefd) == (True, True, 7, False)
    assert d.fileio_mode == "a+"
    assert d.is_fd() and not d.is_path()
    with pytest.raises(ValueError, match="closefd=False"):
        OpenDescriptor("/nonexistent", closefd=False).opened()


def test_block_wraps_an_object_as_is(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_text("line1\nline2\n")
    with open(path) as native:
        f = FileObjectBlock(native, close=False)
        assert f.io is native
        assert list(f) == ["line1\n", "line2\n"]
        f.close()
        assert not native.closed


def test_thread_runs_every_call_in_its_pool(tmp_path: Path) -> None:
    pool = InlinePool()
    path = tmp_path / "t"
    with FileObjectThread(str(path), "w", threadpool=pool) as f:
        f.write("abc\n")
        assert not hasattr(f, "read1")
    assert {"opened", "write", "_do_close"} <= set(pool.calls)
    with FileObjectThread(str(path), "rb", threadpool=pool, lock=False) as f:
        assert hasattr(f, "read1")
        assert f.readline() == b"abc\n"
        assert f.readline() == b""
    with pytest.raises(OSError):
        f.read()
    with pytest.raises(TypeError, match="Semaphore"):
        FileObjectThread(str(path), threadpool=pool, lock=object())


@pytest.mark.skipif(not HAVE_THREADPOOL, reason="needs greenkit-threads (greenkit.threadpool)")
def test_thread_with_the_hub_threadpool(pipe: Any) -> None:
    r, w = pipe
    reader = FileObjectThread(r, "rb")
    writer = FileObjectThread(w, "wb", bufsize=0)

    def write() -> None:
        writer.write(b"ping")
        writer.close()

    spawn_raw(write)
    assert reader.read() == b"ping"
    reader.close()


def test_posix_on_a_regular_file_never_waits(tmp_path: Path) -> None:
    path = tmp_path / "r"
    with FileObjectPosix(str(path), "w+b") as f:
        f.write(b"0123456789")
        f.flush()
        f.seek(2)
        assert f.read(3) == b"234"
        f.truncate(4)
        f.seek(0)
        assert f.read() == b"0123"
        assert not f.isatty()
    assert path.read_bytes() == b"0123"


def test_closing_while_another_greenlet_selects_on_the_descriptor(pipe: Any) -> None:
    r, _w = pipe
    fd = os.dup(r)
    f = FileObjectPosix(fd, "rb")
    ready: list[Any] = []
    spawn_raw(lambda: ready.append(greenkit.select.select([fd], [], [], 5)))
    sleep(0.01)
    f.close()
    while not ready:
        sleep(0.001)
    assert ready == [([fd], [], [])]
    sleep(0.01)
    with pytest.raises(OSError):
        os.fstat(fd)
