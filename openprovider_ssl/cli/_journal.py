"""``openprovider-ssl journal ...``: what the renewal journal holds, and the operator's tools.

``list`` and ``export`` read the journal; ``release`` records an operator's decision; only
``reconcile`` calls the API (it reads pending orders back, and never sends a renew).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

import click
from rich.markup import escape
from rich.table import Table

from ..errors import OpenproviderError
from ..journal import ClaimRecord, RenewalJournal
from ..journal._renewal import PendingRenewal
from . import _output as out
from ._options import group
from ._session import (
    EXIT_OK,
    EXIT_PENDING,
    EXIT_USAGE,
    Session,
    Target,
    journal_for,
    json_option,
    run_command,
)


@group()
def journal() -> None:
    """The renewal journal: every renew, recorded before it is sent.

    A renew whose outcome is unknown stays pending here, and the order is never renewed again
    until `reconcile` confirms it or an operator releases it.
    """


def _run_offline(target: Target, job: Callable[[RenewalJournal], Awaitable[int]]) -> NoReturn:
    """Run ``job`` on the journal alone: no client, no credentials."""
    _, stderr = out.consoles()

    async def main() -> int:
        async with journal_for(target) as opened:
            return await job(opened)

    try:
        code = asyncio.run(main())
    except OpenproviderError as error:
        code = out.show_error(stderr, error, False, str(error), EXIT_USAGE)
    raise SystemExit(code)


def _record_json(record: ClaimRecord, now: datetime) -> dict[str, Any]:
    return {
        "order_id": record.order_id,
        "state": record.state,
        "claimed_at": record.claimed_at.isoformat(),
        "age_seconds": round(record.age(now).total_seconds()),
        "expiration_before": record.expiration.isoformat() if record.expiration else None,
        "origin": str(record.origin),
        "error": record.error,
    }


def _records_table(records: list[ClaimRecord], now: datetime, title: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("Order", justify="right", no_wrap=True)
    table.add_column("State", no_wrap=True)
    table.add_column("Sent (UTC)", no_wrap=True)
    table.add_column("Age", justify="right", no_wrap=True)
    table.add_column("Expiration before", no_wrap=True)
    table.add_column("From / last error", overflow="fold")
    for r in records:
        age = r.age(now)
        table.add_row(
            str(r.order_id),
            r.state,
            f"{r.claimed_at:%Y-%m-%d %H:%M:%S}",
            f"{age.days} d" if age.days else f"{age.seconds // 3600} h",
            out.date_text(r.expiration),
            escape(f"{r.origin}" + (f"; {r.error}" if r.error else "")),
        )
    return table


@journal.command("list")
@click.option("--pending", "only_pending", is_flag=True, help="Only renewals still pending.")
@json_option
@click.pass_obj
def journal_list(target: Target, /, *, only_pending: bool, as_json: bool) -> None:
    """The latest renew of each order: pending, renewed, or free."""

    async def job(j: RenewalJournal) -> int:
        records = await (j.pending() if only_pending else j.records())
        now = datetime.now(UTC)
        if as_json:
            out.emit_json(
                {"journal": j.location, "records": [_record_json(r, now) for r in records]}
            )
        else:
            stdout, _ = out.consoles()
            title = f"{len(records):,} renewal(s) in {j.location}"
            stdout.print(_records_table(records, now, title))
        return EXIT_OK

    _run_offline(target, job)


@journal.command("release")
@click.argument("order_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why it was not charged (kept in the journal).")
@click.pass_obj
def journal_release(target: Target, /, *, order_id: int, reason: str) -> None:
    """Record that the pending renew of order ID was NOT charged, so it may be renewed again.

    Check the order and Openprovider's invoices first: releasing a renew that was charged
    lets the next run charge it again.
    """

    async def job(j: RenewalJournal) -> int:
        released = await j.release(order_id, reason=reason)
        _, stderr = out.consoles()
        stderr.print(
            f"Order {order_id}: the renew sent {released.claimed_at:%Y-%m-%d %H:%M} UTC is "
            f"released ({escape(reason)}); it may be renewed again."
        )
        return EXIT_OK

    _run_offline(target, job)


@journal.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True,
    help="CSV with a header, or one JSON object a line.",
)  # fmt: skip
@click.option("--order", "order_id", type=click.IntRange(min=1), help="Only this order.")
@click.option(
    "--output", type=click.File("w"), default="-", show_default=True, help="File to write."
)
@click.pass_obj
def journal_export(target: Target, /, *, fmt: str, order_id: int | None, output: Any) -> None:
    """Every claim and settlement, for matching against Openprovider's invoices."""

    async def job(j: RenewalJournal) -> int:
        await j.export(output, format="csv" if fmt == "csv" else "jsonl", order_id=order_id)
        output.flush()
        return EXIT_OK

    _run_offline(target, job)


@journal.command("reconcile")
@json_option
@click.pass_obj
def journal_reconcile(target: Target, /, *, as_json: bool) -> None:
    """Read back every pending renewal: confirm those whose expiration moved (never renews).

    Exits 3 while renewals stay pending.
    """

    async def job(s: Session) -> int:
        report = await s.client.orders.reconcile()
        if s.json:
            out.emit_json(
                {
                    "journal": s.journal.location,
                    "confirmed": [_pending_json(p) for p in report.confirmed],
                    "pending": [_pending_json(p) for p in report.pending],
                }
            )
        else:
            s.stdout.print(
                f"{len(report.confirmed):,} confirmed renewed, {len(report.pending):,} still "
                f"pending ({escape(s.journal.location)})."
            )
            for p in report.pending:
                s.stdout.print(
                    f"  {p.order_id}: sent {p.record.claimed_at:%Y-%m-%d %H:%M} UTC "
                    f"({p.age.days} d ago): {escape(p.note)}",
                    soft_wrap=True,
                )
        return EXIT_PENDING if report.pending else EXIT_OK

    run_command(target, job, as_json=as_json)


def _pending_json(p: PendingRenewal) -> dict[str, Any]:
    return {
        "order_id": p.order_id,
        "claimed_at": p.record.claimed_at.isoformat(),
        "age_seconds": round(p.age.total_seconds()),
        "expiration_before": p.record.expiration.isoformat() if p.record.expiration else None,
        "expiration_now": (
            p.order.expiration_date.isoformat()
            if p.order is not None and p.order.expiration_date
            else None
        ),
        "note": p.note,
    }
