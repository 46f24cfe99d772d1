"""The maintenance warning is logged once per pause, not per caller (nor per flap), against
the fake over loopback sockets."""

from __future__ import annotations

import asyncio
import logging

import pytest

import openprovider_ssl as op
from openprovider_ssl.limits._front import Limits
from openprovider_ssl.testing import FakeOpenprovider

pytestmark = pytest.mark.integration

FAST = op.RetryPolicy(
    attempts=6, initial_wait=0.001, max_wait=0.02, maintenance_wait=0.005, readback_delay=0.001
)


def client_for(fake: FakeOpenprovider) -> op.Client:
    limits = Limits(maintenance_probe_interval=0.02)
    return op.Client(token=fake.token, base_url=fake.url, retry=FAST, limits=limits)


def logged(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "openprovider_ssl" and r.levelno == level
    ]


async def test_fifty_callers_in_one_pause_give_one_warning_and_one_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="openprovider_ssl")
    async with FakeOpenprovider(orders=50, seed=2, expiring_share=1.0) as fake:
        ids = fake.renewable_ids()
        async with client_for(fake) as client:
            # Long enough that the first callers meet it on a loaded machine too.
            fake.maintenance_for(0.5)
            await asyncio.gather(*(client.orders.renew(i) for i in ids))
        assert len(fake.stats.renewals) == 50
        assert fake.stats.faults["maintenance"] >= 2
    warnings = logged(caplog, logging.WARNING)
    assert len(warnings) == 1, warnings
    assert "Openprovider is in maintenance" in warnings[0]
    ends = [m for m in logged(caplog, logging.INFO) if "maintenance ended after" in m]
    assert len(ends) == 1


async def test_maintenance_that_comes_and_goes_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="openprovider_ssl")
    async with FakeOpenprovider(orders=100, seed=4, expiring_share=1.0) as fake:
        ids = fake.renewable_ids()
        fake.faults.update(maintenance_rate=0.5)
        async with client_for(fake) as client:
            async with client.orders.renew_many(ids, concurrency=20) as run:
                outcomes = [o async for o in run]
            pauses = client.limits._local.pause.pauses
        assert all(o.ok for o in outcomes)
    assert pauses > 3  # it did come and go
    assert len(logged(caplog, logging.WARNING)) == 1
    ends = [m for m in logged(caplog, logging.INFO) if "maintenance ended after" in m]
    assert len(ends) == 1
    again = [m for m in logged(caplog, logging.DEBUG) if "answered with maintenance again" in m]
    assert len(again) == pauses - 1
