"""The Lua scripts behind ``RedisLimits`` and how they run: each reads and changes the shared
state at once, atomically.

Time is Redis's own (``TIME``, in microseconds), so the clocks of the processes never matter.
Every key a script writes gets an expiry, so a crashed worker leaves nothing behind for long.
Keys, under the caller's prefix:

``denied``    another client met "access denied": everyone stops (a JSON code/desc/status)
``pause``     the maintenance pause: a hash of ``next`` (probe due), ``since``, the answer's
              ``code``, ``desc`` and ``status``
``probe``     the single probe's lease (its token), ``SET NX``-style, with a time to live
``hold``      no request before this time (Retry-After, honoured by every process)
``adaptive``  the adaptive rate after a throttle: ``w`` (rate at the throttle), ``k``, ``t0``,
              ``calm``; the curve is computed on read and, as in ``AdaptiveRate``, the key is
              deleted once the curve passes twice the measured rate (it no longer binds)
``meter``     the measured request rate, for the adaptive rate: ``r`` smoothed over half-second
              buckets (``b`` the open one, ``c`` its count) measured over the time no
              Retry-After held every caller (``h``: held time not yet taken off)
``throttles`` the times of recent throttles not in a calm period (the last ``CUT_WINDOW``
              seconds): the rate is cut only when they are a real share of what was sent
``tat``       the pacing schedule (a GCRA's theoretical arrival time)
``log``       the sliding log of send times: at most ``cap`` per window
``id:<sha>``  one identical call's send times (the SHA-256 of method, path, params, body)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..._protocol.messages import Request
from .._rules import Adaptive

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "ACQUIRE",
    "ANSWERED",
    "DENIED",
    "MAINTENANCE",
    "OK",
    "PAUSED",
    "PROBE",
    "REFUSED",
    "THROTTLED",
    "WAIT",
    "Script",
    "identity_hash",
    "load_redis",
    "text",
    "unavailable_errors",
]

#: The outcomes of ``ACQUIRE`` (its reply's first element).
OK, PROBE, WAIT, PAUSED, REFUSED, DENIED = range(6)

#: How long the meter outlives the last request sent (or the end of a hold).
_METER_TTL_MS = 10_000

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
"""

# AdaptiveRate's rules, on the ``meter`` and ``adaptive`` keys: ``measured_rate`` is its
# ``_measured``, ``adaptive_rate`` its ``succeeded``. A limit that still binds lives on for the
# meter's time to live (after its calm period): never gone before the meter that ends it.
_ADAPTIVE = f"""
local function measured_rate(meter)
  local m = redis.call('HMGET', meter, 'c', 'r')
  return math.max(tonumber(m[2]) or 0, (tonumber(m[1]) or 0) / {Adaptive.BUCKET},
                  {Adaptive.MIN_RATE})
end

local function adaptive_ttl(calm)
  return math.ceil(math.max(0, calm - now) / 1000) + {_METER_TTL_MS}
end

-- The rate on the cubic curve from w, k, t0, never above twice the measured rate (nor below
-- the rate the throttle chose), and the end of the calm period; false if no limit binds. Once
-- the curve has passed that cap the limit is dropped: the key is deleted.
local function adaptive_rate(key, meter)
  local a = redis.call('HMGET', key, 'w', 'k', 't0', 'calm')
  if not a[1] then return false, 0 end
  local w, k, calm = tonumber(a[1]), tonumber(a[2]), tonumber(a[4])
  local elapsed = (now - tonumber(a[3])) / 1e6
  local target = {Adaptive.SCALE} * (elapsed - k) ^ 3 + w
  local cap = math.max(2 * measured_rate(meter), w * {Adaptive.BETA})
  if elapsed > k and target >= cap then
    redis.call('DEL', key)
    return false, 0
  end
  return math.max({Adaptive.MIN_RATE}, math.min(target, cap)), calm
end
"""

#: KEYS: denied, pause, probe, hold, adaptive, meter, tat, log, id.
#: ARGV: token, cap, window_us, margin_us, interval_us, burst, identical_limit,
#: identical_window_us, adaptive (0/1), probe_interval_us, pause_ttl_ms, lease_ms, log_ttl_ms.
#: Reply: {OK, now, rate} | {PROBE, now, rate, since} | {WAIT, wait_us, rate}
#: | {PAUSED, wait_us, code, desc, status, since} | {REFUSED, retry_after_us, rate}
#: | {DENIED, 0, json}; ``rate`` is the adaptive rate as text, "" when none binds.
_ACQUIRE_LUA = (
    _NOW
    + _ADAPTIVE
    + f"""
local token = ARGV[1]
local cap, window, margin = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local interval, burst = tonumber(ARGV[5]), tonumber(ARGV[6])
local ilimit, iwindow = tonumber(ARGV[7]), tonumber(ARGV[8])
local adaptive = ARGV[9] == '1'

-- How long until the sliding log ``key`` holds fewer than ``limit`` entries within ``span``;
-- false if it does now.
local function full_for(key, limit, span)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  local n = redis.call('ZCARD', key)
  if n < limit then return false end
  local oldest = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
  return math.ceil(tonumber(oldest[2]) + span - now)
end

local denied = redis.call('GET', KEYS[1])
if denied then return {{{DENIED}, 0, denied}} end

local since = false
local pause = redis.call('HMGET', KEYS[2], 'next', 'since', 'code', 'desc', 'status')
if pause[1] then
  local due = tonumber(pause[1])
  if now < due or redis.call('EXISTS', KEYS[3]) == 1 then
    return {{{PAUSED}, math.max(0, math.ceil(due - now)), pause[3] or '', pause[4] or '',
            pause[5] or '', pause[2] or ''}}
  end
  since = pause[2]
end

local rate = ''
if adaptive then
  local r, calm = adaptive_rate(KEYS[5], KEYS[6])
  if r then
    rate = tostring(r)
    interval = math.max(interval, 1e6 / r)
    redis.call('PEXPIRE', KEYS[5], adaptive_ttl(calm))
  end
end

local hold = tonumber(redis.call('GET', KEYS[4]) or '0')
if hold > now then return {{{WAIT}, math.ceil(hold - now), rate}} end

local tat = 0
if interval > 0 then
  tat = tonumber(redis.call('GET', KEYS[7]) or '0')
  local ready = tat - (burst - 1) * interval
  if ready > now then return {{{WAIT}, math.ceil(ready - now), rate}} end
end
if cap > 0 then
  local full = full_for(KEYS[8], cap, window)
  if full then return {{{WAIT}, full, rate}} end
end
local refused = full_for(KEYS[9], ilimit, iwindow)
if refused then return {{{REFUSED}, refused, rate}} end

-- Every check passed: count the call everywhere it counts.
redis.call('ZADD', KEYS[9], now, token)
redis.call('PEXPIRE', KEYS[9], math.ceil(iwindow / 1000))
if cap > 0 then
  redis.call('ZADD', KEYS[8], now + margin, token)
  redis.call('PEXPIRE', KEYS[8], ARGV[13])
end
if interval > 0 then
  local due = math.max(tat, now) + interval
  redis.call('SET', KEYS[7], string.format('%.0f', due), 'PX',
             math.ceil((due - now) / 1000) + 1000)
end
if adaptive then
  local bucket = {Adaptive.BUCKET * 1e6:.0f}
  local index = math.floor(now / bucket)
  local m = redis.call('HMGET', KEYS[6], 'b', 'c', 'r', 'h')
  local b, c, r = tonumber(m[1]) or index, tonumber(m[2]) or 0, tonumber(m[3]) or 0
  local h = tonumber(m[4]) or 0
  if index ~= b then
    -- Time under a Retry-After hold is not measured: it would make the rate look low.
    local elapsed = (index - b) * bucket
    local free = elapsed - math.min(h, elapsed)
    h = math.max(0, h - elapsed)
    if free >= 0.1 * elapsed then
      r = c / (free / 1e6) * {Adaptive.SMOOTHING} + r * (1 - {Adaptive.SMOOTHING})
    end
    b, c = index, 0
  end
  redis.call('HSET', KEYS[6], 'b', b, 'c', c + 1, 'r', r, 'h', string.format('%.0f', h))
  redis.call('PEXPIRE', KEYS[6], {_METER_TTL_MS})
end
if since then
  redis.call('SET', KEYS[3], token, 'PX', ARGV[12])
  redis.call('HSET', KEYS[2], 'next', now + tonumber(ARGV[10]))
  redis.call('PEXPIRE', KEYS[2], ARGV[11])
  return {{{PROBE}, now, rate, since}}
end
return {{{OK}, now, rate}}
"""
)

#: KEYS: hold, adaptive, meter, throttles. ARGV: retry_after_us (0: none), max_block_us,
#: adaptive (0/1), token. Reply: {rate, cut}: the adaptive rate as text ("" when none), and 1
#: if this throttle cut it, else 0.
#: As ``AdaptiveRate.throttled``: the rate is cut only when throttles are a real share of what
#: was sent lately (at least ``CUT_MIN`` in ``CUT_WINDOW``, and ``CUT_SHARE`` of the requests
#: the measured rate sends in it), and once per calm period.
_THROTTLED_LUA = (
    _NOW
    + _ADAPTIVE
    + f"""
local adaptive = ARGV[3] == '1'
local hold = tonumber(redis.call('GET', KEYS[1]) or '0')
local wait = tonumber(ARGV[1])
if wait > 0 then
  local held = now + math.min(wait, tonumber(ARGV[2]))
  if held > hold then
    if adaptive then
      -- Every caller is held until then: time the rate is not measured over.
      redis.call('HINCRBY', KEYS[3], 'h', string.format('%.0f', held - math.max(now, hold)))
      redis.call('PEXPIRE', KEYS[3], math.ceil((held - now) / 1000) + {_METER_TTL_MS})
    end
    hold = held
    redis.call('SET', KEYS[1], string.format('%.0f', hold), 'PX', math.ceil((hold - now) / 1000))
  end
end
if not adaptive then return {{'', 0}} end
local current, calm = adaptive_rate(KEYS[2], KEYS[3])
-- Several throttles within one calm period count as one.
if current and now < calm then return {{tostring(current), 0}} end
local window = {Adaptive.CUT_WINDOW * 1e6:.0f}
redis.call('ZADD', KEYS[4], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
redis.call('PEXPIRE', KEYS[4], math.ceil(window / 1000))
local throttles = redis.call('ZCARD', KEYS[4])
local measured = measured_rate(KEYS[3])
-- A few scattered throttles say little about the pace: only a real share of what was sent
-- lately cuts the rate.
local sent = math.max(1, measured * window / 1e6)
if throttles < {Adaptive.CUT_MIN} or throttles / sent < {Adaptive.CUT_SHARE} then
  return {{current and tostring(current) or '', 0}}
end
local base = measured
if current then base = math.min(measured, current) end
local k = (base * (1 - {Adaptive.BETA}) / {Adaptive.SCALE}) ^ (1 / 3)
local calm_until = math.max(hold, now + {Adaptive.BUCKET * 1e6:.0f})
redis.call('HSET', KEYS[2], 'w', base, 'k', k, 't0', now, 'calm', calm_until)
redis.call('PEXPIRE', KEYS[2], adaptive_ttl(calm_until))
return {{tostring(math.max({Adaptive.MIN_RATE}, base * {Adaptive.BETA})), 1}}
"""
)

#: KEYS: pause, probe. ARGV: op ("begin", "failed", "end", "release"), token, since,
#: probe_interval_us, pause_ttl_ms, code, desc, status. Reply: 1 if it changed the pause.
_MAINTENANCE_LUA = (
    _NOW
    + """
local op = ARGV[1]
if op == 'begin' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
  -- The first probe may go at once: a lone maintenance answer is cheap.
  redis.call('HSET', KEYS[1], 'next', now, 'since', now, 'code', ARGV[6], 'desc', ARGV[7],
             'status', ARGV[8])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
-- A probe's answer speaks only for the pause it probed.
if redis.call('HGET', KEYS[1], 'since') ~= ARGV[3] then return 0 end
if op == 'end' then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
local mine = redis.call('GET', KEYS[2]) == ARGV[2]
if mine then redis.call('DEL', KEYS[2]) end
if op == 'failed' then
  redis.call('HSET', KEYS[1], 'next', now + tonumber(ARGV[4]))
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
-- 'release': the probe was not sent after all; another may go at once.
if mine then redis.call('HSET', KEYS[1], 'next', now) end
return 1
"""
)

#: KEYS: log. ARGV: token, score_us. A request that was slow to get out pushes its entry (and
#: so the next window) back. Reply: 1 if it moved.
_ANSWERED_LUA = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(ARGV[2]) > tonumber(score) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
return 0
"""


def load_redis() -> Any:
    """The redis package, imported on first use: it is an optional dependency."""
    try:
        import redis.asyncio  # noqa: PLC0415
        import redis.exceptions  # noqa: PLC0415
    except ImportError as exc:
        raise ImportError(
            "RedisLimits needs the redis package: pip install 'openprovider-ssl[redis]'"
        ) from exc
    return redis


def unavailable_errors() -> tuple[type[BaseException], ...]:
    """What says Redis cannot answer (refused, timed out, loading, read-only, a lost script
    cache...): every RedisError, and the OS errors that may escape it."""
    return (load_redis().exceptions.RedisError, OSError, TimeoutError)


class Script:
    """A Lua script run with EVALSHA, loaded again if the server forgot it (a restart)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, redis: Redis, keys: Sequence[str | bytes], args: Sequence[Any]) -> Any:
        client: Any = redis
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except load_redis().exceptions.NoScriptError:
            return await client.eval(self.source, len(keys), *keys, *args)


ACQUIRE = Script(_ACQUIRE_LUA)
THROTTLED = Script(_THROTTLED_LUA)
MAINTENANCE = Script(_MAINTENANCE_LUA)
ANSWERED = Script(_ANSWERED_LUA)


def identity_hash(request: Request) -> str:
    """SHA-256 of what makes calls identical: no body ever leaves the process.

    A sensitive request's body (a login's password) is left out even of the hash, which could
    be brute-forced: such calls then count as identical to each other, a safe overcount.
    """
    digest = hashlib.sha256(repr((request.method, request.path, request.params)).encode())
    body = request.body
    if body is None:
        digest.update(b"\x00")
    elif request.sensitive:
        digest.update(b"\x02")
    else:
        digest.update(b"\x01" + body)
    return digest.hexdigest()


def text(value: Any) -> str:
    """A reply element as text (replies are bytes unless the client decodes them)."""
    return value.decode() if isinstance(value, bytes) else str(value)
