"""Popen's arguments in the form ``fork_exec`` takes them, and the child's failure report.

:class:`greenkit.subprocess.Popen` launches its child with
``_posixsubprocess.fork_exec``, as the standard library does; these helpers
turn the user-facing arguments (``args``/``shell``/``executable``, ``env``,
``user``, ``group``, ``extra_groups``) into what it expects, with the
standard library's checks and messages, and turn the report a child writes
before failing to exec into the exception ``Popen()`` raises.
"""

from __future__ import annotations

import builtins
import os
import sys
from subprocess import SubprocessError
from typing import Any

__all__ = ["argv", "child_exception", "env_list", "extra_group_ids", "group_id", "user_id"]


def group_id(group: Any) -> int:
    if isinstance(group, str):
        import grp

        gid: int = grp.getgrnam(group).gr_gid
    elif isinstance(group, int):
        gid = group
    else:
        raise TypeError(f"Group must be a string or an integer, not {type(group)}")
    if gid < 0:
        raise ValueError(f"Group ID cannot be negative, got {gid}")
    return gid


def extra_group_ids(extra_groups: Any) -> list[int]:
    if isinstance(extra_groups, str):
        raise ValueError("Groups must be a list, not a string")
    gids = []
    for group in extra_groups:
        if isinstance(group, str):
            import grp

            gids.append(grp.getgrnam(group).gr_gid)
        elif isinstance(group, int):
            gids.append(group)
        else:
            raise TypeError(f"Items in extra_groups must be a string or integer, not {type(group)}")
    for gid in gids:
        if gid < 0:
            raise ValueError(f"Group ID cannot be negative, got {gid}")
    return gids


def user_id(user: Any) -> int:
    if isinstance(user, str):
        import pwd

        uid: int = pwd.getpwnam(user).pw_uid
    elif isinstance(user, int):
        uid = user
    else:
        raise TypeError("User must be a string or an integer")
    if uid < 0:
        raise ValueError(f"User ID cannot be negative, got {uid}")
    return uid


def argv(args: Any, executable: Any, shell: bool) -> list[Any]:
    """The child's argv, as the stdlib builds it from ``args``/``shell``."""
    argv: list[Any]
    if isinstance(args, (str, bytes)):
        argv = [args]
    elif isinstance(args, os.PathLike):
        if shell:
            raise TypeError("path-like args is not allowed when shell is true")
        argv = [args]
    else:
        argv = list(args)
    if shell:
        unix_shell = "/system/bin/sh" if hasattr(sys, "getandroidapilevel") else "/bin/sh"
        argv = [unix_shell, "-c", *argv]
        if executable:
            argv[0] = executable
    return argv


def env_list(env: Any) -> list[bytes] | None:
    if env is None:
        return None
    env_list = []
    for key, value in env.items():
        key = os.fsencode(key)
        if b"=" in key:
            raise ValueError("illegal environment variable name")
        env_list.append(key + b"=" + os.fsencode(value))
    return env_list


def child_exception(data: bytes, cwd: Any, executable: Any) -> BaseException:
    """Decode the ``name:hex errno:message`` the child wrote before dying."""
    try:
        name, hex_errno, raw_msg = data.split(b":", 2)
        msg = raw_msg.decode()
    except ValueError:
        name, hex_errno = b"SubprocessError", b"0"
        msg = f"Bad exception data from child: {data!r}"
    exc_type = getattr(builtins, name.decode("ascii"), SubprocessError)
    if issubclass(exc_type, OSError) and hex_errno:
        errno_num = int(hex_errno, 16)
        # Failed before exec: "noexec:chdir" (3.13+) is chdir(cwd); a bare
        # "noexec" is chdir(cwd) up to 3.12 and any other step from 3.13 on.
        filename: Any = executable
        if msg == "noexec:chdir" or (msg == "noexec" and sys.version_info < (3, 13)):
            msg, filename = "", cwd
        elif msg == "noexec":
            msg, filename = "", None
        if errno_num != 0:
            msg = os.strerror(errno_num)
        if filename is None:
            return exc_type(errno_num, msg)
        return exc_type(errno_num, msg, filename)
    return exc_type(msg)
