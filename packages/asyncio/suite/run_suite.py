"""CPython's own asyncio tests (``test.test_asyncio``) on greenkit's event loop.

Every test module of the running interpreter runs twice, each in a child
process: once as is (the stdlib's default loop: the same-run baseline) and
once with greenkit's loop installed the way alternative loops test
themselves: the default event loop policy makes :class:`GreenkitEventLoop`
instances, and ``asyncio.SelectorEventLoop`` (which ``test_events`` and
others construct directly, one per selector class) and, on 3.13+,
``asyncio.EventLoop`` are replaced by a greenkit loop (the selector
argument is dropped: the hub does the waiting).

Prints, per module, the tests the baseline passed and how many of those
pass on greenkit's loop, then the total; ``--json`` writes every failing
test id.  Exit status 0 unless ``--min-percent`` is given and not reached.

Usage: ``python run_suite.py [--jobs N] [--json out.json] [--min-percent P] [module ...]``
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import pkgutil
import subprocess
import sys
import tempfile
import time
import unittest
from typing import Any

#: Modules that test other platforms only (nothing runs here on either loop).
_SKIP_MODULES = {"test_windows_events", "test_windows_utils", "test_proactor_events"}
#: A module still running after this long is killed and counted as failed.
MODULE_TIMEOUT = 900.0


def _install_greenkit_loop() -> None:
    import asyncio
    import asyncio.unix_events

    import greenkit.asyncio as gasyncio

    class SuiteEventLoop(gasyncio.GreenkitEventLoop):
        """``asyncio.SelectorEventLoop(selector)``, on the hub: the selector is unused."""

        def __init__(self, selector: Any = None) -> None:
            if selector is not None:
                selector.close()
            super().__init__()

    asyncio.DefaultEventLoopPolicy = gasyncio.EventLoopPolicy  # type: ignore[misc]
    asyncio.unix_events.DefaultEventLoopPolicy = gasyncio.EventLoopPolicy  # type: ignore[misc]
    asyncio.SelectorEventLoop = SuiteEventLoop  # type: ignore[misc]
    asyncio.unix_events.SelectorEventLoop = SuiteEventLoop  # type: ignore[misc]
    if hasattr(asyncio, "EventLoop"):  # 3.13+: the platform's default loop class
        asyncio.EventLoop = SuiteEventLoop
        asyncio.unix_events.EventLoop = SuiteEventLoop
    asyncio.set_event_loop_policy(None)


class _Recorder(unittest.TestResult):
    """Records each test id under passed/failed/skipped."""

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[str, list[str]] = {"passed": [], "failed": [], "skipped": []}

    def addSuccess(self, test: Any) -> None:  # noqa: N802
        self.outcomes["passed"].append(test.id())

    def addFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        self.outcomes["failed"].append(test.id())

    def addError(self, test: Any, err: Any) -> None:  # noqa: N802
        self.outcomes["failed"].append(test.id())

    def addSkip(self, test: Any, reason: str) -> None:  # noqa: N802
        self.outcomes["skipped"].append(test.id())

    def addExpectedFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        self.outcomes["passed"].append(test.id())

    def addUnexpectedSuccess(self, test: Any) -> None:  # noqa: N802
        self.outcomes["failed"].append(test.id())

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:  # noqa: N802
        if err is not None:
            self.outcomes["failed"].append(test.id())


def _child(impl: str, module: str, out: str) -> None:
    if impl == "greenkit":
        _install_greenkit_loop()
    suite = unittest.defaultTestLoader.loadTestsFromName(f"test.test_asyncio.{module}")
    result = _Recorder()
    suite.run(result)
    outcomes = result.outcomes
    failed = set(outcomes["failed"])
    outcomes["passed"] = sorted(set(outcomes["passed"]) - failed)
    outcomes["failed"] = sorted(failed)
    with open(out, "w") as handle:
        json.dump(outcomes, handle)


def _modules() -> list[str]:
    import test.test_asyncio as package

    return sorted(
        info.name
        for info in pkgutil.iter_modules(package.__path__)
        if info.name.startswith("test_") and info.name not in _SKIP_MODULES
    )


def _run_module(impl: str, module: str) -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        try:
            subprocess.run(
                [sys.executable, __file__, "--child", impl, module, out],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=MODULE_TIMEOUT,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired:
            return {"passed": [], "failed": [f"{module} (timed out)"], "skipped": []}
        if not os.path.exists(out):
            return {"passed": [], "failed": [f"{module} (crashed)"], "skipped": []}
        with open(out) as handle:
            result: dict[str, list[str]] = json.load(handle)
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--child", nargs=3, metavar=("IMPL", "MODULE", "OUT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", help="write the per-module results here")
    parser.add_argument("--min-percent", type=float, default=None)
    parser.add_argument("modules", nargs="*")
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    modules = args.modules or _modules()
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {
            (impl, module): pool.submit(_run_module, impl, module)
            for module in modules
            for impl in ("default", "greenkit")
        }
        results = {key: future.result() for key, future in futures.items()}
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"CPython {version} test.test_asyncio: default loop (baseline) vs greenkit's loop")
    print(f"{'module':<28}{'baseline passed':>16}{'greenkit passed':>16}{'%':>8}")
    report: dict[str, Any] = {"python": version, "modules": {}}
    total_base = total_ours = 0
    for module in modules:
        base = set(results["default", module]["passed"])
        ours = set(results["greenkit", module]["passed"])
        kept = base & ours
        total_base += len(base)
        total_ours += len(kept)
        percent = 100.0 * len(kept) / len(base) if base else 100.0
        print(f"{module:<28}{len(base):>16}{len(kept):>16}{percent:>8.1f}")
        report["modules"][module] = {
            "baseline_passed": len(base),
            "greenkit_passed": len(kept),
            "failing": sorted(base - ours),
        }
    percent = 100.0 * total_ours / total_base if total_base else 100.0
    print(f"{'total':<28}{total_base:>16}{total_ours:>16}{percent:>8.1f}")
    print(f"({time.monotonic() - start:.0f} s)")
    report["total"] = {
        "baseline_passed": total_base,
        "greenkit_passed": total_ours,
        "percent": round(percent, 2),
    }
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)
    if args.min_percent is not None and percent < args.min_percent:
        print(f"below {args.min_percent}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
