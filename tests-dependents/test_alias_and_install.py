"""The environment the scenarios run in: the alias reaches child processes,
and the dependents were installed without gevent (every other requirement
of every installed distribution is met)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys

import pytest
from conftest import ALIAS_ENV, child_env, run
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

#: Checked in a child: what ``import gevent`` gives there.
_PROBE = """
import json, gevent, gevent.pywsgi, gevent.monkey, greenkit, greenkit.pywsgi, greenkit.monkey
print(json.dumps({
    "version": gevent.__version__,
    "version_info": list(gevent.version_info[:3]),
    "pywsgi": gevent.pywsgi is greenkit.pywsgi,
    "monkey": gevent.monkey is greenkit.monkey,
    "greenkit_version": greenkit.__version__,
}))
"""


def test_alias_is_switched_on_for_this_run() -> None:
    assert os.environ.get(ALIAS_ENV) == "1"


def test_the_alias_reaches_child_processes() -> None:
    done = run([sys.executable, "-c", "import gevent; print(gevent.__version__)"], timeout=30)
    assert done.stdout.strip() == "26.9.0"
    probe = json.loads(run([sys.executable, "-c", _PROBE], timeout=30).stdout)
    assert probe["version"] == "26.9.0"
    assert probe["version_info"] == [26, 9, 0]
    assert probe["pywsgi"] is True and probe["monkey"] is True
    assert probe["greenkit_version"] == importlib.metadata.version("greenkit")


def test_without_the_alias_there_is_no_gevent() -> None:
    code = "import importlib.util; print(importlib.util.find_spec('gevent'))"
    done = run([sys.executable, "-c", code], timeout=30, env=child_env(alias=False))
    assert done.stdout.strip() == "None"


def _distributions() -> dict[str, importlib.metadata.Distribution]:
    return {
        canonicalize_name(d.metadata["Name"] or ""): d for d in importlib.metadata.distributions()
    }


def test_no_gevent_distribution_is_installed() -> None:
    assert "gevent" not in _distributions()
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.version("gevent")


def test_every_other_requirement_is_met() -> None:
    """What gevent itself would have brought (greenlet, zope.interface, ...)
    is there in versions the dependents accept; only gevent is missing,
    and the alias stands in for it."""
    installed = _distributions()
    assert {"greenlet", "zope-interface"} <= set(installed)
    unmet = []
    wanted_gevent = []
    for name, dist in sorted(installed.items()):
        for text in dist.requires or ():
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            key = canonicalize_name(req.name)
            if key == "gevent":
                wanted_gevent.append(name)
                continue
            have = installed.get(key)
            if have is None or not req.specifier.contains(have.version, prereleases=True):
                unmet.append(f"{name} needs {req} (has {have and have.version})")
    assert unmet == []
    # The dependents that declare gevent are installed all the same.
    assert {"gevent-websocket", "geventhttpclient", "grequests", "locust"} <= set(wanted_gevent)
