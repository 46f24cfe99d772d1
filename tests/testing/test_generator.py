"""The seeded order generator and the order helpers."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from openprovider_ssl.testing import STATUSES, FakeOpenprovider
from openprovider_ssl.testing._generate import generate_orders


def test_same_seed_same_orders() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first = [o.as_api() for o in generate_orders(500, 3, now, 0.3)]
    again = [o.as_api() for o in generate_orders(500, 3, now, 0.3)]
    other = [o.as_api() for o in generate_orders(500, 4, now, 0.3)]
    assert first == again
    assert first != other


def test_mix_ids_and_expiring_share() -> None:
    fake = FakeOpenprovider(orders=3000, seed=7, expiring_share=0.3)
    assert list(fake.orders) == list(range(100001, 103001))
    counts = Counter(o.status for o in fake.orders.values())
    assert set(counts) == set(STATUSES)
    assert 0.25 < len(fake.renewable_ids()) / 3000 < 0.35
    products = Counter(o.product.brand for o in fake.orders.values())
    assert set(products) == {"Sectigo", "DigiCert", "GeoTrust", "RapidSSL"}
    assert {o.period for o in fake.orders.values()} == {1, 2}
    wildcard = [o for o in fake.orders.values() if o.product.wildcard]
    assert all(o.common_name.startswith("*.") for o in wildcard)
    multi = [o for o in fake.orders.values() if o.product.multi_domain]
    assert all(len(o.host_names) >= 2 for o in multi)
    none_expiring = FakeOpenprovider(orders=200, seed=7, expiring_share=0.0)
    assert none_expiring.renewable_ids() == []


def test_add_order_and_helpers() -> None:
    fake = FakeOpenprovider(orders=10)
    order = fake.add_order("ACT", expires_in_days=10, autorenew="on")
    assert order.id == 100011 and fake.order(100011) is order
    assert order.id in fake.renewable_ids()
    assert order.as_api()["autorenew"] == "on"
    assert fake.add_order("PAI").id == 100012
    assert fake.add_order("REQ", id=555).id == 555
    assert 555 in fake.order_ids("REQ")
    assert fake.order(555).as_api()["expiration_date"] == ""
