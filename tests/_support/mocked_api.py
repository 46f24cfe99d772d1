"""Fixtures for the unit tests of the client: aioresponses with an ordered log of every
request, a sleep that records waits instead of waiting, and clients wired to both.

A plugin of ``tests/conftest.py``, so its fixtures reach every folder; a fixture of the same name
in a folder's conftest or in a test module wins (``tests/testing`` has an ``api`` of its own).
Helpers are reached through the ``api`` fixture (``api.ok``, ``api.error``, ``api.order``...);
the classes are imported for annotations only.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from aioresponses import aioresponses
from multidict import CIMultiDict

import openprovider_ssl as op

BASE = "https://api.test/v1beta"
TOKEN = "tok-3c8f5e0b-SECRET"
USERNAME = "reseller-jane"
PASSWORD = "pw-9d2a7b41-SECRET"
LOGIN_TOKEN = "tok-from-login-77aa-SECRET"
CSR = (
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "MIIBszCCARwCAQAwczELMAkGA1UEBhMCTkwxFjAUBgNVBAgMDU5vb3JkLUhvbGxh\n"
    "bmQ=\n"
    "-----END CERTIFICATE REQUEST-----\n"
)


@attrs.frozen
class Call:
    """One request as aioresponses saw it."""

    method: str
    url: str
    kwargs: dict[str, Any]

    @property
    def path(self) -> str:
        return self.url.removeprefix(BASE)

    @property
    def headers(self) -> CIMultiDict[str]:
        return CIMultiDict(self.kwargs.get("headers") or {})

    @property
    def body(self) -> bytes | None:
        data = self.kwargs.get("data")
        assert data is None or isinstance(data, bytes)
        return data

    @property
    def json(self) -> Any:
        assert self.body is not None, f"{self.method} {self.path} had no body"
        return json.loads(self.body)


class VirtualTime:
    """A clock that only moves when an injected sleep says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def clock(self) -> float:
        return self.now


class Sleeps:
    """An injectable sleep: records every wait, moves the virtual clock, yields to the loop."""

    def __init__(self, time: VirtualTime | None = None) -> None:
        self.waits: list[float] = []
        self.time = time

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.time is not None:
            self.time.now += seconds
        await asyncio.sleep(0)


class Api:
    """aioresponses, with helpers to answer like Openprovider and a log of calls in order."""

    base = BASE
    token = TOKEN
    username = USERNAME
    password = PASSWORD
    login_token = LOGIN_TOKEN
    csr = CSR

    def __init__(self, mocked: aioresponses) -> None:
        self.mocked = mocked
        self.calls: list[Call] = []

    # -- answers --------------------------------------------------------------------------

    def _add(self, method: str, path: str, *, repeat: bool | int = False, **kwargs: Any) -> None:
        url = path if path.startswith("http") else BASE + path

        def record(url: Any, **request: Any) -> None:
            self.calls.append(Call(method, str(url), request))

        self.mocked.add(url, method, repeat=repeat, callback=record, **kwargs)

    def ok(
        self,
        method: str,
        path: str,
        data: Any,
        *,
        warnings: list[dict[str, Any]] | None = None,
        maintenance: bool = False,
        repeat: bool | int = False,
    ) -> None:
        self._add(
            method,
            path,
            repeat=repeat,
            payload=self.envelope(data, warnings=warnings, maintenance=maintenance),
        )

    def error(
        self,
        method: str,
        path: str,
        code: int,
        *,
        status: int = 400,
        desc: str = "Error",
        data: Any = "",
        maintenance: bool = False,
        headers: Mapping[str, str] | None = None,
        repeat: bool | int = False,
    ) -> None:
        self._add(
            method,
            path,
            repeat=repeat,
            status=status,
            headers=dict(headers or {}),
            payload=self.envelope(data, code=code, desc=desc, maintenance=maintenance),
        )

    def raw(
        self,
        method: str,
        path: str,
        body: str | bytes,
        *,
        status: int = 200,
        content_type: str = "text/html",
        headers: Mapping[str, str] | None = None,
        repeat: bool | int = False,
    ) -> None:
        self._add(
            method,
            path,
            repeat=repeat,
            status=status,
            body=body,
            content_type=content_type,
            headers=dict(headers or {}),
        )

    def fail(
        self, method: str, path: str, exception: BaseException, *, repeat: bool | int = False
    ) -> None:
        self._add(method, path, repeat=repeat, exception=exception)

    def login(self, token: str = LOGIN_TOKEN, *, repeat: bool | int = True) -> None:
        self.ok("POST", "/auth/login", {"token": token, "reseller_id": 4242}, repeat=repeat)

    # -- what was sent --------------------------------------------------------------------

    def sent(self) -> list[str]:
        """``"METHOD /path"`` of every request, in order."""
        return [f"{c.method} {c.path}" for c in self.calls]

    def only(self) -> Call:
        (call,) = self.calls
        return call

    # -- bodies ---------------------------------------------------------------------------

    @staticmethod
    def envelope(
        data: Any = None,
        *,
        code: int = 0,
        desc: str = "",
        maintenance: bool = False,
        warnings: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        return {
            "code": code,
            "data": data,
            "desc": desc,
            "maintenance": maintenance,
            "warnings": warnings or [],
        }

    @staticmethod
    def when(days: float) -> datetime:
        """An aware UTC datetime ``days`` from now, to the second."""
        return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)

    @staticmethod
    def order(
        order_id: int = 31027,
        *,
        status: str = "ACT",
        expiration: datetime | None = None,
        period: int = 1,
    ) -> dict[str, Any]:
        """An order as the API answers it; by default ACT and expiring in 10 days."""
        expires = expiration if expiration is not None else Api.when(10)
        return {
            "id": order_id,
            "status": status,
            "common_name": "example.com",
            "period": period,
            "autorenew": "off",
            "expiration_date": expires.strftime("%Y-%m-%d %H:%M:%S"),
        }


@pytest.fixture
def api() -> Iterator[Api]:
    with aioresponses() as mocked:
        yield Api(mocked)


@pytest.fixture
def no_leaks(caplog: pytest.LogCaptureFixture) -> Iterator[list[warnings.WarningMessage]]:
    """Fail if an unclosed session, connector, transport or socket is reported in the test.

    Their ``__del__`` warns (a ResourceWarning) and tells the loop's exception handler, which
    logs "Unclosed ..." on the ``asyncio`` logger: both are collected here.
    """
    caplog.set_level(logging.ERROR, logger="asyncio")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    leaks += [r.getMessage() for r in caplog.records if "nclosed" in r.getMessage()]
    assert leaks == []


@pytest.fixture
def vtime() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def sleeps(vtime: VirtualTime) -> Sleeps:
    """The client's sleep: every wait it makes (retries, the maintenance pause, pacing,
    Retry-After holds, the read-back) goes through it."""
    return Sleeps(vtime)


@pytest.fixture
def policy() -> op.RetryPolicy:
    # random() == 0 makes every jittered wait exactly half its base: waits are predictable.
    return op.RetryPolicy(random=lambda: 0.0)


@pytest.fixture
def make_client(
    api: Api, policy: op.RetryPolicy, vtime: VirtualTime, sleeps: Sleeps
) -> Callable[..., op.Client]:
    """A client on the mocked API whose every wait is virtual; keyword arguments override
    (given ``limits=``, the client runs on their clock and sleep)."""

    def make(*args: Any, **kwargs: Any) -> op.Client:
        if not args and "username" not in kwargs and "token" not in kwargs:
            args = (TOKEN,)
        kwargs.setdefault("base_url", BASE)
        kwargs.setdefault("retry", policy)
        if "limits" not in kwargs:
            kwargs.setdefault("clock", vtime.clock)
            kwargs.setdefault("sleep", sleeps)
        return op.Client(*args, **kwargs)

    return make


@pytest.fixture
async def client(make_client: Callable[..., op.Client]) -> AsyncIterator[op.Client]:
    async with make_client() as client:
        yield client


@pytest.fixture
async def login_client(make_client: Callable[..., op.Client]) -> AsyncIterator[op.Client]:
    async with make_client(username=USERNAME, password=PASSWORD) as client:
        yield client
