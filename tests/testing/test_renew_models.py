"""The renew models of BEHAVIOUR.md: immediate, settles later (accepting), settles later
(refusing); and a renew the fake has received is applied even if its client hangs up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
import pytest

from openprovider_ssl.testing import FakeOpenprovider
from openprovider_ssl.testing._state import add_years
from tests._support.fake_api import Api

HOUR = 3600.0


async def renew(api: Api, order_id: int) -> tuple[int, int]:
    reply = await api("POST", f"/ssl/orders/{order_id}/renew", json={"id": order_id})
    return reply.status, reply.code


async def test_immediate_model_is_the_default(api: Api, fake: FakeOpenprovider) -> None:
    order = fake.add_order("ACT", expires_in_days=10)
    before = order.expiration_date
    assert fake.renew_settles_after == 0 and not fake.refuse_pending_renew
    assert await renew(api, order.id) == (200, 0)
    assert before is not None and order.expiration_date == add_years(before, 1)
    assert await renew(api, order.id) == (400, 10004)  # outside the window now
    assert fake.stats.renewals[order.id] == 1
    assert fake.stats.charged_twice == []
    assert fake.pending_renewals() == {}


async def test_settles_later_charges_a_second_renew_again(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeOpenprovider(orders=3, renew_settles_after=HOUR) as fake:
        api = Api(session, fake)
        order = fake.add_order("ACT", expires_in_days=10, period=2)
        before = order.expiration_date
        assert before is not None
        assert await renew(api, order.id) == (200, 0)
        assert order.expiration_date == before  # charged, not moved yet
        assert order.status == "ACT" and order.id in fake.renewable_ids()
        got = await api("GET", f"/ssl/orders/{order.id}")
        assert got.data["expiration_date"] == order.as_api()["expiration_date"]
        assert await renew(api, order.id) == (200, 0)  # the dangerous model
        assert fake.stats.renewals[order.id] == 2
        assert fake.stats.charged_twice == [order.id]
        assert fake.pending_renewals() == {order.id: 2}
        async with session.get(f"{fake.base_url}/_fake/stats") as r:
            stats = await r.json()
        assert stats["charged_twice"] == [order.id]
        assert stats["renewals_pending"] == {str(order.id): 2}
        fake.advance_time(HOUR)
        assert order.expiration_date == add_years(before, 4)  # both settled, a period each
        assert fake.pending_renewals() == {}
        assert order.id not in fake.renewable_ids()


async def test_settles_later_refusing_refuses_while_pending(
    session: aiohttp.ClientSession,
) -> None:
    options = {"renew_settles_after": HOUR, "refuse_pending_renew": True}
    async with FakeOpenprovider(orders=3, **options) as fake:  # type: ignore[arg-type]
        api = Api(session, fake)
        order = fake.add_order("ACT", expires_in_days=10)
        before = order.expiration_date
        assert await renew(api, order.id) == (200, 0)
        assert order.id not in fake.renewable_ids()  # a renew would be refused now
        second = await api("POST", f"/ssl/orders/{order.id}/renew")
        assert (second.status, second.code) == (400, 10004)
        assert "already in progress" in second.data
        assert fake.stats.renewals[order.id] == 1 and fake.stats.charged_twice == []
        assert order.expiration_date == before
        fake.advance_time(HOUR + 1)
        assert before is not None and order.expiration_date == add_years(before, 1)
        assert await renew(api, order.id) == (400, 10004)  # settled: outside the window


async def test_pending_orders_stay_in_the_lists(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=0, renew_settles_after=HOUR) as fake:
        api = Api(session, fake)
        order = fake.add_order("ACT", expires_in_days=10)
        assert await renew(api, order.id) == (200, 0)
        for params in ({"show_expiring": "true"}, {"status": "ACT"}):
            listed = await api("GET", "/ssl/orders", params=params)
            assert [o["id"] for o in listed.data["results"]] == [order.id]
        fake.refuse_pending_renew = True  # the refusing model lists it too: it still expires
        listed = await api("GET", "/ssl/orders", params={"show_expiring": "true"})
        assert listed.data["total"] == 1 and fake.renewable_ids() == []
        async with session.get(f"{fake.base_url}/_fake/renewable") as r:
            assert (await r.json())["total"] == 0
        fake.advance_time(HOUR)
        listed = await api("GET", "/ssl/orders", params={"show_expiring": "true"})
        assert listed.data["total"] == 0  # settled: it left the window


async def test_settling_follows_the_clock_without_advance_time(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeOpenprovider(orders=0, renew_settles_after=0.05) as fake:
        api = Api(session, fake)
        order = fake.add_order("ACT", expires_in_days=10)
        before = order.expiration_date
        assert await renew(api, order.id) == (200, 0)
        await asyncio.sleep(0.1)
        got = await api("GET", f"/ssl/orders/{order.id}")  # any request settles what is due
        assert before is not None
        assert got.data["expiration_date"] == order.as_api()["expiration_date"]
        assert order.expiration_date == add_years(before, 1)


async def test_the_model_changes_at_runtime_and_from_the_control_endpoint(
    api: Api, fake: FakeOpenprovider
) -> None:
    control = f"{fake.base_url}/_fake/faults"
    body = {"renew_settles_after": 60, "refuse_pending_renew": True}
    async with api.session.post(control, json=body) as r:
        shown = await r.json()
    assert (shown["renew_settles_after"], shown["refuse_pending_renew"]) == (60.0, True)
    assert (fake.renew_settles_after, fake.refuse_pending_renew) == (60.0, True)
    async with api.session.post(control, json={"renew_settles_after": -1}) as r:
        assert r.status == 400
    with pytest.raises(ValueError, match="renew_settles_after"):
        fake.renew_settles_after = -5
    order = fake.add_order("ACT", expires_in_days=10)
    assert await renew(api, order.id) == (200, 0)
    async with api.session.get(f"{fake.base_url}/_fake/orders/{order.id}") as r:
        assert (await r.json())["renewals_pending"] == 1
    fake.renew_settles_after = 0  # back to immediate; the pending one keeps its due time
    assert await renew(api, order.id) == (400, 10004)
    fake.advance_time(timedelta(minutes=1).total_seconds())
    assert fake.pending_renewals() == {}


@pytest.mark.parametrize("settles_after", [0.0, HOUR])
async def test_a_renew_is_applied_when_its_client_hangs_up(settles_after: float) -> None:
    async with FakeOpenprovider(orders=0, latency=0.3, renew_settles_after=settles_after) as fake:
        order = fake.add_order("ACT", expires_in_days=10)
        before = order.expiration_date
        url = f"{fake.url}/ssl/orders/{order.id}/renew"
        headers = {"Authorization": f"Bearer {fake.token}"}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.05)) as session:
            with pytest.raises(TimeoutError):
                await session.post(url, json={"id": order.id}, headers=headers)
        # the client is gone; the fake finishes its work all the same
        for _ in range(100):
            if fake.stats.renewals[order.id]:
                break
            await asyncio.sleep(0.02)
        assert fake.stats.renewals[order.id] == 1
        assert fake.stats.applied["RenewOrder"] == 1
        fake.advance_time(settles_after)
        assert before is not None and order.expiration_date == add_years(before, 1)
