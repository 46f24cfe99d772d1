"""The root conftest's report of tests skipped for want of a server (Redis, PostgreSQL): every
run's summary counts them and says how to run them; under CI they fail the run instead.

Each test runs pytest in a subprocess on a tiny generated project whose conftest is this
suite's own report (``tests/_support/server_skips.py``, a plugin of the root conftest).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.process

CONFTEST = Path(__file__).parent / "_support" / "server_skips.py"
TESTS = """
import pytest

@pytest.fixture(scope="session")
def redis_url():
    pytest.skip("no Redis: set OPENPROVIDER_TEST_REDIS_URL=redis://host:port/db")

def test_one(redis_url): pass
def test_two(redis_url): pass
def test_postgres(): pytest.skip("PostgreSQL server binaries not found: apt-get install postgresql")
def test_other_skip(): pytest.skip("nothing to do with a server")
def test_passes(): pass
"""


def run(tmp_path: Path, tests: str, *, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "test_generated.py").write_text(tests)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def summary(output: str) -> str:
    assert "tests that need a server" in output, output
    return output.split("tests that need a server", 1)[1]


def test_the_summary_counts_the_skips_for_want_of_a_server_and_says_how_to_run_them(
    tmp_path: Path,
) -> None:
    done = run(tmp_path, TESTS, ci=None)
    assert done.returncode == 0, done.stdout + done.stderr
    text = summary(done.stdout)
    assert "2 skipped: no Redis available." in text
    assert "1 skipped: no PostgreSQL available." in text
    assert "OPENPROVIDER_TEST_REDIS_URL" in text
    assert "apt-get install redis-server" in text
    assert "OPENPROVIDER_TEST_POSTGRES_URL" in text
    assert "apt-get install postgresql" in text
    assert ".ci/run" in text
    assert "1 passed, 4 skipped" in done.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_a_skip_for_want_of_a_server_fails_the_run(tmp_path: Path, ci: str) -> None:
    done = run(tmp_path, TESTS, ci=ci)
    assert done.returncode == 1, done.stdout + done.stderr
    text = summary(done.stdout)
    assert "2 failed (CI is set: never skipped): no Redis available." in text
    assert "1 failed (CI is set: never skipped): no PostgreSQL available." in text
    # The other skip stays a skip; the failures name the server and the reason.
    assert "1 passed, 1 skipped" in done.stdout
    assert "CI is set, and this test would be skipped for want of Redis: no Redis" in done.stdout


def test_without_such_skips_there_is_no_summary_and_ci_passes(tmp_path: Path) -> None:
    tests = "import pytest\ndef test_a(): pass\ndef test_b(): pytest.skip('other')\n"
    for ci in (None, "true"):
        done = run(tmp_path, tests, ci=ci)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "tests that need a server" not in done.stdout


def test_ci_false_is_not_ci(tmp_path: Path) -> None:
    done = run(tmp_path, TESTS, ci="false")
    assert done.returncode == 0, done.stdout + done.stderr
