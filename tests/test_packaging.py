"""The package as it is shipped: the sdist and the wheel ``python -m build`` makes, their
metadata, and an installed package that type checkers can find.

The sdist and the wheel are built once for this module (the wheel from the sdist, as
``python -m build`` does, so the sdist is known to build on its own).
"""

from __future__ import annotations

import ast
import email.parser
import email.policy
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path, PurePosixPath

import pytest

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[1]

CLASSIFIERS = {
    "Development Status :: 3 - Alpha",
    "Framework :: AsyncIO",
    "Intended Audience :: Developers",
    "Programming Language :: Python :: 3.11",
    "Programming Language :: Python :: 3.12",
    "Programming Language :: Python :: 3.13",
    "Topic :: Internet :: WWW/HTTP",
    "Typing :: Typed",
}


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path
    sdist_names: frozenset[str]  # paths inside the sdist, without its top directory
    wheel_names: frozenset[str]

    def sdist_metadata(self) -> Message:
        with tarfile.open(self.sdist) as tar:
            top = self.sdist.name.removesuffix(".tar.gz")
            member = tar.extractfile(f"{top}/PKG-INFO")
            assert member is not None
            return _parse(member.read().decode())

    def wheel_metadata(self) -> Message:
        with zipfile.ZipFile(self.wheel) as wheel:
            (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
            return _parse(wheel.read(name).decode())


def _parse(text: str) -> Message:
    return email.parser.Parser(policy=email.policy.compat32).parsestr(text)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    pytest.importorskip("build", reason="python -m build is needed: pip install -e '.[dev]'")
    # From a copy without what earlier builds left behind (an old *.egg-info/SOURCES.txt would
    # add its files to the sdist whatever MANIFEST.in says).
    source = tmp_path_factory.mktemp("source") / "openprovider-ssl"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            "*.egg-info",
            "build",
            "dist",
            "site",
            ".venv",
            "__pycache__",
            ".*_cache",
            ".hypothesis",
        ),
    )
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"python -m build failed:\n{done.stdout}\n{done.stderr}"
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    with tarfile.open(sdist) as tar:
        sdist_names = frozenset(
            str(PurePosixPath(*PurePosixPath(m.name).parts[1:])) for m in tar.getmembers()
        )
    with zipfile.ZipFile(wheel) as zipped:
        wheel_names = frozenset(zipped.namelist())
    yield Built(sdist, wheel, sdist_names, wheel_names)


# -- the wheel ------------------------------------------------------------------------------------


def test_the_wheel_has_the_typing_marker_and_the_fakes_data(built: Built) -> None:
    names = built.wheel_names
    assert "openprovider_ssl/py.typed" in names
    assert "openprovider_ssl/testing/ssl.swagger.json" in names
    assert "openprovider_ssl/testing/auth.swagger.json" in names
    assert "openprovider_ssl/testing/pytest_plugin.py" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(names)


def test_the_wheel_has_the_package_only(built: Built) -> None:
    tops = {n.split("/", 1)[0] for n in built.wheel_names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"openprovider_ssl"}
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in built.wheel_names)


def test_the_wheel_has_every_module_of_the_package(built: Built) -> None:
    # (a module added to the tree but missed by packages.find would only fail once installed)
    package = ROOT / "openprovider_ssl"
    expected = {
        f"openprovider_ssl/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")
    }
    assert expected <= built.wheel_names, sorted(expected - built.wheel_names)


# -- the metadata ---------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["wheel", "sdist"])
def test_metadata(built: Built, which: str) -> None:
    metadata = built.wheel_metadata() if which == "wheel" else built.sdist_metadata()
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["License"] is None  # the SPDX expression only, not the old free text
    classifiers = set(metadata.get_all("Classifier") or ())
    # With an SPDX expression, a license classifier is redundant (and refused by setuptools).
    assert classifiers >= CLASSIFIERS, sorted(CLASSIFIERS - classifiers)
    assert not any(c.startswith("License ::") for c in classifiers)
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or ())
    assert {"Homepage", "Documentation", "Changelog", "Issues"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())
    assert "openprovider" in (metadata["Keywords"] or "")
    assert metadata["Requires-Python"] == ">=3.11"
    extras = set(metadata.get_all("Provides-Extra") or ())
    assert {"cli", "redis", "postgres", "dev", "docs"} <= extras


# -- the sdist ------------------------------------------------------------------------------------


def test_the_sdist_has_what_a_release_check_needs(built: Built) -> None:
    names = built.sdist_names
    for needed in (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "pyproject.toml",
        "MANIFEST.in",
        "mkdocs.yml",
        "docs/index.md",
        "openprovider_ssl/py.typed",
        "openprovider_ssl/testing/ssl.swagger.json",
        "tests/conftest.py",
        "benchmarks/__main__.py",
    ):
        assert needed in names, f"{needed} is not in the sdist"
    assert not any(n == ".ci" or n.startswith(".ci/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") or ".hypothesis" in n for n in names), (
        sorted(n for n in names if "__pycache__" in n or ".hypothesis" in n)
    )


def test_every_shipped_file_of_the_tree_is_in_the_sdist(built: Built) -> None:
    """Every tracked file of the shipped folders: nothing is left out by MANIFEST.in."""
    tracked = subprocess.run(
        ["git", "ls-files", "--", "openprovider_ssl", "tests", "benchmarks", "docs", "examples"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    files = {f for f in tracked.stdout.splitlines() if (ROOT / f).exists()}
    assert files, "git ls-files listed nothing"
    assert files <= built.sdist_names, sorted(files - built.sdist_names)


def _top_level_imports(source: str, filename: str) -> set[str]:
    """The top-level modules ``source`` imports, or runs with ``python -m``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    names.update(m.split(".")[0] for m in re.findall(r"""["']-m["'],\s*["']([\w.]+)["']""", source))
    return names


def _normalised(distribution: str) -> str:
    """A distribution's name as ``_declared`` holds it."""
    return distribution.lower().replace("_", "-")


def _declared(built: Built) -> set[str]:
    """The distributions the package requires, in any extra, by their normalised names."""
    return {
        _normalised(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])
        for requirement in built.wheel_metadata().get_all("Requires-Dist") or ()
    }


def test_the_package_declares_every_distribution_it_imports(built: Built) -> None:
    """A module the package imports is the standard library's, its own, or one of a declared
    distribution (in any extra): one that only came with another dependency (``yarl`` and
    ``multidict`` come with aiohttp) may leave with that dependency's next release."""
    declared = _declared(built)
    distributions = importlib.metadata.packages_distributions()
    undeclared: dict[str, set[str]] = {}
    with zipfile.ZipFile(built.wheel) as wheel:
        for name in sorted(n for n in wheel.namelist() if n.endswith(".py")):
            for module in _top_level_imports(wheel.read(name).decode(), name):
                if module in sys.stdlib_module_names or module == "openprovider_ssl":
                    continue
                owners = {_normalised(d) for d in distributions.get(module, [])}
                if not owners & declared:
                    undeclared.setdefault(module, set()).add(name)
    assert undeclared == {}, f"imported by the package, but not declared: {undeclared}"


def test_everything_a_shipped_test_imports_is_shipped_or_installed(built: Built) -> None:
    """A module a shipped test or benchmark imports (or runs with ``python -m``) is the
    standard library's, an installed distribution's (the package's dependencies), or shipped
    in the sdist where the tests find it: at its top (the directory pytest runs in) or in a
    folder of the tests (pytest puts those on the path)."""
    names = built.sdist_names
    folders = {""} | {
        str(PurePosixPath(n).parent)
        for n in names
        if n.endswith(".py") and n.split("/", 1)[0] in ("tests", "benchmarks")
    }

    def shipped(module: str) -> bool:
        return any(
            f"{prefix}{module}.py" in names
            or f"{prefix}{module}/__init__.py" in names
            or (f"{prefix}{module}" in names and folder != "")  # a namespace package
            for folder in folders
            for prefix in [f"{folder}/" if folder else ""]
        )

    distributions = importlib.metadata.packages_distributions()
    # What the package declares, in any extra (the docs tests need the docs extra's mkdocs,
    # which a test run without it skips).
    declared = _declared(built)
    missing: dict[str, set[str]] = {}
    with tarfile.open(built.sdist) as tar:
        for member in tar.getmembers():
            inside = PurePosixPath(*PurePosixPath(member.name).parts[1:])
            if inside.suffix != ".py" or inside.parts[0] not in ("tests", "benchmarks"):
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            for name in _top_level_imports(handle.read().decode(), str(inside)):
                if name in sys.stdlib_module_names or shipped(name):
                    continue
                if name in distributions and distributions[name] != ["openprovider-ssl"]:
                    continue
                if _normalised(name) in declared:
                    continue
                missing.setdefault(name, set()).add(str(inside))
    assert missing == {}, f"imported by shipped files, but neither shipped nor installed: {missing}"


# -- type checkers --------------------------------------------------------------------------------


def test_type_checkers_outside_the_repository_find_the_installed_package(
    tmp_path: Path,
) -> None:
    """With the README's editable install (``--config-settings editable_mode=compat``), mypy run
    outside the repository finds the package: setuptools' default editable install loads it
    through an import hook that type checkers cannot see."""
    pytest.importorskip("mypy")
    try:
        importlib.metadata.distribution("openprovider-ssl")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("openprovider-ssl is not installed (only importable from the repository)")
    script = tmp_path / "uses_the_sdk.py"
    script.write_text(
        "import openprovider_ssl as op\n"
        "from openprovider_ssl.testing import FakeOpenprovider\n"
        "client: op.Client = op.Client('token')\n"
        "reveal_type(client.orders)\n"
        "reveal_type(FakeOpenprovider)\n"
    )
    # In a process of its own, in a folder outside the repository: only what the installation
    # puts on the interpreter's path is seen.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--cache-dir", "cache", script.name],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "import-not-found" not in done.stdout and "missing library stubs" not in done.stdout, (
        "mypy cannot find openprovider_ssl from outside the repository: install it with "
        "pip install -e '.[dev]' --config-settings editable_mode=compat\n" + done.stdout
    )
    assert 'Revealed type is "openprovider_ssl._resources.orders.Orders"' in done.stdout, (
        done.stdout + done.stderr
    )
