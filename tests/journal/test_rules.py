"""The journal's rules, pure: ``blocking()`` (may a renew be sent?) and ``plan()`` (what a batch
of claims, settlements and operator decisions does). No storage, no event loop."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openprovider_ssl.journal._records import (
    EVENTS,
    FREE,
    PENDING,
    RENEWED,
    SETTLES,
    Claim,
    ClaimOp,
    ClaimRecord,
    Event,
    NewEvent,
    Op,
    OperatorOp,
    Origin,
    Plan,
    Result,
    SettleOp,
    State,
    blocking,
    order_of,
    plan,
)

NOW = datetime(2030, 5, 17, 8, 30, 0, 250_000, tzinfo=UTC)
HOLD = timedelta(days=10)
EXPIRES = datetime(2030, 6, 1, 12, 0, 0, 999_999, tzinfo=UTC)
HERE = Origin("host-a", 101, "run-a")
THERE = Origin("host-b", 202, "run-b")
FREEING = [e for e, state in SETTLES.items() if state == FREE]


def record(
    state: State,
    *,
    order_id: int = 7,
    claim_id: str = "old-1",
    expiration: datetime | None = EXPIRES,
    claimed_at: datetime = NOW - timedelta(days=1),
    error: str = "",
) -> ClaimRecord:
    return ClaimRecord(
        order_id,
        claim_id,
        state,
        expiration,
        claimed_at,
        THERE,
        None if state == PENDING else claimed_at + timedelta(seconds=3),
        error,
    )


def run(ops: list[Op], *current: ClaimRecord, now: datetime = NOW) -> Plan:
    return plan(ops, {r.order_id: r for r in current}, now=now, hold=HOLD, origin=HERE)


# -- blocking -------------------------------------------------------------------------------


def test_nothing_or_a_free_claim_blocks_nothing() -> None:
    assert blocking(None, None, NOW, HOLD) is None
    assert blocking(None, EXPIRES, NOW, HOLD) is None
    assert blocking(record(FREE, claimed_at=NOW), EXPIRES, NOW, HOLD) is None
    assert blocking(record(FREE, claimed_at=NOW), None, NOW, HOLD) is None


@pytest.mark.parametrize(
    "expiration", [None, EXPIRES, EXPIRES + timedelta(days=365)], ids=["none", "same", "later"]
)
@pytest.mark.parametrize("age", [timedelta(0), HOLD, 100 * HOLD], ids=["new", "hold", "old"])
def test_a_pending_claim_always_blocks(expiration: datetime | None, age: timedelta) -> None:
    # Its outcome is unknown: a later expiration or any time passed proves nothing.
    held = record(PENDING, claimed_at=NOW - age)
    assert blocking(held, expiration, NOW, HOLD) is held


def test_a_renewal_blocks_the_same_period_until_the_hold_passed() -> None:
    held = record(RENEWED, claimed_at=NOW)
    for shown in (None, EXPIRES, EXPIRES - timedelta(microseconds=1), EXPIRES - timedelta(1)):
        assert blocking(held, shown, NOW, HOLD) is held
        assert blocking(held, shown, NOW + HOLD - timedelta(microseconds=1), HOLD) is held
        assert blocking(held, shown, NOW + HOLD, HOLD) is None
        assert blocking(held, shown, NOW + 3 * HOLD, HOLD) is None


def test_a_renewal_does_not_block_a_later_expiration() -> None:
    held = record(RENEWED, claimed_at=NOW)
    assert blocking(held, EXPIRES + timedelta(microseconds=1), NOW, HOLD) is None
    assert blocking(held, EXPIRES + timedelta(days=365), NOW, HOLD) is None


def test_a_renewal_without_a_known_expiration_blocks_whatever_is_shown() -> None:
    held = record(RENEWED, claimed_at=NOW, expiration=None)
    assert blocking(held, EXPIRES + timedelta(days=365), NOW, HOLD) is held
    assert blocking(held, EXPIRES + timedelta(days=365), NOW + HOLD, HOLD) is None


def test_expirations_in_other_time_zones_compare_as_instants() -> None:
    held = record(RENEWED, claimed_at=NOW)
    same_instant = EXPIRES.astimezone(timezone(timedelta(hours=2)))
    assert blocking(held, same_instant, NOW, HOLD) is held
    assert blocking(held, same_instant + timedelta(microseconds=1), NOW, HOLD) is None


# -- plan: claims -----------------------------------------------------------------------------


def test_a_claim_on_nothing_is_granted_pending_with_one_event() -> None:
    done = run([ClaimOp(7, EXPIRES, "c1")])
    assert done.results == [Claim(7, "c1", EXPIRES, NOW)]
    assert done.records == {7: ClaimRecord(7, "c1", PENDING, EXPIRES, NOW, HERE)}
    [event] = done.events
    assert (event.at, event.order_id, event.claim_id, event.event) == (NOW, 7, "c1", "claimed")
    assert (event.expiration, event.error, event.reason, event.origin) == (EXPIRES, "", "", HERE)


def test_a_claim_on_a_free_claim_replaces_it() -> None:
    done = run([ClaimOp(7, None, "c2")], record(FREE, claimed_at=NOW))
    assert done.results == [Claim(7, "c2", None, NOW)]
    assert done.records[7].claim_id == "c2"
    assert done.records[7].state == PENDING


def test_a_pending_claim_refuses_the_next_and_nothing_is_written() -> None:
    held = record(PENDING)
    current = {7: held}
    done = plan(
        [ClaimOp(7, EXPIRES + timedelta(365), "c2")], current, now=NOW, hold=HOLD, origin=HERE
    )
    assert done.results == [held]
    assert done.records == {}
    assert done.events == []
    assert current == {7: held}  # the caller's mapping is not changed


def test_a_renewal_refuses_the_same_period_and_grants_the_next() -> None:
    renewed = record(RENEWED, claimed_at=NOW - timedelta(days=2))
    refused = run([ClaimOp(7, EXPIRES, "c2"), ClaimOp(7, None, "c3")], renewed)
    assert refused.results == [renewed, renewed]
    assert refused.events == []
    later = run([ClaimOp(7, EXPIRES + timedelta(days=365), "c4")], renewed)
    assert later.results == [Claim(7, "c4", EXPIRES + timedelta(days=365), NOW)]
    after_hold = run([ClaimOp(7, EXPIRES, "c5")], renewed, now=renewed.claimed_at + HOLD)
    assert isinstance(after_hold.results[0], Claim)


def test_claims_of_one_order_in_one_batch_grant_only_the_first() -> None:
    done = run([ClaimOp(7, EXPIRES, f"c{i}") for i in range(5)])
    first = Claim(7, "c0", EXPIRES, NOW)
    assert done.results[0] == first
    assert all(isinstance(r, ClaimRecord) and r.claim_id == "c0" for r in done.results[1:])
    assert [e.event for e in done.events] == ["claimed"]


def test_claims_of_different_orders_are_independent() -> None:
    done = run([ClaimOp(i, None, f"c{i}") for i in (1, 2, 3)], record(PENDING, order_id=2))
    assert [type(r) for r in done.results] == [Claim, ClaimRecord, Claim]
    assert sorted(done.records) == [1, 3]


# -- plan: settlements --------------------------------------------------------------------------


def granted(order_id: int = 7, claim_id: str = "c1") -> tuple[Claim, ClaimRecord]:
    claim = Claim(order_id, claim_id, EXPIRES, NOW - timedelta(seconds=5))
    held = ClaimRecord(order_id, claim_id, PENDING, EXPIRES, claim.claimed_at, HERE)
    return claim, held


def test_renewed_settles_the_claim_and_then_blocks() -> None:
    claim, held = granted()
    done = run([SettleOp(claim, "renewed"), ClaimOp(7, EXPIRES, "c2")], held)
    assert done.results == [None, done.records[7]]
    assert done.records[7] == attrs.evolve(held, state=RENEWED, settled_at=NOW)
    assert [e.event for e in done.events] == ["renewed"]


@pytest.mark.parametrize("event", FREEING)
def test_a_settlement_proving_nothing_was_charged_frees_the_claim(event: Event) -> None:
    claim, held = granted()
    done = run([SettleOp(claim, event, error="E: boom"), ClaimOp(7, EXPIRES, "c2")], held)
    assert done.results == [None, Claim(7, "c2", EXPIRES, NOW)]
    assert [(e.event, e.claim_id, e.error) for e in done.events] == [
        (event, "c1", "E: boom"),
        ("claimed", "c2", ""),
    ]


def test_unknown_keeps_the_claim_pending_with_its_error() -> None:
    claim, held = granted()
    done = run([SettleOp(claim, "unknown", error="TimeoutError: read")], held)
    assert done.records[7] == attrs.evolve(held, error="TimeoutError: read")
    assert done.records[7].state == PENDING
    assert done.records[7].settled_at is None
    assert [(e.event, e.error) for e in done.events] == [("unknown", "TimeoutError: read")]
    # ...and it still blocks, and a later answer still settles it.
    again = run([ClaimOp(7, None, "c2"), SettleOp(claim, "renewed")], done.records[7])
    assert again.results[0] == done.records[7]
    assert again.records[7].state == RENEWED


@pytest.mark.parametrize("event", [e for e in EVENTS if e != "claimed"])
def test_a_settlement_of_a_claim_that_is_not_the_current_one_only_adds_an_event(
    event: Event,
) -> None:
    stale, _ = granted(claim_id="c1")
    current = [
        record(PENDING, claim_id="c2"),
        record(RENEWED, claim_id="c2"),
        record(FREE, claim_id="c2"),
        record(RENEWED, claim_id="c1"),  # settled already: a repeated answer
        record(FREE, claim_id="c1"),
    ]
    for held in [None, *current]:
        done = run([SettleOp(stale, event, error="late")], *([held] if held else []))
        assert done.results == [None]
        assert done.records == {}
        [kept] = done.events
        assert (kept.order_id, kept.claim_id, kept.event, kept.error) == (7, "c1", event, "late")
        assert kept.expiration == stale.expiration


# -- plan: an operator's decisions --------------------------------------------------------------


@pytest.mark.parametrize(("event", "state"), [("released", FREE), ("confirmed", RENEWED)])
def test_an_operator_settles_a_pending_claim(event: Event, state: State) -> None:
    held = record(PENDING, error="TimeoutError: read")
    done = run([OperatorOp(7, event, "checked the invoices")], held)
    settled = attrs.evolve(held, state=state, settled_at=NOW)
    assert done.results == [settled]
    assert done.records == {7: settled}
    [kept] = done.events
    assert (kept.claim_id, kept.event, kept.reason) == ("old-1", event, "checked the invoices")


@pytest.mark.parametrize("event", ["released", "confirmed"])
def test_an_operator_decides_nothing_on_what_is_not_pending(event: Event) -> None:
    for held in [None, record(RENEWED), record(FREE)]:
        done = run([OperatorOp(7, event, "why")], *([held] if held else []))
        assert (done.results, done.records, done.events) == ([None], {}, [])


def test_an_operator_decides_only_on_the_claim_named() -> None:
    held = record(PENDING, claim_id="c2")
    other = run([OperatorOp(7, "confirmed", "read back", claim_id="c1")], held)
    assert (other.results, other.records, other.events) == ([None], {}, [])
    same = run([OperatorOp(7, "confirmed", "read back", claim_id="c2")], held)
    assert same.records[7].state == RENEWED


def test_an_operator_unknown_decides_nothing() -> None:
    done = run([OperatorOp(7, "unknown", "hmm")], record(PENDING))
    assert (done.results, done.records, done.events) == ([None], {}, [])


# -- property: batching never changes meaning, and never grants twice -----------------------

ORDERS = (1, 2, 3)
BASE_EXPIRATION = datetime(2031, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC)
STEPS = [timedelta(0), timedelta(days=1), HOLD - timedelta(microseconds=1), HOLD, 40 * HOLD]
SETTLEMENTS = [e for e in EVENTS if e != "claimed"]

claim_spec = st.tuples(st.just("claim"), st.sampled_from(ORDERS), st.sampled_from([None, 0, 1, 2]))
settle_spec = st.tuples(st.just("settle"), st.integers(0, 50), st.sampled_from(SETTLEMENTS))
operator_spec = st.tuples(
    st.just("operator"),
    st.sampled_from(ORDERS),
    st.sampled_from(["released", "confirmed"]),
    st.none() | st.integers(0, 50),
)
tick = st.tuples(
    st.sampled_from(STEPS),
    st.lists(st.one_of(claim_spec, claim_spec, settle_spec, operator_spec), max_size=12),
)


@dataclass
class Tick:
    now: datetime
    ops: list[Op]


def build(spec: list[tuple[timedelta, list[tuple]]]) -> list[Tick]:  # type: ignore[type-arg]
    """Operations with their claim ids fixed up front: a settlement names an earlier claim
    (granted or not), as an answer or an operator does."""
    now = NOW
    claims: list[Claim] = []
    ticks = []
    for step, specs in spec:
        now += step
        ops: list[Op] = []
        for kind, *args in specs:
            if kind == "claim":
                order_id, years = args
                shown = None if years is None else BASE_EXPIRATION + timedelta(days=365 * years)
                claim = Claim(order_id, f"c{len(claims)}", shown, now)
                claims.append(claim)
                ops.append(ClaimOp(order_id, shown, claim.claim_id))
            elif kind == "settle" and claims:
                which, event = args
                ops.append(SettleOp(claims[which % len(claims)], event, error=f"e{which}"))
            elif kind == "operator":
                order_id, event, which = args
                named = None if which is None or not claims else claims[which % len(claims)]
                ops.append(
                    OperatorOp(order_id, event, "why", None if named is None else named.claim_id)
                )
        ticks.append(Tick(now, ops))
    return ticks


Replayed = tuple[list[Result], list[NewEvent], dict[int, ClaimRecord]]


def replay(ticks: list[Tick], cuts: list[set[int]]) -> Replayed:
    """Every tick's operations in batches cut before the given positions, each batch given
    only the records of its own orders (as a storage reads them)."""
    records: dict[int, ClaimRecord] = {}
    results: list[Result] = []
    events: list[NewEvent] = []
    for t, where in zip(ticks, cuts, strict=True):
        bounds = [0, *sorted(i for i in where if 0 < i < len(t.ops)), len(t.ops)]
        for start, stop in itertools.pairwise(bounds):
            batch = t.ops[start:stop]
            if not batch:
                continue
            mine = {order_of(op) for op in batch}
            done = plan(
                batch,
                {i: r for i, r in records.items() if i in mine},
                now=t.now,
                hold=HOLD,
                origin=HERE,
            )
            assert len(done.results) == len(batch)
            assert set(done.records) <= mine
            records.update(done.records)
            results.extend(done.results)
            events.extend(done.events)
    return results, events, records


@dataclass
class Model:
    """What the rules promise, kept independently of ``plan``."""

    claim_id: str
    state: str
    expiration: datetime | None
    claimed_at: datetime


def check_against_model(ticks: list[Tick], results: list[Result], events: list[NewEvent]) -> None:
    model: dict[int, Model] = {}
    flat = [(t.now, op) for t in ticks for op in t.ops]
    expected_events = 0
    for (now, op), result in zip(flat, results, strict=True):
        held = model.get(order_of(op))
        if isinstance(op, ClaimOp):
            free = (
                held is None
                or held.state == FREE
                or (
                    held.state == RENEWED
                    and (
                        now - held.claimed_at >= HOLD
                        or (
                            op.expiration is not None
                            and held.expiration is not None
                            and op.expiration > held.expiration
                        )
                    )
                )
            )
            if isinstance(result, Claim):
                # Never a second claim of an order unless the first was freed (or renewed
                # for a past period) in between.
                assert free, f"order {op.order_id} claimed again while {held}"
                assert result == Claim(op.order_id, op.claim_id, op.expiration, now)
                model[op.order_id] = Model(op.claim_id, PENDING, op.expiration, now)
                expected_events += 1
            else:
                assert not free, f"order {op.order_id} refused needlessly: {held}"
                assert held is not None
                assert isinstance(result, ClaimRecord)
                assert (result.claim_id, result.state) == (held.claim_id, held.state)
        elif isinstance(op, SettleOp):
            assert result is None
            expected_events += 1
            if held is not None and held.claim_id == op.claim.claim_id and held.state == PENDING:
                held.state = SETTLES[op.event] or PENDING
        else:
            applies = (
                held is not None and held.state == PENDING and op.claim_id in (None, held.claim_id)
            )
            if applies:
                assert held is not None
                assert isinstance(result, ClaimRecord)
                assert (result.claim_id, result.state) == (held.claim_id, SETTLES[op.event])
                held.state = SETTLES[op.event]  # type: ignore[assignment]
                expected_events += 1
            else:
                assert result is None
    assert len(events) == expected_events


@settings(max_examples=300, deadline=None)
@given(spec=st.lists(tick, min_size=1, max_size=8), data=st.data())
def test_batching_never_changes_meaning_nor_grants_twice(
    spec: list[tuple[timedelta, list[tuple]]],  # type: ignore[type-arg]
    data: st.DataObject,
) -> None:
    ticks = build(spec)
    one_by_one = replay(ticks, [set(range(len(t.ops))) for t in ticks])
    whole = replay(ticks, [set() for _ in ticks])
    split = replay(
        ticks,
        [data.draw(st.sets(st.integers(1, max(1, len(t.ops) - 1))), label="cuts") for t in ticks],
    )
    assert whole == one_by_one
    assert split == one_by_one
    results, events, records = one_by_one
    check_against_model(ticks, results, events)
    # The final records are the last claim of each order, as the results said.
    last = {}
    for op, result in zip([op for t in ticks for op in t.ops], results, strict=True):
        if isinstance(op, ClaimOp) and isinstance(result, Claim):
            last[op.order_id] = op.claim_id
    assert {i: r.claim_id for i, r in records.items()} == last
