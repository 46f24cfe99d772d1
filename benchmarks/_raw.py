"""The baseline: hand-written aiohttp, and the one bounded worker pool both sides run in; and a
session for the SDK that notes when its requests go out.

The raw client sends exactly the bytes the SDK sends for a renew, parses the JSON and checks
``code == 0``: no retry, no limits, no structuring.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, Self

import aiohttp


class RawError(RuntimeError):
    """The raw client got an answer that is not a success."""


async def run_pool(
    ids: Iterable[int], concurrency: int, call: Callable[[int], Awaitable[object]]
) -> int:
    """Run ``call`` over ``ids`` with ``concurrency`` workers; the first failure stops all."""
    it = iter(ids)
    done = 0

    async def worker() -> None:
        nonlocal done
        for order_id in it:
            await call(order_id)
            done += 1

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    return done


def stamped_session(concurrency: int, **signals: list[float]) -> aiohttp.ClientSession:
    """A session of ``concurrency`` connections that appends ``time.perf_counter()`` to
    ``signals[name]`` whenever its trace signal ``name`` (``on_request_start``, ...) fires."""
    trace = aiohttp.TraceConfig()
    for name, times in signals.items():
        getattr(trace, name).append(_stamp(times))
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency), trace_configs=[trace]
    )


def _stamp(times: list[float]) -> Callable[..., Awaitable[None]]:
    async def stamp(session: aiohttp.ClientSession, context: object, params: object) -> None:
        times.append(time.perf_counter())

    return stamp


def renew_body(order_id: int) -> bytes:
    # What the SDK sends: RenewOrderRequest without unset fields, compact, keys sorted.
    return json.dumps({"id": order_id}, separators=(",", ":"), sort_keys=True).encode()


class RawClient:
    """A plain ``aiohttp.ClientSession`` with the SDK's connection limit."""

    def __init__(self, base_url: str, token: str, *, max_connections: int = 100) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._max_connections),
            headers={
                "Authorization": f"Bearer {self._token}",
                "Accept": "application/json",
            },
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def renew(self, order_id: int) -> dict[str, Any]:
        assert self._session is not None
        async with self._session.post(
            f"{self._base_url}/ssl/orders/{order_id}/renew",
            data=renew_body(order_id),
            headers={"Content-Type": "application/json"},
        ) as response:
            envelope: dict[str, Any] = json.loads(await response.read())
        if envelope.get("code") != 0:
            raise RawError(f"renew {order_id}: {envelope!r:.300}")
        return envelope
