"""The commands that renew in bulk: ``renew-expiring``, ``orders renew`` and ``demo``.

They share one loop, ``_renew``: a live progress bar while the outcomes arrive (or, with
``--json-lines``, one line per outcome), a clean stop on SIGINT or SIGTERM, then the report.
``cli`` adds these commands to its groups.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from collections.abc import Callable
from typing import Any

import attrs
import click

from ..bulk._operations import DEFAULT_CONCURRENCY, BulkRun, ProgressHook
from ..models import Renewed
from ._events import emit_outcome, emit_stopped, emit_summary
from ._logging import note
from ._options import command
from ._output import emit_json
from ._renew_report import RenewReport, renew_progress, show_report
from ._session import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PENDING,
    Session,
    Target,
    json_option,
    run_command,
)

concurrency_option = functools.partial(
    click.option, "--concurrency", type=click.IntRange(1, 1000), show_default=True,
    help="Renewals in flight at once.",
)  # fmt: skip
json_lines_option = click.option(
    "--json-lines", is_flag=True,
    help="Print one JSON object a line on stdout as each order's outcome arrives, then a "
    '"summary" line (a killed run leaves every complete line).',
)  # fmt: skip
max_renewals_option = click.option(
    "--max-renewals", type=click.IntRange(min=0), metavar="N",
    help="Spending cap: send no further renew once N were sent (charged or maybe charged); "
    "then exit 1.",
)  # fmt: skip


def _output(as_json: bool, json_lines: bool) -> None:
    if as_json and json_lines:
        raise click.UsageError("--json and --json-lines exclude each other")


async def _renew(
    s: Session, report: RenewReport, start: Callable[[ProgressHook], BulkRun[Renewed]]
) -> int:
    """Run a bulk renewal under a live bar; on SIGINT or SIGTERM stop it and report what was
    in flight."""
    stats = s.client.stats
    began, requests, retries = time.perf_counter(), stats.requests, stats.retries
    lines = s.json_lines
    bar = renew_progress(s.stderr, disable=(s.json or lines) and not s.stderr.is_terminal)
    with bar:
        task = bar.add_task("checking" if report.dry_run else "renewing", ok=0, failed=0)

        def hook(done: int, failed: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        run = start(hook)
        try:
            async with run:
                async for outcome in run:
                    report.add(outcome)
                    if lines:
                        emit_outcome(outcome)
                    # ok and failed as the report counts them: an order held back by the cap,
                    # or pending from an earlier run, is neither.
                    ok = len(report.would_renew if report.dry_run else report.renewed)
                    bar.update(task, ok=ok, failed=len(report.failed))
        except asyncio.CancelledError:
            # A signal cancelled us; the run has stopped its workers. Finish the report
            # instead of dying, so the operator learns which renewals may have landed.
            if (me := asyncio.current_task()) is not None:
                me.uncancel()
            report.interrupted = True
            report.signal = s.stop.signal or "SIGINT"
            for outcome in run.undelivered:
                report.add(outcome)
                if lines:
                    emit_outcome(outcome)
            report.in_flight = list(run.unanswered)
            report.skipped += [(i, "not sent: interrupted") for i in run.unsent]
    report.cap_reached = run.cap_reached
    report.wall_time = time.perf_counter() - began
    report.journal = s.journal.location
    report.requests = stats.requests - requests
    report.retries = stats.retries - retries
    if s.fake is not None:
        twice = sum(1 for n in s.fake.stats.renewals.values() if n > 1)
        report.extra["fake: maintenance answers"] = s.fake.stats.faults["maintenance"]
        report.extra["fake: orders charged twice"] = twice
    code = _exit_code(s, report)
    if lines or s.json:  # the document is on stdout; a word in the log
        _stopped_note(s, report)
    if lines:
        if report.interrupted:
            emit_stopped(report)
        emit_summary(report, code)
    elif s.json:
        emit_json(report.as_json())
    else:
        show_report(s.stdout, s.stderr, report)
    return code


def _stopped_note(s: Session, report: RenewReport) -> None:
    if report.cap_reached:
        note(
            s.stderr,
            f"[red]Stopped:[/] --max-renewals {report.max_renewals:,} reached; no further renew "
            "was sent.",
        )
    if report.interrupted:
        note(
            s.stderr,
            f"[yellow]Interrupted by {report.signal}:[/] stopped cleanly; nothing more was sent; "
            f"{len(report.in_flight)} renew(s) in flight are pending in the journal: "
            + (" ".join(str(i) for i in sorted(report.in_flight)) or "none"),
        )


def _exit_code(s: Session, report: RenewReport) -> int:
    """130/143 after a signal, 3 when renewals are pending or unknown, 1 when some failed or
    the cap stopped the run, else 0."""
    if report.interrupted:
        return s.stop.exit_code
    if report.unsettled:
        return EXIT_PENDING
    return EXIT_FAILED if report.failed or report.cap_reached else EXIT_OK


def _cap(max_renewals: int | None) -> dict[str, Any]:
    return {} if max_renewals is None else {"max_renewals": max_renewals}


@command("renew-expiring")
@click.option(
    "--within-days", type=click.IntRange(1, 90), metavar="DAYS",
    help="Renew the active orders that expire within this many days: at most the renewal "
    "window (--renewal-window-days) [default: the renewal window, 30].",
)  # fmt: skip
@concurrency_option(default=DEFAULT_CONCURRENCY)
@click.option("--dry-run", is_flag=True, help="List what would be renewed; renew nothing.")
@max_renewals_option
@json_option
@json_lines_option
@click.pass_obj
def renew_expiring(
    target: Target, /, *, within_days: int | None, concurrency: int, dry_run: bool,
    max_renewals: int | None, as_json: bool, json_lines: bool,
) -> None:  # fmt: skip
    """Renew every active order that expires soon (renewals are charged).

    Every renew is recorded in the journal before it is sent: an order whose renew is
    pending (from this run or an earlier one) is never sent again; `journal reconcile`
    settles them. SIGINT (Ctrl-C) and SIGTERM stop cleanly: nothing more is sent, and the
    orders whose renew was in flight are listed, since those may or may not have been applied.
    """
    _output(as_json, json_lines)
    window = target.renewal_window_days
    if within_days is not None and window is not None and within_days > window:
        raise click.BadParameter(
            f"{within_days} is more than the renewal window of {window} days "
            "(--renewal-window-days)",
            param_hint="--within-days",
        )

    async def job(s: Session) -> int:
        days = within_days or s.client.renewal_window_days
        title = f"Orders expiring within {days} days" + (" (dry run)" if dry_run else "")
        return await _renew(
            s,
            RenewReport(title=title, dry_run=dry_run, max_renewals=max_renewals),
            lambda hook: s.client.orders.renew_expiring(
                within_days=days, dry_run=dry_run, concurrency=concurrency, progress=hook,
                **_cap(max_renewals),
            ),
        )  # fmt: skip

    run_command(target, job, as_json=as_json, json_lines=json_lines, max_connections=concurrency)


def _order_ids(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[int]:
    """Order ids from the arguments; ``-`` reads more from standard input (one a line, or
    separated by spaces). Any bad id is a usage error, before anything is sent."""
    words: list[str] = []
    for value in values:
        words.extend(sys.stdin.read().split() if value == "-" else [value])
    bad = [w for w in words if not (w.isascii() and w.isdigit() and int(w) >= 1)]
    if bad:
        shown = ", ".join(repr(w) for w in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise click.BadParameter(f"not an order id (a positive integer): {shown}")
    if not words:
        raise click.BadParameter("no order id given (standard input was empty)")
    return [int(w) for w in words]


@command("renew")
@click.argument("order_ids", metavar="ID...|-", nargs=-1, required=True, callback=_order_ids)
@concurrency_option(default=DEFAULT_CONCURRENCY)
@max_renewals_option
@json_option
@json_lines_option
@click.pass_obj
def orders_renew(
    target: Target, /, *, order_ids: list[int], concurrency: int, max_renewals: int | None,
    as_json: bool, json_lines: bool,
) -> None:  # fmt: skip
    """Renew the given orders; `-` reads ids from standard input, one a line or separated by
    spaces. Each must be active and expire within the renewal window; renewals are charged."""
    _output(as_json, json_lines)
    unique = list(dict.fromkeys(order_ids))  # an id given twice is still renewed once

    async def job(s: Session) -> int:
        return await _renew(
            s,
            RenewReport(title=f"Renew {len(unique)} order(s)", max_renewals=max_renewals),
            lambda hook: s.client.orders.renew_many(
                unique, concurrency=concurrency, progress=hook, **_cap(max_renewals)
            ),
        )

    run_command(target, job, as_json=as_json, json_lines=json_lines, max_connections=concurrency)


@command()
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
@json_lines_option
@click.pass_obj
def demo(
    target: Target, /, *, order_count: int, latency: float, maintenance_rate: float,
    concurrency: int, seed: int, as_json: bool, json_lines: bool,
) -> None:  # fmt: skip
    """Bulk-renew a fake account: no credentials needed, nothing charged.

    Starts a fake Openprovider in this process with thousands of orders (30% expiring within
    30 days), some latency and some maintenance answers, renews every expiring order under a
    live progress bar, and prints what happened.
    """
    _output(as_json, json_lines)
    fake_target = attrs.evolve(
        target, fake=True, sandbox=False, fake_orders=order_count, fake_latency=latency,
        fake_maintenance_rate=maintenance_rate, fake_seed=seed,
    )  # fmt: skip

    async def job(s: Session) -> int:
        assert s.fake is not None
        if not (s.json or s.json_lines):
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

    run_command(
        fake_target, job, as_json=as_json, json_lines=json_lines, max_connections=concurrency,
        quiet=True,
    )  # fmt: skip
