"""The aiohttp layer: one pooled ``ClientSession`` per client, and aiohttp's failures mapped
to ``TransportError`` with the one fact that matters for charged calls: was anything sent?
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncGenerator, Mapping
from typing import NamedTuple

import aiohttp
import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from .._protocol.messages import Request, new_tuple
from ..errors import ResponseError, TLSError, TransportError

DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# aiohttp 3.10 added ConnectionTimeoutError; before it, a connect timeout is a
# ServerTimeoutError, taken below for a timeout after sending (the safe side).
_CONNECT_TIMEOUT: tuple[type[Exception], ...] = tuple(
    t for t in (getattr(aiohttp, "ConnectionTimeoutError", None),) if t is not None
)


class RawAnswer(NamedTuple):
    """An answer as it came: status, headers and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def transport_error(
    request: Request, exc: aiohttp.ClientError | TimeoutError | ssl.SSLError, host: str = ""
) -> TransportError:
    """The ``TransportError`` for one of aiohttp's exceptions (or a timeout); a ``TLSError``
    (never retried) when the certificate or the handshake failed."""
    what = f"{request.operation} ({request.method} {request.path})"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLCertVerificationError):
        return _tls_error(what, exc, host)
    if isinstance(exc, ssl.SSLError):
        # Raised by ssl itself, past the handshake: the request may have gone out.
        return TransportError(f"{what}: TLS failed: {exc}", sent=True)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransportError(f"{what}: could not connect: {exc.os_error}", sent=False)
    if _CONNECT_TIMEOUT and isinstance(exc, _CONNECT_TIMEOUT):
        return TransportError(f"{what}: timed out while connecting", sent=False)
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return TransportError(f"{what}: timed out waiting for the answer", sent=True)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return TransportError(f"{what}: the server closed the connection", sent=True)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return TransportError(f"{what}: the answer was cut off", sent=True)
    return TransportError(f"{what}: {type(exc).__name__}: {exc}", sent=True)


def _tls_error(
    what: str, exc: aiohttp.ClientSSLError | ssl.SSLCertVerificationError, host: str
) -> TLSError:
    cause: object = exc
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        host, cause = exc.host or host, exc.certificate_error
    elif isinstance(exc, aiohttp.ClientConnectorError):
        host, cause = exc.host or host, exc.os_error
    verification = isinstance(
        exc, aiohttp.ClientConnectorCertificateError | ssl.SSLCertVerificationError
    ) or isinstance(cause, ssl.SSLCertVerificationError)
    reason = getattr(cause, "verify_message", None) or getattr(cause, "reason", None)
    reason = reason or str(cause) or type(cause).__name__
    if verification:
        text = f"{what}: TLS certificate verification failed for {host}: {reason}"
    else:
        text = f"{what}: the TLS handshake with {host} failed: {reason}"
    return TLSError(text, host=host, verification_failed=verification)


class Transport:
    """Sends ``Request`` values over one lazily created, pooled aiohttp session."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: aiohttp.ClientTimeout,
        max_connections: int,
        session: aiohttp.ClientSession | None = None,
        user_agent: str,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        token: str | None = None,
    ) -> None:
        base = yarl.URL(base_url.rstrip("/"))
        self._host = base.host or base_url
        # Each request's URL is made from the parsed base and the request's path, which the
        # SDK builds already encoded (ids and fixed words): no parsing of a new string, and no
        # entry in yarl's cache of parsed strings, for every call.
        self._base = base
        self._base_path = base.raw_path.rstrip("/")
        self._timeout = timeout
        self._max_connections = max_connections
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: AsyncGenerator[None, None] | None = None
        self._headers = {"User-Agent": user_agent, "Accept": "application/json"}
        # A token that never changes (a client with a fixed token makes no call without it)
        # rides in our own session's default headers, so aiohttp need not merge it into every
        # request; other tokens go with each request.
        self._session_token = token if session is None else None
        # The headers each request adds to the session's, made once: a caller's session gets
        # ours with every request, since its own defaults are not ours to change. Made as
        # aiohttp's own type, which it takes as it is: a plain dict it copies into one for
        # every request (about 4,500 instructions a call, a tenth of what the SDK adds).
        self._request_headers = self._headers_with({} if self._owns_session else self._headers)
        # The same with the latest per-request token (a login's), made once per token.
        self._token_headers: tuple[str, dict[bool, CIMultiDictProxy[str]]] | None = None
        self._max_response_bytes = max_response_bytes

    @staticmethod
    def _headers_with(extra: Mapping[str, str]) -> dict[bool, CIMultiDictProxy[str]]:
        """``extra`` for a request without a body and with one (JSON), as aiohttp's own type."""
        return {
            False: CIMultiDictProxy(CIMultiDict(extra)),
            True: CIMultiDictProxy(CIMultiDict({**extra, "Content-Type": "application/json"})),
        }

    def _with_token(self, token: str) -> dict[bool, CIMultiDictProxy[str]]:
        """The headers a request adds, by whether it has a body, with ``token``."""
        cached = self._token_headers
        if cached is None or cached[0] != token:
            extra = {**self._request_headers[False], "Authorization": f"Bearer {token}"}
            cached = self._token_headers = (token, self._headers_with(extra))
        return cached[1]

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and (not self._owns_session or self._loop is loop):
            return session
        if session is not None:
            # Our session belongs to an earlier event loop. If that loop ended through
            # asyncio.run, the closer below already closed it; otherwise its connections died
            # with that loop, so let go of it without touching them.
            session.detach()
        headers = dict(self._headers)
        if self._session_token is not None:
            headers["Authorization"] = f"Bearer {self._session_token}"
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._max_connections),
            timeout=self._timeout,
            headers=headers,
        )
        self._session, self._loop = session, loop
        self._closer = _close_when_loop_ends(session)
        with contextlib.suppress(StopIteration):
            # Run it to its first yield now, so the loop registers it as one of its async
            # generators: loop.shutdown_asyncgens() (asyncio.run does) then closes the session
            # inside the loop, even if the program never calls aclose().
            self._closer.asend(None).send(None)
        return session

    async def send(self, request: Request, token: str | None) -> RawAnswer:
        """Send one request and read the whole answer, within the size cap."""
        session = self._get_session()
        if token is None or token == self._session_token:
            headers = self._request_headers[request.body is not None]
        else:
            headers = self._with_token(token)[request.body is not None]
        url = self._base.with_path(self._base_path + request.path, encoded=True)
        # The API never redirects; followed, a redirect could turn a renew into a GET that
        # "succeeds", or send an update to another URL.
        if request.params or not self._owns_session:
            context = session.request(
                request.method,
                url,
                params=request.params or None,
                data=request.body,
                headers=headers,
                timeout=self._timeout,  # a caller's session has a timeout of its own
                allow_redirects=False,
            )
        else:
            # Our own session has our timeout already. (Two calls rather than one with the
            # keywords gathered in a dict: aiohttp unpacking them costs more than it saves.)
            context = session.request(
                request.method, url, data=request.body, headers=headers, allow_redirects=False
            )
        try:
            async with context as response:
                answered = response.headers
                length = response.content_length
                if (
                    length is not None
                    and length <= self._max_response_bytes
                    and "Content-Encoding" not in answered
                ):
                    body = await response.read()  # the usual answer: small, plain, announced
                else:
                    body = await self._read(response)
                return new_tuple(RawAnswer, (response.status, answered, body))
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError) as exc:
            raise transport_error(request, exc, self._host) from exc

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        cap = self._max_response_bytes
        length = response.content_length
        # Content-Length counts the bytes on the wire. Compressed, they may inflate to any size
        # (a 200 kB gzip body to 200 MB), so an encoded body is always read through the cap.
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        if length is not None and encoding in ("", "identity"):
            if length > cap:
                # Refused unread: the connection is closed, not drained.
                raise ResponseError(
                    f"the answer is larger than the {cap}-byte cap ({length} bytes announced)",
                    http_status=response.status,
                    excerpt=b"",
                )
            return await response.read()
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > cap:
                raise ResponseError(
                    f"the answer is larger than the {cap}-byte cap",
                    http_status=response.status,
                    excerpt=b"".join(chunks)[:200] or chunk[:200],
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        """Close our own session; a caller-owned session is left open, and kept for later calls."""
        if not self._owns_session:
            return
        session, closer, loop = self._session, self._closer, self._loop
        self._session = self._closer = self._loop = None
        if session is None or closer is None:
            return
        if loop is asyncio.get_running_loop():
            await closer.aclose()
        else:
            session.detach()


async def _close_when_loop_ends(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """Suspended while its loop lives; finalised by ``aclose()`` or by the loop's shutdown."""
    try:
        yield
    finally:
        await session.close()
