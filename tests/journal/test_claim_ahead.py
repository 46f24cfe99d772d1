"""Claims made ahead of their turn (``claim_ahead``), as a bulk run makes them in a durable
journal: ``claim`` takes one up without another commit; one never taken up is freed, never
left pending; and the SQLite journal runs its statements on the loop but waits for another
process's lock (and the disk) in its thread."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import openprovider_ssl as op
from openprovider_ssl.errors import RenewalPendingError, ValidationError
from openprovider_ssl.journal import Claim, Event, MemoryJournal, SqliteJournal
from openprovider_ssl.journal._records import Op, Result
from openprovider_ssl.testing import FakeOpenprovider
from tests.bulk.test_renewal_cap_loopback import RENEW_MODELS
from tests.journal._journals import T0, Clock

EXPIRES = T0.replace(year=T0.year + 1)


async def test_a_claim_made_ahead_is_taken_up_by_claim_without_a_commit_of_its_own(
    tmp_path: Path,
) -> None:
    async with SqliteJournal(tmp_path / "j.sqlite3", clock=Clock()) as journal:
        drop = journal.claim_ahead(7, EXPIRES)
        assert drop is not None
        await journal._group.drain()
        commits = _count_commits(journal)
        claim = await journal.claim(7, EXPIRES)
        assert commits == []  # already committed: the renew waits for nothing
        drop()  # the turn is over: the claim was taken up, so this frees nothing
        await journal.settle(claim, "renewed")
    async with SqliteJournal(tmp_path / "j.sqlite3") as again:
        [record] = await again.records()
        assert (record.state, record.claim_id) == ("renewed", claim.claim_id)
        assert [e.event for e in await again.entries()] == ["claimed", "renewed"]


async def test_a_claim_made_ahead_and_never_taken_up_is_freed(tmp_path: Path) -> None:
    async with SqliteJournal(tmp_path / "j.sqlite3", clock=Clock()) as journal:
        drop = journal.claim_ahead(7, EXPIRES)
        assert drop is not None
        drop()
        [record] = await journal.records()
        assert record.state == "free"
        assert [(e.event, e.error) for e in await journal.entries()] == [
            ("claimed", ""),
            ("abandoned", "claimed ahead, never sent"),
        ]
        await journal.claim(7, EXPIRES)  # free: the order may be renewed


async def test_closing_the_journal_frees_the_claims_made_ahead(tmp_path: Path) -> None:
    async with SqliteJournal(tmp_path / "j.sqlite3") as journal:
        journal.claim_ahead(7, EXPIRES)
        journal.claim_ahead(8, None)
    async with SqliteJournal(tmp_path / "j.sqlite3") as again:
        assert [r.state for r in await again.records()] == ["free", "free"]
        assert await again.pending() == []


async def test_a_claim_made_ahead_as_of_another_expiration_is_replaced(tmp_path: Path) -> None:
    later = EXPIRES.replace(day=1)
    async with SqliteJournal(tmp_path / "j.sqlite3", clock=Clock()) as journal:
        journal.claim_ahead(7, later)
        claim = await journal.claim(7, EXPIRES)
        assert claim.expiration == EXPIRES
        [record] = await journal.records()
        assert (record.state, record.claim_id, record.expiration) == (
            "pending",
            claim.claim_id,
            EXPIRES,
        )
        events = [(e.event, e.expiration) for e in await journal.entries()]
        assert events == [("claimed", later), ("abandoned", later), ("claimed", EXPIRES)]


async def test_a_refused_claim_made_ahead_refuses_the_renew(tmp_path: Path) -> None:
    async with SqliteJournal(tmp_path / "j.sqlite3") as journal:
        first = await journal.claim(7, EXPIRES)
        journal.claim_ahead(7, EXPIRES)  # pending already: refused when committed
        with pytest.raises(RenewalPendingError):
            await journal.claim(7, EXPIRES)
        [record] = await journal.records()
        assert record.claim_id == first.claim_id and record.state == "pending"


async def test_only_one_claim_of_an_order_is_made_ahead_at_a_time(tmp_path: Path) -> None:
    async with SqliteJournal(tmp_path / "j.sqlite3") as journal:
        assert journal.claim_ahead(7) is not None
        assert journal.claim_ahead(7) is None
        assert journal.claim_ahead(0) is None  # not an order id: its own turn says so
        assert journal.claim_ahead(True) is None


async def test_no_claim_is_made_ahead_with_a_lookahead_of_0_nor_in_memory(
    tmp_path: Path,
) -> None:
    async with SqliteJournal(tmp_path / "j.sqlite3", lookahead=0) as journal:
        assert journal.lookahead == 0
        assert journal.claim_ahead(7) is None
        assert await journal.records() == []
    assert MemoryJournal().lookahead == 0
    assert MemoryJournal().claim_ahead(7) is None


@pytest.mark.parametrize("bad", [-1, 10_001, 1.5, True, "32"])
def test_a_bad_lookahead_is_refused(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ValidationError, match="lookahead"):
        SqliteJournal(tmp_path / "j.sqlite3", lookahead=bad)


async def test_a_batch_waits_for_another_process_lock_in_the_thread_not_on_the_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    async with SqliteJournal(path, busy_timeout=10) as journal:
        await journal.claim(1)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the file's write lock, as another process holds it
        try:
            claiming = asyncio.create_task(journal.claim(2))
            ticks = 0
            for _ in range(20):
                await asyncio.sleep(0.01)
                ticks += 1
            assert not claiming.done()
            assert ticks == 20  # the loop ran on while the claim waited
        finally:
            other.execute("COMMIT")
            other.close()
        claim = await asyncio.wait_for(claiming, timeout=10)
        assert claim.order_id == 2
        assert {r.order_id for r in await journal.pending()} == {1, 2}


def _count_commits(journal: SqliteJournal) -> list[int]:
    seen: list[int] = []
    commit = journal._commit

    async def counted(ops: list[Op]) -> list[Result]:
        seen.append(len(ops))
        return await commit(ops)

    journal._commit = counted  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize("model", RENEW_MODELS)
async def test_the_renew_path_takes_a_committed_claim_made_ahead_at_once(
    tmp_path: Path, model: dict[str, Any]
) -> None:
    async with FakeOpenprovider(orders=20, seed=4, expiring_share=1.0, **model) as fake:
        [order_id, *_] = fake.renewable_ids()
        async with (
            SqliteJournal(tmp_path / "j.sqlite3") as journal,
            op.Client(token=fake.token, base_url=fake.url, journal=journal) as client,
        ):
            journal.claim_ahead(order_id)
            await journal._group.drain()
            waited: list[int] = []
            claim = journal.claim

            async def spied(order_id: int, expiration: datetime | None = None) -> Claim:
                waited.append(order_id)
                return await claim(order_id, expiration)

            journal.claim = spied  # type: ignore[method-assign]
            await client.orders.renew(order_id)
            assert waited == []  # taken up at once
            [record] = await journal.records()
            assert (record.order_id, record.state) == (order_id, "renewed")
    assert fake.stats.renewals == {order_id: 1}


async def test_a_memory_journal_subclass_overriding_claim_and_settle_is_called() -> None:
    calls: list[str] = []

    class Watched(MemoryJournal):
        async def claim(self, order_id: int, expiration: datetime | None = None) -> Claim:
            calls.append("claim")
            return await super().claim(order_id, expiration)

        async def settle(self, claim: Claim, event: Event, *, error: str = "") -> None:
            calls.append(event)
            await super().settle(claim, event, error=error)

    async with FakeOpenprovider(orders=20, seed=4, expiring_share=1.0) as fake:
        [order_id, *_] = fake.renewable_ids()
        async with op.Client(token=fake.token, base_url=fake.url, journal=Watched()) as client:
            await client.orders.renew(order_id)
    assert calls == ["claim", "renewed"]
