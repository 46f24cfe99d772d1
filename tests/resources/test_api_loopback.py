"""Every operation of the client against the fake Openprovider over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

import openprovider_ssl as op
from openprovider_ssl.testing import FakeOpenprovider

pytestmark = pytest.mark.integration


async def no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenprovider]:
    async with FakeOpenprovider(orders=200, seed=7) as fake:
        yield fake


@pytest.fixture
async def client(fake: FakeOpenprovider) -> AsyncIterator[op.Client]:
    policy = op.RetryPolicy(random=lambda: 0.0)
    async with op.Client(
        token=fake.token, base_url=fake.url, retry=policy, sleep=no_wait
    ) as client:
        yield client


def one(fake: FakeOpenprovider, status: str) -> int:
    return fake.order_ids(status)[0]


# --- orders: reads ----------------------------------------------------------------------


async def test_get_order(client: op.Client, fake: FakeOpenprovider) -> None:
    order_id = one(fake, "ACT")
    order = await client.orders.get(order_id)
    stored = fake.order(order_id)
    assert order.id == order_id
    assert order.status is op.OrderStatus.ACT
    assert order.common_name == stored.common_name
    assert order.expiration_date == stored.expiration_date
    assert isinstance(order.order_date, datetime)
    assert order.order_date.tzinfo is UTC
    assert order.certificate.startswith("-----BEGIN CERTIFICATE-----")
    assert order.domain_validation_statuses is not None
    assert order.updatable_fields() == frozenset({"autorenew"})
    assert order.can_renew() == (order_id in fake.renewable_ids())
    assert fake.stats.requests["GetOrder"] == 1


async def test_get_an_unknown_order(client: op.Client, fake: FakeOpenprovider) -> None:
    with pytest.raises(op.APIError) as raised:
        await client.orders.get(99)
    assert raised.value.code == 10001
    assert fake.stats.requests["GetOrder"] == 1


async def test_list_every_order(client: op.Client, fake: FakeOpenprovider) -> None:
    listing = client.orders.list(page_size=37)
    ids = [order.id async for order in listing]
    assert sorted(ids) == sorted(fake.orders)
    assert len(ids) == len(set(ids)) == 200
    assert fake.stats.requests["ListOrders"] == 6
    assert listing.total == 200


async def test_list_expiring_orders_as_bulk_renewals_do(
    client: op.Client, fake: FakeOpenprovider
) -> None:
    orders = [o async for o in client.orders.list(status=["ACT"], show_expiring=True)]
    assert {o.id for o in orders} == set(fake.renewable_ids())
    assert orders and all(o.can_renew() for o in orders)


async def test_list_with_filters_and_sorting(client: op.Client, fake: FakeOpenprovider) -> None:
    handle = fake.order(one(fake, "REQ")).organization_handle
    orders = [
        o
        async for o in client.orders.list(
            status=["ACT", "EXP"], order_by={"expiration_date": "asc"}, page_size=10
        )
    ]
    assert {o.id for o in orders} == set(fake.order_ids("ACT", "EXP"))
    dates = [o.expiration_date for o in orders]
    assert dates == sorted(d for d in dates if d is not None)

    by_handle = [o async for o in client.orders.list(contact_handle=handle)]
    assert by_handle
    assert all(handle in (o.organization_handle, o.technical_handle) for o in by_handle)

    tld = ".nl"
    by_name = [o async for o in client.orders.list(common_name_pattern=f"*{tld}")]
    expected = {o.id for o in fake.orders.values() if o.common_name.endswith(tld)}
    assert {o.id for o in by_name} == expected


async def test_order_page(client: op.Client, fake: FakeOpenprovider) -> None:
    page = await client.orders.page(limit=5, offset=10, status="ACT", order_by=("status", "asc"))
    assert page.total == len(fake.order_ids("ACT"))
    assert len(page.results) == 5
    assert all(o.status == "ACT" for o in page.results)


# --- orders: writes ---------------------------------------------------------------------


async def test_create_order(client: op.Client, fake: FakeOpenprovider) -> None:
    csr = await client.csr.create("shop.example.com")
    created = await client.orders.create(
        1,
        period=1,
        csr=csr.csr,
        software_id="linux",
        autorenew="on",
        approver_email="admin@example.com",
        signature_hash_algorithm="sha2",
    )
    stored = fake.order(created.id)
    assert (stored.status, stored.common_name, stored.autorenew) == (
        "PAI",
        "shop.example.com",
        "on",
    )
    # The fake answers a deprecated field with a warning: it reaches the result.
    assert [w.code for w in created.warnings] == [1]
    order = await client.orders.get(created.id)
    assert "csr" in order.updatable_fields()

    provisioned = await client.orders.create(
        1, period=1, csr=csr.csr, software_id="windows", start_provision=True
    )
    assert fake.order(provisioned.id).status == "REQ"


async def test_create_order_is_not_resent_after_a_dropped_connection(
    client: op.Client, fake: FakeOpenprovider
) -> None:
    csr = (await client.csr.create("drop.example.com")).csr
    before = len(fake.orders)
    fake.faults.update(drop_after_rate=1.0, operations={"CreateOrder"})
    with pytest.raises(op.TransportError) as raised:
        await client.orders.create(1, period=1, csr=csr, software_id="linux")
    assert raised.value.may_have_been_applied
    assert fake.stats.requests["CreateOrder"] == 1
    assert len(fake.orders) == before + 1  # it was applied: resending would have made two


async def test_create_order_is_resent_when_nothing_was_applied(
    client: op.Client, fake: FakeOpenprovider
) -> None:
    csr = (await client.csr.create("retry.example.com")).csr
    fake.faults.update(maintenance_rate=0.5, operations={"CreateOrder"})
    created = await client.orders.create(1, period=1, csr=csr, software_id="linux")
    assert fake.order(created.id).common_name == "retry.example.com"
    assert fake.stats.applied["CreateOrder"] == 1


async def test_reissue_order(client: op.Client, fake: FakeOpenprovider) -> None:
    order_id = one(fake, "ACT")
    common_name = fake.order(order_id).common_name
    csr = await client.csr.create(common_name, organization="Example B.V.")
    reissued = await client.orders.reissue(order_id, csr=csr.csr, software_id="windows")
    assert reissued.id == order_id
    stored = fake.order(order_id)
    assert (stored.csr, stored.software_id, stored.status) == (csr.csr, "windows", "ACT")
    order = await client.orders.get(order_id)
    assert order.reissue_at is not None


async def test_reissue_is_refused_outside_act(client: op.Client, fake: FakeOpenprovider) -> None:
    with pytest.raises(op.APIError) as raised:
        await client.orders.reissue(one(fake, "PAI"))
    assert raised.value.code == 10002


async def test_cancel_order(client: op.Client, fake: FakeOpenprovider) -> None:
    order_id = one(fake, "PAI")
    assert await client.orders.cancel(order_id) == op.Cancelled(id=order_id)
    assert fake.order(order_id).status == "CAN"
    with pytest.raises(op.APIError) as raised:
        await client.orders.cancel(order_id)
    assert raised.value.code == 10002
    assert fake.stats.requests["CancelOrder"] == 2


async def test_cancel_is_not_resent_after_a_garbled_answer(
    client: op.Client, fake: FakeOpenprovider
) -> None:
    order_id = one(fake, "REQ")
    fake.faults.update(drop_after_rate=1.0, operations={"CancelOrder"})
    with pytest.raises(op.TransportError):
        await client.orders.cancel(order_id)
    assert fake.stats.requests["CancelOrder"] == 1
    assert fake.order(order_id).status == "CAN"


async def test_update_and_resend_approver_email(client: op.Client, fake: FakeOpenprovider) -> None:
    order_id = one(fake, "REQ")
    domain = fake.order(order_id).common_name
    emails = await client.approver_emails.list(domain)
    assert emails
    new = emails[-1]
    assert await client.orders.update_approver_email(order_id, new) == op.ApproverEmailUpdated(
        id=order_id
    )
    assert (await client.orders.get(order_id)).email_approver == new
    assert (await client.orders.resend_approver_email(order_id)).id == order_id


async def test_approver_email_calls_are_retried(client: op.Client, fake: FakeOpenprovider) -> None:
    order_id = one(fake, "REQ")
    fake.faults.update(
        drop_after_rate=0.3, operations={"UpdateApproverEmailAddress", "ResendApproverEmail"}
    )
    for _ in range(4):
        await client.orders.update_approver_email(order_id, "hostmaster@example.com")
        await client.orders.resend_approver_email(order_id)
    assert fake.order(order_id).approver_email == "hostmaster@example.com"


async def test_approver_email_outside_req_is_refused(
    client: op.Client, fake: FakeOpenprovider
) -> None:
    order_id = one(fake, "ACT")
    with pytest.raises(op.APIError):
        await client.orders.update_approver_email(order_id, "admin@example.com")
    with pytest.raises(op.APIError):
        await client.orders.resend_approver_email(order_id)


async def test_create_otp_token(client: op.Client, fake: FakeOpenprovider) -> None:
    token = await client.orders.create_otp_token(one(fake, "ACT"))
    assert token.token
    assert "token=" not in repr(token)  # the fake's uri embeds the token; the field stays out
    assert token.uri.startswith("https://")
    assert token.expire_at is not None and token.expire_at > datetime.now(UTC)


async def test_update_order(client: op.Client, fake: FakeOpenprovider) -> None:
    order_id = one(fake, "PAI")
    updated = await client.orders.update(order_id, autorenew="on", start_provision=True)
    assert updated.id == order_id
    assert (fake.order(order_id).autorenew, fake.order(order_id).status) == ("on", "REQ")


async def test_renew_order(client: op.Client, fake: FakeOpenprovider) -> None:
    order_id = fake.renewable_ids()[0]
    before = fake.order(order_id).expiration_date
    assert await client.orders.renew(order_id, known_expiration=before) == op.Renewed(id=order_id)
    after = fake.order(order_id).expiration_date
    assert before is not None and after is not None and after > before
    assert fake.stats.applied["RenewOrder"] == 1


# --- products, approver emails, csr -----------------------------------------------------


async def test_list_and_get_products(client: op.Client, fake: FakeOpenprovider) -> None:
    products = [
        p
        async for p in client.products.list(
            with_price=True, with_supported_software=True, order_by={"name": "asc"}, page_size=5
        )
    ]
    assert len(products) == 13
    assert [p.name for p in products] == sorted(p.name for p in products)
    assert all(p.prices and p.supported_software for p in products)
    assert fake.stats.requests["ListProducts"] == 3

    bare = await client.products.page(limit=3)
    assert bare.total == 13 and len(bare.results) == 3
    assert bare.results[0].prices == ()

    product = await client.products.get(3)
    assert product.name == products[[p.id for p in products].index(3)].name
    price = product.prices[0]
    assert price.price is not None and price.price.product is not None
    assert price.price.product.price > 0
    assert price.extra_domain_price is not None

    with pytest.raises(op.APIError) as raised:
        await client.products.get(999)
    assert raised.value.code == 10006


async def test_list_approver_emails(client: op.Client, fake: FakeOpenprovider) -> None:
    emails = await client.approver_emails.list("www.example.org", product_id=1)
    assert "admin@example.org" in emails
    with pytest.raises(op.APIError):
        await client.approver_emails.list("example.org", product_id=999)


async def test_create_and_decode_a_csr(client: op.Client, fake: FakeOpenprovider) -> None:
    created = await client.csr.create(
        "example.com",
        bits=4096,
        country="nl",
        organization="Example B.V.",
        subject_alternative_name=["www.example.com", "mail.example.com"],
        with_config=True,
    )
    assert created.key and created.key not in repr(created)
    assert "www.example.com" in created.config
    decoded = await client.csr.decode(created.csr)
    assert decoded.subject is not None
    assert decoded.subject.common_name == "example.com"
    assert decoded.subject.country == "NL"
    assert decoded.subject_alternative_name == ("www.example.com", "mail.example.com")
    assert decoded.public_key is not None and decoded.public_key.bits == 4096
    assert decoded.domain_names_count == 3
    assert fake.stats.requests["CreateCsr"] == 1
    assert fake.stats.requests["DecodeCsr"] == 1
