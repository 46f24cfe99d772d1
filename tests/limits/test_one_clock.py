"""One clock per client: the time a client runs on is injected once and reaches every wait it
makes (retries, the maintenance pause, rate pacing, Retry-After holds, the read-back), and how
long a call waits for maintenance to end is one setting, ``RetryPolicy.maintenance_timeout``.
Every wait here is virtual: the recorded sleep moves the clock, nothing sleeps for real."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

import openprovider_ssl as op
from tests._support.mocked_api import BASE, TOKEN, Sleeps, VirtualTime

if TYPE_CHECKING:
    from tests._support.mocked_api import Api

ORDER = 31027
GET = f"/ssl/orders/{ORDER}"
RENEW = f"/ssl/orders/{ORDER}/renew"


def maintenance(api: Api, **kwargs: Any) -> None:
    api.error(
        "GET", GET, 4005, status=503, desc="Disabled for maintenance", maintenance=True, **kwargs
    )


def throttled(api: Api, retry_after: int) -> None:
    api.error(
        "GET",
        GET,
        4007,
        status=429,
        desc="Excessive use",
        headers={"Retry-After": str(retry_after)},
    )


def client_on(vtime: VirtualTime, sleeps: Sleeps, **options: Any) -> op.Client:
    return op.Client(TOKEN, base_url=BASE, clock=vtime.clock, sleep=sleeps, **options)


# --- maintenance: one knob, bounded on the client's clock ----------------------------------


async def test_permanent_maintenance_fails_in_milliseconds_with_a_fast_injected_time(
    api: Api, vtime: VirtualTime, sleeps: Sleeps
) -> None:
    maintenance(api, repeat=True)
    policy = op.RetryPolicy(attempts=3)
    start = vtime.now
    async with client_on(vtime, sleeps, retry=policy) as client:
        with pytest.raises(op.MaintenanceError):
            await client.orders.get(ORDER)
    # The whole wait was the injected sleep's, and within the policy's maintenance_timeout:
    # the pause's waits for the next probe went through it too.
    assert vtime.now - start == pytest.approx(sum(sleeps.waits))
    assert vtime.now - start <= policy.maintenance_timeout


async def test_the_waits_in_the_pause_count_towards_the_calls_maintenance_timeout(
    api: Api, vtime: VirtualTime, sleeps: Sleeps
) -> None:
    maintenance(api, repeat=True)
    policy = op.RetryPolicy(maintenance_wait=2.0, maintenance_timeout=30.0, random=lambda: 0.0)
    start = vtime.now
    async with client_on(vtime, sleeps, retry=policy) as client:
        with pytest.raises(op.MaintenanceError):
            await client.orders.get(ORDER)
        # The pause's own waits (1, 2, 4, then 5 s between probes) were bounded by the call's
        # 30 s too, not by a limit of the limiter's.
        assert vtime.now - start <= 30.0
        assert client.limits.paused


def test_the_limits_no_longer_take_a_maintenance_timeout() -> None:
    with pytest.raises(TypeError, match="maintenance_timeout"):
        op.Limits(maintenance_timeout=30.0)  # type: ignore[call-arg]


# --- every wait goes through the one injected sleep ----------------------------------------


async def test_every_wait_of_a_client_goes_through_its_one_injected_sleep(
    api: Api, vtime: VirtualTime, sleeps: Sleeps
) -> None:
    policy = op.RetryPolicy(attempts=2, readback_delay=2.0, random=lambda: 0.0)
    async with client_on(vtime, sleeps, retry=policy) as client:
        # A retry: half the initial wait (no jitter).
        api.error("GET", GET, 1, status=502, desc="Bad gateway")
        api.ok("GET", GET, api.order(ORDER))
        await client.orders.get(ORDER)
        assert sleeps.waits == [0.25]
        # A Retry-After, waited by the retry, then raised: it holds every caller...
        throttled(api, 3)
        throttled(api, 3)
        with pytest.raises(op.RateLimitError):
            await client.orders.get(ORDER)
        assert sleeps.waits[1:] == [3.0]
        # ... so the next call waits it out in the limiter, without a retry.
        retries = client.stats.retries
        api.ok("GET", GET, api.order(ORDER))
        await client.orders.get(ORDER)
        assert client.stats.retries == retries
        assert sleeps.waits[2:] == [3.0]
        # Maintenance: the retries' waits and the pause's wait for the next probe (1 s after
        # the probe before it).
        maintenance(api)
        maintenance(api)
        api.ok("GET", GET, api.order(ORDER))
        await client.orders.get(ORDER)
        assert sleeps.waits[3:] == [0.5, 0.5, 0.5]
        # The read-back after a renew that may have been applied.
        api.fail("POST", RENEW, TimeoutError())
        api.ok("GET", GET, api.order(ORDER))
        with pytest.raises(op.OutcomeUnknownError):
            await client.orders.renew(ORDER, known_expiration=api.when(10))
        assert sleeps.waits[6:] == [2.0]
    assert vtime.now - 1_000.0 == pytest.approx(sum(sleeps.waits))


async def test_a_client_given_limits_runs_on_their_time_pacing_and_retries_alike(
    api: Api, vtime: VirtualTime, sleeps: Sleeps
) -> None:
    limits = op.Limits(rate=2, burst=1, clock=vtime.clock, sleep=sleeps)
    async with op.Client(
        TOKEN, base_url=BASE, limits=limits, retry=op.RetryPolicy(random=lambda: 0.0)
    ) as client:
        assert (client.limits.clock, client.limits.sleep) == (vtime.clock, sleeps)
        api.ok("GET", GET, api.order(ORDER), repeat=2)
        await client.orders.get(ORDER)
        await client.orders.get(ORDER)  # paced: half a second after the first
        assert len(sleeps.waits) == 1 and sleeps.waits[0] == pytest.approx(0.5, abs=0.01)
        api.error("GET", GET, 1, status=502, desc="Bad gateway")
        api.ok("GET", GET, api.order(ORDER))
        await client.orders.get(ORDER)
    assert 0.25 in sleeps.waits  # the retry's wait, through the limits' sleep


# --- never two clocks ------------------------------------------------------------------------


def test_a_client_refuses_a_clock_or_sleep_other_than_its_limits() -> None:
    vtime = VirtualTime()
    limits = op.Limits(clock=vtime.clock, sleep=Sleeps(vtime))
    with pytest.raises(op.ValidationError, match="sleep"):
        op.Client(TOKEN, limits=limits, sleep=Sleeps(vtime))
    with pytest.raises(op.ValidationError, match="clock"):
        op.Client(TOKEN, limits=op.Limits(), clock=vtime.clock)
    # The same time twice is one clock.
    client = op.Client(TOKEN, limits=limits, clock=vtime.clock, sleep=limits.sleep)
    assert client.limits is limits


def test_a_client_gives_its_time_to_the_limits_it_builds() -> None:
    vtime = VirtualTime()
    sleeps = Sleeps(vtime)
    client = op.Client(TOKEN, clock=vtime.clock, sleep=sleeps)
    assert (client.limits.clock, client.limits.sleep) == (vtime.clock, sleeps)


def test_one_frozen_policy_serves_clients_on_different_clocks() -> None:
    policy = op.RetryPolicy(attempts=2)
    first, second = VirtualTime(), VirtualTime()
    a = op.Client(TOKEN, retry=policy, clock=first.clock, sleep=Sleeps(first))
    b = op.Client(TOKEN, retry=policy, clock=second.clock, sleep=Sleeps(second))
    assert a.retry_policy is b.retry_policy
    assert a.limits.clock != b.limits.clock
