"""Secrets and transport safety, end to end over real sockets.

* The token and the password never appear in a log record (every logger, every level, with
  its traceback), in ``repr()``/``str()`` of the client or anything it is configured with, or
  in an error's message, repr, notes or traceback: through logins, re-logins, faults of every
  kind, and a hostile server that echoes the credentials back in every part of its answers.
* TLS is verified by default: a self-signed server on loopback is refused (and accepted once
  the caller trusts its certificate, so the refusal is about verification); plain http:// is
  refused unless the host is loopback or the caller opts in.

The soak (tests/journal/test_soak.py) runs the same search over everything it logged and raised.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import openprovider_ssl as op
from openprovider_ssl.limits._front import Limits
from openprovider_ssl.testing import FakeOpenprovider
from tests._support.secret_watch import SecretWatch, watching

pytestmark = pytest.mark.integration

PASSWORD = "pw-7f3e9c1d-SECRET"
USERNAME = "reseller-jane"


@pytest.fixture
def watch() -> Iterator[SecretWatch]:
    with watching() as handler:
        yield handler


async def no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


def quick_policy() -> op.RetryPolicy:
    return op.RetryPolicy(
        initial_wait=0.001, maintenance_wait=0.001, maintenance_timeout=1.0, readback_delay=0.001
    )


def quick_limits() -> Limits:
    # Not adaptive: the fake throttles at random whatever the pace, and the adaptive rate
    # would slow this test from one second to thirty (see the soak for the figures).
    return Limits(maintenance_probe_interval=0.01, adaptive=False)


async def attempt(watch: SecretWatch, call: Awaitable[Any]) -> None:
    try:
        async with asyncio.timeout(30):
            await call
    except op.OpenproviderError as error:
        watch.error(error)


def watch_client(watch: SecretWatch, client: op.Client) -> None:
    watch.thing(client)
    for part in (client._auth, client.retry_policy, client.limits, client._transport):
        watch.thing(part)
    watch.thing(vars(client))


# --- logins, re-logins and faults against the fake ------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenprovider]:
    fake = FakeOpenprovider(
        orders=200,
        seed=3,
        username=USERNAME,
        password=PASSWORD,
        faults_on_login=True,
        error_rate=0.05,
        throttle_rate=0.05,
        throttle_retry_after=0,
        maintenance_rate=0.05,
        drop_before_rate=0.03,
        drop_after_rate=0.03,
        garbage_rate=0.05,
    )
    issued: list[str] = []
    issue = fake.tokens.issue

    def recording_issue(now: float, ip: str | None = None) -> str:
        token = issue(now, ip)
        issued.append(token)
        return token

    fake.tokens.issue = recording_issue  # type: ignore[method-assign]
    fake.issued = issued  # type: ignore[attr-defined]
    async with fake:
        yield fake


def fake_secrets(fake: FakeOpenprovider) -> list[str]:
    return [fake.password, fake.token, *fake.issued]  # type: ignore[attr-defined]


async def test_logins_relogins_and_faults_show_no_secret(
    fake: FakeOpenprovider, watch: SecretWatch
) -> None:
    client = op.Client(
        username=USERNAME,
        password=PASSWORD,
        base_url=fake.url,
        retry=quick_policy(),
        limits=quick_limits(),
    )
    watch_client(watch, client)
    ids = sorted(fake.orders)
    async with client:
        for round_ in range(4):
            for order_id in ids[round_ * 25 : (round_ + 1) * 25]:
                await attempt(watch, client.orders.get(order_id))
                await attempt(watch, client.orders.update(order_id, autorenew="on"))
                await attempt(watch, client.orders.renew(order_id))
            await attempt(watch, client.orders.page(limit=50))
            await attempt(watch, client.csr.create("example.com"))
            fake.expire_tokens()  # the next call is refused (196) and logs in again
        watch_client(watch, client)
    assert len(fake.issued) >= 4  # type: ignore[attr-defined]
    assert fake.stats.requests["Login"] >= 4
    assert sum(fake.stats.faults.values()) > 50
    assert watch.records > 100
    assert watch.leaks(fake_secrets(fake)) == []


async def test_refused_credentials_show_no_secret(
    fake: FakeOpenprovider, watch: SecretWatch
) -> None:
    fake.faults.update(
        error_rate=0.0, throttle_rate=0.0, maintenance_rate=0.0, garbage_rate=0.0,
        drop_before_rate=0.0, drop_after_rate=0.0,
    )  # fmt: skip
    wrong_password = "pw-wrong-0b7d-SECRET"
    wrong_token = "tok-wrong-5a1c-SECRET"
    for credentials in (
        {"username": USERNAME, "password": wrong_password},
        {"token": wrong_token},
    ):
        client = op.Client(base_url=fake.url, retry=quick_policy(), **credentials)  # type: ignore[arg-type]
        watch_client(watch, client)
        async with client:
            await attempt(watch, client.orders.get(ids_of(fake)[0]))
            await attempt(watch, client.orders.renew(ids_of(fake)[0]))
    assert watch.leaks([wrong_password, wrong_token, *fake_secrets(fake)]) == []
    assert any("Authentication" in text for text in watch.texts)


def ids_of(fake: FakeOpenprovider) -> list[int]:
    return sorted(fake.orders)


# --- a hostile server that echoes the credentials everywhere ---------------------------------


def echo_server_answers(secret_text: str) -> list[Callable[[], web.StreamResponse]]:
    """Answers that carry ``secret_text`` in each part an error or a log may show."""

    def envelope(status: int, **fields: Any) -> Callable[[], web.StreamResponse]:
        body = {"code": 399, "desc": "error", "data": "", "maintenance": False, **fields}
        return lambda: web.json_response(body, status=status)

    return [
        envelope(400, desc=f"bad request {secret_text}"),
        envelope(400, data=f"you sent {secret_text}"),
        envelope(400, data={"echo": secret_text, "nested": [secret_text]}),
        envelope(500, code=3006, desc=secret_text),
        envelope(401, code=196, desc=f"token {secret_text} refused"),
        envelope(429, code=4007, desc=secret_text),
        envelope(503, code=4005, desc=secret_text, maintenance=True),
        envelope(403, code=10005, desc=f"denied for {secret_text}"),
        envelope(200, code=0, data={"id": secret_text}),
        envelope(200, code=0, data={"id": 1}, warnings=[{"code": 1, "desc": secret_text}]),
        lambda: web.Response(status=502, text=f"<html>proxy error: {secret_text}</html>"),
        lambda: web.Response(status=200, text=f'{{"code": 0, "data": {{"x": "{secret_text}'),
        lambda: web.Response(status=400, text=f"Bad Request\r\n\r\n{secret_text}"),
    ]


@pytest.mark.parametrize("kind", range(13))
async def test_a_server_echoing_the_credentials_gets_them_shown_nowhere(
    kind: int, watch: SecretWatch
) -> None:
    token = "tok-4c2b8e61-SECRET"
    seen: dict[str, str] = {}

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.path.endswith("/auth/login"):
            seen["login"] = body.decode()
            return web.json_response({"code": 0, "data": {"token": token, "reseller_id": 1}})
        secret_text = f"{request.headers.get('Authorization')} {seen.get('login', '')}"
        return echo_server_answers(secret_text)[kind]()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1beta"
    try:
        policy = op.RetryPolicy(attempts=2, maintenance_timeout=0.0)
        limits = Limits(sleep=no_wait)
        client = op.Client(
            username=USERNAME, password=PASSWORD, base_url=url, retry=policy, limits=limits
        )
        async with client:
            for call in (
                client.orders.get(1),
                client.orders.renew(1),
                client.orders.update(1, autorenew="on"),
                client.orders.page(),
            ):
                await attempt(watch, call)
            watch_client(watch, client)
    finally:
        await runner.cleanup()
    assert PASSWORD in seen["login"]  # the server did receive the secrets it echoes
    assert watch.leaks([token, PASSWORD, json.dumps(PASSWORD)]) == []


# --- TLS and plain http ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def tls_fake(certificate: tuple[Path, Path]) -> AsyncIterator[tuple[FakeOpenprovider, str]]:
    """The fake, served over https with the self-signed certificate."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    fake = FakeOpenprovider(orders=5, seed=1)
    runner = web.AppRunner(fake.make_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    yield fake, f"https://127.0.0.1:{runner.addresses[0][1]}/v1beta"
    await runner.cleanup()


async def test_tls_is_verified_by_default(
    tls_fake: tuple[FakeOpenprovider, str], watch: SecretWatch
) -> None:
    fake, url = tls_fake
    async with op.Client(fake.token, base_url=url, retry=op.RetryPolicy.never()) as client:
        with pytest.raises(op.TransportError) as caught:
            await client.orders.get(100_001)
    assert caught.value.sent is False  # refused during the handshake: no request went out
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorCertificateError)
    assert fake.stats.total == 0
    watch.error(caught.value)
    assert watch.leaks([fake.token]) == []


async def test_a_caller_who_trusts_the_certificate_gets_through(
    tls_fake: tuple[FakeOpenprovider, str], certificate: tuple[Path, Path]
) -> None:
    fake, url = tls_fake
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trusted)) as session,
        op.Client(fake.token, base_url=url, session=session) as client,
    ):
        assert (await client.orders.get(100_001)).id == 100_001
    assert fake.stats.requests["GetOrder"] == 1


async def test_the_client_never_turns_verification_off() -> None:
    async with FakeOpenprovider(orders=1) as fake, op.Client(fake.token, base_url=fake.url) as c:
        await c.orders.get(100_001)
        session = c._transport._session
        assert session is not None
        connector = session.connector
        assert isinstance(connector, aiohttp.TCPConnector)
        # aiohttp's default (True) verifies with the system's trust store.
        assert connector._ssl is True


@pytest.mark.parametrize(
    "url",
    [
        "http://api.openprovider.eu/v1beta",
        "http://127.0.0.1.nip.io/v1beta",
        "http://localhost.example.com/v1beta",
        "http://10.0.0.1/v1beta",
        "http://[::ffff:8.8.8.8]/v1beta",
        "http://0.0.0.0/v1beta",
        "ftp://127.0.0.1/v1beta",
        "api.openprovider.eu/v1beta",
    ],
)
def test_plain_http_is_refused_off_loopback(url: str) -> None:
    with pytest.raises(op.ValidationError, match="base_url"):
        op.Client("tok", base_url=url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8035/v1beta", "http://localhost/v1beta", "http://[::1]:8035/v1beta"]
)
def test_plain_http_on_loopback_is_allowed(url: str) -> None:
    assert op.Client("tok", base_url=url).base_url == url


def test_plain_http_elsewhere_needs_an_explicit_opt_in() -> None:
    url = "http://api.example.com/v1beta"
    assert op.Client("tok", base_url=url, allow_insecure_http=True).base_url == url
    with pytest.raises(op.ValidationError):
        op.Client("tok", base_url=url, allow_insecure_http="yes")  # type: ignore[arg-type]


def test_credentials_in_the_base_url_are_refused_and_not_echoed() -> None:
    with pytest.raises(op.ValidationError) as caught:
        op.Client("tok", base_url=f"https://{USERNAME}:{PASSWORD}@api.openprovider.eu/v1beta")
    assert PASSWORD not in str(caught.value)
