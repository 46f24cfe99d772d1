"""``client.products``, ``client.approver_emails`` and ``client.csr`` against aioresponses.

Self-contained: the ``client`` fixture here overrides the one of ``tests/_support/mocked_api.py``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses

import openprovider_ssl as op
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

PRODUCTS_URL = re.compile(r"^https://api\.test/v1beta/ssl/products\?")


@pytest.fixture
async def client() -> AsyncIterator[op.Client]:
    now = [0.0]

    async def sleep(seconds: float) -> None:
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


# --- products ---------------------------------------------------------------------------

GROUP = {"product": {"currency": "USD", "price": 7.95}, "reseller": {"currency": "EUR", "price": 6}}
PRODUCT = {
    "id": 1,
    "name": "PositiveSSL",
    "brand_name": "Sectigo",
    "is_wildcard_supported": False,
    "max_period": 2,
    "prices": [{"period": 1, "price": GROUP, "extra_domain_price": GROUP}],
    "level_prices": [{"level": 1, "name": "Default", "prices": [{"period": 2, "price": GROUP}]}],
    "supported_software": [{"id": "linux", "title": "Linux"}],
    "warranty": GROUP,
}


async def test_get_product_with_prices(client: op.Client, http: aioresponses) -> None:
    http.get(f"{BASE}/ssl/products/1", payload=ok(PRODUCT))
    product = await client.products.get(1)
    call = only_call(http)
    assert call[:2] == ("GET", f"{BASE}/ssl/products/1")
    assert params(call) == []
    assert body(call) is None
    assert_authorized(call)
    assert product.name == "PositiveSSL"
    assert product.is_wildcard_supported is False
    price = product.prices[0]
    assert price.period == 1
    assert price.price == op.ProductPriceGroup(
        product=op.ProductPrice("USD", 7.95), reseller=op.ProductPrice("EUR", 6.0)
    )
    assert price.extra_domain_price == price.price
    assert price.extra_wildcard_domain_price is None
    assert product.level_prices[0].prices[0].period == 2
    assert product.supported_software == (op.SupportedSoftware("linux", "Linux"),)
    assert product.warranty is not None and product.warranty.reseller is not None


@pytest.mark.parametrize("bad", [0, -3, "1", 1.0, None, False])
async def test_get_product_checks_the_id(client: op.Client, http: aioresponses, bad: Any) -> None:
    with pytest.raises(op.ValidationError, match="product_id"):
        await client.products.get(bad)
    assert calls(http) == []


def product_pages(total: int) -> Any:
    def answer(url: Any, **kwargs: Any) -> CallbackResult:
        query = dict(kwargs["params"])
        limit, offset = int(query["limit"]), int(query["offset"])
        ids = range(offset + 1, min(offset + limit, total) + 1)
        return CallbackResult(payload=ok({"results": [{"id": i} for i in ids], "total": total}))

    return answer


async def test_list_products_pages_and_sends_every_switch(
    client: op.Client, http: aioresponses
) -> None:
    http.get(PRODUCTS_URL, callback=product_pages(13), repeat=True)
    listing = client.products.list(
        with_price=True,
        with_supported_software=False,
        with_description=True,
        order_by={"brand_name": "asc", "product_seqno": "DESC"},
        page_size=5,
    )
    products = [p async for p in listing]
    assert [p.id for p in products] == list(range(1, 14))
    sent = calls(http)
    assert [dict(params(c))["offset"] for c in sent] == ["0", "4", "8"]
    assert all(c[0] == "GET" and c[1].startswith(f"{BASE}/ssl/products?") for c in sent)
    assert_authorized(sent[0])
    assert params(sent[0]) == [
        ("limit", "5"),
        ("offset", "0"),
        ("with_price", "true"),
        ("with_supported_software", "false"),
        ("with_description", "true"),
        ("order_by.brand_name", "asc"),
        ("order_by.product_seqno", "desc"),
    ]


async def test_list_products_sends_nothing_it_was_not_given(
    client: op.Client, http: aioresponses
) -> None:
    http.get(PRODUCTS_URL, callback=product_pages(2), repeat=True)
    assert [p.id async for p in client.products.list()] == [1, 2]
    assert params(only_call(http)) == [("limit", "100"), ("offset", "0")]


async def test_products_page(client: op.Client, http: aioresponses) -> None:
    http.get(PRODUCTS_URL, callback=product_pages(13), repeat=True)
    page = await client.products.page(limit=4, offset=8, with_price=True, order_by=("name", "asc"))
    assert isinstance(page, op.ProductPage)
    assert (page.total, [p.id for p in page.results]) == (13, [9, 10, 11, 12])
    assert params(only_call(http)) == [
        ("limit", "4"),
        ("offset", "8"),
        ("with_price", "true"),
        ("order_by.name", "asc"),
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"with_price": "yes"},
        {"with_description": 1},
        {"with_supported_software": None, "order_by": {"expiration_date": "asc"}},
        {"order_by": ("name", "sideways")},
        {"page_size": 0},
        {"page_size": True},
    ],
)
async def test_list_products_checks_arguments(
    client: op.Client, http: aioresponses, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(op.ValidationError):
        client.products.list(**kwargs)
    assert calls(http) == []


# --- approver emails --------------------------------------------------------------------


async def test_list_approver_emails(client: op.Client, http: aioresponses) -> None:
    url = f"{BASE}/ssl/approver-emails?domain=example.com&product_id=3"
    http.get(url, payload=ok({"results": ["admin@example.com", "hostmaster@example.com"]}))
    emails = await client.approver_emails.list("example.com", product_id=3)
    assert emails == ("admin@example.com", "hostmaster@example.com")
    call = only_call(http)
    assert call[:2] == ("GET", url)
    assert params(call) == [("domain", "example.com"), ("product_id", "3")]
    assert body(call) is None
    assert_authorized(call)


async def test_list_approver_emails_without_product(client: op.Client, http: aioresponses) -> None:
    http.get(f"{BASE}/ssl/approver-emails?domain=shop.example.nl", payload=ok({"results": []}))
    assert await client.approver_emails.list("shop.example.nl") == ()
    assert params(only_call(http)) == [("domain", "shop.example.nl")]


async def test_list_approver_emails_checks_arguments(client: op.Client, http: aioresponses) -> None:
    for bad in ("", "localhost", "http://example.com", "exa mple.com", None):
        with pytest.raises(op.ValidationError, match="domain"):
            await client.approver_emails.list(bad)  # type: ignore[arg-type]
    with pytest.raises(op.ValidationError, match="product_id"):
        await client.approver_emails.list("example.com", product_id=0)
    assert calls(http) == []


# --- csr --------------------------------------------------------------------------------


async def test_create_csr_sends_every_field(client: op.Client, http: aioresponses) -> None:
    data = {"csr": CSR, "key": "-----BEGIN PRIVATE KEY-----\nsecret", "command": "openssl ..."}
    http.post(f"{BASE}/ssl/csr", payload=ok(data))
    created = await client.csr.create(
        "example.com",
        bits=4096,
        country="nl",
        email="admin@example.com",
        locality="Haarlem",
        organization="Example B.V.",
        signature_hash_algorithm="sha2",
        state="Noord-Holland",
        subject_alternative_name=["www.example.com", "*.example.com"],
        unit="IT",
        with_config=True,
    )
    assert created.csr == CSR
    assert created.key.startswith("-----BEGIN PRIVATE KEY")
    assert "secret" not in repr(created)
    call = only_call(http)
    assert call[:2] == ("POST", f"{BASE}/ssl/csr")
    assert_authorized(call)
    assert body(call) == {
        "common_name": "example.com",
        "bits": 4096,
        "country": "NL",
        "email": "admin@example.com",
        "locality": "Haarlem",
        "organization": "Example B.V.",
        "signature_hash_algorithm": "sha2",
        "state": "Noord-Holland",
        "subject_alternative_name": ["www.example.com", "*.example.com"],
        "unit": "IT",
        "with_config": True,
    }


async def test_create_csr_with_only_a_common_name(client: op.Client, http: aioresponses) -> None:
    http.post(f"{BASE}/ssl/csr", payload=ok({"csr": CSR, "key": "k"}))
    await client.csr.create("*.example.com")
    assert body(only_call(http)) == {"common_name": "*.example.com"}


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"common_name": "not a host"}, "common_name"),
        ({"bits": 1024}, "bits"),
        ({"bits": 2500}, "bits"),
        ({"bits": "2048"}, "bits"),
        ({"country": "NLD"}, "country"),
        ({"email": "nobody"}, "email"),
        ({"locality": ""}, "locality"),
        ({"organization": "x" * 65}, "organization"),
        ({"state": "a\r\nb"}, "state"),
        ({"subject_alternative_name": "www.example.com"}, "subject_alternative_name"),
        ({"subject_alternative_name": []}, "subject_alternative_name"),
        ({"unit": 5}, "unit"),
        ({"with_config": "true"}, "with_config"),
        ({"signature_hash_algorithm": "sha256"}, "signature_hash_algorithm"),
    ],
)
async def test_create_csr_checks_arguments(
    client: op.Client, http: aioresponses, kwargs: dict[str, Any], argument: str
) -> None:
    args: dict[str, Any] = {"common_name": "example.com", **kwargs}
    with pytest.raises(op.ValidationError) as raised:
        await client.csr.create(**args)
    assert raised.value.argument.startswith(argument)
    assert calls(http) == []


async def test_a_garbled_csr_answer_does_not_leak_the_key(
    client: op.Client, http: aioresponses
) -> None:
    garbled = ok({"key": "PRIVATE-KEY-BYTES", "csr": {"x": 1}})
    http.post(f"{BASE}/ssl/csr", payload=garbled, repeat=True)
    with pytest.raises(op.ResponseError) as raised:
        await client.csr.create("example.com")
    assert "PRIVATE-KEY-BYTES" not in str(raised.value)


async def test_create_csr_is_retried_like_a_read(client: op.Client, http: aioresponses) -> None:
    http.post(f"{BASE}/ssl/csr", exception=TimeoutError())
    http.post(f"{BASE}/ssl/csr", payload=ok({"csr": CSR, "key": "k"}))
    assert (await client.csr.create("example.com")).csr == CSR
    assert len(calls(http)) == 2


async def test_decode_csr(client: op.Client, http: aioresponses) -> None:
    data = {
        "domain_names_count": 2,
        "public_key": {"bits": 2048, "key": ""},
        "signature_hash_algorithm": "sha2",
        "subject": {"common_name": "example.com", "country": "NL"},
        "subject_alternative_name": ["www.example.com"],
    }
    http.post(f"{BASE}/ssl/csr/decode", payload=ok(data))
    decoded = await client.csr.decode(CSR)
    assert decoded == op.DecodedCsr(
        domain_names_count=2,
        public_key=op.CsrPublicKey(bits=2048, key=""),
        signature_hash_algorithm="sha2",
        subject=op.CsrSubject(common_name="example.com", country="NL"),
        subject_alternative_name=("www.example.com",),
    )
    call = only_call(http)
    assert call[:2] == ("POST", f"{BASE}/ssl/csr/decode")
    assert_authorized(call)
    assert body(call) == {"csr": CSR}


@pytest.mark.parametrize("bad", ["", "hello", CSR.replace("REQUEST", "QUEST"), None, b"x"])
async def test_decode_csr_checks_the_pem(client: op.Client, http: aioresponses, bad: Any) -> None:
    with pytest.raises(op.ValidationError, match="pem"):
        await client.csr.decode(bad)
    assert calls(http) == []


async def test_read_warnings_are_logged(
    client: op.Client, http: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    http.get(
        f"{BASE}/ssl/approver-emails?domain=example.com",
        payload=ok({"results": []}, [{"code": 7, "desc": "catalogue is stale"}]),
    )
    caplog.set_level("INFO", logger="openprovider_ssl")
    await client.approver_emails.list("example.com")
    assert "catalogue is stale" in caplog.text
