"""A renewal run with a durable journal reads ahead: the next orders' renews are claimed while
the current ones are in flight. Every order still gets one outcome and at most one charge, and
a claim made ahead for an order that was never sent is freed, never left pending: whether the
run ends, is stopped, or is cancelled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import openprovider_ssl as op
from openprovider_ssl.journal import SqliteJournal
from openprovider_ssl.testing import FakeOpenprovider
from tests.bulk.test_renewal_cap_loopback import RENEW_MODELS

pytestmark = pytest.mark.integration

FAST = op.RetryPolicy(attempts=4, initial_wait=0.001, max_wait=0.01, readback_delay=0.001)


@asynccontextmanager
async def renewing(
    fake: FakeOpenprovider, path: Path, **journal_options: Any
) -> AsyncIterator[tuple[SqliteJournal, op.Client]]:
    """A SQLite journal at ``path`` and a client of ``fake`` that uses it."""
    async with (
        SqliteJournal(path, **journal_options) as journal,
        op.Client(token=fake.token, base_url=fake.url, retry=FAST, journal=journal) as client,
    ):
        yield journal, client


def spy_on_claims_ahead(journal: SqliteJournal) -> list[int]:
    made: list[int] = []
    claim_ahead = journal.claim_ahead

    def spied(order_id: int, expiration: datetime | None = None) -> Callable[[], None] | None:
        drop = claim_ahead(order_id, expiration)
        if drop is not None:
            made.append(order_id)
        return drop

    journal.claim_ahead = spied  # type: ignore[method-assign]
    return made


@pytest.mark.parametrize("model", RENEW_MODELS)
async def test_a_run_reads_ahead_and_renews_each_order_once(
    tmp_path: Path, model: dict[str, Any]
) -> None:
    async with FakeOpenprovider(
        orders=300, seed=3, expiring_share=1.0, latency=0.002, **model
    ) as fake:
        ids = fake.renewable_ids()
        async with renewing(fake, tmp_path / "j.sqlite3", lookahead=8) as (journal, client):
            made = spy_on_claims_ahead(journal)
            async with client.orders.renew_many([*ids, 0], concurrency=10) as run:
                outcomes = [o async for o in run]
            records = await journal.records()
    assert sorted(made) == sorted(ids)  # every order claimed ahead; the bad id was not
    assert sorted(o.order_id for o in outcomes) == sorted([*ids, 0])
    assert [o.order_id for o in outcomes if not o.ok] == [0]
    assert fake.stats.renewals == dict.fromkeys(ids, 1)
    assert {r.order_id for r in records if r.state == "renewed"} == set(ids)
    assert len(records) == len(ids)


@pytest.mark.parametrize("model", RENEW_MODELS)
@pytest.mark.parametrize("how", ["cancelled", "stopped"])
async def test_orders_claimed_ahead_and_never_sent_are_freed_and_reported_unsent(
    tmp_path: Path, how: str, model: dict[str, Any]
) -> None:
    async with FakeOpenprovider(
        orders=400, seed=5, expiring_share=1.0, latency=0.02, **model
    ) as fake:
        ids = fake.renewable_ids()
        async with renewing(fake, tmp_path / "j.sqlite3", lookahead=16) as (journal, client):
            seen: list[op.bulk.Outcome[op.Renewed]] = []
            run = client.orders.renew_many(ids, concurrency=8)
            async with run:
                async for outcome in run:
                    seen.append(outcome)
                    if len(seen) == 40:
                        if how == "stopped":
                            run.stop()
                        else:
                            break
            records = {r.order_id: r.state for r in await journal.records()}
        charged = set(fake.stats.renewals)
    assert max(fake.stats.renewals.values()) == 1
    unsent = set(run.unsent)
    assert unsent, "the run had orders read ahead when it ended"
    assert not unsent & charged
    # Never sent: free in the journal, so a later run renews them.
    assert all(records[i] == "free" for i in unsent)
    # Pending: only what was sent and never answered.
    assert {i for i, state in records.items() if state == "pending"} == set(run.unanswered)
    renewed = {o.order_id for o in seen if o.ok}
    assert {i for i, state in records.items() if state == "renewed"} == renewed
    # Every order taken from the source is accounted for once.
    taken = [o.order_id for o in seen] + [o.order_id for o in run.undelivered]
    taken += [*run.unanswered, *run.unsent]
    assert len(taken) == len(set(taken)) == len(records)


@pytest.mark.parametrize("model", RENEW_MODELS)
async def test_a_run_with_a_spending_cap_claims_each_order_at_its_turn(
    tmp_path: Path, model: dict[str, Any]
) -> None:
    async with FakeOpenprovider(orders=50, seed=2, expiring_share=1.0, **model) as fake:
        ids = fake.renewable_ids()
        async with renewing(fake, tmp_path / "j.sqlite3") as (journal, client):
            made = spy_on_claims_ahead(journal)
            async with client.orders.renew_many(ids, concurrency=4, max_renewals=10) as run:
                outcomes = [o async for o in run]
            pending = await journal.pending()
    assert made == []
    assert run.cap_reached and run.sent == 10 == len(fake.stats.renewals)
    assert sum(o.ok for o in outcomes) == 10 and pending == []
