"""Soak: thousands of renewals and updates through the bulk runners while the fake fails in
every way it can, all at once; then the fake's own counters are the judge.

Faults, per request: 10% maintenance answers (writes), 5% HTTP 429 with a Retry-After, 5% HTTP
503 (3006), 1% connections dropped before anything is applied, 1% dropped after the change
was applied, 1% garbage bodies (half a 502 page before applying, half an HTML or cut-off 200
after applying); and one maintenance window of a few seconds halfway through, plus every
token expiring at a quarter (the client logs in again). Time is scaled down: the client waits
milliseconds where production waits seconds (small ``RetryPolicy`` waits, 50 ms probes, a
50 ms Retry-After); nothing else is changed.

Asserted from the fake, not from the client's word:

* every order has exactly one outcome, in both runs;
* no order was renewed twice (the fake counts every renewal it charges), under both renew
  models of BEHAVIOUR.md: the expiration moving at once, or only long after (when a second
  renew would be charged again);
* every renewal of unknown outcome is pending in the client's journal;
* every order reported renewed was renewed on the fake; every order the fake renewed was
  reported renewed or reported as unknown (``OutcomeUnknownError``): nothing is charged
  silently; an order reported failed for any other reason was not renewed;
* every order reported updated has the requested value on the fake;
* requests stay within ``MAX_AMPLIFICATION`` per operation (printed);
* no credential shows in any log record or error of the whole run;
* no task is left pending and the fake has no request in flight.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import TYPE_CHECKING, Any

import pytest

import openprovider_ssl as op
from openprovider_ssl.limits._front import Limits

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests._support.secret_watch import SecretWatch
    from tests._support.threaded_fake import ThreadedFake
    from tests.journal._soak import Soak

pytestmark = [pytest.mark.soak, pytest.mark.integration]

#: Requests the fake receives per renewal or update asked for, all included: listing, logins,
#: retries, read-backs. With these fault rates about 1.3 are expected (a write fails before
#: being applied about one time in five, so 1 / 0.8 attempts, plus the read-backs).
MAX_AMPLIFICATION = 1.5
FAULTS: dict[str, Any] = {
    "maintenance_rate": 0.10,
    "throttle_rate": 0.05,
    "throttle_retry_after": 0.05,
    "error_rate": 0.05,
    "drop_before_rate": 0.01,
    "drop_after_rate": 0.01,
    "garbage_rate": 0.01,
}
PASSWORD = "pw-soak-2e41b9-SECRET"


async def scaled_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


#: The renew models of BEHAVIOUR.md: the expiration moves at once, or only when the CA issues
#: (here: long after the run), while a second renew would be charged again. The second model
#: also soaks the durable SQLite journal.
MODELS = [
    pytest.param(0.0, False, id="immediate"),
    pytest.param(3600.0, True, id="settles-later-sqlite"),
]


def soak_client(fake: Any, journal: op.RenewalJournal | None = None) -> op.Client:
    policy = op.RetryPolicy(
        attempts=4,
        initial_wait=0.01,
        max_wait=0.5,
        maintenance_wait=0.05,
        maintenance_timeout=120.0,
        readback_delay=0.01,
    )
    limits = Limits(maintenance_probe_interval=0.05)
    return op.Client(
        username=fake.username,
        password=fake.password,
        base_url=fake.url,
        retry=policy,
        limits=limits,
        max_connections=200,
        timeout=30.0,
        journal=journal,
    )


def kind(outcome: Any, ok: str) -> str:
    if outcome.ok:
        return ok
    if isinstance(outcome.error, op.OutcomeUnknownError):
        return "unknown"
    return type(outcome.error).__name__


@pytest.mark.parametrize(("settles_after", "durable"), MODELS)
async def test_soak_under_every_fault_at_once(
    soak: Soak,
    watch: SecretWatch,
    serve: Callable[..., ThreadedFake],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
    settles_after: float,
    durable: bool,
) -> None:
    n = soak.orders
    served = serve(
        orders=n, seed=2026, expiring_share=1.0, password=PASSWORD, latency=0.001,
        latency_jitter=0.004, renew_settles_after=settles_after,
    )  # fmt: skip
    fake = served.fake
    issued: list[str] = []
    issue = fake.tokens.issue
    fake.tokens.issue = lambda now, ip=None: issued.append(issue(now, ip)) or issued[-1]  # type: ignore[method-assign, func-returns-value]
    tasks_before = asyncio.all_tasks()
    started = time.monotonic()
    journal = op.SqliteJournal(tmp_path / "renewals.sqlite3") if durable else None
    client = soak_client(fake, journal)
    watch.thing(client)
    async with client:
        # What a user does: list the orders to renew (the expiration dates let an
        # ambiguous renew be confirmed by reading the order back), then renew and update.
        served.call(lambda: fake.faults.update(**FAULTS))
        listed = [o async for o in client.orders.list(status="ACT", show_expiring=True,
                                                      page_size=1000)]  # fmt: skip
        assert sorted(o.id for o in listed) == sorted(fake.orders)
        # Half as Order objects, half as bare ids: both kinds of item are soaked.
        items: list[Any] = [o if i % 2 else o.id for i, o in enumerate(listed)]
        as_ids = {o.id for i, o in enumerate(listed) if not i % 2}
        before: dict[int, Any] = {o.id: o.expiration_date for o in listed}
        wanted = {o.id: "off" if o.autorenew == "on" else "on" for o in listed}
        changes = {oid: {"autorenew": value} for oid, value in wanted.items()}
        renewals: list[Any] = []
        updates: list[Any] = []
        window_at: list[float] = []

        async def drain(run: Any, sink: list[Any], events: bool) -> None:
            async with run:
                async for outcome in run:
                    sink.append(outcome)
                    if events and len(sink) == n // 4:
                        served.call(fake.expire_tokens)  # every call must log in again
                    if events and len(sink) == n // 2:
                        served.call(lambda: fake.maintenance_for(soak.maintenance_window))
                        window_at.append(time.monotonic() - started)

        await asyncio.gather(
            drain(client.orders.renew_many(items, concurrency=soak.concurrency), renewals,
                  True),
            drain(client.orders.update_many(changes, concurrency=soak.concurrency), updates,
                  False),
        )  # fmt: skip
        watch.thing(client)
        pending_in_journal = {r.order_id for r in await client.journal.pending()}
    if journal is not None:
        await journal.close()
    elapsed = time.monotonic() - started
    await asyncio.sleep(0)
    pending = asyncio.all_tasks() - tasks_before
    served.close()  # (idempotent) so that the counters below are final
    stats = fake.stats

    # -- one outcome per order, in both runs ----------------------------------------------------
    every_order = collections.Counter(list(fake.orders))
    assert collections.Counter(o.order_id for o in renewals) == every_order
    assert collections.Counter(o.order_id for o in updates) == every_order

    # -- renewals: never twice, none silent, none claimed falsely ------------------------------
    renew_kinds = collections.Counter(kind(o, "renewed") for o in renewals)
    assert max(stats.renewals.values()) == 1, "an order was renewed twice"
    reported = {o.order_id for o in renewals if o.ok}
    unknown = {o.order_id for o in renewals if kind(o, "") == "unknown"}
    failed = {o.order_id for o in renewals if not o.ok} - unknown
    renewed_on_fake = set(stats.renewals)
    assert reported <= renewed_on_fake, "reported renewed, not renewed on the fake"
    assert renewed_on_fake - reported <= unknown, "renewed on the fake, never reported"
    assert not failed & renewed_on_fake, "reported failed, yet renewed on the fake"
    assert pending_in_journal == unknown, "an unknown renewal is not pending in the journal"
    fake.advance_time(settles_after + 1)  # let the certificate authority issue
    for order_id in reported:
        expiration = fake.orders[order_id].expiration_date
        assert expiration is not None and expiration > before[order_id]

    # -- updates: what was reported done is done ------------------------------------------------
    update_kinds = collections.Counter(kind(o, "updated") for o in updates)
    for outcome in updates:
        if outcome.ok:
            assert fake.orders[outcome.order_id].autorenew == wanted[outcome.order_id]
        watch.error(outcome.error) if outcome.error else None
    for outcome in renewals:
        watch.error(outcome.error) if outcome.error else None

    # -- the cost -------------------------------------------------------------------------------
    amplification = stats.total / (2 * n)
    faults = dict(sorted(stats.faults.items()))
    report = "\n".join(
        [
            f"soak: {n} orders renewed and updated at once, concurrency {soak.concurrency} each,"
            f" {elapsed:.1f} s wall",
            f"  faults injected (fake's count): {faults} = {sum(faults.values())}",
            f"  maintenance window: {soak.maintenance_window:g} s, opened at "
            f"{window_at[0] if window_at else float('nan'):.1f} s",
            f"  requests: {stats.total} ({dict(sorted(stats.requests.items()))})",
            f"  amplification: {amplification:.2f} requests per operation"
            f" (bound {MAX_AMPLIFICATION})",
            f"  renew model: settles after {settles_after:g} s, journal "
            f"{'SQLite' if durable else 'memory'}; orders charged twice: "
            f"{sum(1 for c in stats.renewals.values() if c > 1)}; orders without an outcome: "
            f"{len(set(fake.orders) - {o.order_id for o in renewals})}",
            f"  renew outcomes: {dict(renew_kinds)}; renewed on the fake: {len(renewed_on_fake)}"
            f" (of the {len(unknown)} unknown: {len(unknown & renewed_on_fake)} renewed,"
            f" {len(unknown & as_ids)} given as bare ids)",
            f"  update outcomes: {dict(update_kinds)}; updates applied: "
            f"{sum(stats.updates.values())} for {len(stats.updates)} orders",
            f"  max in flight at the fake: {stats.max_in_flight}; log records searched: "
            f"{watch.records}; errors searched: {watch.errors}",
        ]
    )
    with capsys.disabled():
        print("\n" + report)
    assert amplification <= MAX_AMPLIFICATION, report
    for fault in ("maintenance", "throttle", "error", "drop_before", "drop_after"):
        assert stats.faults[fault] > 0, f"no {fault} fault was injected"
    assert stats.faults["garbage_200"] + stats.faults["garbage_502"] > 0
    assert stats.requests["Login"] >= 2  # the tokens expired at a quarter: a fresh login

    # -- nothing left behind, nothing shown -----------------------------------------------------
    assert pending == set()
    assert stats.in_flight == 0
    assert watch.leaks([PASSWORD, fake.token, *issued]) == []
