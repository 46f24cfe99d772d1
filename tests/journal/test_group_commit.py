"""The group commit of the durable journals: a claim is committed before ``claim`` returns; a
settlement is not waited for (it rides with the next commit, or is committed a moment later),
yet every read, every later claim and ``close`` see it, and a lost one leaves the claim pending.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from openprovider_ssl.errors import RenewalPendingError
from openprovider_ssl.journal import SqliteJournal
from openprovider_ssl.journal._base import GroupCommit
from openprovider_ssl.journal._records import ClaimOp, Op, Result
from tests.journal._journals import T0, Clock

EXPIRES = T0.replace(year=T0.year + 1)


class Recorder:
    """A storage that records its batches and answers each operation with its order id."""

    def __init__(self) -> None:
        self.batches: list[list[Op]] = []
        self.gate: asyncio.Event | None = None

    async def commit(self, ops: list[Op]) -> list[Result]:
        if self.gate is not None:
            await self.gate.wait()
        self.batches.append(ops)
        return [None] * len(ops)


def op(order_id: int) -> ClaimOp:
    return ClaimOp(order_id, None, f"c{order_id}")


async def test_an_urgent_operation_is_committed_at_once_and_takes_the_lazy_ones_along() -> None:
    storage = Recorder()
    group = GroupCommit(storage.commit, lazy_delay=3600)
    lazy = group.submit(op(1), urgent=False)
    await asyncio.sleep(0.01)
    assert storage.batches == []  # a lazy operation alone waits
    await group.submit(op(2))
    assert lazy.done()
    assert storage.batches == [[op(1), op(2)]]  # one commit, in the order submitted


async def test_a_lazy_operation_alone_is_committed_after_the_delay() -> None:
    storage = Recorder()
    group = GroupCommit(storage.commit, lazy_delay=0.01)
    await asyncio.wait_for(group.submit(op(1), urgent=False), timeout=5)
    assert storage.batches == [[op(1)]]


async def test_lazy_operations_that_arrive_during_a_commit_wait_for_the_next_claim() -> None:
    storage = Recorder()
    storage.gate = asyncio.Event()
    group = GroupCommit(storage.commit, lazy_delay=3600)
    first = group.submit(op(1))
    await asyncio.sleep(0)
    lazy = group.submit(op(2), urgent=False)
    storage.gate.set()
    await first
    await asyncio.sleep(0.01)
    assert not lazy.done()  # no commit of its own right after the one under way
    assert storage.batches == [[op(1)]]
    await group.drain()
    assert storage.batches == [[op(1)], [op(2)]]


async def test_settle_does_not_wait_for_a_commit(tmp_path: Path) -> None:
    async with SqliteJournal(tmp_path / "j.sqlite3") as journal:
        claim = await journal.claim(7, EXPIRES)
        commits = 0
        real = journal._commit

        async def counted(ops: list[Op]) -> list[Result]:
            nonlocal commits
            commits += 1
            return await real(ops)

        journal._commit = counted  # type: ignore[method-assign]
        await journal.settle(claim, "renewed")
        assert commits == 0
        # Read your writes: the read commits it first.
        [record] = await journal.records(order_ids=[7])
        assert record.state == "renewed"
        assert commits == 1


async def test_a_claim_after_a_settlement_sees_it(tmp_path: Path) -> None:
    async with SqliteJournal(tmp_path / "j.sqlite3") as journal:
        claim = await journal.claim(7, EXPIRES)
        await journal.settle(claim, "not_applied")
        again = await journal.claim(7, EXPIRES)  # freed by the settlement queued before it
        await journal.settle(again, "renewed")
        with pytest.raises(RenewalPendingError):
            await journal.claim(7, EXPIRES)


async def test_close_commits_the_settlements_and_they_keep_their_time(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "j.sqlite3"
    async with SqliteJournal(path, clock=clock) as journal:
        claim = await journal.claim(7, EXPIRES)
        answered = clock.advance(timedelta(minutes=1))
        await journal.settle(claim, "renewed")
        clock.advance(timedelta(hours=1))  # committed later: the event keeps the answer's time
    async with SqliteJournal(path) as again:
        [record] = await again.records()
        assert (record.state, record.settled_at) == ("renewed", answered)
        assert [(e.event, e.at) for e in await again.entries()] == [
            ("claimed", T0),
            ("renewed", answered),
        ]


async def test_a_settlement_that_cannot_be_written_leaves_the_claim_pending_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "j.sqlite3"
    async with SqliteJournal(path) as journal:
        claim = await journal.claim(7, EXPIRES)

        async def broken(ops: list[Any]) -> list[Result]:
            raise OSError("disk full")

        journal._commit = broken  # type: ignore[method-assign]
        with caplog.at_level(logging.ERROR, logger="openprovider_ssl"):
            await journal.settle(claim, "renewed")
            await journal._group.drain()
    assert "could not record a settlement (OSError)" in caplog.text
    assert str(path) in caplog.text
    async with SqliteJournal(path) as again:
        [record] = await again.records()
        assert record.state == "pending"  # the safe side: never renewed again on its own
        with pytest.raises(RenewalPendingError):
            await again.claim(7, EXPIRES)


def test_a_program_that_never_closes_its_journal_still_commits_its_settlements(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    journal = SqliteJournal(path)  # never closed, nor entered: opened by its first claim

    async def renew_and_end() -> None:
        claim = await journal.claim(7, EXPIRES)
        await journal.settle(claim, "renewed")  # the loop ends before the lazy commit is due

    asyncio.run(renew_and_end())

    async def read() -> list[str]:
        async with SqliteJournal(path) as again:
            return [record.state for record in await again.records()]

    assert asyncio.run(read()) == ["renewed"]


async def test_a_batch_larger_than_sqlites_variable_limit_is_written_in_parts(
    tmp_path: Path,
) -> None:
    async with SqliteJournal(tmp_path / "j.sqlite3") as journal:
        assert journal._db is not None
        journal._db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 25)  # a small build's limit
        journal._max_variables = 25
        claims = await asyncio.gather(*(journal.claim(i, EXPIRES) for i in range(1, 61)))
        for claim in claims:
            await journal.settle(claim, "renewed")
        records = await journal.records()
        assert [r.order_id for r in records] == list(range(1, 61))
        assert {r.state for r in records} == {"renewed"}
        assert len(await journal.entries()) == 120
