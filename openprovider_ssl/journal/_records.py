"""What the renewal journal records, and the rules every storage applies alike (pure, no I/O).

A journal keeps, per order, the *claim* of its latest renew (pending, renewed, or free) and,
for the reseller's books, every *event* that ever happened to a claim. The rules:

- a claim is granted when the order has no claim, a free one, or a renewal for a past period
  (``blocking``); otherwise the renew is refused before sending;
- the answer settles the claim (``SETTLES``): renewed, free again (not applied, refused,
  abandoned before sending, released by an operator), or still pending (outcome unknown);
- a settlement changes the claim only if it is still the claim it was made for; the event is
  always kept.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, NamedTuple

import attrs

__all__ = [
    "DEFAULT_RENEWED_HOLD",
    "EVENTS",
    "FREE",
    "PENDING",
    "RENEWED",
    "SETTLES",
    "Claim",
    "ClaimRecord",
    "Event",
    "JournalEntry",
    "Origin",
    "Plan",
    "State",
    "blocking",
    "order_of",
    "plan",
    "renewals_only",
    "whole_micros",
]

State = Literal["pending", "renewed", "free"]
PENDING: Final = "pending"
RENEWED: Final = "renewed"
FREE: Final = "free"

Event = Literal[
    "claimed",
    "renewed",
    "not_applied",
    "refused",
    "abandoned",
    "unknown",
    "released",
    "confirmed",
]
#: What each event does to the claim it settles; None: it stays as it is.
SETTLES: Final[Mapping[Event, State | None]] = {
    "claimed": PENDING,
    "renewed": RENEWED,
    "confirmed": RENEWED,
    "not_applied": FREE,
    "refused": FREE,
    "abandoned": FREE,
    "released": FREE,
    "unknown": None,
}
EVENTS: Final = tuple(SETTLES)

#: How long a renewal blocks another renew of the same order when no later expiration date is
#: shown. Two genuine renewals of one order lie at least a period (a year) minus the renew
#: window (at most 90 days) apart, so a hold below 275 days never blocks the next period's
#: renewal, and a renewal that settles days later at the certificate authority stays covered.
DEFAULT_RENEWED_HOLD: Final = timedelta(days=240)


@attrs.frozen(slots=True)
class Origin:
    """Where a claim was made: the host, the process, and the journal's run (one per open)."""

    host: str
    pid: int
    run: str

    @classmethod
    def here(cls) -> Origin:
        return cls(socket.gethostname(), os.getpid(), secrets.token_hex(4))

    def __str__(self) -> str:
        return f"{self.host} pid {self.pid} (run {self.run})"


class Claim(NamedTuple):
    """A granted claim: the right to send one renew of ``order_id``. Settle it with the
    answer."""

    order_id: int
    claim_id: str
    expiration: datetime | None
    claimed_at: datetime


@attrs.frozen(slots=True)
class ClaimRecord:
    """The latest claim of one order as the journal holds it."""

    order_id: int
    claim_id: str
    state: State
    expiration: datetime | None
    claimed_at: datetime
    origin: Origin
    settled_at: datetime | None = None
    error: str = ""

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or datetime.now(UTC)) - self.claimed_at


@attrs.frozen(slots=True)
class JournalEntry:
    """One event of the journal's history: what happened to which claim, when, from where.

    ``expiration`` is the expiration date seen before the renew (None: not known);
    ``error`` the failure that settled it (type and message); ``reason`` an operator's note.
    """

    seq: int
    at: datetime
    order_id: int
    claim_id: str
    event: Event
    expiration: datetime | None
    error: str
    reason: str
    host: str
    pid: int
    run: str


def blocking(
    record: ClaimRecord | None,
    expiration: datetime | None,
    now: datetime,
    hold: timedelta,
) -> ClaimRecord | None:
    """The record that forbids a new renew of its order, or None when one may be sent.

    A renewal blocks the same period: until ``hold`` has passed, unless the caller shows an
    expiration later than the one that renewal was claimed against (a new period began).
    """
    if record is None or record.state == FREE:
        return None
    if record.state == PENDING:
        return record
    if expiration is not None and record.expiration is not None and expiration > record.expiration:
        return None
    if now - record.claimed_at >= hold:
        return None
    return record


# -- batches, for the storages that commit many operations at once -------------------------


@attrs.frozen(slots=True)
class ClaimOp:
    order_id: int
    expiration: datetime | None
    claim_id: str


@attrs.frozen(slots=True)
class SettleOp:
    claim: Claim
    event: Event
    error: str = ""
    reason: str = ""
    #: When the answer came (None: when committed); a settlement may wait for a later commit.
    at: datetime | None = None


@attrs.frozen(slots=True)
class OperatorOp:
    """An operator's decision on a pending claim (released: not charged; confirmed:
    charged)."""

    order_id: int
    event: Event
    reason: str
    #: Only this claim (as read before deciding), not whatever claim the order has by then.
    claim_id: str | None = None


Op = ClaimOp | SettleOp | OperatorOp
#: Per operation: a granted ``Claim``, the ``ClaimRecord`` that blocked a claim or that an
#: operator settled, or None (a settlement, or an operator's decision with nothing pending).
Result = Claim | ClaimRecord | None


def whole_micros(delta: timedelta) -> int:
    """``delta`` in whole microseconds: exact, as the storages keep and compare times."""
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def order_of(op: Op) -> int:
    return op.claim.order_id if isinstance(op, SettleOp) else op.order_id


def renewals_only(ops: list[Op]) -> bool:
    """Whether ``ops`` are claims and settlements only, each of another order: a batch of the
    renew path, which the storages apply with a few statements of their own (held to ``plan``
    by their tests)."""
    if any(isinstance(op, OperatorOp) for op in ops):
        return False
    return len({order_of(op) for op in ops}) == len(ops)


@attrs.frozen(slots=True)
class NewEvent:
    at: datetime
    order_id: int
    claim_id: str
    event: Event
    expiration: datetime | None
    error: str
    reason: str
    origin: Origin


@attrs.define(slots=True)
class Plan:
    """What a batch does: each operation's result, the records to write, the events to add."""

    results: list[Result]
    records: dict[int, ClaimRecord]
    events: list[NewEvent]


def plan(
    ops: Iterable[Op],
    current: Mapping[int, ClaimRecord],
    *,
    now: datetime,
    hold: timedelta,
    origin: Origin,
) -> Plan:
    """Apply ``ops`` in order to the ``current`` records of their orders (read inside the
    storage's transaction): the storage then writes ``records`` and ``events`` atomically."""
    records = dict(current)
    out = Plan([], {}, [])

    def event(
        record: ClaimRecord | Claim,
        kind: Event,
        error: str = "",
        reason: str = "",
        at: datetime | None = None,
    ) -> None:
        out.events.append(
            NewEvent(
                at or now,
                record.order_id,
                record.claim_id,
                kind,
                record.expiration,
                error,
                reason,
                origin,
            )
        )

    def write(
        record: ClaimRecord,
        kind: Event,
        error: str = "",
        reason: str = "",
        at: datetime | None = None,
    ) -> None:
        records[record.order_id] = out.records[record.order_id] = record
        event(record, kind, error, reason, at)

    for op in ops:
        if isinstance(op, ClaimOp):
            blocker = blocking(records.get(op.order_id), op.expiration, now, hold)
            if blocker is not None:
                out.results.append(blocker)
                continue
            write(
                ClaimRecord(op.order_id, op.claim_id, PENDING, op.expiration, now, origin),
                "claimed",
            )
            out.results.append(Claim(op.order_id, op.claim_id, op.expiration, now))
        elif isinstance(op, SettleOp):
            out.results.append(None)
            claim = op.claim
            held, state = records.get(claim.order_id), SETTLES[op.event]
            if held is not None and held.claim_id == claim.claim_id and held.state == PENDING:
                settled = ClaimRecord(  # not attrs.evolve: this runs for every renew
                    held.order_id,
                    held.claim_id,
                    state or PENDING,
                    held.expiration,
                    held.claimed_at,
                    held.origin,
                    None if state is None else op.at or now,
                    op.error,
                )
                write(settled, op.event, op.error, op.reason, op.at)
            else:
                # A late or repeated answer: the claim moved on, but the books keep the event.
                event(claim, op.event, op.error, op.reason, op.at)
        else:
            held, state = records.get(op.order_id), SETTLES[op.event]
            if (
                held is None
                or held.state != PENDING
                or state is None
                or op.claim_id not in (None, held.claim_id)
            ):
                out.results.append(None)
                continue
            settled = attrs.evolve(held, state=state, settled_at=now)
            write(settled, op.event, reason=op.reason)
            out.results.append(settled)
    return out
