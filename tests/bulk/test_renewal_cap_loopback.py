"""The spending cap of bulk renewals (``max_renewals``), counted by the fake over loopback."""

from __future__ import annotations

from typing import Any

import pytest

import openprovider_ssl as op
from openprovider_ssl.limits._front import Limits
from openprovider_ssl.testing import FakeOpenprovider

pytestmark = pytest.mark.integration

FAST = op.RetryPolicy(
    attempts=6, initial_wait=0.001, max_wait=0.02, maintenance_wait=0.002, readback_delay=0.001
)


def client_for(fake: FakeOpenprovider) -> op.Client:
    limits = Limits(maintenance_probe_interval=0.01)
    return op.Client(token=fake.token, base_url=fake.url, retry=FAST, limits=limits)


async def outcomes_of(run: op.BulkRun[Any]) -> list[op.Outcome[Any]]:
    async with run:
        return [outcome async for outcome in run]


def charged(fake: FakeOpenprovider) -> int:
    return sum(fake.stats.renewals.values())


# A renew sent twice is charged twice only where the expiration moves later (BEHAVIOUR.md,
# "Renew"): the cap is counted under both models.
RENEW_MODELS = [
    pytest.param({}, id="immediate"),
    pytest.param({"renew_settles_after": 3600.0}, id="settles-later"),
]


@pytest.mark.parametrize("model", RENEW_MODELS)
async def test_renew_many_sends_no_more_than_the_cap(model: dict[str, Any]) -> None:
    async with FakeOpenprovider(
        orders=60, seed=3, expiring_share=1.0, latency=0.002, **model
    ) as fake:
        ids = fake.renewable_ids()
        async with client_for(fake) as client:
            run = client.orders.renew_many(ids, concurrency=8, max_renewals=10)
            outcomes = await outcomes_of(run)
        assert charged(fake) == 10
        assert run.sent == 10 and run.max_renewals == 10
        assert run.cap_reached and run.stopped
        renewed = [o for o in outcomes if o.ok]
        held = [o for o in outcomes if not o.ok]
        assert len(renewed) == 10
        assert {o.order_id for o in renewed} == set(fake.stats.renewals)
        # The first order held back says so; the others were never taken from the source.
        assert len(held) == 1
        for outcome in held:
            error = outcome.error
            assert isinstance(error, op.RenewalCapReachedError)
            assert not error.may_have_been_applied and not error.transient
            assert error.limit == 10 and error.sent == 10
            assert f"order {outcome.order_id} not sent" in str(error)
        assert held[0].order_id not in fake.stats.renewals
        assert run.progress.done == len(outcomes) == 11


async def test_a_renew_sent_and_refused_still_counts() -> None:
    # Refused by the server after it was sent: it could have been charged, so it counts.
    async with FakeOpenprovider(orders=0) as fake:
        ids = [fake.add_order(expires_in_days=200).id for _ in range(10)]
        async with client_for(fake) as client:
            run = client.orders.renew_many(ids, concurrency=2, max_renewals=3)
            outcomes = await outcomes_of(run)
        assert fake.stats.requests["RenewOrder"] == 3
        assert run.sent == 3 and run.cap_reached
        assert sum(isinstance(o.error, op.APIError) for o in outcomes) == 3
        assert isinstance(outcomes[-1].error, op.RenewalCapReachedError)
        assert len(outcomes) == 4


async def test_a_renew_refused_before_sending_gives_its_place_back() -> None:
    async with FakeOpenprovider(orders=0) as fake:
        done = [fake.add_order(expires_in_days=10).id for _ in range(3)]
        fresh = [fake.add_order(expires_in_days=10).id for _ in range(10)]
        async with client_for(fake) as client:
            await outcomes_of(client.orders.renew_many(done))
            # The journal refuses the three renewed ones before sending: they use no place.
            run = client.orders.renew_many([*done, *fresh], concurrency=4, max_renewals=5)
            outcomes = await outcomes_of(run)
        pending = [o for o in outcomes if isinstance(o.error, op.RenewalPendingError)]
        assert {o.order_id for o in pending} == set(done)
        assert sum(o.ok for o in outcomes) == 5
        assert run.sent == 5 and run.cap_reached
        assert charged(fake) == 3 + 5


async def test_renew_expiring_takes_the_cap_too() -> None:
    async with FakeOpenprovider(orders=40, seed=5, expiring_share=1.0) as fake:
        async with client_for(fake) as client:
            run = client.orders.renew_expiring(max_renewals=7, concurrency=5)
            outcomes = await outcomes_of(run)
        assert charged(fake) == 7
        assert run.sent == 7 and run.cap_reached
        assert sum(o.ok for o in outcomes) == 7


async def test_a_cap_above_what_there_is_to_renew_is_not_reached() -> None:
    async with FakeOpenprovider(orders=12, seed=5, expiring_share=1.0) as fake:
        ids = fake.renewable_ids()
        async with client_for(fake) as client:
            run = client.orders.renew_many(ids, max_renewals=12)
            outcomes = await outcomes_of(run)
            uncapped = client.orders.renew_many([])
            assert uncapped.max_renewals is None and not uncapped.cap_reached
        assert all(o.ok for o in outcomes) and len(outcomes) == 12
        assert run.sent == 12 and not run.cap_reached and not run.stopped


async def test_a_cap_of_zero_sends_nothing() -> None:
    async with FakeOpenprovider(orders=5, seed=5, expiring_share=1.0) as fake:
        async with client_for(fake) as client:
            run = client.orders.renew_many(fake.renewable_ids(), concurrency=1, max_renewals=0)
            outcomes = await outcomes_of(run)
        assert fake.stats.requests["RenewOrder"] == 0
        assert len(outcomes) == 1 and isinstance(outcomes[0].error, op.RenewalCapReachedError)
        assert run.cap_reached and run.sent == 0


@pytest.mark.parametrize("bad", [-1, "5", 2.0, True])
async def test_a_bad_cap_is_refused_before_sending(bad: Any) -> None:
    async with FakeOpenprovider(orders=5, seed=5, expiring_share=1.0) as fake:
        async with client_for(fake) as client:
            with pytest.raises(op.ValidationError, match="max_renewals"):
                client.orders.renew_many(fake.renewable_ids(), max_renewals=bad)
            with pytest.raises(op.ValidationError, match="max_renewals"):
                client.orders.renew_expiring(max_renewals=bad)
        assert fake.stats.total == 0
