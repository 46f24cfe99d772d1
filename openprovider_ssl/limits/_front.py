"""Client-wide limits that every attempt of every call passes through, retries included.

* a rate limiter: a fixed ceiling if given, and an adaptive rate after 429 / 4007 answers,
  with Retry-After honoured for every caller (``_pacing``);
* Openprovider's identical-call budget (300 per 300 s on production, 50 per 100 s on the
  sandbox): the call that would get the IP blacklisted is refused, not made;
* a shared maintenance pause with one probe at a time (``_maintenance``), which a call waits
  in until its own ``RetryPolicy.maintenance_timeout`` runs out;
* a retry budget that retries draw from and successes refill;
* a stop after "access denied" (a blacklisted IP): every further call would fail the same way.

``Limits`` is the front door: it checks the settings, admits each request, marks it sent,
keeps the retry budget and the stop after "access denied", and leaves the rest, the rate, the
identical-call budget, the adaptive rate and the maintenance pause, to a backend: in memory
for this process (``_memory``, the default) or shared through Redis (``RedisLimits``), two
peers of one interface (``_backend``). Time comes from the injected clock and sleep, the
client's own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from .._protocol.messages import Request, SendMark
from ..errors import AccessDeniedError, OpenproviderError
from ._backend import LimitsBackend, LimitsSettings, SharedLimiter
from ._budgets import IdenticalCallBudget, RetryBudget
from ._memory import MemoryLimiter
from ._rules import MaintenanceDeadline

__all__ = [
    "Limits",
    "LimitsBackend",
    "LimitsSettings",
    "RetryBudget",
    "SendSlot",
    "SharedLimiter",
    "send_slot",
]

logger = logging.getLogger("openprovider_ssl")

SANDBOX_HOST_MARK = ".cte."


class SendSlot:
    """Where a task puts the ``SendMark`` of the call it is making.

    The bulk runner sets one in each worker's context, once, and puts in it the mark of the
    order the worker is on: after a cancellation it tells the orders whose request went out
    from those that never left. (A context variable set and reset around every order made the
    garbage collector run about three times as often.)
    """

    __slots__ = ("mark",)

    def __init__(self, mark: SendMark | None = None) -> None:
        self.mark = mark


send_slot: ContextVar[SendSlot | None] = ContextVar("openprovider_ssl_send_slot", default=None)


class Limits:
    """Every limit one client enforces; shared by all its calls (bulk or not).

    ``rate``: requests per second, never more in any one-second window (None, the default: no
    fixed ceiling); ``burst``: how many may leave at once after a quiet spell. ``adaptive``:
    after a 429 / 4007 answer, slow down to a fraction of the measured rate, hold every call
    until the Retry-After, then recover gradually (botocore's adaptive mode).
    ``identical_limit`` per ``identical_window`` seconds: Openprovider's identical-call budget.
    ``maintenance_probe_interval``: during a maintenance pause, one probe at most this often
    (how long each call waits in the pause is its ``RetryPolicy.maintenance_timeout``).
    ``retry_budget``: a ``RetryBudget``, or an int for a ``RetryBudget`` of that capacity (500
    by default), or None for no retry budget. ``backend``: where the rate, identical-call,
    adaptive and maintenance state lives (``RedisLimits(...)`` to share it between processes);
    None, the default, keeps it in memory, in this process.
    ``max_hold``: the longest a call waits out a Retry-After that holds every caller; a longer
    hold fails the call at once with ``RateLimitError`` (nothing sent), as the retry policy
    does with a Retry-After above its ``max_wait`` (a client's default limits use that).
    ``clock`` and ``sleep``: the time these limits wait on. A client runs on its limits' time,
    so give them to ``Client(clock=..., sleep=...)`` instead, unless these limits are built
    on their own (shared by several clients, or in a test).
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
        retry_budget: RetryBudget | int | None = 500,
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
        if isinstance(retry_budget, int) and not isinstance(retry_budget, bool):
            retry_budget = RetryBudget(retry_budget)
        elif retry_budget is not None and not isinstance(retry_budget, RetryBudget):
            raise TypeError("Limits retry_budget must be a RetryBudget, an int or None")
        if backend is not None and not callable(getattr(backend, "bind", None)):
            raise TypeError(f"Limits backend must be a LimitsBackend, got {type(backend).__name__}")
        if not callable(clock) or not callable(sleep):
            raise TypeError("Limits clock and sleep must be callables")
        self._clock = clock
        self._sleep = sleep
        self.retry_budget: RetryBudget | None = retry_budget
        self.denied: AccessDeniedError | None = None
        self.adaptive = adaptive
        self.max_hold = max_hold
        self.ceiling = rate
        settings = LimitsSettings(
            rate,
            burst,
            adaptive,
            identical_limit,
            identical_window,
            maintenance_probe_interval,
            max_hold,
            clock,
            sleep,
        )
        # This process's own state: the backend when none is given, else the fallback while
        # the given one is away (RedisLimits(on_unavailable="local")).
        self._local = MemoryLimiter(settings)
        self._state: SharedLimiter = self._local if backend is None else backend.bind(settings)

    @classmethod
    def for_base_url(cls, base_url: str, **options: Any) -> Limits:
        """Openprovider's published budget for ``base_url`` (50 per 100 s on the sandbox, else
        300 per 300 s); ``options`` are passed on to ``Limits``."""
        if SANDBOX_HOST_MARK in base_url:
            options.setdefault("identical_limit", 50)
            options.setdefault("identical_window", 100.0)
        return cls(**options)

    def __repr__(self) -> str:
        identical = self.identical
        return (
            f"Limits(rate={self.ceiling}, current_rate={self.rate}, "
            f"paused={self.paused}, identical={identical.limit}/"
            f"{identical.window:g}s, retry_budget={self.retry_budget!r}"
            + ("" if self._state is self._local else f", backend={self._state!r}")
            + ")"
        )

    @property
    def clock(self) -> Callable[[], float]:
        """The clock every wait of these limits, and of a client using them, is measured on."""
        return self._clock

    @property
    def sleep(self) -> Callable[[float], Awaitable[None]]:
        """The sleep every wait of these limits, and of a client using them, goes through."""
        return self._sleep

    @property
    def identical(self) -> IdenticalCallBudget:
        """The identical-call budget as counted in this process (with ``RedisLimits``: while
        Redis is away)."""
        return self._local.identical

    @property
    def paused(self) -> bool:
        """Whether the client is in a maintenance pause."""
        return self._state.paused or self._local.paused

    @property
    def rate(self) -> float | None:
        """The pace requests leave at now (None: not limited): the lower of ``rate`` and the
        adaptive rate."""
        return self._state.rate

    def admit(self, request: Request) -> bool:
        """Count ``request`` and return True if nothing holds it back (the usual case, and no
        await); False: ``acquire`` decides. Raises why it must not be sent, as ``acquire``."""
        if not self._state.admit(request):
            return False
        _leaves(request)
        return True

    async def acquire(self, request: Request, patience: MaintenanceDeadline | None = None) -> None:
        """Wait until ``request`` may be sent, or raise why it must not be. ``patience``: when
        the call gives up waiting for a maintenance pause to end (None: never)."""
        if self.admit(request):
            return
        if self.denied is not None:
            raise self.denied
        try:
            if not await self._state.acquire(request, patience):
                # The backend is away and the caller chose this process's own limits meanwhile.
                await self._local.acquire(request, patience)
        except AccessDeniedError as error:
            # Another process sharing these limits was denied: this one stops too.
            self._deny(error)
            raise
        _leaves(request)

    def record(
        self, request: Request, error: OpenproviderError | None, *, maintenance: bool = False
    ) -> None:
        """Learn from the outcome of one attempt.

        ``maintenance``: the answer succeeded but carried ``maintenance: true`` (a read during
        maintenance), which is no sign that the maintenance has ended.
        """
        state = self._state
        if error is None and not state.watching:
            return
        if isinstance(error, AccessDeniedError):
            self._deny(error)
        if not state.record(request, error, maintenance):
            self._local.record(request, error, maintenance)

    def _deny(self, error: AccessDeniedError) -> None:
        if self.denied is None:
            logger.error("access denied: this client stops making calls (%s)", error)
        # Blacklisted: every further call would fail the same way, so stop them all.
        self.denied = error
        self._local.deny(error)


def _leaves(request: Request) -> None:
    """Mark ``request`` as sent: its own mark, and the one in the task's slot (the bulk
    runner's)."""
    mark = request.mark
    if mark is not None:
        mark.sent = True
    slot = send_slot.get()
    if slot is not None and slot.mark is not None:
        slot.mark.sent = True


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
