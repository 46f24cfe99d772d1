"""``MemoryJournal``: the journal a client keeps when it is given none, for its own lifetime.

It sits on every renew's path, so it applies the rules of ``_records`` directly rather than
through ``plan`` batches, and keeps what it must remember of a renewed order in one integer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from ._base import RenewalJournal
from ._records import (
    PENDING,
    RENEWED,
    SETTLES,
    Claim,
    ClaimRecord,
    Event,
    JournalEntry,
    OperatorOp,
    Result,
    State,
    blocking,
)

__all__ = ["MemoryJournal"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS = 1 << 34  # epoch seconds up to the year 2514
_ONE_SECOND = timedelta(seconds=1)
_new_claim = tuple.__new__  # a Claim without the Python-level __new__ of a NamedTuple


#: An event in the history is these seven values one after the other (at, order id, claim id,
#: event, expiration, error, reason), its seq counted from the last: no tuple kept per event,
#: so the history makes nothing for the garbage collector to look at.
_ROW = 7


def _pack(expiration: datetime | None, claimed: int) -> int:
    """A renewal in one int: the expiration in whole seconds rounded up (a later expiration
    within that second counts as the same one: refused, the safe side) and the claim time
    (``claimed``: its seconds rounded up too, so the hold never ends early)."""
    shown = 0 if expiration is None else _seconds_up(expiration)
    return shown * _SECONDS + claimed


def _seconds_up(at: datetime) -> int:
    """Seconds from the epoch to ``at``, rounded up."""
    return -((_EPOCH - at) // _ONE_SECOND)


class _SecondsUp:
    """``_seconds_up`` of claim times, which come by the thousand within one second: the
    second last computed is kept as its bounds, and a time inside them costs two compares."""

    __slots__ = ("after", "seconds", "until")

    def __init__(self) -> None:
        self.after = self.until = _EPOCH
        self.seconds = 0

    def __call__(self, at: datetime) -> int:
        if self.after < at <= self.until:
            return self.seconds
        seconds = _seconds_up(at)
        self.until = _EPOCH + timedelta(seconds=seconds)
        self.after = self.until - _ONE_SECOND
        self.seconds = seconds
        return seconds


def _unpack(order_id: int, packed: int, origin: Any) -> ClaimRecord:
    shown, claimed = divmod(packed, _SECONDS)
    expiration = _EPOCH + timedelta(seconds=shown) if shown else None
    return ClaimRecord(
        order_id, "", RENEWED, expiration, _EPOCH + timedelta(seconds=claimed), origin
    )


class MemoryJournal(RenewalJournal):
    """The journal's rules in this process's memory: a renew is never sent twice for one period
    by this client, but nothing survives the process. Writes nothing to disk.

    Keeps pending renewals whole, each renewed order in about a hundred bytes (freed claims are
    forgotten), and the last ``history`` events for ``entries()``.
    """

    def __init__(self, *, history: int = 10_000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # order id -> (claim id, expiration, claimed at, last error): made a record when read.
        self._pending: dict[int, tuple[str, datetime | None, datetime, str]] = {}
        self._renewed: dict[int, int] = {}
        self._history: deque[Any] = deque(maxlen=None if history is None else _ROW * history)
        self._seq = 0
        self._claimed_up = _SecondsUp()

    def __repr__(self) -> str:
        return (
            f"<MemoryJournal {len(self._pending)} pending, {len(self._renewed)} renewed order(s)>"
        )

    def _event(
        self,
        now: datetime,
        order_id: int,
        claim_id: str,
        event: Event,
        expiration: datetime | None,
        *,
        error: str = "",
        reason: str = "",
    ) -> None:
        self._seq += 1
        self._history.extend((now, order_id, claim_id, event, expiration, error, reason))

    def _record(self, order_id: int) -> ClaimRecord | None:
        pending = self._pending.get(order_id)
        if pending is not None:
            claim_id, expiration, claimed_at, error = pending
            return ClaimRecord(
                order_id, claim_id, PENDING, expiration, claimed_at, self.origin, None, error
            )
        packed = self._renewed.get(order_id)
        return None if packed is None else _unpack(order_id, packed, self.origin)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.claim is not MemoryJournal.claim or cls.settle is not MemoryJournal.settle:
            # The renew path must call what the subclass overrides: it awaits claim and settle.
            cls._claim_at_once = RenewalJournal._claim_at_once  # type: ignore[assignment]
            cls._settle_at_once = RenewalJournal._settle_at_once

    async def claim(self, order_id: int, expiration: datetime | None = None) -> Claim:
        return self._claim_now(order_id, expiration)

    async def settle(self, claim: Claim, event: Event, *, error: str = "") -> None:
        self._settle_now(claim, event, error=error)

    def _claim_now(self, order_id: int, expiration: datetime | None = None) -> Claim:
        """``claim``, done at once (a journal in memory has nothing to wait for)."""
        # On every renew's path: the rules of ``_records`` written out, without helpers.
        now = self.clock()
        if order_id in self._pending or order_id in self._renewed:
            blocker = blocking(self._record(order_id), expiration, now, self.renewed_hold)
            if blocker is not None:
                raise self._refused(blocker)
            self._renewed.pop(order_id, None)
        claim_id = self._claim_id()
        self._pending[order_id] = (claim_id, expiration, now, "")
        self._seq += 1
        self._history.extend((now, order_id, claim_id, "claimed", expiration, "", ""))
        return _new_claim(Claim, (order_id, claim_id, expiration, now))

    def _settle_now(self, claim: Claim, event: Event, *, error: str = "") -> bool:
        """``settle``, done at once (True: nothing is left to do)."""
        order_id, claim_id, expiration, _ = claim
        held = self._pending.get(order_id)
        state = SETTLES[event]
        if held is None or held[0] != claim_id or state is None:
            self._settle(order_id, claim_id, event, error=error, expiration=expiration)
            return True
        now = self.clock()
        del self._pending[order_id]
        if state == RENEWED:
            self._renewed[order_id] = _pack(held[1], self._claimed_up(held[2]))
        self._seq += 1
        self._history.extend((now, order_id, claim_id, event, held[1], error, ""))
        return True

    # The renew path's hooks (``RenewalJournal``) are these very methods: no coroutine, and
    # no call in between (unless a subclass overrides claim or settle: see above).
    _claim_at_once = _claim_now
    _settle_at_once = _settle_now

    def _settle(
        self,
        order_id: int,
        claim_id: str | None,
        event: Event,
        *,
        error: str = "",
        reason: str = "",
        expiration: datetime | None = None,
    ) -> tuple[str, datetime | None, datetime, str] | None:
        """Settle the pending claim of ``order_id`` (only ``claim_id``'s, when given); returns
        it as it was, or None when it moved on (the event is kept all the same)."""
        now = self.clock()
        held = self._pending.get(order_id)
        if held is None or claim_id not in (None, held[0]):
            self._event(
                now, order_id, claim_id or "", event, expiration, error=error, reason=reason
            )
            return None
        state = SETTLES[event]
        if state is None:
            self._pending[order_id] = (*held[:3], error)
        else:
            del self._pending[order_id]
            if state == RENEWED:
                self._renewed[order_id] = _pack(held[1], self._claimed_up(held[2]))
        self._event(now, order_id, held[0], event, held[1], error=error, reason=reason)
        return held

    async def _operate(self, op: OperatorOp) -> Result:
        state = SETTLES[op.event]
        pending = self._pending.get(op.order_id)
        if state is None or pending is None or op.claim_id not in (None, pending[0]):
            return None  # nothing to decide: no event either, as plan() adds none
        held = self._settle(op.order_id, op.claim_id, op.event, reason=op.reason)
        if held is None:
            return None
        claim_id, expiration, claimed_at, error = held
        return ClaimRecord(
            op.order_id, claim_id, state, expiration, claimed_at, self.origin, self.clock(), error
        )

    async def records(
        self, *, state: State | None = None, order_ids: Iterable[int] | None = None
    ) -> list[ClaimRecord]:
        wanted = None if order_ids is None else set(order_ids)
        every = [self._record(i) for i in [*self._pending, *self._renewed]]
        return sorted(
            (
                r
                for r in every
                if r is not None
                and (state is None or r.state == state)
                and (wanted is None or r.order_id in wanted)
            ),
            key=lambda r: r.order_id,
        )

    async def entries(
        self,
        *,
        order_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[JournalEntry]:
        host, pid, run = self.origin.host, self.origin.pid, self.origin.run
        history = self._history
        values = iter(history)
        rows = zip(*[values] * _ROW, strict=True)
        first = self._seq - len(history) // _ROW + 1
        return [
            JournalEntry(seq, at, oid, claim_id, event, expiration, error, reason, host, pid, run)
            for seq, (at, oid, claim_id, event, expiration, error, reason) in enumerate(rows, first)
            if (order_id is None or oid == order_id)
            and (since is None or at >= since)
            and (until is None or at < until)
        ]
