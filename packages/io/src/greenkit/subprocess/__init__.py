"""Cooperative child processes: greenkit's counterpart of :mod:`subprocess`.

:class:`Popen` takes exactly the arguments of the running Python's
``subprocess.Popen`` and behaves like it, except that nothing blocks the hub:

* the child is started with the stdlib's own fork/exec primitive
  (``_posixsubprocess.fork_exec``), and the pipe on which the child reports
  a failed ``exec`` is read cooperatively;
* its exit is noticed by a child watcher on the default loop (SIGCHLD is
  handed to libev for that, see ``loop.install_sigchld()``), so
  :meth:`Popen.wait` parks only the calling greenlet, and any number of
  greenlets may wait for any number of children; :meth:`Popen.poll` also
  reaps the child itself, so it makes progress even in a loop that never
  yields;
* ``stdin``/``stdout``/``stderr`` pipes are cooperative file objects, and
  :meth:`Popen.communicate` writes the input and reads both outputs in
  greenlets of their own.  A :class:`TimeoutExpired` carries the output read
  so far, and calling ``communicate()`` again carries on where it stopped.

Child watchers exist only on the default loop: creating a :class:`Popen`
in a thread whose hub runs another loop raises :class:`TypeError`.

The helpers :func:`call`, :func:`check_call`, :func:`check_output`,
:func:`run`, :func:`getoutput` and :func:`getstatusoutput` use this
:class:`Popen`; every other public name of :mod:`subprocess` is re-exported
unchanged.
"""

from __future__ import annotations

import os
import subprocess as _subprocess
import sys
from _posixsubprocess import fork_exec as _fork_exec
from collections.abc import Callable
from select import PIPE_BUF as _PIPE_BUF
from typing import TYPE_CHECKING, Any

from greenkit._io_wait import wait_read, wait_write
from greenkit._originals import get_original
from greenkit.event import AsyncResult
from greenkit.fileobject import FileObject
from greenkit.greenlet import Greenlet, joinall, killall
from greenkit.hub import get_hub
from greenkit.subprocess._child_args import argv as _argv
from greenkit.subprocess._child_args import child_exception as _child_exception
from greenkit.subprocess._child_args import env_list as _env_list
from greenkit.subprocess._child_args import extra_group_ids as _extra_group_ids
from greenkit.subprocess._child_args import group_id as _group_id
from greenkit.subprocess._child_args import user_id as _user_id

if TYPE_CHECKING:
    from greenkit._interfaces import ChildWatcherProtocol

__implements__ = [
    "Popen",
    "call",
    "check_call",
    "check_output",
    "run",
    "getoutput",
    "getstatusoutput",
]

#: Names gevent adds to the patched module besides ``__implements__``.
__extensions__: list[str] = []

# The stdlib's public names that are the same objects here.
__imports__ = [name for name in _subprocess.__all__ if name not in __implements__] + [
    "list2cmdline"
]

CalledProcessError = _subprocess.CalledProcessError
CompletedProcess = _subprocess.CompletedProcess
DEVNULL = _subprocess.DEVNULL
PIPE = _subprocess.PIPE
STDOUT = _subprocess.STDOUT
SubprocessError = _subprocess.SubprocessError
TimeoutExpired = _subprocess.TimeoutExpired
#: Python 3.13+ refuses ``stdout=STDOUT`` with a ValueError (before, the
#: child's spawning failed with EBADF).
_REFUSES_STDOUT_STDOUT = sys.version_info >= (3, 13)
list2cmdline = _subprocess.list2cmdline

__all__ = sorted(set(__implements__ + __imports__ + __extensions__))

#: The unpatched stdlib class, whose private helpers (pipe creation, closing
#: the child's ends, newline translation, timeouts, ``send_signal``, ...) we
#: share; everything that would block is overridden below.
_StdPopen: Any = get_original("subprocess", "Popen")
#: The stdlib module, for its private settings (``_USE_VFORK``, ``_text_encoding``).
_STD: Any = _subprocess

#: ``os.waitpid`` itself, even after monkey patching (which makes it cooperative).
_waitpid = get_original("os", "waitpid")

_READ_CHUNK = 32768
_NOT_ON_THIS_LOOP = "child watchers are only available on the default loop"


def _read_until_eof(fd: int, limit: int | None = None) -> bytes:
    """Read ``fd`` cooperatively until EOF (or until more than ``limit`` bytes)."""
    data = bytearray()
    while True:
        wait_read(fd)
        try:
            part = os.read(fd, _READ_CHUNK)
        except BlockingIOError:
            continue
        data += part
        if not part or (limit is not None and len(data) > limit):
            return bytes(data)


def _make_blocking(fd: int) -> None:
    """Clear ``O_NONBLOCK`` on a descriptor the child inherits as its stdio.

    A cooperative file object (say, a :class:`FileObject` passed as
    ``stdin``) leaves its descriptor non-blocking, and most programs fail on
    the ``EAGAIN`` that gives them.  The flag belongs to the open file
    description, which the child shares with us, so it is cleared here.
    """
    try:
        if not os.get_blocking(fd):
            os.set_blocking(fd, True)
    except OSError:
        pass


def _close_quietly(fobj: Any) -> None:
    """Close a pipe file object, ignoring a broken pipe as ``communicate()`` does."""
    try:
        _close(fobj)
    except BrokenPipeError:
        pass


def _close(fobj: Any) -> None:
    """Close a pipe file object, even while a foreign greenlet of this thread
    is parked inside its buffered object (which refuses a reentrant close)."""
    try:
        fobj.close()
    except RuntimeError:
        # A buffered object whose lock a parked greenlet holds refuses a
        # reentrant close: close the raw descriptor object underneath instead
        # (it wakes that greenlet with EBADF first), which closes the whole.
        raw = getattr(fobj, "fileio", None)
        if raw is None:
            raise
        raw.close()


class Popen(_StdPopen):  # type: ignore[misc]
    """Execute a child program in a new process, cooperatively.

    Same arguments, attributes and methods as :class:`subprocess.Popen`.
    Extensions: ``result`` (an :class:`~greenkit.event.AsyncResult` set to the
    return code when the child exits), and ``rawlink``/``unlink``, so a Popen
    can be passed to :func:`greenkit.wait` and :func:`greenkit.iwait`.
    """

    _child_watcher: ChildWatcherProtocol | None = None
    _communicating_greenlets: Any = None

    def __init__(
        self,
        args: Any,
        bufsize: Any = -1,
        executable: Any = None,
        stdin: Any = None,
        stdout: Any = None,
        stderr: Any = None,
        preexec_fn: Callable[[], Any] | None = None,
        close_fds: bool = True,
        shell: bool = False,
        cwd: Any = None,
        env: Any = None,
        universal_newlines: bool | None = None,
        startupinfo: Any = None,
        creationflags: int = 0,
        restore_signals: bool = True,
        start_new_session: bool = False,
        pass_fds: Any = (),
        *,
        user: Any = None,
        group: Any = None,
        extra_groups: Any = None,
        encoding: str | None = None,
        errors: str | None = None,
        text: bool | None = None,
        umask: int = -1,
        pipesize: Any = -1,
        process_group: int | None = None,
    ) -> None:
        self._input: Any = None
        self._communication_started = False
        self.result = AsyncResult()
        self._links: dict[Any, Callable[[Any], None]] = {}
        if bufsize is None:
            bufsize = -1
        if not isinstance(bufsize, int):
            raise TypeError("bufsize must be an integer")
        if _REFUSES_STDOUT_STDOUT and stdout is STDOUT:
            raise ValueError("STDOUT can only be used for stderr")
        if pipesize is None:
            pipesize = -1
        if not isinstance(pipesize, int):
            raise TypeError("pipesize must be an integer")
        if pass_fds and not close_fds:
            import warnings

            warnings.warn("pass_fds overriding close_fds.", RuntimeWarning, stacklevel=2)
            close_fds = True
        if startupinfo is not None:
            raise ValueError("startupinfo is only supported on Windows platforms")
        if creationflags != 0:
            raise ValueError("creationflags is only supported on Windows platforms")

        self.args = args
        self.stdin: Any = None
        self.stdout: Any = None
        self.stderr: Any = None
        self.pid: Any = None
        self.returncode: Any = None
        self.encoding = encoding
        self.errors = errors
        self.pipesize = pipesize
        if (
            text is not None
            and universal_newlines is not None
            and bool(universal_newlines) != bool(text)
        ):
            raise SubprocessError(
                "Cannot disambiguate when both text and "
                "universal_newlines are supplied but different. "
                "Pass one or the other."
            )
        self.text_mode = encoding or errors or text or universal_newlines
        if self.text_mode and encoding is None:
            # The stdlib's choice (and its EncodingWarning under -X warn_default_encoding).
            self.encoding = encoding = _STD._text_encoding()
        self._sigint_wait_secs = 0.25
        self._closed_child_pipe_fds = False
        line_buffering = False
        if self.text_mode and bufsize == 1:
            line_buffering = True
            bufsize = -1
        if process_group is None:
            process_group = -1
        gid = None if group is None else _group_id(group)
        gids = None if extra_groups is None else _extra_group_ids(extra_groups)
        uid = None if user is None else _user_id(user)

        (p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite) = self._get_handles(
            stdin, stdout, stderr
        )
        try:
            if p2cwrite != -1:
                self.stdin = self._pipe_file(p2cwrite, "w", bufsize, line_buffering)
            if c2pread != -1:
                self.stdout = self._pipe_file(c2pread, "r", bufsize, False)
            if errread != -1:
                self.stderr = self._pipe_file(errread, "r", bufsize, False)
            self._execute_child(
                args,
                executable,
                preexec_fn,
                close_fds,
                pass_fds,
                cwd,
                env,
                startupinfo,
                creationflags,
                shell,
                p2cread,
                p2cwrite,
                c2pread,
                c2pwrite,
                errread,
                errwrite,
                restore_signals,
                gid,
                gids,
                uid,
                umask,
                start_new_session,
                process_group,
            )
        except BaseException:
            for fobj in filter(None, (self.stdin, self.stdout, self.stderr)):
                try:
                    fobj.close()
                except OSError:
                    pass
            if not self._closed_child_pipe_fds:
                to_close = []
                if stdin == PIPE:
                    to_close.append(p2cread)
                if stdout == PIPE:
                    to_close.append(c2pwrite)
                if stderr == PIPE:
                    to_close.append(errwrite)
                if hasattr(self, "_devnull"):
                    to_close.append(self._devnull)
                for fd in to_close:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            raise

    def _pipe_file(self, fd: int, direction: str, bufsize: int, line_buffering: bool) -> Any:
        """Our end of a pipe as a cooperative file object (text in text mode)."""
        if not self.text_mode:
            return FileObject(fd, direction + "b", bufsize)
        return FileObject(
            fd,
            direction,
            1 if line_buffering else bufsize,
            encoding=self.encoding,
            errors=self.errors,
        )

    # -- starting the child ----------------------------------------------------

    def _execute_child(
        self,
        args: Any,
        executable: Any,
        preexec_fn: Any,
        close_fds: bool,
        pass_fds: Any,
        cwd: Any,
        env: Any,
        startupinfo: Any,
        creationflags: int,
        shell: bool,
        p2cread: int,
        p2cwrite: int,
        c2pread: int,
        c2pwrite: int,
        errread: int,
        errwrite: int,
        restore_signals: bool,
        gid: int | None,
        gids: list[int] | None,
        uid: int | None,
        umask: int,
        start_new_session: bool,
        process_group: int,
    ) -> None:
        """Fork and exec the child, watch for its exit, and raise in the parent
        what made ``exec`` fail in the child (read without blocking the hub)."""
        argv = _argv(args, executable, shell)
        if executable is None:
            executable = argv[0]
        sys.audit("subprocess.Popen", executable, argv, cwd, env)
        loop = get_hub().loop
        assert loop is not None, "Popen in a destroyed hub"
        if not loop.default:
            raise TypeError(_NOT_ON_THIS_LOOP)

        orig_executable = executable
        env_list = _env_list(env)
        executable = os.fsencode(executable)
        if os.path.dirname(executable):
            executable_list: tuple[bytes, ...] = (executable,)
        else:
            executable_list = tuple(
                os.path.join(os.fsencode(directory), executable)
                for directory in os.get_exec_path(env)
            )

        for fd in (p2cread, c2pwrite, errwrite):
            if fd != -1:
                _make_blocking(fd)
        errpipe_read, errpipe_write = os.pipe()
        low_fds = []
        while errpipe_write < 3:  # the child dup2()s over 0, 1 and 2
            low_fds.append(errpipe_write)
            errpipe_write = os.dup(errpipe_write)
        for fd in low_fds:
            os.close(fd)
        try:
            try:
                fds_to_keep = set(pass_fds)
                fds_to_keep.add(errpipe_write)
                # A child that exits at once must find SIGCHLD routed to libev
                # already; libev reaps it only when the loop next runs, by which
                # time our watcher is started.
                default_loop: Any = loop  # install_sigchld() is libev's, beyond LoopProtocol
                default_loop.install_sigchld()
                self.pid = _fork_exec(
                    argv,
                    executable_list,
                    close_fds,
                    tuple(sorted(map(int, fds_to_keep))),
                    cwd,
                    env_list,
                    p2cread,
                    p2cwrite,
                    c2pread,
                    c2pwrite,
                    errread,
                    errwrite,
                    errpipe_read,
                    errpipe_write,
                    restore_signals,
                    start_new_session,
                    process_group,
                    gid,
                    gids,
                    uid,
                    umask,
                    preexec_fn,
                    _STD._USE_VFORK,
                )
                self._child_created = True
                self._child_watcher = loop.child(self.pid)
                self._child_watcher.start(self._on_child_exit, self._child_watcher)
            finally:
                os.close(errpipe_write)
            self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)
            errpipe_data = _read_until_eof(errpipe_read, limit=50000)
        finally:
            os.close(errpipe_read)
        if errpipe_data:
            self.wait()
            raise _child_exception(errpipe_data, cwd, orig_executable)

    # -- the child's exit ---------------------------------------------------

    def _on_child_exit(self, watcher: ChildWatcherProtocol) -> None:
        """Child watcher callback (in the hub): record the exit status."""
        watcher.stop()
        if self.returncode is None:
            self._handle_exitstatus(watcher.rstatus)
        self._exited()

    def _exited(self) -> None:
        watcher, self._child_watcher = self._child_watcher, None
        if watcher is not None:
            watcher.close()
        if not self.result.ready():
            self.result.set(self.returncode)

    def _internal_poll(self, _deadstate: Any = None) -> Any:
        """Set ``returncode`` if the child has exited, without blocking.

        Reaps the child directly (``waitpid(WNOHANG)``), so that a loop calling
        ``poll()`` without ever yielding still sees the exit.
        """
        if self.returncode is not None or self.pid is None:
            return self.returncode
        watcher = self._child_watcher
        if watcher is not None and watcher.rpid == self.pid:
            # libev reaped it; the watcher's callback has not run yet.
            self._handle_exitstatus(watcher.rstatus)
        else:
            try:
                pid, status = _waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                # Reaped by someone else, status unknown (as the stdlib says).
                self.returncode = 0 if _deadstate is None else _deadstate
            else:
                if pid != self.pid:
                    return None
                self._handle_exitstatus(status)
        self._exited()
        return self.returncode

    def _wait(self, timeout: float | None) -> Any:
        """Park this greenlet until the child exits (``TimeoutExpired`` after
        ``timeout`` seconds)."""
        if self.returncode is None:
            self._internal_poll()
        if self.returncode is None:
            self.result.wait(timeout)
            if self.returncode is None:
                assert timeout is not None, "only a wait with a timeout ends before the exit"
                raise TimeoutExpired(self.args, timeout)
        return self.returncode

    def rawlink(self, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(self)`` in the hub once the child has exited."""

        def proxy(_result: Any) -> None:
            callback(self)

        self._links[callback] = proxy
        self.result.rawlink(proxy)

    def unlink(self, callback: Callable[[Any], Any]) -> None:
        """Remove a callback added by :meth:`rawlink`."""
        proxy = self._links.pop(callback, None)
        if proxy is not None:
            self.result.unlink(proxy)

    # -- communicating --------------------------------------------------------

    def _communicate(
        self, input: Any, endtime: float | None, orig_timeout: float | None
    ) -> tuple[Any, Any]:
        """Write ``input`` and read both outputs in greenlets, until EOF or the
        deadline.  Called again after a timeout, it waits for the same greenlets."""
        if self._communicating_greenlets is None:
            if self.stdin:
                try:
                    self.stdin.flush()
                except BrokenPipeError:
                    pass
                if not input:
                    _close_quietly(self.stdin)
            self._save_input(input)
            self._fileobj2output = {}
            greenlets = []
            for fobj in (self.stdout, self.stderr):
                if fobj and not fobj.closed:
                    chunks: list[bytes] = []
                    self._fileobj2output[fobj] = chunks
                    greenlets.append(Greenlet.spawn(self._reader, fobj, chunks))
            if self.stdin and input:
                greenlets.append(Greenlet.spawn(self._writer))
            self._communicating_greenlets = greenlets
        greenlets = self._communicating_greenlets
        stdout_seq = self._fileobj2output.get(self.stdout) if self.stdout else None
        stderr_seq = self._fileobj2output.get(self.stderr) if self.stderr else None

        done = joinall(greenlets, timeout=self._remaining_time(endtime))
        if len(done) < len(greenlets):
            self._check_timeout(
                endtime, orig_timeout, stdout_seq, stderr_seq, skip_check_and_raise=True
            )
        for glet in greenlets:
            if glet.value is not None:  # an error the greenlet caught for us
                raise glet.value
        try:
            self.wait(timeout=self._remaining_time(endtime))
        except TimeoutExpired as ex:
            # Report the timeout given to communicate(), not what was left of it.
            assert orig_timeout is not None, "a wait without a deadline does not time out"
            ex.timeout = orig_timeout
            raise

        stdout = None if stdout_seq is None else b"".join(stdout_seq)
        stderr = None if stderr_seq is None else b"".join(stderr_seq)
        if self.text_mode:
            errors = self.errors or "strict"
            if stdout is not None:
                stdout = self._translate_newlines(stdout, self.encoding, errors)
            if stderr is not None:
                stderr = self._translate_newlines(stderr, self.encoding, errors)
        return stdout, stderr

    def _save_input(self, input: Any) -> None:
        """Keep the input (as bytes) and how much of it was written, so that a
        ``communicate()`` retried after a timeout carries on."""
        if self.stdin and self._input is None:
            self._input_offset = 0
            self._input = input
            if input is not None and self.text_mode:
                self._input = input.encode(self.encoding, self.errors or "strict")

    @staticmethod
    def _reader(fobj: Any, chunks: list[bytes]) -> BaseException | None:
        """Greenlet: append what ``fobj``'s fd yields until EOF, then close it.
        Returns (never raises) an error, so the hub does not report it."""
        try:
            fd = fobj.fileno()
            while True:
                wait_read(fd)
                try:
                    data = os.read(fd, _READ_CHUNK)
                except BlockingIOError:
                    continue
                if not data:
                    break
                chunks.append(data)
            _close_quietly(fobj)
        except Exception as ex:  # noqa: BLE001 - handed to communicate()
            return ex
        return None

    def _writer(self) -> BaseException | None:
        """Greenlet: write the saved input to stdin (a pipe buffer at a time),
        then close it; a child that stops reading is not an error."""
        try:
            fd = self.stdin.fileno()
            view = memoryview(self._input)
            while self._input_offset < len(view):
                wait_write(fd)
                try:
                    self._input_offset += os.write(
                        fd, view[self._input_offset : self._input_offset + _PIPE_BUF]
                    )
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    break
            _close_quietly(self.stdin)
        except Exception as ex:  # noqa: BLE001 - handed to communicate()
            return ex
        return None

    def __exit__(self, exc_type: Any, value: Any, traceback: Any) -> None:
        # Greenlets parked on our pipes must be gone before the pipes close.
        if self._communicating_greenlets:
            killall(self._communicating_greenlets, block=True)
        for fobj in (self.stdout, self.stderr):
            if fobj:
                _close_quietly(fobj)
        try:  # unlike communicate(), a failed flush is reported here
            if self.stdin:
                _close(self.stdin)
        finally:
            if exc_type is KeyboardInterrupt:
                if self._sigint_wait_secs > 0:
                    try:
                        self._wait(timeout=self._sigint_wait_secs)
                    except TimeoutExpired:
                        pass
                self._sigint_wait_secs = 0
            else:
                self.wait()


def call(*popenargs: Any, timeout: float | None = None, **kwargs: Any) -> int:
    """Run a command, wait for it, return its return code (killing it on error)."""
    with Popen(*popenargs, **kwargs) as proc:
        try:
            returncode: int = proc.wait(timeout=timeout)
            return returncode
        except BaseException:
            proc.kill()
            raise


def check_call(*popenargs: Any, **kwargs: Any) -> int:
    """Like :func:`call`, but raise :class:`CalledProcessError` on a non-zero code."""
    retcode = call(*popenargs, **kwargs)
    if retcode:
        cmd = kwargs.get("args")
        if cmd is None:
            cmd = popenargs[0]
        raise CalledProcessError(retcode, cmd)
    return 0


def check_output(*popenargs: Any, timeout: float | None = None, **kwargs: Any) -> Any:
    """Run a command and return its output; raise :class:`CalledProcessError`
    on a non-zero code."""
    for kw in ("stdout", "check"):
        if kw in kwargs:
            raise ValueError(f"{kw} argument not allowed, it will be overridden.")
    if "input" in kwargs and kwargs["input"] is None:
        text = (
            kwargs.get("universal_newlines")
            or kwargs.get("text")
            or kwargs.get("encoding")
            or kwargs.get("errors")
        )
        kwargs["input"] = "" if text else b""
    return run(*popenargs, stdout=PIPE, timeout=timeout, check=True, **kwargs).stdout


def run(
    *popenargs: Any,
    input: Any = None,
    capture_output: bool = False,
    timeout: float | None = None,
    check: bool = False,
    **kwargs: Any,
) -> Any:
    """Run a command, wait for it and return a :class:`CompletedProcess`.

    On a timeout the child is killed and reaped, and the :class:`TimeoutExpired`
    carries the output read until then.
    """
    if input is not None:
        if kwargs.get("stdin") is not None:
            raise ValueError("stdin and input arguments may not both be used.")
        kwargs["stdin"] = PIPE
    if capture_output:
        if kwargs.get("stdout") is not None or kwargs.get("stderr") is not None:
            raise ValueError("stdout and stderr arguments may not be used with capture_output.")
        kwargs["stdout"] = PIPE
        kwargs["stderr"] = PIPE
    with Popen(*popenargs, **kwargs) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except TimeoutExpired:
            process.kill()
            process.wait()
            raise
        except BaseException:
            process.kill()
            raise
        retcode = process.poll()
        if check and retcode:
            raise CalledProcessError(retcode, process.args, output=stdout, stderr=stderr)
    return CompletedProcess(process.args, retcode, stdout, stderr)


def getstatusoutput(
    cmd: Any, *, encoding: str | None = None, errors: str | None = None
) -> tuple[int, str]:
    """Run ``cmd`` in a shell; return ``(exitcode, output)`` (stderr included,
    one trailing newline removed)."""
    try:
        data = check_output(
            cmd, shell=True, text=True, stderr=STDOUT, encoding=encoding, errors=errors
        )
        exitcode = 0
    except CalledProcessError as ex:
        data = ex.output
        exitcode = ex.returncode
    if data[-1:] == "\n":
        data = data[:-1]
    return exitcode, data


def getoutput(cmd: Any, *, encoding: str | None = None, errors: str | None = None) -> str:
    """Run ``cmd`` in a shell and return its output (see :func:`getstatusoutput`)."""
    return getstatusoutput(cmd, encoding=encoding, errors=errors)[1]
