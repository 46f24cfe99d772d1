"""``orders.update`` and ``orders.renew`` against aioresponses: method, URL, headers and exact
JSON body; every bad argument refused with nothing sent; and the rules that keep a charged
renew from being sent twice (resent only after an answer that proves it was not applied; after
anything else never sent again, only confirmed by reading back, and held pending in the
client's journal)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

import openprovider_ssl as op
from openprovider_ssl._protocol.messages import build_request

if TYPE_CHECKING:
    from tests._support.mocked_api import Api, Sleeps

ORDER = 31027
UPDATE = f"/ssl/orders/{ORDER}"
RENEW = f"/ssl/orders/{ORDER}/renew"
GET = f"/ssl/orders/{ORDER}"
CSR = (
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "MIIBszCCARwCAQAwczELMAkGA1UEBhMCTkwxFjAUBgNVBAgMDU5vb3JkLUhvbGxh\n"
    "bmQ=\n"
    "-----END CERTIFICATE REQUEST-----\n"
)


def refused_connection() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("api.test", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


# --- update: what is sent ----------------------------------------------------------------

# Each field alone: the keyword and the exact JSON it becomes.
FIELDS = [
    pytest.param(
        {"approver_email": "admin@example.com"},
        {"approver_email": "admin@example.com"},
        id="approver_email",
    ),
    pytest.param({"autorenew": "on"}, {"autorenew": "on"}, id="autorenew-on"),
    pytest.param({"autorenew": "off"}, {"autorenew": "off"}, id="autorenew-off"),
    pytest.param({"csr": CSR}, {"csr": CSR}, id="csr"),
    pytest.param(
        {"domain_validation_methods": [op.DomainValidationMethod("example.com", "dns")]},
        {"domain_validation_methods": [{"host_name": "example.com", "method": "dns"}]},
        id="dvm-objects",
    ),
    pytest.param(
        {"domain_validation_methods": [{"host_name": "www.example.com", "method": "http"}]},
        {"domain_validation_methods": [{"host_name": "www.example.com", "method": "http"}]},
        id="dvm-dicts",
    ),
    pytest.param({"enable_dns_automation": True}, {"enable_dns_automation": True}, id="dns-true"),
    pytest.param(
        {"enable_dns_automation": False}, {"enable_dns_automation": False}, id="dns-false"
    ),
    pytest.param(
        {"host_names": ("a.example.com", "*.example.com")},
        {"host_names": ["a.example.com", "*.example.com"]},
        id="host_names",
    ),
    pytest.param(
        {"organization_handle": "XY012345-CC"},
        {"organization_handle": "XY012345-CC"},
        id="organization_handle",
    ),
    pytest.param(
        {"signature_hash_algorithm": "sha2"},
        {"signature_hash_algorithm": "sha2"},
        id="signature_hash_algorithm",
    ),
    pytest.param({"software_id": "windows"}, {"software_id": "windows"}, id="software_id"),
    pytest.param({"start_provision": True}, {"start_provision": True}, id="start_provision-true"),
    pytest.param(
        {"start_provision": False}, {"start_provision": False}, id="start_provision-false"
    ),
    pytest.param(
        {"technical_handle": "IA900531-NL"},
        {"technical_handle": "IA900531-NL"},
        id="technical_handle",
    ),
]


@pytest.mark.parametrize(("fields", "body"), FIELDS)
async def test_update_sends_only_the_given_field(
    client: op.Client, api: Api, fields: dict[str, Any], body: dict[str, Any]
) -> None:
    api.ok("PUT", UPDATE, {"id": ORDER})
    updated = await client.orders.update(ORDER, **fields)
    assert updated == op.Updated(id=ORDER)
    call = api.only()
    assert (call.method, call.url) == ("PUT", f"{api.base}/ssl/orders/{ORDER}")
    assert call.json == body
    assert call.headers["Content-Type"] == "application/json"
    assert call.headers["Authorization"] == f"Bearer {api.token}"


async def test_update_with_every_field_sends_exactly_those_fields(
    client: op.Client, api: Api
) -> None:
    api.ok("PUT", UPDATE, {"id": ORDER})
    await client.orders.update(
        ORDER,
        approver_email="admin@example.com",
        autorenew="on",
        csr=api.csr,
        domain_validation_methods=[
            op.DomainValidationMethod("example.com", "dns"),
            {"host_name": "www.example.com", "method": "http"},
        ],
        enable_dns_automation=True,
        host_names=["example.com", "www.example.com"],
        organization_handle="XY012345-CC",
        signature_hash_algorithm="sha2",
        software_id="linux",
        start_provision=True,
        technical_handle="IA900531-NL",
    )
    assert api.only().json == {
        "approver_email": "admin@example.com",
        "autorenew": "on",
        "csr": api.csr,
        "domain_validation_methods": [
            {"host_name": "example.com", "method": "dns"},
            {"host_name": "www.example.com", "method": "http"},
        ],
        "enable_dns_automation": True,
        "host_names": ["example.com", "www.example.com"],
        "organization_handle": "XY012345-CC",
        "signature_hash_algorithm": "sha2",
        "software_id": "linux",
        "start_provision": True,
        "technical_handle": "IA900531-NL",
    }


async def test_update_returns_the_warnings(client: op.Client, api: Api) -> None:
    api.ok("PUT", UPDATE, {"id": ORDER}, warnings=[{"code": 1101, "desc": "autorenew ignored"}])
    updated = await client.orders.update(ORDER, autorenew="on")
    assert updated.warnings == (op.ApiWarning(code=1101, desc="autorenew ignored"),)


async def test_an_unknown_field_is_a_type_error_and_nothing_is_sent(
    client: op.Client, api: Api
) -> None:
    with pytest.raises(TypeError):
        await client.orders.update(ORDER, colour="blue")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        await client.orders.update(ORDER, "on")  # type: ignore[call-arg]
    assert api.calls == []


# Every argument problem: keyword arguments and the argument the error must name.
BAD_UPDATES = [
    pytest.param({"order_id": "1/../2", "autorenew": "on"}, "order_id", id="path-traversal-id"),
    pytest.param({"order_id": "31027", "autorenew": "on"}, "order_id", id="string-id"),
    pytest.param({"order_id": 0, "autorenew": "on"}, "order_id", id="zero-id"),
    pytest.param({"order_id": -5, "autorenew": "on"}, "order_id", id="negative-id"),
    pytest.param({"order_id": 1.0, "autorenew": "on"}, "order_id", id="float-id"),
    pytest.param({"order_id": True, "autorenew": "on"}, "order_id", id="bool-id"),
    pytest.param({"order_id": 2**31, "autorenew": "on"}, "order_id", id="huge-id"),
    pytest.param({}, "fields", id="no-fields"),
    pytest.param({"autorenew": "yes"}, "autorenew", id="autorenew"),
    pytest.param({"autorenew": True}, "autorenew", id="autorenew-bool"),
    pytest.param({"software_id": "macos"}, "software_id", id="software_id"),
    pytest.param({"approver_email": "not-an-email"}, "approver_email", id="approver_email"),
    pytest.param({"approver_email": "a@b.com\r\nX: y"}, "approver_email", id="approver_email-crlf"),
    pytest.param({"csr": "hello"}, "csr", id="csr"),
    pytest.param(
        {"csr": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"},
        "csr",
        id="csr-a-certificate",
    ),
    pytest.param({"domain_validation_methods": []}, "domain_validation_methods", id="dvm-empty"),
    pytest.param({"domain_validation_methods": "dns"}, "domain_validation_methods", id="dvm-str"),
    pytest.param(
        {"domain_validation_methods": [{"host_name": "example.com"}]},
        r"domain_validation_methods\[0\]",
        id="dvm-no-method",
    ),
    pytest.param(
        {"domain_validation_methods": [{"method": "dns"}]},
        r"domain_validation_methods\[0\]",
        id="dvm-no-host",
    ),
    pytest.param(
        {"domain_validation_methods": [{"host_name": "x y", "method": "dns"}]},
        r"domain_validation_methods\[0\]\.host_name",
        id="dvm-bad-host",
    ),
    pytest.param(
        {"domain_validation_methods": [op.DomainValidationMethod("example.com", "")]},
        r"domain_validation_methods\[0\]\.method",
        id="dvm-object-bad-method",
    ),
    pytest.param({"enable_dns_automation": "true"}, "enable_dns_automation", id="dns-automation"),
    pytest.param({"start_provision": 1}, "start_provision", id="start_provision"),
    pytest.param({"host_names": "example.com"}, "host_names", id="host_names-str"),
    pytest.param(
        {"host_names": ["example.com", "http://x"]}, r"host_names\[1\]", id="host_names-url"
    ),
    pytest.param({"organization_handle": "XY 01"}, "organization_handle", id="organization_handle"),
    pytest.param({"technical_handle": ""}, "technical_handle", id="technical_handle"),
    pytest.param({"signature_hash_algorithm": "md5"}, "signature_hash_algorithm", id="hash"),
]


@pytest.mark.parametrize(("kwargs", "argument"), BAD_UPDATES)
async def test_a_bad_update_argument_is_refused_with_nothing_sent(
    client: op.Client, api: Api, kwargs: dict[str, Any], argument: str
) -> None:
    order_id = kwargs.pop("order_id", ORDER)
    with pytest.raises(op.ValidationError, match=rf"^invalid {argument}: "):
        await client.orders.update(order_id, **kwargs)
    assert api.calls == []


# --- update: safe to resend ----------------------------------------------------------------


async def test_update_after_a_read_timeout_is_simply_sent_again(
    client: op.Client, api: Api, sleeps: Sleeps
) -> None:
    api.fail("PUT", UPDATE, TimeoutError())
    api.ok("PUT", UPDATE, {"id": ORDER})
    assert await client.orders.update(ORDER, autorenew="on") == op.Updated(id=ORDER)
    assert api.sent() == [f"PUT {UPDATE}"] * 2
    assert api.calls[0].json == api.calls[1].json == {"autorenew": "on"}
    assert len(sleeps.waits) == 1


async def test_update_after_a_502_is_sent_again(client: op.Client, api: Api) -> None:
    api.raw("PUT", UPDATE, "<html>Bad Gateway</html>", status=502)
    api.error("PUT", UPDATE, 1, status=502, desc="Bad gateway")
    api.ok("PUT", UPDATE, {"id": ORDER})
    assert await client.orders.update(ORDER, autorenew="off") == op.Updated(id=ORDER)
    assert api.sent() == [f"PUT {UPDATE}"] * 3


async def test_an_update_refused_by_the_api_is_not_resent(client: op.Client, api: Api) -> None:
    api.error("PUT", UPDATE, 10002, desc="Operation not allowed in the current order status")
    with pytest.raises(op.APIError) as caught:
        await client.orders.update(ORDER, csr=api.csr)
    assert caught.value.code == 10002
    assert type(caught.value) is op.APIError
    assert len(api.calls) == 1


# --- renew: what is sent -------------------------------------------------------------------


async def test_renew_posts_the_order_id(client: op.Client, api: Api) -> None:
    api.ok("POST", RENEW, {"id": ORDER})
    renewed = await client.orders.renew(ORDER)
    assert renewed == op.Renewed(id=ORDER)
    call = api.only()
    assert (call.method, call.url) == ("POST", f"{api.base}/ssl/orders/{ORDER}/renew")
    assert call.body == b'{"id":31027}'
    assert call.headers["Content-Type"] == "application/json"
    assert call.headers["Authorization"] == f"Bearer {api.token}"


@pytest.mark.parametrize("enabled", [True, False])
async def test_renew_with_dns_automation(client: op.Client, api: Api, enabled: bool) -> None:
    api.ok("POST", RENEW, {"id": ORDER})
    await client.orders.renew(ORDER, enable_dns_automation=enabled)
    sent = api.only()
    assert sent.json == {"id": ORDER, "enable_dns_automation": enabled}
    # Byte for byte what the generic encoder makes, so equal renews are identical calls.
    fields = {"id": ORDER, "enable_dns_automation": enabled}
    assert sent.body == build_request("x", "POST", "/x", body=fields, idempotent=False).body


async def test_renew_returns_the_warnings(client: op.Client, api: Api) -> None:
    api.ok(
        "POST", RENEW, {"id": ORDER}, warnings=[{"code": 7, "desc": "charged", "data": {"x": 1}}]
    )
    renewed = await client.orders.renew(ORDER)
    assert renewed.warnings == (op.ApiWarning(code=7, desc="charged", data='{"x": 1}'),)


BAD_RENEWS = [
    pytest.param("1/../2", {}, "order_id", id="path-traversal-id"),
    pytest.param("31027", {}, "order_id", id="string-id"),
    pytest.param(0, {}, "order_id", id="zero-id"),
    pytest.param(None, {}, "order_id", id="none-id"),
    pytest.param(ORDER, {"enable_dns_automation": "yes"}, "enable_dns_automation", id="dns"),
    pytest.param(
        ORDER, {"known_expiration": datetime(2030, 1, 1)}, "known_expiration", id="naive-date"
    ),
    pytest.param(ORDER, {"known_expiration": "2030-01-01"}, "known_expiration", id="string-date"),
]


@pytest.mark.parametrize(("order_id", "kwargs", "argument"), BAD_RENEWS)
async def test_a_bad_renew_argument_is_refused_with_nothing_sent(
    client: op.Client, api: Api, order_id: Any, kwargs: dict[str, Any], argument: str
) -> None:
    with pytest.raises(op.ValidationError, match=rf"^invalid {argument}: "):
        await client.orders.renew(order_id, **kwargs)
    assert api.calls == []


# --- renew: resent directly when the answer proves nothing was applied ----------------------

NOT_APPLIED = [
    pytest.param(
        lambda api: api.error(
            "POST", RENEW, 4005, status=503, desc="Disabled for maintenance", maintenance=True
        ),
        id="maintenance-4005",
    ),
    pytest.param(
        lambda api: api.error("POST", RENEW, 1, status=500, desc="x", maintenance=True),
        id="maintenance-flag",
    ),
    pytest.param(
        lambda api: api.error(
            "POST", RENEW, 4007, status=429, desc="Excessive use", headers={"Retry-After": "2"}
        ),
        id="4007",
    ),
    pytest.param(lambda api: api.error("POST", RENEW, 1, status=429, desc="Too many"), id="429"),
    pytest.param(
        lambda api: api.error(
            "POST", RENEW, 3006, status=503, desc="Service temporarily unavailable"
        ),
        id="3006",
    ),
    pytest.param(
        lambda api: api.error(
            "POST", RENEW, 3006, status=500, desc="Service temporarily unavailable"
        ),
        id="3006-500",
    ),
    pytest.param(
        lambda api: api.fail("POST", RENEW, refused_connection()), id="connection-refused"
    ),
    pytest.param(
        lambda api: api.fail("POST", RENEW, aiohttp.ConnectionTimeoutError()), id="connect-timeout"
    ),
    pytest.param(
        lambda api: api.raw("POST", RENEW, "<html>503</html>", status=503), id="proxy-503-page"
    ),
]


@pytest.mark.parametrize("first", NOT_APPLIED)
async def test_renew_is_resent_directly_after_an_answer_proving_it_was_not_applied(
    client: op.Client, api: Api, first: Any
) -> None:
    first(api)
    api.ok("POST", RENEW, {"id": ORDER})
    assert await client.orders.renew(ORDER) == op.Renewed(id=ORDER)
    assert api.sent() == [f"POST {RENEW}"] * 2  # no read-back in between


async def test_renew_after_maintenance_then_success_waits_in_between(
    client: op.Client, api: Api, sleeps: Sleeps
) -> None:
    for _ in range(3):
        api.error(
            "POST", RENEW, 4005, status=503, desc="Disabled for maintenance", maintenance=True
        )
    api.ok("POST", RENEW, {"id": ORDER})
    assert await client.orders.renew(ORDER) == op.Renewed(id=ORDER)
    assert len(api.calls) == 4
    # The client's one sleep: each retry's wait (half maintenance_wait), and the maintenance
    # pause's waits for the next probe (1 s, then 2 s, after the one before).
    wait = client.retry_policy.maintenance_wait / 2
    assert sleeps.waits == [wait, wait, 1.0 - wait, wait, 2.0 - wait]


# --- renew: never simply resent after an ambiguous failure --------------------------------

AMBIGUOUS = [
    pytest.param(lambda api: api.fail("POST", RENEW, TimeoutError()), id="read-timeout"),
    pytest.param(
        lambda api: api.fail("POST", RENEW, aiohttp.SocketTimeoutError()), id="socket-timeout"
    ),
    pytest.param(
        lambda api: api.fail("POST", RENEW, aiohttp.ServerDisconnectedError()), id="dropped"
    ),
    pytest.param(
        lambda api: api.fail("POST", RENEW, aiohttp.ClientPayloadError("cut")), id="cut-off"
    ),
    pytest.param(
        lambda api: api.fail("POST", RENEW, aiohttp.ClientOSError(104, "reset")), id="reset"
    ),
    pytest.param(
        lambda api: api.error("POST", RENEW, 1, status=500, desc="Internal error"), id="500"
    ),
    pytest.param(lambda api: api.error("POST", RENEW, 1, status=502, desc="Bad gateway"), id="502"),
    pytest.param(
        lambda api: api.error("POST", RENEW, 1, status=504, desc="Gateway timeout"), id="504"
    ),
    pytest.param(
        lambda api: api.raw("POST", RENEW, "<html>Bad Gateway</html>", status=502), id="html-502"
    ),
    pytest.param(
        lambda api: api.raw(
            "POST", RENEW, '{"code": 0, "data": {"id"', content_type="application/json"
        ),
        id="truncated",
    ),
    pytest.param(lambda api: api.ok("POST", RENEW, {"id": "thirty"}), id="wrong-types"),
]


@pytest.mark.parametrize("failure", AMBIGUOUS)
async def test_after_an_ambiguous_failure_a_bare_id_is_outcome_unknown_and_never_resent(
    client: op.Client, api: Api, sleeps: Sleeps, failure: Any
) -> None:
    failure(api)
    api.ok("GET", GET, api.order(ORDER))  # unchanged: proves nothing
    api.ok("POST", RENEW, {"id": ORDER})  # would be a second charge
    with pytest.raises(op.OutcomeUnknownError) as caught:
        await client.orders.renew(ORDER)
    error = caught.value
    assert error.order_id == ORDER
    assert error.order is None  # no expiration to compare with: nothing to read back
    assert f"order {ORDER}" in str(error)
    assert isinstance(error.cause, op.OpenproviderError)
    assert api.sent() == [f"POST {RENEW}"]
    assert sleeps.waits == []
    [pending] = await client.journal.pending()
    assert pending.order_id == ORDER and pending.expiration is None


@pytest.mark.parametrize("failure", AMBIGUOUS)
async def test_after_an_ambiguous_failure_an_unchanged_renewable_order_is_not_resent(
    client: op.Client, api: Api, sleeps: Sleeps, failure: Any
) -> None:
    before = api.when(10)
    failure(api)
    api.ok("GET", GET, api.order(ORDER, expiration=before))  # may still settle later
    api.ok("POST", RENEW, {"id": ORDER})
    with pytest.raises(op.OutcomeUnknownError) as caught:
        await client.orders.renew(ORDER, known_expiration=before)
    assert caught.value.order is not None and caught.value.order.id == ORDER
    assert api.sent() == [f"POST {RENEW}", f"GET {GET}"]  # never sent twice
    assert sleeps.waits == [client.retry_policy.readback_delay]
    # A second call is refused before sending while the first is pending.
    with pytest.raises(op.RenewalPendingError) as refused:
        await client.orders.renew(ORDER, known_expiration=before)
    assert refused.value.state == "pending" and refused.value.order_id == ORDER
    assert api.sent() == [f"POST {RENEW}", f"GET {GET}"]


async def test_known_expiration_that_moved_confirms_the_renew(client: op.Client, api: Api) -> None:
    before = api.when(10)
    api.fail("POST", RENEW, TimeoutError())
    api.ok("GET", GET, api.order(ORDER, expiration=api.when(375)))
    renewed = await client.orders.renew(ORDER, known_expiration=before)
    assert renewed == op.Renewed(id=ORDER)
    assert api.sent() == [f"POST {RENEW}", f"GET {GET}"]


@pytest.mark.parametrize(
    ("status", "known_days", "read_back_days"),
    [
        pytest.param("REQ", 10, 10, id="unchanged-but-no-longer-active"),
        pytest.param("EXP", 10, 10, id="unchanged-but-expired"),
        pytest.param("ACT", 10, 5, id="expiration-went-back"),
        pytest.param("ACT", 45, 45, id="unchanged-but-outside-the-window"),
        pytest.param("ACT", 10, None, id="no-expiration-in-the-read-back"),
    ],
)
async def test_with_known_expiration_anything_else_is_outcome_unknown(
    client: op.Client, api: Api, status: str, known_days: int, read_back_days: int | None
) -> None:
    known = api.when(known_days)
    order = api.order(ORDER, status=status, expiration=known)
    if read_back_days is None:
        order["expiration_date"] = ""
    elif read_back_days != known_days:
        order = api.order(ORDER, status=status, expiration=api.when(read_back_days))
    api.fail("POST", RENEW, aiohttp.ServerDisconnectedError())
    api.ok("GET", GET, order)
    with pytest.raises(op.OutcomeUnknownError) as caught:
        await client.orders.renew(ORDER, known_expiration=known)
    assert caught.value.order is not None
    assert api.sent() == [f"POST {RENEW}", f"GET {GET}"]


@pytest.mark.parametrize(
    "read_back",
    [
        pytest.param(
            lambda api: api.error("GET", GET, 10001, status=404, desc="Order not found"),
            id="api-error",
        ),
        pytest.param(
            lambda api: api.raw("GET", GET, "<html>oops</html>", status=500), id="garbage"
        ),
        pytest.param(
            lambda api: api.fail("GET", GET, refused_connection(), repeat=True), id="unreachable"
        ),
        pytest.param(
            lambda api: api.error("GET", GET, 10005, status=403, desc="Access denied"),
            id="blacklisted",
        ),
    ],
)
async def test_a_failed_read_back_is_outcome_unknown_and_nothing_is_resent(
    client: op.Client, api: Api, read_back: Any
) -> None:
    api.fail("POST", RENEW, TimeoutError())
    read_back(api)
    with pytest.raises(op.OutcomeUnknownError) as caught:
        await client.orders.renew(ORDER, known_expiration=api.when(10))
    assert caught.value.order is None
    assert isinstance(caught.value.cause, op.TransportError)
    assert f"POST {RENEW}" not in api.sent()[1:]


async def test_an_ambiguous_renew_is_sent_once_whatever_the_attempts(
    make_client: Callable[..., op.Client], api: Api, sleeps: Sleeps
) -> None:
    policy = op.RetryPolicy(attempts=5, random=lambda: 0.0)
    async with make_client(retry=policy) as client:
        api.fail("POST", RENEW, TimeoutError(), repeat=True)
        api.ok("GET", GET, api.order(ORDER), repeat=True)
        with pytest.raises(op.OutcomeUnknownError) as caught:
            await client.orders.renew(ORDER, known_expiration=api.when(10))
    assert api.sent() == [f"POST {RENEW}", f"GET {GET}"]
    assert caught.value.order is not None  # the read-back is attached


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        (10004, 400, op.APIError),
        (10004, 500, op.APIError),
        (399, 500, op.APIError),
        (10002, 502, op.APIError),
        (10005, 403, op.AccessDeniedError),
        (196, 401, op.AuthenticationError),
        (50, 429, op.LoginLimitError),
    ],
)
async def test_a_refused_renew_is_raised_without_read_back_or_resend(
    client: op.Client, api: Api, code: int, status: int, cls: type[op.APIError]
) -> None:
    api.error("POST", RENEW, code, status=status, desc="Renew is not allowed")
    with pytest.raises(cls) as caught:
        await client.orders.renew(ORDER)
    assert type(caught.value) is cls
    assert api.sent() == [f"POST {RENEW}"]


async def test_the_read_back_and_its_wait_are_logged(
    client: op.Client, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="openprovider_ssl")
    api.fail("POST", RENEW, TimeoutError())
    api.ok("GET", GET, api.order(ORDER))
    with pytest.raises(op.OutcomeUnknownError):
        await client.orders.renew(ORDER, known_expiration=api.when(10))
    messages = [r.getMessage() for r in caplog.records if r.name == "openprovider_ssl"]
    assert messages[0] == f"RenewOrder POST {RENEW}"
    assert any("reading it back in 2.00 s" in m for m in messages)
    assert messages.count(f"RenewOrder POST {RENEW}") == 1
    assert messages.count(f"GetOrder GET {GET}") == 1


async def test_concurrent_renews_of_different_orders_do_not_interfere(
    client: op.Client, api: Api
) -> None:
    for order_id in (1, 2, 3):
        api.ok("POST", f"/ssl/orders/{order_id}/renew", {"id": order_id})
    results = await asyncio.gather(*(client.orders.renew(i) for i in (1, 2, 3)))
    assert [r.id for r in results] == [1, 2, 3]
    assert sorted(c.json["id"] for c in api.calls) == [1, 2, 3]
