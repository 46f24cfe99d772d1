"""Bulk renewals and updates against the fake Openprovider over loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

import openprovider_ssl as op
from openprovider_ssl.bulk import Outcome
from openprovider_ssl.limits._front import Limits
from openprovider_ssl.testing import FakeOpenprovider

pytestmark = pytest.mark.integration

FAST = op.RetryPolicy(
    attempts=6,
    initial_wait=0.001,
    max_wait=0.05,
    maintenance_wait=0.005,
    readback_delay=0.001,
)


def client_for(fake: FakeOpenprovider, **limits: Any) -> op.Client:
    limits.setdefault("maintenance_probe_interval", 0.02)
    return op.Client(token=fake.token, base_url=fake.url, retry=FAST, limits=Limits(**limits))


async def test_2000_orders_with_maintenance_and_503s_each_renewed_once() -> None:
    async with FakeOpenprovider(orders=2000, seed=7, expiring_share=1.0) as fake:
        ids = fake.renewable_ids()
        assert len(ids) == 2000
        fake.faults.update(maintenance_rate=0.10, error_rate=0.05)
        calls: list[tuple[int, int, int | None]] = []
        async with client_for(fake) as client:
            run = client.orders.renew_many(ids, concurrency=50, progress=lambda *a: calls.append(a))
            async with run:
                outcomes = [outcome async for outcome in run]
        assert sorted(o.order_id for o in outcomes) == sorted(ids)
        assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok][:3]
        assert all(isinstance(o.result, op.Renewed) for o in outcomes)
        # The faults happened, and no order was renewed twice (nor missed).
        assert fake.stats.faults["maintenance"] > 100 and fake.stats.faults["error"] > 50
        assert set(fake.stats.renewals) == set(ids)
        assert max(fake.stats.renewals.values()) == 1
        assert calls[-1] == (2000, 0, 2000)


async def test_a_maintenance_window_pauses_every_worker() -> None:
    async with FakeOpenprovider(orders=600, seed=7, expiring_share=1.0, latency=0.002) as fake:
        ids = fake.renewable_ids()
        window = 1.0
        seen: dict[str, float] = {}

        async def watch() -> None:
            fake.maintenance_for(window)
            seen["start"] = time.monotonic()
            # After the requests in flight met it: from here on, only probes.
            await asyncio.sleep(0.15)
            seen["settled"] = fake.stats.total
            await asyncio.sleep(window - 0.15)
            seen["ended"] = fake.stats.total
            seen["end"] = time.monotonic()

        outcomes: list[Outcome[op.Renewed]] = []
        async with client_for(fake, maintenance_probe_interval=0.2) as client:
            async with client.orders.renew_many(ids, concurrency=50) as run:
                watcher: asyncio.Task[None] | None = None
                async for outcome in run:
                    outcomes.append(outcome)
                    if len(outcomes) == 100:
                        before = fake.stats.total
                        watcher = asyncio.create_task(watch())
            finished = time.monotonic()
            assert watcher is not None
            await watcher
        assert len(outcomes) == 600 and all(o.ok for o in outcomes)
        assert max(fake.stats.renewals.values()) == 1 and len(fake.stats.renewals) == 600
        during = seen["ended"] - before
        # At most the 50 requests in flight meet the maintenance; then one probe per 0.2 s
        # for the whole client, where 50 workers retrying alone would send hundreds.
        assert during <= 50 + 10
        assert seen["ended"] - seen["settled"] <= window / 0.2 + 2
        assert finished >= seen["end"] - 0.05
        assert fake.stats.faults["maintenance"] >= 1


async def test_cancelling_midway_leaves_no_task_and_reports_the_orders_in_flight() -> None:
    async with FakeOpenprovider(orders=300, seed=7, expiring_share=1.0, latency=0.05) as fake:
        ids = fake.renewable_ids()
        source = iter(ids)
        delivered: list[int] = []
        before = asyncio.all_tasks()
        async with client_for(fake) as client:
            run = client.orders.renew_many(source, concurrency=20)

            async def consume() -> None:
                async with run:
                    async for outcome in run:
                        delivered.append(outcome.order_id)

            task = asyncio.create_task(consume())
            for _ in range(1000):
                if len(delivered) >= 40:
                    break
                await asyncio.sleep(0.005)
            in_flight = set(run.in_flight)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert in_flight, "some orders were in flight when the run was cancelled"
        assert set(run.unanswered) | set(run.unsent) >= in_flight - set(delivered)
        assert set(run.in_flight) == set(run.unanswered) | set(run.unsent)
        assert not (set(run.unanswered) & set(delivered))
        # Let the fake finish the requests it was handling, then count tasks.
        await asyncio.sleep(0.1)
        assert asyncio.all_tasks() == before
        assert fake.stats.in_flight == 0
        taken = len(delivered) + len(run.undelivered) + len(run.unanswered) + len(run.unsent)
        untouched = list(source)
        assert taken + len(untouched) == len(ids)
        # Delivered and undelivered outcomes were renewed once; never-sent ones not at all,
        # nor any order still in the source; the unanswered ones at most once.
        for order_id in delivered + [o.order_id for o in run.undelivered]:
            assert fake.stats.renewals[order_id] == 1
        for order_id in list(run.unsent) + untouched:
            assert fake.stats.renewals[order_id] == 0
        for order_id in run.unanswered:
            assert fake.stats.renewals[order_id] <= 1


async def test_renew_expiring_lists_first_then_renews_each_due_order_once() -> None:
    async with FakeOpenprovider(orders=400, seed=7, expiring_share=0.3) as fake:
        due = set(fake.renewable_ids())
        assert len(due) > 50
        async with client_for(fake) as client:
            dry = client.orders.renew_expiring(dry_run=True, concurrency=10)
            async with dry:
                listed = [outcome async for outcome in dry]
            assert {o.order_id for o in listed} == due and dry.total == len(due)
            assert all(o.dry_run and o.ok and o.result is None for o in listed)
            assert fake.stats.requests["RenewOrder"] == 0

            calls: list[tuple[int, int, int | None]] = []
            run = client.orders.renew_expiring(concurrency=25, progress=lambda *a: calls.append(a))
            async with run:
                renewed = [outcome async for outcome in run]
        assert {o.order_id for o in renewed} == due
        assert all(o.ok for o in renewed)
        assert set(fake.stats.renewals) == due and max(fake.stats.renewals.values()) == 1
        assert fake.renewable_ids() == []
        assert calls[-1] == (len(due), 0, len(due))
        expirations = [o.expiration_date for o in renewed]
        assert all(e is not None for e in expirations)


async def test_update_many_sets_autorenew_on_many_orders() -> None:
    async with FakeOpenprovider(orders=200, seed=7) as fake:
        active = fake.order_ids("ACT")[:60]
        changes = {order_id: {"autorenew": "on"} for order_id in active}
        changes[fake.order_ids("CAN")[0]] = {"autorenew": "on"}  # refused by the API
        client = client_for(fake)
        async with client, client.orders.update_many(changes, concurrency=10) as run:
            outcomes = {o.order_id: o async for o in run}
        assert len(outcomes) == 61
        assert all(outcomes[order_id].ok for order_id in active)
        assert all(fake.order(order_id).autorenew == "on" for order_id in active)
        failed = [o for o in outcomes.values() if not o.ok]
        assert len(failed) == 1 and isinstance(failed[0].error, op.APIError)
