"""``Client``: configuration checks, ``from_env``, the headers every call carries, and the
lifecycle of its one aiohttp session (lazy, inside the running loop, bounded, released by
``aclose`` / ``async with``, usable across ``asyncio.run`` calls, a caller's session never
closed). Real sockets are in ``test_transport.py``."""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aioresponses import aioresponses

import openprovider_ssl as op
from openprovider_ssl._http.auth import TokenAuth

if TYPE_CHECKING:
    from tests._support.mocked_api import Api

ORDER = 31027
GET = f"/ssl/orders/{ORDER}"
BASE = "https://api.test/v1beta"


# --- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        pytest.param({}, "credentials", id="nothing"),
        pytest.param({"username": "u"}, "credentials", id="no-password"),
        pytest.param({"password": "p"}, "credentials", id="no-username"),
        pytest.param({"token": "t", "username": "u", "password": "p"}, "credentials", id="both"),
        pytest.param({"token": ""}, "token", id="empty-token"),
        pytest.param({"token": "   "}, "token", id="blank-token"),
        pytest.param({"token": "t", "max_connections": 0}, "max_connections", id="no-connections"),
        pytest.param(
            {"token": "t", "max_connections": True}, "max_connections", id="bool-connections"
        ),
        pytest.param({"token": "t", "timeout": 0}, "timeout", id="zero-timeout"),
        pytest.param({"token": "t", "timeout": -1.0}, "timeout", id="negative-timeout"),
        pytest.param({"token": "t", "timeout": math.nan}, "timeout", id="nan-timeout"),
        pytest.param({"token": "t", "timeout": math.inf}, "timeout", id="inf-timeout"),
        pytest.param({"token": "t", "timeout": "30"}, "timeout", id="string-timeout"),
        pytest.param({"token": "t", "base_url": "ftp://api.test"}, "base_url", id="ftp"),
        pytest.param({"token": "t", "base_url": "api.test/v1beta"}, "base_url", id="no-scheme"),
        pytest.param(
            {"token": "t", "base_url": "https://api.test/v1beta?x=1"}, "base_url", id="query"
        ),
        pytest.param(
            {"token": "t", "base_url": "http://api.test/v1beta"}, "base_url", id="plain-http"
        ),
        pytest.param(
            {"token": "t", "base_url": "http://localhost.evil.test"}, "base_url", id="not-loopback"
        ),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(op.ValidationError, match=rf"^invalid {argument}: "):
        op.Client(**kwargs)


def test_missing_credentials_say_how_to_give_them() -> None:
    with pytest.raises(op.ValidationError) as caught:
        op.Client()
    message = str(caught.value)
    assert "token=" in message and "OPENPROVIDER_TOKEN" in message and "from_env" in message


def test_plain_http_says_why_and_how_to_allow_it() -> None:
    with pytest.raises(op.ValidationError) as caught:
        op.Client("t", base_url="http://api.test/v1beta")
    assert "allow_insecure_http=True" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/v1beta",
        "http://127.0.0.1:1/v1beta",
        "http://127.0.0.2/x",
        "http://[::1]:9000/v1beta",
    ],
)
def test_plain_http_is_allowed_on_loopback(url: str) -> None:
    assert op.Client("t", base_url=url).base_url == url


def test_plain_http_elsewhere_when_explicitly_allowed() -> None:
    client = op.Client("t", base_url="http://api.test/v1beta", allow_insecure_http=True)
    assert client.base_url == "http://api.test/v1beta"


def test_defaults_and_trailing_slash() -> None:
    assert op.Client("t").base_url == op.PRODUCTION_URL == "https://api.openprovider.eu/v1beta"
    assert op.SANDBOX_URL == "https://api.cte.openprovider.eu/v1beta"
    assert op.Client("t", base_url=BASE + "/").base_url == BASE


# --- from_env --------------------------------------------------------------------------------


def test_from_env_with_a_token() -> None:
    client = op.Client.from_env({"OPENPROVIDER_TOKEN": "tok-env"})
    assert isinstance(client._auth, TokenAuth)
    assert client.base_url == op.PRODUCTION_URL


def test_from_env_with_username_password_and_base_url() -> None:
    client = op.Client.from_env(
        {
            "OPENPROVIDER_USERNAME": "jane",
            "OPENPROVIDER_PASSWORD": "pw",
            "OPENPROVIDER_BASE_URL": op.SANDBOX_URL,
        }
    )
    assert "username='jane'" in repr(client)
    assert client.base_url == op.SANDBOX_URL


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"OPENPROVIDER_TOKEN": ""},
        {"OPENPROVIDER_USERNAME": "jane"},
        {"OPENPROVIDER_PASSWORD": "pw"},
        {"OPENPROVIDER_USERNAME": "", "OPENPROVIDER_PASSWORD": "pw"},
    ],
)
def test_from_env_without_credentials_is_refused(environ: dict[str, str]) -> None:
    with pytest.raises(op.ValidationError, match="OPENPROVIDER_USERNAME"):
        op.Client.from_env(environ)


def test_from_env_does_not_read_os_environ_when_a_mapping_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENPROVIDER_TOKEN", "from-os")
    with pytest.raises(op.ValidationError):
        op.Client.from_env({})
    assert "TokenAuth" in repr(op.Client.from_env())


async def test_from_env_token_is_used(api: Api) -> None:
    api.ok("GET", GET, api.order(ORDER))
    async with op.Client.from_env(
        {"OPENPROVIDER_TOKEN": "tok-env", "OPENPROVIDER_BASE_URL": BASE}
    ) as c:
        await c.orders.get(ORDER)
    assert api.only().headers["Authorization"] == "Bearer tok-env"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"token": "tok-arg"},
        {"username": "arg-user", "password": "arg-pw"},
        {"base_url": "https://other.test/v1beta"},
    ],
)
def test_from_env_keyword_arguments_win(kwargs: dict[str, str]) -> None:
    environ = {
        "OPENPROVIDER_TOKEN": "tok-env",
        "OPENPROVIDER_USERNAME": "env-user",
        "OPENPROVIDER_PASSWORD": "env-pw",
        "OPENPROVIDER_BASE_URL": op.SANDBOX_URL,
    }
    client = op.Client.from_env(environ, **kwargs)
    if "username" in kwargs:
        assert "username='arg-user'" in repr(client)
    if "base_url" in kwargs:
        assert client.base_url == kwargs["base_url"]
    else:
        assert client.base_url == op.SANDBOX_URL


def test_from_env_fills_a_missing_password_from_the_environment() -> None:
    client = op.Client.from_env({"OPENPROVIDER_PASSWORD": "env-pw"}, username="arg-user")
    assert "username='arg-user'" in repr(client)


# --- what every call carries -----------------------------------------------------------------


async def test_a_get_carries_auth_user_agent_and_accept_but_no_body(
    client: op.Client, api: Api
) -> None:
    api.ok("GET", GET, api.order(ORDER))
    order = await client.orders.get(ORDER)
    assert isinstance(order, op.Order) and order.status == op.OrderStatus.ACT
    call = api.only()
    assert (call.method, call.url) == ("GET", f"{BASE}/ssl/orders/{ORDER}")
    assert call.headers["Authorization"] == f"Bearer {api.token}"
    assert call.headers["Accept"] == "application/json"
    assert call.headers["User-Agent"].startswith("openprovider-ssl")
    assert "Content-Type" not in call.headers
    assert call.body is None


async def test_a_malformed_answer_to_a_get_is_a_response_error(client: op.Client, api: Api) -> None:
    api.raw("GET", GET, "<html><h1>500 Internal Server Error</h1></html>", status=500, repeat=True)
    with pytest.raises(op.ResponseError) as caught:
        await client.orders.get(ORDER)
    assert caught.value.http_status == 500
    assert "500 Internal Server Error" in caught.value.excerpt


async def test_wrong_types_in_an_order_are_a_response_error(client: op.Client, api: Api) -> None:
    api.ok("GET", GET, {"id": ORDER, "expiration_date": {"when": "soon"}}, repeat=True)
    with pytest.raises(op.ResponseError) as caught:
        await client.orders.get(ORDER)
    assert "does not fit Order" in str(caught.value)
    assert caught.value.http_status == 200


async def test_the_warnings_of_a_success_are_logged(
    client: op.Client, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openprovider_ssl")
    api.ok("PUT", GET, {"id": ORDER}, warnings=[{"code": 5, "desc": "mind this"}])
    await client.orders.update(ORDER, autorenew="on")
    assert any("mind this" in r.getMessage() for r in caplog.records)


# --- the session's lifecycle -----------------------------------------------------------------


def test_a_client_is_created_outside_any_loop_and_used_in_one(
    api: Api, no_leaks: list[warnings.WarningMessage]
) -> None:
    client = op.Client(api.token, base_url=BASE)  # no running loop here: nothing is created yet
    api.ok("GET", GET, api.order(ORDER))

    async def main() -> op.Order:
        async with client:
            return await client.orders.get(ORDER)

    assert asyncio.run(main()).id == ORDER
    assert no_leaks == []


def test_a_client_is_used_across_two_asyncio_runs(
    api: Api, no_leaks: list[warnings.WarningMessage]
) -> None:
    client = op.Client(api.token, base_url=BASE)
    api.ok("GET", GET, api.order(ORDER), repeat=True)

    async def get() -> int:
        return (await client.orders.get(ORDER)).id

    assert asyncio.run(get()) == ORDER  # never closed: the loop's end releases it
    assert asyncio.run(get()) == ORDER

    async def close() -> None:
        await client.aclose()

    asyncio.run(close())
    assert len(api.calls) == 2


async def test_one_session_serves_every_call_and_is_bounded(
    make_client: Callable[..., op.Client], api: Api
) -> None:
    api.ok("GET", GET, api.order(ORDER), repeat=True)
    async with make_client(max_connections=7) as client:
        await client.orders.get(ORDER)
        session = client._transport._session
        assert session is not None
        await asyncio.gather(*(client.orders.get(ORDER) for _ in range(5)))
        assert client._transport._session is session
        assert isinstance(session.connector, aiohttp.TCPConnector)
        assert session.connector.limit == 7
    assert session.closed


async def test_async_with_closes_the_session_and_the_client_can_reopen(
    make_client: Callable[..., op.Client], api: Api
) -> None:
    api.ok("GET", GET, api.order(ORDER), repeat=True)
    client = make_client()
    async with client:
        await client.orders.get(ORDER)
        first = client._transport._session
    assert first is not None and first.closed
    await client.aclose()  # closing twice is harmless
    await client.orders.get(ORDER)  # a closed client opens a fresh session
    second = client._transport._session
    assert second is not None and second is not first and not second.closed
    await client.aclose()
    assert second.closed


async def test_aclose_after_an_error_releases_the_session(
    make_client: Callable[..., op.Client], api: Api
) -> None:
    api.error("GET", GET, 10001, status=404, desc="Order not found")
    with pytest.raises(op.APIError):
        async with make_client() as client:
            await client.orders.get(ORDER)
    session = client._transport._session
    assert session is None or session.closed


async def test_a_caller_owned_session_is_used_and_never_closed(
    make_client: Callable[..., op.Client], api: Api
) -> None:
    api.ok("GET", GET, api.order(ORDER), repeat=True)
    async with aiohttp.ClientSession(headers={"X-Caller": "mine"}) as session:
        async with make_client(session=session) as client:
            await client.orders.get(ORDER)
        assert not session.closed
        await client.orders.get(ORDER)  # after aclose, still the caller's session
        await client.aclose()
        assert not session.closed
        assert client._transport._session is session
    for call in api.calls:
        assert call.headers["X-Caller"] == "mine"
        assert call.headers["Authorization"] == f"Bearer {api.token}"
        assert call.headers["User-Agent"].startswith("openprovider-ssl")


def test_a_caller_owned_session_after_aclose_leaves_nothing_unclosed(
    no_leaks: list[warnings.WarningMessage],
) -> None:
    async def main() -> None:
        with aioresponses() as mocked:
            mocked.get(BASE + GET, payload={"code": 0, "data": {"id": ORDER}}, repeat=True)
            async with aiohttp.ClientSession() as session:
                client = op.Client("t", base_url=BASE, session=session)
                await client.orders.get(ORDER)
                await client.aclose()
                await client.orders.get(ORDER)
                await client.aclose()

    asyncio.run(main())
    gc.collect()


def test_a_client_never_closed_leaves_nothing_unclosed(
    no_leaks: list[warnings.WarningMessage],
) -> None:
    async def main() -> None:
        with aioresponses() as mocked:
            mocked.get(BASE + GET, payload={"code": 0, "data": {"id": ORDER}})
            client = op.Client("t", base_url=BASE)
            await client.orders.get(ORDER)

    asyncio.run(main())
    gc.collect()


# --- repr ------------------------------------------------------------------------------------


def test_repr_hides_the_secrets() -> None:
    token_client = op.Client("tok-SECRET-1")
    login_client = op.Client(username="jane", password="pw-SECRET-2")
    assert "tok-SECRET-1" not in repr(token_client)
    assert "pw-SECRET-2" not in repr(login_client)
    assert "jane" in repr(login_client)
    assert "<hidden>" in repr(token_client) and "<hidden>" in repr(login_client)
