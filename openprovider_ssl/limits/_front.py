"""Client-wide limits that every attempt of every call passes through, retries included.

* a rate limiter: a fixed ceiling if given, and an adaptive rate after 429 / 4007 answers,
  with Retry-After honoured for every caller (``_pacing``);
* Openprovider's identical-call budget (300 per 300 s on production, 50 per 100 s on the
  sandbox): the call that would get the IP blacklisted is refused, not made;
* a shared maintenance pause with one probe at a time (``_maintenance``);
* a retry budget that retries draw from and successes refill;
* a stop after "access denied" (a blacklisted IP): every further call would fail the same way.

When nothing limits (the usual case), ``acquire`` and ``record`` together cost about 2 µs.
Time comes from the injected clock and sleep.

The rate, the identical-call budget, the adaptive rate and the maintenance pause live in this
process unless a ``backend`` keeps them elsewhere (``RedisLimits``: shared by every process
that points at the same Redis and key prefix); the retry budget always stays in the process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, NamedTuple, Protocol

from .._protocol.messages import Request
from ..errors import (
    AccessDeniedError,
    IdenticalCallLimitError,
    MaintenanceError,
    OpenproviderError,
    RateLimitError,
)
from ._budgets import IdenticalCallBudget, RetryQuota
from ._maintenance import MaintenancePause
from ._pacing import MAX_SHARED_BLOCK, AdaptiveRate, Pacer

__all__ = ["Limits", "LimitsBackend", "LimitsSettings", "RetryQuota", "SharedLimiter"]

logger = logging.getLogger("openprovider_ssl")

SANDBOX_HOST_MARK = ".cte."


class SendMark:
    """Set when a request of the current task leaves the limiter (it may then have been sent).

    The bulk runner puts one in the context of each order it works on, so that after a
    cancellation it can tell the orders whose request went out from those that never left.
    """

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = False


send_mark: ContextVar[SendMark | None] = ContextVar("openprovider_ssl_send_mark", default=None)


class LimitsSettings(NamedTuple):
    """What one ``Limits`` was asked to enforce, as a backend receives it."""

    rate: float | None
    burst: int
    adaptive: bool
    identical_limit: int
    identical_window: float
    maintenance_probe_interval: float
    maintenance_timeout: float | None
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]


class SharedLimiter(Protocol):
    """One ``Limits``' handle on state kept outside the process (what ``bind`` returns).

    ``paused`` and ``rate`` are the pause and the pace as this process last saw them.
    """

    @property
    def paused(self) -> bool: ...

    @property
    def rate(self) -> float | None: ...

    async def acquire(self, request: Request) -> bool:
        """Wait until ``request`` may be sent and count it, or raise why it must not be;
        False: the backend is away and the caller chose local limits meanwhile."""
        ...

    def record(self, request: Request, error: OpenproviderError | None, maintenance: bool) -> bool:
        """Share what one answer teaches; False: the local limits should learn it instead."""
        ...


class LimitsBackend(Protocol):
    """Where the shared state of ``Limits`` lives: rate slots, identical-call counts, the
    adaptive rate, the maintenance pause. ``None`` (the default) keeps it in ``Limits`` itself,
    in memory, for this process only; ``RedisLimits`` shares it between processes."""

    def bind(self, settings: LimitsSettings) -> SharedLimiter: ...


class Limits:
    """Every limit one client enforces; shared by all its calls (bulk or not).

    ``rate``: requests per second, never more in any one-second window (None, the default: no
    fixed ceiling); ``burst``: how many may leave at once after a quiet spell. ``adaptive``:
    after a 429 / 4007 answer, slow down to a fraction of the measured rate, hold every call
    until the Retry-After, then recover gradually (botocore's adaptive mode).
    ``identical_limit`` per ``identical_window`` seconds: Openprovider's identical-call budget.
    ``maintenance_probe_interval``: during a maintenance pause, one probe at most this often;
    ``maintenance_timeout``: how long one call waits in the pause before giving up (None:
    no limit). ``retry_budget``: a ``RetryQuota``, or an int for a ``RetryQuota`` of that
    capacity (500 by default), or None for no retry budget.
    ``clock`` and ``sleep`` are injectable so tests take milliseconds. ``backend``: where the
    rate, identical-call, adaptive and maintenance state lives (``RedisLimits(...)`` to share
    it between processes); None, the default, keeps it in memory, in this process.
    ``max_hold``: the longest a call waits out a Retry-After that holds every caller; a longer
    hold fails the call at once with ``RateLimitError`` (nothing sent), as the retry policy
    does with a Retry-After above its ``max_wait`` (a client's default limits use that).
    """

    def __init__(
        self,
        *,
        rate: float | None = None,
        burst: int = 5,
        adaptive: bool = True,
        identical_limit: int = 300,
        identical_window: float = 300.0,
        maintenance_probe_interval: float = 5.0,
        maintenance_timeout: float | None = 600.0,
        retry_budget: RetryQuota | int | None = 500,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        backend: LimitsBackend | None = None,
        max_hold: float = 30.0,
    ) -> None:
        _check_number("rate", rate, optional=True)
        _check_number("max_hold", max_hold, zero=True)
        _check_int("burst", burst)
        _check_int("identical_limit", identical_limit)
        _check_number("identical_window", identical_window)
        _check_number("maintenance_probe_interval", maintenance_probe_interval, zero=True)
        _check_number("maintenance_timeout", maintenance_timeout, optional=True, zero=True)
        if isinstance(retry_budget, int) and not isinstance(retry_budget, bool):
            retry_budget = RetryQuota(retry_budget)
        elif retry_budget is not None and not isinstance(retry_budget, RetryQuota):
            raise TypeError("Limits retry_budget must be a RetryQuota, an int or None")
        if backend is not None and not callable(getattr(backend, "bind", None)):
            raise TypeError(f"Limits backend must be a LimitsBackend, got {type(backend).__name__}")
        self._clock = clock
        self.identical = IdenticalCallBudget(identical_limit, identical_window, clock)
        self.retry_budget: RetryQuota | None = retry_budget
        self.denied: AccessDeniedError | None = None
        self.adaptive = adaptive
        self.max_hold = max_hold
        self._pacer = Pacer(rate, burst, clock, sleep)
        self._rate_adapter = AdaptiveRate(clock)
        self._pause = MaintenancePause(
            maintenance_probe_interval, maintenance_timeout, clock, sleep
        )
        self._shared: SharedLimiter | None = None
        if backend is not None:
            settings = LimitsSettings(
                rate,
                burst,
                adaptive,
                identical_limit,
                identical_window,
                maintenance_probe_interval,
                maintenance_timeout,
                clock,
                sleep,
            )
            self._shared = backend.bind(settings)
        self._free = True
        self._watching = False
        self._refresh(clock())

    @classmethod
    def for_base_url(cls, base_url: str, **options: Any) -> Limits:
        """Openprovider's published budget for ``base_url`` (50 per 100 s on the sandbox, else
        300 per 300 s); ``options`` are passed on to ``Limits``."""
        if SANDBOX_HOST_MARK in base_url:
            options.setdefault("identical_limit", 50)
            options.setdefault("identical_window", 100.0)
        return cls(**options)

    def __repr__(self) -> str:
        return (
            f"Limits(rate={self._pacer.ceiling}, current_rate={self.rate}, "
            f"paused={self.paused}, identical={self.identical.limit}/"
            f"{self.identical.window:g}s, retry_budget={self.retry_budget!r}"
            + ("" if self._shared is None else f", backend={self._shared!r}")
            + ")"
        )

    @property
    def paused(self) -> bool:
        """Whether the client is in a maintenance pause."""
        if self._shared is not None:
            return self._shared.paused or self._pause.active
        return self._pause.active

    @property
    def rate(self) -> float | None:
        """The pace requests leave at now (None: not limited): the lower of ``rate`` and the
        adaptive rate."""
        if self._shared is not None:
            return self._shared.rate
        return self._pacer.rate

    def admit(self, request: Request) -> bool:
        """Count ``request`` and return True if nothing holds it back (the usual case, and no
        await); False: ``acquire`` decides. Raises why it must not be sent, as ``acquire``."""
        if not self._free:
            return False
        now = self._clock()
        self._rate_adapter.observe(now)
        self.identical.spend(request, now)
        mark = send_mark.get()
        if mark is not None:
            mark.sent = True
        return True

    async def acquire(self, request: Request) -> None:
        """Wait until ``request`` may be sent, or raise why it must not be."""
        if self.admit(request):
            return
        await self._acquire_limited(request)
        mark = send_mark.get()
        if mark is not None:
            mark.sent = True

    async def _acquire_limited(self, request: Request) -> None:
        if self._shared is not None:
            if self.denied is not None:
                raise self.denied
            try:
                if await self._shared.acquire(request):
                    return
            except AccessDeniedError as error:
                # Another process sharing these limits was denied: this one stops too.
                self._deny(error)
                raise
            # The backend is away and the caller chose this process's own limits meanwhile.
        pause, pacer = self._pause, self._pacer
        while True:
            if self.denied is not None:
                raise self.denied
            if pause.active:
                await pause.wait()
            now = self._clock()
            if pacer.blocked_until - now > self.max_hold:
                raise _held(pacer.blocked_until - now)
            if pacer.engaged(now):
                await pacer.wait()
            if self.denied is not None:
                raise self.denied
            # A pause may have begun while this call waited for its turn.
            if not pause.active or pause.is_probe(asyncio.current_task()):
                break
        now = self._clock()
        try:
            self.identical.spend(request, now)
        except IdenticalCallLimitError:
            pause.release(asyncio.current_task())
            raise
        self._rate_adapter.observe(now)
        self._refresh(now)

    def record(
        self, request: Request, error: OpenproviderError | None, *, maintenance: bool = False
    ) -> None:
        """Learn from the outcome of one attempt.

        ``maintenance``: the answer succeeded but carried ``maintenance: true`` (a read during
        maintenance), which is no sign that the maintenance has ended.
        """
        if error is None and not self._watching:
            return
        shared = self._shared
        if shared is not None:
            if isinstance(error, AccessDeniedError):
                self._deny(error)
            if shared.record(request, error, maintenance):
                return
        self._learn(error, maintenance, self._clock())

    def _learn(self, error: OpenproviderError | None, maintenance: bool, now: float) -> None:
        if self._pacer.log is not None:
            self._pacer.log.answered(asyncio.current_task(), now)
        pause = self._pause
        if isinstance(error, AccessDeniedError):
            self._deny(error)
            pause.end(now)
        elif pause.active:
            # Only the probe's answer counts: others were sent before the pause began.
            if pause.is_probe(asyncio.current_task()):
                if isinstance(error, MaintenanceError) or (error is None and maintenance):
                    pause.probe_failed(now)
                else:
                    pause.end(now)
        elif isinstance(error, MaintenanceError):
            pause.begin(error, now)
        if isinstance(error, RateLimitError):
            self._throttled(error, now)
        elif self._rate_adapter.rate is not None:
            self._pacer.set_adaptive(self._rate_adapter.succeeded(now), now)
        self._refresh(now)

    def _deny(self, error: AccessDeniedError) -> None:
        if self.denied is None:
            logger.error("access denied: this client stops making calls (%s)", error)
        # Blacklisted: every further call would fail the same way, so stop them all.
        self.denied = error

    def _throttled(self, error: RateLimitError, now: float) -> None:
        pacer = self._pacer
        if error.retry_after:
            pacer.block(now + min(error.retry_after, MAX_SHARED_BLOCK))
            self._rate_adapter.hold(now, pacer.blocked_until)
        if self.adaptive:
            before = self._rate_adapter.rate
            rate = self._rate_adapter.throttled(now, pacer.blocked_until)
            if rate != before:
                logger.info("throttled by Openprovider: slowing down to %.1f requests/s", rate)
            pacer.set_adaptive(rate, now)

    def _refresh(self, now: float) -> None:
        if self._shared is not None:
            # Every call asks the backend, and every answer may teach it something.
            self._watching, self._free = True, False
            return
        self._watching = (
            self._pause.active or self._rate_adapter.rate is not None or self._pacer.log is not None
        )
        self._free = self.denied is None and not self._pause.active and not self._pacer.engaged(now)


def _check_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Limits {name} must be an integer >= 1, got {value!r}")


def _check_number(name: str, value: Any, *, optional: bool = False, zero: bool = False) -> None:
    if value is None and optional:
        return
    ok = not isinstance(value, bool) and isinstance(value, int | float)
    if not ok or not (value >= 0 if zero else value > 0) or value == float("inf"):
        least = ">= 0" if zero else "> 0"
        raise ValueError(f"Limits {name} must be a finite number {least}, got {value!r}")


def _held(remaining: float) -> RateLimitError:
    return RateLimitError(
        4007,
        "held by an earlier Retry-After; not sent",
        retry_after=remaining,
    )
