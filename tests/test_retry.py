"""The retry policy applied to real calls: what is retried, how often, how long it waits, what
is never retried, and that every attempt, retry and wait is logged. Waits are recorded by an
injected sleep, so nothing here waits for real."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

import openprovider_ssl as op
from openprovider_ssl.limits._front import Limits

if TYPE_CHECKING:
    from tests._support.mocked_api import Api, Sleeps, VirtualTime

ORDER = 31027
GET = f"/ssl/orders/{ORDER}"
UPDATE = f"/ssl/orders/{ORDER}"


def refused_connection() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("api.test", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


def maintenance(api: Api, method: str = "GET", path: str = GET, **kwargs: Any) -> None:
    api.error(
        method, path, 4005, status=503, desc="Disabled for maintenance", maintenance=True, **kwargs
    )


# --- retried -------------------------------------------------------------------------------


async def test_maintenance_then_success(client: op.Client, api: Api, sleeps: Sleeps) -> None:
    maintenance(api)
    api.ok("GET", GET, api.order(ORDER))
    order = await client.orders.get(ORDER)
    assert order.id == ORDER
    assert api.sent() == [f"GET {GET}"] * 2
    assert sleeps.waits == [client.retry_policy.maintenance_wait / 2]


async def test_the_client_counts_calls_requests_retries_and_failures(
    client: op.Client, api: Api
) -> None:
    maintenance(api)
    api.ok("GET", GET, api.order(ORDER))
    api.ok("GET", GET, api.order(ORDER))
    await client.orders.get(ORDER)
    await client.orders.get(ORDER)
    assert client.stats == op.ClientStats(calls=2, requests=3, retries=1, failures=1)


async def test_a_maintenance_flag_with_any_non_zero_code_is_retried(
    client: op.Client, api: Api
) -> None:
    api.error("PUT", UPDATE, 399, status=500, desc="Unknown", maintenance=True)
    api.ok("PUT", UPDATE, {"id": ORDER})
    assert await client.orders.update(ORDER, autorenew="on") == op.Updated(id=ORDER)
    assert len(api.calls) == 2


async def test_a_read_answered_during_maintenance_is_a_success(client: op.Client, api: Api) -> None:
    api.ok("GET", GET, api.order(ORDER), maintenance=True)
    assert (await client.orders.get(ORDER)).id == ORDER
    assert len(api.calls) == 1


RETRIED = [
    pytest.param(
        lambda api: api.error("GET", GET, 3006, status=503, desc="Unavailable"), id="3006"
    ),
    pytest.param(lambda api: api.error("GET", GET, 1, status=502, desc="Bad gateway"), id="502"),
    pytest.param(lambda api: api.error("GET", GET, 1, status=503, desc="Unavailable"), id="503"),
    pytest.param(
        lambda api: api.error("GET", GET, 1, status=504, desc="Gateway timeout"), id="504"
    ),
    pytest.param(
        lambda api: api.raw("GET", GET, "<html>502 Bad Gateway</html>", status=502), id="html-502"
    ),
    pytest.param(
        lambda api: api.raw("GET", GET, '{"code": 0, "da', content_type="application/json"),
        id="truncated",
    ),
    pytest.param(lambda api: api.fail("GET", GET, refused_connection()), id="refused"),
    pytest.param(
        lambda api: api.fail("GET", GET, aiohttp.ConnectionTimeoutError()), id="connect-timeout"
    ),
    pytest.param(lambda api: api.fail("GET", GET, TimeoutError()), id="read-timeout"),
    pytest.param(lambda api: api.fail("GET", GET, aiohttp.ServerDisconnectedError()), id="dropped"),
    pytest.param(
        lambda api: api.error("GET", GET, 4007, status=429, desc="Excessive use"),
        id="4007-no-retry-after",
    ),
]


@pytest.mark.parametrize("failure", RETRIED)
async def test_transient_failures_are_retried(
    client: op.Client, api: Api, sleeps: Sleeps, failure: Any
) -> None:
    failure(api)
    api.ok("GET", GET, api.order(ORDER))
    assert (await client.orders.get(ORDER)).id == ORDER
    assert api.sent() == [f"GET {GET}"] * 2
    assert sleeps.waits == [client.retry_policy.initial_wait / 2]


async def test_backoff_grows_exponentially_until_the_attempts_are_spent(
    make_client: Callable[..., op.Client], api: Api, sleeps: Sleeps
) -> None:
    policy = op.RetryPolicy(
        attempts=5,
        initial_wait=1.0,
        multiplier=3.0,
        max_wait=20.0,
        random=lambda: 1.0,
    )
    api.error("GET", GET, 1, status=502, desc="Bad gateway", repeat=True)
    async with make_client(retry=policy) as client:
        with pytest.raises(op.ServerError) as caught:
            await client.orders.get(ORDER)
    assert caught.value.http_status == 502
    assert len(api.calls) == 5
    assert sleeps.waits == [1.0, 3.0, 9.0, 20.0]


async def test_retries_exhausted_raise_the_last_error(client: op.Client, api: Api) -> None:
    api.error("GET", GET, 3006, status=503, desc="Service temporarily unavailable", repeat=True)
    with pytest.raises(op.ServerError) as caught:
        await client.orders.get(ORDER)
    assert caught.value.code == 3006
    assert len(api.calls) == client.retry_policy.attempts == 4


async def test_a_transport_error_is_never_a_bare_aiohttp_error(client: op.Client, api: Api) -> None:
    api.fail("GET", GET, refused_connection(), repeat=True)
    with pytest.raises(op.TransportError) as caught:
        await client.orders.get(ORDER)
    assert caught.value.sent is False
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)
    assert len(api.calls) == 4


# --- Retry-After ---------------------------------------------------------------------------


async def test_retry_after_is_honoured(client: op.Client, api: Api, sleeps: Sleeps) -> None:
    api.error("GET", GET, 4007, status=429, desc="Excessive use", headers={"Retry-After": "7"})
    api.ok("GET", GET, api.order(ORDER))
    await client.orders.get(ORDER)
    assert sleeps.waits == [7.0]
    assert len(api.calls) == 2


async def test_retry_after_as_an_http_date(client: op.Client, api: Api, sleeps: Sleeps) -> None:
    when = datetime.now(UTC) + timedelta(seconds=20)
    api.error(
        "GET",
        GET,
        1,
        status=429,
        desc="Too many",
        headers={"Retry-After": format_datetime(when, usegmt=True)},
    )
    api.ok("GET", GET, api.order(ORDER))
    await client.orders.get(ORDER)
    (wait,) = sleeps.waits
    assert 15.0 <= wait <= 20.0


async def test_retry_after_above_max_wait_is_not_waited_for(
    client: op.Client, api: Api, sleeps: Sleeps
) -> None:
    api.error("GET", GET, 4007, status=429, desc="Excessive use", headers={"Retry-After": "3600"})
    with pytest.raises(op.RateLimitError) as caught:
        await client.orders.get(ORDER)
    assert caught.value.retry_after == 3600.0
    assert sleeps.waits == []
    assert len(api.calls) == 1


async def test_a_later_call_does_not_sleep_out_a_retry_after_above_the_cap(
    make_client: Callable[..., op.Client], api: Api, sleeps: Sleeps, vtime: VirtualTime
) -> None:
    # The first call raises rather than wait 45 s; the next must not wait them out in the
    # client-wide hold either: it fails at once, with nothing sent.
    policy = op.RetryPolicy(max_wait=8.0, random=lambda: 0.0)
    api.error("GET", GET, 4007, status=429, desc="Excessive use", headers={"Retry-After": "45"})
    async with make_client(
        retry=policy,
        limits=op.Limits(max_hold=policy.max_wait, clock=vtime.clock, sleep=sleeps),
    ) as client:
        with pytest.raises(op.RateLimitError):
            await client.orders.get(ORDER)
        with pytest.raises(op.RateLimitError) as caught:
            await client.orders.get(ORDER)
    assert caught.value.retry_after is not None and caught.value.retry_after > 8.0
    assert sleeps.waits == []
    assert len(api.calls) == 1


def test_a_clients_default_limits_hold_no_longer_than_its_retry_policy_waits() -> None:
    client = op.Client(token="t", retry=op.RetryPolicy(max_wait=8.0))
    assert client.limits.max_hold == 8.0


# --- maintenance bounded by maintenance_timeout --------------------------------------------


async def test_maintenance_retries_are_bounded_by_maintenance_timeout(
    make_client: Callable[..., op.Client], api: Api, sleeps: Sleeps
) -> None:
    policy = op.RetryPolicy(
        attempts=2,
        maintenance_wait=10.0,
        maintenance_timeout=30.0,
        random=lambda: 1.0,
    )
    maintenance(api, repeat=True)
    async with make_client(retry=policy) as client:
        with pytest.raises(op.MaintenanceError) as caught:
            await client.orders.get(ORDER)
    assert caught.value.maintenance
    assert "maintenance" in str(caught.value)
    # Maintenance does not spend the two ordinary attempts: it is waited out, up to 30 s.
    assert sleeps.waits == [10.0, 10.0, 10.0]
    assert sum(sleeps.waits) <= 30.0
    assert len(api.calls) == 4


async def test_no_maintenance_retry_when_the_timeout_is_zero(
    make_client: Callable[..., op.Client], api: Api, sleeps: Sleeps
) -> None:
    policy = op.RetryPolicy(maintenance_timeout=0.0)
    maintenance(api, repeat=True)
    async with make_client(retry=policy) as client:
        with pytest.raises(op.MaintenanceError):
            await client.orders.get(ORDER)
    assert len(api.calls) == 1
    assert sleeps.waits == []


async def test_retry_policy_never_makes_one_attempt(
    make_client: Callable[..., op.Client], api: Api
) -> None:
    api.error("GET", GET, 1, status=502, desc="Bad gateway", repeat=True)
    async with make_client(retry=op.RetryPolicy.never()) as client:
        with pytest.raises(op.ServerError):
            await client.orders.get(ORDER)
    assert len(api.calls) == 1


# --- never retried -------------------------------------------------------------------------

NEVER = [
    pytest.param(10005, 403, op.AccessDeniedError, id="10005"),
    pytest.param(10009, 403, op.AccessDeniedError, id="10009"),
    pytest.param(399, 400, op.APIError, id="399"),
    pytest.param(399, 500, op.APIError, id="399-500"),
    pytest.param(399, 503, op.APIError, id="399-503"),
    pytest.param(10001, 404, op.APIError, id="10001"),
    pytest.param(10003, 400, op.APIError, id="10003"),
    pytest.param(10002, 504, op.APIError, id="10002-504"),
    pytest.param(1, 500, op.ServerError, id="500"),
    pytest.param(50, 429, op.LoginLimitError, id="50"),
    pytest.param(196, 401, op.AuthenticationError, id="196-static-token"),
]


@pytest.mark.parametrize(("code", "status", "cls"), NEVER)
async def test_never_retried(
    client: op.Client, api: Api, sleeps: Sleeps, code: int, status: int, cls: type[op.APIError]
) -> None:
    api.error("GET", GET, code, status=status, desc="No", repeat=True)
    with pytest.raises(cls) as caught:
        await client.orders.get(ORDER)
    assert type(caught.value) is cls
    assert caught.value.code == code
    assert len(api.calls) == 1
    assert sleeps.waits == []


async def test_a_4xx_page_that_is_not_the_envelope_is_not_retried(
    client: op.Client, api: Api
) -> None:
    api.raw("GET", GET, "<html>404 Not Found</html>", status=404, repeat=True)
    with pytest.raises(op.ResponseError) as caught:
        await client.orders.get(ORDER)
    assert caught.value.http_status == 404
    assert len(api.calls) == 1


async def test_access_denied_says_to_release_the_ip_and_stops_every_later_call(
    client: op.Client, api: Api
) -> None:
    api.error("GET", GET, 10005, status=403, desc="Access denied")
    with pytest.raises(op.AccessDeniedError) as caught:
        await client.orders.get(ORDER)
    assert "control panel" in str(caught.value) and "released" in str(caught.value)
    api.ok("PUT", "/ssl/orders/5", {"id": 5}, repeat=True)
    api.ok("POST", "/ssl/orders/5/renew", {"id": 5}, repeat=True)
    with pytest.raises(op.AccessDeniedError):
        await client.orders.update(5, autorenew="off")
    with pytest.raises(op.AccessDeniedError):
        await client.orders.renew(5)
    assert len(api.calls) == 1  # nothing sent after the blacklisting


async def test_validation_errors_are_not_retried(
    client: op.Client, api: Api, sleeps: Sleeps
) -> None:
    with pytest.raises(op.ValidationError):
        await client.orders.get("1/../2")  # type: ignore[arg-type]
    assert api.calls == [] and sleeps.waits == []


# --- the identical-call budget ----------------------------------------------------------------


async def test_the_identical_call_budget_refuses_the_call_before_sending(
    make_client: Callable[..., op.Client], api: Api, vtime: VirtualTime
) -> None:
    api.ok("GET", "/ssl/orders/7", api.order(7), repeat=True)
    api.ok("GET", "/ssl/orders/8", api.order(8), repeat=True)
    limits = Limits(identical_limit=2, identical_window=100.0, clock=vtime.clock)
    async with make_client(limits=limits) as client:
        await client.orders.get(7)
        await client.orders.get(7)
        with pytest.raises(op.IdenticalCallLimitError) as caught:
            await client.orders.get(7)
        assert "refused before sending" in str(caught.value)
        assert caught.value.limit == 2 and caught.value.window == 100.0
        assert 0 < caught.value.retry_after <= 104.0
        assert len(api.calls) == 2
        await client.orders.get(8)  # another call is not identical
        assert len(api.calls) == 3
        vtime.now += 105.0
        await client.orders.get(7)  # the window has passed
    assert api.sent().count("GET /ssl/orders/7") == 3


async def test_the_sandbox_budget_is_50_identical_calls(api: Api) -> None:
    client = op.Client(api.token, base_url="https://api.cte.openprovider.eu/v1beta")
    assert client.limits.identical.limit == 50
    assert op.Client(api.token).limits.identical.limit == 300


# --- logging -------------------------------------------------------------------------------


async def test_every_attempt_retry_and_wait_is_logged_at_debug(
    client: op.Client, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="openprovider_ssl")
    api.error("GET", GET, 1, status=502, desc="Bad gateway")
    api.error("GET", GET, 4007, status=429, desc="Excessive use", headers={"Retry-After": "3"})
    api.ok("GET", GET, api.order(ORDER))
    await client.orders.get(ORDER)
    records = [
        r for r in caplog.records if r.name == "openprovider_ssl" and r.levelno == logging.DEBUG
    ]
    messages = [r.getMessage() for r in records]
    assert messages.count(f"GetOrder GET {GET}") == 3
    retries = [m for m in messages if "retrying in" in m]
    assert len(retries) == 2
    assert "Bad gateway" in retries[0] and "retrying in 0.25 s" in retries[0]
    assert "Excessive use" in retries[1] and "retrying in 3.00 s" in retries[1]
