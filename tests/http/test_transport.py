"""The aiohttp layer: aiohttp's failures mapped to ``TransportError`` with the one fact a charged
call needs (was anything sent?), the connection bound, the answer-size cap, and the session's
life, over real loopback sockets where it matters (a scripted aiohttp.web server in a thread,
so it outlives the event loops of the tests and of ``asyncio.run``)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses

import openprovider_ssl as op
from openprovider_ssl._http.transport import Transport
from openprovider_ssl._protocol.messages import build_request

if TYPE_CHECKING:
    import warnings

    from tests._support.mocked_api import Api, Sleeps

ORDER = 31027


# --- a scripted server in its own thread ------------------------------------------------------

Action = tuple[Any, ...]


class Server:
    """Answers each ``(method, path)`` by its script: a list of actions, the last one repeated.

    Actions: ``("json", status, body)``, ``("redirect", status, location)``, ``("drop",)``
    (close the connection after reading the request), ``("sleep", seconds, status, body)``,
    ``("chunked", size)`` (a body of ``size`` bytes without Content-Length), ``("hold",
    seconds)`` (count concurrent requests).
    """

    def __init__(self) -> None:
        self.script: dict[tuple[str, str], list[Action]] = {}
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.active = 0
        self.most_active = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1beta"

    def answer(self, method: str, path: str, *actions: Action) -> None:
        self.script[(method, path)] = list(actions)

    def reset(self) -> None:
        self.script.clear()
        self.seen.clear()
        self.active = self.most_active = 0

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/v1beta/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
        # Handlers still sleeping (a test gave up on them) must not outlive the loop.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix("/v1beta")
        await request.read()
        self.seen.append((request.method, path, dict(request.headers)))
        actions = self.script.get((request.method, path)) or [("json", 404, {"code": 10001})]
        action = actions.pop(0) if len(actions) > 1 else actions[0]
        kind = action[0]
        if kind == "json":
            return web.json_response(action[2], status=action[1])
        if kind == "redirect":
            return web.Response(status=action[1], headers={"Location": action[2]})
        if kind == "sleep":
            await asyncio.sleep(action[1])
            return web.json_response(action[3], status=action[2])
        if kind == "hold":
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            await asyncio.sleep(action[1])
            self.active -= 1
            return web.json_response(ok({"id": 1}))
        if kind == "chunked":
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            for _ in range(action[1] // 1000):
                await response.write(b"x" * 1000)
            await response.write_eof()
            return response
        assert kind == "drop"
        assert request.transport is not None
        request.transport.close()
        raise ConnectionResetError("dropped on purpose")


def ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "data": data, "desc": "", "maintenance": False, "warnings": []}


@pytest.fixture(scope="module")
def running_server() -> Iterator[Server]:
    server = Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server(running_server: Server) -> Iterator[Server]:
    running_server.reset()
    yield running_server
    running_server.reset()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def order(order_id: int = ORDER, days: int = 10) -> dict[str, Any]:
    expires = datetime.now(UTC) + timedelta(days=days)
    return {
        "id": order_id,
        "status": "ACT",
        "expiration_date": expires.strftime("%Y-%m-%d %H:%M:%S"),
    }


# --- mapping aiohttp's exceptions (pure) -----------------------------------------------------

KEY = ConnectionKey("api.test", 443, True, True, None, None, None)
MAPPED = [
    pytest.param(
        aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "refused")),
        False,
        id="refused",
    ),
    pytest.param(
        aiohttp.ClientConnectorDNSError(KEY, OSError(-2, "Name or service not known")),
        False,
        id="dns",
    ),
    pytest.param(
        aiohttp.ClientConnectorCertificateError(KEY, ValueError("bad cert")),
        False,
        id="certificate",
    ),
    pytest.param(aiohttp.ConnectionTimeoutError(), False, id="connect-timeout"),
    pytest.param(aiohttp.SocketTimeoutError(), True, id="read-timeout"),
    pytest.param(aiohttp.ServerTimeoutError(), True, id="server-timeout"),
    pytest.param(TimeoutError(), True, id="total-timeout"),
    pytest.param(aiohttp.ServerDisconnectedError(), True, id="disconnected"),
    pytest.param(aiohttp.ClientPayloadError("cut"), True, id="payload"),
    pytest.param(aiohttp.ClientOSError(104, "Connection reset by peer"), True, id="reset"),
    pytest.param(aiohttp.ClientConnectionError("x"), True, id="other"),
]


@pytest.mark.parametrize(("exception", "sent"), MAPPED)
async def test_aiohttp_failures_become_transport_errors_that_say_whether_anything_was_sent(
    api: Api, exception: Exception, sent: bool
) -> None:
    api.fail("POST", f"/ssl/orders/{ORDER}/renew", exception)
    transport = Transport(
        api.base, timeout=aiohttp.ClientTimeout(total=5), max_connections=2, user_agent="test"
    )
    request = build_request(
        "RenewOrder", "POST", f"/ssl/orders/{ORDER}/renew", body={"id": ORDER}, idempotent=False
    )
    try:
        with pytest.raises(op.TransportError) as caught:
            await transport.send(request, "t")
    finally:
        await transport.aclose()
    error = caught.value
    assert error.sent is sent
    assert error.may_have_been_applied is sent
    # A certificate that fails verification is not transient: retrying cannot fix it.
    assert error.transient is not isinstance(error, op.TLSError)
    assert error.__cause__ is exception
    assert f"RenewOrder (POST /ssl/orders/{ORDER}/renew)" in str(error)


# --- over real sockets -------------------------------------------------------------------------


@pytest.fixture
def real(api: Api, server: Server) -> Server:
    """Let the scripted server's URLs through the aioresponses mock."""
    api.mocked._passthrough.append(server.url)
    return server


async def test_connection_refused_is_not_sent_and_is_retried(
    make_client: Callable[..., op.Client], closed_port: int, sleeps: Sleeps, api: Api
) -> None:
    url = f"http://127.0.0.1:{closed_port}/v1beta"
    api.mocked._passthrough.append(url)
    async with make_client(base_url=url) as client:
        with pytest.raises(op.TransportError) as caught:
            await client.orders.renew(ORDER)
    assert caught.value.sent is False
    assert "could not connect" in str(caught.value)
    assert len(sleeps.waits) == 3  # resent directly: a refused connection applied nothing


@pytest.mark.parametrize("own_session", [True, False], ids=["own-session", "callers-session"])
async def test_a_read_timeout_may_have_been_applied(
    real: Server, make_client: Callable[..., op.Client], own_session: bool
) -> None:
    # The client's timeout holds on its own session and on a caller's (whose default is
    # aiohttp's five minutes): the server would answer after 2 s.
    real.answer("GET", f"/ssl/orders/{ORDER}", ("sleep", 2.0, 200, ok(order())))
    async with contextlib.AsyncExitStack() as stack:
        session = None if own_session else await stack.enter_async_context(aiohttp.ClientSession())
        client = make_client(
            base_url=real.url, timeout=0.2, retry=op.RetryPolicy.never(), session=session
        )
        await stack.enter_async_context(client)
        with pytest.raises(op.TransportError) as caught:
            await client.orders.get(ORDER)
    assert caught.value.sent is True
    assert "timed out" in str(caught.value)


async def test_a_connection_dropped_after_sending_may_have_been_applied(
    real: Server, make_client: Callable[..., op.Client]
) -> None:
    real.answer("PUT", f"/ssl/orders/{ORDER}", ("drop",))
    async with make_client(base_url=real.url, retry=op.RetryPolicy.never()) as client:
        with pytest.raises(op.TransportError) as caught:
            await client.orders.update(ORDER, autorenew="on")
    assert caught.value.sent is True


async def test_a_renew_dropped_after_sending_is_read_back_and_never_resent(
    real: Server, make_client: Callable[..., op.Client]
) -> None:
    renew = f"/ssl/orders/{ORDER}/renew"
    unchanged = order()
    real.answer("POST", renew, ("drop",), ("json", 200, ok({"id": ORDER})))
    real.answer("GET", f"/ssl/orders/{ORDER}", ("json", 200, ok(unchanged)))
    before = datetime.fromisoformat(unchanged["expiration_date"].replace(" ", "T")).replace(
        tzinfo=UTC
    )
    async with make_client(base_url=real.url) as client:
        with pytest.raises(op.OutcomeUnknownError):
            await client.orders.renew(ORDER, known_expiration=before)
    assert [(m, p) for m, p, _ in real.seen] == [
        ("POST", renew),
        ("GET", f"/ssl/orders/{ORDER}"),
    ]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_never_followed(
    real: Server, make_client: Callable[..., op.Client], status: int
) -> None:
    # Followed, a PUT would go to another order, and a POST turn into a GET.
    real.answer("PUT", f"/ssl/orders/{ORDER}", ("redirect", status, "/v1beta/ssl/orders/999"))
    real.answer("PUT", "/ssl/orders/999", ("json", 200, ok({"id": 999})))
    real.answer("GET", "/ssl/orders/999", ("json", 200, ok({"id": 999})))
    async with make_client(base_url=real.url) as client:
        with pytest.raises(op.ResponseError) as caught:
            await client.orders.update(ORDER, autorenew="on")
    assert caught.value.http_status == status
    assert [(m, p) for m, p, _ in real.seen] == [("PUT", f"/ssl/orders/{ORDER}")]


async def test_a_renew_answered_by_a_redirect_is_never_reported_as_renewed(
    real: Server, make_client: Callable[..., op.Client], sleeps: Sleeps
) -> None:
    renew, get = f"/ssl/orders/{ORDER}/renew", f"/ssl/orders/{ORDER}"
    real.answer("POST", renew, ("redirect", 302, f"/v1beta{get}"))
    real.answer("GET", get, ("json", 200, ok(order())))
    policy = op.RetryPolicy(attempts=1)
    async with make_client(base_url=real.url, retry=policy) as client:
        with pytest.raises(op.OutcomeUnknownError):
            await client.orders.renew(ORDER)


async def test_connections_are_bounded_by_max_connections(
    real: Server, make_client: Callable[..., op.Client]
) -> None:
    for order_id in range(1, 11):
        real.answer("GET", f"/ssl/orders/{order_id}", ("hold", 0.05))
    async with make_client(base_url=real.url, max_connections=3) as client:
        await asyncio.gather(*(client.orders.get(i) for i in range(1, 11)))
    assert len(real.seen) == 10
    assert real.most_active == 3


async def test_the_headers_reach_the_server(
    real: Server, make_client: Callable[..., op.Client], api: Api
) -> None:
    real.answer("PUT", f"/ssl/orders/{ORDER}", ("json", 200, ok({"id": ORDER})))
    async with make_client(base_url=real.url) as client:
        await client.orders.update(ORDER, autorenew="on")
    ((_, _, headers),) = real.seen
    assert headers["Authorization"] == f"Bearer {api.token}"
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("openprovider-ssl")


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://api.openprovider.eu/v1beta", "https://api.openprovider.eu/v1beta/ssl/orders/7"),
        (
            "https://api.openprovider.eu/v1beta/",
            "https://api.openprovider.eu/v1beta/ssl/orders/7",
        ),
        ("http://[::1]:8080/v1beta", "http://[::1]:8080/v1beta/ssl/orders/7"),
        ("https://bücher.example/api", "https://xn--bcher-kva.example/api/ssl/orders/7"),
        ("http://127.0.0.1:8080/x%2Fy", "http://127.0.0.1:8080/x%2Fy/ssl/orders/7"),
    ],
)
async def test_the_request_url_is_the_base_url_and_the_path(base_url: str, expected: str) -> None:
    transport = Transport(
        base_url, timeout=aiohttp.ClientTimeout(total=5), max_connections=2, user_agent="test"
    )
    try:
        with aioresponses() as http:
            http.get(expected, payload=ok({"id": ORDER}))
            request = build_request("GetOrder", "GET", "/ssl/orders/7", idempotent=True)
            await transport.send(request, "t")
            [(method, url)] = http.requests
    finally:
        await transport.aclose()
    assert (method, str(url)) == ("GET", expected)


@pytest.mark.parametrize("base_path", ["/v1beta", "/my%20api/v1beta/", ""])
async def test_the_request_reaches_the_base_urls_own_path_as_written(
    api: Api, base_path: str
) -> None:
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.raw_path)
        return web.json_response(ok({"id": ORDER}))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    api.mocked._passthrough.append(f"http://127.0.0.1:{port}")
    transport = Transport(
        f"http://127.0.0.1:{port}{base_path}",
        timeout=aiohttp.ClientTimeout(total=5),
        max_connections=2,
        user_agent="test",
    )
    try:
        await transport.send(
            build_request("GetOrder", "GET", "/ssl/orders/7", idempotent=True), "t"
        )
        await transport.send(
            build_request(
                "ListOrders", "GET", "/ssl/orders", params=[("limit", "5")], idempotent=True
            ),
            "t",
        )
    finally:
        await transport.aclose()
        await runner.cleanup()
    prefix = base_path.rstrip("/")
    assert seen == [f"{prefix}/ssl/orders/7", f"{prefix}/ssl/orders?limit=5"]


@pytest.mark.parametrize("action", [("chunked", 50_000), ("json", 200, {"big": "x" * 50_000})])
async def test_an_answer_above_the_size_cap_is_a_response_error(
    real: Server, action: Action
) -> None:
    real.answer("GET", "/big", action)
    transport = Transport(
        real.url,
        timeout=aiohttp.ClientTimeout(total=5),
        max_connections=2,
        user_agent="test",
        max_response_bytes=10_000,
    )
    request = build_request("Big", "GET", "/big", idempotent=True)
    try:
        with pytest.raises(op.ResponseError, match="larger than the 10000-byte cap"):
            await transport.send(request, "t")
    finally:
        await transport.aclose()


async def test_an_answer_within_the_cap_is_read_whole(real: Server) -> None:
    real.answer("GET", "/chunked", ("chunked", 5_000))
    transport = Transport(
        real.url, timeout=aiohttp.ClientTimeout(total=5), max_connections=2, user_agent="test"
    )
    try:
        raw = await transport.send(
            build_request("Chunked", "GET", "/chunked", idempotent=True), None
        )
    finally:
        await transport.aclose()
    assert raw.status == 200 and raw.body == b"x" * 5_000


async def test_a_caller_owned_session_carries_the_requests_and_is_never_closed(
    real: Server, make_client: Callable[..., op.Client]
) -> None:
    real.answer("GET", f"/ssl/orders/{ORDER}", ("json", 200, ok(order())))
    async with aiohttp.ClientSession(headers={"X-Caller": "mine"}) as session:
        client = make_client(base_url=real.url, session=session)
        await client.orders.get(ORDER)
        await client.aclose()
        await client.orders.get(ORDER)  # the caller's session again, not a new one of ours
        await client.aclose()
        assert not session.closed
    assert [h["X-Caller"] for _, _, h in real.seen] == ["mine", "mine"]


# --- the session's life across event loops, over real sockets -----------------------------------


def test_two_asyncio_runs_without_aclose_leave_nothing_unclosed(
    running_server: Server, no_leaks: list[warnings.WarningMessage]
) -> None:
    running_server.reset()
    running_server.answer("GET", f"/ssl/orders/{ORDER}", ("json", 200, ok(order())))
    clients = [op.Client("t", base_url=running_server.url)]

    async def get() -> int:
        return (await clients[0].orders.get(ORDER)).id

    assert asyncio.run(get()) == ORDER
    assert asyncio.run(get()) == ORDER
    clients.clear()  # never closed, then dropped
    gc.collect()


def test_aclose_in_a_later_run_leaves_nothing_unclosed(
    running_server: Server, no_leaks: list[warnings.WarningMessage]
) -> None:
    running_server.reset()
    running_server.answer("GET", f"/ssl/orders/{ORDER}", ("json", 200, ok(order())))
    client = op.Client("t", base_url=running_server.url)

    async def get() -> int:
        return (await client.orders.get(ORDER)).id

    async def close() -> None:
        await client.aclose()

    asyncio.run(get())
    asyncio.run(close())
    gc.collect()


def test_a_client_closed_in_its_run_leaves_nothing_unclosed(
    running_server: Server, no_leaks: list[warnings.WarningMessage]
) -> None:
    running_server.reset()
    running_server.answer("GET", f"/ssl/orders/{ORDER}", ("json", 200, ok(order())))

    async def main() -> None:
        async with op.Client("t", base_url=running_server.url) as client:
            await client.orders.get(ORDER)
            await asyncio.gather(*(client.orders.get(ORDER) for _ in range(5)))

    asyncio.run(main())
    gc.collect()


def test_a_call_cancelled_in_flight_leaves_nothing_unclosed(
    running_server: Server, no_leaks: list[warnings.WarningMessage]
) -> None:
    running_server.reset()
    running_server.answer("GET", f"/ssl/orders/{ORDER}", ("sleep", 5.0, 200, ok(order())))

    async def main() -> None:
        async with op.Client("t", base_url=running_server.url) as client:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.orders.get(ORDER), 0.1)

    asyncio.run(main())
    gc.collect()
