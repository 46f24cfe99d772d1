"""The spending cap's bookkeeping in the bulk runner, against a stub ``Orders``."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from openprovider_ssl._protocol.messages import build_request
from openprovider_ssl._resources.orders import Orders
from openprovider_ssl.bulk import _operations as bulk
from openprovider_ssl.errors import RenewalCapReachedError, ValidationError
from openprovider_ssl.limits._front import Limits
from openprovider_ssl.models import Renewed


class HangingOrders:
    """Each renew passes the limiter (so it counts as sent), then waits for ``gate``."""

    def __init__(self) -> None:
        self.limits = Limits()
        self.gate = asyncio.Event()
        self.sent: list[int] = []

    async def renew(self, order_id: int, **_: object) -> Renewed:
        if not isinstance(order_id, int):
            raise ValidationError("order_id", "must be an integer")
        await self.limits.acquire(build_request("X", "GET", f"/x/{order_id}", idempotent=True))
        self.sent.append(order_id)
        await self.gate.wait()
        return Renewed(id=order_id)


async def test_no_order_is_taken_while_every_place_is_in_flight() -> None:
    stub = HangingOrders()
    source = iter([1, 2, 3, 4, 5, 6])
    run = bulk.renew_many(cast(Orders, stub), source, concurrency=4, max_renewals=2)

    async def consume() -> None:
        async with run:
            async for _ in run:
                pass

    task = asyncio.create_task(consume())
    for _ in range(20):
        await asyncio.sleep(0)
    assert stub.sent == [1, 2]
    assert sorted(run.in_flight) == [1, 2]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(run.unanswered) == [1, 2]
    assert run.unsent == ()
    assert list(source) == [3, 4, 5, 6]  # never taken


async def test_once_spent_the_next_order_is_held_back_and_the_run_stops() -> None:
    stub = HangingOrders()
    source = iter([1, 2, 3, 4, 5, 6])
    run = bulk.renew_many(cast(Orders, stub), source, concurrency=4, max_renewals=2)

    async def release() -> None:
        # Once two renews are sent and the other workers wait for a place, answer the two.
        for _ in range(20):
            await asyncio.sleep(0)
        assert sorted(run.in_flight) == [1, 2]
        stub.gate.set()

    releasing = asyncio.create_task(release())
    async with run:
        seen = [outcome async for outcome in run]
    await releasing
    assert stub.sent == [1, 2]
    held = [o for o in seen if isinstance(o.error, RenewalCapReachedError)]
    assert [o.order_id for o in held] == [3]
    assert not held[0].error.may_have_been_applied  # type: ignore[union-attr]
    assert sorted(o.order_id for o in seen if o.ok) == [1, 2]
    assert run.cap_reached and run.sent == 2 and run.stopped and run.max_renewals == 2
    assert list(source) == [4, 5, 6]


async def test_a_source_that_runs_out_at_the_cap_does_not_reach_it() -> None:
    stub = HangingOrders()
    stub.gate.set()
    run = bulk.renew_many(cast(Orders, stub), [1, 2], concurrency=4, max_renewals=2)
    async with run:
        seen = [outcome async for outcome in run]
    assert all(o.ok for o in seen) and len(seen) == 2
    assert run.sent == 2 and not run.cap_reached and not run.stopped


async def test_an_order_refused_before_sending_gives_its_place_back() -> None:
    stub = HangingOrders()
    stub.gate.set()
    # "x" is refused before anything is sent: it takes no place.
    items: list[object] = [1, "x", 2, 3]
    run = bulk.renew_many(cast(Orders, stub), items, concurrency=1, max_renewals=2)  # type: ignore[arg-type]
    async with run:
        seen = [outcome async for outcome in run]
    assert stub.sent == [1, 2]
    assert [type(o.error).__name__ for o in seen] == [
        "NoneType",
        "ValidationError",
        "NoneType",
        "RenewalCapReachedError",
    ]


def test_renew_many_checks_the_cap_at_once() -> None:
    with pytest.raises(ValidationError, match="max_renewals"):
        bulk.renew_many(cast(Orders, HangingOrders()), [1], max_renewals=-3)


async def test_stopping_while_workers_wait_for_a_place_ends_the_run() -> None:
    stub = HangingOrders()

    async def refused_unsent(order_id: int, **_: object) -> Renewed:
        # Order 101 waits, then is refused without being sent: its place comes back.
        if order_id == 101:
            await stub.gate.wait()
            raise ValidationError("order_id", "refused before sending")
        return await HangingOrders.renew(stub, order_id)

    stub.renew = refused_unsent  # type: ignore[method-assign]
    source = iter([101, 2, 3, 4, 5, 6, 7])
    run = bulk.renew_many(cast(Orders, stub), source, concurrency=6, max_renewals=1)

    async def consume() -> list[int]:
        async with run:
            return [outcome.order_id async for outcome in run]

    task = asyncio.create_task(consume())
    for _ in range(20):
        await asyncio.sleep(0)
    assert run.in_flight == (101,)  # five workers wait for the one place
    run.stop()
    stub.gate.set()
    # A guard against a hang, not a timing: the run ends within a few loop turns.
    assert await asyncio.wait_for(task, 10) == [101]
    assert list(source) == [2, 3, 4, 5, 6, 7]
    assert stub.sent == [] and run.sent == 0 and not run.cap_reached
