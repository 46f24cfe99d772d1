"""One ``Limits``' side of ``RedisLimits``: asks the Lua scripts, waits, reports answers.

What each outcome of the acquire script means here: OK, the call goes; PROBE, it goes as the
pause's single probe; WAIT, sleep (a rate slot, a Retry-After hold); PAUSED, poll until the
pause ends or this call's ``RetryPolicy.maintenance_timeout`` passes; REFUSED,
``IdenticalCallLimitError``; DENIED, ``AccessDeniedError``. Redis that cannot answer means
``LimiterUnavailableError``, or this process's own limits for a while
(``on_unavailable="local"``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import secrets
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..._protocol.messages import Request
from ...errors import (
    AccessDeniedError,
    IdenticalCallLimitError,
    LimiterUnavailableError,
    MaintenanceError,
    OpenproviderError,
    RateLimitError,
)
from .._backend import LimitsSettings
from .._rules import (
    MAX_EXCESS,
    MAX_SHARED_BLOCK,
    PROBE_LEASE,
    WINDOW,
    WINDOW_MARGIN,
    MaintenanceDeadline,
    Unanswered,
    ceiling_shape,
    timed_out,
)
from . import scripts as lua

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DENIED_TTL", "PAUSE_POLL", "RedisOwner", "RedisSharedLimiter"]

logger = logging.getLogger("openprovider_ssl")

#: While a pause holds, each process asks Redis at least this often whether it has ended.
PAUSE_POLL = 0.25
#: How long "access denied" stops every process sharing the limits (the IP must be released by
#: hand; delete the ``denied`` key to resume sooner).
DENIED_TTL = 600.0
_US = 1_000_000


class RedisOwner(Protocol):
    """What a limiter needs from the ``RedisLimits`` it was bound from: the connection, the
    keys, and what to do while Redis is away."""

    @property
    def where(self) -> str: ...

    @property
    def on_unavailable(self) -> Literal["fail", "local"]: ...

    @property
    def retry_interval(self) -> float: ...

    def key(self, name: str) -> str: ...

    def connection(self) -> Redis: ...


class RedisSharedLimiter:
    """One ``Limits``' side of ``RedisLimits``: asks the scripts, waits, reports answers.

    Within the process, callers that must wait queue in one FIFO lock and only the head asks
    Redis again, so a thousand waiting calls cost one Redis call per turn, not a thousand.
    Answers are reported by background tasks (``Limits.record`` is synchronous); the next
    ``acquire`` of this process waits for them, so it sees what its own answers taught.
    """

    #: Every call asks Redis, and every answer may teach it something.
    watching = True

    def __init__(self, owner: RedisOwner, settings: LimitsSettings) -> None:
        self._owner = owner
        self._settings = settings
        self._clock = settings.clock
        self._sleep = settings.sleep
        ceiling = settings.rate
        self._cap, burst = ceiling_shape(ceiling, settings.burst)
        self._ceiling = ceiling
        key = owner.key
        # Encoded once: packing two dozen arguments is much of the client's cost per call.
        self._keys = [
            key("denied"),
            key("pause"),
            key("probe"),
            key("hold"),
            key("adaptive"),
            key("meter"),
            key("tat"),
            key("log"),
        ]
        self._encoded_keys = [k.encode() for k in self._keys]
        self._throttled_keys = [key("hold"), key("adaptive"), key("meter"), key("throttles")]
        probe_interval = settings.maintenance_probe_interval
        self._pause_ttl_ms = math.ceil(2 * (probe_interval + PROBE_LEASE) * 1000)
        self._probe_interval_us = round(probe_interval * _US)
        args: list[Any] = [
            self._cap,
            round(WINDOW * _US),
            round(WINDOW_MARGIN * _US),
            0 if ceiling is None else WINDOW * _US / ceiling,
            burst,
            settings.identical_limit,
            round(settings.identical_window * _US),
            int(settings.adaptive),
            self._probe_interval_us,
            self._pause_ttl_ms,
            round(PROBE_LEASE * 1000),
            math.ceil((WINDOW + MAX_EXCESS + 1.0) * 1000),
        ]
        self._args = [str(arg).encode() for arg in args]
        self.paused = False
        self.rate: float | None = ceiling
        self._tag = secrets.token_hex(6) + ":"
        self._seq = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[None]] = set()
        # task -> (local time it left, token, Redis time it was counted at in µs)
        self._unanswered: Unanswered[tuple[float, str, int]] = Unanswered(self._cap)
        # task -> (token, the pause it probes)
        self._probes: dict[object, tuple[str, str]] = {}
        self._local_until = -math.inf
        self._away = False

    def __repr__(self) -> str:
        return repr(self._owner)

    # -- acquire ---------------------------------------------------------------------------

    def admit(self, request: Request) -> bool:
        # Redis is asked every time: nothing is admitted without awaiting it.
        return False

    async def acquire(self, request: Request, patience: MaintenanceDeadline | None) -> bool:
        self._bind_loop()
        if self._pending:
            await self.flush()
        if self._local_until > self._clock():
            return False
        identity = self._owner.key("id:" + lua.identity_hash(request))
        lock = self._lock
        wait: float | None = None
        try:
            if not lock.locked():
                wait = await self._try(request, identity, patience)
                if wait is None:
                    return True
            async with lock:
                while True:
                    if wait is not None:
                        await self._sleep(wait)
                    wait = await self._try(request, identity, patience)
                    if wait is None:
                        return True
        except _Unavailable as away:
            self._fall_back(away.cause)
            return False

    async def _try(
        self, request: Request, identity: str, patience: MaintenanceDeadline | None
    ) -> float | None:
        """Ask once: None if the request may go now (it is counted), else seconds to wait."""
        token = self._tag + str(next(self._seq))
        reply = await self._run(lua.ACQUIRE, [*self._encoded_keys, identity], [token, *self._args])
        status = int(reply[0])
        if status in (lua.OK, lua.PROBE):
            task = asyncio.current_task()
            self._note_rate(reply[2])
            self.paused = status == lua.PROBE
            if status == lua.PROBE:
                self._probes[task] = (token, lua.text(reply[3]))
                if task is not None:
                    task.add_done_callback(self._probe_ended)
            if self._cap:
                self._unanswered.left(task, (self._clock(), token, int(reply[1])))
            self._back()
            return None
        wait = int(reply[1]) / _US
        if status == lua.WAIT:
            self._note_rate(reply[2])
            self._back()
            # A little late rather than early: an early wake costs one more round trip.
            return wait + 0.0005
        if status == lua.PAUSED:
            self.paused = True
            self._back()
            return self._paused_wait(reply, wait, patience)
        if status == lua.REFUSED:
            settings = self._settings
            raise IdenticalCallLimitError(
                request.operation, settings.identical_limit, settings.identical_window, wait
            )
        raise self._denied(lua.text(reply[2]))

    def _paused_wait(
        self, reply: Sequence[Any], wait: float, patience: MaintenanceDeadline | None
    ) -> float:
        if patience is not None:
            now = self._clock()
            deadline = patience.start(now)
            if now >= deadline:
                cause = MaintenanceError(
                    _int(reply[2], 4005),
                    lua.text(reply[3]),
                    http_status=_int(reply[4], 0),
                    maintenance=True,
                )
                raise timed_out(cause, patience.timeout)
            wait = min(wait, deadline - now)
        return max(0.005, min(wait, PAUSE_POLL))

    def _denied(self, stored: str) -> AccessDeniedError:
        try:
            data = json.loads(stored)
            code, desc, status = int(data["code"]), str(data["desc"]), int(data["status"])
        except (ValueError, KeyError, TypeError):
            code, desc, status = 10005, "Access denied", 0
        error = AccessDeniedError(code, desc, http_status=status)
        error.add_note(
            f"another client sharing these limits ({self._owner.where}) was denied access, so "
            f"every one of them stops for {DENIED_TTL:g} s (or until the key "
            f"{self._owner.key('denied')!r} is deleted, once the IP is released)"
        )
        return error

    def _note_rate(self, adaptive: Any) -> None:
        text = lua.text(adaptive)
        rate = float(text) if text else None
        ceiling = self._ceiling
        if ceiling is None or rate is None:
            self.rate = ceiling if rate is None else rate
        else:
            self.rate = min(ceiling, rate)

    # -- record ----------------------------------------------------------------------------

    def record(self, request: Request, error: OpenproviderError | None, maintenance: bool) -> bool:
        if self._local_until > self._clock():
            return False
        task = asyncio.current_task()
        sent = self._unanswered.sent.pop(task, None)
        if sent is not None:
            self._answered(*sent)
        probe = self._probes.pop(task, None)
        if isinstance(error, AccessDeniedError):
            data = {"code": error.code, "desc": error.desc, "status": error.http_status}
            self._spawn(self._deny(json.dumps(data)))
        elif probe is not None:
            if isinstance(error, MaintenanceError) or (error is None and maintenance):
                self._spawn(self._maintenance("failed", *probe))
            else:
                self.paused = False
                self._spawn(self._maintenance("end", *probe))
        elif isinstance(error, MaintenanceError):
            self.paused = True
            self._spawn(self._maintenance("begin", "", "", error))
        if isinstance(error, RateLimitError):
            self._spawn(self._throttled(error))
        return True

    def _answered(self, left: float, token: str, counted: int) -> None:
        late = self._unanswered.late(self._clock() - left)
        if late:
            # Slow to get out: it may have reached the server late, so its window ends later.
            score = counted + round(late * _US)
            self._spawn(self._run_quietly(lua.ANSWERED, [self._keys[7]], [token, score]))

    async def _deny(self, stored: str) -> None:
        redis: Any = self._owner.connection()
        await self._quietly(redis.set(self._keys[0], stored, px=round(DENIED_TTL * 1000)))

    async def _maintenance(
        self, op: str, token: str, since: str, error: MaintenanceError | None = None
    ) -> None:
        code, desc, status = (
            ("", "", "") if error is None else (error.code, error.desc, error.http_status)
        )
        args = [op, token, since, self._probe_interval_us, self._pause_ttl_ms, code, desc, status]
        await self._run_quietly(lua.MAINTENANCE, self._keys[1:3], args)

    async def _throttled(self, error: RateLimitError) -> None:
        retry_after = round((error.retry_after or 0.0) * _US)
        args = [
            retry_after,
            round(MAX_SHARED_BLOCK * _US),
            int(self._settings.adaptive),
            self._tag + str(next(self._seq)),  # this throttle, among the recent ones
        ]
        reply = await self._run_quietly(lua.THROTTLED, self._throttled_keys, args)
        if reply is None:
            return
        rate, cut = reply
        before = self.rate
        # "" (no rate binds) is left for the next acquire to confirm: throttles reported together
        # come back in any order, and one from before a cut must not undo it here.
        if lua.text(rate):
            self._note_rate(rate)
        if int(cut) and self.rate is not None and self.rate != before:
            logger.info(
                "throttled by Openprovider: every client sharing %s slows down to %.1f requests/s",
                self._owner.where,
                self.rate,
            )

    def _probe_ended(self, task: asyncio.Task[Any]) -> None:
        # The probe's task ended without an answer (cancelled, most likely): let another go.
        probe = self._probes.pop(task, None)
        if probe is not None and not task.get_loop().is_closed():
            self._spawn(self._maintenance("release", *probe))

    # -- plumbing ----------------------------------------------------------------------------

    async def flush(self) -> None:
        while self._pending:
            await asyncio.wait(list(self._pending))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _run(
        self, script: lua.Script, keys: Sequence[str | bytes], args: Sequence[Any]
    ) -> Any:
        try:
            return await script(self._owner.connection(), keys, args)
        except lua.unavailable_errors() as exc:
            raise _Unavailable(exc) from exc

    async def _run_quietly(
        self, script: lua.Script, keys: Sequence[str | bytes], args: Sequence[Any]
    ) -> Any:
        return await self._quietly(script(self._owner.connection(), keys, args))

    async def _quietly(self, work: Any) -> Any:
        """Report an answer; if Redis is away, say so (the next acquire decides what follows)."""
        try:
            return await work
        except lua.unavailable_errors() as exc:
            logger.warning(
                "could not share an answer with the limits in Redis (%s): %s: %s",
                self._owner.where,
                type(exc).__name__,
                exc,
            )
            return None

    def _fall_back(self, cause: BaseException) -> None:
        if self._owner.on_unavailable == "fail":
            raise LimiterUnavailableError(self._owner.where, cause) from cause
        if not self._away:
            logger.warning(
                "the shared limits in Redis (%s) are unavailable (%s: %s): this process falls "
                "back to its own limits, which other processes do not see; trying Redis again "
                "every %g s",
                self._owner.where,
                type(cause).__name__,
                cause,
                self._owner.retry_interval,
            )
        self._away = True
        self._local_until = self._clock() + self._owner.retry_interval

    def _back(self) -> None:
        if self._away:
            self._away = False
            logger.warning(
                "the shared limits in Redis (%s) are reachable again: shared limits resume",
                self._owner.where,
            )

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A lock and tasks belong to one loop; a new asyncio.run starts afresh.
            self._loop = loop
            self._lock = asyncio.Lock()
            self._pending = set()
            self._unanswered.sent = {}
            self._probes = {}


class _Unavailable(Exception):
    def __init__(self, cause: BaseException) -> None:
        self.cause = cause


def _int(value: Any, default: int) -> int:
    try:
        return int(lua.text(value))
    except ValueError:
        return default
