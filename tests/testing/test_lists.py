"""List filters, sorting and paging, for orders and products."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openprovider_ssl.testing import FakeOpenprovider
from tests._support.fake_api import Api


async def list_all(api: Api, **params: str) -> tuple[int, list[dict[str, Any]]]:
    reply = await api("GET", "/ssl/orders", params={"limit": "1000", **params})
    assert reply.code == 0, reply.text
    return reply.data["total"], reply.data["results"]


async def test_paging_covers_everything_once_newest_first(api: Api, fake: FakeOpenprovider) -> None:
    seen: list[int] = []
    dates: list[str] = []
    for offset in range(0, 400, 70):
        reply = await api("GET", "/ssl/orders", params={"limit": "70", "offset": str(offset)})
        assert reply.data["total"] == 300
        seen += [o["id"] for o in reply.data["results"]]
        dates += [o["order_date"] for o in reply.data["results"]]
    assert sorted(seen) == sorted(fake.orders)
    # order_by.order_date defaults to desc in the spec
    assert dates == sorted(dates, reverse=True) and seen != sorted(seen)
    default = await api("GET", "/ssl/orders")
    assert len(default.data["results"]) == 100
    explicit = await api("GET", "/ssl/orders", params={"order_by.order_date": "desc"})
    assert explicit.data == default.data


async def test_default_order_breaks_ties_of_an_explicit_order(
    api: Api, fake: FakeOpenprovider
) -> None:
    _, rows = await list_all(api, **{"order_by.status": "asc"})
    assert [o["status"] for o in rows] == sorted(str(o["status"]) for o in rows)
    for status in {str(o["status"]) for o in rows}:
        dates = [str(o["order_date"]) for o in rows if o["status"] == status]
        assert dates == sorted(dates, reverse=True)


async def test_limit_bounds(api: Api) -> None:
    assert (await api("GET", "/ssl/orders", params={"limit": "1001"})).code == 399
    assert (await api("GET", "/ssl/orders", params={"offset": "-1"})).code == 399
    assert (await api("GET", "/ssl/orders", params={"limit": "1000"})).code == 0


async def test_status_filter_is_repeatable(api: Api, fake: FakeOpenprovider) -> None:
    total, rows = await list_all(api, status="PAI")
    assert total == len(fake.order_ids("PAI")) == len(rows)
    reply = await api("GET", "/ssl/orders", params=[("status", "PAI"), ("status", "REQ")])
    assert reply.data["total"] == len(fake.order_ids("PAI", "REQ"))
    assert {o["status"] for o in reply.data["results"]} == {"PAI", "REQ"}


async def test_show_expiring_lists_the_renewable(api: Api, fake: FakeOpenprovider) -> None:
    total, rows = await list_all(api, show_expiring="true")
    assert sorted(o["id"] for o in rows) == sorted(fake.renewable_ids())
    assert total == len(fake.renewable_ids()) > 0
    # after a renew the order leaves the expiring list (the cache must notice)
    await api("POST", f"/ssl/orders/{rows[0]['id']}/renew")
    assert (await list_all(api, show_expiring="true"))[0] == total - 1


async def test_common_name_pattern_and_contact_handle(api: Api, fake: FakeOpenprovider) -> None:
    fake.add_order("ACT", common_name="www.unique-name.example", organization_handle="QQ1-NL")
    fake.add_order("PAI", common_name="api.unique-name.example", technical_handle="QQ1-NL")
    total, rows = await list_all(api, common_name_pattern="*.unique-name.example")
    assert total == 2
    assert (await list_all(api, common_name_pattern="www.unique-name.example"))[0] == 1
    assert (await list_all(api, common_name_pattern="WWW.UNIQUE*"))[0] == 1
    assert (await list_all(api, contact_handle="QQ1-NL"))[0] == 2
    total, rows = await list_all(api, contact_handle="QQ1-NL", status="PAI")
    assert [o["common_name"] for o in rows] == ["api.unique-name.example"]


async def test_order_by(api: Api) -> None:
    _, rows = await list_all(api, **{"order_by.expiration_date": "desc", "status": "ACT"})
    dates = [datetime.fromisoformat(str(o["expiration_date"])) for o in rows]
    assert dates == sorted(dates, reverse=True)
    _, rows = await list_all(api, **{"order_by.common_name": "asc"})
    names = [str(o["common_name"]) for o in rows]
    assert names == sorted(names)
    assert (await api("GET", "/ssl/orders", params={"order_by.status": "up"})).code == 399


async def test_products(api: Api) -> None:
    plain = await api("GET", "/ssl/products", params={"limit": "5", "offset": "10"})
    assert plain.data["total"] == 13
    assert len(plain.data["results"]) == 3
    assert "prices" not in plain.data["results"][0]
    priced = await api("GET", "/ssl/products", params={"with_price": "true"})
    groups = priced.data["results"][0]["prices"]
    assert {g["period"] for g in groups} == {1, 2}
    assert groups[0]["price"]["reseller"]["price"] < groups[0]["price"]["product"]["price"]
    by_name = await api("GET", "/ssl/products", params={"order_by.name": "desc"})
    names = [p["name"] for p in by_name.data["results"]]
    assert names == sorted(names, reverse=True)
    brands = {p["brand_name"] for p in by_name.data["results"]}
    assert brands == {"Sectigo", "DigiCert", "GeoTrust", "RapidSSL"}
