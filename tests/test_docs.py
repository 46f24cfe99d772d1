"""The documentation site: every public name in the API reference, every page in the
navigation, an operator's guide that names only options the command line has, and a strict
build (when MkDocs is installed: the ``docs`` extra)."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import openprovider_ssl as op

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
OPERATORS = DOCS / "operators.md"


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_reference_hook", DOCS / "hooks/reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _markers() -> dict[str, list[str]]:
    """group -> the reference pages that list it."""
    found: dict[str, list[str]] = {}
    for page in sorted((DOCS / "reference").glob("*.md")):
        for group in re.findall(r"^<!-- public-names: ([a-z-]+) -->$", page.read_text(), re.M):
            found.setdefault(group, []).append(page.name)
    return found


def test_every_public_name_is_in_the_api_reference() -> None:
    groups = _hook().public_names()
    listed = {path for paths in groups.values() for path in paths}
    for name in op.__all__:
        if inspect.ismodule(getattr(op, name)):
            continue
        assert f"openprovider_ssl.{name}" in listed, name
    for subpackage in ("journal", "testing"):
        module = getattr(__import__(f"openprovider_ssl.{subpackage}"), subpackage)
        for name in module.__all__:
            assert f"openprovider_ssl.{subpackage}.{name}" in listed or name in op.__all__, name
    markers = _markers()
    for group in [*groups, "other"]:
        assert markers.get(group), f"no reference page lists the group {group!r}"
    # The resources a client hands out are documented too.
    assert "openprovider_ssl._resources.orders.Orders" in groups["resources"]


def test_the_reference_groups_names_by_where_they_are_defined() -> None:
    hook = _hook()
    assert hook.group_of("Client", op.Client) == "client"
    assert hook.group_of("OutcomeUnknownError", op.OutcomeUnknownError) == "errors"
    assert hook.group_of("Order", op.Order) == "models"
    assert hook.group_of("SqliteJournal", op.SqliteJournal) == "journal"
    assert hook.group_of("PRODUCTION_URL", op.PRODUCTION_URL) == "constants"
    assert hook.group_of("x", type("X", (), {"__module__": "somewhere.else"})) == "other"


def test_the_hook_fills_the_markers() -> None:
    out = _hook().on_page_markdown("# Errors\n\n<!-- public-names: errors -->\n", None, None, None)
    assert "::: openprovider_ssl.OutcomeUnknownError" in out
    assert "<!--" not in out


def _nav_files(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [f for item in node for f in _nav_files(item)]
    if isinstance(node, dict):
        return [f for value in node.values() for f in _nav_files(value)]
    return []


def test_every_page_is_in_the_navigation_and_every_navigation_entry_exists() -> None:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = set(_nav_files(config["nav"]))
    pages = {
        p.relative_to(DOCS).as_posix()
        for p in DOCS.rglob("*.md")
        if not p.relative_to(DOCS).as_posix().startswith("hooks/")
    }
    assert nav == pages, (sorted(nav - pages), sorted(pages - nav))


def test_the_readme_links_to_the_documentation() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "(docs/index.md)" in readme or "mkdocs serve" in readme


# -- the operator's guide -------------------------------------------------------------------------


def test_the_operators_guide_covers_unattended_runs() -> None:
    text = OPERATORS.read_text()
    for code in ("0", "1", "2", "3", "130", "143"):
        assert f"| `{code}` |" in text, f"exit code {code}"
    for needed in (
        "--json-lines",
        "--json",
        "--log-format json",
        "--max-renewals",
        "flock",
        "concurrencyPolicy: Forbid",
        "OPENPROVIDER_PASSWORD_FILE",
        "journal reconcile",
        "postgresql://",
    ):
        assert needed in text, needed


def test_the_cronjob_example_mounts_the_password_file_it_names() -> None:
    yaml = pytest.importorskip("yaml")
    block = re.search(r"```yaml\n(.*?)```", OPERATORS.read_text(), re.S)
    assert block is not None
    documents = list(yaml.safe_load_all(block.group(1)))
    cronjob = next(d for d in documents if d["kind"] == "CronJob")
    secret = next(d for d in documents if d["kind"] == "Secret")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    password_file = env["OPENPROVIDER_PASSWORD_FILE"]["value"]
    (mount,) = container["volumeMounts"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    items = {i["path"]: i["key"] for i in volume["secret"]["items"]}
    folder, _, file = password_file.rpartition("/")
    assert folder == mount["mountPath"] and file in items
    assert items[file] in secret["stringData"]
    journal = env["OPENPROVIDER_JOURNAL"]["valueFrom"]["secretKeyRef"]
    assert journal["name"] == secret["metadata"]["name"] and journal["key"] in secret["stringData"]
    assert any(a.startswith("--max-renewals") for a in container["args"])


def _cli_options() -> set[str]:
    click = pytest.importorskip("click")
    cli = pytest.importorskip("openprovider_ssl.cli")

    options: set[str] = set()

    def walk(command: Any) -> None:
        for param in command.params:
            options.update(o for o in [*param.opts, *param.secondary_opts] if o.startswith("-"))
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                walk(sub)

    walk(cli.cli)
    return options


def test_the_operators_guide_names_only_options_the_command_line_has() -> None:
    text = OPERATORS.read_text()
    # Options of openprovider-ssl in the text: after the command's name or in its tables.
    mentioned = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*[a-z])", text))
    not_ours = {"--nonblock", "--from"}  # flock's, kubectl's
    unknown = sorted(mentioned - not_ours - _cli_options())
    assert unknown == [], f"the operator's guide names options the command line lacks: {unknown}"


def test_the_documented_exit_codes_are_the_command_lines() -> None:
    cli = pytest.importorskip("openprovider_ssl.cli")

    help_text = cli.cli.help or ""
    for code in ("0", "1", "2", "3", "130", "143"):
        assert re.search(rf"^\s*{code}\s", help_text, re.M), code


# -- the build ------------------------------------------------------------------------------------


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("mkdocstrings")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--quiet",
            "--site-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    reference = (tmp_path / "reference/errors/index.html").read_text()
    assert 'id="openprovider_ssl.OutcomeUnknownError"' in reference
    operators = (tmp_path / "operators/index.html").read_text()
    assert "concurrencyPolicy" in operators
    changelog = (tmp_path / "changelog/index.html").read_text()
    assert "Unreleased" in changelog
