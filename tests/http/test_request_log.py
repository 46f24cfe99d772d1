"""One DEBUG line per request once it is answered: operation, method, path (never the query
nor the body), the HTTP status or the error, and the time in ms."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import aiohttp
import pytest

import openprovider_ssl as op

if TYPE_CHECKING:
    from tests._support.mocked_api import Api

LINE = re.compile(r"^(\w+) (GET|POST|PUT) (\S+) -> (.+) in (\d+\.\d) ms$")


def request_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, ...]]:
    found = []
    for record in caplog.records:
        match = LINE.match(record.getMessage())
        if match and record.levelno == logging.DEBUG:
            found.append(match.groups()[:4])
    return found


async def test_an_answered_request_is_logged_with_its_status(
    api: Api, client: op.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="openprovider_ssl")
    api.ok("GET", "/ssl/orders/31027", api.order())
    await client.orders.get(31027)
    assert request_lines(caplog) == [("GetOrder", "GET", "/ssl/orders/31027", "200")]


async def test_a_refused_request_shows_its_status_and_error(
    api: Api, client: op.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="openprovider_ssl")
    api.error("GET", "/ssl/orders/31027", 10001, status=404, desc="Order not found")
    with pytest.raises(op.APIError):
        await client.orders.get(31027)
    assert request_lines(caplog) == [("GetOrder", "GET", "/ssl/orders/31027", "404 APIError")]


async def test_a_network_failure_shows_the_kind_of_error(
    api: Api, make_client: Callable[..., op.Client], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="openprovider_ssl")
    api.fail("GET", "/ssl/orders/31027", aiohttp.ServerDisconnectedError())
    async with make_client(retry=op.RetryPolicy.never()) as client:
        with pytest.raises(op.TransportError):
            await client.orders.get(31027)
    assert request_lines(caplog) == [("GetOrder", "GET", "/ssl/orders/31027", "TransportError")]


async def test_the_query_and_the_secrets_are_not_logged(
    api: Api, make_client: Callable[..., op.Client], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="openprovider_ssl")
    api.login()
    api.mocked.get(
        re.compile(r"^https://api\.test/v1beta/ssl/orders\?"),
        payload=api.envelope({"results": [], "total": 0}),
    )
    async with make_client(username=api.username, password=api.password) as client:
        await client.orders.page(common_name_pattern="*.secret-customer.example")
    lines = request_lines(caplog)
    assert ("Login", "POST", "/auth/login", "200") in lines
    assert ("ListOrders", "GET", "/ssl/orders", "200") in lines
    assert "secret-customer" not in caplog.text
    for secret in (api.password, api.login_token):
        assert secret not in caplog.text


async def test_nothing_is_measured_above_debug(
    api: Api, client: op.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openprovider_ssl")
    api.ok("GET", "/ssl/orders/31027", api.order())
    await client.orders.get(31027)
    assert request_lines(caplog) == []
