"""The SQLite journal's renew path (``_renewals``: the rules as a few SQL statements over a
batch) decides and writes exactly what the general path (``_records.plan``) does, for any
batch of claims and settlements it takes; and the renew path really takes those batches."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from openprovider_ssl.journal import SqliteJournal
from openprovider_ssl.journal._records import Claim, ClaimOp, Event, Op, SettleOp
from openprovider_ssl.journal._sqlite import micros
from tests.journal._journals import T0, Clock

NOW = T0 + timedelta(days=400)
HOLD = timedelta(days=240)
IDS = range(1, 7)
#: Expiration dates seen before a renew: none, or around those the records hold.
EXPIRATIONS = [None, T0, T0 + timedelta(days=1), T0 + timedelta(microseconds=1)]
#: How long before NOW a renewal was claimed: either side of the hold, and on it.
AGES = [timedelta(days=1), HOLD - timedelta(microseconds=1), HOLD, HOLD + timedelta(days=1)]

_files = itertools.count()

record = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(["pending", "renewed", "free"]),
        st.sampled_from(EXPIRATIONS),
        st.sampled_from(AGES),
    ),
)
settle_events: st.SearchStrategy[Event] = st.sampled_from(
    ["renewed", "not_applied", "refused", "abandoned", "unknown"]
)


@st.composite
def batches(draw: st.DrawFn) -> tuple[dict[int, Any], list[Op]]:
    records = {i: r for i in IDS if (r := draw(record)) is not None}
    ids = draw(st.permutations(list(IDS)))[: draw(st.integers(1, len(IDS)))]
    ops: list[Op] = []
    for order_id in ids:
        if draw(st.booleans()):
            ops.append(ClaimOp(order_id, draw(st.sampled_from(EXPIRATIONS)), f"new-{order_id}"))
        else:
            claim_id = draw(st.sampled_from(["old", "other"]))
            expiration = draw(st.sampled_from(EXPIRATIONS))
            if claim_id == "old" and order_id in records:
                expiration = records[order_id][1]  # the claim the record was made for
            claim = Claim(order_id, claim_id, expiration, T0)
            at = draw(st.sampled_from([None, NOW - timedelta(minutes=3)]))
            error = draw(st.text(max_size=12))
            ops.append(SettleOp(claim, draw(settle_events), error, draw(st.text(max_size=5)), at))
    return records, ops


#: Cases on the edges of the rules, tried every run (the drawn ones may miss them).
EDGES: list[tuple[dict[int, Any], list[Op]]] = [
    ({1: ("renewed", T0, HOLD)}, [ClaimOp(1, None, "new-1")]),  # the hold ends: granted
    ({1: ("renewed", T0, AGES[1])}, [ClaimOp(1, T0, "new-1")]),  # just inside: refused
    ({1: ("renewed", T0, AGES[0])}, [ClaimOp(1, EXPIRATIONS[3], "new-1")]),  # a later period
    ({1: ("pending", None, AGES[0])}, [ClaimOp(1, None, "new-1"), ClaimOp(2, None, "new-2")]),
    (
        {1: ("pending", None, AGES[0]), 2: ("pending", T0, AGES[0])},
        [
            SettleOp(Claim(1, "other", None, T0), "renewed"),
            SettleOp(Claim(2, "old", T0, T0), "unknown", "timeout", "", NOW),
            ClaimOp(3, T0, "new-3"),
        ],
    ),
]


def with_edges(test: Any) -> Any:
    for records, ops in EDGES:
        test = example(batch=(records, ops))(test)
    return test


def _journal(directory: Path, records: dict[int, Any]) -> SqliteJournal:
    journal = SqliteJournal(directory / f"j{next(_files)}.sqlite3", clock=Clock(NOW))
    journal._db = journal._connect()
    db = journal._connection()
    for order_id, (state, expiration, age) in records.items():
        db.execute(
            "INSERT INTO renewal_claims VALUES (?, 'old', ?, ?, ?, NULL, '', 'h', 1, 'r')",
            (order_id, state, micros(expiration), micros(NOW - age)),
        )
    return journal


def _tables(journal: SqliteJournal) -> tuple[list[Any], list[Any]]:
    db = journal._connection()
    claims = db.execute("SELECT * FROM renewal_claims ORDER BY order_id").fetchall()
    events = db.execute("SELECT * FROM renewal_events ORDER BY seq").fetchall()
    return claims, [row[1:] for row in events]


@settings(max_examples=300, deadline=None)
@with_edges
@given(batch=batches())
def test_the_renew_path_decides_and_writes_what_plan_does(
    tmp_path_factory: pytest.TempPathFactory, batch: tuple[dict[int, Any], list[Op]]
) -> None:
    records, ops = batch
    directory = tmp_path_factory.mktemp("renewals", numbered=True)
    fast, general = _journal(directory, records), _journal(directory, records)
    general.origin = fast.origin
    try:
        for journal in (fast, general):
            journal._connection().execute("BEGIN IMMEDIATE")
        fast_results, history = fast._renewals(ops)  # type: ignore[arg-type]
        fast._end(fast._connection(), history)
        general_results = general._planned(ops)
        general._end(general._connection(), [])
        assert fast_results == general_results
        assert _tables(fast) == _tables(general)
    finally:
        for journal in (fast, general):
            journal._connection().close()


async def test_claims_and_settlements_take_the_renew_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def general(self: SqliteJournal, ops: list[Op]) -> None:
        raise AssertionError("a batch of claims and settlements took the general path")

    async with SqliteJournal(tmp_path / "j.sqlite3") as journal:
        monkeypatch.setattr(SqliteJournal, "_planned", general)
        claims = [await journal.claim(i) for i in (1, 2, 3)]
        for claim in claims:
            await journal.settle(claim, "renewed")
        await journal._group.drain()
        monkeypatch.undo()
        assert [r.state for r in await journal.records()] == ["renewed"] * 3
        # An operator's decision, or one order twice in a batch, takes the general path.
        await journal.claim(4)
        assert (await journal.release(4, reason="not charged")).state == "free"
