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
from typing import IO, Any, Final, Literal, NamedTuple, Self

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

#: How many orders a bulk run claims in a durable journal ahead of their turn, by default.
DEFAULT_LOOKAHEAD: Final = 100
MAX_LOOKAHEAD: Final = 10_000


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

    #: How many orders a bulk run claims ahead of their turn (``claim_ahead``); 0: none.
    lookahead: int = 0

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

    def _claim_at_once(self, order_id: int, expiration: datetime | None = None) -> Claim | None:
        """``claim``, when it has nothing to wait for (the renew path tries this first, to
        spare a coroutine): the claim, or ``RenewalPendingError``; None: await ``claim``."""
        return None

    def _settle_at_once(self, claim: Claim, event: Event, *, error: str = "") -> bool:
        """``settle``, when it has nothing to wait for; False: await ``settle``."""
        return False

    def claim_ahead(
        self, order_id: int, expiration: datetime | None = None
    ) -> Callable[[], None] | None:
        """Start claiming ``order_id`` now, for a renew that comes soon (a bulk run's next
        orders), so that its ``claim`` with the same arguments need not wait for a commit.

        Returns what frees the claim if that renew is not sent after all (call it once the
        order's turn is over: it does nothing when ``claim`` took the claim up), or None when
        nothing was claimed ahead. A journal in memory commits nothing, and claims nothing
        ahead.
        """
        return None

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
        on_orphan: Callable[[Result], object] | None = None,
        on_lost: Callable[[int, Exception], object] | None = None,
    ) -> None:
        self._commit = commit
        self._lazy_delay = lazy_delay
        self._on_orphan = on_orphan
        self._on_lost = on_lost
        # Each operation with the future its result goes to (None: posted, nobody waits).
        self._queue: list[tuple[Op, asyncio.Future[Result] | None]] = []
        self._urgent = False
        self._flusher: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._guarded: asyncio.AbstractEventLoop | None = None
        self._guard_of_loop: AsyncGenerator[None, None] | None = None

    def submit(self, op: Op, *, urgent: bool = True) -> asyncio.Future[Result]:
        """Queue ``op``; the future gets its result once committed. A future cancelled before
        that (its waiter was cancelled) hands the result to ``on_orphan`` instead."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._queue.append((op, future))
        if urgent:
            self._urgent = True
            self._start()
        else:
            self._later(loop)
        return future

    def post(self, op: Op) -> None:
        """Queue a lazy ``op`` whose result nobody awaits (a settlement); if its commit fails,
        ``on_lost`` is told how many such operations were lost, and why."""
        self._queue.append((op, None))
        self._later(asyncio.get_running_loop())

    def _later(self, loop: asyncio.AbstractEventLoop) -> None:
        self._guard(loop)
        if self._flusher is None and self._timer is None:
            self._timer = loop.call_later(self._lazy_delay, self._flush_soon)

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
                    self._failed(batch, error)
                    if not isinstance(error, Exception):
                        raise
                    continue
                if len(results) != len(batch):
                    self._failed(batch, RuntimeError("the journal answered a batch wrongly"))
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if future is None:
                        continue
                    if not future.done():
                        future.set_result(result)
                    elif future.cancelled() and self._on_orphan is not None:
                        self._on_orphan(result)
        finally:
            self._flusher = None
            if self._queue and self._timer is None:
                # Lazy operations left behind: committed a little later (or by the next claim).
                self._timer = asyncio.get_running_loop().call_later(
                    self._lazy_delay, self._flush_soon
                )

    def _failed(
        self, batch: list[tuple[Op, asyncio.Future[Result] | None]], error: BaseException
    ) -> None:
        lost = 0
        for _, future in batch:
            if future is None:
                lost += 1
            elif not future.done():
                future.set_exception(error)
        if lost and self._on_lost is not None and isinstance(error, Exception):
            self._on_lost(lost, error)


async def _drain_when_loop_ends(group: GroupCommit) -> AsyncGenerator[None, None]:
    """Suspended while its loop lives; commits what waits when the loop shuts down."""
    try:
        yield
    finally:
        await group.drain()


def _valid_id(order_id: object) -> bool:
    return isinstance(order_id, int) and not isinstance(order_id, bool) and 0 < order_id < 2**63


class _Ahead(NamedTuple):
    expiration: datetime | None
    future: asyncio.Future[Result]


class StoredJournal(RenewalJournal):
    """A journal on a durable storage: every claim is committed before the renew leaves, and
    concurrent operations are committed together (``GroupCommit``).

    ``lookahead`` is how many orders a bulk run claims ahead of their turn, so that a renew
    finds its claim committed rather than waiting for the commit; those claims are freed when
    the run ends without sending them. A process killed outright (SIGKILL, a power cut) cannot
    free them: they stay pending with the renews it had in flight, and ``reconcile`` cannot
    confirm them, since they were never sent. 0 claims each order at its turn.
    """

    def __init__(self, *, lookahead: int = DEFAULT_LOOKAHEAD, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(lookahead, bool) or not isinstance(lookahead, int):
            raise ValidationError("lookahead", "must be an integer")
        if not 0 <= lookahead <= MAX_LOOKAHEAD:
            raise ValidationError("lookahead", f"must be between 0 and {MAX_LOOKAHEAD}")
        self.lookahead = lookahead
        self._group = GroupCommit(
            self._committed, on_orphan=self._orphaned, on_lost=self._report_lost
        )
        self._opening: asyncio.Lock | None = None
        # order id -> (expiration, the claim's commit) of each claim made ahead, not taken up.
        self._ahead: dict[int, _Ahead] = {}

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
        for order_id, ahead in list(self._ahead.items()):
            self._drop_ahead(order_id, ahead)
        await self._group.drain()

    def claim_ahead(
        self, order_id: int, expiration: datetime | None = None
    ) -> Callable[[], None] | None:
        if not self.lookahead or order_id in self._ahead or not _valid_id(order_id):
            return None
        future = self._group.submit(ClaimOp(order_id, expiration, self._claim_id()))
        ahead = self._ahead[order_id] = _Ahead(expiration, future)
        return functools.partial(self._drop_ahead, order_id, ahead)

    def _drop_ahead(self, order_id: int, ahead: _Ahead) -> None:
        """Free a claim made ahead, unless ``claim`` took it up."""
        if self._ahead.get(order_id) is ahead:
            del self._ahead[order_id]
            self._free_when_committed(ahead.future, "claimed ahead, never sent")

    def _free_when_committed(self, future: asyncio.Future[Result], why: str) -> None:
        """Once ``future``'s claim is committed, settle it ``abandoned`` (nothing was sent)."""
        free = functools.partial(self._abandon_late_claim, why)
        if future.done():
            free(future)
        else:
            future.add_done_callback(free)

    def _claim_at_once(self, order_id: int, expiration: datetime | None = None) -> Claim | None:
        """A claim made ahead and committed already: taken up at once."""
        ahead = self._ahead.get(order_id)
        if ahead is None or ahead.expiration != expiration or not ahead.future.done():
            return None
        if ahead.future.cancelled():
            return None
        del self._ahead[order_id]
        return self._granted(ahead.future.result())  # the commit's error, if it failed

    async def claim(self, order_id: int, expiration: datetime | None = None) -> Claim:
        if not _valid_id(order_id):
            # Checked here: a bad id in a batch would fail every other claim committed with it.
            raise ValidationError("order_id", "must be a positive integer")
        ahead = self._ahead.pop(order_id, None)
        if ahead is not None and ahead.expiration == expiration:
            future = ahead.future
        else:
            if ahead is not None:
                # Claimed ahead as of another expiration: freed (once committed), then claimed
                # again as asked, in that order.
                self._free_when_committed(ahead.future, "claimed ahead as of another expiration")
                await asyncio.wait([ahead.future])
            future = self._group.submit(ClaimOp(order_id, expiration, self._claim_id()))
        try:
            result = await future
        except asyncio.CancelledError:
            # Cancelled before anything was sent: a claim committed anyway is freed again
            # (``_orphaned`` frees it when the cancel reached the future before its commit).
            self._free_when_committed(future, "cancelled before sending")
            raise
        return self._granted(result)

    def _granted(self, result: Result) -> Claim:
        """A claim's committed result: the claim, or the record that refused it, raised."""
        if isinstance(result, Claim):
            return result
        assert isinstance(result, ClaimRecord)
        raise self._refused(result)

    def _abandon_late_claim(self, why: str, future: asyncio.Future[Result]) -> None:
        if not future.cancelled() and future.exception() is None:
            self._abandon(future.result(), why)

    def _orphaned(self, result: Result) -> None:
        self._abandon(result, "cancelled before sending")

    def _abandon(self, result: Result, why: str) -> None:
        if isinstance(result, Claim):
            self._group.post(SettleOp(result, "abandoned", why, at=self.clock()))

    async def settle(self, claim: Claim, event: Event, *, error: str = "") -> None:
        """Queued for the next commit, without waiting for it (see ``GroupCommit``): until it
        is committed the claim reads as pending, the safe side, and ``close()`` commits it."""
        self._settle_at_once(claim, event, error=error)

    def _settle_at_once(self, claim: Claim, event: Event, *, error: str = "") -> bool:
        self._group.post(SettleOp(claim, event, error, at=self.clock()))
        return True

    def _report_lost(self, count: int, error: Exception) -> None:
        """Settlements nobody awaits: if their commit failed, say so (their claims stay
        pending, the safe side). Only the error's type: a driver's message may quote a
        connection string."""
        logger.error(
            "the renewal journal %s could not record %s (%s): the renew stays pending there "
            "until `reconcile` or an operator settles it",
            self.location,
            "a settlement" if count == 1 else f"{count} settlements",
            type(error).__name__,
        )

    async def _written(self) -> None:
        """Before a read: what this journal was given to write is committed (read your
        writes)."""
        await self._group.drain()

    async def _operate(self, op: OperatorOp) -> Result:
        return await self._group.submit(op)
