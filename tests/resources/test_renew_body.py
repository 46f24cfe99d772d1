"""The renew goes out as ``RenewOrderRequest``, the public model of its body, encoded by the
converter's ``renew_body`` into the bytes the general path gives (``unstructure_request`` and
``build_request``), the same bytes as ever: ``{"id":N}``, and ``enable_dns_automation`` only
when given."""

from __future__ import annotations

from typing import Any

import pytest
from aioresponses import aioresponses
from hypothesis import given
from hypothesis import strategies as st

import openprovider_ssl as op
from openprovider_ssl._protocol import converter
from openprovider_ssl._protocol.messages import build_request

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
    encode = converter.renew_body

    def spy(request: Any) -> bytes:
        seen.append(request)
        return encode(request)

    monkeypatch.setattr(converter, "renew_body", spy)
    await _sent_body(enable_dns_automation=True)
    assert seen == [op.RenewOrderRequest(id=31027, enable_dns_automation=True)]


@given(order_id=st.integers(1, 2**63), dns=st.sampled_from([None, True, False]))
def test_the_renew_body_is_what_the_converter_makes_of_the_model(
    order_id: int, dns: bool | None
) -> None:
    request = op.RenewOrderRequest(id=order_id, enable_dns_automation=dns)
    general = build_request(
        "RenewOrder", "POST", "/", body=converter.unstructure_request(request), idempotent=False
    )
    assert converter.renew_body(request) == general.body
