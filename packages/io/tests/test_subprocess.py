"""greenkit.subprocess: cooperative Popen and the helper functions."""

from __future__ import annotations

import os
import signal
import subprocess as std_subprocess
import sys
import threading
import time

import pytest

import greenkit.subprocess as subprocess
from greenkit.fileobject import FileObjectPosix
from greenkit.greenlet import Greenlet, joinall
from greenkit.hub import get_hub, sleep, wait

pytestmark = [pytest.mark.fd_leak_check, pytest.mark.greenlet_leak_check]

PY = sys.executable


def python(code: str, **kwargs: object) -> subprocess.Popen:
    return subprocess.Popen([PY, "-c", code], **kwargs)


# -- module surface -----------------------------------------------------------


def test_module_mirrors_the_stdlib_names() -> None:
    for name in std_subprocess.__all__:
        assert name in subprocess.__all__
        assert hasattr(subprocess, name)
    assert set(subprocess.__implements__) <= set(subprocess.__all__)
    assert subprocess.PIPE is std_subprocess.PIPE
    assert subprocess.CalledProcessError is std_subprocess.CalledProcessError
    assert subprocess.list2cmdline(["a b", "c"]) == '"a b" c'
    assert subprocess.Popen.__module__ == "greenkit.subprocess"
    assert subprocess.Popen[bytes] is not None  # generic, like the stdlib's


def test_popen_takes_the_stdlib_signature() -> None:
    import inspect

    ours = inspect.signature(subprocess.Popen.__init__).parameters
    theirs = inspect.signature(std_subprocess.Popen.__init__).parameters
    assert list(ours) == list(theirs)
    for name, param in theirs.items():
        assert ours[name].kind == param.kind
        assert ours[name].default == param.default


# -- exit status --------------------------------------------------------------


def test_wait_returns_the_exit_code() -> None:
    with python("import sys; sys.exit(10)") as proc:
        assert proc.wait() == 10
    assert proc.returncode == 10
    assert proc.result.get() == 10


def test_poll_in_a_loop_that_never_yields_sees_the_exit() -> None:
    proc = python("pass")
    while proc.poll() is None:
        pass
    assert proc.returncode == 0
    assert proc.wait() == 0


def test_wait_timeout_raises_timeout_expired_and_can_be_retried() -> None:
    with python("import time; time.sleep(60)") as proc:
        with pytest.raises(subprocess.TimeoutExpired) as info:
            proc.wait(timeout=0.05)
        assert info.value.timeout == 0.05
        assert proc.poll() is None
        proc.kill()
        assert proc.wait(timeout=30) == -signal.SIGKILL


def test_children_that_exit_at_once_are_all_seen() -> None:
    procs = [subprocess.Popen(["true"]) for _ in range(20)]
    assert len(wait(procs, timeout=30)) == 20
    assert [p.returncode for p in procs] == [0] * 20


def test_a_child_reaped_elsewhere_does_not_hang_wait() -> None:
    proc = python("pass")
    pid, _status = os.waitpid(proc.pid, 0)
    assert pid == proc.pid
    assert proc.wait(timeout=30) == 0  # status unknown: 0, as the stdlib says


def test_greenkit_wait_accepts_popen_objects() -> None:
    procs = [python(f"import sys; sys.exit({n})") for n in (3, 4)]
    done = wait(procs, timeout=30)
    assert sorted(p.returncode for p in done) == [3, 4]
    assert set(map(id, done)) == set(map(id, procs))


def test_failed_exec_raises_in_the_parent() -> None:
    with pytest.raises(FileNotFoundError) as info:
        subprocess.Popen(["/nonexistent/greenkit-no-such-program"])
    assert info.value.errno == 2
    assert info.value.filename == "/nonexistent/greenkit-no-such-program"


def test_bad_cwd_names_the_directory() -> None:
    with pytest.raises(FileNotFoundError) as info:
        subprocess.Popen([PY, "-c", "pass"], cwd="/nonexistent/greenkit-dir")
    assert info.value.filename == "/nonexistent/greenkit-dir"


def test_preexec_fn_failure_is_a_subprocess_error() -> None:
    def boom() -> None:
        raise ValueError("no")

    with pytest.raises(subprocess.SubprocessError, match="preexec_fn"):
        subprocess.Popen([PY, "-c", "pass"], preexec_fn=boom)


def test_bad_arguments_raise_like_the_stdlib() -> None:
    with pytest.raises(TypeError, match="bufsize must be an integer"):
        subprocess.Popen([PY, "-c", "pass"], bufsize="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="startupinfo"):
        subprocess.Popen([PY, "-c", "pass"], startupinfo=object())
    with pytest.raises(subprocess.SubprocessError, match="disambiguate"):
        subprocess.Popen([PY, "-c", "pass"], text=True, universal_newlines=False)
    with pytest.raises(ValueError, match="negative"):
        subprocess.Popen([PY, "-c", "pass"], user=-1)


def test_popen_in_a_thread_without_the_default_loop_is_refused() -> None:
    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            subprocess.Popen([PY, "-c", "pass"], stdout=subprocess.PIPE)
        except TypeError as ex:
            errors.append(ex)
        finally:
            get_hub().destroy(destroy_loop=True)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert [str(e) for e in errors] == ["child watchers are only available on the default loop"]


# -- concurrency --------------------------------------------------------------


def test_two_greenlets_each_wait_for_a_child() -> None:
    procs = [python("import time; time.sleep(0.3)"), python("import time; time.sleep(0.3)")]
    waiters = [Greenlet.spawn(p.wait) for p in procs]
    joinall(waiters, timeout=30, raise_error=True)
    assert [g.value for g in waiters] == [0, 0]


def test_other_greenlets_run_while_a_child_sleeps() -> None:
    ticks: list[int] = []

    def ticker() -> None:
        while True:
            ticks.append(1)
            sleep(0.01)

    glet = Greenlet.spawn(ticker)
    try:
        with python("import time; time.sleep(0.5)") as proc:
            assert proc.wait() == 0
    finally:
        glet.kill()
    assert len(ticks) >= 5


def test_many_greenlets_wait_on_one_child() -> None:
    with python("import time; time.sleep(0.2)") as proc:
        waiters = [Greenlet.spawn(proc.wait) for _ in range(5)]
        joinall(waiters, timeout=30, raise_error=True)
    assert {g.value for g in waiters} == {0}


# -- pipes and communicate ---------------------------------------------------


def test_pipes_are_cooperative_file_objects() -> None:
    with python(
        "import sys; sys.stdout.write(sys.stdin.readline())",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as proc:
        assert isinstance(proc.stdin, FileObjectPosix)
        assert isinstance(proc.stdout, FileObjectPosix)
        reader = Greenlet.spawn(proc.stdout.read)
        sleep(0.05)
        assert not reader.dead  # parked in the pipe, not blocking the hub
        proc.stdin.write(b"hello\n")
        proc.stdin.flush()
        proc.stdin.close()
        assert reader.get(timeout=30) == b"hello\n"


def test_communicate_input_and_both_outputs() -> None:
    with python(
        "import sys; sys.stderr.write('pineapple'); sys.stdout.write(sys.stdin.read())",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.communicate(b"banana") == (b"banana", b"pineapple")
        assert proc.returncode == 0


def test_communicate_text_mode_translates_newlines() -> None:
    with python(
        "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        out, err = proc.communicate("a\r\nb\rc\n")
    assert out == "a\nb\nc\n"
    assert err is None


def test_communicate_undecodable_output_raises() -> None:
    with python(
        r"import os; os.write(1, b'\xff')", stdout=subprocess.PIPE, encoding="utf-8"
    ) as proc:
        with pytest.raises(UnicodeDecodeError):
            proc.communicate()


def test_communicate_more_than_a_megabyte_each_way() -> None:
    payload = os.urandom(1536 * 1024)
    code = (
        "import sys; data = sys.stdin.buffer.read(); "
        "sys.stdout.buffer.write(data); sys.stderr.buffer.write(data[::-1])"
    )
    with python(
        code, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        out, err = proc.communicate(payload, timeout=60)
    assert out == payload
    assert err == payload[::-1]


def test_communicate_ignores_a_child_that_stops_reading() -> None:
    with python(
        "import sys; sys.stdin.close()", stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as proc:
        out, _ = proc.communicate(b"x" * (1024 * 1024), timeout=60)
    assert out == b""


def test_communicate_timeout_keeps_partial_output() -> None:
    code = "import sys, time; sys.stdout.write('first'); sys.stdout.flush(); time.sleep(60)"
    with python(code, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        deadline = time.monotonic() + 30
        while True:  # until 'first' has arrived
            with pytest.raises(subprocess.TimeoutExpired) as info:
                proc.communicate(timeout=0.1)
            if info.value.output or time.monotonic() > deadline:
                break
        assert info.value.output == b"first"
        assert info.value.stdout == b"first"
        assert info.value.stderr is None
        proc.kill()
    assert proc.returncode == -signal.SIGKILL


def test_communicate_retry_after_timeout_returns_everything() -> None:
    code = (
        "import sys, time; sys.stdout.write('a'); sys.stdout.flush(); time.sleep(0.5); print('b')"
    )
    with python(code, stdout=subprocess.PIPE) as proc:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.communicate(timeout=0.01)
        out, err = proc.communicate(timeout=30)
    assert out == b"ab\n"
    assert err is None


def test_exit_kills_communicating_greenlets_and_closes_pipes() -> None:
    proc = python("import time; time.sleep(60)", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    communicator = Greenlet.spawn(proc.communicate)
    sleep(0.1)
    readers = list(proc._communicating_greenlets)
    assert len(readers) == 2
    communicator.kill()
    proc.kill()
    proc.__exit__(None, None, None)
    assert all(r.dead for r in readers)
    assert proc.stdout.closed and proc.stderr.closed
    assert proc.returncode == -signal.SIGKILL


def test_file_object_passed_as_stdin_is_made_blocking_for_the_child() -> None:
    r, w = os.pipe()
    stdin = FileObjectPosix(r, "rb")
    try:
        with python(
            "import sys; sys.stdout.write(sys.stdin.read())", stdin=stdin, stdout=subprocess.PIPE
        ) as proc:
            os.write(w, b"data")
            os.close(w)
            w = -1
            out, _ = proc.communicate(timeout=30)
        assert out == b"data"
    finally:
        stdin.close()
        if w != -1:
            os.close(w)


# -- signals ----------------------------------------------------------------


def test_terminate_kill_and_send_signal() -> None:
    for method, expected in (("terminate", -signal.SIGTERM), ("kill", -signal.SIGKILL)):
        with python("import time; time.sleep(60)") as proc:
            getattr(proc, method)()
            assert proc.wait(timeout=30) == expected
    with python("import time; time.sleep(60)") as proc:
        proc.send_signal(signal.SIGUSR1)
        assert proc.wait(timeout=30) == -signal.SIGUSR1


def test_signalling_an_exited_child_does_nothing() -> None:
    with python("pass") as proc:
        proc.wait()
        proc.kill()  # no ProcessLookupError, no signal to a recycled pid
    assert proc.returncode == 0


# -- Popen arguments ---------------------------------------------------------


def test_cwd_env_and_umask(tmp_path: os.PathLike[str]) -> None:
    code = "import os; print(os.getcwd()); print(os.environ.get('FRUIT')); print(oct(os.umask(0)))"
    out = subprocess.check_output(
        [PY, "-c", code], cwd=tmp_path, env={**os.environ, "FRUIT": "banana"}, umask=0o027
    )
    cwd, fruit, umask = out.decode().split()
    assert os.path.samefile(cwd, tmp_path)
    assert fruit == "banana"
    assert umask == "0o27"


def test_start_new_session_and_process_group() -> None:
    code = "import os; print(os.getsid(0) == os.getpid(), os.getpgid(0) == os.getpid())"
    assert subprocess.check_output([PY, "-c", code], start_new_session=True) == b"True True\n"
    assert subprocess.check_output([PY, "-c", code], process_group=0) == b"False True\n"


def test_pass_fds_and_close_fds() -> None:
    r, w = os.pipe()
    try:
        code = f"import os; os.write({w}, b'x')"
        subprocess.check_call([PY, "-c", code], pass_fds=[w])
        assert os.read(r, 1) == b"x"
        assert subprocess.call([PY, "-c", code], stderr=subprocess.DEVNULL) == 1
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.skipif(os.geteuid() != 0, reason="setgroups() needs root")
def test_user_group_and_extra_groups() -> None:
    code = "import os; print(os.getuid(), os.getgid(), os.getgroups())"
    out = subprocess.check_output(
        [PY, "-c", code], user=os.getuid(), group=os.getgid(), extra_groups=[os.getgid()]
    )
    assert out.decode().split(None, 2) == [str(os.getuid()), str(os.getgid()), f"[{os.getgid()}]\n"]


def test_preexec_fn_runs_in_the_child() -> None:
    out = subprocess.check_output(
        [PY, "-c", "import os; print(os.environ['MARK'])"],
        preexec_fn=lambda: os.environ.__setitem__("MARK", "set"),
    )
    assert out == b"set\n"
    assert "MARK" not in os.environ


def test_stderr_to_stdout_and_devnull() -> None:
    code = "import sys; print('out'); sys.stdout.flush(); print('err', file=sys.stderr)"
    out = subprocess.check_output([PY, "-c", code], stderr=subprocess.STDOUT)
    assert out.split() == [b"out", b"err"]
    out = subprocess.check_output([PY, "-c", code], stderr=subprocess.DEVNULL)
    assert out == b"out\n"


def test_text_mode_line_buffered_stdin() -> None:
    with python(
        "import sys; print(sys.stdin.readline().upper(), end='')",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    ) as proc:
        proc.stdin.write("line\n")  # sent at once: line buffering
        assert proc.stdout.readline() == "LINE\n"
        proc.stdin.close()


# -- helper functions ---------------------------------------------------------


def test_call_and_check_call() -> None:
    assert subprocess.call([PY, "-c", "import sys; sys.exit(3)"]) == 3
    assert subprocess.check_call([PY, "-c", "pass"]) == 0
    with pytest.raises(subprocess.CalledProcessError) as info:
        subprocess.check_call([PY, "-c", "import sys; sys.exit(4)"])
    assert info.value.returncode == 4


def test_call_timeout_kills_the_child() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.call([PY, "-c", "import time; time.sleep(60)"], timeout=0.1)


def test_check_output() -> None:
    assert subprocess.check_output([PY, "-c", "print('hi')"]) == b"hi\n"
    assert subprocess.check_output([PY, "-c", "print('hi')"], text=True) == "hi\n"
    assert (
        subprocess.check_output(
            [PY, "-c", "import sys; print(sys.stdin.read())"], input=None, text=True
        )
        == "\n"
    )
    with pytest.raises(ValueError, match="stdout argument not allowed"):
        subprocess.check_output([PY, "-c", "pass"], stdout=subprocess.PIPE)
    with pytest.raises(subprocess.CalledProcessError) as info:
        subprocess.check_output([PY, "-c", "print('x'); raise SystemExit(44)"])
    assert info.value.returncode == 44
    assert info.value.output == b"x\n"


def test_run() -> None:
    done = subprocess.run(
        [PY, "-c", "import sys; print(sys.stdin.read().upper())"],
        input=b"pear",
        capture_output=True,
    )
    assert isinstance(done, subprocess.CompletedProcess)
    assert done.returncode == 0
    assert done.stdout == b"PEAR\n"
    assert done.stderr == b""
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run([PY, "-c", "raise SystemExit(47)"], check=True)
    with pytest.raises(ValueError, match="stdin and input"):
        subprocess.run([PY, "-c", "pass"], stdin=subprocess.PIPE, input=b"x")
    with pytest.raises(ValueError, match="capture_output"):
        subprocess.run([PY, "-c", "pass"], stdout=subprocess.PIPE, capture_output=True)


def test_run_timeout_keeps_partial_output_and_reaps_the_child() -> None:
    code = "import sys, time; sys.stdout.write('BDFL'); sys.stdout.flush(); time.sleep(60)"
    with pytest.raises(subprocess.TimeoutExpired) as info:
        subprocess.run([PY, "-c", code], timeout=3, stdout=subprocess.PIPE)
    assert info.value.output == b"BDFL"


def test_run_shell_timeout_does_not_wait_for_grandchildren() -> None:
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run("sleep 3", shell=True, timeout=0.1, capture_output=True)
    assert time.monotonic() - started < 2.5


def test_getoutput_and_getstatusoutput() -> None:
    assert subprocess.getoutput("echo hello") == "hello"
    assert subprocess.getstatusoutput("echo oops >&2; exit 3") == (3, "oops")


@pytest.mark.parametrize("timeout", [-1, 0, 0.1])
@pytest.mark.parametrize("capture", [False, True])
def test_timeout_expired_reports_the_timeout_passed(timeout: float, capture: bool) -> None:
    # Not what was left of it when the last wait began.
    sleeper = [PY, "-c", "import time; time.sleep(30)"]
    with pytest.raises(subprocess.TimeoutExpired) as info:
        subprocess.run(sleeper, timeout=timeout, capture_output=capture)
    assert info.value.timeout == timeout
    assert f"timed out after {timeout} seconds" in str(info.value)
    with subprocess.Popen(sleeper) as proc:
        for call in (proc.communicate, proc.wait):
            with pytest.raises(subprocess.TimeoutExpired) as info:
                call(timeout=timeout)
            assert info.value.timeout == timeout
        proc.kill()


def test_stdout_stdout_is_refused_like_the_stdlib() -> None:
    # 3.13 refuses it up front; before, spawning fails with EBADF.
    expected: type[Exception] = ValueError if sys.version_info >= (3, 13) else OSError
    for spawn in (subprocess.run, subprocess.Popen, std_subprocess.Popen):
        with pytest.raises(expected) as info:
            spawn(["true"], stdout=subprocess.STDOUT)
        if expected is ValueError:
            assert str(info.value) == "STDOUT can only be used for stderr"
