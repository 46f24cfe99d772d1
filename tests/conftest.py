"""Shared test setup.

Tests that need a server (Redis for the shared limits, PostgreSQL for the PostgreSQL journal)
skip, saying why, where none can be found or started. Every run's summary then says how many
were skipped for want of which server and how to run them; under CI (the environment variable
``CI`` set, as ``.ci/run`` is run) such a skip is an error instead, so CI never skips them.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import aioresponses.core
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-long",
        action="store_true",
        default=False,
        help="run tests/soak at 50,000 orders with a 10 s maintenance window (about 5 minutes)",
    )


def _make_aioresponses_work_with_aiohttp_3_14() -> None:
    # aiohttp 3.14 (a security release) added a required ``stream_writer`` argument to
    # ClientResponse; aioresponses 0.7.9 does not pass it yet (pnuckowski/aioresponses#289).
    # A response it builds has already been "sent", so only ``output_size`` is read.
    if "stream_writer" not in inspect.signature(aiohttp.ClientResponse.__init__).parameters:
        return
    if aioresponses.core.ClientResponse is not aiohttp.ClientResponse:
        return

    class ClientResponse(aiohttp.ClientResponse):
        def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
            kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
            super().__init__(method, url, **kwargs)

    aioresponses.core.ClientResponse = ClientResponse  # type: ignore[misc]


_make_aioresponses_work_with_aiohttp_3_14()


# -- Tests that need a server ------------------------------------------------------------------

# Which server a skip was for: from its reason, else from where it was raised (the fixtures in
# tests/_postgres.py and tests/redis/conftest.py).
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
    fixture_module = where.name == "_postgres.py" or (
        where.name == "conftest.py" and where.parent.name == "redis"
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
