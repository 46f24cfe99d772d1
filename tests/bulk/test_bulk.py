"""The bulk runner against a stub ``Orders``: bounded workers, one outcome per order, clean
cancellation with a record of what was in flight."""

from __future__ import annotations

import asyncio
import gc
import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from openprovider_ssl._protocol.messages import build_request
from openprovider_ssl.bulk import BulkRun, Outcome
from openprovider_ssl.bulk import _operations as bulk
from openprovider_ssl.errors import (
    APIError,
    MaintenanceError,
    OutcomeUnknownError,
    ValidationError,
)
from openprovider_ssl.limits._front import Limits
from openprovider_ssl.models import Order, OrderStatus, Renewed, Updated

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class StubOrders:
    """Just enough of ``Orders`` for the bulk layer; answers after ``delay`` real seconds."""

    def __init__(self, *, delay: float = 0.0, fail: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.delay = delay
        self.fail = set(fail)
        self.renewed: list[tuple[int, datetime | None]] = []
        self.updated: list[tuple[int, dict[str, Any]]] = []
        self.active = 0
        self.max_active = 0
        self.gate: asyncio.Event | None = None
        self.limits = Limits()
        self.listed: list[Order] = []

    async def _work(self, order_id: int) -> None:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            # Ids >= 1000 are "sent" (they pass the limiter) before they wait; others not.
            if order_id >= 1000:
                await self.limits.acquire(
                    build_request("X", "GET", f"/x/{order_id}", idempotent=True)
                )
            if self.gate is not None:
                await self.gate.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
            else:
                await asyncio.sleep(0)
        finally:
            self.active -= 1
        if order_id in self.fail:
            raise APIError(10012, "order in progress at the CA", http_status=400)

    async def renew(
        self,
        order_id: int,
        *,
        enable_dns_automation: bool | None = None,
        known_expiration: datetime | None = None,
    ) -> Renewed:
        if isinstance(order_id, bool) or not isinstance(order_id, int):
            raise ValidationError("order_id", "must be an integer")
        await self._work(order_id)
        self.renewed.append((order_id, known_expiration))
        # A renewed order leaves the list of expiring orders, as on the real API.
        self.listed = [o for o in self.listed if o.id != order_id]
        return Renewed(id=order_id)

    async def update(
        self, order_id: int, *, autorenew: str | None = None, csr: str | None = None
    ) -> Updated:
        await self._work(order_id)
        self.updated.append((order_id, {"autorenew": autorenew, "csr": csr}))
        return Updated(id=order_id)

    def list(self, **query: Any) -> AsyncIterator[Order]:
        assert query["status"] == ["ACT"] and query["show_expiring"] is True

        async def pages() -> AsyncIterator[Order]:
            # Offset paging over a list that shrinks as orders are renewed.
            offset, size = 0, 3
            while True:
                page = self.listed[offset : offset + size]
                if not page:
                    return
                for order in page:
                    yield order
                offset += size
                await asyncio.sleep(0)

        return pages()


async def collect(run: BulkRun[Any]) -> list[Outcome[Any]]:
    async with run:
        return [outcome async for outcome in run]


def other_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


# -- one outcome per order ------------------------------------------------------------------


async def test_one_outcome_per_order_with_bounded_workers() -> None:
    stub = StubOrders(fail={7, 42})
    run = bulk.renew_many(stub, range(1, 201), concurrency=8)
    outcomes = await collect(run)
    assert sorted(o.order_id for o in outcomes) == list(range(1, 201))
    assert stub.max_active <= 8
    failed = {o.order_id: o.error for o in outcomes if not o.ok}
    assert set(failed) == {7, 42}
    assert all(isinstance(e, APIError) and e.code == 10012 for e in failed.values())
    ok = next(o for o in outcomes if o.ok)
    assert ok.result == Renewed(id=ok.order_id) and ok.error is None
    assert run.progress == bulk.Progress(200, 2, 200)
    assert run.unanswered == run.unsent == run.in_flight == () and not run.stopped


async def test_outcomes_come_as_each_completes() -> None:
    stub = StubOrders()
    stub.fail = set()
    slow = asyncio.Event()

    async def renew(order_id: int, **kwargs: Any) -> Renewed:
        if order_id == 1:
            await slow.wait()
        await asyncio.sleep(0)
        return Renewed(id=order_id)

    stub.renew = renew  # type: ignore[method-assign]
    seen: list[int] = []
    async with bulk.renew_many(stub, [1, 2, 3], concurrency=3) as run:
        async for outcome in run:
            seen.append(outcome.order_id)
            if len(seen) == 2:
                slow.set()
    assert seen[-1] == 1 and sorted(seen) == [1, 2, 3]


async def test_a_million_ids_do_not_mean_a_million_tasks_or_pulls() -> None:
    stub = StubOrders()
    pulled = 0

    def ids() -> Iterator[int]:
        nonlocal pulled
        for i in itertools.count(1):
            pulled += 1
            yield i

    async with bulk.renew_many(stub, ids(), concurrency=10) as run:
        count = 0
        async for _ in run:
            assert len(other_tasks()) <= 10
            count += 1
            if count == 500:
                break
    assert pulled <= 500 + 2 * 10
    assert not other_tasks()
    assert run.total is None


async def test_async_iterable_source_and_order_objects() -> None:
    stub = StubOrders()
    expiry = NOW + timedelta(days=10)

    async def source() -> AsyncIterator[Order]:
        for i in range(1, 31):
            yield Order(id=i, status=OrderStatus.ACT, expiration_date=expiry)
            await asyncio.sleep(0)

    outcomes = await collect(bulk.renew_many(stub, source(), concurrency=4))
    assert len(outcomes) == 30
    assert all(o.expiration_date == expiry for o in outcomes)
    assert {known for _, known in stub.renewed} == {expiry}


async def test_invalid_items_fail_alone() -> None:
    stub = StubOrders()
    items: list[Any] = [1, "x", 2]
    outcomes = await collect(bulk.renew_many(stub, items, concurrency=2))
    bad = [o for o in outcomes if not o.ok]
    assert len(outcomes) == 3 and len(bad) == 1
    assert isinstance(bad[0].error, ValidationError)
    assert cast(Any, bad[0].order_id) == "x"


async def test_the_same_order_is_never_worked_on_twice_at_once() -> None:
    stub = StubOrders(delay=0.01)
    outcomes = await collect(bulk.renew_many(stub, [5, 5, 6], concurrency=3))
    assert len(outcomes) == 3
    assert [o for o, _ in stub.renewed].count(5) == 1
    twice = [o for o in outcomes if not o.ok]
    assert len(twice) == 1 and "not sent twice" in str(twice[0].error)


async def test_progress_hook_gets_done_failed_total() -> None:
    stub = StubOrders(fail={3})
    calls: list[tuple[int, int, int | None]] = []
    run = bulk.renew_many(stub, [1, 2, 3, 4], concurrency=2, progress=lambda *a: calls.append(a))
    await collect(run)
    assert calls[-1] == (4, 1, 4)
    assert [c[0] for c in calls] == [1, 2, 3, 4]


async def test_a_failing_progress_hook_stops_the_run_cleanly() -> None:
    stub = StubOrders()

    def hook(done: int, failed: int, total: int | None) -> None:
        if done == 3:
            raise RuntimeError("dashboard down")

    with pytest.raises(RuntimeError, match="dashboard down"):
        await collect(bulk.renew_many(stub, range(50), concurrency=4, progress=hook))
    assert not other_tasks()


async def test_a_failing_source_ends_the_run_after_the_orders_in_flight() -> None:
    stub = StubOrders(delay=0.005)

    def ids() -> Iterator[int]:
        yield from range(1, 6)
        raise OSError("the id file went away")

    got: list[int] = []
    with pytest.raises(OSError, match="went away"):
        async with bulk.renew_many(stub, ids(), concurrency=3) as run:
            async for outcome in run:
                got.append(outcome.order_id)
    assert sorted(got) == [1, 2, 3, 4, 5]
    assert not other_tasks()


# -- stopping and cancelling ----------------------------------------------------------------


async def test_cancelling_the_consumer_reports_sent_and_unsent_orders() -> None:
    stub = StubOrders()
    stub.gate = asyncio.Event()  # every request hangs
    run = bulk.renew_many(stub, [1, 2, 1001, 1002, 3, 4, 5], concurrency=4)

    async def consume() -> None:
        async with run:
            async for _ in run:
                pass

    task = asyncio.create_task(consume())
    for _ in range(20):
        await asyncio.sleep(0)
    assert sorted(run.in_flight) == [1, 2, 1001, 1002]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(run.unanswered) == [1001, 1002]  # passed the limiter: may have been sent
    assert sorted(run.unsent) == [1, 2]
    assert sorted(run.in_flight) == [1, 2, 1001, 1002]
    assert run.stopped
    assert not other_tasks()
    assert stub.active == 0


async def test_cancelling_while_workers_wait_in_a_maintenance_pause() -> None:
    stub = StubOrders()
    stub.gate = asyncio.Event()
    stub.limits = Limits(maintenance_probe_interval=30.0)
    stub.limits.record(
        build_request("X", "GET", "/x/0", idempotent=True),
        MaintenanceError(4005, "Disabled for maintenance", http_status=503, maintenance=True),
    )
    run = bulk.renew_many(stub, range(1001, 1011), concurrency=5)

    async def consume() -> None:
        async with run:
            async for _ in run:
                pass

    task = asyncio.create_task(consume())
    for _ in range(20):
        await asyncio.sleep(0)
    assert stub.limits.paused and len(run.in_flight) == 5
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The probe went out; the four others were held by the pause and never sent.
    assert len(run.unanswered) == 1 and len(run.unsent) == 4
    assert not other_tasks()


async def test_break_keeps_finished_outcomes_as_undelivered() -> None:
    stub = StubOrders()
    async with bulk.renew_many(stub, range(1, 101), concurrency=5) as run:
        async for outcome in run:
            first = outcome
            break
    assert not other_tasks()
    delivered = {first.order_id}
    undelivered = {o.order_id for o in run.undelivered}
    unfinished = set(run.unanswered) | set(run.unsent)
    assert not delivered & undelivered and not undelivered & unfinished
    assert all(o.ok for o in run.undelivered)
    assert {o for o, _ in stub.renewed} == delivered | undelivered


async def test_stop_finishes_the_orders_in_flight_and_takes_no_more() -> None:
    stub = StubOrders(delay=0.002)
    seen: list[int] = []
    async with bulk.renew_many(stub, range(1, 1001), concurrency=4) as run:
        async for outcome in run:
            seen.append(outcome.order_id)
            if len(seen) == 10:
                run.stop()
    assert 10 <= len(seen) <= 10 + 2 * 4
    assert len(stub.renewed) == len(seen)  # every order taken was answered and yielded
    assert run.stopped and run.unanswered == () and run.undelivered == ()


async def test_aclose_from_another_task_stops_the_iteration() -> None:
    stub = StubOrders()
    stub.gate = asyncio.Event()
    run = bulk.renew_many(stub, [1001, 1002, 1003], concurrency=3)
    seen: list[Outcome[Renewed]] = []

    async def consume() -> None:
        async for outcome in run:
            seen.append(outcome)

    task = asyncio.create_task(consume())
    for _ in range(10):
        await asyncio.sleep(0)
    await run.aclose()
    await task
    assert seen == [] and sorted(run.unanswered) == [1001, 1002, 1003]
    assert not other_tasks()


async def test_a_run_dropped_mid_iteration_cleans_up() -> None:
    stub = StubOrders(delay=0.001)
    async for _ in bulk.renew_many(stub, range(1000), concurrency=6):
        break
    gc.collect()
    for _ in range(20):
        await asyncio.sleep(0)
    assert not other_tasks()


async def test_nothing_happens_until_iterated() -> None:
    stub = StubOrders()
    run = bulk.renew_many(stub, [1, 2])
    await asyncio.sleep(0)
    assert stub.renewed == []
    await run.aclose()
    assert stub.renewed == []


@pytest.mark.parametrize("concurrency", [0, -1, 10_001, 2.5, True])
def test_bad_concurrency_is_refused_at_once(concurrency: Any) -> None:
    with pytest.raises(ValidationError, match="concurrency"):
        bulk.renew_many(StubOrders(), [1], concurrency=concurrency)


# -- update_many ----------------------------------------------------------------------------


async def test_update_many_from_a_mapping() -> None:
    stub = StubOrders()
    changes = {i: {"autorenew": "on"} for i in range(1, 21)}
    calls: list[tuple[int, int, int | None]] = []
    run = bulk.update_many(stub, changes, concurrency=3, progress=lambda *a: calls.append(a))
    outcomes = await collect(run)
    assert sorted(o.order_id for o in outcomes) == list(range(1, 21))
    assert all(isinstance(o.result, Updated) for o in outcomes)
    assert calls[-1] == (20, 0, 20)
    assert all(fields["autorenew"] == "on" for _, fields in stub.updated)


async def test_update_many_from_pairs_checks_field_names() -> None:
    stub = StubOrders()
    pairs: list[Any] = [(1, {"autorenew": "off"}), (2, {"colour": "red"}), (3, "on"), 4]
    outcomes = {o.order_id: o for o in await collect(bulk.update_many(stub, pairs))}
    assert outcomes[1].ok
    for bad in (2, 3, 4):
        assert isinstance(outcomes[bad].error, ValidationError)
    assert "colour" in str(outcomes[2].error)
    assert [order_id for order_id, _ in stub.updated] == [1]


# -- renew_expiring -------------------------------------------------------------------------


def listed(stub: StubOrders) -> None:
    days = [1, 2, 3, 5, 8, 13, 21, 29, 40, 60, 4, 6, 7, 9, 10, 11]
    stub.listed = [
        Order(id=100 + i, status=OrderStatus.ACT, expiration_date=NOW + timedelta(days=d))
        for i, d in enumerate(days)
    ]
    # Not renewable: expired, or not active.
    stub.listed.append(Order(id=900, status=OrderStatus.ACT, expiration_date=NOW - timedelta(1)))
    stub.listed.append(Order(id=901, status=OrderStatus.REQ, expiration_date=NOW + timedelta(3)))


async def test_renew_expiring_renews_each_due_order_exactly_once() -> None:
    stub = StubOrders()
    listed(stub)
    due = {o.id for o in stub.listed if o.can_renew(NOW) and o.expiration_date is not None}
    due = {o.id for o in stub.listed if o.id in due and o.expiration_date <= NOW + timedelta(10)}  # type: ignore[operator]
    run = bulk.renew_expiring(stub, within_days=10, concurrency=3, now=NOW)
    outcomes = await collect(run)
    renewed = [order_id for order_id, _ in stub.renewed]
    assert sorted(renewed) == sorted(due) and len(renewed) == len(set(renewed))
    assert {o.order_id for o in outcomes} == due
    assert run.total == len(due)
    assert all(o.expiration_date is not None for o in outcomes)
    # Known expirations round-trip exactly (they decide whether a renew is sent again).
    original = {o.id: o.expiration_date for o in stub.listed} | {
        order_id: known for order_id, known in stub.renewed
    }
    assert all(known == original[order_id] for order_id, known in stub.renewed)


async def test_renew_expiring_dry_run_renews_nothing() -> None:
    stub = StubOrders()
    listed(stub)
    outcomes = await collect(bulk.renew_expiring(stub, dry_run=True, now=NOW))
    assert stub.renewed == []
    assert len(outcomes) == 14  # within 30 days, renewable
    assert all(o.dry_run and o.ok and o.result is None for o in outcomes)


@pytest.mark.parametrize("within_days", [0, -3, "30", float("nan")])
def test_renew_expiring_checks_its_window(within_days: Any) -> None:
    with pytest.raises(ValidationError, match="within_days"):
        bulk.renew_expiring(StubOrders(), within_days=within_days)


async def test_outcome_unknown_is_reported_as_such() -> None:
    stub = StubOrders()

    async def renew(order_id: int, **kwargs: Any) -> Renewed:
        raise OutcomeUnknownError("renew", order_id, TimeoutError("timed out"))

    stub.renew = renew  # type: ignore[method-assign]
    (outcome,) = await collect(bulk.renew_many(stub, [31027]))
    assert isinstance(outcome.error, OutcomeUnknownError) and not outcome.ok


async def test_a_progress_hook_that_raises_loses_no_outcome() -> None:
    orders = StubOrders()

    def hook(done: int, failed: int, total: int | None) -> None:
        if done == 3:
            raise RuntimeError("dashboard down")

    run = bulk.renew_many(orders, range(1, 6), concurrency=1, progress=hook)
    delivered: list[int] = []
    with pytest.raises(RuntimeError, match="dashboard down"):
        async for outcome in run:
            delivered.append(outcome.order_id)
    accounted = set(delivered) | {o.order_id for o in run.undelivered}
    accounted |= set(run.unanswered) | set(run.unsent)
    renewed = {order_id for order_id, _ in orders.renewed}
    assert renewed <= accounted, "an order was renewed and then lost"
    assert 3 in {o.order_id for o in run.undelivered}


def test_a_progress_hook_must_be_callable() -> None:
    with pytest.raises(TypeError, match="progress must be callable"):
        bulk.renew_many(StubOrders(), [1], progress="not a hook")  # type: ignore[arg-type]
