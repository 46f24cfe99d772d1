"""Client-wide limits under virtual time: every test runs in milliseconds."""

from __future__ import annotations

import asyncio
import heapq
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openprovider_ssl import retry
from openprovider_ssl._protocol.messages import Request, SendMark, build_request
from openprovider_ssl.errors import (
    AccessDeniedError,
    IdenticalCallLimitError,
    MaintenanceError,
    OpenproviderError,
    RateLimitError,
    RetryBudgetExhaustedError,
    ServerError,
    TransportError,
)
from openprovider_ssl.limits._budgets import IdenticalCallBudget
from openprovider_ssl.limits._front import Limits, RetryBudget, SendSlot, send_slot
from openprovider_ssl.limits._maintenance import FIRST_PROBE_INTERVAL
from openprovider_ssl.limits._rules import MaintenanceDeadline
from openprovider_ssl.retry import RetryPolicy

T = TypeVar("T")


class VirtualTime:
    """A clock and a sleep for tests: time jumps to the next sleeper once every task waits."""

    def __init__(self, oversleep: Callable[[], float] | None = None) -> None:
        self.now = 0.0
        self.sleeps = 0
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0
        self._oversleep = oversleep

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps += 1
        extra = self._oversleep() if self._oversleep else 0.0
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.now + max(0.0, delay) + extra, self._seq, future))
        self._seq += 1
        await future

    async def run(self, awaitable: Awaitable[T]) -> T:
        task = asyncio.ensure_future(awaitable)
        ready = asyncio.get_running_loop()._ready  # type: ignore[attr-defined]
        while not task.done():
            for _ in range(10_000):
                await asyncio.sleep(0)
                if not ready:
                    break
            await asyncio.sleep(0)
            if task.done():
                break
            while self._heap and self._heap[0][2].done():
                heapq.heappop(self._heap)
            if not self._heap:
                task.cancel()
                raise AssertionError("deadlock: every task waits and nothing sleeps")
            when, _, future = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            future.set_result(None)
        return task.result()

    def limits(self, **options: Any) -> Limits:
        return Limits(clock=self.clock, sleep=self.sleep, **options)


def renew(order_id: int) -> Request:
    return build_request(
        "RenewOrder",
        "POST",
        f"/ssl/orders/{order_id}/renew",
        body={"id": order_id},
        idempotent=False,
    )


def maintenance() -> MaintenanceError:
    return MaintenanceError(4005, "Disabled for maintenance", http_status=503, maintenance=True)


def throttle(retry_after: float | None = 2.0) -> RateLimitError:
    return RateLimitError(4007, "excessive use", http_status=429, retry_after=retry_after)


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most send times in any half-open window of ``window`` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


# -- nothing limits ---------------------------------------------------------------------------


async def test_free_path_never_sleeps() -> None:
    vt = VirtualTime()
    limits = vt.limits()
    for i in range(1000):
        await limits.acquire(renew(i))
        limits.record(renew(i), None)
    assert vt.sleeps == 0
    assert limits.rate is None and not limits.paused


async def test_acquire_marks_the_task_context_as_sent() -> None:
    limits = Limits()
    mark = SendMark()
    token = send_slot.set(SendSlot(mark))
    try:
        assert not mark.sent
        await limits.acquire(renew(1))
        assert mark.sent
    finally:
        send_slot.reset(token)


async def test_a_request_s_own_mark_is_set_as_it_leaves_and_not_before() -> None:
    free = SendMark()
    assert Limits().admit(renew(0)._replace(mark=free))
    assert free.sent
    marks = [SendMark(), SendMark()]
    seen_while_held: list[bool] = []

    def note_while_held() -> float:  # called as the limiter sleeps, adding no time
        seen_while_held.append(marks[1].sent)
        return 0.0

    vt = VirtualTime(oversleep=note_while_held)
    limits = vt.limits(rate=1, burst=1)
    for order_id, mark in enumerate(marks, 1):
        await vt.run(limits.acquire(renew(order_id)._replace(mark=mark)))
    assert [mark.sent for mark in marks] == [True, True]
    assert seen_while_held and not any(seen_while_held)  # held back by the ceiling: not sent


# -- the fixed ceiling ------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "burst"), [(10, 1), (10, 3), (50, 5), (200, 5), (2.5, 1)])
async def test_ceiling_never_exceeded_in_any_one_second_window(rate: float, burst: int) -> None:
    vt = VirtualTime()
    limits = vt.limits(rate=rate, burst=burst)
    sent: list[float] = []

    async def worker(n: int) -> None:
        for i in range(n):
            await limits.acquire(renew(i))
            sent.append(vt.now)

    total = int(rate * 6)
    await vt.run(asyncio.gather(*(worker(total // 10) for _ in range(10))))
    assert len(sent) == total // 10 * 10
    assert max_in_window(sent) <= max(1, math.floor(rate))
    assert sent.count(0.0) == burst
    # Paced at rate / (1 + margin): the accuracy stays above 98% (of floor(rate): 2.5 per
    # second allows only 2 in one second).
    achieved = (len(sent) - burst) / (sent[-1] - sent[0])
    assert 0.98 * math.floor(rate) <= achieved <= rate


@settings(max_examples=40, deadline=None)
@given(
    rate=st.integers(min_value=1, max_value=300),
    burst=st.integers(min_value=1, max_value=20),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_ceiling_holds_even_when_sleeps_wake_late(rate: int, burst: int, seed: int) -> None:
    rng = random.Random(seed)
    vt = VirtualTime(oversleep=lambda: rng.random() * 0.01)
    sent: list[float] = []

    async def main() -> None:
        limits = vt.limits(rate=rate, burst=burst)

        async def worker() -> None:
            for i in range(rate // 4 + 2):
                await limits.acquire(renew(i))
                sent.append(vt.now)

        await vt.run(asyncio.gather(*(worker() for _ in range(8))))

    asyncio.run(main())
    assert max_in_window(sent) <= rate


async def test_a_request_slow_to_get_out_pushes_the_next_window_back() -> None:
    # The server counts arrivals: a request answered 30 ms late may have arrived 30 ms late,
    # so the request `rate` places after it waits until a second after that.
    vt = VirtualTime()
    limits = vt.limits(rate=3, burst=3)

    async def call(n: int, latency: float) -> float:
        await limits.acquire(renew(n))
        sent = vt.now
        await vt.sleep(latency)
        limits.record(renew(n), None)
        return sent

    first = await vt.run(asyncio.gather(call(1, 0.030), call(2, 0.001), call(3, 0.001)))
    assert first == [0.0, 0.0, 0.0]  # type: ignore[comparison-overlap]  # gather: a list
    fourth = await vt.run(call(4, 0.001))
    assert fourth == pytest.approx(1.030, abs=1e-3)


async def test_callers_are_served_in_arrival_order() -> None:
    vt = VirtualTime()
    limits = vt.limits(rate=5, burst=1)
    order: list[int] = []

    async def one(n: int) -> None:
        await limits.acquire(renew(n))
        order.append(n)

    async def all_of_them() -> None:
        tasks = []
        for n in range(12):
            tasks.append(asyncio.ensure_future(one(n)))
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)

    await vt.run(all_of_them())
    assert order == list(range(12))


async def test_a_cancelled_waiter_frees_its_turn() -> None:
    vt = VirtualTime()
    limits = vt.limits(rate=1, burst=1)
    await limits.acquire(renew(0))
    waiting = asyncio.ensure_future(limits.acquire(renew(1)))
    behind = asyncio.ensure_future(limits.acquire(renew(2)))
    await asyncio.sleep(0)
    waiting.cancel()
    await vt.run(behind)
    assert vt.now == pytest.approx(1.002)
    assert waiting.cancelled()


# -- the identical-call budget ----------------------------------------------------------------


async def test_identical_call_refused_before_it_would_blacklist() -> None:
    vt = VirtualTime()
    limits = vt.limits(identical_limit=3, identical_window=30.0)
    for _ in range(3):
        await limits.acquire(renew(7))
    with pytest.raises(IdenticalCallLimitError) as caught:
        await limits.acquire(renew(7))
    assert "blacklisted" in str(caught.value)
    assert 30.0 <= caught.value.retry_after <= 31.0
    await limits.acquire(renew(8))  # another call is not identical
    vt.now = 31.0
    await limits.acquire(renew(7))


def test_identical_budget_forgets_old_calls_and_stays_small() -> None:
    now = [0.0]
    budget = IdenticalCallBudget(50, 10.0, lambda: now[0])
    for i in range(100_000):
        now[0] = i / 10_000
        budget.spend(renew(i))
    assert budget._total is not None
    assert sum(budget._total) == 100_000
    assert len(budget._slices) == 30  # one per slice, however many calls
    now[0] = 25.0
    budget.spend(renew(1))
    assert sum(budget._total) == 1
    assert len(budget._slices) == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 3)), min_size=1, max_size=80))
def test_identical_budget_never_allows_more_than_the_limit(
    calls: list[tuple[int, float]],
) -> None:
    now = [0.0]
    limit, window = 3, 10.0
    budget = IdenticalCallBudget(limit, window, lambda: now[0])
    allowed: dict[int, list[float]] = {}
    for key, step in calls:
        now[0] += step
        try:
            budget.spend(renew(key))
        except IdenticalCallLimitError as error:
            assert error.retry_after >= 0
            # Refused: then the truth is at least close to the limit (a slice of slack).
            recent = [t for t in allowed.get(key, []) if t > now[0] - window - window / 30]
            assert len(recent) >= limit
            continue
        allowed.setdefault(key, []).append(now[0])
        recent = [t for t in allowed[key] if t > now[0] - window]
        assert len(recent) <= limit


def test_for_base_url_uses_the_sandbox_budget() -> None:
    sandbox = Limits.for_base_url("https://api.cte.openprovider.eu/v1beta")
    assert (sandbox.identical.limit, sandbox.identical.window) == (50, 100.0)
    live = Limits.for_base_url("https://api.openprovider.eu/v1beta", rate=20)
    assert (live.identical.limit, live.identical.window) == (300, 300.0)
    assert live.rate == pytest.approx(20 / 1.002)


# -- access denied --------------------------------------------------------------------------


async def test_access_denied_stops_every_later_call() -> None:
    limits = Limits()
    denied = AccessDeniedError(10005, "Access denied", http_status=403)
    limits.record(renew(1), denied)
    with pytest.raises(AccessDeniedError):
        await limits.acquire(renew(2))


# -- the maintenance pause ----------------------------------------------------------------


async def with_retries(
    policy: RetryPolicy,
    attempt: Callable[[], Awaitable[None]],
    *,
    idempotent: bool,
    budget: RetryBudget | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """What the client does with each call: one attempt, then the policy after a failure."""
    try:
        await attempt()
    except OpenproviderError as first:
        await retry.after_failure(
            policy,
            attempt,
            first,
            operation="Test",
            idempotent=idempotent,
            budget=budget,
            clock=clock,
            sleep=sleep,
            patience=MaintenanceDeadline(policy.maintenance_timeout),
        )
    else:
        if budget is not None:
            budget.deposit()


class FakeApi:
    """Answers from virtual time: maintenance between ``start`` and ``end``."""

    def __init__(self, vt: VirtualTime, limits: Limits, start: float, end: float) -> None:
        self.vt, self.limits, self.start, self.end = vt, limits, start, end
        self.sent: list[float] = []

    async def call(self, request: Request) -> None:
        await self.limits.acquire(request)
        self.sent.append(self.vt.now)
        await self.vt.sleep(0.05)
        error = maintenance() if self.start <= self.vt.now < self.end else None
        self.limits.record(request, error)
        if error is not None:
            raise error


async def test_maintenance_pauses_every_caller_and_probes_one_at_a_time() -> None:
    vt = VirtualTime()
    limits = vt.limits(maintenance_probe_interval=5.0)
    api = FakeApi(vt, limits, start=1.0, end=31.0)
    policy = RetryPolicy(attempts=3, maintenance_wait=2.0, maintenance_timeout=600.0)
    finished: list[float] = []

    async def worker(w: int) -> None:
        for i in range(20):
            request = renew(w * 100 + i)

            async def attempt(request: Request = request) -> None:
                await api.call(request)

            await with_retries(
                policy,
                attempt,
                idempotent=False,
                budget=limits.retry_budget,
                clock=vt.clock,
                sleep=vt.sleep,
            )
        finished.append(vt.now)

    await vt.run(asyncio.gather(*(worker(w) for w in range(50))))
    during = [t for t in api.sent if 1.1 <= t < 31.0]
    # After the in-flight calls meet it, only probes: 1, 2 and 4 s apart, then one every 5 s.
    assert len(during) <= 10
    assert max_in_window(during, 5.0) <= 3
    assert max_in_window([t for t in during if t >= 10.0], 5.0) <= 2
    assert len(finished) == 50
    assert not limits.paused
    assert limits._local.pause.pauses == 1
    assert min(finished) >= 31.0
    assert max(finished) < 45.0


async def test_answers_sent_before_the_pause_do_not_end_it() -> None:
    vt = VirtualTime()
    limits = vt.limits(maintenance_probe_interval=5.0)
    limits.record(renew(1), maintenance())
    assert limits.paused
    limits.record(renew(2), None)  # a straggler, not the probe
    assert limits.paused


async def test_a_read_that_succeeds_during_maintenance_is_no_sign_of_its_end() -> None:
    vt = VirtualTime()
    limits = vt.limits(maintenance_probe_interval=5.0)
    limits.record(renew(1), maintenance())

    async def probe() -> None:
        await limits.acquire(renew(2))
        limits.record(renew(2), None, maintenance=True)

    await vt.run(probe())
    assert limits.paused
    waiter = asyncio.ensure_future(vt.run(limits.acquire(renew(3))))
    await waiter
    assert vt.now == pytest.approx(FIRST_PROBE_INTERVAL)  # the next probe, the first step later


async def test_a_cancelled_probe_lets_the_next_one_go() -> None:
    vt = VirtualTime()
    limits = vt.limits(maintenance_probe_interval=5.0)
    limits.record(renew(1), maintenance())

    async def stuck_probe() -> None:
        await limits.acquire(renew(2))
        await vt.sleep(1000)

    probe = asyncio.ensure_future(stuck_probe())
    await asyncio.sleep(0)
    other = asyncio.ensure_future(limits.acquire(renew(3)))
    await asyncio.sleep(0)
    assert not other.done()
    probe.cancel()
    await vt.run(other)
    assert vt.now == pytest.approx(FIRST_PROBE_INTERVAL)


async def test_a_waiter_gives_up_after_the_maintenance_timeout() -> None:
    vt = VirtualTime()
    limits = vt.limits(maintenance_probe_interval=5.0)
    limits.record(renew(1), maintenance())

    async def failing_probe() -> None:
        while True:
            try:
                await limits.acquire(renew(2), MaintenanceDeadline(12.0))
            except MaintenanceError:
                return
            limits.record(renew(2), maintenance())

    probe = asyncio.ensure_future(failing_probe())

    async def waiter() -> MaintenanceError:
        with pytest.raises(MaintenanceError) as caught:
            await limits.acquire(renew(3), MaintenanceDeadline(12.0))
        return caught.value

    error = await vt.run(waiter())
    assert 12.0 <= vt.now <= 17.0
    assert not error.retryable(idempotent=True)
    assert "gave up" in "".join(error.__notes__)
    probe.cancel()


async def test_access_denied_during_a_pause_wakes_the_waiters_with_it() -> None:
    vt = VirtualTime()
    limits = vt.limits(maintenance_probe_interval=5.0)
    limits.record(renew(1), maintenance())
    await limits.acquire(renew(2))  # the probe
    waiter = asyncio.ensure_future(limits.acquire(renew(3)))
    await asyncio.sleep(0)
    limits.record(renew(2), AccessDeniedError(10005, "Access denied", http_status=403))
    with pytest.raises(AccessDeniedError):
        await vt.run(waiter)


# -- throttling: Retry-After for all, adaptive rate -----------------------------------------


async def test_retry_after_holds_every_caller() -> None:
    vt = VirtualTime()
    limits = vt.limits()
    limits.record(renew(1), throttle(retry_after=3.0))
    started: list[float] = []

    async def one(n: int) -> None:
        await limits.acquire(renew(n))
        started.append(vt.now)

    await vt.run(asyncio.gather(*(one(n) for n in range(5))))
    assert min(started) >= 3.0


async def test_a_hold_longer_than_max_hold_fails_at_once_without_sending() -> None:
    vt = VirtualTime()
    limits = vt.limits(max_hold=8.0)
    limits.record(renew(1), throttle(retry_after=45.0))
    with pytest.raises(RateLimitError) as caught:
        await limits.acquire(renew(2))
    assert vt.now == 0.0  # nothing was waited for
    assert caught.value.retry_after == pytest.approx(45.0)
    vt.now = 40.0  # the hold has less than max_hold left: now it is waited out
    await vt.run(limits.acquire(renew(3)))
    assert vt.now == pytest.approx(45.0)


async def test_adaptive_rate_slows_after_throttling_and_recovers() -> None:
    vt = VirtualTime()
    limits = vt.limits()
    sent: list[float] = []
    throttled_until = 5.0

    async def worker(w: int) -> None:
        i = 0
        while vt.now < 60.0:
            request = renew(w * 100_000 + i)
            i += 1
            await limits.acquire(request)
            sent.append(vt.now)
            await vt.sleep(0.01)
            # The server allows 100/s; before t=5 it throttles whatever is over 50/s.
            recent = sum(1 for t in sent[-200:] if t > vt.now - 1.0)
            error = throttle(None) if recent > (50 if vt.now < throttled_until else 100) else None
            limits.record(request, error)

    await vt.run(asyncio.gather(*(worker(w) for w in range(4))))
    assert limits.rate is None or limits.rate > 50  # recovered
    early = [t for t in sent if 2.0 <= t < 5.0]
    assert len(early) / 3.0 < 100  # slowed well below the 400/s the workers could do


async def test_scattered_throttles_do_not_drag_the_rate_down() -> None:
    # 5% of answers are 429s whatever the pace (a fault, not a limit): the Retry-After of each
    # is honoured, but the rate must not ratchet down, cut after cut, to a crawl.
    vt = VirtualTime()
    limits = vt.limits()
    rng = random.Random(7)
    sent: list[float] = []

    async def worker(w: int) -> None:
        i = 0
        while vt.now < 30.0:
            request = renew(w * 100_000 + i)
            i += 1
            await limits.acquire(request)
            sent.append(vt.now)
            await vt.sleep(0.04)
            limits.record(request, throttle(None) if rng.random() < 0.05 else None)

    await vt.run(asyncio.gather(*(worker(w) for w in range(4))))
    late = [t for t in sent if t >= 20.0]
    assert len(late) / 10.0 > 0.7 * 100  # 4 workers at 25/s each could do 100/s


async def test_adaptive_can_be_switched_off() -> None:
    limits = Limits(adaptive=False)
    limits.record(renew(1), throttle(retry_after=None))
    assert limits.rate is None


# -- the retry budget -----------------------------------------------------------------------


def test_retry_quota_costs_and_refills() -> None:
    quota = RetryBudget(20, retry_cost=5, timeout_cost=10, refill=1)
    assert quota.withdraw(ServerError(3006, "unavailable", http_status=503))
    assert quota.withdraw(TransportError("timed out", sent=True))
    assert quota.available == 5
    assert quota.withdraw(maintenance()) and quota.withdraw(throttle())
    assert quota.available == 5
    assert not quota.withdraw(TransportError("timed out", sent=False))
    assert quota.withdraw(ServerError(3006, "unavailable", http_status=503))
    assert not quota.withdraw(ServerError(3006, "unavailable", http_status=503))
    for _ in range(30):
        quota.deposit()
    assert quota.available == 20


async def test_an_empty_retry_budget_stops_retries() -> None:
    limits = Limits(retry_budget=RetryBudget(5, retry_cost=5))
    policy = RetryPolicy(attempts=5, initial_wait=0.0)
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        raise ServerError(3006, "unavailable", http_status=503)

    with pytest.raises(RetryBudgetExhaustedError) as caught:
        await with_retries(policy, failing, idempotent=True, budget=limits.retry_budget)
    assert isinstance(caught.value.cause, ServerError)
    assert calls == 2  # the first retry was paid for, the second could not be
    calls = 0
    with pytest.raises(RetryBudgetExhaustedError):
        await with_retries(policy, failing, idempotent=True, budget=limits.retry_budget)
    assert calls == 1


def test_retry_budget_option() -> None:
    assert Limits(retry_budget=None).retry_budget is None
    budget = Limits(retry_budget=50).retry_budget
    assert isinstance(budget, RetryBudget) and budget.capacity == 50
    assert isinstance(Limits().retry_budget, RetryBudget)


@pytest.mark.parametrize(
    "options",
    [
        {"rate": 0},
        {"rate": -1},
        {"rate": math.inf},
        {"burst": 0},
        {"burst": True},
        {"identical_limit": 0},
        {"identical_window": 0},
        {"maintenance_probe_interval": -1},
    ],
)
def test_invalid_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="Limits"):
        Limits(**options)


def test_repr_is_informative() -> None:
    assert "paused=False" in repr(Limits(rate=10))
