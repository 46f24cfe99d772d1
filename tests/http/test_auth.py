"""Where the bearer token comes from: a static token (never re-logged), or a login whose token is
cached and shared, with one login in flight however many calls wait, and one fresh login when
the token is refused (code 196 or HTTP 401)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

import openprovider_ssl as op
from openprovider_ssl._http.auth import LoginAuth, TokenAuth
from openprovider_ssl.models import LoginData

if TYPE_CHECKING:
    from tests._support.mocked_api import Api

ORDER = 31027
GET = f"/ssl/orders/{ORDER}"
LOGIN = "/auth/login"


def refused(api: Api, *, status: int = 401, repeat: bool = False) -> None:
    api.error(
        "GET", GET, 196, status=status, desc="Authentication/Authorization Failed", repeat=repeat
    )


# --- static token --------------------------------------------------------------------------


async def test_a_static_token_is_sent_as_bearer(client: op.Client, api: Api) -> None:
    api.ok("GET", GET, api.order(ORDER))
    await client.orders.get(ORDER)
    assert api.only().headers["Authorization"] == f"Bearer {api.token}"


@pytest.mark.parametrize("status", [401, 500, 200])
async def test_a_refused_static_token_is_not_re_logged(
    client: op.Client, api: Api, status: int
) -> None:
    refused(api, status=status, repeat=True)
    with pytest.raises(op.AuthenticationError) as caught:
        await client.orders.get(ORDER)
    assert caught.value.code == 196
    assert "check the credentials" in str(caught.value)
    assert api.sent() == [f"GET {GET}"]


async def test_http_401_with_another_code_is_an_authentication_error(
    client: op.Client, api: Api
) -> None:
    api.error("GET", GET, 1, status=401, desc="Unauthorized")
    with pytest.raises(op.AuthenticationError):
        await client.orders.get(ORDER)


# --- login ---------------------------------------------------------------------------------


async def test_the_first_call_logs_in_and_uses_the_token(login_client: op.Client, api: Api) -> None:
    api.login()
    api.ok("GET", GET, api.order(ORDER), repeat=True)
    await login_client.orders.get(ORDER)
    await login_client.orders.get(ORDER)
    assert api.sent() == [f"POST {LOGIN}", f"GET {GET}", f"GET {GET}"]
    login = api.calls[0]
    assert login.json == {"username": api.username, "password": api.password, "ip": "0.0.0.0"}
    assert "Authorization" not in login.headers
    assert login.headers["Content-Type"] == "application/json"
    for call in api.calls[1:]:
        assert call.headers["Authorization"] == f"Bearer {api.login_token}"


async def test_the_login_ip_can_be_given(make_client: Callable[..., op.Client], api: Api) -> None:
    api.login()
    api.ok("GET", GET, api.order(ORDER))
    async with make_client(username=api.username, password=api.password, login_ip="192.0.2.7") as c:
        await c.orders.get(ORDER)
    assert api.calls[0].json["ip"] == "192.0.2.7"


async def test_many_concurrent_calls_share_one_login(login_client: op.Client, api: Api) -> None:
    api.login()
    for order_id in range(1, 21):
        api.ok("GET", f"/ssl/orders/{order_id}", api.order(order_id))
    orders = await asyncio.gather(*(login_client.orders.get(i) for i in range(1, 21)))
    assert [o.id for o in orders] == list(range(1, 21))
    assert api.sent().count(f"POST {LOGIN}") == 1


@pytest.mark.parametrize("status", [401, 500, 200])
async def test_a_refused_token_logs_in_again_once(
    login_client: op.Client, api: Api, status: int
) -> None:
    api.login(token="first-token", repeat=False)
    api.login(token="second-token", repeat=False)
    refused(api, status=status)
    api.ok("GET", GET, api.order(ORDER))
    assert (await login_client.orders.get(ORDER)).id == ORDER
    assert api.sent() == [f"POST {LOGIN}", f"GET {GET}", f"POST {LOGIN}", f"GET {GET}"]
    assert api.calls[1].headers["Authorization"] == "Bearer first-token"
    assert api.calls[3].headers["Authorization"] == "Bearer second-token"


async def test_http_401_also_logs_in_again(login_client: op.Client, api: Api) -> None:
    api.login()
    api.error("GET", GET, 1, status=401, desc="Unauthorized")
    api.ok("GET", GET, api.order(ORDER))
    await login_client.orders.get(ORDER)
    assert api.sent().count(f"POST {LOGIN}") == 2


async def test_a_renew_refused_for_its_token_is_sent_again_after_the_fresh_login(
    login_client: op.Client, api: Api
) -> None:
    renew = f"/ssl/orders/{ORDER}/renew"
    api.login(token="first-token", repeat=False)
    api.login(token="second-token", repeat=False)
    api.error("POST", renew, 196, status=401, desc="Authentication/Authorization Failed")
    api.ok("POST", renew, {"id": ORDER})
    assert await login_client.orders.renew(ORDER) == op.Renewed(id=ORDER)
    # 196 proves the renew was not applied: no read-back, one resend with the new token.
    assert api.sent() == [f"POST {LOGIN}", f"POST {renew}", f"POST {LOGIN}", f"POST {renew}"]
    assert api.calls[3].headers["Authorization"] == "Bearer second-token"


async def test_refused_again_after_the_fresh_login_is_an_authentication_error(
    login_client: op.Client, api: Api
) -> None:
    api.login()
    refused(api, repeat=True)
    with pytest.raises(op.AuthenticationError):
        await login_client.orders.get(ORDER)
    assert api.sent() == [f"POST {LOGIN}", f"GET {GET}", f"POST {LOGIN}", f"GET {GET}"]


async def test_concurrent_refusals_share_one_fresh_login(login_client: op.Client, api: Api) -> None:
    api.login(token="stale", repeat=False)
    api.login(token="fresh", repeat=False)
    paths = [f"/ssl/orders/{i}" for i in range(1, 11)]
    for order_id, path in enumerate(paths, start=1):
        api.error("GET", path, 196, status=401, desc="Authentication/Authorization Failed")
        api.ok("GET", path, api.order(order_id))
    orders = await asyncio.gather(*(login_client.orders.get(i) for i in range(1, 11)))
    assert len(orders) == 10
    assert api.sent().count(f"POST {LOGIN}") == 2
    fresh = [c for c in api.calls if c.headers.get("Authorization") == "Bearer fresh"]
    assert len(fresh) == 10


async def test_a_refused_login_is_an_authentication_error_and_not_retried(
    login_client: op.Client, api: Api
) -> None:
    api.error(
        "POST", LOGIN, 196, status=401, desc="Authentication/Authorization Failed", repeat=True
    )
    with pytest.raises(op.AuthenticationError):
        await login_client.orders.get(ORDER)
    assert api.sent() == [f"POST {LOGIN}"]


async def test_too_many_logins_is_a_login_limit_error(login_client: op.Client, api: Api) -> None:
    api.error(
        "POST",
        LOGIN,
        50,
        status=429,
        desc="Calls limit has been reached",
        headers={"Retry-After": "60"},
    )
    with pytest.raises(op.LoginLimitError) as caught:
        await login_client.orders.get(ORDER)
    assert caught.value.retry_after == 60.0
    assert api.sent() == [f"POST {LOGIN}"]


async def test_a_failed_login_is_tried_again_by_the_next_call(
    login_client: op.Client, api: Api
) -> None:
    api.error("POST", LOGIN, 196, status=401, desc="Authentication/Authorization Failed")
    api.login()
    api.ok("GET", GET, api.order(ORDER))
    with pytest.raises(op.AuthenticationError):
        await login_client.orders.get(ORDER)
    await login_client.orders.get(ORDER)
    assert api.sent() == [f"POST {LOGIN}", f"POST {LOGIN}", f"GET {GET}"]


async def test_a_login_in_maintenance_is_retried(login_client: op.Client, api: Api) -> None:
    api.error("POST", LOGIN, 4005, status=503, desc="Disabled for maintenance", maintenance=True)
    api.login()
    api.ok("GET", GET, api.order(ORDER))
    await login_client.orders.get(ORDER)
    assert api.sent() == [f"POST {LOGIN}", f"POST {LOGIN}", f"GET {GET}"]


# --- LoginAuth itself ----------------------------------------------------------------------


class Logins:
    def __init__(self) -> None:
        self.count = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, username: str, password: str, ip: str) -> LoginData:
        self.count += 1
        await self.gate.wait()
        return LoginData(token=f"token-{self.count}", reseller_id=99)


async def test_the_token_is_cached_until_it_expires() -> None:
    now = [0.0]
    auth = LoginAuth("u", "p", lifetime=100.0, clock=lambda: now[0])
    login = Logins()
    assert await auth.token(login) == "token-1"
    now[0] = 99.0
    assert await auth.token(login) == "token-1"
    now[0] = 100.0
    assert await auth.token(login) == "token-2"
    assert auth.reseller_id == 99


async def test_a_refresh_after_another_call_already_refreshed_reuses_its_token() -> None:
    auth = LoginAuth("u", "p")
    login = Logins()
    stale = await auth.token(login)
    fresh = await auth.refresh(stale, login)
    assert fresh == "token-2"
    assert await auth.refresh(stale, login) == "token-2"  # a late caller with the stale token
    assert login.count == 2


async def test_a_cancelled_waiter_does_not_cancel_the_login_of_the_others() -> None:
    auth = LoginAuth("u", "p")
    login = Logins()
    login.gate.clear()
    first = asyncio.ensure_future(auth.token(login))
    second = asyncio.ensure_future(auth.token(login))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    login.gate.set()
    assert await second == "token-1"
    assert first.cancelled()
    assert login.count == 1


async def test_a_static_token_cannot_be_refreshed() -> None:
    auth = TokenAuth("t")
    assert auth.can_refresh is False
    assert await auth.token(Logins()) == "t"
