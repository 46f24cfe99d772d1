"""The token and the password never show: not in any log record (all levels, DEBUG included),
not in any error or its traceback, not in any repr; the login's body and answer included."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

import openprovider_ssl as op
from openprovider_ssl._http.auth import LoginAuth, TokenAuth
from openprovider_ssl.models import LoginData

if TYPE_CHECKING:
    from tests._support.mocked_api import Api

ORDER = 31027
GET = f"/ssl/orders/{ORDER}"
LOGIN = "/auth/login"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)  # every logger, ours and aiohttp's
    yield caplog


def secrets(api: Api) -> list[str]:
    return [api.token, api.password, api.login_token]


def shown(error: BaseException) -> str:
    """Everything a user could see of an error: its text, repr, and the whole traceback."""
    return "\n".join(
        [str(error), repr(error), "".join(traceback.format_exception(error))]
        + [str(a) for a in error.args]
    )


def assert_hidden(api: Api, logs: pytest.LogCaptureFixture, *errors: BaseException) -> None:
    texts = [record.getMessage() for record in logs.records] + [logs.text]
    texts += [shown(error) for error in errors]
    for secret in secrets(api):
        for text in texts:
            assert secret not in text


async def run(call: Any) -> BaseException | None:
    try:
        await call
    except Exception as error:
        return error
    return None


# --- static token ---------------------------------------------------------------------------


async def test_a_successful_call_with_retries_logs_no_token(
    client: op.Client, api: Api, logs: pytest.LogCaptureFixture
) -> None:
    api.error("GET", GET, 1, status=502, desc="Bad gateway")
    api.ok("GET", GET, api.order(ORDER), warnings=[{"code": 1, "desc": "note"}])
    await client.orders.get(ORDER)
    assert any(r.levelno == logging.DEBUG for r in logs.records)
    assert_hidden(api, logs)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(
            lambda api: api.error(
                "GET", GET, 196, status=401, desc="Authentication/Authorization Failed"
            ),
            id="196",
        ),
        pytest.param(
            lambda api: api.error("GET", GET, 10005, status=403, desc="Access denied"), id="10005"
        ),
        pytest.param(
            lambda api: api.raw("GET", GET, "<html>oops</html>", status=500, repeat=True),
            id="garbage",
        ),
        pytest.param(
            lambda api: api.fail("GET", GET, aiohttp.ClientOSError(104, "reset"), repeat=True),
            id="transport",
        ),
        pytest.param(lambda api: api.fail("GET", GET, TimeoutError(), repeat=True), id="timeout"),
    ],
)
async def test_failed_calls_show_no_token(
    client: op.Client, api: Api, logs: pytest.LogCaptureFixture, answer: Any
) -> None:
    answer(api)
    error = await run(client.orders.get(ORDER))
    assert isinstance(error, op.OpenproviderError)
    assert_hidden(api, logs, error)


# --- login ----------------------------------------------------------------------------------


async def test_a_login_and_the_calls_after_it_log_no_secret(
    login_client: op.Client, api: Api, logs: pytest.LogCaptureFixture
) -> None:
    api.login()
    api.error("GET", GET, 196, status=401, desc="Authentication/Authorization Failed")
    api.ok("GET", GET, api.order(ORDER))
    await login_client.orders.get(ORDER)
    assert api.sent().count(f"POST {LOGIN}") == 2
    assert_hidden(api, logs)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(
            # A token with a reseller id of the wrong type: the whole answer is unusable.
            lambda api: api.ok(
                "POST", LOGIN, {"token": api.login_token, "reseller_id": "x"}, repeat=True
            ),
            id="success-with-wrong-types",
        ),
        pytest.param(
            lambda api: api.raw(
                "POST",
                LOGIN,
                '{"code": 0, "data": {"token": "' + api.login_token,
                status=200,
                repeat=True,
            ),
            id="truncated-success",
        ),
        pytest.param(
            lambda api: api.raw(
                "POST",
                LOGIN,
                "<html>" + api.login_token + " " + api.password + "</html>",
                status=502,
                repeat=True,
            ),
            id="html-echoing-everything",
        ),
        pytest.param(
            lambda api: api.error(
                "POST", LOGIN, 399, desc="Unknown error", data=f"bad password {api.password!r}"
            ),
            id="error-echoing-the-password",
        ),
        pytest.param(
            lambda api: api.error(
                "POST",
                LOGIN,
                196,
                status=401,
                desc="Authentication/Authorization Failed",
                data={"username": api.username, "password": api.password},
            ),
            id="196-echoing-the-body",
        ),
        pytest.param(
            lambda api: api.error(
                "POST",
                LOGIN,
                50,
                status=429,
                desc="Calls limit has been reached",
                data=api.password,
                headers={"Retry-After": "60"},
            ),
            id="50-echoing-the-password",
        ),
        pytest.param(
            lambda api: api._add(
                "POST",
                LOGIN,
                repeat=True,
                payload={
                    "code": 0,
                    "data": {"token": api.login_token},
                    "warnings": [{"code": 1, "desc": api.password}],
                },
                status=500,
            ),
            id="500-with-warnings",
        ),
        pytest.param(
            lambda api: api.fail("POST", LOGIN, TimeoutError(), repeat=True), id="timeout"
        ),
    ],
)
async def test_a_failed_login_shows_neither_its_body_nor_its_answer(
    login_client: op.Client, api: Api, logs: pytest.LogCaptureFixture, answer: Any
) -> None:
    answer(api)
    error = await run(login_client.orders.get(ORDER))
    assert isinstance(error, op.OpenproviderError)
    assert_hidden(api, logs, error)
    assert not any(c.path == GET for c in api.calls)  # no call without a token


async def test_a_login_answer_with_warnings_logs_none_of_them(
    login_client: op.Client, api: Api, logs: pytest.LogCaptureFixture
) -> None:
    api._add(
        "POST",
        LOGIN,
        payload={
            "code": 0,
            "data": {"token": api.login_token, "reseller_id": 1},
            "warnings": [{"code": 1, "desc": f"token {api.login_token} expires soon"}],
        },
    )
    api.ok("GET", GET, api.order(ORDER))
    await login_client.orders.get(ORDER)
    assert_hidden(api, logs)


async def test_the_redacted_login_error_keeps_what_is_useful(
    login_client: op.Client, api: Api
) -> None:
    api.error(
        "POST",
        LOGIN,
        196,
        status=401,
        desc="Authentication/Authorization Failed",
        data=api.password,
    )
    error = await run(login_client.orders.get(ORDER))
    assert isinstance(error, op.AuthenticationError)
    assert (error.code, error.desc, error.http_status) == (
        196,
        "Authentication/Authorization Failed",
        401,
    )
    assert error.data is None
    assert error.__context__ is None and error.__cause__ is None


# --- reprs ------------------------------------------------------------------------------------


def test_reprs_hide_the_secrets(api: Api, make_client: Callable[..., op.Client]) -> None:
    texts = [
        repr(make_client()),
        repr(make_client(username=api.username, password=api.password)),
        repr(TokenAuth(api.token)),
        repr(LoginAuth(api.username, api.password)),
        repr(LoginData(token=api.login_token, reseller_id=1)),
        repr(op.RetryPolicy()),
    ]
    for text in texts:
        for secret in secrets(api):
            assert secret not in text
