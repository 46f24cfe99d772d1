"""The commands that renew in bulk: ``renew-expiring``, ``orders renew`` and ``demo``.

They share one loop, ``_renew``: a live progress bar while the outcomes arrive, a clean stop
on Ctrl-C, then the report. ``cli`` adds these commands to its groups.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable

import attrs
import click

from ._cli_output import emit_json
from ._cli_renew_report import RenewReport, renew_progress, show_report
from ._cli_session import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PENDING,
    Session,
    Target,
    json_option,
    run_command,
)
from .bulk import DEFAULT_CONCURRENCY, BulkRun, ProgressHook
from .models import Renewed

concurrency_option = functools.partial(
    click.option, "--concurrency", type=click.IntRange(1, 1000), show_default=True,
    help="Renewals in flight at once.",
)  # fmt: skip


async def _renew(
    s: Session, report: RenewReport, start: Callable[[ProgressHook], BulkRun[Renewed]]
) -> int:
    """Run a bulk renewal under a live bar; on Ctrl-C stop it and report what was in flight."""
    stats = s.client.stats
    began, requests, retries = time.perf_counter(), stats.requests, stats.retries
    bar = renew_progress(s.stderr, disable=s.json and not s.stderr.is_terminal)
    with bar:
        task = bar.add_task("checking" if report.dry_run else "renewing", ok=0, failed=0)

        def hook(done: int, failed: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total, ok=done - failed, failed=failed)

        run = start(hook)
        try:
            async with run:
                async for outcome in run:
                    report.add(outcome)
        except asyncio.CancelledError:
            # Ctrl-C: asyncio.run cancelled us; the run has stopped its workers. Finish the
            # report instead of dying, so the operator learns which renewals may have landed.
            if (me := asyncio.current_task()) is not None:
                me.uncancel()
            report.interrupted = True
            for outcome in run.undelivered:
                report.add(outcome)
            report.in_flight = list(run.unanswered)
            report.skipped = [(i, "not sent: interrupted") for i in run.unsent]
    report.wall_time = time.perf_counter() - began
    report.journal = s.journal.location
    report.requests = stats.requests - requests
    report.retries = stats.retries - retries
    if s.fake is not None:
        twice = sum(1 for n in s.fake.stats.renewals.values() if n > 1)
        report.extra["fake: maintenance answers"] = s.fake.stats.faults["maintenance"]
        report.extra["fake: orders charged twice"] = twice
    if s.json:
        emit_json(report.as_json())
    else:
        show_report(s.stdout, s.stderr, report)
    if report.interrupted:
        return EXIT_INTERRUPTED
    if report.unsettled:
        return EXIT_PENDING
    return EXIT_FAILED if report.failed else EXIT_OK


@click.command("renew-expiring")
@click.option(
    "--within-days", type=click.IntRange(1, 30), default=30, show_default=True,
    help="Renew the active orders that expire within this many days.",
)  # fmt: skip
@concurrency_option(default=DEFAULT_CONCURRENCY)
@click.option("--dry-run", is_flag=True, help="List what would be renewed; renew nothing.")
@json_option
@click.pass_obj
def renew_expiring(
    target: Target, /, *, within_days: int, concurrency: int, dry_run: bool, as_json: bool
) -> None:
    """Renew every active order that expires soon (renewals are charged).

    Every renew is recorded in the journal before it is sent: an order whose renew is
    pending (from this run or an earlier one) is never sent again; `journal reconcile`
    settles them. Ctrl-C stops cleanly: nothing more is sent, and the orders whose renew was
    in flight are listed, since those may or may not have been applied.
    """

    async def job(s: Session) -> int:
        title = f"Orders expiring within {within_days} days" + (" (dry run)" if dry_run else "")
        return await _renew(
            s,
            RenewReport(title=title, dry_run=dry_run),
            lambda hook: s.client.orders.renew_expiring(
                within_days=within_days, dry_run=dry_run, concurrency=concurrency, progress=hook
            ),
        )

    run_command(target, job, as_json=as_json, max_connections=concurrency)


@click.command("renew")
@click.argument("order_ids", metavar="ID...", nargs=-1, required=True, type=click.IntRange(min=1))
@concurrency_option(default=DEFAULT_CONCURRENCY)
@json_option
@click.pass_obj
def orders_renew(
    target: Target, /, *, order_ids: tuple[int, ...], concurrency: int, as_json: bool
) -> None:
    """Renew the given orders (each must be active and expire within 30 days; charged)."""
    unique = list(dict.fromkeys(order_ids))  # an id given twice is still renewed once

    async def job(s: Session) -> int:
        return await _renew(
            s,
            RenewReport(title=f"Renew {len(unique)} order(s)"),
            lambda hook: s.client.orders.renew_many(unique, concurrency=concurrency, progress=hook),
        )

    run_command(target, job, as_json=as_json, max_connections=concurrency)


@click.command()
@click.option(
    "--orders", "order_count", type=click.IntRange(1, 200_000), default=3000,
    show_default=True, help="Orders seeded into the fake.",
)  # fmt: skip
@click.option(
    "--latency", type=click.FloatRange(0, 5), default=0.02, show_default=True,
    metavar="SECONDS", help="Latency of every answer.",
)  # fmt: skip
@click.option(
    "--maintenance-rate", type=click.FloatRange(0, 1), default=0.05, show_default=True,
    help="Share of renewals refused for maintenance (then retried).",
)  # fmt: skip
@concurrency_option(default=50)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the fake's data.")
@json_option
@click.pass_obj
def demo(
    target: Target, /, *, order_count: int, latency: float, maintenance_rate: float,
    concurrency: int, seed: int, as_json: bool,
) -> None:  # fmt: skip
    """Bulk-renew a fake account: no credentials needed, nothing charged.

    Starts a fake Openprovider in this process with thousands of orders (30% expiring within
    30 days), some latency and some maintenance answers, renews every expiring order under a
    live progress bar, and prints what happened.
    """
    fake_target = attrs.evolve(
        target, fake=True, sandbox=False, fake_orders=order_count, fake_latency=latency,
        fake_maintenance_rate=maintenance_rate, fake_seed=seed,
    )  # fmt: skip

    async def job(s: Session) -> int:
        assert s.fake is not None
        if not s.json:
            s.stderr.print(
                f"Fake Openprovider at {s.fake.url}: {order_count:,} orders, "
                f"{len(s.fake.renewable_ids()):,} expiring within 30 days, {latency * 1000:g} ms "
                f"latency, {maintenance_rate:.0%} of renewals refused for maintenance."
            )
        return await _renew(
            s,
            RenewReport(title="Demo: renew every order expiring within 30 days"),
            lambda hook: s.client.orders.renew_expiring(concurrency=concurrency, progress=hook),
        )

    run_command(fake_target, job, as_json=as_json, max_connections=concurrency, quiet=True)
