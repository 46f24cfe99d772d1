"""SqliteJournal shared by separate OS processes: racing to claim the same orders, each order is
granted exactly once across them; and a claim survives the process that made it being
SIGKILLed (it was committed before ``claim()`` returned)."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from openprovider_ssl.errors import RenewalPendingError
from openprovider_ssl.journal import SqliteJournal
from tests.journal._journals import kill, read_line, spawn

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and select are POSIX"),
]

ORDERS = 1_000


@pytest.mark.parametrize("processes", [2, 3])
async def test_processes_racing_for_the_same_orders_grant_each_exactly_once(
    tmp_path: Path, processes: int
) -> None:
    path = tmp_path / "shared" / "journal.sqlite3"  # created by the racers themselves
    workers = [spawn("race", path, ORDERS, seed, 50) for seed in range(processes)]
    try:
        for worker in workers:
            assert read_line(worker) == "ready"
        for worker in workers:  # all at once
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        summaries: list[dict[str, Any]] = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            summaries.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate(timeout=10)

    seen = "; ".join(
        f"pid {s['pid']}: {len(s['granted'])} granted, refused {s['refused']}, "
        f"{len(s['errors'])} errors {s['errors'][:3]}, {s['seconds']} s"
        for s in summaries
    )
    assert all(s["errors"] == [] for s in summaries), seen
    times = Counter(i for s in summaries for i in s["granted"])
    twice = sorted(i for i, n in times.items() if n > 1)
    assert twice == [], f"granted more than once: {twice[:20]} ({seen})"
    never = sorted(set(range(1, ORDERS + 1)) - set(times))
    assert never == [], f"never granted: {never[:20]} ({seen})"
    for summary in summaries:
        assert len(summary["granted"]) + sum(summary["refused"].values()) == ORDERS, seen
    # (How the orders are shared is SQLite's business: its busy handler is not fair, and a
    # process may wait for the write lock until the others are done, then be refused all.)
    by_pid = {i: s["pid"] for s in summaries for i in s["granted"]}

    async with SqliteJournal(path) as journal:
        renewed = await journal.records(state="renewed")
        assert len(renewed) == ORDERS
        assert await journal.pending() == []
        assert {r.order_id: r.origin.pid for r in renewed} == by_pid
        events = Counter((e.order_id, e.event) for e in await journal.entries())
        assert events == Counter(
            {(i, event): 1 for i in range(1, ORDERS + 1) for event in ("claimed", "renewed")}
        )
        with pytest.raises(RenewalPendingError):
            await journal.claim(ORDERS // 2)


async def test_a_claim_survives_its_process_being_killed(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    worker = spawn("hold", path, 31027)
    try:
        assert read_line(worker) == "claimed"
        kill(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=10)

    async with SqliteJournal(path) as journal:
        [held] = await journal.pending()
        assert (held.order_id, held.state, held.origin.pid) == (31027, "pending", worker.pid)
        with pytest.raises(RenewalPendingError) as refused:
            await journal.claim(31027)
        assert refused.value.state == "pending"
        assert f"pid {worker.pid}" in str(refused.value)
        # The file is not left locked: this process writes to it.
        await journal.claim(5)
        await journal.release(31027, reason="the killed run's renew: checked, not charged")
        await journal.claim(31027)


async def test_every_claim_returned_before_a_kill_is_pending_after_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    worker = spawn("stream", path, 3_000, 20)
    seen: list[int] = []
    try:
        while len(seen) < 150:
            line = read_line(worker)
            assert line.startswith("granted "), line
            seen.append(int(line.split()[1]))
        kill(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=10)

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    async with SqliteJournal(path) as journal:
        pending = {r.order_id for r in await journal.pending()}
        assert set(seen) <= pending
        assert await journal.records(state="renewed") == []
        assert len(pending) < 3_000  # it was killed in the middle
        claimed = [e.order_id for e in await journal.entries()]
        assert sorted(claimed) == sorted(pending)  # whole batches, or nothing of one
