"""Every operation answers an envelope whose data matches the spec's response schema."""

from __future__ import annotations

from typing import Any

from openprovider_ssl.testing import FakeOpenprovider, response_problems
from openprovider_ssl.testing._spec import compile_operations
from tests._support.fake_api import Api, Reply


def assert_matches(operation_id: str, reply: Reply) -> None:
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.body
    assert set(body) >= {"code", "desc", "maintenance", "warnings"}
    assert response_problems(operation_id, body) == [], body


async def test_every_operation_matches_its_response_schema(
    api: Api, fake: FakeOpenprovider
) -> None:
    act = fake.add_order("ACT", expires_in_days=10)
    req = fake.add_order("REQ")
    pai = fake.add_order("PAI")
    csr = (await api("POST", "/ssl/csr", json={"common_name": "new.example.com"})).data["csr"]
    calls: list[tuple[str, str, str, dict[str, Any]]] = [
        ("Login", "POST", "/auth/login", {}),
        ("ListProducts", "GET", "/ssl/products", {"params": {"with_price": "true"}}),
        ("GetProduct", "GET", "/ssl/products/3", {}),
        ("ListOrders", "GET", "/ssl/orders", {"params": {"limit": "20"}}),
        ("GetOrder", "GET", f"/ssl/orders/{act.id}", {}),
        (
            "CreateOrder",
            "POST",
            "/ssl/orders",
            {"json": {"product_id": 1, "period": 1, "csr": csr, "autorenew": "on"}},
        ),
        (
            "UpdateOrder",
            "PUT",
            f"/ssl/orders/{pai.id}",
            {"json": {"id": pai.id, "autorenew": "on"}},
        ),
        ("RenewOrder", "POST", f"/ssl/orders/{act.id}/renew", {"json": {"id": act.id}}),
        ("ReissueOrder", "POST", f"/ssl/orders/{act.id}/reissue", {"json": {"csr": csr}}),
        (
            "UpdateApproverEmailAddress",
            "PUT",
            f"/ssl/orders/{req.id}/approver-email",
            {"json": {"id": req.id, "approver_email": "admin@example.com"}},
        ),
        ("ResendApproverEmail", "POST", f"/ssl/orders/{req.id}/approver-email/resend", {}),
        ("ListApproverEmails", "GET", "/ssl/approver-emails", {"params": {"domain": "a.b.nl"}}),
        ("CreateOtpToken", "POST", f"/ssl/orders/{act.id}/otp-tokens", {"json": {"id": act.id}}),
        ("CreateCsr", "POST", "/ssl/csr", {"json": {"common_name": "x.example.com"}}),
        ("DecodeCsr", "POST", "/ssl/csr/decode", {"json": {"csr": csr}}),
        ("CancelOrder", "POST", f"/ssl/orders/{pai.id}/cancel", {"json": {"id": pai.id}}),
    ]
    assert {c[0] for c in calls} == {op.operation_id for op in compile_operations()}
    for operation_id, method, path, kwargs in calls:
        if operation_id == "Login":
            reply = await api.login()
        else:
            reply = await api(method, path, **kwargs)
        assert reply.status == 200, (operation_id, reply.text)
        assert reply.code == 0
        assert reply.body["maintenance"] is False
        assert_matches(operation_id, reply)
    assert fake.stats.requests["CreateOtpToken"] == 1


async def test_data_shapes(api: Api, fake: FakeOpenprovider) -> None:
    act = fake.add_order("ACT", expires_in_days=10)
    assert (await api("POST", f"/ssl/orders/{act.id}/renew")).data == {"id": act.id}
    listed = (await api("GET", "/ssl/orders", params={"limit": "5"})).data
    assert set(listed) == {"results", "total"}
    assert listed["total"] == len(fake.orders)
    order = listed["results"][0]
    assert order["status"] in {"PAI", "REQ", "ACT", "EXP", "REJ", "FAI", "CAN"}
    assert order["autorenew"] in {"on", "off"}
    got = (await api("GET", f"/ssl/orders/{act.id}")).data
    assert got["expiration_date"] == act.as_api()["expiration_date"]
    assert len(got["expiration_date"]) == 19 and got["expiration_date"][10] == " "
    product = (await api("GET", "/ssl/products/1")).data
    assert product["prices"][0]["price"]["product"]["price"] > 0
    assert {s["id"] for s in product["supported_software"]} == {"linux", "windows"}


async def test_error_envelopes_match_the_spec(api: Api, fake: FakeOpenprovider) -> None:
    missing = await api("GET", "/ssl/orders/999")
    assert (missing.status, missing.code) == (404, 10001)
    assert_matches("GetOrder", missing)
    assert isinstance(missing.data, str)
    no_product = await api("GET", "/ssl/products/999")
    assert (no_product.status, no_product.code) == (404, 10006)
    assert_matches("GetProduct", no_product)
