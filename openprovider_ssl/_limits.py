"""Client-wide limits that every attempt of every call passes through.

The identical-call budget keeps the client from making the call that would get its IP
blacklisted by Openprovider (300 identical calls per 300 s on production, 50 per 100 s on the
sandbox). Time comes from an injectable clock.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable

from ._protocol import Request
from .errors import AccessDeniedError, IdenticalCallLimitError, OpenproviderError
from .retry import RetryBudget

__all__ = ["Limits"]

SANDBOX_HOST_MARK = ".cte."


class IdenticalCallBudget:
    """At most ``limit`` identical calls in any ``window`` seconds, refused before sending."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._calls: dict[Hashable, deque[float]] = {}
        self._next_prune = 0.0

    def spend(self, request: Request) -> None:
        now = self._clock()
        if now >= self._next_prune:
            self._prune(now)
        key = request.identity
        times = self._calls.get(key)
        if times is None:
            self._calls[key] = deque((now,))
            return
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            retry_after = times[0] + self.window - now
            raise IdenticalCallLimitError(request.operation, self.limit, self.window, retry_after)
        times.append(now)

    def _prune(self, now: float) -> None:
        # Forget calls older than the window so memory follows the window, not the run.
        horizon = now - self.window
        self._calls = {k: v for k, v in self._calls.items() if v and v[-1] > horizon}
        self._next_prune = now + self.window


class Limits:
    """Every limit one client enforces; shared by all its calls."""

    def __init__(
        self,
        *,
        identical_limit: int = 300,
        identical_window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.identical = IdenticalCallBudget(identical_limit, identical_window, clock)
        self.retry_budget: RetryBudget | None = None
        self.denied: AccessDeniedError | None = None

    @classmethod
    def for_base_url(cls, base_url: str) -> Limits:
        """Openprovider's published budget: 50 per 100 s on the sandbox, else 300 per 300 s."""
        if SANDBOX_HOST_MARK in base_url:
            return cls(identical_limit=50, identical_window=100.0)
        return cls()

    async def acquire(self, request: Request) -> None:
        """Wait until ``request`` may be sent, or raise why it must not be."""
        if self.denied is not None:
            raise self.denied
        self.identical.spend(request)

    def record(self, request: Request, error: OpenproviderError | None) -> None:
        """Learn from the outcome of one attempt."""
        if isinstance(error, AccessDeniedError):
            # Blacklisted: every further call would fail the same way, so stop them all.
            self.denied = error
