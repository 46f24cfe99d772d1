"""``RenewalJournal``: what every journal offers, and the group commit of the durable ones."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import csv
import functools
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import IO, Any, Final, Literal, Self

from ..errors import RenewalPendingError, ValidationError
from ._records import (
    DEFAULT_RENEWED_HOLD,
    PENDING,
    Claim,
    ClaimOp,
    ClaimRecord,
    Event,
    JournalEntry,
    Op,
    OperatorOp,
    Origin,
    Result,
    SettleOp,
    State,
)

__all__ = ["ExportFormat", "GroupCommit", "RenewalJournal", "StoredJournal"]

logger = logging.getLogger("openprovider_ssl")

ExportFormat = Literal["csv", "jsonl"]
EXPORT_FIELDS = (
    "seq",
    "at",
    "order_id",
    "claim_id",
    "event",
    "expiration",
    "error",
    "reason",
    "host",
    "pid",
    "run",
)


#: Seconds a settlement waits for a claim to share its commit before it is committed alone.
LAZY_DELAY: Final = 0.05


#: The journals' default clock: aware UTC datetimes (a C call, no Python frame per read).
utc_now: Callable[[], datetime] = functools.partial(datetime.now, UTC)


class RenewalJournal(abc.ABC):
    """The record of every renew this client sends: claimed before it leaves, settled by the
    answer, kept for the books.

    While an order's renew is pending (sent, outcome unknown) or the order was renewed for its
    current period, a renew of it is refused before sending with ``RenewalPendingError``, by
    every client that shares the journal. ``renewed_hold`` is how long a renewal blocks the
    order when no later expiration date is shown (see ``DEFAULT_RENEWED_HOLD``); ``clock``
    (aware UTC datetimes) is injectable for tests.
    """

    def __init__(
        self,
        *,
        renewed_hold: timedelta = DEFAULT_RENEWED_HOLD,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not isinstance(renewed_hold, timedelta) or renewed_hold <= timedelta(0):
            raise ValidationError("renewed_hold", "must be a positive timedelta")
        self.renewed_hold = renewed_hold
        self.clock = clock
        self.origin = Origin.here()
        self._serial = 0

    #: Where the journal keeps its records, for messages and summaries (never a password).
    location: str = "memory"

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:  # noqa: B027 - a hook: the memory journal has nothing to open
        """Open the storage (create its schema on first use); ``async with`` does it."""

    async def close(self) -> None:  # noqa: B027
        """Write what is queued and release the storage; ``async with`` does it."""

    def _claim_id(self) -> str:
        self._serial += 1
        return f"{self.origin.run}-{self._serial}"

    # -- the renew path --------------------------------------------------------------------

    @abc.abstractmethod
    async def claim(self, order_id: int, expiration: datetime | None = None) -> Claim:
        """Claim the right to send one renew of ``order_id``, durably, before it is sent.

        ``expiration`` is the order's expiration date as seen before the renew (None: not
        known). Raises ``RenewalPendingError`` when an earlier renew is pending or renewed the
        order for this period.
        """

    @abc.abstractmethod
    async def settle(self, claim: Claim, event: Event, *, error: str = "") -> None:
        """Record how the renew of ``claim`` ended: ``renewed``; ``not_applied``, ``refused``
        or ``abandoned`` (nothing charged: the claim is freed); ``unknown`` (it stays
        pending)."""

    # -- the operator's side --------------------------------------------------------------

    async def release(self, order_id: int, *, reason: str) -> ClaimRecord:
        """An operator's decision that the pending renew of ``order_id`` was not charged: the
        order may be renewed again. ``reason`` is kept in the journal."""
        return await self._decide(order_id, "released", reason)

    async def confirm(
        self, order_id: int, *, reason: str, claim_id: str | None = None
    ) -> ClaimRecord:
        """An operator's (or a read-back's) finding that the pending renew of ``order_id`` was
        applied: the order counts as renewed for this period. With ``claim_id``, only that
        claim is confirmed."""
        return await self._decide(order_id, "confirmed", reason, claim_id)

    async def _decide(
        self, order_id: int, event: Event, reason: str, claim_id: str | None = None
    ) -> ClaimRecord:
        if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id < 1:
            raise ValidationError("order_id", "must be a positive integer")
        if not isinstance(reason, str) or not reason.strip():
            raise ValidationError("reason", "say why (it is kept in the journal)")
        settled = await self._operate(OperatorOp(order_id, event, reason.strip(), claim_id))
        if not isinstance(settled, ClaimRecord):
            raise ValidationError("order_id", f"order {order_id} has no pending renew")
        return settled

    @abc.abstractmethod
    async def _operate(self, op: OperatorOp) -> Result: ...

    # -- reading ------------------------------------------------------------------------------

    @abc.abstractmethod
    async def records(
        self, *, state: State | None = None, order_ids: Iterable[int] | None = None
    ) -> list[ClaimRecord]:
        """The latest claim of each order (of ``order_ids``, in ``state``), by order id."""

    async def pending(self) -> list[ClaimRecord]:
        """Every renew sent whose outcome is not known yet, oldest first."""
        found = await self.records(state=PENDING)
        return sorted(found, key=lambda r: r.claimed_at)

    @abc.abstractmethod
    async def entries(
        self,
        *,
        order_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[JournalEntry]:
        """The history, oldest first: every claim and settlement (of ``order_id``, from
        ``since`` inclusive to ``until`` exclusive)."""

    async def export(
        self,
        out: IO[str],
        *,
        format: ExportFormat = "csv",
        order_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """Write the history to ``out`` as CSV (with a header) or JSON lines, for matching
        against Openprovider's invoices; returns the number of entries written."""
        if format not in ("csv", "jsonl"):
            raise ValidationError("format", "must be 'csv' or 'jsonl'")
        rows = [
            _exported(entry)
            for entry in await self.entries(order_id=order_id, since=since, until=until)
        ]
        if format == "csv":
            writer = csv.DictWriter(out, EXPORT_FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        else:
            for row in rows:
                out.write(json.dumps(row, separators=(",", ":")) + "\n")
        return len(rows)

    def _refused(self, record: ClaimRecord) -> RenewalPendingError:
        return RenewalPendingError(
            record.order_id,
            state=record.state,
            claimed_at=record.claimed_at,
            origin=str(record.origin),
        )


def _exported(entry: JournalEntry) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(entry, name) for name in EXPORT_FIELDS}
    row["at"] = entry.at.isoformat()
    row["expiration"] = entry.expiration.isoformat() if entry.expiration else ""
    return row


class GroupCommit:
    """Operations submitted while a commit runs wait for the next one: many claims and
    settlements share one transaction (and one fsync) without any waiting for a timer.

    A claim is *urgent*: it is committed at once (or right after the commit under way), since
    its renew waits for it. A settlement is not: it rides along with the next commit, or is
    committed ``lazy_delay`` seconds later when no claim comes first, so that a run of renewals
    pays about one commit per batch of claims rather than one for its claims and one for its
    answers. Operations are committed in the order they were submitted, whatever their kind.
    """

    def __init__(
        self,
        commit: Callable[[list[Op]], Awaitable[list[Result]]],
        *,
        lazy_delay: float = LAZY_DELAY,
    ) -> None:
        self._commit = commit
        self._lazy_delay = lazy_delay
        self._queue: list[tuple[Op, asyncio.Future[Result]]] = []
        self._urgent = False
        self._flusher: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._guarded: asyncio.AbstractEventLoop | None = None
        self._guard_of_loop: AsyncGenerator[None, None] | None = None

    def submit(self, op: Op, *, urgent: bool = True) -> asyncio.Future[Result]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._queue.append((op, future))
        if urgent:
            self._urgent = True
            self._start()
        else:
            self._guard(loop)
            if self._flusher is None and self._timer is None:
                self._timer = loop.call_later(self._lazy_delay, self._flush_soon)
        return future

    def _guard(self, loop: asyncio.AbstractEventLoop) -> None:
        """A program that ends its loop without closing the journal still gets its lazy
        operations committed: ``asyncio.run`` finalises the loop's async generators, and this
        one drains the queue when it is finalised."""
        if self._guarded is loop:
            return
        self._guarded = loop
        guard = _drain_when_loop_ends(self)
        with contextlib.suppress(StopIteration):
            guard.asend(None).send(None)  # to its first yield: the loop now knows it
        self._guard_of_loop = guard

    async def drain(self) -> None:
        """Commit everything submitted so far, lazy operations included, and wait for it."""
        while self._queue or self._flusher is not None:
            if self._queue:
                self._flush_soon()
            assert self._flusher is not None
            await asyncio.shield(self._flusher)

    def _flush_soon(self) -> None:
        self._urgent = True
        self._start()

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="openprovider-ssl journal")

    async def _flush(self) -> None:
        try:
            while self._queue and self._urgent:
                self._urgent = False
                batch, self._queue = self._queue, []
                try:
                    results = await self._commit([op for op, _ in batch])
                except BaseException as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    if not isinstance(error, Exception):
                        raise
                    continue
                if len(results) != len(batch):
                    wrong = RuntimeError("the journal answered a batch with the wrong count")
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(wrong)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._flusher = None
            if self._queue and self._timer is None:
                # Lazy operations left behind: committed a little later (or by the next claim).
                self._timer = asyncio.get_running_loop().call_later(
                    self._lazy_delay, self._flush_soon
                )


async def _drain_when_loop_ends(group: GroupCommit) -> AsyncGenerator[None, None]:
    """Suspended while its loop lives; commits what waits when the loop shuts down."""
    try:
        yield
    finally:
        await group.drain()


class StoredJournal(RenewalJournal):
    """A journal on a durable storage: every claim is committed before the renew leaves, and
    concurrent operations are committed together (``GroupCommit``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._group = GroupCommit(self._committed)
        self._opening: asyncio.Lock | None = None

    @property
    @abc.abstractmethod
    def is_open(self) -> bool: ...

    @abc.abstractmethod
    async def _commit(self, ops: list[Op]) -> list[Result]:
        """Apply ``ops`` in one transaction (see ``_records.plan``) and return their results."""

    async def _committed(self, ops: list[Op]) -> list[Result]:
        await self._ensure_open()
        return await self._commit(ops)

    async def _ensure_open(self) -> None:
        """Opened on first use when the caller did not open it (``async with``) first."""
        if self.is_open:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if not self.is_open:
                await self.open()

    async def close(self) -> None:
        await self._group.drain()

    async def claim(self, order_id: int, expiration: datetime | None = None) -> Claim:
        if isinstance(order_id, bool) or not isinstance(order_id, int) or not 0 < order_id < 2**63:
            # Checked here: a bad id in a batch would fail every other claim committed with it.
            raise ValidationError("order_id", "must be a positive integer")
        future = self._group.submit(ClaimOp(order_id, expiration, self._claim_id()))
        try:
            result = await asyncio.shield(future)
        except asyncio.CancelledError:
            # Cancelled before anything was sent: a claim committed anyway is freed again.
            if future.done():
                self._abandon_late_claim(future)
            else:
                future.add_done_callback(self._abandon_late_claim)
            raise
        if isinstance(result, Claim):
            return result
        assert isinstance(result, ClaimRecord)
        raise self._refused(result)

    def _abandon_late_claim(self, future: asyncio.Future[Result]) -> None:
        if not future.cancelled() and future.exception() is None:
            result = future.result()
            if isinstance(result, Claim):
                op = SettleOp(result, "abandoned", "cancelled before sending", at=self.clock())
                self._group.submit(op, urgent=False).add_done_callback(self._report_lost)

    async def settle(self, claim: Claim, event: Event, *, error: str = "") -> None:
        """Queued for the next commit, without waiting for it (see ``GroupCommit``): until it
        is committed the claim reads as pending, the safe side, and ``close()`` commits it."""
        op = SettleOp(claim, event, error, at=self.clock())
        self._group.submit(op, urgent=False).add_done_callback(self._report_lost)

    def _report_lost(self, future: asyncio.Future[Result]) -> None:
        """A settlement nobody awaits: if its commit failed, say so (the claim stays pending,
        the safe side). Only the error's type: a driver's message may quote a connection
        string."""
        if not future.cancelled() and (error := future.exception()) is not None:
            logger.error(
                "the renewal journal %s could not record a settlement (%s): the renew stays "
                "pending there until `reconcile` or an operator settles it",
                self.location,
                type(error).__name__,
            )

    async def _written(self) -> None:
        """Before a read: what this journal was given to write is committed (read your
        writes)."""
        await self._group.drain()

    async def _operate(self, op: OperatorOp) -> Result:
        return await self._group.submit(op)
