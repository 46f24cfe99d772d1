"""Requests the OpenAPI files do not allow are refused with 399 and change nothing."""

from __future__ import annotations

import json

import aiohttp
import pytest

from openprovider_ssl.testing import FakeOpenprovider
from tests._support.fake_api import Api


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"autorenew": 1}, "expected string"),
        ({"start_provision": "yes"}, "expected boolean"),
        ({"host_names": "a.example.com"}, "expected array"),
        ({"host_names": ["a.example.com", None]}, "expected string"),
        ({"domain_validation_methods": [{"method": 1}]}, "expected string"),
        ({"id": "abc"}, "expected integer"),
        ({"id": 1.5}, "expected integer"),
        ([1, 2], "expected object"),
        (None, "expected object, got null"),
    ],
)
async def test_body_rejections(api: Api, fake: FakeOpenprovider, body: object, detail: str) -> None:
    order = fake.add_order("PAI")
    before = order.as_api()
    reply = await api("PUT", f"/ssl/orders/{order.id}", data=json.dumps(body))
    assert (reply.status, reply.code, reply.body["desc"]) == (400, 399, "Unknown error")
    assert detail in reply.data
    assert order.as_api() == before


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"autorenew": "on", "colour": "red"}, "unknown field 'colour'"),
        ({"domain_validation_methods": [{"host": "x"}]}, "unknown field 'host'"),
        ({"autorenew": "on", "id": 100001}, "does not match"),
    ],
)
async def test_strict_requests_refuse_what_the_real_api_ignores(
    session: aiohttp.ClientSession, body: object, detail: str
) -> None:
    async with FakeOpenprovider(orders=5, strict_requests=True) as fake:
        api = Api(session, fake)
        order = fake.add_order("PAI")
        before = order.as_api()
        reply = await api("PUT", f"/ssl/orders/{order.id}", json=body)
        assert (reply.status, reply.code) == (400, 399)
        assert detail in reply.data
        assert order.as_api() == before
        unknown = await api("GET", "/ssl/orders", params={"colour": "red"})
        assert (unknown.code, "unknown parameter" in unknown.data) == (399, True)


async def test_numeric_string_id_is_accepted_like_protojson(
    api: Api, fake: FakeOpenprovider
) -> None:
    order = fake.add_order("ACT", expires_in_days=9)
    reply = await api("POST", f"/ssl/orders/{order.id}/renew", json={"id": str(order.id)})
    assert reply.code == 0  # guide 10 sends "id": "1"


async def test_bad_json_missing_required_and_query(api: Api) -> None:
    bad = await api("POST", "/ssl/csr/decode", data="{not json")
    assert (bad.status, bad.code) == (400, 399)
    assert (await api("POST", "/ssl/csr/decode", json={})).data.endswith("'csr'")
    wrong = await api("GET", "/ssl/orders", params={"limit": "ten"})
    assert wrong.code == 399
    twice = await api("GET", "/ssl/orders", params=[("limit", "1"), ("limit", "2")])
    assert twice.code == 399
    assert (await api("GET", "/ssl/orders", params={"show_expiring": "maybe"})).code == 399
    assert (await api("GET", "/ssl/orders/abc")).code == 399
    assert (await api("GET", "/ssl/orders/2147483648")).code == 399  # not an int32
    assert (await api("GET", "/ssl/orders", params={"limit": ""})).code == 399  # no integer


async def test_wrong_method_and_unknown_path(api: Api) -> None:
    wrong = await api("DELETE", "/ssl/orders/100001")
    assert (wrong.status, wrong.code) == (405, 399)
    assert "PUT" in wrong.data and "GET" in wrong.data
    assert (await api("GET", "/ssl/orders/100001/renew")).status == 405
    assert (await api("POST", "/ssl/orders/100001")).status == 405
    unknown = await api("GET", "/ssl/certificates")
    assert (unknown.status, unknown.code) == (404, 399)
    assert unknown.headers["Content-Type"].startswith("application/json")
    assert api.fake.stats.requests["_unknown"] == 4
