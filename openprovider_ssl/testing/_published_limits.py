"""Openprovider's published limits, as the fake enforces them; time is passed in, never read.

* identical calls: N per window per client IP, exceeding it blacklists the IP (10005);
* an overall request rate (modelled, 429/4007), a token bucket;
* token generation (30 per 60 s, then blocked 1 minute) and failed logins (100 per hour,
  then blocked 20 minutes), both answered with code 50;
* bearer tokens with a time to live.
"""

from __future__ import annotations

import math
import secrets
from bisect import bisect_right
from collections.abc import Hashable


class IdenticalBudget:
    """Sliding-window count of identical calls; the call over the limit blacklists its IP.

    Keys are hashes of (ip, method, path, canonical arguments) so a hundred thousand distinct
    calls cost little; stale keys are swept once per window.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.blacklist: set[str] = set()
        self._hits: dict[int, list[float]] = {}
        self._next_sweep = 0.0

    def hit(self, ip: str, key: Hashable, now: float) -> int:
        """Record one call; return how many identical calls the window now holds."""
        if now >= self._next_sweep:
            self._sweep(now)
        edge = now - self.window
        digest = hash((ip, key))
        times = self._hits.get(digest)
        if times is None:
            self._hits[digest] = [now]
            count = 1
        else:
            if times[0] <= edge:
                del times[: bisect_right(times, edge)]
            times.append(now)
            count = len(times)
        if count > self.limit:
            self.blacklist.add(ip)
        return count

    def _sweep(self, now: float) -> None:
        edge = now - self.window
        self._hits = {k: v for k, v in self._hits.items() if v[-1] > edge}
        self._next_sweep = now + self.window

    def reset(self) -> None:
        """Lift every blacklisting and forget the counts (the reseller's manual unblock)."""
        self.blacklist.clear()
        self._hits.clear()


class TokenBucket:
    """``rate`` requests per second with a burst of ``burst``; None means unlimited."""

    def __init__(self, rate: float | None, burst: float | None = None) -> None:
        self.configure(rate, burst)

    def configure(self, rate: float | None, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else (rate or 1.0))
        self._tokens = self.burst
        self._last: float | None = None

    def take(self, now: float) -> int:
        """0 if the request may pass, else the whole seconds to wait (for Retry-After)."""
        if self.rate is None:
            return 0
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - self._tokens) / self.rate))


class _Window:
    """Timestamps in a sliding window plus a block-until time once the limit is passed."""

    def __init__(self, limit: int, window: float, block: float) -> None:
        self.limit, self.window, self.block = limit, window, block
        self.times: dict[str, list[float]] = {}
        self.blocked_until: dict[str, float] = {}

    def blocked(self, key: str, now: float) -> int:
        until = self.blocked_until.get(key, 0.0)
        return math.ceil(until - now) if until > now else 0

    def add(self, key: str, now: float) -> bool:
        """Record an event; True if that one went over the limit (and started a block)."""
        times = [t for t in self.times.get(key, ()) if t > now - self.window]
        times.append(now)
        self.times[key] = times
        if len(times) > self.limit:
            self.blocked_until[key] = now + self.block
            times.clear()
            return True
        return False


class LoginGuard:
    """Token generation and failed-login limits, per client IP."""

    def __init__(
        self,
        *,
        token_limit: int = 30,
        token_window: float = 60.0,
        token_block: float = 60.0,
        failed_limit: int = 100,
        failed_window: float = 3600.0,
        failed_block: float = 1200.0,
    ) -> None:
        self.tokens = _Window(token_limit, token_window, token_block)
        self.failures = _Window(failed_limit, failed_window, failed_block)

    def blocked(self, ip: str, now: float) -> int:
        """Seconds until this IP may log in again (0 = it may)."""
        return max(self.tokens.blocked(ip, now), self.failures.blocked(ip, now))

    def reset(self) -> None:
        for window in (self.tokens, self.failures):
            window.times.clear()
            window.blocked_until.clear()


class TokenStore:
    """Issued bearer tokens with their expiry and optional IP binding; static ones never expire."""

    def __init__(self, ttl: float, static: tuple[str, ...] = ()) -> None:
        self.ttl = ttl
        self.static = frozenset(static)
        self._issued: dict[str, tuple[float, str | None]] = {}

    def issue(self, now: float, ip: str | None = None) -> str:
        token = secrets.token_hex(16)
        self._issued[token] = (now + self.ttl, None if ip in (None, "", "0.0.0.0") else ip)
        return token

    def valid(self, token: str, now: float, ip: str) -> bool:
        if token in self.static:
            return True
        entry = self._issued.get(token)
        if entry is None:
            return False
        expires, bound = entry
        if now >= expires:
            del self._issued[token]
            return False
        return bound is None or bound == ip

    def expire_all(self) -> None:
        """Invalidate every issued token (static ones stay), to make clients log in again."""
        self._issued.clear()
