"""The in-memory backend of ``Limits``: the state of one process, the peer of ``RedisLimits``.

It keeps the rate (``_pacing``), the identical-call budget (``_budgets``) and the maintenance
pause (``_maintenance``) in this process. It is the backend of a ``Limits`` given none, and
the fallback of one whose ``RedisLimits`` is away (``on_unavailable="local"``).

When nothing limits (the usual case), ``admit`` and ``record`` together cost about 2 µs.
"""

from __future__ import annotations

import asyncio
import logging

from .._protocol.messages import Request
from ..errors import (
    AccessDeniedError,
    IdenticalCallLimitError,
    MaintenanceError,
    OpenproviderError,
    RateLimitError,
)
from ._backend import LimitsSettings
from ._budgets import IdenticalCallBudget
from ._maintenance import MaintenancePause
from ._pacing import AdaptiveRate, Pacer
from ._rules import MAX_SHARED_BLOCK, MaintenanceDeadline

__all__ = ["MemoryLimiter"]

logger = logging.getLogger("openprovider_ssl")


class MemoryLimiter:
    """The rate, the identical-call budget, the adaptive rate and the maintenance pause of one
    ``Limits``, in this process: a ``SharedLimiter`` like ``RedisLimits``' (``Limits`` makes
    one from its settings when given no backend). ``denied``: set once access was denied."""

    def __init__(self, settings: LimitsSettings) -> None:
        clock = settings.clock
        self._clock = clock
        self._adaptive = settings.adaptive
        self._max_hold = settings.max_hold
        self.identical = IdenticalCallBudget(
            settings.identical_limit, settings.identical_window, clock
        )
        self.pacer = Pacer(settings.rate, settings.burst, clock, settings.sleep)
        self.pause = MaintenancePause(settings.maintenance_probe_interval, clock, settings.sleep)
        self._rate_adapter = AdaptiveRate(clock)
        self.denied: AccessDeniedError | None = None
        self._free = True
        self.watching = False
        self._refresh(clock())

    def __repr__(self) -> str:
        return "in memory"

    @property
    def paused(self) -> bool:
        return self.pause.active

    @property
    def rate(self) -> float | None:
        return self.pacer.rate

    def admit(self, request: Request) -> bool:
        if not self._free:
            return False
        now = self._clock()
        self._rate_adapter.observe(now)
        self.identical.spend(request, now)
        return True

    async def acquire(self, request: Request, patience: MaintenanceDeadline | None) -> bool:
        pause, pacer = self.pause, self.pacer
        while True:
            if self.denied is not None:
                raise self.denied
            if pause.active:
                await pause.wait(patience)
            now = self._clock()
            if pacer.blocked_until - now > self._max_hold:
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
        return True

    def record(self, request: Request, error: OpenproviderError | None, maintenance: bool) -> bool:
        now = self._clock()
        if self.pacer.log is not None:
            self.pacer.log.answered(asyncio.current_task(), now)
        pause = self.pause
        if isinstance(error, AccessDeniedError):
            self.denied = error
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
            self.pacer.set_adaptive(self._rate_adapter.succeeded(now), now)
        self._refresh(now)
        return True

    def deny(self, error: AccessDeniedError) -> None:
        """Access was denied (here or in another process sharing the limits): stop."""
        self.denied = error
        self._free = False

    def _throttled(self, error: RateLimitError, now: float) -> None:
        pacer = self.pacer
        if error.retry_after:
            pacer.block(now + min(error.retry_after, MAX_SHARED_BLOCK))
            self._rate_adapter.hold(now, pacer.blocked_until)
        if self._adaptive:
            before = self._rate_adapter.rate
            rate = self._rate_adapter.throttled(now, pacer.blocked_until)
            if rate != before:
                logger.info("throttled by Openprovider: slowing down to %.1f requests/s", rate)
            pacer.set_adaptive(rate, now)

    def _refresh(self, now: float) -> None:
        pause, pacer = self.pause, self.pacer
        self.watching = pause.active or self._rate_adapter.rate is not None or pacer.log is not None
        self._free = self.denied is None and not pause.active and not pacer.engaged(now)


def _held(remaining: float) -> RateLimitError:
    return RateLimitError(
        4007,
        "held by an earlier Retry-After; not sent",
        retry_after=remaining,
    )
