"""``RedisLimits`` against a real Redis: each ``Limits`` here has its own connection pool, as
if it ran in another process, and they share one key prefix."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import openprovider_ssl as op
from openprovider_ssl._protocol.messages import Request, build_request
from openprovider_ssl.errors import (
    AccessDeniedError,
    IdenticalCallLimitError,
    LimiterUnavailableError,
    MaintenanceError,
    RateLimitError,
)
from openprovider_ssl.limits._front import Limits
from openprovider_ssl.limits._pacing import AdaptiveRate
from openprovider_ssl.limits._redis.backend import RedisLimits
from openprovider_ssl.limits._rules import MaintenanceDeadline
from openprovider_ssl.testing import FakeOpenprovider

pytestmark = pytest.mark.process

MakeLimits = Callable[..., Limits]


def get(path: str) -> Request:
    return build_request("GetOrder", "GET", path, idempotent=True)


def maintenance() -> MaintenanceError:
    return MaintenanceError(4005, "Disabled for maintenance", http_status=503, maintenance=True)


def throttle(retry_after: float | None = None) -> RateLimitError:
    return RateLimitError(4007, "excessive use", http_status=429, retry_after=retry_after)


async def call(limits: Limits, request: Request, error: Any = None, **kw: Any) -> None:
    """One attempt: through the limiter, then its answer."""
    await limits.acquire(request)
    limits.record(request, error, **kw)


async def flush(*fleet: Limits) -> None:
    """Wait until what these limits learned from their answers has reached Redis."""
    for limits in fleet:
        await limits._state._owner.flush()  # type: ignore[attr-defined]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_the_rate_is_shared_by_every_limits_on_one_prefix(make_limits: MakeLimits) -> None:
    rate = 40
    fleet = [make_limits(rate=rate) for _ in range(3)]
    asked: list[float] = []  # when each call asked to leave, and when it was seen leaving
    left: list[float] = []

    async def worker(limits: Limits, n: int) -> None:
        for i in range(n):
            asked.append(time.monotonic())
            await limits.acquire(get(f"/ssl/orders/{id(limits)}/{i}"))
            left.append(time.monotonic())
            limits.record(get("/"), None)

    started = time.monotonic()
    await asyncio.gather(*(worker(limits, 30) for limits in fleet))
    elapsed = time.monotonic() - started
    # 90 calls paced at 40 a second between them (after a burst of 5), whoever sends them.
    assert elapsed >= 0.95 * (90 - 5) / rate
    # The k-th call let go left between the k-th time asked and the k-th time seen leaving,
    # however late this process saw it: so no `rate + 1` calls left within a second if the
    # last of them was seen leaving at least a second after the first was asked for.
    asked.sort()
    left.sort()
    for i in range(len(left) - rate):
        assert left[i + rate] - asked[i] >= 0.95, "more than `rate` calls left within 1 s"


async def test_the_identical_call_budget_is_shared(make_limits: MakeLimits) -> None:
    a = make_limits(identical_limit=3, identical_window=30)
    b = make_limits(identical_limit=3, identical_window=30)
    same = get("/ssl/orders/7")
    await call(a, same)
    await call(b, same)
    await call(a, same)
    for limits in (a, b):
        with pytest.raises(IdenticalCallLimitError, match="blacklisted") as refused:
            await limits.acquire(same)
        assert 29 < refused.value.retry_after <= 30
    await call(b, get("/ssl/orders/8"))  # other calls go on


async def test_a_refused_call_is_not_counted(make_limits: MakeLimits) -> None:
    limits = make_limits(identical_limit=1, identical_window=0.3)
    same = get("/ssl/orders/7")
    await call(limits, same)
    for _ in range(3):
        with pytest.raises(IdenticalCallLimitError):
            await limits.acquire(same)
    await asyncio.sleep(0.35)
    await call(limits, same)


async def test_calls_are_known_by_a_hash_and_no_body_reaches_redis(
    make_limits: MakeLimits, redis_client: Any, prefix: str
) -> None:
    limits = make_limits(rate=100)
    secret = "s3cret-password-Zq9"
    login = build_request(
        "Login",
        "POST",
        "/auth/login",
        body={"username": "reseller", "password": secret},
        idempotent=True,
        authenticated=False,
        sensitive=True,
    )
    renew = build_request(
        "RenewOrder", "POST", "/ssl/orders/7/renew", body={"id": 7}, idempotent=False
    )
    await call(limits, login)
    await call(limits, renew)
    keys = [k.decode() for k in await redis_client.keys(prefix + "*")]
    expected = hashlib.sha256(repr(("POST", "/ssl/orders/7/renew", ())).encode())
    expected.update(b"\x01" + b'{"id":7}')
    assert prefix + "id:" + expected.hexdigest() in keys
    # A login's body (its password) is not even hashed: a hash of a password can be guessed.
    withheld = hashlib.sha256(repr(("POST", "/auth/login", ())).encode())
    withheld.update(b"\x02")
    assert prefix + "id:" + withheld.hexdigest() in keys
    stored = []
    for key in keys:
        kind = (await redis_client.type(key)).decode()
        if kind == "zset":
            stored.append(await redis_client.zrange(key, 0, -1, withscores=True))
        elif kind == "hash":
            stored.append(await redis_client.hgetall(key))
        else:
            stored.append(await redis_client.get(key))
    assert secret not in repr(stored) + repr(keys)
    assert "reseller" not in repr(stored) + repr(keys)


async def test_every_key_expires_by_itself(
    make_limits: MakeLimits, redis_client: Any, prefix: str
) -> None:
    limits = make_limits(rate=50, maintenance_probe_interval=0.1)
    other = make_limits(rate=50)
    await other.acquire(get("/d"))  # sent before everything below; answered after
    throttled = [get(f"/a/{i}") for i in range(3)]
    for request in throttled:
        await limits.acquire(request)  # answered after the pause began
    await call(limits, get("/b"), maintenance())
    probe = get("/c")
    await limits.acquire(probe)  # the probe is out: its lease is held

    async def answer_throttled() -> None:
        # In a task of its own: an answer in this one would be the probe's.
        for request in throttled:
            limits.record(request, throttle(retry_after=0.2))

    await asyncio.create_task(answer_throttled())
    other.record(get("/d"), AccessDeniedError(10005, "Access denied", http_status=403))
    await flush(limits, other)
    keys = await redis_client.keys(prefix + "*")
    names = {k.decode().removeprefix(prefix).split(":")[0] for k in keys}
    expected = {"log", "tat", "id", "hold", "adaptive", "meter", "throttles", "pause", "probe"}
    assert expected | {"denied"} <= names
    for key in keys:
        assert await redis_client.pttl(key) > 0, key
    limits.record(probe, None)


# -- throttling: Retry-After for all, one adaptive rate for all -----------------------------


async def test_a_throttle_holds_and_slows_every_process(make_limits: MakeLimits) -> None:
    a, b = make_limits(), make_limits()
    for i in range(20):
        await call(a, get(f"/warm/{i}"))
    # Over the server's limit: a burst of requests, all answered 429.
    burst = [get(f"/x/{i}") for i in range(20)]
    await asyncio.gather(*(a.acquire(request) for request in burst))
    # The hold starts when Redis runs the throttle script, inside flush(): timed from before
    # it, a stall of this process cannot shorten the wait measured.
    started = time.monotonic()
    for request in burst:
        a.record(request, throttle(retry_after=0.5))
    await flush(a)
    await call(b, get("/y"))
    assert time.monotonic() - started >= 0.45  # b honoured a's Retry-After
    assert b.rate is not None  # and paces at the shared adaptive rate
    assert a.rate is not None


async def test_the_adaptive_rate_recovers_and_lets_go(make_limits: MakeLimits) -> None:
    limits = make_limits()
    throttled = [get("/x/1"), get("/x/2")]
    await asyncio.gather(*(limits.acquire(request) for request in throttled))
    for request in throttled:
        limits.record(request, throttle())  # both requests sent: a real share
    await call(limits, get("/y"))
    assert limits.rate is not None and limits.rate >= 0.5
    # From a measured rate near the floor, the curve reaches twice it within a few seconds.
    deadline = time.monotonic() + 8
    while limits.rate is not None and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        await call(limits, get(f"/z/{time.monotonic()}"))
    assert limits.rate is None


async def cut_shared_rate(limits: Limits, redis_client: Any, prefix: str, measured: float) -> None:
    """Throttle ``limits`` until the shared rate is cut, the pace measured at ``measured``."""
    await redis_client.hset(prefix + "meter", mapping={"r": measured, "c": 0})
    for i in range(20):
        limits.record(get(f"/throttled/{i}"), throttle())
        await flush(limits)
        if limits.rate is not None:
            return
    raise AssertionError("the shared rate was never cut")


def cut_in_memory(measured: float) -> AdaptiveRate:
    """An in-memory AdaptiveRate, its pace measured at ``measured``, throttled until cut at 0."""
    adapter = AdaptiveRate(lambda: 0.0)
    adapter.measured = measured
    while adapter.rate is None:
        adapter.throttled(0.0, 0.0)
    return adapter


async def shared_rate_after(
    limits: Limits,
    redis_client: Any,
    prefix: str,
    cut: dict[bytes, bytes],
    elapsed: float,
    measured: float,
) -> float | None:
    """The shared rate an acquire sees ``elapsed`` seconds after the cut stored as ``cut``, the
    pace measured at ``measured`` since: Redis's clock cannot be injected, so the cut is moved
    back in time instead."""
    seconds, micros = await redis_client.time()
    t0 = seconds * 1_000_000 + micros - round(elapsed * 1_000_000)
    await redis_client.hset(prefix + "adaptive", mapping={**cut, b"t0": t0})
    await redis_client.pexpire(prefix + "adaptive", 10_000)  # it may have been dropped
    await redis_client.hset(prefix + "meter", mapping={"r": measured, "c": 0})
    await limits.acquire(get(f"/probe/{elapsed}"))
    return limits.rate


@pytest.mark.parametrize(
    ("throttled_at", "measured", "points"),
    [
        # The client slowed to 2/s after a cut at 20/s: the limit goes once the curve passes
        # w (k = 2.47 s), as it is then far above twice the measured rate; not at 2w (6.2 s).
        (20.0, 2.0, [0.2, 1.0, 2.0, 2.3, 2.6, 4.0, 7.0]),
        # The client keeps up with the curve (30/s after a cut at 10/s): the curve goes on
        # past 2w = 20 (at 4.88 s) up to twice the measured rate, 60 (at 6.96 s).
        (10.0, 30.0, [0.5, 2.0, 4.0, 5.3, 6.5, 7.2]),
    ],
    ids=["slower-than-the-cut", "keeping-up-with-the-curve"],
)
async def test_the_shared_rate_recovers_as_the_in_memory_one(
    make_limits: MakeLimits,
    redis_client: Any,
    prefix: str,
    throttled_at: float,
    measured: float,
    points: list[float],
) -> None:
    limits = make_limits(burst=20)  # the probes below never wait for a turn
    await cut_shared_rate(limits, redis_client, prefix, throttled_at)
    cut = await redis_client.hgetall(prefix + "adaptive")
    assert limits.rate == pytest.approx(cut_in_memory(throttled_at).rate)
    for elapsed in points:
        adapter = cut_in_memory(throttled_at)
        adapter.measured = measured
        expected = adapter.succeeded(elapsed)
        got = await shared_rate_after(limits, redis_client, prefix, cut, elapsed, measured)
        if expected is None:
            assert got is None, f"still limited to {got} at {elapsed} s"
            assert not await redis_client.exists(prefix + "adaptive")
        else:
            assert got == pytest.approx(expected, rel=0.01), f"at {elapsed} s"
    assert got is None and expected is None  # every scenario ends with the limit dropped


async def test_a_binding_shared_rate_lives_as_long_as_its_meter(
    make_limits: MakeLimits, redis_client: Any, prefix: str
) -> None:
    # Only the meter says when the limit stops binding: the limit must not expire before it
    # (the pace keeps up with the curve), and both still expire if every process goes away.
    limits = make_limits()
    await cut_shared_rate(limits, redis_client, prefix, 20.0)
    await redis_client.hset(prefix + "meter", mapping={"r": 40.0})
    await call(limits, get("/busy"))
    assert limits.rate is not None
    adaptive = await redis_client.pttl(prefix + "adaptive")
    meter = await redis_client.pttl(prefix + "meter")
    assert 0 < meter <= adaptive


async def test_scattered_throttles_leave_the_shared_rate_alone(
    make_limits: MakeLimits, redis_client: Any, prefix: str
) -> None:
    # Two processes, about 2 s of steady calls; then one answer in 20 is a 429 (5%, a fault
    # rather than a limit), with a short Retry-After. Each is honoured, none cuts the rate.
    a, b = make_limits(), make_limits()
    throttles = 0

    async def worker(limits: Limits, name: str) -> None:
        nonlocal throttles
        for i in range(200):
            scattered = i >= 40 and i % 20 == 0
            throttles += scattered
            await call(limits, get(f"/{name}/{i}"), throttle(0.01) if scattered else None)
            await asyncio.sleep(0.01)

    await asyncio.gather(worker(a, "a"), worker(b, "b"))
    await flush(a, b)
    assert throttles == 16
    await call(a, get("/after"))
    await call(b, get("/after"))
    assert a.rate is None and b.rate is None
    assert not await redis_client.exists(prefix + "adaptive")


async def test_a_burst_of_throttles_cuts_the_shared_rate_once(make_limits: MakeLimits) -> None:
    a, b = make_limits(), make_limits()
    for i in range(40):
        await call(a, get(f"/warm/{i}"))
        await asyncio.sleep(0.005)
    assert a.rate is None
    # Over the server's limit: a burst of requests, all answered 429 (well over 10% of sends).
    burst = [get(f"/burst/{i}") for i in range(80)]
    await asyncio.gather(*(a.acquire(request) for request in burst))
    rates: list[float | None] = []
    for request in burst:
        a.record(request, throttle())
        await flush(a)
        rates.append(a.rate)
    assert rates[0] is None  # one throttle alone says little
    cut = next(rate for rate in rates if rate is not None)
    after = rates[rates.index(cut) :]
    # The rest came within the calm period after the cut: no further cut, the rate only
    # grows back along its curve (a cut per throttle would have been 0.7 times lower each).
    assert all(rate is not None and rate >= 0.999 * cut for rate in after)
    await call(b, get("/b"))  # b saw no throttle, yet paces at the same rate
    assert b.rate == pytest.approx(a.rate, rel=0.05)


async def test_throttles_in_several_processes_count_together(make_limits: MakeLimits) -> None:
    a, b = make_limits(), make_limits()
    mine, theirs = get("/a"), get("/b")
    await a.acquire(mine)
    await b.acquire(theirs)
    a.record(mine, throttle())
    await flush(a)
    assert a.rate is None  # one 429 of two requests: fewer than CUT_MIN
    b.record(theirs, throttle())
    await flush(b)
    # Two 429s of two requests sent, one in each process: as one client, the rate is cut.
    assert b.rate is not None
    await call(a, get("/a/next"))
    assert a.rate == pytest.approx(b.rate, rel=0.05)


async def test_throttles_older_than_the_cut_window_are_forgotten(
    make_limits: MakeLimits,
) -> None:
    limits = make_limits()
    await call(limits, get("/a"), throttle())
    await asyncio.sleep(AdaptiveRate.CUT_WINDOW + 0.1)
    await call(limits, get("/b"), throttle())
    await flush(limits)
    # Two 429s of two requests, but never two within CUT_WINDOW: no cut.
    assert limits.rate is None


async def test_one_probe_for_every_process_during_maintenance(make_limits: MakeLimits) -> None:
    first = make_limits(maintenance_probe_interval=0.3)
    others = [make_limits(maintenance_probe_interval=0.3) for _ in range(3)]
    await call(first, get("/a"), maintenance())
    assert first.paused
    await first._state._owner.flush()  # type: ignore[attr-defined]
    passed: list[int] = []
    answers = [asyncio.get_running_loop().create_future() for _ in others]

    async def attempt(i: int, limits: Limits) -> None:
        request = get(f"/b/{i}")
        await limits.acquire(request)
        passed.append(i)
        limits.record(request, await answers[i])

    waiters = [asyncio.create_task(attempt(i, limits)) for i, limits in enumerate(others)]
    await asyncio.sleep(0.15)
    assert len(passed) == 1  # the probe, at once; the others wait
    assert all(limits.paused for limits in others)
    answers[passed[0]].set_result(maintenance())  # still in maintenance
    await asyncio.sleep(0.1)
    assert len(passed) == 1  # the next probe waits out the interval
    await asyncio.sleep(0.35)
    assert len(passed) == 2
    answers[passed[1]].set_result(None)  # over
    await asyncio.sleep(0.4)
    assert len(passed) == 3
    answers[passed[2]].set_result(None)
    await asyncio.gather(*waiters)
    await call(first, get("/c"))
    # ``paused`` is the pause as this process last saw it (others[passed[0]] saw it last).
    assert not any(limits.paused for limits in [first, others[passed[1]], others[passed[2]]])


async def test_answers_from_before_the_pause_do_not_end_it(make_limits: MakeLimits) -> None:
    a, b = make_limits(), make_limits()
    old = get("/old")
    await a.acquire(old)  # sent before the pause began
    await call(a, get("/a"), maintenance())
    a.record(old, None)
    await a._state._owner.flush()  # type: ignore[attr-defined]
    await b.acquire(get("/probe"))  # the probe goes: the pause holds
    with pytest.raises(MaintenanceError) as gave_up:
        await b.acquire(get("/waits"), MaintenanceDeadline(0.3))
    assert not gave_up.value.transient
    assert "gave up after waiting 0.3 s" in "".join(gave_up.value.__notes__)


async def test_a_cancelled_probe_lets_another_go(make_limits: MakeLimits) -> None:
    a, b = make_limits(maintenance_probe_interval=10), make_limits(maintenance_probe_interval=10)
    await call(a, get("/a"), maintenance())
    await a._state._owner.flush()  # type: ignore[attr-defined]

    async def probe_then_hang() -> None:
        await a.acquire(get("/probe"))
        await asyncio.sleep(60)

    task = asyncio.create_task(probe_then_hang())
    await asyncio.sleep(0.1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await a._state._owner.flush()  # type: ignore[attr-defined]
    await asyncio.wait_for(b.acquire(get("/next")), 1.0)  # released: no 10 s wait


async def test_access_denied_stops_every_process(make_limits: MakeLimits) -> None:
    a, b = make_limits(), make_limits()
    denied = AccessDeniedError(10005, "Access denied", http_status=403)
    await call(a, get("/a"), denied)
    await a._state._owner.flush()  # type: ignore[attr-defined]
    with pytest.raises(AccessDeniedError) as stopped:
        await b.acquire(get("/b"))
    assert stopped.value.code == 10005
    assert "another client sharing these limits" in "".join(stopped.value.__notes__)
    with pytest.raises(AccessDeniedError):
        await a.acquire(get("/c"))


async def test_prefixes_keep_accounts_apart(redis_url: str, make_limits: MakeLimits) -> None:
    a = make_limits(identical_limit=1)
    other = RedisLimits(redis_url, prefix="opssl-test-other-account:")
    try:
        b = Limits(identical_limit=1, backend=other)
        await call(a, get("/same"))
        await call(b, get("/same"))
        with pytest.raises(IdenticalCallLimitError):
            await a.acquire(get("/same"))
    finally:
        await other.clear()
        await other.aclose()


async def test_scripts_are_loaded_again_after_a_flush(
    make_limits: MakeLimits, redis_client: Any
) -> None:
    limits = make_limits(rate=100)
    await call(limits, get("/a"))
    await redis_client.script_flush()
    await call(limits, get("/b"))


async def test_unreachable_redis_fails_closed_without_showing_the_password() -> None:
    backend = RedisLimits(f"redis://:hunter2-secret@127.0.0.1:{closed_port()}/0", timeout=1.0)
    limits = Limits(backend=backend)
    assert "hunter2" not in repr(limits)
    with pytest.raises(LimiterUnavailableError, match="nothing was sent") as failed:
        await limits.acquire(get("/a"))
    assert "hunter2" not in str(failed.value)
    assert not failed.value.transient and not failed.value.may_have_been_applied
    assert "on_unavailable='local'" in str(failed.value)
    await backend.aclose()


async def test_unreachable_redis_falls_back_to_local_limits_when_asked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = RedisLimits(
        f"redis://127.0.0.1:{closed_port()}/0", on_unavailable="local", timeout=1.0
    )
    limits = Limits(rate=20, burst=1, identical_limit=2, backend=backend)
    with caplog.at_level(logging.WARNING, logger="openprovider_ssl"):
        started = time.monotonic()
        for i in range(6):
            await call(limits, get(f"/a/{i}"))
        # The local limits still pace: 20 a second, one at a time.
        assert time.monotonic() - started >= 0.2
        await call(limits, get("/same"))
        await call(limits, get("/same"))
        with pytest.raises(IdenticalCallLimitError):
            await limits.acquire(get("/same"))
    warnings = [r for r in caplog.records if "falls back to its own limits" in r.message]
    assert len(warnings) == 1
    await backend.aclose()


async def test_redis_coming_back_resumes_shared_limits(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("redis.asyncio", reason="the redis package is not installed")
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("needs a redis-server binary to stop and start")
    port = closed_port()
    url = f"redis://127.0.0.1:{port}/0"
    backend = RedisLimits(url, on_unavailable="local", retry_interval=0.2, timeout=1.0)
    limits = Limits(identical_limit=1, backend=backend)
    with caplog.at_level(logging.WARNING, logger="openprovider_ssl"):
        await call(limits, get("/a"))  # Redis is not there yet: local limits
        await backend.aclose()
        with running_redis(server, port):
            await asyncio.sleep(0.25)
            await call(limits, get("/b"))
            await call(Limits(identical_limit=1, backend=backend), get("/c"))
            with pytest.raises(IdenticalCallLimitError):
                await limits.acquire(get("/c"))  # counted in Redis again
            await backend.aclose()
    assert any("falls back" in r.message for r in caplog.records)
    assert any("reachable again" in r.message for r in caplog.records)


@contextlib.contextmanager
def running_redis(server: str, port: int) -> Iterator[None]:
    process = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(10)


def test_the_sdk_imports_without_redis() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "import openprovider_ssl, openprovider_ssl.limits._redis.backend as r\n"
        "try:\n"
        "    r.RedisLimits('redis://localhost')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "pip install 'openprovider-ssl[redis]'" in out.stdout


async def test_clients_sharing_redis_wait_out_maintenance_behind_one_probe(
    make_limits: MakeLimits,
) -> None:
    policy = op.RetryPolicy(attempts=4, initial_wait=0.01, maintenance_wait=0.01)
    async with FakeOpenprovider(orders=120, seed=5, expiring_share=1.0) as fake:
        ids = fake.renewable_ids()
        clients = [
            op.Client(
                token=fake.token,
                base_url=fake.url,
                retry=policy,
                limits=make_limits(maintenance_probe_interval=0.2),
            )
            for _ in range(2)
        ]
        fake.maintenance_for(1.0)

        async def renew(client: op.Client, share: list[int]) -> list[bool]:
            async with client, client.orders.renew_many(share, concurrency=10) as run:
                return [outcome.ok async for outcome in run]

        outcomes = await asyncio.gather(renew(clients[0], ids[::2]), renew(clients[1], ids[1::2]))
        assert all(ok for share in outcomes for ok in share)
        assert sorted(fake.stats.renewals) == sorted(ids)
        # The first answers of both clients, then about one probe per 0.2 s for both together.
        assert fake.stats.faults["maintenance"] <= 2 * 10 + 1.0 / 0.2 + 3
