#!/usr/bin/env python3
"""Keep every distribution's version and inter-package pins in lockstep.

The one version lives in the root ``VERSION`` file.  This script rewrites,
in every ``packages/*/pyproject.toml``:

* the ``[project]`` ``version = "..."`` line, to VERSION;
* each dependency on a sibling distribution, to a compatible-release pin on
  VERSION's major.minor (``greenkit-hub~=0.1``);
* the meta-package's (``packages/greenkit``) dependencies, to an exact pin
  (``greenkit-hub==0.1.0``) on every runtime distribution; a missing one is
  added.  An *add-on* (a distribution the meta-package offers through one of
  its extras, ``greenkit[gevent-compat]``) is pinned exactly there instead,
  so that the whole kit does not drag in gunicorn and the like.

``greenkit-testing`` is not a runtime distribution: nothing may depend on it
at run time.  No piece may depend on the meta-package, except an add-on,
which stands on top of the whole kit (``greenkit~=0.1``).

``--check`` changes nothing: it prints every disagreement and exits 1 if
there is any.  Only the standard library is used.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
META = "greenkit"
#: Distributions that are never installed as a dependency of anything.
NOT_RUNTIME = frozenset({"greenkit-testing"})

_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?$")
# name, extras, version specifier, environment marker
_REQ_RE = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?\s*"
    r"(?P<spec>[^;]*?)\s*(?P<marker>;.*)?$"
)
_PROJECT_VERSION_RE = re.compile(r'^(version\s*=\s*)"([^"]*)"', re.MULTILINE)
_META_DEPS_RE = re.compile(r"^dependencies\s*=\s*\[(?P<body>.*?)^\]", re.MULTILINE | re.DOTALL)


def normalize(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Package:
    folder: Path
    name: str
    text: str
    dependencies: list[str]
    optional: dict[str, list[str]] = field(default_factory=dict)

    @property
    def pyproject(self) -> Path:
        return self.folder / "pyproject.toml"

    @property
    def is_meta(self) -> bool:
        return normalize(self.name) == META


def read_version(root: Path = ROOT) -> str:
    version = (root / "VERSION").read_text().strip()
    if not _VERSION_RE.match(version):
        raise SystemExit(f"VERSION: {version!r} is not a release version like 1.2.3")
    return version


def load_packages(root: Path = ROOT) -> list[Package]:
    packages = []
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        text = pyproject.read_text()
        project = tomllib.loads(text).get("project", {})
        if "name" not in project:
            raise SystemExit(f"{pyproject.relative_to(root)}: no [project] name")
        packages.append(
            Package(
                folder=pyproject.parent,
                name=project["name"],
                text=text,
                dependencies=list(project.get("dependencies", [])),
                optional={k: list(v) for k, v in project.get("optional-dependencies", {}).items()},
            )
        )
    return packages


def split_requirement(req: str) -> tuple[str, str, str, str]:
    match = _REQ_RE.match(req)
    if match is None:
        raise SystemExit(f"cannot parse requirement {req!r}")
    return (
        match["name"],
        match["extras"] or "",
        match["spec"].strip(),
        match["marker"] or "",
    )


def pinned(req: str, spec: str) -> str:
    name, extras, _old, marker = split_requirement(req)
    marker = f"; {marker[1:].strip()}" if marker else ""
    return f"{name}{extras}{spec}{marker}"


def plan(root: Path = ROOT) -> tuple[list[str], dict[Path, str]]:
    """Return (disagreements, {pyproject: corrected text})."""
    version = read_version(root)
    major_minor = ".".join(version.split(".")[:2])
    packages = load_packages(root)
    siblings = {normalize(p.name) for p in packages}
    runtime = sorted(s for s in siblings if s != META and s not in NOT_RUNTIME)
    addons = _addons(packages)
    problems: list[str] = []
    fixed: dict[Path, str] = {}

    for pkg in packages:
        where = str(pkg.pyproject.relative_to(root))
        text = pkg.text

        found = _PROJECT_VERSION_RE.search(text)
        if found is None:
            problems.append(f'{where}: no version = "..." line')
        elif found.group(2) != version:
            problems.append(f"{where}: version {found.group(2)} != VERSION {version}")
            text = _PROJECT_VERSION_RE.sub(rf'\g<1>"{version}"', text, count=1)

        groups = {"dependencies": pkg.dependencies, **pkg.optional}
        for group, reqs in groups.items():
            for req in reqs:
                name = normalize(split_requirement(req)[0])
                if name not in siblings:
                    continue
                on_meta_allowed = name == META and normalize(pkg.name) in addons
                if group == "dependencies" and (
                    name in NOT_RUNTIME or (name == META and not on_meta_allowed)
                ):
                    problems.append(f"{where}: runtime dependency on {name} is not allowed")
                    continue
                want_spec = f"=={version}" if pkg.is_meta else f"~={major_minor}"
                want = pinned(req, want_spec)
                if req != want:
                    problems.append(f"{where}: {req!r} should be {want!r}")
                    text = text.replace(f'"{req}"', f'"{want}"')

        if pkg.is_meta:
            have = {normalize(split_requirement(r)[0]) for r in pkg.dependencies}
            missing = [name for name in runtime if name not in have and name not in addons]
            for name in missing:
                problems.append(f"{where}: missing pin {name}=={version}")
            if missing:
                text = _add_meta_pins(text, [f"{name}=={version}" for name in missing], where)

        if text != pkg.text:
            fixed[pkg.pyproject] = text
    return problems, fixed


def _addons(packages: list[Package]) -> set[str]:
    """Distributions that the meta-package offers through its extras."""
    meta = [p for p in packages if p.is_meta]
    if not meta:
        return set()
    return {
        normalize(split_requirement(req)[0]) for reqs in meta[0].optional.values() for req in reqs
    }


def _add_meta_pins(text: str, pins: list[str], where: str) -> str:
    match = _META_DEPS_RE.search(text)
    if match is None:
        raise SystemExit(f"{where}: no multi-line 'dependencies = [' ... ']' block to add pins to")
    body = match["body"]
    if body.strip() and not body.rstrip().endswith(","):
        body = body.rstrip() + ",\n"
    elif not body.strip():
        body = "\n"
    body += "".join(f'    "{pin}",\n' for pin in pins)
    return text[: match.start("body")] + body + text[match.end("body") :]


Plan = Callable[[Path], tuple[list[str], dict[Path, str]]]


def cli(argv: list[str] | None, doc: str | None, plan: Plan, agreed: Callable[[Path], str]) -> int:
    """The command line of a tool that rewrites files from a ``plan(root)``.

    ``plan`` returns (disagreements, {file: corrected text}).  With
    ``--check`` print the disagreements (exit 1 if any) or ``agreed(root)``;
    without it write the corrected files and report what is left.
    """
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if anything disagrees"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    problems, fixed = plan(args.root)
    if args.check:
        for problem in problems:
            print(problem)
        if problems:
            print(f"{len(problems)} disagreement(s); run: python {Path(sys.argv[0]).name}")
            return 1
        print(agreed(args.root))
        return 0

    for path, text in fixed.items():
        path.write_text(text)
        print(f"rewrote {path.relative_to(args.root)}")
    remaining, _ = plan(args.root)
    for problem in remaining:
        print(f"cannot fix automatically: {problem}")
    return 1 if remaining else 0


def main(argv: list[str] | None = None) -> int:
    return cli(
        argv, __doc__, plan, lambda root: f"all pins agree with VERSION {read_version(root)}"
    )


if __name__ == "__main__":
    sys.exit(main())
