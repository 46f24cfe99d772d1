"""Tests that need a server (Redis, PostgreSQL) and find none: every run's summary counts
their skips and says how to run them; under CI (``CI`` set) such a skip fails the run instead.

A plugin of ``tests/conftest.py``; ``tests/test_server_skips.py`` runs it on a tiny project of
its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Which server a skip was for: from its reason, else from where it was raised (the fixtures in
# tests/_support/postgres.py and tests/_support/redis_server.py).
_SERVERS: dict[str, tuple[re.Pattern[str], str]] = {
    "Redis": (
        re.compile(r"\bredis", re.IGNORECASE),
        "install redis-server (apt-get install redis-server: the tests start their own on a "
        "free loopback port), or set OPENPROVIDER_TEST_REDIS_URL=redis://host:port/db",
    ),
    "PostgreSQL": (
        re.compile(r"postgres|psycopg", re.IGNORECASE),
        "install the PostgreSQL server binaries (apt-get install postgresql: the tests start "
        "a throwaway cluster of their own), or set "
        "OPENPROVIDER_TEST_POSTGRES_URL=postgresql://user@host:port/db; psycopg comes with "
        "pip install -e '.[dev]'",
    ),
}
_SERVER_SKIPS = pytest.StashKey[dict[str, list[str]]]()


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _server_needed(report: pytest.TestReport) -> tuple[str, str] | None:
    """(server, reason) when ``report`` is a skip for want of a server, else None."""
    if not report.skipped or hasattr(report, "wasxfail") or not isinstance(report.longrepr, tuple):
        return None
    path, _, reason = report.longrepr
    reason = str(reason).removeprefix("Skipped: ")
    where = Path(str(path))
    fixture_module = where.parent.name == "_support" and where.name in (
        "postgres.py",
        "redis_server.py",
    )
    for server, (pattern, _) in _SERVERS.items():
        if pattern.search(reason) or (fixture_module and pattern.search(str(where))):
            return server, reason
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    needed = _server_needed(report)
    if needed is None:
        return
    server, reason = needed
    item.config.stash.setdefault(_SERVER_SKIPS, {}).setdefault(server, []).append(item.nodeid)
    if _in_ci():
        report.outcome = "failed"
        report.longrepr = (
            f"CI is set, and this test would be skipped for want of {server}: {reason}\n"
            f"CI never skips it: {_SERVERS[server][1]} (.ci/run starts one)."
        )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    skips = config.stash.get(_SERVER_SKIPS, {})
    if not skips:
        return
    ci = _in_ci()
    terminalreporter.section("tests that need a server", sep="=", red=ci, yellow=not ci, bold=True)
    for server, nodeids in skips.items():
        what = "failed (CI is set: never skipped)" if ci else "skipped"
        terminalreporter.line(f"{len(nodeids)} {what}: no {server} available.")
        terminalreporter.line(f"  To run them: {_SERVERS[server][1]}.")
    terminalreporter.line(
        "  (bash .ci/run starts both servers; python -m pytest -rs lists each skip and its reason.)"
    )
