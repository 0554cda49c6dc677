"""The meta-package's greenkit/__init__: namespace extension and lazy names."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
from pathlib import Path

import pytest

import greenkit
import greenkit_testing
from greenkit_testing.gevent_api import GEVENT_TOP_LEVEL_ALL


def run_python(code: str, *, path: list[Path] | None = None) -> str:
    """Run code in a fresh interpreter (optionally with folders put first on sys.path)."""
    prelude = ""
    if path:
        prelude = f"import sys; sys.path[:0] = {[str(p) for p in path]!r}\n"
    return greenkit_testing.run_python(code, prelude=prelude).stdout


def test_init_is_the_meta_packages() -> None:
    files = importlib.metadata.files("greenkit") or []
    inits = [f for f in files if str(f) == "greenkit/__init__.py"]
    assert len(inits) == 1
    assert Path(greenkit.__file__ or "").resolve() == Path(str(inits[0].locate())).resolve()


def test_version() -> None:
    assert greenkit.__version__ == importlib.metadata.version("greenkit")
    info = greenkit.version_info
    assert (info.major, info.minor, info.micro) == tuple(
        int(part) for part in greenkit.__version__.split(".")[:3]
    )
    assert info.releaselevel == "final"
    assert "version_info" in greenkit.__all__


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="module 'greenkit' has no attribute 'no_such_thing'"):
        greenkit.no_such_thing  # noqa: B018
    assert not hasattr(greenkit, "spawn_nothing")


def test_lazy_table_loads_on_first_access(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(greenkit._LAZY, "lazy_dumps", "json:dumps")
    monkeypatch.delitem(vars(greenkit), "lazy_dumps", raising=False)
    assert "lazy_dumps" in dir(greenkit)
    assert "lazy_dumps" not in vars(greenkit)
    assert greenkit.lazy_dumps is json.dumps
    # cached in the module: the next read does not go through __getattr__
    assert vars(greenkit)["lazy_dumps"] is json.dumps
    monkeypatch.delitem(vars(greenkit), "lazy_dumps")


def test_import_greenkit_imports_no_piece() -> None:
    out = run_python(
        """
        import sys
        import greenkit
        print(sorted(m for m in sys.modules if m.startswith("greenkit.")))
        greenkit.__version__
        print(sorted(m for m in sys.modules if m.startswith("greenkit.")))
        """
    )
    before, after = out.splitlines()
    assert before == "[]"
    assert after == "['greenkit._version']"


def test_dir_lists_lazy_names() -> None:
    names = dir(greenkit)
    assert {"__version__", "version_info", "__path__"} <= set(names)
    assert names == sorted(names)


def test_extend_path_covers_other_portions(tmp_path: Path) -> None:
    # A portion elsewhere on sys.path: greenkit/<piece>/ without greenkit/__init__.py.
    piece = tmp_path / "portion" / "greenkit" / "extra_piece"
    piece.mkdir(parents=True)
    (piece / "__init__.py").write_text("VALUE = 42\n")
    meta_init = greenkit.__file__
    out = run_python(
        """
        import greenkit, greenkit.extra_piece
        print(greenkit.extra_piece.VALUE)
        print(greenkit.__file__)
        print("\\n".join(greenkit.__path__))
        """,
        path=[tmp_path / "portion"],
    )
    value, init, *paths = out.splitlines()
    assert value == "42"
    assert init == meta_init  # the portion did not shadow the meta-package
    assert str(tmp_path / "portion" / "greenkit") in paths
    assert str(Path(meta_init or "").parent) == paths[0]


def test_name_from_a_missing_piece_is_an_attribute_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import greenkit

    monkeypatch.setitem(greenkit._LAZY, "not_here", "greenkit.pywsgi.not_a_module:thing")
    assert not hasattr(greenkit, "not_here")
    with pytest.raises(AttributeError, match="greenkit-servers"):
        greenkit.not_here  # noqa: B018


def test_all_has_gevents_top_level_names() -> None:
    assert set(GEVENT_TOP_LEVEL_ALL) <= set(greenkit.__all__)
    assert greenkit.__all__ == sorted(greenkit.__all__)


@pytest.mark.parametrize("name", sorted(greenkit._LAZY))
def test_every_lazy_name_is_the_object_of_its_module(name: str) -> None:
    module_name, _, attribute = greenkit._LAZY[name].partition(":")
    expected = importlib.import_module(module_name)
    for part in filter(None, attribute.split(".")):
        expected = getattr(expected, part)
    assert getattr(greenkit, name) == expected  # (a classmethod binds anew each time)
