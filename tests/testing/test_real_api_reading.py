"""Issue 14: the fake reads requests as the real API (a grpc-gateway over proto3) is modelled to.

Each test is what a user of the fake sees over HTTP: status, JSON envelope and code.
"""

from __future__ import annotations

import io
from typing import Any

import aiohttp
import pytest

from openprovider_ssl.testing import FakeOpenprovider
from openprovider_ssl.testing import _reads as reads
from openprovider_ssl.testing._spec import compile_operations
from tests._support.fake_api import Api, Reply

ID_OPERATIONS = sorted(
    (op.operation_id, op.method, op.template.removeprefix("/v1beta"))
    for op in compile_operations()
    if "{id}" in op.template
)


def assert_envelope(reply: Reply) -> None:
    assert reply.headers["Content-Type"].startswith("application/json")
    assert {"code", "desc", "data", "maintenance", "warnings"} <= set(reply.body)


@pytest.mark.parametrize("common_name", ["", None])
async def test_create_csr_without_a_common_name_is_a_399_not_a_crash(
    api: Api, common_name: str | None
) -> None:
    reply = await api("POST", "/ssl/csr", json={"common_name": common_name, "country": ""})
    assert_envelope(reply)
    assert (reply.status, reply.code) == (400, 399)
    assert reply.data == "body: missing required field 'common_name'"


@pytest.mark.parametrize(("operation_id", "method", "template"), ID_OPERATIONS)
@pytest.mark.parametrize("raw_id", ["-1", "0", "-2147483648", "2147483647"])
async def test_any_int32_path_id_is_not_found(
    api: Api, operation_id: str, method: str, template: str, raw_id: str
) -> None:
    body = {"approver_email": "admin@example.com"} if "ApproverEmail" in operation_id else None
    reply = await api(method, template.replace("{id}", raw_id), json=body)
    assert_envelope(reply)
    expected = 10006 if operation_id == "GetProduct" else 10001
    assert (reply.status, reply.code) == (404, expected), reply.text


@pytest.mark.parametrize("raw_id", ["abc", "2147483648", "-2147483649", "1.5", "--1"])
async def test_a_path_id_that_is_no_int32_is_a_399(api: Api, raw_id: str) -> None:
    reply = await api("GET", f"/ssl/orders/{raw_id}")
    assert_envelope(reply)
    assert (reply.status, reply.code) == (400, 399)


async def test_unknown_fields_and_parameters_are_ignored(api: Api, fake: FakeOpenprovider) -> None:
    order = fake.add_order("PAI")
    body = {"autorenew": "on", "colour": "red", "domain_validation_methods": []}
    reply = await api("PUT", f"/ssl/orders/{order.id}", json=body)
    assert (reply.status, reply.code) == (200, 0)
    assert order.autorenew == "on"
    listed = await api("GET", "/ssl/orders", params={"colour": "red", "limit": "3"})
    assert (listed.code, len(listed.data["results"])) == (0, 3)


async def test_a_body_id_is_overwritten_by_the_path_id(api: Api, fake: FakeOpenprovider) -> None:
    target, other = fake.add_order("PAI"), fake.add_order("PAI")
    reply = await api("PUT", f"/ssl/orders/{target.id}", json={"id": other.id, "autorenew": "on"})
    assert (reply.status, reply.code, reply.data) == (200, 0, {"id": target.id})
    assert (target.autorenew, other.autorenew) == ("on", "off")
    renewable = fake.add_order("ACT", expires_in_days=5)
    renewed = await api("POST", f"/ssl/orders/{renewable.id}/renew", json={"id": 1})
    assert (renewed.code, renewed.data) == (0, {"id": renewable.id})
    assert fake.stats.renewals == {renewable.id: 1}


async def test_zero_values_are_the_same_as_not_sent(api: Api, fake: FakeOpenprovider) -> None:
    act = fake.add_order("ACT")
    body = {"autorenew": "on", "start_provision": False, "host_names": [], "csr": "", "id": 0}
    reply = await api("PUT", f"/ssl/orders/{act.id}", json=body)
    assert (reply.status, reply.code) == (200, 0), reply.text
    assert act.autorenew == "on"
    listed = await api("GET", "/ssl/orders", params={"order_by.status": "", "offset": "0"})
    assert listed.code == 0
    csr = await api("POST", "/ssl/csr", json={"common_name": "example.com", "bits": 0})
    assert csr.code == 0
    decoded = await api("POST", "/ssl/csr/decode", json={"csr": csr.data["csr"]})
    assert decoded.data["public_key"]["bits"] == 2048
    emails = await api("GET", "/ssl/approver-emails", params={"domain": "a.nl", "product_id": "0"})
    assert emails.code == 0


async def test_a_body_that_is_null_is_refused(api: Api, fake: FakeOpenprovider) -> None:
    order = fake.add_order("ACT", expires_in_days=5)
    before = order.as_api()
    reply = await api("POST", f"/ssl/orders/{order.id}/renew", data="null")
    assert_envelope(reply)
    assert (reply.status, reply.code) == (400, 399)
    assert order.as_api() == before
    assert fake.stats.renewals[order.id] == 0
    empty = await api("POST", f"/ssl/orders/{order.id}/renew", data="")
    assert empty.code == 0  # an empty body is {}


@pytest.mark.parametrize(
    ("body", "code"), [('{"id": "7"}', 0), ('{"id": 7.0}', 0), ('{"id": NaN}', 399)]
)
async def test_integers_as_protojson_reads_them(api: Api, body: str, code: int) -> None:
    assert (await api("POST", "/ssl/orders/100001/otp-tokens", data=body)).code == code


async def test_405_names_the_allowed_methods(api: Api) -> None:
    reply = await api("DELETE", "/ssl/orders/100001")
    assert_envelope(reply)
    assert (reply.status, reply.code, reply.headers["Allow"]) == (405, 399, "GET, PUT")
    renew = await api("GET", "/ssl/orders/100001/renew")
    assert (renew.status, renew.headers["Allow"]) == (405, "POST")


async def test_every_answer_is_an_envelope_even_a_fault_of_the_fake(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(product_id: int) -> Any:
        raise KeyError("bug")

    monkeypatch.setattr(reads, "get_product", broken)
    reply = await api("GET", "/ssl/products/1")
    assert_envelope(reply)
    assert (reply.status, reply.code) == (500, 399)
    assert "KeyError" in reply.data
    assert "internal error" in caplog.text
    huge = io.BytesIO(b'{"csr": "' + b"x" * (1 << 21) + b'"}')  # over aiohttp's 1 MiB
    too_big = await api("POST", "/ssl/csr/decode", data=huge)
    assert_envelope(too_big)
    assert (too_big.status, too_big.code) == (413, 399)


async def test_strict_requests_from_the_command_line_are_described(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeOpenprovider(orders=1, strict_requests=True) as fake:
        assert fake.describe()["strict_requests"] is True
        async with session.get(f"{fake.base_url}/_fake/faults") as r:
            assert (await r.json())["strict_requests"] is True
