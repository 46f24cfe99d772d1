"""The /_fake control endpoints and the opt-in pytest fixture."""

from __future__ import annotations

import aiohttp
import pytest

from openprovider_ssl.testing import FakeOpenprovider

from .conftest import Api


async def test_control_endpoints(api: Api, fake: FakeOpenprovider) -> None:
    control = fake.base_url + "/_fake"
    session = api.session
    order_id = fake.renewable_ids()[0]
    await api("POST", f"/ssl/orders/{order_id}/renew")
    async with session.get(f"{control}/orders/{order_id}") as r:
        assert (await r.json())["renewals"] == 1
    async with session.get(f"{control}/renewable", params={"limit": "3"}) as r:
        data = await r.json()
        assert len(data["ids"]) == 3 and data["total"] == len(fake.renewable_ids())
    async with session.post(f"{control}/faults", json={"error_rate": 2}) as r:
        assert r.status == 400
    async with session.post(f"{control}/faults", json={"latency": 0.001, "rate_limit": 1000}) as r:
        assert (await r.json())["latency"] == 0.001
    assert fake.faults.latency == 0.001 and fake.bucket.rate == 1000
    async with session.post(f"{control}/maintenance", json={"seconds": 60}) as r:
        assert (await r.json())["in_maintenance"] is True
    async with session.post(f"{control}/maintenance", json={"seconds": 0}) as r:
        assert (await r.json())["in_maintenance"] is False
    async with session.post(f"{control}/expire-tokens") as r:
        assert r.status == 200
    assert (await api("GET", "/ssl/products")).code == 196
    async with session.get(f"{control}/stats") as r:
        stats = await r.json()
    assert stats["requests"] == {"RenewOrder": 1, "ListProducts": 1}  # control calls not counted
    assert stats["renewals"] == {str(order_id): 1}
    async with session.post(f"{control}/reset") as r:
        assert r.status == 200
    assert fake.stats.total == 0


async def test_plugin_fixture_defaults(
    fake_openprovider: FakeOpenprovider, session: aiohttp.ClientSession
) -> None:
    assert len(fake_openprovider.orders) == 50 and fake_openprovider.seed == 7
    api = Api(session, fake_openprovider)
    assert (await api("GET", "/ssl/orders/100001")).code == 0


@pytest.mark.fake_openprovider(orders=7, maintenance=True)
async def test_plugin_marker(fake_openprovider: FakeOpenprovider) -> None:
    assert len(fake_openprovider.orders) == 7
    assert fake_openprovider.in_maintenance


@pytest.mark.parametrize("fake_openprovider", [{"orders": 3}, {"orders": 4}], indirect=True)
async def test_plugin_indirect(fake_openprovider: FakeOpenprovider) -> None:
    assert len(fake_openprovider.orders) in (3, 4)
