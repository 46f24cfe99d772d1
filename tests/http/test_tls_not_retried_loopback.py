"""A TLS failure is not retried: a real loopback TLS server with a self-signed certificate
(made with ``openssl`` in a temporary directory) sees exactly one connection attempt."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import openprovider_ssl as op
from openprovider_ssl.testing import FakeOpenprovider

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl"),
]

TOKEN = "tls-test-token-0123456789"
FAST = op.RetryPolicy(attempts=4, initial_wait=0.001, max_wait=0.01)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class Counting(asyncio.Protocol):
    """Made once per accepted connection (before the TLS handshake); answers nothing."""

    accepted = 0

    def __init__(self) -> None:
        type(self).accepted += 1


@pytest.fixture
async def tls_server(certificate: tuple[Path, Path]) -> AsyncIterator[int]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    Counting.accepted = 0
    server = await asyncio.get_running_loop().create_server(Counting, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_self_signed_certificate_fails_once_with_a_tls_error(
    tls_server: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="openprovider_ssl")
    async with op.Client(
        token=TOKEN, base_url=f"https://127.0.0.1:{tls_server}/v1beta", retry=FAST
    ) as client:
        with pytest.raises(op.TLSError) as failed:
            await client.orders.get(31027)
    error = failed.value
    assert Counting.accepted == 1
    assert client.stats.requests == 1 and client.stats.retries == 0
    assert isinstance(error, op.TransportError)
    assert not error.transient and not error.may_have_been_applied and not error.sent
    assert error.verification_failed and error.host == "127.0.0.1"
    message = str(error)
    assert "certificate verification failed for 127.0.0.1" in message
    assert "SSL_CERT_FILE" in message and "nothing was applied" in message
    assert TOKEN not in message and TOKEN not in caplog.text


async def test_a_renew_meeting_a_bad_certificate_is_settled_as_not_sent(tls_server: int) -> None:
    journal = op.MemoryJournal()
    base_url = f"https://127.0.0.1:{tls_server}/v1beta"
    async with op.Client(token=TOKEN, base_url=base_url, retry=FAST, journal=journal) as client:
        with pytest.raises(op.TLSError):
            await client.orders.renew(31027)
    assert Counting.accepted == 1
    assert await journal.pending() == []


async def test_tls_spoken_to_a_plain_http_server_is_not_retried() -> None:
    async with FakeOpenprovider(orders=0) as fake:
        base_url = f"https://127.0.0.1:{fake.port}/v1beta"
        async with op.Client(token=TOKEN, base_url=base_url, retry=FAST) as client:
            with pytest.raises(op.TransportError) as failed:
                await client.orders.get(31027)
        assert client.stats.retries == 0
        assert isinstance(failed.value, op.TLSError)
        assert not failed.value.verification_failed
        assert "TLS handshake with 127.0.0.1 failed" in str(failed.value)
