"""When and how long to retry: a small frozen config turned into ``tenacity.AsyncRetrying``.

The first attempt runs outside tenacity, so a call that succeeds at once pays nothing for the
retry machinery; tenacity takes over only after a failure worth retrying.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import attrs
import tenacity

from .errors import MaintenanceError, OpenproviderError, RateLimitError, RetryBudgetExhaustedError

__all__ = ["RetryPolicy"]

T = TypeVar("T")
logger = logging.getLogger("openprovider_ssl")


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0 or math.isinf(value):
        raise ValueError(f"RetryPolicy.{attribute.name} must be a finite number >= 0")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How the client retries failures that are safe to retry.

    ``attempts`` counts every attempt, the first included, for ordinary failures (HTTP 5xx,
    3006, 429/4007, connection errors). Maintenance is counted apart: a call waits for it to
    end, in the client-wide maintenance pause and ``maintenance_wait`` between its tries, for
    up to ``maintenance_timeout`` seconds from the first maintenance it meets; it then fails
    with ``MaintenanceError``. No single wait is longer than ``max_wait``; a ``Retry-After``
    above it is not waited for but raised. ``readback_delay``: how long after an uncertain
    renew its order is read back.

    A policy is configuration only, so one can be shared by many clients: the waits go
    through the client's sleep and are measured on its clock (``Client(clock=..., sleep=...)``).
    ``random`` (the jitter) is injectable so tests are predictable.
    """

    attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    initial_wait: float = attrs.field(default=0.5, validator=_positive)
    multiplier: float = attrs.field(default=2.0, validator=attrs.validators.ge(1.0))
    max_wait: float = attrs.field(default=30.0, validator=_positive)
    maintenance_wait: float = attrs.field(default=1.0, validator=_positive)
    maintenance_timeout: float = attrs.field(default=600.0, validator=_positive)
    readback_delay: float = attrs.field(default=2.0, validator=_positive)
    random: Callable[[], float] = attrs.field(default=random.random, repr=False, eq=False)

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that makes one attempt and never retries."""
        return cls(attempts=1, maintenance_timeout=0.0)

    def wait_for(self, error: OpenproviderError, failures: int) -> float | None:
        """Seconds to wait after the ``failures``-th failure, or None: do not retry."""
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            if error.retry_after > self.max_wait:
                return None
            jitter = self.random() * min(1.0, self.initial_wait)
            return min(error.retry_after + jitter, self.max_wait)
        if isinstance(error, MaintenanceError):
            base = self.maintenance_wait
        else:
            base = self.initial_wait * self.multiplier ** (failures - 1)
        base = min(base, self.max_wait)
        # "Equal jitter": half fixed, half random, so many workers do not retry in step.
        return base / 2 + self.random() * base / 2


class _Deadline(Protocol):
    """When a call stops waiting for maintenance to end (``limits.MaintenanceDeadline``)."""

    def start(self, now: float) -> float:
        """Start counting at ``now`` unless counting already; the deadline."""
        ...


class _Budget(Protocol):
    """A client-wide bucket that retries draw from and successes refill."""

    def withdraw(self, error: OpenproviderError) -> bool: ...

    def deposit(self) -> None: ...


async def after_failure(
    policy: RetryPolicy,
    attempt: Callable[[], Awaitable[T]],
    first: OpenproviderError,
    *,
    operation: str,
    idempotent: bool,
    budget: _Budget | None,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    patience: _Deadline,
) -> T:
    """Retry ``attempt`` under tenacity, after a first attempt failed with ``first``.

    Raises ``first`` at once when it is not worth retrying. Every wait goes through ``sleep``;
    maintenance is retried while the next try would start before ``patience`` runs out (on
    ``clock``), the same deadline that bounds the call's waits in the maintenance pause.
    """
    ordinary = maintenance = 0

    def next_wait(error: BaseException | None) -> float | None:
        nonlocal ordinary, maintenance
        if not isinstance(error, OpenproviderError) or not error.retryable(idempotent=idempotent):
            return None
        if isinstance(error, MaintenanceError):
            maintenance += 1
            now = clock()
            deadline = patience.start(now)
            # Without a wait between tries only the attempts bound them (a clock that never
            # moves must not retry for ever).
            if policy.maintenance_wait == 0 and maintenance > policy.attempts:
                return None
            wait = policy.wait_for(error, ordinary + maintenance)
            if wait is None or now + wait > deadline:
                return None
        else:
            ordinary += 1
            if ordinary >= policy.attempts:
                return None
            wait = policy.wait_for(error, ordinary + maintenance)
        if wait is not None and budget is not None and not budget.withdraw(error):
            raise RetryBudgetExhaustedError(error) from error
        return wait

    planned = next_wait(first)
    if planned is None:
        raise first
    _log_retry(operation, first, planned)
    await sleep(planned)

    def should_retry(state: tenacity.RetryCallState) -> bool:
        nonlocal planned
        assert state.outcome is not None
        if not state.outcome.failed:
            return False
        planned = next_wait(state.outcome.exception())
        return planned is not None

    def wait(state: tenacity.RetryCallState) -> float:
        return planned or 0.0

    def before_sleep(state: tenacity.RetryCallState) -> None:
        assert state.outcome is not None
        error = state.outcome.exception()
        assert isinstance(error, OpenproviderError)
        _log_retry(operation, error, planned or 0.0)

    retrying = tenacity.AsyncRetrying(
        retry=should_retry,
        wait=wait,
        stop=tenacity.stop_never,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    result: T = await retrying(attempt)
    if budget is not None:
        budget.deposit()
    return result


def _log_retry(operation: str, error: OpenproviderError, wait: float) -> None:
    logger.debug("%s failed (%s); retrying in %.2f s", operation, error, wait)
