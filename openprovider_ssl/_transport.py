"""The aiohttp layer: one pooled ``ClientSession`` per client, and aiohttp's failures mapped
to ``TransportError`` with the one fact that matters for charged calls: was anything sent?
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Iterator, Mapping

import aiohttp
import attrs

from ._protocol import Request
from .errors import ResponseError, TransportError

DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024


@attrs.frozen(slots=True)
class RawAnswer:
    status: int
    headers: Mapping[str, str]
    body: bytes


@contextlib.contextmanager
def map_exceptions(request: Request) -> Iterator[None]:
    """Re-raise aiohttp's exceptions as ``TransportError``, telling sent from not sent."""
    what = f"{request.operation} ({request.method} {request.path})"
    try:
        yield
    except aiohttp.ClientConnectorError as exc:
        raise TransportError(f"{what}: could not connect: {exc.os_error}", sent=False) from exc
    except aiohttp.ConnectionTimeoutError as exc:
        raise TransportError(f"{what}: timed out while connecting", sent=False) from exc
    except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
        raise TransportError(f"{what}: timed out waiting for the answer", sent=True) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise TransportError(f"{what}: the server closed the connection", sent=True) from exc
    except aiohttp.ClientPayloadError as exc:
        raise TransportError(f"{what}: the answer was cut off", sent=True) from exc
    except aiohttp.ClientError as exc:
        raise TransportError(f"{what}: {type(exc).__name__}: {exc}", sent=True) from exc


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
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._max_connections = max_connections
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: AsyncGenerator[None, None] | None = None
        self._headers = {"User-Agent": user_agent, "Accept": "application/json"}
        self._max_response_bytes = max_response_bytes

    @property
    def base_url(self) -> str:
        return self._base_url

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
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._max_connections),
            timeout=self._timeout,
            headers=self._headers,
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
        headers = {"Content-Type": "application/json"} if request.body is not None else {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if not self._owns_session:
            headers.update(self._headers)
        with map_exceptions(request):
            async with session.request(
                request.method,
                self._base_url + request.path,
                params=request.params or None,
                data=request.body,
                headers=headers,
                timeout=self._timeout,
                # The API never redirects; followed, a redirect could turn a renew into a GET
                # that "succeeds", or send an update to another URL.
                allow_redirects=False,
            ) as response:
                body = await self._read(response)
                return RawAnswer(response.status, response.headers, body)

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        cap = self._max_response_bytes
        length = response.content_length
        if length is not None and length <= cap:
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
