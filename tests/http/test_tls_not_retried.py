"""TLS failures map to ``TLSError``: not transient, nothing sent, never retried (mocked)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

import openprovider_ssl as op

if TYPE_CHECKING:
    from tests._support.mocked_api import Api

KEY = ConnectionKey("api.test", 443, True, True, None, None, None)
GET = "/ssl/orders/31027"


def verification_error() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "unable to get local issuer certificate"
    return error


@pytest.mark.parametrize(
    ("exception", "verification"),
    [
        pytest.param(
            aiohttp.ClientConnectorCertificateError(KEY, verification_error()),
            True,
            id="aiohttp-certificate",
        ),
        pytest.param(verification_error(), True, id="ssl-certificate"),
        pytest.param(
            aiohttp.ClientConnectorSSLError(KEY, ssl.SSLError(1, "wrong version number")),
            False,
            id="handshake",
        ),
    ],
)
async def test_a_tls_failure_is_sent_once_and_says_how_to_fix_it(
    api: Api,
    make_client: Callable[..., op.Client],
    exception: Exception,
    verification: bool,
) -> None:
    api.fail("GET", GET, exception, repeat=True)
    async with make_client() as client:
        with pytest.raises(op.TLSError) as failed:
            await client.orders.get(31027)
    assert len(api.calls) == 1 and client.stats.retries == 0
    error = failed.value
    assert not error.transient and not error.sent and not error.may_have_been_applied
    assert not error.retryable(idempotent=True)
    assert error.verification_failed is verification and error.host == "api.test"
    if verification:
        assert "certificate verification failed for api.test" in str(error)
        assert "SSL_CERT_FILE" in str(error)
    else:
        assert "TLS handshake with api.test failed" in str(error)
    assert api.token not in str(error)
