"""``client.orders`` against aioresponses: method, path, query, headers and body of every call,
what is retried and what is not, and the paging of ``orders.list``.

Self-contained: the ``client`` fixture here overrides the one of ``tests/_support/mocked_api.py``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses
from hypothesis import given, settings
from hypothesis import strategies as st

import openprovider_ssl as op
from openprovider_ssl._resources.paging import Listing
from tests._support.api_calls import (
    BASE,
    CSR,
    TOKEN,
    assert_authorized,
    body,
    calls,
    ok,
    only_call,
    params,
)

ORDERS_URL = re.compile(r"^https://api\.test/v1beta/ssl/orders\?")


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
async def client(waits: list[float]) -> AsyncIterator[op.Client]:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    policy = op.RetryPolicy(random=lambda: 0.0)
    async with op.Client(
        token=TOKEN, base_url=BASE, retry=policy, clock=lambda: now[0], sleep=sleep
    ) as client:
        yield client


@pytest.fixture
def http() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


# --- get --------------------------------------------------------------------------------

ORDER = {
    "id": 31027,
    "status": "ACT",
    "common_name": "ssl-123-domain.com",
    "product_id": 1,
    "product_name": "PositiveSSL",
    "period": 1,
    "order_date": "2024-01-01 0:00:01",
    "active_date": "2024-01-02 10:00:00",
    "expiration_date": "2025-01-02 10:00:00",
    "host_names": ["ssl-123-domain.com", "www.ssl-123-domain.com"],
    "domain_validation_methods": [{"host_name": "ssl-123-domain.com", "method": "dns"}],
    "domain_validation_statuses": {"ca_status": "completed", "status": "validated"},
    "options": {"features": ""},
    "additional_data": [{"domain": "ssl-123-domain.com", "old_cert_format": ["x"]}],
    "autorenew": "off",
}


async def test_get_reads_every_field_with_dates_and_status(
    client: op.Client, http: aioresponses
) -> None:
    http.get(f"{BASE}/ssl/orders/31027", payload=ok(ORDER))
    order = await client.orders.get(31027)
    call = only_call(http)
    assert call[:2] == ("GET", f"{BASE}/ssl/orders/31027")
    assert body(call) is None
    assert params(call) == []
    assert_authorized(call)
    assert order.id == 31027
    assert order.status is op.OrderStatus.ACT
    assert order.order_date == datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert order.expiration_date == datetime(2025, 1, 2, 10, tzinfo=UTC)
    assert order.host_names == ("ssl-123-domain.com", "www.ssl-123-domain.com")
    assert order.domain_validation_methods == (
        op.DomainValidationMethod("ssl-123-domain.com", "dns"),
    )
    assert order.domain_validation_statuses is not None
    assert order.domain_validation_statuses.ca_status == "completed"
    assert order.additional_data[0].old_cert_format == ("x",)
    assert order.updatable_fields() == frozenset({"autorenew"})
    now = datetime(2024, 12, 20, tzinfo=UTC)
    assert order.can_renew(now)
    assert not order.can_renew(now - timedelta(days=60))


async def test_get_tolerates_an_unknown_status(client: op.Client, http: aioresponses) -> None:
    http.get(f"{BASE}/ssl/orders/5", payload=ok({"id": 5, "status": "NEW"}))
    order = await client.orders.get(5)
    assert order.status == "NEW"
    assert not order.status.is_known
    assert order.updatable_fields() == frozenset()
    assert not order.can_renew()


@pytest.mark.parametrize("bad", [0, -1, "5", 5.0, True, None, 2**31])
async def test_order_ids_are_checked_before_sending(
    client: op.Client, http: aioresponses, bad: Any
) -> None:
    for action in (
        client.orders.get,
        client.orders.cancel,
        client.orders.resend_approver_email,
        client.orders.create_otp_token,
        client.orders.reissue,
    ):
        with pytest.raises(op.ValidationError, match="order_id"):
            await action(bad)
    with pytest.raises(op.ValidationError, match="order_id"):
        await client.orders.update_approver_email(bad, "admin@example.com")
    assert calls(http) == []


# --- list and page ----------------------------------------------------------------------


def paged(
    total: int | Callable[[int], int], count: int | None = None
) -> Callable[..., CallbackResult]:
    """A ListOrders callback serving ids 1..count with ``total`` (or total(offset))."""

    def answer(url: Any, **kwargs: Any) -> CallbackResult:
        query = dict(kwargs["params"])
        limit, offset = int(query["limit"]), int(query["offset"])
        claimed = total(offset) if callable(total) else total
        available = claimed if count is None else count
        ids = range(offset + 1, min(offset + limit, available) + 1)
        data = {"results": [{"id": i, "status": "ACT"} for i in ids], "total": claimed}
        return CallbackResult(payload=ok(data))

    return answer


async def test_list_pages_through_every_order(client: op.Client, http: aioresponses) -> None:
    http.get(ORDERS_URL, callback=paged(250), repeat=True)
    listing = client.orders.list(page_size=100)
    orders = [order async for order in listing]
    assert [o.id for o in orders] == list(range(1, 251))
    windows = [(dict(params(c))["limit"], dict(params(c))["offset"]) for c in calls(http)]
    # Every page after the first starts a tenth of a page early, on orders already seen.
    assert windows == [("100", "0"), ("100", "90"), ("100", "180")]
    assert all(c[0] == "GET" for c in calls(http))
    assert_authorized(calls(http)[0])
    assert (listing.total, listing.pages) == (250, 3)


async def test_list_sends_every_filter_and_sort_key(client: op.Client, http: aioresponses) -> None:
    http.get(ORDERS_URL, callback=paged(1), repeat=True)
    listing = client.orders.list(
        status=["ACT", op.OrderStatus.REQ, "pai"],  # type: ignore[list-item]  # lower case is upper-cased
        common_name_pattern="*.example.com",
        contact_handle="XY012345-NL",
        show_expiring=True,
        order_by={"expiration_date": "ASC", "common_name": "desc"},
        page_size=50,
    )
    assert [o.id async for o in listing] == [1]
    call = only_call(http)
    assert call[0] == "GET"
    assert call[1].startswith(f"{BASE}/ssl/orders?")
    assert params(call) == [
        ("limit", "50"),
        ("offset", "0"),
        ("order_by.expiration_date", "asc"),
        ("order_by.common_name", "desc"),
        ("common_name_pattern", "*.example.com"),
        ("status", "ACT"),
        ("status", "REQ"),
        ("status", "PAI"),
        ("contact_handle", "XY012345-NL"),
        ("show_expiring", "true"),
    ]


async def test_list_signature_used_by_bulk_renewals(client: op.Client, http: aioresponses) -> None:
    http.get(ORDERS_URL, callback=paged(3), repeat=True)
    ids = [o.id async for o in client.orders.list(status=["ACT"], show_expiring=True)]
    assert ids == [1, 2, 3]
    assert params(only_call(http)) == [
        ("limit", "100"),
        ("offset", "0"),
        ("status", "ACT"),
        ("show_expiring", "true"),
    ]


async def test_list_accepts_one_status_and_a_sort_pair(
    client: op.Client, http: aioresponses
) -> None:
    http.get(ORDERS_URL, callback=paged(0), repeat=True)
    listing = client.orders.list(status="REQ", order_by=("status", "desc"), show_expiring=False)
    assert [o async for o in listing] == []
    assert params(only_call(http))[2:] == [
        ("order_by.status", "desc"),
        ("status", "REQ"),
        ("show_expiring", "false"),
    ]


async def test_list_stops_at_a_short_page_even_if_total_says_more(
    client: op.Client, http: aioresponses
) -> None:
    http.get(ORDERS_URL, callback=paged(1000, count=130), repeat=True)
    ids = [o.id async for o in client.orders.list(page_size=100)]
    assert ids == list(range(1, 131))
    assert len(calls(http)) == 2


async def test_list_ends_with_a_server_whose_total_keeps_growing(
    client: op.Client, http: aioresponses
) -> None:
    # Every page is full and claims ever more orders: the first total bounds the walk.
    http.get(ORDERS_URL, callback=paged(lambda offset: offset + 1000), repeat=True)
    ids = [o.id async for o in client.orders.list(page_size=100)]
    assert ids == list(range(1, 1001))
    assert len(calls(http)) == 11  # 100, then 90 new orders a page


async def test_list_follows_a_shrinking_total(client: op.Client, http: aioresponses) -> None:
    http.get(ORDERS_URL, callback=paged(lambda offset: 300 - offset), repeat=True)
    ids = [o.id async for o in client.orders.list(page_size=100)]
    # The third page (from 180) finds the list down to 120 orders: it reads the page before
    # again (whose end passes the new total) and stops.
    assert ids == list(range(1, 191))
    assert len(calls(http)) == 4


async def test_list_yields_an_order_once_when_it_shifts_to_the_next_page(
    client: op.Client, http: aioresponses
) -> None:
    pages = {
        "0": {"results": [{"id": 1}, {"id": 2}], "total": 4},
        "1": {"results": [{"id": 1}, {"id": 2}], "total": 4},  # one added ahead
        "2": {"results": [{"id": 2}, {"id": 3}], "total": 4},
    }

    def answer(url: Any, **kwargs: Any) -> CallbackResult:
        return CallbackResult(payload=ok(pages[dict(kwargs["params"])["offset"]]))

    http.get(ORDERS_URL, callback=answer, repeat=True)
    ids = [o.id async for o in client.orders.list(page_size=2)]
    assert ids == [1, 2, 3]


@pytest.mark.parametrize("leaving", [1, 2, 5, 15])
async def test_no_order_is_missed_when_orders_leave_the_list_behind_the_offset(
    client: op.Client, http: aioresponses, leaving: int
) -> None:
    # After each page, ``leaving`` orders already seen leave the list (renewed, expired,
    # cancelled): plain offset paging would skip as many orders at every page.
    listed = list(range(1, 301))
    seen: set[int] = set()

    def answer(url: Any, **kwargs: Any) -> CallbackResult:
        query = dict(kwargs["params"])
        limit, offset = int(query["limit"]), int(query["offset"])
        page = listed[offset : offset + limit]
        total = len(listed)
        seen.update(page)
        for gone in [i for i in listed if i in seen][:leaving]:
            listed.remove(gone)
        results = [{"id": i} for i in page]
        return CallbackResult(payload=ok({"results": results, "total": total}))

    http.get(ORDERS_URL, callback=answer, repeat=True)
    listing = client.orders.list(page_size=20)
    ids = [o.id async for o in listing]
    assert sorted(ids) == list(range(1, 301))  # each once, none missed
    assert listing.complete
    assert (listing.shifts > 0) == (leaving >= 2)  # one fewer than the overlap is absorbed


async def test_list_checks_arguments_when_called(client: op.Client, http: aioresponses) -> None:
    bad: list[dict[str, Any]] = [
        {"status": []},
        {"status": ["ACT", 3]},
        {"status": "A CT"},
        {"status": 7},
        {"order_by": {"price": "asc"}},
        {"order_by": {"status": "up"}},
        {"order_by": ("status",)},
        {"order_by": [("status", "asc"), ("status", "desc")]},
        {"order_by": {}},
        {"show_expiring": "yes"},
        {"show_expiring": 1},
        {"page_size": 0},
        {"page_size": 1001},
        {"page_size": 10.0},
        {"contact_handle": "not a handle"},
        {"common_name_pattern": ""},
        {"common_name_pattern": "a\nb"},
    ]
    for kwargs in bad:
        with pytest.raises(op.ValidationError):
            client.orders.list(**kwargs)
    assert calls(http) == []


async def test_list_is_lazy_and_can_be_closed_early(client: op.Client, http: aioresponses) -> None:
    http.get(ORDERS_URL, callback=paged(500), repeat=True)
    listing = client.orders.list(page_size=10)
    assert calls(http) == []
    first = await anext(listing)
    assert first.id == 1
    await listing.aclose()
    assert [o async for o in listing] == []
    assert len(calls(http)) == 1


async def test_list_resumes_at_the_failed_page(client: op.Client, http: aioresponses) -> None:
    http.get(ORDERS_URL, callback=paged(3), repeat=1)
    http.get(ORDERS_URL, status=400, payload={"code": 399, "desc": "Unknown error"})
    http.get(ORDERS_URL, callback=paged(3), repeat=True)
    listing = client.orders.list(page_size=2)
    assert [await anext(listing), await anext(listing)][1].id == 2
    with pytest.raises(op.APIError):
        await anext(listing)
    assert [o.id async for o in listing] == [3]


async def test_list_retries_a_failed_page(
    client: op.Client, http: aioresponses, waits: list[float]
) -> None:
    http.get(ORDERS_URL, status=500, payload={"code": 3006, "desc": "unavailable"})
    http.get(ORDERS_URL, callback=paged(2), repeat=True)
    assert [o.id async for o in client.orders.list()] == [1, 2]
    assert len(calls(http)) == 2
    assert len(waits) == 1


async def test_page_returns_results_and_total(client: op.Client, http: aioresponses) -> None:
    http.get(ORDERS_URL, callback=paged(42), repeat=True)
    page = await client.orders.page(limit=10, offset=20, status="ACT", order_by=("status", "asc"))
    assert isinstance(page, op.OrderPage)
    assert page.total == 42
    assert [o.id for o in page.results] == list(range(21, 31))
    assert params(only_call(http)) == [
        ("limit", "10"),
        ("offset", "20"),
        ("order_by.status", "asc"),
        ("status", "ACT"),
    ]


@pytest.mark.parametrize("kwargs", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"offset": "1"}])
async def test_page_checks_its_window(
    client: op.Client, http: aioresponses, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(op.ValidationError):
        await client.orders.page(**kwargs)
    assert calls(http) == []


@settings(max_examples=300, deadline=None)
@given(
    totals=st.lists(st.integers(0, 120), min_size=1, max_size=20),
    page_size=st.integers(1, 15),
    available=st.integers(0, 80),
)
def test_listing_always_ends_within_the_first_total(
    totals: list[int], page_size: int, available: int
) -> None:
    # Pure: Listing over a scripted fetch whose total changes from page to page.
    fetched: list[int] = []

    async def fetch(limit: int, offset: int) -> op.OrderPage:
        fetched.append(offset)
        total = totals[min(len(fetched), len(totals)) - 1]
        ids = range(offset + 1, min(offset + limit, available) + 1)
        return op.OrderPage(results=tuple(op.Order(id=i) for i in ids), total=total)

    async def run() -> list[int]:
        return [o.id async for o in Listing(fetch, page_size, what="orders")]

    ids = asyncio.run(run())
    first_total = totals[0]
    assert len(fetched) <= 2 * -(-first_total // page_size) + 10
    assert ids == list(range(1, len(ids) + 1))
    assert len(ids) < max(first_total, 1) + page_size
    if all(t == first_total for t in totals):
        assert len(ids) >= min(first_total, available)


def test_a_listing_whose_pages_repeat_stops_incomplete_not_at_its_claimed_total() -> None:
    # A server answering every offset with the same full page, claiming a huge total, once
    # made a listing page on to that total (15,000 requests in 3 s under the response fuzz).
    fetched: list[int] = []

    async def fetch(limit: int, offset: int) -> op.OrderPage:
        fetched.append(offset)
        return op.OrderPage(results=(op.Order(id=40), op.Order(id=74302)), total=3_765_759)

    async def run() -> tuple[list[int], Listing[op.Order]]:
        listing = Listing(fetch, 2, what="orders")
        return [o.id async for o in listing], listing

    ids, listing = asyncio.run(run())
    assert ids == [40, 74302]
    assert len(fetched) == 4
    assert listing.complete is False


# --- create -----------------------------------------------------------------------------


async def test_create_sends_every_field(client: op.Client, http: aioresponses) -> None:
    http.post(f"{BASE}/ssl/orders", payload=ok({"id": 100}, [{"code": 1, "desc": "note"}]))
    created = await client.orders.create(
        1,
        period=2,
        csr=CSR,
        software_id="linux",
        approver_email="admin@example.com",
        autorenew="on",
        domain_amount=3,
        domain_validation_methods=[{"host_name": "example.com", "method": "dns"}],
        enable_dns_automation=True,
        host_names=["example.com", "www.example.com"],
        organization_handle="XY012345-NL",
        signature_hash_algorithm="sha2",
        start_provision=True,
        technical_handle="XY012346-NL",
        wildcard_domain_amount=0,
    )
    assert created == op.Created(id=100, warnings=(op.ApiWarning(code=1, desc="note"),))
    call = only_call(http)
    assert call[:2] == ("POST", f"{BASE}/ssl/orders")
    assert_authorized(call)
    assert call[2]["headers"]["Content-Type"] == "application/json"
    assert body(call) == {
        "product_id": 1,
        "period": 2,
        "csr": CSR,
        "software_id": "linux",
        "approver_email": "admin@example.com",
        "autorenew": "on",
        "domain_amount": 3,
        "domain_validation_methods": [{"host_name": "example.com", "method": "dns"}],
        "enable_dns_automation": True,
        "host_names": ["example.com", "www.example.com"],
        "organization_handle": "XY012345-NL",
        "signature_hash_algorithm": "sha2",
        "start_provision": True,
        "technical_handle": "XY012346-NL",
        "wildcard_domain_amount": 0,
    }


async def test_create_sends_only_what_is_given(client: op.Client, http: aioresponses) -> None:
    http.post(f"{BASE}/ssl/orders", payload=ok({"id": 7}))
    assert (await client.orders.create(3, period=1, csr=CSR, software_id="windows")).id == 7
    assert body(only_call(http)) == {
        "product_id": 3,
        "period": 1,
        "csr": CSR,
        "software_id": "windows",
    }


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"product_id": 0}, "product_id"),
        ({"period": 0}, "period"),
        ({"period": 12}, "period"),
        ({"csr": "not a csr"}, "csr"),
        ({"software_id": "mac"}, "software_id"),
        ({"approver_email": "admin"}, "approver_email"),
        ({"autorenew": True}, "autorenew"),
        ({"domain_amount": -1}, "domain_amount"),
        ({"domain_validation_methods": [{"host_name": "x.com"}]}, "domain_validation_methods"),
        ({"enable_dns_automation": "true"}, "enable_dns_automation"),
        ({"host_names": "example.com"}, "host_names"),
        ({"organization_handle": "a b"}, "organization_handle"),
        ({"signature_hash_algorithm": "md5"}, "signature_hash_algorithm"),
        ({"start_provision": 1}, "start_provision"),
        ({"technical_handle": ""}, "technical_handle"),
        ({"wildcard_domain_amount": "2"}, "wildcard_domain_amount"),
    ],
)
async def test_create_checks_every_argument(
    client: op.Client, http: aioresponses, kwargs: dict[str, Any], argument: str
) -> None:
    args: dict[str, Any] = {"product_id": 1, "period": 1, "csr": CSR, "software_id": "linux"}
    args.update(kwargs)
    with pytest.raises(op.ValidationError) as raised:
        await client.orders.create(**args)
    assert raised.value.argument.startswith(argument)
    assert calls(http) == []


async def test_create_is_not_resent_after_a_failure_that_may_have_applied_it(
    client: op.Client, http: aioresponses
) -> None:
    http.post(f"{BASE}/ssl/orders", status=502, body=b"<html>bad gateway</html>")
    http.post(f"{BASE}/ssl/orders", payload=ok({"id": 8}))
    with pytest.raises(op.ResponseError) as raised:
        await client.orders.create(1, period=1, csr=CSR, software_id="linux")
    assert raised.value.may_have_been_applied
    assert len(calls(http)) == 1


async def test_create_is_resent_after_a_failure_that_did_not_apply_it(
    client: op.Client, http: aioresponses
) -> None:
    http.post(f"{BASE}/ssl/orders", status=503, payload={"code": 3006, "desc": "unavailable"})
    http.post(f"{BASE}/ssl/orders", payload=ok({"id": 9}))
    created = await client.orders.create(1, period=1, csr=CSR, software_id="linux")
    assert created.id == 9
    assert len(calls(http)) == 2


# --- reissue, cancel --------------------------------------------------------------------


async def test_reissue_sends_the_id_and_the_given_fields(
    client: op.Client, http: aioresponses
) -> None:
    http.post(f"{BASE}/ssl/orders/31027/reissue", payload=ok({"id": 31027}))
    reissued = await client.orders.reissue(
        31027,
        csr=CSR,
        approver_email="admin@example.com",
        domain_validation_methods=[op.DomainValidationMethod("example.com", "http")],
        enable_dns_automation=False,
        host_names=["www.example.com"],
        organization_handle="XY012345-NL",
        signature_hash_algorithm="sha2",
        software_id="linux",
    )
    assert reissued == op.Reissued(id=31027)
    call = only_call(http)
    assert call[:2] == ("POST", f"{BASE}/ssl/orders/31027/reissue")
    assert_authorized(call)
    assert body(call) == {
        "id": 31027,
        "csr": CSR,
        "approver_email": "admin@example.com",
        "domain_validation_methods": [{"host_name": "example.com", "method": "http"}],
        "enable_dns_automation": False,
        "host_names": ["www.example.com"],
        "organization_handle": "XY012345-NL",
        "signature_hash_algorithm": "sha2",
        "software_id": "linux",
    }


async def test_reissue_checks_its_fields(client: op.Client, http: aioresponses) -> None:
    with pytest.raises(op.ValidationError, match="csr"):
        await client.orders.reissue(1, csr="-----BEGIN CERTIFICATE-----")
    with pytest.raises(op.ValidationError, match="host_names"):
        await client.orders.reissue(1, host_names=["not a host"])
    assert calls(http) == []


async def test_reissue_is_not_resent_after_a_timeout(client: op.Client, http: aioresponses) -> None:
    http.post(f"{BASE}/ssl/orders/5/reissue", exception=TimeoutError())
    http.post(f"{BASE}/ssl/orders/5/reissue", payload=ok({"id": 5}))
    with pytest.raises(op.TransportError) as raised:
        await client.orders.reissue(5, csr=CSR)
    assert raised.value.may_have_been_applied
    assert len(calls(http)) == 1


async def test_cancel(client: op.Client, http: aioresponses) -> None:
    http.post(f"{BASE}/ssl/orders/31027/cancel", payload=ok({"id": 31027}))
    assert await client.orders.cancel(31027) == op.Cancelled(id=31027)
    call = only_call(http)
    assert call[:2] == ("POST", f"{BASE}/ssl/orders/31027/cancel")
    assert_authorized(call)
    assert body(call) == {"id": 31027}


async def test_cancel_is_not_resent_after_a_server_error(
    client: op.Client, http: aioresponses
) -> None:
    http.post(f"{BASE}/ssl/orders/4/cancel", status=500, payload={"code": 1, "desc": "boom"})
    http.post(f"{BASE}/ssl/orders/4/cancel", payload=ok({"id": 4}))
    with pytest.raises(op.ServerError) as raised:
        await client.orders.cancel(4)
    assert raised.value.may_have_been_applied
    assert len(calls(http)) == 1


async def test_cancel_is_resent_after_a_refusal_before_sending(
    client: op.Client, http: aioresponses, waits: list[float]
) -> None:
    http.post(f"{BASE}/ssl/orders/4/cancel", status=429, payload={"code": 4007, "desc": "slow"})
    http.post(f"{BASE}/ssl/orders/4/cancel", payload=ok({"id": 4}))
    assert (await client.orders.cancel(4)).id == 4
    assert len(waits) == 1


# --- approver email, OTP ----------------------------------------------------------------


async def test_update_approver_email(client: op.Client, http: aioresponses) -> None:
    url = f"{BASE}/ssl/orders/31027/approver-email"
    http.put(url, payload=ok({"id": 31027}))
    updated = await client.orders.update_approver_email(31027, "admin@example.com")
    assert updated == op.ApproverEmailUpdated(id=31027)
    call = only_call(http)
    assert call[:2] == ("PUT", url)
    assert_authorized(call)
    assert body(call) == {"id": 31027, "approver_email": "admin@example.com"}


async def test_update_approver_email_checks_the_address(
    client: op.Client, http: aioresponses
) -> None:
    for bad in ("admin", "admin@", "@example.com", None, "a@b..com"):
        with pytest.raises(op.ValidationError, match="approver_email"):
            await client.orders.update_approver_email(1, bad)  # type: ignore[arg-type]
    assert calls(http) == []


async def test_update_approver_email_is_retried_after_an_ambiguous_failure(
    client: op.Client, http: aioresponses
) -> None:
    url = f"{BASE}/ssl/orders/3/approver-email"
    http.put(url, status=504, payload={"code": 1, "desc": "timeout"})
    http.put(url, status=502, body=b"gateway")
    http.put(url, payload=ok({"id": 3}))
    assert (await client.orders.update_approver_email(3, "admin@example.com")).id == 3
    assert len(calls(http)) == 3


async def test_resend_approver_email(client: op.Client, http: aioresponses) -> None:
    url = f"{BASE}/ssl/orders/31027/approver-email/resend"
    http.post(url, payload=ok({"id": 31027}, [{"code": 2, "desc": "sent", "data": {"to": "a"}}]))
    resent = await client.orders.resend_approver_email(31027)
    assert resent.id == 31027
    assert resent.warnings == (op.ApiWarning(code=2, desc="sent", data='{"to": "a"}'),)
    call = only_call(http)
    assert call[:2] == ("POST", url)
    assert_authorized(call)
    assert body(call) == {"id": 31027}


async def test_resend_approver_email_is_retried_after_a_timeout(
    client: op.Client, http: aioresponses
) -> None:
    url = f"{BASE}/ssl/orders/3/approver-email/resend"
    http.post(url, exception=TimeoutError())
    http.post(url, payload=ok({"id": 3}))
    assert (await client.orders.resend_approver_email(3)).id == 3


async def test_create_otp_token(client: op.Client, http: aioresponses) -> None:
    url = f"{BASE}/ssl/orders/31027/otp-tokens"
    data = {"token": "s3cret", "uri": "https://sslpanel.io/otp", "expire_at": "2030-01-01 0:00:01"}
    http.post(url, payload=ok(data))
    token = await client.orders.create_otp_token(31027)
    assert token == op.OtpToken(
        token="s3cret",
        uri="https://sslpanel.io/otp",
        expire_at=datetime(2030, 1, 1, 0, 0, 1, tzinfo=UTC),
    )
    assert "s3cret" not in repr(token)
    call = only_call(http)
    assert call[:2] == ("POST", url)
    assert_authorized(call)
    assert body(call) == {"id": 31027}


async def test_a_garbled_otp_answer_does_not_leak_the_token(
    client: op.Client, http: aioresponses
) -> None:
    url = f"{BASE}/ssl/orders/3/otp-tokens"
    http.post(url, payload=ok({"token": "s3cret", "expire_at": "not a date"}), repeat=True)
    with pytest.raises(op.ResponseError) as raised:
        await client.orders.create_otp_token(3)
    assert "s3cret" not in str(raised.value)


async def test_api_errors_reach_the_caller(client: op.Client, http: aioresponses) -> None:
    http.get(f"{BASE}/ssl/orders/9", status=404, payload={"code": 10001, "desc": "Order not found"})
    with pytest.raises(op.APIError) as raised:
        await client.orders.get(9)
    assert raised.value.code == 10001
    assert len(calls(http)) == 1


# --- update and renew: the wire format (their retry rules are tested with the core) -------


async def test_update_sends_the_given_fields(client: op.Client, http: aioresponses) -> None:
    http.put(f"{BASE}/ssl/orders/31027", payload=ok({"id": 31027}))
    updated = await client.orders.update(31027, autorenew="on", start_provision=True)
    assert updated == op.Updated(id=31027)
    call = only_call(http)
    assert call[:2] == ("PUT", f"{BASE}/ssl/orders/31027")
    assert_authorized(call)
    assert body(call) == {"autorenew": "on", "start_provision": True}


async def test_renew_sends_the_id(client: op.Client, http: aioresponses) -> None:
    http.post(f"{BASE}/ssl/orders/31027/renew", payload=ok({"id": 31027}))
    assert await client.orders.renew(31027) == op.Renewed(id=31027)
    call = only_call(http)
    assert call[:2] == ("POST", f"{BASE}/ssl/orders/31027/renew")
    assert_authorized(call)
    assert body(call) == {"id": 31027}
