"""Order ids, hostnames, emails, filters and tokens that try to escape the URL path or to add
a header never do: every request that leaves goes to one of the API's own paths, with the
client's own headers only, and with no line break in any header.

The fake records each request exactly as it arrived (raw path, raw header lines) before any
routing, so what is checked is what went over the wire.
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import openprovider_ssl as op
from openprovider_ssl.testing import FakeOpenprovider

pytestmark = [pytest.mark.fuzz, pytest.mark.integration]

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Every path the client may use, and nothing else.
API_PATH = re.compile(
    r"/v1beta/(?:auth/login"
    r"|ssl/(?:products(?:/[0-9]+)?"
    r"|orders(?:/[0-9]+(?:/(?:renew|reissue|cancel|otp-tokens|approver-email(?:/resend)?))?)?"
    r"|approver-emails|csr(?:/decode)?))\Z"
)
CLIENT_HEADERS = frozenset(
    {
        "host",
        "user-agent",
        "accept",
        "accept-encoding",
        "authorization",
        "content-type",
        "content-length",
    }
)
QUERY_KEYS = re.compile(
    r"limit|offset|status|common_name_pattern|contact_handle|show_expiring|domain|product_id"
    r"|with_price|with_supported_software|with_description|order_by\.[a-z_]+\Z"
)


class Sneaky(int):
    """An int whose text is a path."""

    def __str__(self) -> str:
        return "1/../../auth/login?x=1#"

    __repr__ = __str__


class SneakyEnum(enum.IntEnum):
    ORDER = 100_001

    def __str__(self) -> str:
        return "100001/cancel"

    def __format__(self, spec: str) -> str:
        return "100001/cancel"


class Liar(str):
    """A str whose ``len``, ``==`` and ``str()`` lie to the checks."""

    __slots__ = ()

    def __len__(self) -> int:
        return 5

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return "example.com"


@attrs.frozen
class Seen:
    method: str
    raw_path: str
    raw_headers: tuple[tuple[bytes, bytes], ...]

    @property
    def path(self) -> str:
        return self.raw_path.partition("?")[0]

    @property
    def query(self) -> str:
        return self.raw_path.partition("?")[2]


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Seen] = []

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.seen.append(Seen(request.method, request.raw_path, tuple(request.raw_headers)))
        return await handler(request)


def assert_clean(seen: list[Seen]) -> None:
    """Every request went to an API path with the client's own headers and query keys."""
    for request in seen:
        assert API_PATH.match(request.path), request
        path = request.path.lower()
        assert ".." not in path and "%2e" not in path and "%2f" not in path, request
        assert "#" not in request.raw_path, request
        names = {name.decode("latin-1").lower() for name, _ in request.raw_headers}
        assert names <= CLIENT_HEADERS, request
        assert len(request.raw_headers) == len(names), f"a header came twice: {request}"
        for _, header in request.raw_headers:
            assert b"\r" not in header and b"\n" not in header and b"\x00" not in header, request
        for pair in filter(None, request.query.split("&")):
            key, _, value = pair.partition("=")
            assert QUERY_KEYS.match(key), request
            assert all(c not in value for c in "\r\n#"), request


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeOpenprovider, Recorder]]:
    recorder = Recorder()
    fake = FakeOpenprovider(orders=30, seed=5)
    fake.app.middlewares.append(recorder.middleware)
    async with fake:
        yield fake, recorder


@pytest.fixture
async def client(fake: tuple[FakeOpenprovider, Recorder]) -> AsyncIterator[op.Client]:
    server, _ = fake
    policy = op.RetryPolicy.never()
    async with op.Client(server.token, base_url=server.url, retry=policy) as client:
        yield client


ESCAPES = (
    "/",
    "/../",
    "..",
    "%2e%2e%2f",
    "%2F",
    "?",
    "#",
    "&status=CAN",
    "\r\n",
    "\r\nX-Injected: 1",
    "\n",
    "\x00",
    " ",
    "\t",
    "\\",
    "@",
    ":",
    ";",
    "\u2028",
    "\u0085",
    "\uff0f",
)
escapes = st.sampled_from(ESCAPES)
hosts = st.sampled_from(["example.com", "www.example.com", "*.example.nl", "a-b.example.eu"])
#: A valid value with an escape spliced in somewhere, or text made of escapes and letters.
spliced = st.one_of(
    st.tuples(hosts, escapes, st.integers(0, 20)).map(lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]),
    st.lists(st.one_of(escapes, st.sampled_from(["a", ".", "com", "-", "1"])), max_size=8).map(
        "".join
    ),
    st.text(max_size=20),
    st.builds(Liar, st.sampled_from(["a/../b.com", "x\r\ny: z", "ACT&status=CAN"])),
)
order_ids = st.one_of(
    st.sampled_from([100_001, 100_002, 100_003]),
    st.builds(Sneaky, st.sampled_from([100_001, 5])),
    st.just(SneakyEnum.ORDER),
    st.tuples(st.sampled_from(["100001", "1"]), escapes).map("".join),
    st.sampled_from([1.5, -1, 0, 2**31, 2**63, True]),
)


async def attempt(call: Callable[[], Awaitable[Any]], recorder: Recorder) -> None:
    """Run one call: refused before sending, or sent cleanly (the fake may refuse it)."""
    before = len(recorder.seen)
    try:
        async with asyncio.timeout(10):
            await call()
    except op.ValidationError:
        assert len(recorder.seen) == before, "refused, yet something was sent"
    except op.APIError:
        pass  # the fake's answer to a clean request (an unknown order, a wrong status)
    assert_clean(recorder.seen[before:])


async def first(listing: op.Listing[Any]) -> None:
    async for _ in listing:
        break


@FUZZ
@given(order_id=order_ids)
async def test_order_ids_never_leave_the_order_path(
    order_id: Any, fake: tuple[FakeOpenprovider, Recorder], client: op.Client
) -> None:
    _, recorder = fake
    for call in (
        client.orders.get,
        client.orders.renew,
        client.orders.cancel,
        client.orders.create_otp_token,
        client.orders.resend_approver_email,
    ):
        await attempt(lambda call=call: call(order_id), recorder)  # type: ignore[misc]
    await attempt(lambda: client.orders.update(order_id, autorenew="on"), recorder)
    await attempt(
        lambda: client.orders.update_approver_email(order_id, "admin@example.com"), recorder
    )
    await attempt(lambda: client.products.get(order_id), recorder)


@FUZZ
@given(value=spliced, where=st.sampled_from(["host", "email", "pattern", "status", "handle"]))
async def test_hostnames_emails_and_filters_never_escape(
    value: Any, where: str, fake: tuple[FakeOpenprovider, Recorder], client: op.Client
) -> None:
    _, recorder = fake
    orders = client.orders
    calls: list[Callable[[], Awaitable[Any]]]
    if where == "host":
        calls = [
            lambda: client.approver_emails.list(value),
            lambda: client.csr.create(value),
            lambda: orders.update(100_001, host_names=["example.com", value]),
            lambda: orders.update(
                100_001, domain_validation_methods=[{"host_name": value, "method": "dns"}]
            ),
        ]
    elif where == "email":
        email = value if "@" in str.__str__(value) else f"admin@{value}"
        calls = [
            lambda: orders.update_approver_email(100_001, email),
            lambda: orders.update(100_001, approver_email=email),
            lambda: client.csr.create("example.com", email=email),
        ]
    elif where == "pattern":
        calls = [
            lambda: first(orders.list(common_name_pattern=value)),
            lambda: client.csr.create("example.com", organization=value, locality=value),
        ]
    elif where == "status":
        calls = [
            lambda: first(orders.list(status=value)),
            lambda: orders.page(status=["ACT", value]),
            lambda: orders.page(order_by={value: "asc"}),
            lambda: orders.page(order_by=("status", value)),
        ]
    else:
        calls = [
            lambda: first(orders.list(contact_handle=value)),
            lambda: orders.update(100_001, organization_handle=value),
            lambda: orders.update(100_001, software_id=value, autorenew=value),
        ]
    for call in calls:
        await attempt(call, recorder)


@pytest.mark.parametrize(
    "token",
    [
        "tok\r\nX-Injected: 1",
        "tok\nX-Injected: 1",
        "tok\rX",
        "tok\x00",
        "tok en",
        "tok\u2028x",
        "t\u00f6k",
        "",
        " \r\n",
        Liar("tok\r\nX-Injected: 1"),
        b"tok",
        12345,
    ],
)
def test_a_token_that_would_add_a_header_is_refused_before_anything_is_sent(token: Any) -> None:
    with pytest.raises(op.ValidationError) as caught:
        op.Client(token, base_url="http://127.0.0.1:9/v1beta")
    message = str(caught.value)
    assert "X-Injected" not in message
    if isinstance(token, str) and token.strip():
        assert str.__str__(token) not in message


async def test_a_token_pasted_with_a_newline_is_sent_without_it(
    fake: tuple[FakeOpenprovider, Recorder],
) -> None:
    server, recorder = fake
    async with op.Client(f" {server.token}\r\n", base_url=server.url) as client:
        await client.orders.get(100_001)
    (request,) = recorder.seen
    assert (b"Authorization", f"Bearer {server.token}".encode()) in request.raw_headers
    assert_clean(recorder.seen)


@pytest.mark.parametrize("token", ["tok\r\nX-Injected: 1", "", "tok\x00", 12345, None])
async def test_a_login_answer_with_a_bad_token_is_a_response_error_and_sends_nothing_with_it(
    token: object,
) -> None:
    @web.middleware
    async def bad_login(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.endswith("/auth/login"):
            return web.json_response(
                {"code": 0, "data": {"token": token, "reseller_id": 1}, "desc": ""}
            )
        return await handler(request)

    recorder = Recorder()
    server = FakeOpenprovider(orders=3, seed=5)
    server.app.middlewares.extend([recorder.middleware, bad_login])
    async with server:
        client = op.Client(
            username=server.username,
            password=server.password,
            base_url=server.url,
            retry=op.RetryPolicy.never(),
        )
        async with client:
            with pytest.raises(op.OpenproviderError) as caught:
                await client.orders.get(100_001)
    assert isinstance(caught.value, op.ResponseError | op.AuthenticationError), caught.value
    if isinstance(token, str) and token:
        assert token not in str(caught.value)
    assert_clean(recorder.seen)
