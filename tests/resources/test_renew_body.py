"""The renew goes out as ``RenewOrderRequest``, the public model of its body, unstructured by
the converter, with the same bytes as ever: ``{"id":N}``, and ``enable_dns_automation`` only
when given."""

from __future__ import annotations

from typing import Any

import pytest
from aioresponses import aioresponses

import openprovider_ssl as op
from openprovider_ssl._protocol import converter

BASE = "https://api.test/v1beta"
URL = f"{BASE}/ssl/orders/31027/renew"


async def _sent_body(**kwargs: Any) -> bytes:
    async with op.Client("secret-token", base_url=BASE) as client:
        with aioresponses() as http:
            http.post(URL, payload={"code": 0, "data": {"id": 31027}})
            await client.orders.renew(31027, **kwargs)
            [[call]] = http.requests.values()
    body: bytes = call.kwargs["data"]
    return body


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, b'{"id":31027}'),
        ({"enable_dns_automation": True}, b'{"enable_dns_automation":true,"id":31027}'),
        ({"enable_dns_automation": False}, b'{"enable_dns_automation":false,"id":31027}'),
    ],
)
async def test_the_renew_body_bytes_are_unchanged(kwargs: dict[str, Any], expected: bytes) -> None:
    assert await _sent_body(**kwargs) == expected


async def test_the_renew_body_is_the_renew_order_request_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[object] = []
    unstructure = converter.unstructure_request

    def spy(request: Any) -> dict[str, Any]:
        seen.append(request)
        return unstructure(request)

    monkeypatch.setattr(converter, "unstructure_request", spy)
    await _sent_body(enable_dns_automation=True)
    assert seen == [op.RenewOrderRequest(id=31027, enable_dns_automation=True)]
