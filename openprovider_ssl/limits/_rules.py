"""The rules both backends of ``Limits`` keep, the in-memory one (``_memory``) and the Redis
one (``_redis``): constants, pure functions and small value types, and no state of their own.

Neither backend imports the other: what they must agree on lives here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from ..errors import MaintenanceError

__all__ = [
    "MAX_EXCESS",
    "MAX_LOGGED_RATE",
    "MAX_SHARED_BLOCK",
    "PROBE_LEASE",
    "WINDOW",
    "WINDOW_MARGIN",
    "Adaptive",
    "MaintenanceDeadline",
    "Unanswered",
    "ceiling_shape",
    "timed_out",
]

#: The server counts a request when it arrives, a little after it leaves the limiter: each
#: request is assumed to arrive up to this long after it left (more if its answer shows it was
#: slow to get out), so that ``rate + 1`` requests never land in one second as the server counts
#: them. It costs 0.2% of the throughput.
WINDOW_MARGIN = 0.002
#: A ceiling of R paces R requests per this many seconds.
WINDOW = 1.0 + WINDOW_MARGIN
#: The most one slow request may push the next window back.
MAX_EXCESS = 0.1
#: Above this many requests per second the ceiling is kept by pacing alone, without a log.
MAX_LOGGED_RATE = 10_000
#: A Retry-After longer than this blocks the client only this long; the next answer says more.
MAX_SHARED_BLOCK = 60.0
#: A maintenance probe that neither answered nor finished within this long no longer blocks
#: the next one.
PROBE_LEASE = 60.0

Sent = TypeVar("Sent", bound=Sequence[Any])


class Adaptive:
    """The constants of the adaptive rate (botocore's adaptive retry mode, CUBIC): ``BETA``,
    the share of the measured rate kept after a throttle; ``SCALE``, the cubic's steepness;
    ``MIN_RATE``, the floor; the measure counts ``BUCKET``-second buckets smoothed by
    ``SMOOTHING``; a throttle cuts the rate only when throttles are ``CUT_SHARE`` of what was
    sent over ``CUT_WINDOW`` seconds, and at least ``CUT_MIN`` of them."""

    BETA = 0.7
    SCALE = 0.4
    MIN_RATE = 0.5
    BUCKET = 0.5
    SMOOTHING = 0.8
    CUT_WINDOW = 2.0
    CUT_SHARE = 0.1
    CUT_MIN = 2


def ceiling_shape(ceiling: float | None, burst: int) -> tuple[int, int]:
    """How a ``ceiling`` (requests per second; None: none) is kept: the most requests a log
    lets reach the server in one second (0: no log) and the burst it allows."""
    if ceiling is None:
        return 0, max(1, burst)
    cap = max(1, math.floor(ceiling))
    return (cap if cap <= MAX_LOGGED_RATE else 0), max(1, min(burst, cap))


class Unanswered(Generic[Sent]):
    """Requests that left and are not answered yet, by task (``sent[0]``: when one left), and
    the usual latency of the answers, which tells how late a slow request reached the server.
    """

    def __init__(self, limit: int) -> None:
        self.sent: dict[object, Sent] = {}
        self._most = 2 * limit + 64
        # The usual latency (a moving average); 0 at first, so the first requests of a run
        # (new connections) are assumed to have arrived as late as they were answered.
        self._usual = 0.0

    def left(self, key: object, sent: Sent) -> None:
        pending = self.sent
        pending[key] = sent
        if len(pending) > self._most:
            # Requests that never answered (cancelled): forget them once they are old.
            horizon = sent[0] - 2.0
            self.sent = {k: s for k, s in pending.items() if s[0] > horizon}

    def late(self, latency: float) -> float:
        """Learn one answer's ``latency``; how long after leaving its request may have reached
        the server, when longer than ``WINDOW_MARGIN`` (at most ``MAX_EXCESS``), else 0."""
        excess = latency - self._usual
        self._usual += excess * 0.05
        return min(excess, MAX_EXCESS) if excess > WINDOW_MARGIN else 0.0


class MaintenanceDeadline:
    """When one call stops waiting for Openprovider's maintenance to end.

    ``timeout`` is the call's ``RetryPolicy.maintenance_timeout``; it counts from the first
    time the call meets maintenance (a maintenance answer, or a pause it has to wait in), on
    the client's clock, and bounds the waits in the pause and between tries alike.
    """

    __slots__ = ("at", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.at = math.inf

    def start(self, now: float) -> float:
        """Start counting at ``now`` unless counting already; the deadline."""
        if self.at == math.inf:
            self.at = now + self.timeout
        return self.at


def timed_out(cause: MaintenanceError, timeout: float) -> MaintenanceError:
    """The error a caller gets after waiting ``timeout`` seconds for maintenance to end: it
    is not retried."""
    error = MaintenanceError(
        cause.code,
        cause.desc,
        data=cause.data,
        http_status=cause.http_status,
        maintenance=True,
    )
    error.transient = False
    error.add_note(
        f"gave up after waiting {timeout:g} s for Openprovider's maintenance to end "
        "(RetryPolicy(maintenance_timeout=...)); not retried"
    )
    return error
