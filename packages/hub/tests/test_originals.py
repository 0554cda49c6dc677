"""The registry of original stdlib objects."""

from __future__ import annotations

import time

from greenkit import _originals
from greenkit._originals import get_original, is_patched, save_original


def test_unpatched_names_come_from_the_module() -> None:
    assert get_original("time", "sleep") is time.sleep
    assert get_original("time", ["sleep", "monotonic"]) == [time.sleep, time.monotonic]
    assert not is_patched("time")


def test_saved_original_wins_and_first_save_is_kept() -> None:
    marker, other = object(), object()
    try:
        save_original("time", "sleep", marker)
        save_original("time", "sleep", other)
        assert get_original("time", "sleep") is marker
        assert get_original("time", ["sleep", "monotonic"]) == [marker, time.monotonic]
        assert is_patched("time") and is_patched("time", "sleep")
        assert not is_patched("time", "monotonic")
    finally:
        _originals._saved.pop("time", None)
