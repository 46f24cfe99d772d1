"""Tokens, login limits, the identical-call blacklist and the overall rate limit."""

from __future__ import annotations

import aiohttp

from openprovider_ssl.testing import FakeOpenprovider
from tests._support.fake_api import Api


async def test_missing_bad_and_static_tokens(api: Api, fake: FakeOpenprovider) -> None:
    for token in (None, "nope"):
        reply = await api("GET", "/ssl/orders/100001", token=token)
        assert (reply.status, reply.code) == (401, 196)
        assert reply.body["desc"] == "Authentication/Authorization Failed"
    assert (await api("GET", "/ssl/orders/100001")).code == 0
    assert fake.stats.faults["auth_failed"] == 2


async def test_login_then_expire_tokens(api: Api, fake: FakeOpenprovider) -> None:
    login = await api.login()
    assert login.code == 0 and login.data["reseller_id"] == fake.reseller_id
    token = login.data["token"]
    assert (await api("GET", "/ssl/orders/100001", token=token)).code == 0
    fake.expire_tokens()
    assert (await api("GET", "/ssl/orders/100001", token=token)).code == 196
    assert (await api("GET", "/ssl/orders/100001")).code == 196  # fake.token too
    again = await api.login()
    assert (await api("GET", "/ssl/orders/100001", token=again.data["token"])).code == 0
    assert fake.stats.requests["Login"] == 2


async def test_token_ttl_and_static_tokens(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=5, token_ttl=60, tokens=["forever"]) as fake:
        api = Api(session, fake)
        assert (await api("GET", "/ssl/orders/100001")).code == 0
        fake.advance_time(61)
        assert (await api("GET", "/ssl/orders/100001")).code == 196
        assert (await api("GET", "/ssl/orders/100001", token="forever")).code == 0


async def test_token_bound_to_ip(api: Api) -> None:
    body = {"username": api.fake.username, "password": api.fake.password, "ip": "10.9.8.7"}
    token = (await api("POST", "/auth/login", json=body, token=None)).data["token"]
    assert (await api("GET", "/ssl/orders/100001", token=token)).code == 196


async def test_wrong_credentials_then_failed_login_block(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=5, failed_login_limit=3, failed_login_block=1200) as fake:
        api = Api(session, fake)
        for _ in range(3):
            reply = await api.login(password="wrong")
            assert (reply.status, reply.code) == (401, 196)
        blocked = await api.login(password="wrong")
        assert (blocked.status, blocked.code) == (429, 50)
        assert blocked.body["desc"] == "Calls limit has been reached"
        assert int(blocked.headers["Retry-After"]) == 1200
        assert (await api.login()).code == 50  # even the right password, for 20 minutes
        fake.advance_time(1201)
        assert (await api.login()).code == 0


async def test_token_generation_limit(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=5, login_limit=30) as fake:
        api = Api(session, fake)
        for _ in range(30):
            assert (await api.login()).code == 0
        blocked = await api.login()
        assert (blocked.status, blocked.code) == (429, 50)
        assert 0 < int(blocked.headers["Retry-After"]) <= 60
        fake.advance_time(61)
        assert (await api.login()).code == 0


async def test_identical_calls_blacklist_until_reset(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=5, identical_limit=5, identical_window=100) as fake:
        api = Api(session, fake)
        for _ in range(5):
            assert (await api("GET", "/ssl/orders/100001")).code == 0
        assert (await api("GET", "/ssl/orders/100002")).code == 0  # different call
        over = await api("GET", "/ssl/orders/100001")
        assert (over.status, over.code, over.body["desc"]) == (403, 10005, "Access denied")
        assert fake.stats.identical_max == 6
        assert fake.blacklisted == {"127.0.0.1"}
        other = await api("GET", "/ssl/products")
        assert other.code == 10005  # every call, not just the repeated one
        assert (await api.login()).code == 10005
        fake.reset_blacklist()
        assert (await api("GET", "/ssl/orders/100001")).code == 0


async def test_identical_means_same_arguments_in_any_key_order(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeOpenprovider(orders=5, identical_limit=2) as fake:
        api = Api(session, fake)
        order = fake.add_order("PAI")
        path = f"/ssl/orders/{order.id}"
        await api("PUT", path, data='{"autorenew": "on", "software_id": "linux"}')
        await api("PUT", path, data='{"software_id": "linux", "autorenew": "on"}')
        await api("PUT", path, json={"autorenew": "off"})
        assert fake.stats.identical_max == 2
        third = await api("PUT", path, json={"software_id": "linux", "autorenew": "on"})
        assert third.code == 10005
        assert fake.blacklisted


async def test_identical_window_slides(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=5, identical_limit=2, identical_window=10) as fake:
        api = Api(session, fake)
        for _ in range(2):
            await api("GET", "/ssl/orders/100001")
        fake.advance_time(11)
        assert (await api("GET", "/ssl/orders/100001")).code == 0
        assert not fake.blacklisted


async def test_rate_limit_answers_429_with_retry_after(session: aiohttp.ClientSession) -> None:
    async with FakeOpenprovider(orders=5, rate_limit=2, rate_burst=3) as fake:
        api = Api(session, fake)
        codes = [(await api("GET", f"/ssl/orders/{100001 + i % 5}")).code for i in range(8)]
        assert codes[:3] == [0, 0, 0] and 4007 in codes
        limited = await api("GET", "/ssl/orders/100001")
        assert (limited.status, limited.code) == (429, 4007)
        assert int(limited.headers["Retry-After"]) >= 1
        assert fake.stats.faults["rate_limited"] >= 1
        assert (await api.login()).code == 0  # login is not rate limited
        fake.set_rate_limit(None)
        assert (await api("GET", "/ssl/orders/100001")).code == 0
