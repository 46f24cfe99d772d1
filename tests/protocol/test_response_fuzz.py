"""Hypothesis drives the server's side: arbitrary statuses, headers and bodies, over a real
loopback socket (an aiohttp.web server that answers whatever was drawn), and raw HTTP bytes
that no well-behaved server would send.

Whatever comes back, a call ends within its timeout with a result or one of the typed errors
of ``openprovider_ssl.errors``, and the client never waits longer than its caps: no retry
wait above ``RetryPolicy.max_wait`` (a ``Retry-After`` of a year is raised, not waited for),
no shared pause above the limiter's own cap. Waits are virtual (recorded, not slept), so a
``Retry-After`` of a year costs nothing to test.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import string
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import openprovider_ssl as op
from openprovider_ssl._http.transport import DEFAULT_MAX_RESPONSE_BYTES
from openprovider_ssl.limits._front import Limits
from openprovider_ssl.limits._rules import MAX_SHARED_BLOCK

pytestmark = pytest.mark.fuzz

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MAX_WAIT = 8.0
ATTEMPTS = 3
TIMEOUT = 0.5
#: Real seconds one call may take, whatever the server does: every request it may make (a
#: login, the call, a fresh login and the call again; or a renew and its read-backs, each
#: tried ``ATTEMPTS`` times) timing out, and some slack for a loaded machine.
CALL_BUDGET = 4 * ATTEMPTS * TIMEOUT + 4.0
TYPED = op.OpenproviderError


class VirtualTime:
    """The client's one clock and sleep (retries and limits alike); sleeping moves it and is
    recorded."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


Answer = tuple[int, dict[str, str], bytes]


class Scripted:
    """Answers every request with the next scripted answer; the last one repeats."""

    def __init__(self) -> None:
        self.answers: list[Answer] = [(200, {}, b"{}")]
        self.requests = 0
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1beta"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        await request.read()
        status, headers, body = self.answers[0] if len(self.answers) == 1 else self.answers.pop(0)
        return web.Response(status=status, headers=headers, body=body)


@pytest.fixture
async def server() -> AsyncIterator[Scripted]:
    scripted = Scripted()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", scripted.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    scripted.port = runner.addresses[0][1]
    yield scripted
    await runner.cleanup()


@pytest.fixture
def vtime() -> VirtualTime:
    return VirtualTime()


def make_limits(vtime: VirtualTime) -> Limits:
    return Limits(
        clock=vtime.clock,
        sleep=vtime.sleep,
        maintenance_probe_interval=5.0,
        retry_budget=None,
    )


def make_client(
    url: str, vtime: VirtualTime, *, timeout: float = TIMEOUT, **credentials: Any
) -> op.Client:
    policy = op.RetryPolicy(
        attempts=ATTEMPTS,
        max_wait=MAX_WAIT,
        maintenance_wait=2.0,
        maintenance_timeout=20.0,
        readback_delay=1.0,
    )
    limits = make_limits(vtime)
    if not credentials:
        credentials = {"token": "tok-fuzz"}
    return op.Client(base_url=url, retry=policy, limits=limits, timeout=timeout, **credentials)


@pytest.fixture
async def client(server: Scripted, vtime: VirtualTime) -> AsyncIterator[op.Client]:
    async with make_client(server.url, vtime) as client:
        yield client


# --- what a server may send ------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "0", "1", "true", "ACT", "2026-01-01 00:00:00", "0000-00-00 00:00:00"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
dates = st.one_of(
    st.sampled_from(
        [
            "2026-12-01 10:00:00",
            "2026-12-01T10:00:00Z",
            "2026-12-01T10:00:00+25:00",
            "2026-13-45 99:99:99",
            "9999-12-31 23:59:59",
            "0001-01-01 00:00:00",
            "0000-00-00 00:00:00",
            "",
        ]
    ),
    json_values,
)
order_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.integers(), st.text(max_size=12), json_values),
        "status": st.one_of(st.sampled_from(["ACT", "REQ", "EXP", "???", ""]), json_values),
        "expiration_date": dates,
        "period": st.one_of(st.integers(-2, 5), json_values),
        "common_name": json_values,
        "host_names": json_values,
        "token": st.one_of(st.text(max_size=20), json_values),
        "reseller_id": json_values,
        "results": st.one_of(st.lists(json_values, max_size=3), json_values),
        "total": st.one_of(st.integers(), json_values),
    },
)
codes = st.one_of(
    st.sampled_from([0, 0, 0, 1, 50, 196, 399, 3006, 4005, 4007, 10001, 10004, 10005, 10009]),
    st.integers(),
    json_values,
)
warnings = st.one_of(
    st.lists(
        st.fixed_dictionaries(
            {}, optional={"code": json_values, "desc": json_values, "data": json_values}
        ),
        max_size=3,
    ),
    json_values,
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "code": codes,
        "data": st.one_of(order_like, json_values),
        "desc": json_values,
        "maintenance": st.one_of(st.booleans(), json_values),
        "warnings": warnings,
    },
)


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()


bodies = st.one_of(
    envelopes.map(_dump),
    envelopes.map(_dump).flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n])),
    json_values.map(_dump),
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"",
            b"\xff\xfe\x00{",
            b'{"code": 0, "desc": "\xff\xfe", "data": {"id": 1}}',
            b"\xef\xbb\xbf{}",
            b'{"code": 1' + b"0" * 5000 + b"}",
            b'{"code": 1e999}',
            b'{"code": NaN, "data": Infinity}',
            b'{"code": 0, "code": 4005, "maintenance": true}',
            b"[" * 5_000 + b"]" * 5_000,
            b'{"code": 0, "data": ' + b"[" * 3000 + b"]" * 3000 + b"}",
            b"<html><body>502 Bad Gateway</body></html>",
            b"null",
            b'"just a string"',
        ]
    ),
)
retry_afters = st.one_of(
    st.sampled_from(
        [
            "-1",
            "0",
            "0.001",
            "7.9",
            "8.1",
            "31536000",
            "1e308",
            "1e999",
            "inf",
            "-inf",
            "nan",
            "NaN",
            "abc",
            "",
            "\u0661\u0662",
            "9" * 400,
            "Wed, 21 Oct 2099 07:28:00 GMT",
            "Wed, 21 Oct 1999 07:28:00 GMT",
            "Mon, 99 Foo 2024 99:99:99 GMT",
            "Sun, 06 Nov 1994 08:49:37",
        ]
    ),
    st.text(alphabet=string.printable.strip(), max_size=30),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Retry-After": retry_afters,
        "Content-Type": st.sampled_from(
            ["application/json", "text/html", "application/json; charset=latin-1", "x/y"]
        ),
        "Content-Encoding": st.sampled_from(["gzip", "deflate", "identity", "x-bogus"]),
        "X-Noise": st.text(alphabet=string.ascii_letters, max_size=50),
    },
)
statuses = st.one_of(
    st.sampled_from([200, 200, 200, 201, 204, 301, 302, 304, 307, 400, 401, 403, 404, 408, 429]),
    st.sampled_from([500, 502, 503, 504]),
    st.integers(200, 599),
)
#: Data that fits every result type at once (unknown keys are ignored), some of it spoiled.
good_data = st.fixed_dictionaries(
    {
        "id": st.one_of(st.integers(1, 2**31 - 1), json_values),
        "status": st.sampled_from(["ACT", "REQ", "EXP", "NEW?"]),
        "expiration_date": dates,
        "period": st.integers(1, 3),
        "token": st.one_of(st.sampled_from(["tok-abc", "", "t\r\nX-Injected: 1"]), json_values),
        "reseller_id": st.integers(0, 10**6),
        "results": st.lists(
            st.fixed_dictionaries({"id": st.integers(1, 10**6), "status": st.just("ACT")}),
            max_size=3,
        ),
        "total": st.integers(-1, 10**9),
    },
    optional={"uri": st.text(max_size=20), "csr": st.text(max_size=20), "key": st.text()},
)
plausible_bodies = st.fixed_dictionaries(
    {
        "code": st.sampled_from([0, 0, 0, 0, 196, 399, 3006, 4005, 4007, 10001, 10004, 10005]),
        "desc": st.text(max_size=30),
        "data": st.one_of(good_data, good_data, json_values),
        "maintenance": st.booleans(),
        "warnings": st.lists(
            st.fixed_dictionaries({"code": st.integers(0, 99), "desc": st.text(max_size=10)}),
            max_size=2,
        ),
    }
).map(_dump)
plausible_answers = st.tuples(
    st.sampled_from([200, 200, 200, 200, 400, 401, 403, 404, 429, 500, 502, 503]),
    st.fixed_dictionaries({}, optional={"Retry-After": retry_afters}),
    plausible_bodies,
)
answers = st.one_of(plausible_answers, st.tuples(statuses, headers, bodies))

CALLS: dict[str, Callable[[op.Client, int], Awaitable[Any]]] = {
    "get": lambda c, i: c.orders.get(i),
    "renew": lambda c, i: c.orders.renew(i),
    "update": lambda c, i: c.orders.update(i, autorenew="on"),
    "product": lambda c, i: c.products.get(i),
    "approver_emails": lambda c, i: c.approver_emails.list("example.com"),
    "csr": lambda c, i: c.csr.create("example.com"),
    "otp": lambda c, i: c.orders.create_otp_token(i),
}


async def consume_listing(client: op.Client) -> None:
    seen = 0
    async for _ in client.orders.list(page_size=2):
        seen += 1
        if seen >= 5:
            break


async def run_one(call: Awaitable[Any]) -> BaseException | None:
    """Run a call within the budget; return its error, if it failed."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(CALL_BUDGET):
            await call
    except TYPED as error:
        event(type(error).__name__)
        return error
    finally:
        assert time.monotonic() - started < CALL_BUDGET
    event("result")
    return None


def assert_waits_within_caps(vtime: VirtualTime) -> None:
    cap = max(MAX_WAIT, MAX_SHARED_BLOCK) + 1e-6
    assert all(0 <= w <= cap for w in vtime.waits), vtime.waits


# --- the properties --------------------------------------------------------------------------


@FUZZ
@given(
    script=st.lists(answers, min_size=1, max_size=3),
    call=st.sampled_from([*CALLS, "list"]),
    order_id=st.integers(1, 2**31 - 1),
)
async def test_any_answer_gives_a_result_or_a_typed_error_within_the_caps(
    script: list[Answer],
    call: str,
    order_id: int,
    server: Scripted,
    client: op.Client,
    vtime: VirtualTime,
) -> None:
    server.answers = list(script)
    # A fresh limiter: after one "access denied" the client rightly refuses every call.
    client.limits = make_limits(vtime)
    if call == "list":
        await run_one(consume_listing(client))
    else:
        await run_one(CALLS[call](client, order_id))
    assert_waits_within_caps(vtime)


@FUZZ
@given(login=answers, then=answers)
async def test_any_login_answer_gives_a_typed_error_or_a_usable_token(
    login: Answer, then: Answer, server: Scripted, vtime: VirtualTime
) -> None:
    server.answers = [login, then]
    password = "pw-fuzz-SECRET"
    async with make_client(server.url, vtime, username="jane", password=password) as client:
        error = await run_one(client.orders.get(100_001))
    assert_waits_within_caps(vtime)
    if error is not None:
        assert password not in str(error)


@pytest.mark.parametrize(
    "retry_after", ["31536000", "1e308", "inf", "Wed, 21 Oct 2099 07:28:00 GMT"]
)
async def test_a_retry_after_beyond_the_cap_is_raised_not_waited_for(
    retry_after: str, server: Scripted, client: op.Client, vtime: VirtualTime
) -> None:
    body = _dump({"code": 4007, "desc": "slow down", "data": "", "maintenance": False})
    server.answers = [(429, {"Retry-After": retry_after}, body)]
    with pytest.raises(op.RateLimitError) as caught:
        await client.orders.get(100_001)
    assert caught.value.retry_after is not None and caught.value.retry_after > MAX_WAIT
    assert vtime.waits == []
    assert server.requests == 1
    # The next call does not sleep out the server's block either (it is longer than the
    # limiter's max_hold): it fails at once, with nothing sent.
    server.answers = [(200, {}, _dump({"code": 0, "data": {"id": 7}, "desc": ""}))]
    with pytest.raises(op.RateLimitError):
        await client.orders.update(7, autorenew="on")
    assert server.requests == 1
    assert_waits_within_caps(vtime)


@pytest.mark.parametrize("retry_after", ["-1", "-inf", "nan", "garbage"])
async def test_a_negative_or_unreadable_retry_after_is_not_a_negative_wait(
    retry_after: str, server: Scripted, client: op.Client, vtime: VirtualTime
) -> None:
    body = _dump({"code": 4007, "desc": "slow down", "data": "", "maintenance": False})
    ok = _dump({"code": 0, "data": {"id": 7}, "desc": ""})
    server.answers = [(429, {"Retry-After": retry_after}, body), (200, {}, ok)]
    assert (await client.orders.update(7, autorenew="on")).id == 7
    assert vtime.waits and all(0 <= w <= MAX_WAIT for w in vtime.waits)


# --- bodies above the size cap ---------------------------------------------------------------


class Firehose:
    """Streams a JSON-looking body without end, counting what it managed to write."""

    def __init__(self, *, announce: int | None = None, gzip_bomb: bool = False) -> None:
        self.written = 0
        self.announce = announce
        self.gzip_bomb = gzip_bomb

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.gzip_bomb:
            # 64 MiB of spaces in about 64 kB: Content-Length says 64 kB.
            body = gzip.compress(b'{"code":0,"data":' + b" " * (64 << 20), compresslevel=9)
            self.written = len(body)
            return web.Response(
                body=body,
                headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
            )
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if self.announce is not None:
            response.content_length = self.announce
        await response.prepare(request)
        chunk = b" " * (1 << 20)
        await response.write(b'{"code":0,"data":')
        try:
            while self.written < 20 * DEFAULT_MAX_RESPONSE_BYTES:
                await response.write(chunk)
                self.written += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return response


@pytest.mark.parametrize(
    "firehose",
    [Firehose(), Firehose(announce=10 * DEFAULT_MAX_RESPONSE_BYTES), Firehose(gzip_bomb=True)],
    ids=["endless-chunked", "announced-too-big", "gzip-bomb"],
)
async def test_a_body_above_the_cap_is_a_response_error_without_reading_it_all(
    firehose: Firehose,
) -> None:
    app = web.Application()
    app.router.add_get("/v1beta/ssl/orders/{id}", firehose.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1beta"
    try:
        async with op.Client("tok", base_url=url, retry=op.RetryPolicy.never()) as client:
            started = time.monotonic()
            with pytest.raises(op.ResponseError, match=r"larger than the \d+-byte cap"):
                await client.orders.get(1)
            elapsed = time.monotonic() - started
    finally:
        await runner.cleanup()
    # The client stopped at the cap: the server could not push much more than that (socket
    # buffers aside) into the connection before it was closed.
    assert firehose.written < 3 * DEFAULT_MAX_RESPONSE_BYTES, firehose.written
    assert elapsed < 10


# --- raw bytes: what no HTTP server should send ------------------------------------------------


class RawServer:
    """Reads one request per connection, then writes the scripted bytes and closes."""

    def __init__(self) -> None:
        self.reply = b""
        self.hang = False
        self.port = 0
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(self.reply)
            await writer.drain()
            if self.hang:
                await asyncio.sleep(30)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def raw() -> AsyncIterator[RawServer]:
    raw = RawServer()
    server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
    raw.port = server.sockets[0].getsockname()[1]
    yield raw
    server.close()
    await server.wait_closed()


STATUS_LINES = st.sampled_from(
    [
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 503 Service Unavailable\r\n",
        b"HTTP/1.0 200\r\n",
        b"HTTP/1.1 99999 What\r\n",
        b"HTTP/2 200 OK\r\n",
        b"ICY 200 OK\r\n",
        b"",
    ]
)
HEADER_LINES = st.lists(
    st.sampled_from(
        [
            b"Content-Length: 12\r\n",
            b"Content-Length: -5\r\n",
            b"Content-Length: 99999999999999999999\r\n",
            b"Content-Length: 5\r\nContent-Length: 6\r\n",
            b"Transfer-Encoding: chunked\r\n",
            b"Transfer-Encoding: gzip, chunked\r\n",
            b"Content-Encoding: gzip\r\n",
            b"Retry-After: 31536000\r\n",
            b"Content-Type: application/json\r\n",
            b"X-Long: " + b"a" * 9000 + b"\r\n",
            b"Bad Header\r\n",
            b" folded: continuation\r\n",
            b"X-Nul: a\x00b\r\n",
        ]
    ),
    max_size=4,
)


@settings(FUZZ, max_examples=120)
@given(
    status=STATUS_LINES,
    header_lines=HEADER_LINES,
    body=st.one_of(bodies, st.binary(max_size=100)),
    end=st.sampled_from([b"\r\n", b"\n", b""]),
)
async def test_malformed_http_gives_a_typed_error(
    status: bytes,
    header_lines: list[bytes],
    body: bytes,
    end: bytes,
    raw: RawServer,
    vtime: VirtualTime,
) -> None:
    raw.reply = status + b"".join(header_lines) + end + body
    async with make_client(f"http://127.0.0.1:{raw.port}/v1beta", vtime) as client:
        await run_one(client.orders.update(100_001, autorenew="on"))
    assert_waits_within_caps(vtime)


async def test_a_server_that_never_finishes_its_answer_is_cut_off_by_the_timeout(
    raw: RawServer, vtime: VirtualTime
) -> None:
    raw.reply = b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"code":0'
    raw.hang = True
    started = time.monotonic()
    url = f"http://127.0.0.1:{raw.port}/v1beta"
    async with make_client(url, vtime, timeout=0.3) as client:
        with pytest.raises(op.OutcomeUnknownError) as caught:
            await client.orders.renew(100_001)
    assert isinstance(caught.value.cause, op.TransportError) and caught.value.cause.sent
    # One renew, never sent again, then a read-back tried ATTEMPTS times: each times out.
    assert raw.connections <= 1 + ATTEMPTS
    assert time.monotonic() - started < (1 + ATTEMPTS) * 0.3 + 2
