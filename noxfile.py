"""greenkit's test matrix and chores: run ``nox`` for the default set, ``nox -l`` to list.

Every package is built into a per-Python wheelhouse (``.nox/wheelhouse/<py>/``)
and tested installed from it, never from the source tree, so a file or a
dependency missing from a wheel fails.  Pythons 3.11-3.13 are used where
present (pyenv's are found even when not on PATH); an absent one is skipped,
except under CI (``CI`` set), where it is an error.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sys
import tomllib
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent
PACKAGES_DIR = ROOT / "packages"
DOCS = ROOT / "docs"
SHARED = ROOT.parent / "shared"
WHEELHOUSE = ROOT / ".nox" / "wheelhouse"
VERSION = (ROOT / "VERSION").read_text().strip()
PYTHONS = ["3.11", "3.12", "3.13"]
META = "greenkit"
#: Paths that only the meta-package's wheel may contain.
META_ONLY = ("greenkit/__init__.py", "greenkit/loop/__init__.py")
LINT_PATHS = (
    "packages",
    "tests-integration",
    "tests-dependents",
    "tools",
    "bench",
    "docs",
    "noxfile.py",
)


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _put_pyenv_pythons_on_path() -> None:
    """Put pyenv's newest 3.11/3.12/3.13 bin folders first on PATH.

    pyenv installs them without putting them on PATH (its shims answer
    "command not found" for a version that is not selected).
    """
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    versions = Path(root) / "versions"
    if not versions.is_dir():
        return
    found = []
    for minor in PYTHONS:
        candidates = [
            v
            for v in versions.glob(f"{minor}.*")
            if v.name.removeprefix(f"{minor}.").isdigit()
            and (v / "bin" / f"python{minor}").exists()
        ]
        if candidates:
            newest = max(candidates, key=lambda v: int(v.name.rsplit(".", 1)[1]))
            found.append(str(newest / "bin"))
    path = os.environ.get("PATH", "").split(os.pathsep)
    os.environ["PATH"] = os.pathsep.join(found + [p for p in path if p not in found])


_put_pyenv_pythons_on_path()
# uv must never try to download an interpreter (no internet on these machines).
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
# One id per `nox` invocation, inherited by --parallel workers, so the
# wheelhouse of a Python is built once per run.
RUN_ID = os.environ.setdefault("GREENKIT_NOX_RUN", uuid.uuid4().hex)

nox.needs_version = ">=2024.4.15"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.download_python = "never"
nox.options.error_on_missing_interpreters = _on_ci()
nox.options.sessions = ["pins", "lint", "typecheck", "namespace", "tests", "integration", "docs"]


# -- the packages ---------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    folder: str  # packages/<folder>
    dist: str  # distribution name
    test_requires: tuple[str, ...]  # [dependency-groups] test
    on_meta: bool  # an add-on: depends on the meta-package (the whole kit)
    extras: tuple[str, ...]  # [project.optional-dependencies] names
    requires: tuple[str, ...]  # [project] dependencies and every extra's
    build_requires: tuple[str, ...]  # [build-system] requires

    @property
    def extras_suffix(self) -> str:
        """``[a,b]`` naming every extra, or nothing."""
        return f"[{','.join(self.extras)}]" if self.extras else ""

    @property
    def with_extras(self) -> str:
        """The requirement for this distribution with every one of its extras."""
        return self.dist + self.extras_suffix

    @property
    def path(self) -> Path:
        return PACKAGES_DIR / self.folder

    @property
    def has_tests(self) -> bool:
        return (self.path / "tests").is_dir()


def _requirement_name(requirement: str) -> str:
    """The normalized distribution name a requirement string names."""
    return canonicalize_name(Requirement(requirement).name)


def _read_packages() -> dict[str, Package]:
    found = {}
    for pyproject in sorted(PACKAGES_DIR.glob("*/pyproject.toml")):
        data = tomllib.loads(pyproject.read_text())
        optional = data["project"].get("optional-dependencies", {})
        found[pyproject.parent.name] = Package(
            folder=pyproject.parent.name,
            dist=data["project"]["name"],
            test_requires=tuple(data.get("dependency-groups", {}).get("test", ())),
            on_meta=META in map(_requirement_name, data["project"].get("dependencies", ())),
            extras=tuple(optional),
            requires=(
                *data["project"].get("dependencies", ()),
                *(req for reqs in optional.values() for req in reqs),
            ),
            build_requires=tuple(data.get("build-system", {}).get("requires", ())),
        )
    return found


PACKAGES = _read_packages()
TESTED = [name for name, pkg in PACKAGES.items() if pkg.has_tests]


# -- wheelhouse -------------------------------------------------------------------


def _uv() -> str | None:
    """uv on PATH, else the one installed beside nox (e.g. in the README's .venv)."""
    found = shutil.which(os.environ.get("UV", "uv"))
    if found:
        return found
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.exists() else None


def _python_exe(session: nox.Session) -> str:
    return str(Path(session.bin) / "python")


def _python_minor(session: nox.Session) -> str:
    out = session.run(
        "python",
        "-c",
        "import sys; print('%d.%d' % sys.version_info[:2])",
        silent=True,
        log=False,
    )
    assert isinstance(out, str)
    return out.strip()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_wheels(
    session: nox.Session, flavour: str = "", build_constraints: Path | None = None
) -> Path:
    """Build every package's wheel for the session's Python, once per nox run.

    With build_constraints (a requirements file that pins build
    requirements), the wheels go to a wheelhouse of their own,
    ``.nox/wheelhouse/<py>-<flavour>/``.
    """
    house = WHEELHOUSE / "-".join(filter(None, (_python_minor(session), flavour)))
    house.mkdir(parents=True, exist_ok=True)
    with _locked(house / ".lock"):
        stamp = house / ".built-by-run"
        if stamp.exists() and stamp.read_text() == RUN_ID:
            return house
        stamp.unlink(missing_ok=True)
        for old in house.glob("*.whl"):
            old.unlink()
        uv = _uv()
        if uv is None:
            session.install("build")
        for pkg in PACKAGES.values():
            if uv is not None:
                session.run(
                    uv, "build", "--wheel", "--quiet", "--python", _python_exe(session),
                    *(["--build-constraints", str(build_constraints)] if build_constraints else []),
                    "--out-dir", str(house), str(pkg.path), external=True,
                )  # fmt: skip
            else:
                # build's isolated environment is made by pip, which reads PIP_CONSTRAINT.
                session.run(
                    "python", "-m", "build", "--wheel", "--outdir", str(house), str(pkg.path),
                    env={"PIP_CONSTRAINT": str(build_constraints)} if build_constraints else {},
                )  # fmt: skip
        (house / "constraints.txt").write_text(
            "".join(f"{pkg.dist}=={VERSION}\n" for pkg in PACKAGES.values())
        )
        stamp.write_text(RUN_ID)
    return house


def _uv_fresh_args() -> list[str]:
    # A rebuilt wheel keeps its version: make uv re-read it instead of its cache.
    return [
        arg
        for pkg in PACKAGES.values()
        for arg in ("--reinstall-package", pkg.dist, "--refresh-package", pkg.dist)
    ]


def _reinstall_args(session: nox.Session) -> list[str]:
    if session.venv_backend == "uv":
        return _uv_fresh_args()
    return ["--force-reinstall"]


def install_from_wheelhouse(session: nox.Session, house: Path, *requirements: str) -> None:
    """Install requirements, taking greenkit's distributions from the wheelhouse only."""
    session.install(
        "--find-links", str(house),
        "--constraint", str(house / "constraints.txt"),
        *_reinstall_args(session),
        *dict.fromkeys(requirements),
    )  # fmt: skip


def run_pytest(session: nox.Session, tests: Path, *extra: str) -> None:
    """Run pytest on a folder, with the root configuration, from an empty folder."""
    with session.chdir(session.create_tmp()):
        session.run(
            "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT),
            "-p", "no:cacheprovider", str(tests), *extra, *session.posargs,
        )  # fmt: skip


def _wheel_of(house: Path, dist: str) -> Path:
    prefix = dist.replace("-", "_") + "-"
    matches = [w for w in house.glob("*.whl") if w.name.startswith(prefix)]
    if len(matches) != 1:
        raise RuntimeError(f"expected one wheel of {dist} in {house}, found {matches}")
    return matches[0]


def _packages_in_wheel(wheel: Path) -> list[str]:
    """Dotted names of the (regular) packages a wheel ships."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    return sorted(
        name.removesuffix("/__init__.py").replace("/", ".")
        for name in names
        if name.endswith("/__init__.py") and ".dist-info/" not in name
    )


# -- sessions ---------------------------------------------------------------------


@nox.session(python=PYTHONS)
def wheels(session: nox.Session) -> None:
    """Build every package's wheel for this Python into .nox/wheelhouse/<py>/."""
    house = build_wheels(session)
    for wheel in sorted(house.glob("*.whl")):
        session.log(f"built {wheel.relative_to(ROOT)}")


@nox.session(python=PYTHONS)
@nox.parametrize("package", TESTED)
def tests(session: nox.Session, package: str) -> None:
    """Install one package (and its declared dependencies) from wheels; run its tests."""
    house = build_wheels(session)
    pkg = PACKAGES[package]
    install_from_wheelhouse(
        session, house, pkg.dist, "greenkit-testing", "pytest", *pkg.test_requires
    )
    run_pytest(session, pkg.path / "tests")


@nox.session(python=PYTHONS[0])
def fuzz_pywsgi(session: nox.Session) -> None:
    """Long run of pywsgi's fuzz test against h11 (GREENKIT_FUZZ_CASES, _SEED)."""
    house = build_wheels(session)
    pkg = PACKAGES["servers"]
    install_from_wheelhouse(
        session, house, pkg.dist, "greenkit-testing", "pytest", *pkg.test_requires
    )
    session.env["GREENKIT_FUZZ_CASES"] = os.environ.get("GREENKIT_FUZZ_CASES", "50000")
    session.env["GREENKIT_TEST_DEADLINE"] = "0"
    run_pytest(
        session, pkg.path / "tests" / "test_pywsgi_fuzz.py", "-s", "-o", "faulthandler_timeout=0"
    )


@nox.session(python=PYTHONS)
def integration(session: nox.Session) -> None:
    """Install every package from wheels; run tests-integration/."""
    folder = ROOT / "tests-integration"
    if not any(folder.glob("**/test_*.py")):
        session.skip("tests-integration/ holds no tests yet")
    house = build_wheels(session)
    extra = [req for pkg in PACKAGES.values() for req in pkg.test_requires]
    install_from_wheelhouse(session, house, *_all_dists(), "pytest", *extra)
    run_pytest(session, folder)


def _all_dists() -> list[str]:
    return [pkg.dist for pkg in PACKAGES.values()]


# A check run inside each venv of the namespace session.
#   argv: JSON list of packages to import, then the expected greenkit/__init__.py
#   ("none": greenkit must be a namespace package; "dist": the meta-package's
#   installed file; otherwise that path).
_NAMESPACE_CHECK = """
import importlib, importlib.metadata, json, os, sys
modules, expected = json.loads(sys.argv[1]), sys.argv[2]
imported = [importlib.import_module(name) for name in modules]
if any(name == "greenkit" or name.startswith("greenkit.") for name in modules):
    import greenkit
    init = getattr(greenkit, "__file__", None)
    if expected == "none":
        assert init is None, f"greenkit is not a namespace package: {init}"
    else:
        if expected == "dist":
            files = importlib.metadata.files("greenkit") or []
            expected = [str(f.locate()) for f in files if str(f) == "greenkit/__init__.py"][0]
        assert init and os.path.samefile(init, expected), f"greenkit.__file__ is {init}"
    roots = [os.path.realpath(p) for p in greenkit.__path__]
    for module in imported:
        if module.__name__.startswith("greenkit."):
            where = os.path.realpath(module.__file__)
            assert any(where.startswith(r + os.sep) for r in roots), (
                f"{module.__name__} ({where}) is outside greenkit.__path__ {roots}")
print("ok:", ", ".join(modules), "| greenkit/__init__:", expected)
"""


def _make_venv(session: nox.Session, where: Path) -> str:
    """A new scratch venv with the session's Python; returns its python."""
    uv = _uv()
    if uv is not None:
        session.run(uv, "venv", "--quiet", "--python", _python_exe(session), str(where),
                    external=True)  # fmt: skip
    else:
        session.run("python", "-m", "venv", str(where))
    return str(where / "bin" / "python")


def _venv_install(session: nox.Session, python: str, *args: str) -> None:
    uv = _uv()
    if uv is not None:
        session.run(
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            python,
            *_uv_fresh_args(),
            *args,
            external=True,
        )
    else:
        session.run(python, "-m", "pip", "install", "--quiet", *args, external=True)


@nox.session(python=PYTHONS)
def namespace(session: nox.Session) -> None:
    """Check the greenkit namespace: portions alone, all wheels, all editable."""
    house = build_wheels(session)
    tmp = Path(session.create_tmp()).resolve()
    check = tmp / "namespace_check.py"
    check.write_text(_NAMESPACE_CHECK)
    find = ["--find-links", str(house), "--constraint", str(house / "constraints.txt")]
    meta_wheel = _wheel_of(house, META)

    # (d) only the meta-package ships greenkit/__init__.py (and nobody greenkit/loop/).
    problems = []
    for pkg in PACKAGES.values():
        wheel = _wheel_of(house, pkg.dist)
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
        forbidden = META_ONLY[1:] if pkg.dist == META else META_ONLY
        problems += [f"{wheel.name} contains {name}" for name in forbidden if name in names]
    with zipfile.ZipFile(meta_wheel) as archive:
        if META_ONLY[0] not in archive.namelist():
            problems.append(f"{meta_wheel.name} lacks {META_ONLY[0]}")
    if problems:
        session.error("; ".join(problems))

    all_modules: list[str] = []
    with session.chdir(tmp):
        # (a) each portion alone, from its wheel (with its declared dependencies;
        # an add-on brings the meta-package, whose __init__ greenkit must then be).
        for pkg in PACKAGES.values():
            if pkg.dist == META:
                continue
            modules = _packages_in_wheel(_wheel_of(house, pkg.dist))
            all_modules += modules
            python = _make_venv(session, tmp / f"alone-{pkg.folder}")
            # With its extras: every module of the wheel must import.
            _venv_install(session, python, *find, pkg.with_extras)
            expected = "dist" if pkg.on_meta else "none"
            session.run(python, str(check), json.dumps(modules), expected, external=True)

        # (b) every wheel together with the meta-package, in the session's venv.
        all_modules = ["greenkit", *sorted(set(all_modules))]
        install_from_wheelhouse(session, house, *_all_dists_with_extras())
        session.run("python", str(check), json.dumps(all_modules), "dist")

        # (c) every package installed editable, together.
        python = _make_venv(session, tmp / "editable")
        # (the meta-package's extras are add-ons, installed editable here anyway)
        editables = [
            arg
            for pkg in PACKAGES.values()
            for arg in ("-e", str(pkg.path) + ("" if pkg.dist == META else pkg.extras_suffix))
        ]
        _venv_install(session, python, *editables)
        meta_init = PACKAGES_DIR / "greenkit" / "src" / "greenkit" / "__init__.py"
        session.run(python, str(check), json.dumps(all_modules), str(meta_init), external=True)


@nox.session(python=False)
def pins(session: nox.Session) -> None:
    """Check every version and pin against VERSION, and the package map against the metadata."""
    for tool in ("sync_versions.py", "package_map.py"):
        session.run(sys.executable, str(ROOT / "tools" / tool), "--check", external=True)


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """Run ruff (lint rules, then the formatter's check) over the packages,
    integration tests, tools, bench, docs and this file."""
    session.install("ruff")
    paths = [p for p in LINT_PATHS if (ROOT / p).exists()]
    session.run("ruff", "check", *paths, *session.posargs)
    session.run("ruff", "format", "--check", *paths)


@nox.session(python=PYTHONS[0])
def typecheck(session: nox.Session) -> None:
    """Run mypy (strict) over every package's src/."""
    # gunicorn: greenkit-gunicorn's workers subclass its (untyped) worker classes.
    session.install("mypy", "pytest", "greenlet", "cffi", "pycares", "dnspython", "gunicorn")
    sources = [str(p.relative_to(ROOT)) for p in sorted(PACKAGES_DIR.glob("*/src"))]
    session.env["MYPYPATH"] = os.pathsep.join(sources)
    session.run("mypy", *(session.posargs or sources))


def _all_dists_with_extras() -> list[str]:
    return [pkg.with_extras for pkg in PACKAGES.values()]


@nox.session(python=PYTHONS[0])
def docs(session: nox.Session) -> None:
    """Build the docs site into docs/_build/html (warnings fail), check it, run its examples."""
    house = build_wheels(session)
    # Every distribution with all its extras: autodoc imports every public
    # module, also those needing an optional library (greenkit-io[ares]).
    install_from_wheelhouse(session, house, *_all_dists_with_extras(),
                            "-r", str(DOCS / "requirements.txt"))  # fmt: skip
    build = DOCS / "_build"
    common = ["-W", "--keep-going", "-q", "-d", str(build / "doctrees"), str(DOCS)]
    # -E: read every page afresh, so a warning is never hidden by an unchanged page.
    session.run("sphinx-build", "-b", "html", "-E", *common, str(build / "html"))
    session.run("python", str(DOCS / "check_api.py"), str(build / "html"))
    # Opens pages in headless Chromium when one is installed; says so otherwise.
    session.run("python", str(DOCS / "check_render.py"), str(build / "html"))
    with session.chdir(session.create_tmp()):
        session.run("sphinx-build", "-b", "doctest", *common, str(build / "doctest"))


@nox.session(python=None)
def demo(session: nox.Session) -> None:
    """The README's main job: greenkit under concurrent load, with a summary."""
    house = build_wheels(session)
    install_from_wheelhouse(session, house, META)
    with session.chdir(session.create_tmp()):
        session.run("python", str(ROOT / "tools" / "demo.py"), *session.posargs)


@nox.session(python=None)
def bench(session: nox.Session) -> None:
    """Benchmark greenkit beside gevent 26.9.0 in one venv (bench/loop_bench.py, then
    bench/resolver_bench.py against greenkit-testing's loopback DNS responder)."""
    script = ROOT / "bench" / "loop_bench.py"
    if not script.exists():
        session.skip("bench/loop_bench.py does not exist yet")
    house = build_wheels(session)
    install_from_wheelhouse(
        session, house, META, "gevent==26.9.0", "greenkit-testing", "greenkit-io[ares,dnspython]"
    )
    session.run("python", "bench/loop_bench.py", *session.posargs)
    session.run("python", "bench/resolver_bench.py")


@nox.session(python=None)
def bench_gunicorn(session: nox.Session) -> None:
    """gunicorn -w 2 with greenkit's workers against gevent 26.9.0's (bench/gunicorn_bench.py)."""
    house = build_wheels(session)
    # gevent (with packaging, gunicorn's "gevent" extra) is only imported by
    # gunicorn's own gevent workers, the baseline.
    install_from_wheelhouse(
        session, house, "greenkit-gunicorn", "gunicorn[gevent]", "gevent==26.9.0"
    )
    session.run("python", "bench/gunicorn_bench.py", *session.posargs)


#: Real releases of gevent's dependents that the ``dependents`` session runs
#: on greenkit through the gevent alias (tests-dependents/).
DEPENDENTS = (
    "gunicorn",
    "celery[redis]",
    "locust",
    "Flask",
    "Flask-SocketIO",
    "simple-websocket",
    "gevent-websocket",
    "geventhttpclient",
    "grequests",
    "pyzmq",
    "grpcio",
)
#: What the scenarios drive them with (clients, the test runner).
DEPENDENTS_TOOLS = (
    "pytest",
    "greenkit-testing",
    "python-socketio[client]",
    "websocket-client",
    "packaging",
)
#: A uv override that gives every requirement on gevent a marker that is
#: never true, so dependents install without it: the alias stands in.
NO_GEVENT_OVERRIDE = 'gevent ; sys_platform == "never"\n'
ALIAS_ENV = "GREENKIT_AS_GEVENT"


def _ensure_redis_server(session: nox.Session) -> None:
    """celery's broker: Debian's redis-server (installed here when we are root)."""
    if shutil.which("redis-server"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        session.run("apt-get", "install", "-y", "-q", "redis-server", external=True,
                    success_codes=[0, 100])  # fmt: skip
    if not shutil.which("redis-server"):
        session.error("redis-server not found: apt-get install -y redis-server")


@nox.session(python=PYTHONS[0], venv_backend="uv")
def dependents(session: nox.Session) -> None:
    """gevent's dependents, real releases, on greenkit through the gevent alias.

    Installs the whole kit and greenkit-gevent-compat from the wheelhouse and
    gunicorn, celery, locust, Flask-SocketIO, ... from the index without
    gevent (uv's --override), then runs tests-dependents/ with the alias
    switched on for every process (GREENKIT_AS_GEVENT=1).  Not in the default
    run: it downloads the dependents and takes a couple of minutes.
    """
    _ensure_redis_server(session)
    house = build_wheels(session)
    override = Path(session.create_tmp()) / "no-gevent.txt"
    override.write_text(NO_GEVENT_OVERRIDE)
    install_from_wheelhouse(session, house, "--override", str(override), *_all_dists(),
                            *DEPENDENTS, *DEPENDENTS_TOOLS)  # fmt: skip
    session.env[ALIAS_ENV] = "1"
    # locust's pytest plugin is not wanted in the test process itself.
    run_pytest(session, ROOT / "tests-dependents", "-p", "no:locust")


@nox.session(python="3.11")
def gevent_suite(session: nox.Session) -> None:
    """Run gevent's own test suite against greenkit through ../shared/acceptance."""
    runner = SHARED / "acceptance" / "run.py"
    if not runner.exists():
        session.error(f"{runner} not found: shared/ must sit beside the repository")
    house = build_wheels(session)
    # pip: run.py downloads gevent's sdist with it; zope.*, requests and
    # pkg_resources (setuptools < 81) are what gevent's tests import; pycares
    # and dnspython, what the pure-ares and pure-dnspython configs use.
    install_from_wheelhouse(session, house, *_all_dists(), "pip", "zope.interface", "zope.event",
                            "requests", "setuptools<81", "pycares", "dnspython")  # fmt: skip
    session.run(
        "python", str(runner), "--impl", "greenkit", "--python", _python_exe(session),
        "--exit-zero", *session.posargs,
    )  # fmt: skip


# -- greenkit-asyncio (not in the default run) ---------------------------------------


@nox.session(python=PYTHONS)
def asyncio_suite(session: nox.Session) -> None:
    """CPython's test.test_asyncio on greenkit's loop beside the default loop, per module."""
    house = build_wheels(session)
    install_from_wheelhouse(session, house, "greenkit-asyncio")
    runner = PACKAGES_DIR / "asyncio" / "suite" / "run_suite.py"
    tmp = Path(session.create_tmp()).resolve()
    with session.chdir(tmp):
        session.run("python", str(runner), "--json", str(tmp / "asyncio_suite.json"),
                    *session.posargs)  # fmt: skip


@nox.session(python="3.11")
def asyncio_bench(session: nox.Session) -> None:
    """TCP echo and HTTP as asyncio protocols: greenkit's loop, asyncio's default, uvloop."""
    house = build_wheels(session)
    install_from_wheelhouse(session, house, "greenkit-asyncio", "uvloop")
    session.run("python", str(ROOT / "bench" / "asyncio_bench.py"), *session.posargs)


# -- the declared lower bounds (not in the default run) --------------------------------

#: Packages whose tests the ``lowest`` session leaves out, and why.
LOWEST_SKIPPED = {
    "gevent-compat": "its tests install gevent 26.9.0 beside the alias; it needs greenlet>=3.2.2",
}


def _lower_bounds(requirements: Iterable[str]) -> dict[str, str]:
    """The lowest version of each third-party distribution that requirements allow.

    That is the highest lower bound (``>=``, ``~=``, ``==``) any of them
    gives it; greenkit's own distributions and a distribution without a lower
    bound are left out.
    """
    bounds: dict[str, Version] = {}
    for text in requirements:
        name = _requirement_name(text)
        if name == META or name.startswith(f"{META}-"):
            continue
        for spec in Requirement(text).specifier:
            if spec.operator in (">=", "~=", "=="):
                version = Version(spec.version)
                bounds[name] = max(bounds.get(name, version), version)
    return {name: str(version) for name, version in sorted(bounds.items())}


def _pins_file(path: Path, versions: dict[str, str]) -> Path:
    """A constraints file pinning each distribution of versions exactly."""
    path.write_text("".join(f"{name}=={version}\n" for name, version in versions.items()))
    return path


@nox.session(python=PYTHONS[0], venv_backend="uv")
def lowest(session: nox.Session) -> None:
    """Every package's tests with its third-party dependencies at their declared lower bounds.

    greenlet, cffi, zope.interface, pytest and the extras' pycares,
    dnspython and gunicorn are pinned to the lowest version any package's
    ``[project]`` dependencies allow, and the build requirements to theirs
    (loop-libev's extension is compiled by the lowest cffi it declares and
    run with it).  One venv on the oldest Python; pytest once per package,
    as several packages' tests in one process would share greenkit's state.
    """
    tmp = Path(session.create_tmp()).resolve()
    build_pins = _lower_bounds(req for pkg in PACKAGES.values() for req in pkg.build_requires)
    pins = _lower_bounds(req for pkg in PACKAGES.values() for req in pkg.requires)
    house = build_wheels(session, "lowest", _pins_file(tmp / "build-lowest.txt", build_pins))
    tested = [PACKAGES[name] for name in TESTED if name not in LOWEST_SKIPPED]
    install_from_wheelhouse(
        session, house, "--constraint", str(_pins_file(tmp / "lowest.txt", pins)),
        *(pkg.with_extras for pkg in tested), "greenkit-testing", "pytest",
        *(req for pkg in tested for req in pkg.test_requires),
    )  # fmt: skip
    session.log("build pins: " + ", ".join(f"{n}=={v}" for n, v in build_pins.items()))
    session.log("runtime pins: " + ", ".join(f"{n}=={v}" for n, v in pins.items()))
    for name, why in LOWEST_SKIPPED.items():
        session.log(f"not run: {name}'s tests ({why})")
    for pkg in tested:
        run_pytest(session, pkg.path / "tests")
