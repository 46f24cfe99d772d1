"""Injected faults: maintenance, errors, throttling, drops, garbage, latency; login spared."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from openprovider_ssl.testing import FakeOpenprovider, Faults
from tests._support.fake_api import Api


def is_envelope(text: str) -> bool:
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and {"code", "desc", "maintenance"} <= set(body)


async def test_maintenance_refuses_writes_and_flags_reads(api: Api, fake: FakeOpenprovider) -> None:
    order = fake.add_order("ACT", expires_in_days=5)
    before = order.as_api()
    fake.faults.maintenance = True
    renew = await api("POST", f"/ssl/orders/{order.id}/renew")
    assert (renew.status, renew.code, renew.body["maintenance"]) == (503, 4005, True)
    assert renew.body["desc"] == "Disabled for maintenance"
    update = await api("PUT", f"/ssl/orders/{order.id}", json={"autorenew": "on"})
    assert update.code == 4005
    assert order.as_api() == before
    assert fake.stats.renewals[order.id] == 0 and fake.stats.updates[order.id] == 0
    read = await api("GET", f"/ssl/orders/{order.id}")
    assert (read.status, read.code, read.body["maintenance"]) == (200, 0, True)
    assert (await api.login()).code == 0  # login keeps working
    fake.faults.maintenance = False
    assert (await api("POST", f"/ssl/orders/{order.id}/renew")).code == 0


async def test_maintenance_for_ends_by_itself(api: Api, fake: FakeOpenprovider) -> None:
    order = fake.add_order("PAI")
    fake.maintenance_for(60)
    assert fake.in_maintenance and not fake.faults.maintenance
    assert (await api("POST", f"/ssl/orders/{order.id}/cancel")).code == 4005
    fake.advance_time(30)
    assert (await api("POST", f"/ssl/orders/{order.id}/cancel")).code == 4005
    fake.advance_time(31)
    assert not fake.in_maintenance
    reply = await api("POST", f"/ssl/orders/{order.id}/cancel")
    assert (reply.code, reply.body["maintenance"]) == (0, False)


async def test_maintenance_rate_only_hits_writes(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=5, maintenance_rate=1.0) as fake:
        api = Api(session, fake)
        assert (await api("GET", "/ssl/orders/100001")).body["maintenance"] is False
        assert (await api("POST", "/ssl/orders/100001/otp-tokens")).code == 4005


async def test_error_and_throttle(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=5, error_rate=1.0) as fake:
        api = Api(session, fake)
        reply = await api("GET", "/ssl/orders/100001")
        assert (reply.status, reply.code) == (503, 3006)
        assert reply.body["desc"] == "Service temporarily unavailable"
        assert (await api.login()).code == 0
        fake.faults.update(error_rate=0.0, throttle_rate=1.0, throttle_retry_after=7)
        throttled = await api("GET", "/ssl/orders/100001")
        assert (throttled.status, throttled.code) == (429, 4007)
        assert throttled.headers["Retry-After"] == "7"
        assert fake.stats.faults == {"error": 1, "throttle": 1}


async def test_faults_on_login_only_when_asked(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=5, error_rate=1.0) as fake:
        api = Api(session, fake)
        assert (await api.login()).code == 0
        fake.faults.on_login = True
        assert (await api.login()).code == 3006


async def test_faults_limited_to_operations(session: aiohttp.ClientSession) -> None:
    faults = Faults(error_rate=1.0, operations={"RenewOrder"})
    async with FakeOpenprovider(orders=5, faults=faults) as fake:
        api = Api(session, fake)
        assert (await api("GET", "/ssl/orders/100001")).code == 0
        assert (await api("POST", "/ssl/orders/100001/renew")).code == 3006


async def test_drop_before_applies_nothing(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=5, drop_before_rate=1.0) as fake:
        api = Api(session, fake)
        order = fake.add_order("ACT", expires_in_days=3)
        before = order.expiration_date
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await api("POST", f"/ssl/orders/{order.id}/renew")
        assert order.expiration_date == before
        assert fake.stats.renewals[order.id] == 0
        assert fake.stats.faults["drop_before"] == 1


async def test_drop_after_applies_the_change(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=5, drop_after_rate=1.0) as fake:
        api = Api(session, fake)
        order = fake.add_order("ACT", expires_in_days=3)
        before = order.expiration_date
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await api("POST", f"/ssl/orders/{order.id}/renew")
        assert order.expiration_date != before
        assert fake.stats.renewals[order.id] == 1
        assert fake.stats.applied["RenewOrder"] == 1
        fake.faults.drop_after_rate = 0.0
        again = await api("POST", f"/ssl/orders/{order.id}/renew")  # the careless retry
        assert again.code == 10004


async def test_garbage_bodies(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=5, seed=3, garbage_rate=1.0) as fake:
        api = Api(session, fake)
        orders = [fake.add_order("ACT", expires_in_days=3) for _ in range(12)]
        statuses = []
        for order in orders:
            reply = await api("POST", f"/ssl/orders/{order.id}/renew")
            statuses.append(reply.status)
            if reply.status == 502:
                assert "Bad Gateway" in reply.text
                assert fake.stats.renewals[order.id] == 0  # 502: nothing applied
            else:
                assert reply.status == 200
                assert not is_envelope(reply.text)
                assert fake.stats.renewals[order.id] == 1  # 200 garbage: applied
        assert {200, 502} <= set(statuses)
        assert fake.stats.faults["garbage_200"] + fake.stats.faults["garbage_502"] == 12


async def test_latency(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=5, latency=0.05, latency_jitter=0.01) as fake:
        api = Api(session, fake)
        started = time.perf_counter()
        await asyncio.gather(*(api("GET", "/ssl/orders/100001") for _ in range(10)))
        elapsed = time.perf_counter() - started
        assert 0.05 <= elapsed < 1.0  # concurrent, not serialised
        assert fake.stats.max_in_flight > 1


async def test_fault_draws_are_seeded(session: aiohttp.ClientSession) -> None:
    async def run() -> list[int]:
        async with FakeOpenprovider(orders=5, seed=11, error_rate=0.5) as fake:
            api = Api(session, fake)
            return [(await api("GET", "/ssl/orders/100001")).code for _ in range(20)]

    first, second = await run(), await run()
    assert first == second
    assert set(first) == {0, 3006}


def test_faults_validate_on_assignment() -> None:
    faults = Faults()
    with pytest.raises(ValueError, match="probability"):
        faults.error_rate = 1.5
    with pytest.raises(TypeError):
        faults.update(no_such_fault=1)
