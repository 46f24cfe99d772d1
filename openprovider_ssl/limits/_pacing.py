"""How fast one client sends: a fixed ceiling, an adaptive rate after throttling, Retry-After.

Every wait happens in one FIFO queue (an ``asyncio.Lock``): only the head of the queue sleeps,
and it records the time it actually leaves, so the ceiling holds for real send times however
late a sleep wakes up. Time comes from the injected clock and sleep.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable

from ._rules import WINDOW, WINDOW_MARGIN, Adaptive, Unanswered, ceiling_shape

__all__ = ["AdaptiveRate", "ArrivalLog", "Clock", "Pacer", "Sleep"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class ArrivalLog:
    """At most ``limit`` requests reach the server in any one second, whatever the delays.

    Each entry bounds when one request reached the server: the time it left plus
    ``WINDOW_MARGIN``, or, once answered, plus its latency above the usual latency (up to
    ``MAX_EXCESS``): a request that was slow to get out (a new connection, a busy event loop)
    pushes the next window back by as much. A request may leave once the request ``limit``
    places before it, and every earlier one, arrived more than a second ago.
    """

    def __init__(self, limit: int) -> None:
        self._entries: deque[list[float]] = deque(maxlen=limit)
        self._floor = -math.inf
        self._unanswered: Unanswered[list[float]] = Unanswered(limit)

    def ready_at(self) -> float:
        entries = self._entries
        if len(entries) < (entries.maxlen or 0):
            return -math.inf
        return max(self._floor, entries[0][1]) + 1.0

    def take(self, now: float, key: object) -> None:
        entries = self._entries
        if len(entries) == entries.maxlen:
            self._floor = max(self._floor, entries[0][1])
        entry = [now, now + WINDOW_MARGIN]
        entries.append(entry)
        self._unanswered.left(key, entry)

    def answered(self, key: object, now: float) -> None:
        unanswered = self._unanswered
        entry = unanswered.sent.pop(key, None)
        if entry is not None:
            late = unanswered.late(now - entry[0])
            if late:
                entry[1] = entry[0] + late


class Pacer:
    """Lets requests leave no faster than the ceiling, the adaptive rate and any block allow.

    With a ``ceiling`` of R, at most ``floor(R)`` requests arrive in any one second (an
    ``ArrivalLog``), paced evenly at R per ``1 + WINDOW_MARGIN`` seconds with up to ``burst``
    at once after a quiet spell (a GCRA, the token bucket without tokens).
    """

    def __init__(self, ceiling: float | None, burst: int, clock: Clock, sleep: Sleep) -> None:
        self.ceiling = ceiling
        cap, self.burst = ceiling_shape(ceiling, burst)
        self.log = ArrivalLog(cap) if cap else None
        self._ceiling_rate = None if ceiling is None else ceiling / WINDOW
        self.blocked_until = -math.inf
        self.rate: float | None = self._ceiling_rate
        self._interval = 0.0 if self.rate is None else 1.0 / self.rate
        self._tat = -math.inf
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def engaged(self, now: float) -> bool:
        """Whether a request may have to wait here at all."""
        return self.rate is not None or self.blocked_until > now

    def set_adaptive(self, rate: float | None, now: float) -> None:
        """The adaptive rate (None: not throttled); the pace is the lower of it and the ceiling."""
        rates = [r for r in (self._ceiling_rate, rate) if r is not None]
        old = self._interval
        self.rate = min(rates) if rates else None
        self._interval = 0.0 if self.rate is None else 1.0 / self.rate
        if self._tat > now and old > 0:
            # The turns already given out were spaced at the old pace: respace them at the new
            # one, or a faster rate would still wait out the debt of a slower one.
            self._tat = now + (self._tat - now) * self._interval / old

    def block(self, until: float) -> None:
        """No request leaves before ``until`` (a Retry-After, honoured for every caller)."""
        self.blocked_until = max(self.blocked_until, until)

    async def wait(self) -> None:
        """Wait for this caller's turn, then count it as sent."""
        if not self._lock.locked():
            now = self._clock()
            if self._ready_at() <= now:
                self._take(now)
                return
        loop = asyncio.get_running_loop()
        if self._lock_loop is not loop:
            # A lock is bound to the loop that first waited on it; a new asyncio.run needs its own.
            self._lock, self._lock_loop = asyncio.Lock(), loop
        async with self._lock:
            while True:
                now = self._clock()
                ready = self._ready_at()
                if ready <= now:
                    break
                await self._sleep(ready - now)
            self._take(now)

    def _ready_at(self) -> float:
        ready = self.blocked_until
        if self.rate is not None:
            # GCRA: the theoretical send time, less the tolerance that allows a burst.
            ready = max(ready, self._tat - (self.burst - 1) * self._interval)
        if self.log is not None:
            ready = max(ready, self.log.ready_at())
        return ready

    def _take(self, now: float) -> None:
        if self.rate is not None:
            self._tat = max(self._tat, now) + self._interval
        if self.log is not None:
            self.log.take(now, asyncio.current_task())


class AdaptiveRate(Adaptive):
    """botocore's adaptive retry mode: CUBIC congestion control of the send rate.

    Every request sent feeds a smoothed measure of the rate the client achieves (not while a
    Retry-After holds every caller, which would make it look slow). A throttling answer
    (429 / 4007) sets the allowed rate to ``beta`` times the measured rate and remembers it as
    ``w_max``; each later answer lets the rate grow back along a cubic curve that levels off
    near ``w_max`` and then probes above it, never above twice the measured rate. Once the curve
    is far above what the client uses, the limit is dropped (and engaged again by the next
    throttle). Several throttles within one calm period count as one.

    A throttle lowers the rate only when throttles are a real share of what was sent lately
    (``CUT_SHARE`` over ``CUT_WINDOW`` seconds, and at least ``CUT_MIN`` of them): going over a
    server's limit throttles many requests at once, while a few scattered 429s say little
    about the pace. Every 429 is still honoured, since its Retry-After holds every caller.
    """

    def __init__(self, clock: Clock) -> None:
        self.rate: float | None = None
        self.measured = 0.0
        # Time every caller spent held by a Retry-After: not counted as time the client was
        # free to send, or scattered short holds would make any pace look slow.
        self._held = 0.0
        self._held_until = -math.inf
        self._bucket = math.floor(clock() / self.BUCKET) * self.BUCKET
        self._count = 0
        self._w_max = 0.0
        self._k = 0.0
        self._last_throttle = 0.0
        self._calm_until = -math.inf
        self._throttles: deque[float] = deque()

    def observe(self, now: float) -> None:
        """Count one request sent towards the measured rate."""
        if now - self._bucket >= self.BUCKET:
            bucket = math.floor(now / self.BUCKET) * self.BUCKET
            elapsed = bucket - self._bucket
            free = elapsed - min(self._held, elapsed)
            self._held = max(0.0, self._held - elapsed)
            if free >= 0.1 * elapsed:
                rate = self._count / free
                self.measured = rate * self.SMOOTHING + self.measured * (1 - self.SMOOTHING)
            self._count = 0
            self._bucket = bucket
        self._count += 1

    def hold(self, now: float, until: float) -> None:
        """Every caller is held from ``now`` until ``until`` (a Retry-After)."""
        start = max(now, self._held_until)
        if until > start:
            self._held += until - start
            self._held_until = until

    def _measured(self) -> float:
        # Right after a start the smoothed measure may still be 0: the open bucket is a floor.
        return max(self.measured, self._count / self.BUCKET, self.MIN_RATE)

    def throttled(self, now: float, calm_until: float) -> float | None:
        """A throttling answer: maybe lower the rate (once per calm period); return the rate."""
        if self.rate is not None and now < self._calm_until:
            return self.rate
        throttles = self._throttles
        throttles.append(now)
        while throttles[0] <= now - self.CUT_WINDOW:
            throttles.popleft()
        measured = self._measured()
        sent = max(1.0, measured * self.CUT_WINDOW)
        if len(throttles) < self.CUT_MIN or len(throttles) / sent < self.CUT_SHARE:
            return self.rate
        base = measured if self.rate is None else min(measured, self.rate)
        self._w_max = base
        self._k = (base * (1 - self.BETA) / self.SCALE) ** (1 / 3)
        self._last_throttle = now
        self._calm_until = max(calm_until, now + self.BUCKET)
        self.rate = max(self.MIN_RATE, base * self.BETA)
        return self.rate

    def succeeded(self, now: float) -> float | None:
        """An answer that was not a throttle: grow the rate back; None once it no longer binds."""
        if self.rate is None:
            return None
        elapsed = now - self._last_throttle
        target = self.SCALE * (elapsed - self._k) ** 3 + self._w_max
        # Never below the rate the throttle chose: the measure may still be catching up.
        cap = max(2.0 * self._measured(), self._w_max * self.BETA)
        if elapsed > self._k and target >= cap:
            self.rate = None
        else:
            self.rate = max(self.MIN_RATE, min(target, cap))
        return self.rate
