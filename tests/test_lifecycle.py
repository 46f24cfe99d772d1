"""Lifecycle: cancellation at random points, and event loops that come and go.

The fake runs in a thread with its own event loop, so that the test's loop holds only the
client's tasks (whatever is pending there after a cancellation is the client's doing) and so
that the fake outlives the loops of successive ``asyncio.run`` calls.

After every scenario: no task of the client is left pending, no session, connector or socket
is left unclosed (warnings are errors in this suite, and the ``asyncio`` logger's "Unclosed"
reports are collected too), no order was renewed twice, and the client still works.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import warnings
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

import openprovider_ssl as op
from openprovider_ssl.limits._front import Limits
from openprovider_ssl.testing import FakeOpenprovider
from tests._support.threaded_fake import ThreadedFake

pytestmark = pytest.mark.integration

SEED = 20_261_122


@pytest.fixture
def served() -> Iterator[ThreadedFake]:
    threaded = ThreadedFake(
        orders=400,
        seed=5,
        expiring_share=1.0,
        username="reseller",
        password="pw-lifecycle-1",
        latency=0.002,
        latency_jitter=0.02,
    )
    yield threaded
    threaded.close()


@pytest.fixture
def leaks(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """What was left unclosed in the test: ResourceWarnings and the loop's "Unclosed" reports."""
    caplog.set_level(logging.ERROR, logger="asyncio")
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield found
        gc.collect()
    found += [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    found += [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert found == []


async def quick(seconds: float) -> None:
    await asyncio.sleep(min(seconds, 0.01))


def make_client(fake: FakeOpenprovider, *, login: bool = True, **options: Any) -> op.Client:
    credentials: dict[str, Any] = (
        {"username": fake.username, "password": fake.password} if login else {"token": fake.token}
    )
    options.setdefault(
        "retry",
        op.RetryPolicy(
            initial_wait=0.005, maintenance_wait=0.02, maintenance_timeout=5.0, readback_delay=0.005
        ),
    )
    options.setdefault(
        "limits", Limits(maintenance_probe_interval=0.02, adaptive=False, sleep=quick)
    )
    return op.Client(base_url=fake.url, timeout=5.0, **credentials, **options)


async def no_pending_tasks(grace: float = 2.0) -> None:
    """Every task but this one ends within ``grace`` (a shared login may finish its request)."""
    me = asyncio.current_task()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while True:
        pending = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
        if not pending:
            return
        if loop.time() > deadline:
            raise AssertionError(f"tasks left pending: {pending}")
        await asyncio.sleep(0.01)


def renewed_at_most_once(fake: FakeOpenprovider) -> None:
    assert all(count == 1 for count in fake.stats.renewals.values()), fake.stats.renewals


def calls(client: op.Client, order_id: int) -> list[Callable[[], Awaitable[Any]]]:
    async def first_page() -> None:
        async for _ in client.orders.list(page_size=5):
            break

    return [
        lambda: client.orders.get(order_id),
        lambda: client.orders.update(order_id, autorenew="on"),
        lambda: client.orders.renew(order_id),
        lambda: client.orders.page(limit=20),
        lambda: client.csr.create("example.com"),
        first_page,
    ]


# --- single calls --------------------------------------------------------------------------------


async def test_calls_cancelled_at_random_points_leave_nothing_behind(
    served: ThreadedFake, leaks: list[str]
) -> None:
    fake = served.fake
    fake.faults.update(error_rate=0.05, maintenance_rate=0.05, drop_after_rate=0.03)
    rng = random.Random(SEED)
    ids = sorted(fake.orders)
    client = make_client(fake)
    cancelled = finished = 0
    for step in range(120):
        call = rng.choice(calls(client, ids[step]))
        task = asyncio.ensure_future(call())
        await asyncio.sleep(rng.uniform(0.0, 0.04))
        if task.cancel():
            cancelled += 1
        await asyncio.wait([task])
        if not task.cancelled():
            finished += 1
            task.exception()  # an API refusal or a fault; retrieved, and fine
        if step % 10 == 0:
            fake.expire_tokens()  # a login now and then, to be cancelled too
    await no_pending_tasks()
    assert cancelled > 30 and finished > 10, (cancelled, finished)
    fake.faults.update(error_rate=0.0, maintenance_rate=0.0, drop_after_rate=0.0)
    assert (await client.orders.get(ids[0])).id == ids[0]  # still usable
    await client.aclose()
    renewed_at_most_once(fake)


async def test_calls_cancelled_in_the_maintenance_pause_let_the_next_ones_through(
    served: ThreadedFake, leaks: list[str]
) -> None:
    fake = served.fake
    client = make_client(fake)
    ids = sorted(fake.orders)
    fake.faults.maintenance = True
    waiting = [asyncio.ensure_future(client.orders.update(i, autorenew="on")) for i in ids[:20]]
    await asyncio.sleep(0.2)
    assert client.limits.paused and not any(t.done() for t in waiting)
    for task in waiting:
        task.cancel()
    await asyncio.wait(waiting)
    await no_pending_tasks()
    fake.end_maintenance()
    async with asyncio.timeout(2):  # the cancelled probe does not hold the pause
        results = await asyncio.gather(*(client.orders.update(i, autorenew="on") for i in ids[:5]))
    assert [r.id for r in results] == ids[:5] and not client.limits.paused
    await client.aclose()


async def test_calls_cancelled_while_throttled_let_the_next_ones_through(
    served: ThreadedFake, leaks: list[str]
) -> None:
    fake = served.fake
    client = make_client(fake, login=False)
    fake.faults.update(throttle_rate=1.0, throttle_retry_after=1)
    blocked = [asyncio.ensure_future(client.orders.get(i)) for i in sorted(fake.orders)[:10]]
    await asyncio.sleep(0.3)
    fake.faults.update(throttle_rate=0.0)
    for task in blocked:
        task.cancel()
    await asyncio.wait(blocked)
    await no_pending_tasks()
    async with asyncio.timeout(5):  # at most the Retry-After, then everything flows
        await asyncio.gather(*(client.orders.get(i) for i in sorted(fake.orders)[:10]))
    await client.aclose()


async def test_a_login_survives_its_waiters_being_cancelled(
    served: ThreadedFake, leaks: list[str]
) -> None:
    fake = served.fake
    fake.faults.update(on_login=True, latency=0.2, latency_jitter=0.0)
    client = make_client(fake)
    ids = sorted(fake.orders)
    first = [asyncio.ensure_future(client.orders.get(i)) for i in ids[:5]]
    await asyncio.sleep(0.05)  # every call now waits on the one login
    for task in first[:4]:
        task.cancel()
    assert (await first[4]).id == ids[4]
    await asyncio.wait(first)
    # Every waiter cancelled: the shared login still finishes, and its token is used next.
    fake.expire_tokens()
    second = [asyncio.ensure_future(client.orders.get(i)) for i in ids[:5]]
    await asyncio.sleep(0.3)
    for task in second:
        task.cancel()
    await asyncio.wait(second)
    await no_pending_tasks()
    logins = fake.stats.requests["Login"]
    fake.faults.update(latency=0.0)
    assert (await client.orders.get(ids[0])).id == ids[0]
    assert fake.stats.requests["Login"] == logins
    await client.aclose()


# --- event loops that come and go ----------------------------------------------------------------


@pytest.mark.parametrize("close_each_run", [False, True])
def test_a_client_made_outside_a_loop_serves_asyncio_runs_in_sequence(
    served: ThreadedFake, leaks: list[str], close_each_run: bool
) -> None:
    fake = served.fake
    # A rate ceiling with a small burst: calls queue in the limiter (an asyncio.Lock) each run.
    limits = Limits(rate=300, burst=2, maintenance_probe_interval=0.02, adaptive=False)
    client = make_client(fake, limits=limits)  # no loop is running here
    ids = sorted(fake.orders)

    async def run_one(round_: int) -> None:
        # Something of every loop-bound kind: a login, the rate limiter's queue after a
        # throttle, the maintenance pause, pooled connections.
        fake.expire_tokens()
        fake.faults.update(throttle_rate=0.3, throttle_retry_after=0, maintenance_rate=0.2)
        fake.maintenance_for(0.1)
        batch = ids[round_ * 20 : (round_ + 1) * 20]
        outcomes = await asyncio.gather(
            *(client.orders.update(i, autorenew="on") for i in batch), return_exceptions=True
        )
        assert all(not isinstance(o, BaseException) or isinstance(o, op.OpenproviderError)
                   for o in outcomes), outcomes  # fmt: skip
        fake.faults.update(throttle_rate=0.0, maintenance_rate=0.0)
        assert (await client.orders.get(batch[0])).id == batch[0]
        if close_each_run:
            await client.aclose()

    for round_ in range(4):
        asyncio.run(run_one(round_))
    asyncio.run(client.aclose())
    assert fake.stats.requests["Login"] >= 4


def test_a_client_left_open_when_its_loop_ends_closes_with_it(
    served: ThreadedFake, leaks: list[str]
) -> None:
    fake = served.fake
    client = make_client(fake, login=False)

    async def use() -> None:
        await asyncio.gather(*(client.orders.get(i) for i in sorted(fake.orders)[:10]))

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(use())
        loop.run_until_complete(loop.shutdown_asyncgens())  # what asyncio.run does
    finally:
        loop.close()
    asyncio.run(use())  # and a later loop gets a fresh pool


# --- bulk runs ---------------------------------------------------------------------------------


async def test_bulk_runs_cancelled_at_random_points_lose_nothing_and_renew_nothing_twice(
    served: ThreadedFake, leaks: list[str]
) -> None:
    """Cancel a renew_many at a random point, again and again; then finish the job with the
    record the runs left. In the end every order is renewed exactly once."""
    fake = served.fake
    fake.faults.update(error_rate=0.05, maintenance_rate=0.05, drop_after_rate=0.02)
    rng = random.Random(SEED)
    client = make_client(fake)
    orders = [o async for o in client.orders.list(status="ACT", show_expiring=True)]
    todo = {o.id: o for o in orders}
    assert len(todo) == 400
    to_check: set[int] = set()  # unanswered, or OutcomeUnknownError: read the fake to know
    for step in range(8):
        run = client.orders.renew_many(list(todo.values()), concurrency=rng.choice([5, 20, 50]))
        delivered: list[Any] = []

        async def consume(run: Any = run, delivered: list[Any] = delivered) -> None:
            async with run:
                async for outcome in run:
                    delivered.append(outcome)

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(rng.uniform(0.0, 0.12))
        if step % 2:
            task.cancel()  # cancel the task that iterates
        else:
            await run.aclose()  # or close the run from outside
        await asyncio.wait([task])
        await no_pending_tasks()
        outcomes = delivered + list(run.undelivered)
        ids = [o.order_id for o in outcomes] + list(run.unanswered) + list(run.unsent)
        assert len(ids) == len(set(ids)), "an order has two outcomes"
        for outcome in outcomes:
            todo.pop(outcome.order_id, None)
            if outcome.ok:
                assert fake.stats.renewals[outcome.order_id] == 1
            elif isinstance(outcome.error, op.OutcomeUnknownError):
                to_check.add(outcome.order_id)
            else:
                assert fake.stats.renewals[outcome.order_id] == 0, outcome.error
        for order_id in run.unanswered:
            todo.pop(order_id, None)
            to_check.add(order_id)
        for order_id in run.unsent:
            assert fake.stats.renewals[order_id] == 0
        renewed_at_most_once(fake)
    # Finish: what was never answered stays pending in the client's journal. Reconciling it
    # confirms what moved; on this fake (the immediate model) an unchanged order was not
    # renewed, so the operator releases it, and what was not renewed is renewed now.
    fake.faults.update(error_rate=0.0, maintenance_rate=0.0, drop_after_rate=0.0)
    report = await client.orders.reconcile()
    assert {p.order_id for p in report.confirmed} | {p.order_id for p in report.pending} == (
        to_check
    )
    for still in report.pending:
        assert fake.stats.renewals[still.order_id] == 0
        await client.journal.release(still.order_id, reason="unchanged on the immediate model")
        assert still.order is not None
        todo[still.order_id] = still.order
    async with client.orders.renew_many(list(todo.values()), concurrency=20) as run:
        assert all([outcome.ok async for outcome in run])
    await client.aclose()
    await no_pending_tasks()
    assert set(fake.stats.renewals) == {o.id for o in orders}
    renewed_at_most_once(fake)
