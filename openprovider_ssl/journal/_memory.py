"""``MemoryJournal``: the journal a client keeps when it is given none, for its own lifetime."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ._base import RenewalJournal
from ._records import (
    FREE,
    Claim,
    ClaimOp,
    ClaimRecord,
    Event,
    JournalEntry,
    OperatorOp,
    Result,
    SettleOp,
    State,
    order_of,
    plan,
)

__all__ = ["MemoryJournal"]


class MemoryJournal(RenewalJournal):
    """The journal's rules in this process's memory: a renew is never sent twice for one period
    by this client, but nothing survives the process. Writes nothing to disk.

    Keeps the latest claim of every order it renewed or has pending (freed claims are
    forgotten) and the last ``history`` events for ``entries()``.
    """

    def __init__(self, *, history: int = 10_000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._records: dict[int, ClaimRecord] = {}
        self._history: deque[JournalEntry] = deque(maxlen=history)
        self._seq = 0

    def __repr__(self) -> str:
        return f"<MemoryJournal {len(self._records)} order(s)>"

    def _apply(self, op: ClaimOp | SettleOp | OperatorOp) -> Result:
        order_id = order_of(op)
        current = self._records.get(order_id)
        done = plan(
            (op,),
            {} if current is None else {order_id: current},
            now=self.clock(),
            hold=self.renewed_hold,
            origin=self.origin,
        )
        for record in done.records.values():
            if record.state == FREE:
                self._records.pop(record.order_id, None)
            else:
                self._records[record.order_id] = record
        for new in done.events:
            self._seq += 1
            self._history.append(
                JournalEntry(
                    self._seq,
                    new.at,
                    new.order_id,
                    new.claim_id,
                    new.event,
                    new.expiration,
                    new.error,
                    new.reason,
                    new.origin.host,
                    new.origin.pid,
                    new.origin.run,
                )
            )
        return done.results[0]

    async def claim(self, order_id: int, expiration: datetime | None = None) -> Claim:
        result = self._apply(ClaimOp(order_id, expiration, self._claim_id()))
        if isinstance(result, Claim):
            return result
        assert isinstance(result, ClaimRecord)
        raise self._refused(result)

    async def settle(self, claim: Claim, event: Event, *, error: str = "") -> None:
        self._apply(SettleOp(claim, event, error))

    async def _operate(self, op: OperatorOp) -> Result:
        return self._apply(op)

    async def records(
        self, *, state: State | None = None, order_ids: Iterable[int] | None = None
    ) -> list[ClaimRecord]:
        wanted = None if order_ids is None else set(order_ids)
        return sorted(
            (
                r
                for r in self._records.values()
                if (state is None or r.state == state) and (wanted is None or r.order_id in wanted)
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
        return [
            e
            for e in self._history
            if (order_id is None or e.order_id == order_id)
            and (since is None or e.at >= since)
            and (until is None or e.at < until)
        ]
