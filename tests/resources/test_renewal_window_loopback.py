"""The renewal window as a setting (30 days by default, up to 90) on the client and the fake,
against the fake over loopback sockets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest

import openprovider_ssl as op
from openprovider_ssl.testing import FakeOpenprovider

pytestmark = pytest.mark.integration

FAST = op.RetryPolicy(attempts=3, initial_wait=0.001, max_wait=0.01, readback_delay=0.001)


def client_for(fake: FakeOpenprovider, **kwargs: Any) -> op.Client:
    return op.Client(token=fake.token, base_url=fake.url, retry=FAST, **kwargs)


async def test_a_60_day_order_renews_with_a_90_day_window_on_both_sides() -> None:
    async with FakeOpenprovider(orders=0, renewal_window_days=90) as fake:
        order = fake.add_order(expires_in_days=60)
        async with client_for(fake, renewal_window_days=90) as client:
            seen = await client.orders.get(order.id)
            assert seen.can_renew(window_days=client.renewal_window_days)
            renewed = await client.orders.renew(order.id)
        assert renewed.id == order.id
        assert fake.stats.renewals[order.id] == 1


async def test_the_default_30_day_window_refuses_a_60_day_order_on_both_sides() -> None:
    async with FakeOpenprovider(orders=0) as fake:
        assert fake.renewal_window_days == 30
        order = fake.add_order(expires_in_days=60)
        assert fake.renewable_ids() == []
        # A client wider than the server: the server refuses, nothing is charged.
        async with client_for(fake, renewal_window_days=90) as client:
            seen = await client.orders.get(order.id)
            assert not seen.can_renew()
            assert seen.can_renew(window_days=90)
            with pytest.raises(op.APIError) as refused:
                await client.orders.renew(order.id)
        assert refused.value.code == 10004
        assert "renew is possible from" in str(refused.value)
        assert not fake.stats.renewals


async def test_renew_expiring_with_a_90_day_window_finds_orders_31_to_90_days_out() -> None:
    async with FakeOpenprovider(orders=0, renewal_window_days=90) as fake:
        days: dict[int, Any]
        days = {5: None, 31: None, 45: None, 60: None, 89: None, 91: None, 120: None}
        for d in days:
            days[d] = fake.add_order(expires_in_days=d).id
        assert sorted(fake.renewable_ids()) == sorted(days[d] for d in days if d <= 90)
        async with client_for(fake, renewal_window_days=90) as client:
            async with client.orders.renew_expiring() as run:
                outcomes = [o async for o in run]
            assert all(o.ok for o in outcomes), [o.error for o in outcomes]
            assert {o.order_id for o in outcomes} == {days[d] for d in days if d <= 90}
            assert run.total == 5
        assert set(fake.stats.renewals) == {days[d] for d in days if d <= 90}


async def test_renew_expiring_with_the_default_window_stops_at_30_days() -> None:
    async with FakeOpenprovider(orders=0, renewal_window_days=90) as fake:
        near = fake.add_order(expires_in_days=10).id
        fake.add_order(expires_in_days=45)
        async with client_for(fake) as client:
            assert client.renewal_window == timedelta(days=30)
            async with client.orders.renew_expiring(dry_run=True) as run:
                outcomes = [o async for o in run]
        assert [o.order_id for o in outcomes] == [near]


async def test_within_days_is_a_narrower_look_ahead_inside_the_window() -> None:
    async with FakeOpenprovider(orders=0, renewal_window_days=90) as fake:
        fake.add_order(expires_in_days=60)
        near = fake.add_order(expires_in_days=20).id
        async with client_for(fake, renewal_window_days=90) as client:
            run = client.orders.renew_expiring(within_days=40, dry_run=True)
            outcomes = [o async for o in run]
        assert [o.order_id for o in outcomes] == [near]


async def test_within_days_beyond_the_clients_window_is_refused_before_sending() -> None:
    async with FakeOpenprovider(orders=0) as fake:
        fake.add_order(expires_in_days=10)
        async with client_for(fake) as client:
            with pytest.raises(op.ValidationError, match="renewal window of 30 days") as bad:
                client.orders.renew_expiring(within_days=60)
            assert bad.value.argument == "within_days"
            assert "renewal_window_days" in str(bad.value)
        assert fake.stats.total == 0


async def test_the_fake_window_may_change_while_it_runs() -> None:
    async with FakeOpenprovider(orders=0) as fake:
        order = fake.add_order(expires_in_days=60)
        async with client_for(fake, renewal_window_days=90) as client:
            page = await client.orders.page(status="ACT", show_expiring=True)
            assert page.total == 0
            fake.renewal_window_days = 90
            page = await client.orders.page(status="ACT", show_expiring=True)
            assert [o.id for o in page.results] == [order.id]
        assert fake.describe()["renewal_window_days"] == 90


async def test_the_fake_window_from_its_control_endpoint() -> None:
    async with FakeOpenprovider(orders=0) as fake:
        control = f"{fake.base_url}/_fake/faults"
        async with aiohttp.ClientSession() as session:
            async with session.post(control, json={"renewal_window_days": 90}) as answer:
                assert (await answer.json())["renewal_window_days"] == 90
            async with session.post(control, json={"renewal_window_days": 91}) as answer:
                assert answer.status == 400
        assert fake.renewal_window_days == 90
