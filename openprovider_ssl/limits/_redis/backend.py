"""``RedisLimits``: the client-wide limits shared by every process that uses one Redis.

Workers on several hosts behind one Openprovider account (and often one outgoing IP) must
share one request rate and one identical-call budget, or together they get the IP blacklisted.
``Limits(..., backend=RedisLimits(url))`` keeps the rate slots, the identical-call counts, the
adaptive rate, the Retry-After hold and the maintenance pause in Redis, each changed by one Lua
script at a time (``scripts``); the retry budget stays in each process. Each ``Limits``
talks to Redis through its own ``RedisSharedLimiter`` (``shared``).

The ``redis`` package (``pip install 'openprovider-ssl[redis]'``) is imported only when a
``RedisLimits`` is made, so the SDK works without it.
"""

from __future__ import annotations

import asyncio
import weakref
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from .._backend import LimitsSettings
from . import scripts as lua
from .shared import RedisSharedLimiter

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisLimits"]


class RedisLimits:
    """Shares the state of ``Limits`` through Redis: every client whose ``Limits`` uses a
    ``RedisLimits`` on the same Redis and ``prefix`` shares one rate, one identical-call
    budget, one adaptive rate and one maintenance pause::

        limits = Limits(rate=20, backend=RedisLimits("redis://redis.internal:6379/0"))

    ``redis``: a URL (the connection pool is then opened lazily and closed by ``aclose()``) or
    a ``redis.asyncio.Redis`` of yours (never closed here). ``prefix``: every key starts with
    it (one prefix per Openprovider account; on Redis Cluster give it a hash tag, such as
    ``"{openprovider-ssl}:"``). ``on_unavailable``: when Redis cannot be reached, ``"fail"``
    (the default) refuses every call with ``LimiterUnavailableError``; ``"local"`` falls back
    to this process's own limits, logs a warning, and tries Redis again every
    ``retry_interval`` seconds. ``timeout``: seconds to wait for Redis (URL only).
    Identical calls are counted by the SHA-256 of method, path, parameters and body: no body
    ever reaches Redis (and a login's body is not even hashed).
    """

    def __init__(
        self,
        redis: Redis | str,
        *,
        prefix: str = "openprovider-ssl:",
        on_unavailable: Literal["fail", "local"] = "fail",
        timeout: float = 2.0,
        retry_interval: float = 5.0,
    ) -> None:
        redis_asyncio = lua.load_redis().asyncio
        if on_unavailable not in ("fail", "local"):
            raise ValueError(f'on_unavailable must be "fail" or "local", got {on_unavailable!r}')
        if not isinstance(prefix, str) or not prefix:
            raise ValueError("prefix must be a non-empty string")
        for name, value in (("timeout", timeout), ("retry_interval", retry_interval)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")
        self.prefix = prefix
        self.on_unavailable = on_unavailable
        self.retry_interval = float(retry_interval)
        self._timeout = float(timeout)
        self._url: str | None = None
        self._given: Redis | None = None
        self._own: Redis | None = None
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._limiters: weakref.WeakSet[RedisSharedLimiter] = weakref.WeakSet()
        if isinstance(redis, str):
            self._url = redis
            # Parsed now, so a wrong URL fails here rather than at the first call.
            options = redis_asyncio.connection.parse_url(redis)
            self.where = _where(options.get("host"), options.get("port"), options.get("db"))
        elif isinstance(redis, redis_asyncio.Redis):
            self._given = redis
            kwargs = redis.connection_pool.connection_kwargs
            self.where = _where(kwargs.get("host"), kwargs.get("port"), kwargs.get("db"))
        else:
            raise TypeError(f"redis must be a URL or a redis.asyncio.Redis, got {redis!r}")
        self.where += f", prefix {prefix!r}"

    def __repr__(self) -> str:
        # The URL may hold a password: only where it points is shown.
        return f"RedisLimits({self.where}, on_unavailable={self.on_unavailable!r})"

    def bind(self, settings: LimitsSettings) -> RedisSharedLimiter:
        """The handle one ``Limits`` uses (``Limits(backend=...)`` calls this)."""
        limiter = RedisSharedLimiter(self, settings)
        self._limiters.add(limiter)
        return limiter

    def connection(self) -> Redis:
        """The Redis client in use (for a URL, one per event loop, opened on first use)."""
        if self._given is not None:
            return self._given
        loop = asyncio.get_running_loop()
        if self._own is None or self._own_loop is not loop:
            assert self._url is not None
            self._own = lua.load_redis().asyncio.Redis.from_url(
                self._url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout
            )
            self._own_loop = loop
        return self._own

    def key(self, name: str) -> str:
        return self.prefix + name

    async def flush(self) -> None:
        """Wait until every answer learned so far has reached Redis."""
        for limiter in list(self._limiters):
            await limiter.flush()

    async def aclose(self) -> None:
        """Send what is still on its way to Redis, then close the connection pool made from a
        URL (a caller's ``Redis`` is left open). It may be used again afterwards."""
        await self.flush()
        own, self._own, self._own_loop = self._own, None, None
        if own is not None:
            await own.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def clear(self) -> int:
        """Delete every key under the prefix (after an IP was released by hand, or in tests);
        returns how many were deleted."""
        redis: Any = self.connection()
        deleted = 0
        async for key in redis.scan_iter(match=_glob_escape(self.prefix) + "*", count=500):
            deleted += await redis.delete(key)
        return int(deleted)


def _where(host: Any, port: Any, db: Any) -> str:
    if host is None:
        return "redis (unix socket)"
    return f"redis://{host}:{port or 6379}/{db or 0}"


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
