"""The two budgets of ``Limits``: Openprovider's identical-call budget and the retry budget."""

from __future__ import annotations

import math
import operator
from array import array
from collections import deque
from collections.abc import Callable

from .._protocol.messages import Request
from ..errors import (
    IdenticalCallLimitError,
    MaintenanceError,
    OpenproviderError,
    RateLimitError,
    TransportError,
)

__all__ = ["IdenticalCallBudget", "RetryBudget"]

_BITS = 14
_WIDTH = 1 << _BITS
_MASK = _WIDTH - 1
#: The window is kept in this many slices; a call counts for one window plus up to one slice.
_SLICES = 30
_SLICE_MAX = 0xFFFF


class IdenticalCallBudget:
    """At most ``limit`` identical calls in any ``window`` seconds, refused before sending.

    Counts live in a count-min sketch over time slices: 16,384 counters for the whole window
    plus one array of counts per slice (30 per window, 32 kB each, made as calls come), so
    memory stays under 1 MB however many distinct calls a run makes, and a call costs a hash
    and two array updates. The count is never lower than the truth: a call counts for
    ``window`` plus up to one slice (1/30 of the window), and distinct calls may share a
    counter, so a refusal may come a little early, never late. With the published limits a
    distinct call is wrongly refused only beyond about 2,000 calls a second on the sandbox
    (50 per 100 s) or 10,000 on production (300 per 300 s); limits under about 20 are for
    tests with few calls.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._slice = window / _SLICES
        # Empty until the first call: a client that makes none costs no memory.
        self._total: array[int] = array("I")
        # (the time the slice stops counting, its counts); the last one is open
        self._slices: deque[tuple[float, array[int]]] = deque()
        self._counts: array[int] = array("H")
        self._slice_end = -math.inf
        self._next_expiry = math.inf

    def spend(self, request: Request, now: float | None = None) -> None:
        if now is None:
            now = self._clock()
        if now >= self._next_expiry:
            self._expire(now)
        if now >= self._slice_end:
            self._open_slice(now)
        total, counts = self._total, self._counts
        i = hash(request.identity) & _MASK
        if total[i] >= self.limit:
            retry_after = self._retry_after(i, now)
            raise IdenticalCallLimitError(request.operation, self.limit, self.window, retry_after)
        total[i] += 1
        if counts[i] < _SLICE_MAX:
            # (A saturated slice forgets less when it expires: the total stays on the safe side.)
            counts[i] += 1

    def _open_slice(self, now: float) -> None:
        start = math.floor(now / self._slice) * self._slice
        self._slice_end = start + self._slice
        if not self._total:
            self._total = array("I", bytes(4 * _WIDTH))
        self._counts = array("H", bytes(2 * _WIDTH))
        self._slices.append((self._slice_end + self.window, self._counts))
        self._next_expiry = self._slices[0][0]

    def _expire(self, now: float) -> None:
        slices, total = self._slices, self._total
        while slices and slices[0][0] <= now:
            _, counts = slices.popleft()
            total = array("I", map(operator.sub, total, counts))
        self._total = total
        self._next_expiry = slices[0][0] if slices else math.inf
        if not slices:
            self._slice_end = -math.inf

    def _retry_after(self, i: int, now: float) -> float:
        """Seconds until enough slices expire for this call to pass again."""
        count = self._total[i]
        for expires, counts in self._slices:
            count -= counts[i]
            if count < self.limit:
                return max(0.0, expires - now)
        return self.window


class RetryBudget:
    """botocore's retry budget: a bucket that retries draw from and successes refill.

    A retry after a server error costs ``retry_cost``, after a timeout or a connection error
    ``timeout_cost``; every successful call puts ``refill`` back, up to ``capacity``. When a
    retry costs more than is left it is not made (``RetryBudgetExhaustedError``), so thousands
    of calls failing at once cannot multiply the load on a failing API. Retries after
    maintenance and throttling answers are free: the maintenance pause and the adaptive rate
    already keep those from hammering the API.
    """

    def __init__(
        self, capacity: int = 500, *, retry_cost: int = 5, timeout_cost: int = 10, refill: int = 1
    ) -> None:
        for name, value in (
            ("capacity", capacity),
            ("retry_cost", retry_cost),
            ("timeout_cost", timeout_cost),
            ("refill", refill),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"RetryBudget {name} must be an integer >= 0, got {value!r}")
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.refill = refill
        self.available = capacity

    def __repr__(self) -> str:
        return f"RetryBudget(available={self.available}, capacity={self.capacity})"

    def withdraw(self, error: OpenproviderError) -> bool:
        """Pay for one retry after ``error``; False if the quota cannot pay (do not retry)."""
        if isinstance(error, MaintenanceError | RateLimitError):
            return True
        cost = self.timeout_cost if isinstance(error, TransportError) else self.retry_cost
        if cost > self.available:
            return False
        self.available -= cost
        return True

    def deposit(self) -> None:
        """A call succeeded."""
        if self.available < self.capacity:
            self.available = min(self.capacity, self.available + self.refill)
