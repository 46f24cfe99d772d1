"""The command line's renewal journal: where it lives, exit code 3, and the journal commands."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from openprovider_ssl.cli import cli
from tests._support.threaded_fake import ThreadedFake

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("OPENPROVIDER_USERNAME", "OPENPROVIDER_PASSWORD", "OPENPROVIDER_JOURNAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def served() -> Iterator[ThreadedFake]:
    server = ThreadedFake(orders=40, seed=5)
    yield server
    server.close()


def run(served: ThreadedFake, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args), env=served.env(), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def default_journal(tmp_path: Path) -> Path:
    return tmp_path / "state" / "openprovider-ssl" / "renewals.sqlite3"


def test_a_renewal_is_recorded_in_the_default_journal_and_the_summary_says_where(
    served: ThreadedFake, tmp_path: Path
) -> None:
    order_id = served.fake.renewable_ids()[0]
    data = json.loads(run(served, "orders", "renew", str(order_id), "--json").stdout)
    assert data["renewed"] == [order_id]
    assert data["journal"] == str(default_journal(tmp_path))
    assert default_journal(tmp_path).exists()
    listed = json.loads(run(served, "journal", "list", "--json").stdout)
    assert [(r["order_id"], r["state"]) for r in listed["records"]] == [(order_id, "renewed")]
    human = run(served, "orders", "renew", str(order_id)).stdout
    assert "renewed by an earlier run" in human  # not sent again
    assert served.fake.stats.renewals[order_id] == 1


def test_an_unknown_outcome_exits_3_and_stays_pending_until_released(
    served: ThreadedFake, tmp_path: Path
) -> None:
    order_id = served.fake.renewable_ids()[0]
    served.call(lambda: served.fake.faults.update(drop_after_rate=1.0))
    data = json.loads(run(served, "orders", "renew", str(order_id), "--json", code=3).stdout)
    assert [u["order_id"] for u in data["unknown"]] == [order_id]
    served.call(lambda: served.fake.faults.update(drop_after_rate=0.0))

    # Run again: refused before sending, reported as pending from the earlier run.
    again = json.loads(run(served, "orders", "renew", str(order_id), "--json", code=3).stdout)
    assert [p["order_id"] for p in again["pending"]] == [order_id]
    assert again["pending"][0]["state"] == "pending"
    assert served.fake.stats.requests["RenewOrder"] == 1

    pending = json.loads(run(served, "journal", "list", "--pending", "--json").stdout)
    assert [r["order_id"] for r in pending["records"]] == [order_id]
    # A bare id: the expiration before the renew is unknown, so reconcile cannot confirm it.
    reconciled = json.loads(run(served, "journal", "reconcile", "--json", code=3).stdout)
    assert [p["order_id"] for p in reconciled["pending"]] == [order_id]
    assert "not known" in reconciled["pending"][0]["note"]

    run(served, "journal", "release", str(order_id), "--reason", "checked: not charged")
    assert json.loads(run(served, "journal", "list", "--pending", "--json").stdout)["records"] == []
    exported = run(served, "journal", "export", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["event"] for r in rows] == ["claimed", "unknown", "released"]
    assert rows[2]["reason"] == "checked: not charged"
    lines = run(served, "journal", "export", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["claimed", "unknown", "released"]


def test_reconcile_confirms_what_renew_expiring_left_pending_once_it_settles() -> None:
    # The renew model where the expiration moves only when the CA issues: a read-back right
    # after a lost answer proves nothing, so the renewal stays pending until it settles.
    served = ThreadedFake(orders=40, seed=5, renew_settles_after=3600.0)
    try:
        expiring = served.fake.renewable_ids()
        served.call(lambda: served.fake.faults.update(drop_after_rate=0.5))
        first = json.loads(run(served, "renew-expiring", "--json", code=3).stdout)
        unknown = {u["order_id"] for u in first["unknown"]}
        assert unknown and set(first["renewed"]) | unknown == set(expiring)
        served.call(lambda: served.fake.faults.update(drop_after_rate=0.0))
        still = json.loads(run(served, "journal", "reconcile", "--json", code=3).stdout)
        assert {p["order_id"] for p in still["pending"]} == unknown
        assert still["confirmed"] == []
        # A second run while they are pending charges nothing.
        second = json.loads(run(served, "renew-expiring", "--json", code=3).stdout)
        assert {p["order_id"] for p in second["pending"]} == unknown
        assert second["renewed"] == []
        served.call(lambda: served.fake.advance_time(3601.0))
        reconciled = json.loads(run(served, "journal", "reconcile", "--json").stdout)
        assert {p["order_id"] for p in reconciled["confirmed"]} == unknown
        assert reconciled["pending"] == []
        assert all(served.fake.stats.renewals[i] == 1 for i in expiring)
    finally:
        served.close()


def test_release_without_a_pending_renew_is_refused(served: ThreadedFake) -> None:
    result = run(served, "journal", "release", "100001", "--reason", "x", code=2)
    assert "no pending renew" in result.output


def test_an_explicit_journal_path(served: ThreadedFake, tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "j.sqlite3"
    order_id = served.fake.renewable_ids()[0]
    data: dict[str, Any] = json.loads(
        run(served, "--journal", str(path), "orders", "renew", str(order_id), "--json").stdout
    )
    assert data["journal"] == str(path) and path.exists()
    assert not default_journal(tmp_path).exists()


def test_fake_uses_a_journal_in_memory() -> None:
    result = CliRunner().invoke(cli, ["--fake", "--fake-orders", "20", "renew-expiring", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["journal"] == "memory"
