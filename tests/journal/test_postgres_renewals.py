"""The PostgreSQL journal's renew path (``_renewals``: the rules as one SQL statement over a
batch) decides and writes exactly what its general path (``_records.plan``) does, for any batch
of claims and settlements it takes, on a real server (tests/_support/postgres.py)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from hypothesis import given, settings

import openprovider_ssl
from openprovider_ssl.journal._records import Op
from tests._support.postgres import fresh_database, postgres_url, psycopg
from tests.journal._journals import Clock
from tests.journal.test_sqlite_renewals import HOLD, NOW, batches, with_edges

pytestmark = [pytest.mark.postgres]

PostgresJournal: Any = None if psycopg is None else openprovider_ssl.journal.PostgresJournal


@pytest.fixture(scope="module")
def database() -> str:
    return fresh_database(postgres_url())


async def _seeded(database: str, records: dict[int, Any]) -> Any:
    journal = PostgresJournal(
        database, schema=f"t_{uuid.uuid4().hex[:12]}", clock=Clock(NOW), renewed_hold=HOLD
    )
    await journal.open()
    for order_id, (state, expiration, age) in records.items():
        await journal._conn.execute(
            f'INSERT INTO "{journal.schema}".renewal_claims VALUES '
            "(%s, 'old', %s, %s, %s, NULL, '', 'h', 1, 'r')",
            (order_id, state, expiration, NOW - age),
        )
    return journal


async def _tables(journal: Any) -> tuple[list[Any], list[Any]]:
    claims = await journal._select(journal._sql["claims"], {}, "order_id")
    events = await journal._select(journal._sql["events"], {}, "seq")
    return claims, [tuple(row[1:]) for row in events]


async def _compare(database: str, records: dict[int, Any], ops: list[Op]) -> None:
    fast, general = await _seeded(database, records), await _seeded(database, records)
    general.origin = fast.origin
    try:
        fast_results = await fast._renewals(fast._conn, ops)
        general_results = await general._planned(general._conn, ops)
        assert fast_results == general_results
        assert await _tables(fast) == await _tables(general)
    finally:
        for journal in (fast, general):
            await journal._conn.execute(f'DROP SCHEMA "{journal.schema}" CASCADE')
            await journal.close()


@settings(max_examples=60, deadline=None)
@with_edges
@given(batch=batches())
def test_the_renew_path_decides_and_writes_what_plan_does(
    database: str, batch: tuple[dict[int, Any], list[Op]]
) -> None:
    records, ops = batch
    asyncio.run(_compare(database, records, ops))


async def test_claims_and_settlements_take_the_renew_path(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def general(self: Any, conn: Any, ops: list[Op]) -> None:
        raise AssertionError("a batch of claims and settlements took the general path")

    async with PostgresJournal(database, schema=f"t_{uuid.uuid4().hex[:12]}") as journal:
        monkeypatch.setattr(PostgresJournal, "_planned", general)
        claims = [await journal.claim(i) for i in (1, 2, 3)]
        for claim in claims:
            await journal.settle(claim, "renewed")
        await journal._group.drain()
        monkeypatch.undo()
        assert [r.state for r in await journal.records()] == ["renewed"] * 3
        await journal.claim(4)
        assert (await journal.release(4, reason="not charged")).state == "free"
