"""Update, renew and the other writes follow guides 6 and 10 and BEHAVIOUR.md."""

from __future__ import annotations

from datetime import timedelta

import pytest

from openprovider_ssl.testing import FakeOpenprovider
from tests._support.fake_api import Api

PAI_ONLY = {
    "organization_handle": "ZZ123456-NL",
    "technical_handle": "ZZ123456-NL",
    "approver_email": "webmaster@example.com",
    "software_id": "windows",
}


@pytest.mark.parametrize(
    ("status", "field", "value"),
    [
        ("PAI", "autorenew", "on"),
        ("PAI", "software_id", "windows"),
        ("PAI", "organization_handle", "ZZ123456-NL"),
        ("REQ", "autorenew", "on"),
        ("REQ", "domain_validation_methods", [{"host_name": "x.example.com", "method": "dns"}]),
        ("ACT", "autorenew", "on"),
    ],
)
async def test_update_allowed_by_status(
    api: Api, fake: FakeOpenprovider, status: str, field: str, value: object
) -> None:
    order = fake.add_order(status, common_name="x.example.com")
    reply = await api("PUT", f"/ssl/orders/{order.id}", json={"id": order.id, field: value})
    assert (reply.status, reply.code, reply.data) == (200, 0, {"id": order.id})
    assert fake.stats.updates[order.id] == 1
    if field == "domain_validation_methods":
        assert order.domain_validation_methods == (("x.example.com", "dns"),)
    else:
        assert getattr(order, field) == value


@pytest.mark.parametrize(
    ("status", "field", "value"),
    [
        ("REQ", "software_id", "windows"),
        ("REQ", "approver_email", "admin@example.com"),
        ("REQ", "start_provision", True),
        ("ACT", "domain_validation_methods", [{"host_name": "x.example.com", "method": "dns"}]),
        ("ACT", "technical_handle", "ZZ123456-NL"),
        ("EXP", "autorenew", "on"),
        ("CAN", "autorenew", "on"),
        ("REJ", "autorenew", "on"),
        ("FAI", "autorenew", "off"),
    ],
)
async def test_update_refused_by_status_changes_nothing(
    api: Api, fake: FakeOpenprovider, status: str, field: str, value: object
) -> None:
    order = fake.add_order(status, common_name="x.example.com")
    before = order.as_api()
    body = {"id": order.id, "autorenew": "on", field: value}
    reply = await api("PUT", f"/ssl/orders/{order.id}", json=body)
    assert (reply.status, reply.code) == (400, 10002)
    assert status in reply.body["desc"]
    assert "'" in reply.body["desc"]  # names the field
    assert order.as_api() == before
    assert fake.stats.updates[order.id] == 0


async def test_update_in_pai_takes_every_field_and_start_provision(
    api: Api, fake: FakeOpenprovider
) -> None:
    order = fake.add_order("PAI", product_id=3, common_name="a.example.com")
    csr = (
        await api(
            "POST",
            "/ssl/csr",
            json={"common_name": "b.example.com", "subject_alternative_name": ["c.example.com"]},
        )
    ).data["csr"]
    body = {
        "id": order.id,
        **PAI_ONLY,
        "csr": csr,
        "host_names": ["b.example.com", "d.example.com"],
        "domain_validation_methods": [{"host_name": "c.example.com", "method": "http"}],
        "start_provision": True,
        "signature_hash_algorithm": "sha2",
    }
    reply = await api("PUT", f"/ssl/orders/{order.id}", json=body)
    assert reply.code == 0, reply.text
    assert reply.body["warnings"][0]["desc"].startswith("signature_hash_algorithm")
    assert order.status == "REQ"
    assert order.common_name == "b.example.com"
    assert order.host_names == ("b.example.com", "d.example.com")
    assert order.software_id == "windows"
    assert order.approver_email == "webmaster@example.com"


async def test_update_value_checks(api: Api, fake: FakeOpenprovider) -> None:
    order = fake.add_order("PAI", common_name="a.example.com")
    bad = [
        ({"autorenew": "yes"}, 399),
        ({"software_id": "mac"}, 399),
        ({"csr": "not a csr"}, 10003),
        ({"host_names": ["a.example.com"]}, 399),  # single-domain product
        ({"domain_validation_methods": [{"host_name": "other.org", "method": "dns"}]}, 399),
        ({"approver_email": "nobody"}, 399),
    ]
    for body, code in bad:
        reply = await api("PUT", f"/ssl/orders/{order.id}", json=body)
        assert reply.code == code, (body, reply.text)
    assert fake.stats.updates[order.id] == 0


async def test_renew_window_moves_expiration_and_counts(api: Api, fake: FakeOpenprovider) -> None:
    order = fake.add_order("ACT", period=2, expires_in_days=12)
    expiration = order.expiration_date
    assert expiration is not None
    assert order.id in fake.renewable_ids()
    reply = await api("POST", f"/ssl/orders/{order.id}/renew", json={"id": order.id})
    assert (reply.status, reply.code, reply.data) == (200, 0, {"id": order.id})
    assert order.expiration_date == expiration.replace(year=expiration.year + 2)
    assert fake.stats.renewals[order.id] == 1
    again = await api("POST", f"/ssl/orders/{order.id}/renew", json={"id": order.id})
    assert (again.status, again.code) == (400, 10004)
    assert fake.stats.renewals[order.id] == 1
    assert order.id not in fake.renewable_ids()


@pytest.mark.parametrize(
    ("status", "days"),
    [("ACT", 45), ("ACT", -1), ("EXP", -3), ("REQ", None), ("PAI", None), ("CAN", None)],
)
async def test_renew_refused(
    api: Api, fake: FakeOpenprovider, status: str, days: float | None
) -> None:
    order = fake.add_order(status, expires_in_days=days)
    before = order.expiration_date
    reply = await api("POST", f"/ssl/orders/{order.id}/renew", json={"id": order.id})
    assert (reply.status, reply.code) == (400, 10004)
    assert order.expiration_date == before
    assert fake.stats.renewals[order.id] == 0


async def test_renew_window_follows_the_clock(api: Api, fake: FakeOpenprovider) -> None:
    order = fake.add_order("ACT", expires_in_days=40)
    assert (await api("POST", f"/ssl/orders/{order.id}/renew")).code == 10004
    fake.advance_time(timedelta(days=15).total_seconds())
    # fifteen days on, the two-day token has expired too
    assert (await api("POST", f"/ssl/orders/{order.id}/renew")).code == 196
    renewed = await api("POST", f"/ssl/orders/{order.id}/renew", token=fake.issue_token())
    assert renewed.code == 0


async def test_unknown_order_and_product(api: Api) -> None:
    assert (await api("POST", "/ssl/orders/42/renew")).code == 10001
    assert (await api("PUT", "/ssl/orders/42", json={"autorenew": "on"})).code == 10001
    reply = await api("POST", "/ssl/orders", json={"product_id": 999, "period": 1, "csr": "x"})
    assert (reply.status, reply.code) == (404, 10006)


async def test_create_order(api: Api, fake: FakeOpenprovider) -> None:
    csr = (await api("POST", "/ssl/csr", json={"common_name": "new.example.org"})).data["csr"]
    first = await api("POST", "/ssl/orders", json={"product_id": 6, "period": 1, "csr": csr})
    second = await api(
        "POST",
        "/ssl/orders",
        json={"product_id": 6, "period": 2, "csr": csr, "start_provision": True},
    )
    assert second.data["id"] == first.data["id"] + 1
    assert fake.order(first.data["id"]).status == "PAI"
    assert fake.order(second.data["id"]).status == "REQ"
    assert fake.order(first.data["id"]).common_name == "new.example.org"
    assert (await api("POST", "/ssl/orders", json={"product_id": 6, "period": 1})).code == 399
    bad_csr = {"product_id": 6, "period": 1, "csr": "-----BEGIN CERTIFICATE-----"}
    assert (await api("POST", "/ssl/orders", json=bad_csr)).code == 10003
    too_long = {"product_id": 6, "period": 5, "csr": csr}
    assert (await api("POST", "/ssl/orders", json=too_long)).code == 399


async def test_cancel_reissue_and_approver_email(api: Api, fake: FakeOpenprovider) -> None:
    req, act, exp = fake.add_order("REQ"), fake.add_order("ACT"), fake.add_order("EXP")
    body = {"approver_email": "admin@example.com"}
    assert (await api("PUT", f"/ssl/orders/{req.id}/approver-email", json=body)).code == 0
    assert req.approver_email == "admin@example.com"
    refused = await api("PUT", f"/ssl/orders/{act.id}/approver-email", json=body)
    assert (refused.code, "ACT" in refused.body["desc"]) == (10002, True)
    assert (await api("POST", f"/ssl/orders/{req.id}/approver-email/resend")).code == 0
    assert (await api("POST", f"/ssl/orders/{act.id}/approver-email/resend")).code == 10002
    assert (await api("POST", f"/ssl/orders/{exp.id}/reissue", json={})).code == 10002
    reissued = await api("POST", f"/ssl/orders/{act.id}/reissue", json={"software_id": "windows"})
    assert reissued.code == 0 and act.software_id == "windows" and act.reissue_at is not None
    assert (await api("POST", f"/ssl/orders/{act.id}/cancel")).code == 0
    assert act.status == "CAN"
    assert (await api("POST", f"/ssl/orders/{act.id}/cancel")).code == 10002
    assert fake.stats.applied["CancelOrder"] == 1


async def test_csr_round_trip_and_guide_sample(api: Api) -> None:
    created = await api(
        "POST",
        "/ssl/csr",
        json={
            "common_name": "shop.example.nl",
            "country": "NL",
            "organization": "Example B.V.",
            "subject_alternative_name": ["www.example.nl"],
            "bits": 4096,
            "with_config": True,
        },
    )
    assert "subjectAltName = DNS:www.example.nl" in created.data["config"]
    decoded = (await api("POST", "/ssl/csr/decode", json={"csr": created.data["csr"]})).data
    assert decoded["subject"] == {
        "common_name": "shop.example.nl",
        "country": "NL",
        "organization": "Example B.V.",
    }
    assert decoded["subject_alternative_name"] == ["www.example.nl"]
    assert decoded["public_key"]["bits"] == 4096
    assert decoded["domain_names_count"] == 2
    # generated orders show the CSR of guide 6, a real one
    order = (await api("GET", "/ssl/orders", params={"limit": "1"})).data["results"][0]
    guide = (await api("POST", "/ssl/csr/decode", json={"csr": order["csr"]})).data
    assert guide["subject"]["common_name"] == "ssl-123-domain.com"
    assert guide["subject"]["locality"] == "Haalem"
    assert guide["subject_alternative_name"] == ["www.ssl-123-domain.com"]
    bad = await api("POST", "/ssl/csr/decode", json={"csr": "hello"})
    assert (bad.status, bad.code) == (400, 10003)
