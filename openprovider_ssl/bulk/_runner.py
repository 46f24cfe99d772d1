"""The bulk runner: ``concurrency`` workers over a source of orders, one ``Outcome`` per order.

``BulkRun`` is what ``openprovider_ssl.bulk`` hands out; it never knows which operation it runs
(``describe`` and ``operate`` say so), so renew and update share every rule of stopping,
cancelling and reporting.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, TypeVar

import attrs

from .._protocol.messages import SendMark
from ..errors import RenewalCapReachedError, ValidationError
from ..limits._front import SendSlot, send_slot

__all__ = ["BulkRun", "Outcome", "Progress", "ProgressHook", "RenewalCap", "RunState"]

logger = logging.getLogger("openprovider_ssl")

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
Item = TypeVar("Item")


@attrs.frozen(slots=True)
class Outcome(Generic[R_co]):
    """What happened to one order.

    ``ok`` is true when the operation succeeded (or, in a dry run, would be attempted);
    ``result`` is the API's answer (``Renewed``, ``Updated``), ``error`` the typed error of a
    failure (an ``OpenproviderError`` such as ``OutcomeUnknownError``, which says the renew may
    or may not have been applied). ``dry_run`` marks an order that was only listed.
    ``expiration_date`` is the expiration seen before the operation, when known.
    """

    order_id: int
    result: R_co | None = None
    error: Exception | None = None
    dry_run: bool = False
    expiration_date: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@attrs.frozen(slots=True)
class Progress:
    """Counts of the outcomes delivered so far; ``total`` is None while it is unknown."""

    done: int
    failed: int
    total: int | None

    @property
    def succeeded(self) -> int:
        return self.done - self.failed


ProgressHook = Callable[[int, int, "int | None"], object]
"""Called as ``hook(done, failed, total)`` before each outcome is yielded (keep it quick);
``total`` is None while it is unknown."""


_DONE = object()
_END = object()


class RenewalCap:
    """A bulk run's spending cap: at most ``limit`` orders whose renew was sent.

    A worker reserves a place before it takes an order from the source, and settles it once
    the order is done: a place whose renew never left (refused by the journal or the limits
    before sending, an invalid item) is given back, one that was sent stays used whatever its
    outcome (a sent renew may have been charged). While every free place is reserved, workers
    wait for one to settle; once ``limit`` renews were sent, they stop.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sent = 0
        self.reserved = 0
        self.reached = False
        self._changed = asyncio.Event()

    async def reserve(self) -> bool:
        """True: a place is held (settle it later); False: the cap is spent, send no more."""
        while self.sent < self.limit:
            if self.sent + self.reserved < self.limit:
                self.reserved += 1
                return True
            self._changed.clear()
            await self._changed.wait()
        return False

    def settle(self, sent: bool) -> None:
        self.reserved -= 1
        if sent:
            self.sent += 1
        self._changed.set()


class RunState(Generic[Item, R]):
    """Everything the workers share. It never refers to the ``BulkRun``: a run dropped in
    mid-iteration is finalised at once, and its generator's cleanup stops the workers."""

    def __init__(
        self,
        source: Iterable[Item] | AsyncIterable[Item],
        *,
        describe: Callable[[Item], tuple[int, datetime | None]],
        operate: Callable[[Item], Awaitable[R]],
        concurrency: int,
        progress: ProgressHook | None,
        total: int | None,
        dry_run: bool,
        cap: RenewalCap | None = None,
        prepare: Callable[[Item], Callable[[], None] | None] | None = None,
        lookahead: int = 0,
    ) -> None:
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be callable, got {type(progress).__name__}")
        self.cap = cap
        # Read ahead: up to ``lookahead`` items taken from the source before their turn, each
        # ``prepare``d (its renew claimed in the journal), with what undoes that. Not with a
        # cap (which decides at each turn whether to take an order at all) nor in a dry run.
        self.prepare = prepare
        self.lookahead = lookahead if prepare is not None and cap is None and not dry_run else 0
        self.ahead: deque[tuple[Item, Callable[[], None] | None]] = deque()
        self.source_done = False
        self.sent = 0
        self.describe = describe
        self.operate = operate
        self.concurrency = concurrency
        self.progress = progress
        self.total = total
        self.dry_run = dry_run
        self.done = 0
        self.failed = 0
        self.stopping = False
        self.probing = False
        self.exhausted = False
        self.error: Exception | None = None
        self.workers: list[asyncio.Task[None]] = []
        self.working: dict[int, tuple[int, SendMark]] = {}
        self.busy: set[int] = set()
        self.unanswered: list[int] = []
        self.unsent: list[int] = []
        self.undelivered: list[Outcome[R]] = []
        self.closed = asyncio.Event()
        self._sync: Iterator[Item] | None = None
        self._async: AsyncIterator[Item] | None = None
        if isinstance(source, AsyncIterable):
            self._async = aiter(source)
        else:
            self._sync = iter(source)
        self._source_lock = asyncio.Lock()
        self.outcomes: asyncio.Queue[Outcome[R] | object] = asyncio.Queue()
        # A slot per order taken and not yet delivered: bounds what waits for the consumer.
        self.slots = asyncio.Semaphore(2 * concurrency)

    async def pull(self) -> tuple[Item | object, Callable[[], None] | None]:
        """The next item, and what undoes its preparation (to call once its turn is over)."""
        if not self.lookahead:
            item = await self._next()
            if item is _END:
                self.exhausted = True
            return item, None
        while len(self.ahead) <= self.lookahead and not self.source_done:
            item = await self._next()
            if item is _END:
                break
            self.ahead.append((item, self._prepared(item)))  # type: ignore[arg-type]
        if self.ahead:
            return self.ahead.popleft()
        self.exhausted = True
        return _END, None

    def _prepared(self, item: Item) -> Callable[[], None] | None:
        assert self.prepare is not None
        try:
            return self.prepare(item)
        except Exception:  # a bad item: its own turn reports what is wrong with it
            return None

    async def _next(self) -> Item | object:
        if self.source_done:
            return _END
        if self._sync is not None:
            item = next(self._sync, _END)
        else:
            assert self._async is not None
            async with self._source_lock:
                if self.source_done:
                    return _END
                try:
                    item = await anext(self._async)
                except StopAsyncIteration:
                    item = _END
        if item is _END:
            self.source_done = True
        return item

    async def work(self, index: int) -> None:
        cap = self.cap
        slot = SendSlot()
        send_slot.set(slot)  # in this worker's own task: its orders' marks go in it in turn
        try:
            while not self.stopping:
                await self.slots.acquire()
                spent = cap is not None and not await cap.reserve()
                if self.stopping or (spent and self.probing):
                    if cap is not None and not spent:
                        cap.settle(False)  # stopped while waiting for a place: give it back
                    self.slots.release()
                    break
                # Spent: one worker takes one more order, to tell "held back" from "ran out".
                if spent:
                    self.probing = True
                mark = SendMark()
                undo: Callable[[], None] | None = None
                try:
                    item, undo = await self.pull()
                    if item is _END:
                        self.slots.release()
                        break
                    if spent:
                        self.outcomes.put_nowait(self._held_back(item))  # type: ignore[arg-type]
                        break
                    self.outcomes.put_nowait(await self._one(index, item, mark, slot))  # type: ignore[arg-type]
                except Exception as error:
                    self.slots.release()
                    self.fail(error)
                    break
                finally:
                    if undo is not None:
                        undo()  # its claim, unless the renew took it up
                    if mark.sent:
                        self.sent += 1
                    if cap is not None and not spent:
                        cap.settle(mark.sent)
        finally:
            self.outcomes.put_nowait(_DONE)

    def _held_back(self, item: Item) -> Outcome[R]:
        """The outcome of the order the spending cap held back (never sent); the run stops."""
        assert self.cap is not None
        self.stopping = True
        self.cap.reached = True
        try:
            order_id, expiration = self.describe(item)
        except Exception as exc:
            return Outcome(item, error=exc)  # type: ignore[arg-type]
        refused = RenewalCapReachedError(order_id, limit=self.cap.limit, sent=self.cap.sent)
        return Outcome(order_id, error=refused, expiration_date=expiration)

    async def _one(self, index: int, item: Item, mark: SendMark, slot: SendSlot) -> Outcome[R]:
        try:
            order_id, expiration = self.describe(item)
        except Exception as exc:
            return Outcome(item, error=exc)  # type: ignore[arg-type]
        if self.dry_run:
            return Outcome(order_id, dry_run=True, expiration_date=expiration)
        # Two workers must never renew one order at once (a renew is charged).
        key = order_id if isinstance(order_id, int) else None
        if key is not None and key in self.busy:
            twice = ValidationError(
                "orders", f"order {order_id} is already in progress in this run; not sent twice"
            )
            return Outcome(order_id, error=twice, expiration_date=expiration)
        self.working[index] = (order_id, mark)
        if key is not None:
            self.busy.add(key)
        slot.mark = mark
        try:
            result = await self.operate(item)
        except Exception as exc:
            outcome: Outcome[R] = Outcome(order_id, error=exc, expiration_date=expiration)
        else:
            outcome = Outcome(order_id, result=result, expiration_date=expiration)
        finally:
            slot.mark = None
        # Not reached when cancelled: the entry stays for the report.
        del self.working[index]
        if key is not None:
            self.busy.discard(key)
        return outcome

    def _order_id(self, item: Item) -> int:
        try:
            return self.describe(item)[0]
        except Exception:
            return item  # type: ignore[return-value]  # as its outcome would name it

    def fail(self, error: Exception) -> None:
        if self.error is None:
            self.error = error
        self.stopping = True

    def delivered(self, outcome: Outcome[R]) -> None:
        self.slots.release()
        self.done += 1
        if not outcome.ok:
            self.failed += 1
        if self.progress is not None:
            self.progress(self.done, self.failed, self.total)

    async def shutdown(self) -> None:
        self.stopping = True
        pending = [w for w in self.workers if not w.done()]
        for worker in pending:
            worker.cancel()
        try:
            if pending:
                await asyncio.wait(pending)
        finally:
            for order_id, mark in self.working.values():
                (self.unanswered if mark.sent else self.unsent).append(order_id)
            self.working.clear()
            while self.ahead:
                taken, undo = self.ahead.popleft()
                if undo is not None:
                    undo()
                self.unsent.append(self._order_id(taken))
            while not self.outcomes.empty():
                item = self.outcomes.get_nowait()
                if isinstance(item, Outcome):
                    self.undelivered.append(item)
            if self.unanswered:
                logger.warning(
                    "bulk run stopped with %d order(s) sent and not answered; check them "
                    "before trying again: %s",
                    len(self.unanswered),
                    self.unanswered,
                )
            self.closed.set()


async def _outcomes(state: RunState[Item, R]) -> AsyncGenerator[Outcome[R], None]:
    state.workers = [
        asyncio.create_task(state.work(i), name=f"openprovider-ssl bulk worker {i}")
        for i in range(state.concurrency)
    ]
    live = len(state.workers)
    try:
        while live:
            item = await state.outcomes.get()
            if item is _DONE:
                live -= 1
                continue
            assert isinstance(item, Outcome)
            try:
                state.delivered(item)
            except BaseException:
                # A progress hook that raises must not lose the outcome it was told about.
                state.undelivered.append(item)
                raise
            yield item
        if state.error is not None:
            raise state.error
    finally:
        await state.shutdown()


class BulkRun(Generic[R]):
    """A bulk operation: an async iterator of ``Outcome``, one per order, as each completes.

    Use it as ``async with run: async for outcome in run: ...`` (or just ``async for``).
    ``stop()`` takes no new orders and ends the iteration once the orders in progress are
    answered. Leaving early (``break``, an exception, cancelling the task that iterates) or
    ``aclose()`` cancels the requests in flight, waits for the workers, and leaves a record:
    ``unanswered`` (sent, no answer: they may or may not have been applied, check them before
    sending again), ``unsent`` (taken from the source, never sent: safe to try again) and
    ``undelivered`` (finished, but the iteration stopped before yielding them). Orders never
    taken from the source remain in it. While running, ``in_flight`` lists the orders being
    worked on and ``progress`` counts the outcomes delivered.

    With a spending cap (``renew_many(..., max_renewals=N)``), a worker takes an order from
    the source only while fewer than N renews are sent or in flight, so no more than N renews
    are ever sent. Once N were sent, the next order of the source (if there is one) gets a
    ``RenewalCapReachedError`` outcome, nothing sent, and the run ends as after ``stop()``:
    ``cap_reached`` and ``stopped`` are True, ``sent`` says how many renews were sent, and the
    orders after it remain in the source (for ``renew_expiring``, ``total`` says how many were
    due, so ``total - progress.done`` were not even taken).

    Outcomes stream: each is yielded as soon as its order is done (completion order, not
    source order), so a consumer can write one line per outcome while the run goes on.
    """

    def __init__(self, state: RunState[Any, R]) -> None:
        self._state = state
        self._outcomes = _outcomes(state)

    def __repr__(self) -> str:
        s = self._state
        return (
            f"<BulkRun done={s.done} failed={s.failed} total={s.total} "
            f"in_flight={len(s.working)} unanswered={len(s.unanswered)}>"
        )

    def __aiter__(self) -> AsyncIterator[Outcome[R]]:
        return self._outcomes

    async def __anext__(self) -> Outcome[R]:
        return await anext(self._outcomes)

    async def __aenter__(self) -> BulkRun[R]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def stop(self) -> None:
        """Take no new orders; the iteration ends once the orders in progress are answered.
        Orders read ahead and not started are then in ``unsent``."""
        self._state.stopping = True

    async def aclose(self) -> None:
        """Stop now: cancel the requests in flight and wait for the workers (idempotent)."""
        state = self._state
        if getattr(self._outcomes, "ag_running", False):
            # Another task is iterating: stop the workers, and its loop ends and cleans up.
            state.stopping = True
            for worker in state.workers:
                worker.cancel()
            await state.closed.wait()
            return
        await self._outcomes.aclose()

    @property
    def progress(self) -> Progress:
        return Progress(self._state.done, self._state.failed, self._state.total)

    @property
    def total(self) -> int | None:
        """The number of orders, when known (a sized source, or after ``renew_expiring`` listed
        them)."""
        return self._state.total

    @property
    def sent(self) -> int:
        """How many orders' requests were sent so far (each may have been applied, and a
        renew charged), whatever their outcome; counted when each order is done."""
        return self._state.sent

    @property
    def max_renewals(self) -> int | None:
        """The run's spending cap (``max_renewals``), None without one."""
        cap = self._state.cap
        return cap.limit if cap is not None else None

    @property
    def cap_reached(self) -> bool:
        """True once the run stopped taking orders because ``max_renewals`` renews were sent
        ("stopped at the cap: ``sent`` renewals sent"); False if the source ran out first."""
        cap = self._state.cap
        return cap is not None and cap.reached

    @property
    def stopped(self) -> bool:
        """True once the run was stopped or failed before the source ran out."""
        return self._state.stopping and not self._state.exhausted

    @property
    def in_flight(self) -> tuple[int, ...]:
        """The orders being worked on right now; once the run was cancelled, those that were
        (``unanswered`` and ``unsent``)."""
        state = self._state
        if state.closed.is_set():
            return (*state.unanswered, *state.unsent)
        return tuple(order_id for order_id, _ in state.working.values())

    @property
    def unanswered(self) -> tuple[int, ...]:
        """Orders whose request was sent and never answered before the run was cancelled."""
        return tuple(self._state.unanswered)

    @property
    def unsent(self) -> tuple[int, ...]:
        """Orders taken from the source whose request never left before the run was cancelled
        (or, read ahead, before it stopped): safe to try again."""
        return tuple(self._state.unsent)

    @property
    def undelivered(self) -> tuple[Outcome[R], ...]:
        """Outcomes that were complete when the iteration stopped, never yielded."""
        return tuple(self._state.undelivered)
