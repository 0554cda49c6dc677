"""greenkit.resolver._hostsfile and the shared pieces of greenkit.resolver._lookup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from greenkit.resolver._hostsfile import HostsFile
from greenkit.resolver._lookup import (
    AGAIN,
    NODATA,
    NXDOMAIN,
    Answer,
    Failure,
    merge_answers,
    split_nameserver,
)
from greenkit_testing import run_python


def test_hosts_file(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    path.write_text(
        "# comment\n"
        "127.0.0.1 localhost\n"
        "10.0.0.1\tOne.example one # trailing comment\n"
        "fe80::1%eth0 one\n"
        "10.0.0.2 one two\n"
        "not-an-address bogus\n"
        "10.0.0.3\n"
    )
    hosts = HostsFile(str(path))
    entry = hosts.lookup("ONE.")
    assert entry is not None
    assert (entry.name, entry.aliases) == ("One.example", ["one"])
    assert entry.ipv4 == ["10.0.0.1", "10.0.0.2"]
    assert entry.ipv6 == ["fe80::1%eth0"]
    assert entry.addresses(0) == [(2, "10.0.0.1"), (2, "10.0.0.2"), (10, "fe80::1%eth0")]
    two = hosts.lookup("two")
    assert two is not None and (two.name, two.aliases, two.ipv4) == ("one", ["two"], ["10.0.0.2"])
    assert hosts.lookup("bogus") is None
    assert hosts.lookup("") is None
    reverse = hosts.reverse("10.0.0.2")
    assert reverse is not None and (reverse.name, reverse.aliases) == ("one", ["two"])
    assert hosts.reverse("fe80:0::1") is not None
    assert hosts.reverse("10.0.0.3") is None
    assert hosts.reverse("junk") is None
    # Re-read when the file changes.
    path.write_text("10.0.0.9 one\n")
    os.utime(path, ns=(1, 1))
    entry = hosts.lookup("one")
    assert entry is not None and entry.ipv4 == ["10.0.0.9"]


def test_hosts_file_checked_once_per_clock_reading(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    path.write_text("10.0.0.1 one\n")
    now = [0.0]
    hosts = HostsFile(str(path), clock=lambda: now[0])
    entry = hosts.lookup("one")
    assert entry is not None and entry.ipv4 == ["10.0.0.1"]
    path.write_text("10.0.0.2 one\n10.0.0.3 two\n")
    assert hosts.lookup("two") is None  # same reading of the clock: not checked again
    now[0] = 1.0
    entry = hosts.lookup("two")
    assert entry is not None and entry.ipv4 == ["10.0.0.3"]
    # A new path is read at the next lookup, whatever the clock says.
    other = tmp_path / "other"
    other.write_text("10.0.0.4 four\n")
    hosts.path = str(other)
    assert hosts.path == str(other)
    entry = hosts.lookup("four")
    assert entry is not None and entry.ipv4 == ["10.0.0.4"]


def test_missing_hosts_file_is_empty(tmp_path: Path) -> None:
    hosts = HostsFile(str(tmp_path / "none"))
    assert hosts.lookup("localhost") is None
    assert hosts.reverse("127.0.0.1") is None
    assert HostsFile().path == "/etc/hosts"


def test_split_nameserver() -> None:
    assert split_nameserver("127.0.0.1") == ("127.0.0.1", None)
    assert split_nameserver(" 127.0.0.1:5353 ") == ("127.0.0.1", 5353)
    assert split_nameserver("::1") == ("::1", None)
    assert split_nameserver("[::1]:5353") == ("::1", 5353)
    assert split_nameserver("[::1]") == ("::1", None)


def test_failures_map_to_the_c_librarys_errors() -> None:
    assert Failure(NXDOMAIN).gaierror().args == (-2, "Name or service not known")
    assert Failure(NODATA).gaierror().args == (-5, "No address associated with hostname")
    assert Failure(AGAIN).gaierror().args == (-3, "Temporary failure in name resolution")
    assert Failure(NXDOMAIN).herror().args == (1, "Unknown host")
    assert Failure(AGAIN).herror().args == (2, "Host name lookup failure")


def test_merge_answers() -> None:
    four = Answer("a", [], [(2, "10.0.0.1")])
    six = Answer("a", [], [(10, "fd00::1")])
    assert merge_answers([four, six]).addresses == [(2, "10.0.0.1"), (10, "fd00::1")]
    assert merge_answers([Failure(NODATA), six]).addresses == [(10, "fd00::1")]
    for answers, kind in [
        ([Failure(NODATA), Failure(AGAIN)], AGAIN),
        ([Failure(NODATA), Failure(NODATA)], NODATA),
        ([Failure(AGAIN), Failure(NXDOMAIN)], NXDOMAIN),
    ]:
        with pytest.raises(Failure) as info:
            merge_answers(list(answers))
        assert info.value.kind == kind


@pytest.mark.parametrize(
    ("kind", "library", "extra"),
    [
        ("ares", "pycares", "greenkit-io[ares]"),
        ("dnspython", "dns", "greenkit-io[dnspython]"),
    ],
)
def test_missing_extra_fails_with_one_line(kind: str, library: str, extra: str) -> None:
    code = (
        "import sys\n"
        f"sys.modules[{library!r}] = None\n"
        "from greenkit.config import config\n"
        f"config.resolver = {kind!r}\n"
        "try:\n"
        "    config.resolver\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = run_python(code, timeout=60).stdout
    assert len(out.splitlines()) == 1, out
    assert f"pip install {extra}" in out
