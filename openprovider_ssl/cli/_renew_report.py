"""What a bulk renewal shows: the live progress bar, then its report as tables or JSON.

``RenewReport`` collects the outcomes as they arrive; at the end ``show_report`` draws the
summary, the failures and (after Ctrl-C) what was in flight, or ``RenewReport.as_json`` gives
the same for scripts. Failures are grouped by a short, stable ``reason``.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import attrs
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ..bulk._operations import Outcome
from ..errors import (
    APIError,
    IdenticalCallLimitError,
    OutcomeUnknownError,
    RenewalCapReachedError,
    RenewalPendingError,
    ResponseError,
    RetryBudgetExhaustedError,
    TransportError,
)
from ._logging import note
from ._output import cli_message, date_text, failure_fields

_REASONS: dict[type[BaseException], str] = {
    OutcomeUnknownError: "outcome unknown (check the order)",
    TransportError: "network error",
    ResponseError: "unexpected answer",
    RetryBudgetExhaustedError: "retry budget spent",
    IdenticalCallLimitError: "identical-call limit",
}
_MAX_FAILED_ROWS = 20
#: Why an order taken by a run stopped at --max-renewals was not sent.
NOT_SENT_CAP = "not sent: --max-renewals reached"


def reason(error: BaseException) -> str:
    """A short, stable label to group failures by: the API code and text, or the kind."""
    if isinstance(error, APIError):
        return f"{error.code} {error.desc}"
    for kind, label in _REASONS.items():
        if isinstance(error, kind):
            return label
    return type(error).__name__


def _failure(order_id: int, error: BaseException) -> dict[str, Any]:
    return {"order_id": order_id, "reason": reason(error), "message": cli_message(error)} | (
        failure_fields(error)
    )


def _detail(error: BaseException) -> str:
    """The part of an error the reason does not already say (an API error's ``data``)."""
    if isinstance(error, APIError):
        return str(error.data) if error.data not in (None, "") else error.hint
    return str(error)


@attrs.define
class RenewReport:
    """What a renew run did, filled in as outcomes arrive and rendered at the end.

    ``skipped`` holds orders not attempted (taken but never sent when the run was
    interrupted: safe to renew again); ``in_flight`` the orders whose renew was sent and never
    answered (they may or may not have been applied); ``would_renew`` a dry run's orders.
    ``unknown`` holds renewals of this run whose outcome is unknown, ``pending`` orders not
    sent because a renew of an earlier run is pending, ``already_renewed`` orders an earlier
    run renewed for this period: all three are in the journal.
    """

    title: str
    dry_run: bool = False
    renewed: list[int] = attrs.Factory(list)
    would_renew: list[tuple[int, datetime | None]] = attrs.Factory(list)
    skipped: list[tuple[int, str]] = attrs.Factory(list)
    failed: list[tuple[int, BaseException]] = attrs.Factory(list)
    unknown: list[tuple[int, OutcomeUnknownError]] = attrs.Factory(list)
    pending: list[tuple[int, RenewalPendingError]] = attrs.Factory(list)
    already_renewed: list[tuple[int, RenewalPendingError]] = attrs.Factory(list)
    in_flight: list[int] = attrs.Factory(list)
    journal: str = ""
    interrupted: bool = False
    signal: str | None = None
    max_renewals: int | None = None
    cap_reached: bool = False
    requests: int = 0
    retries: int = 0
    wall_time: float = 0.0
    extra: dict[str, int] = attrs.Factory(dict)

    def add(self, outcome: Outcome[Any]) -> None:
        error = outcome.error
        if isinstance(error, OutcomeUnknownError):
            self.unknown.append((outcome.order_id, error))
        elif isinstance(error, RenewalPendingError):
            earlier = self.already_renewed if error.state == "renewed" else self.pending
            earlier.append((outcome.order_id, error))
        elif isinstance(error, RenewalCapReachedError):
            self.skipped.append((outcome.order_id, NOT_SENT_CAP))
        elif error is not None:
            self.failed.append((outcome.order_id, error))
        elif outcome.dry_run:
            self.would_renew.append((outcome.order_id, outcome.expiration_date))
        else:
            self.renewed.append(outcome.order_id)

    @property
    def unsettled(self) -> bool:
        """Renewals that may have been charged and are not known to be: exit code 3."""
        return bool(self.unknown or self.pending or self.in_flight)

    @property
    def failed_by_reason(self) -> Counter[str]:
        return Counter(reason(error) for _, error in self.failed)

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.wall_time if self.wall_time > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "interrupted": self.interrupted,
            "signal": self.signal,
            "max_renewals": self.max_renewals,
            "cap_reached": self.cap_reached,
            "renewed": sorted(self.renewed),
            "would_renew": sorted(i for i, _ in self.would_renew),
            "skipped": [{"order_id": i, "reason": r} for i, r in sorted(self.skipped)],
            "failed": [_failure(i, e) for i, e in sorted(self.failed, key=_first)],
            "failed_by_reason": dict(sorted(self.failed_by_reason.items())),
            "unknown": [_failure(i, e) for i, e in sorted(self.unknown, key=_first)],
            "pending": [_earlier(i, e) for i, e in sorted(self.pending, key=_first)],
            "already_renewed": [
                _earlier(i, e) for i, e in sorted(self.already_renewed, key=_first)
            ],
            "in_flight": sorted(self.in_flight),
            "journal": self.journal,
            "counts": {
                "renewed": len(self.renewed),
                "would_renew": len(self.would_renew),
                "skipped": len(self.skipped),
                "failed": len(self.failed),
                "unknown": len(self.unknown),
                "pending": len(self.pending),
                "already_renewed": len(self.already_renewed),
                "in_flight": len(self.in_flight),
            },
            "requests": self.requests,
            "retries": self.retries,
            "wall_time_seconds": round(self.wall_time, 3),
            "requests_per_second": round(self.requests_per_second, 1),
            "fake": {
                key.removeprefix("fake: ").replace(" ", "_"): v for key, v in self.extra.items()
            },
        }


def _first(pair: tuple[int, Any]) -> int:
    return pair[0]


def _earlier(order_id: int, error: RenewalPendingError) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "state": error.state,
        "claimed_at": error.claimed_at.isoformat(),
        "origin": error.origin,
    }


def renew_progress(console: Console, *, disable: bool) -> Progress:
    """The live bar: done / total, renewed and failed so far, elapsed and remaining time."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]{task.fields[ok]} ok[/] [red]{task.fields[failed]} failed[/]"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=disable,
        transient=False,
    )


def renew_summary(report: RenewReport) -> Table:
    table = Table(
        title=report.title, title_justify="left", show_header=False, min_width=len(report.title)
    )
    table.add_column(style="bold", no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    if report.dry_run:
        table.add_row("would renew", f"[green]{len(report.would_renew):,}[/]")
    else:
        table.add_row("renewed", f"[green]{len(report.renewed):,}[/]")
    table.add_row("skipped", f"{len(report.skipped):,}")
    if report.already_renewed:
        table.add_row("renewed by an earlier run", f"{len(report.already_renewed):,}")
    table.add_row("failed", f"[red]{len(report.failed):,}[/]" if report.failed else "0")
    for why, count in sorted(report.failed_by_reason.items()):
        table.add_row(f"  {escape(why)}", f"{count:,}")
    if report.unknown:
        table.add_row("outcome unknown (pending)", f"[yellow]{len(report.unknown):,}[/]")
    if report.pending:
        table.add_row("pending from an earlier run", f"[yellow]{len(report.pending):,}[/]")
    if report.interrupted:
        table.add_row("in flight when interrupted", f"[yellow]{len(report.in_flight):,}[/]")
    if report.max_renewals is not None:
        cap = f"{report.max_renewals:,}" + (" [red](reached)[/]" if report.cap_reached else "")
        table.add_row("renewals cap (--max-renewals)", cap)
    for key, value in report.extra.items():
        table.add_row(escape(key), f"{value:,}")
    table.add_row("requests", f"{report.requests:,}")
    table.add_row("retries", f"{report.retries:,}")
    table.add_row("wall time", f"{report.wall_time:.1f} s")
    table.add_row("requests per second", f"{report.requests_per_second:,.1f}")
    if report.journal:
        table.add_row("journal", escape(report.journal))
    return table


def failures_table(report: RenewReport) -> Table | None:
    if not report.failed:
        return None
    shown = sorted(report.failed, key=lambda pair: pair[0])[:_MAX_FAILED_ROWS]
    more = len(report.failed) - len(shown)
    caption = f"... and {more} more (--json lists them all)" if more else None
    table = Table(title="Failed", title_justify="left", caption=caption, header_style="bold")
    table.add_column("Order", justify="right", no_wrap=True)
    table.add_column("Reason", no_wrap=True)
    table.add_column("Detail", overflow="fold")
    for order_id, error in shown:
        table.add_row(str(order_id), escape(reason(error)), escape(_detail(error)))
    return table


def table_of_pending(report: RenewReport) -> Table | None:
    rows = [(i, "outcome unknown (this run)", "") for i, _ in report.unknown] + [
        (i, "pending from an earlier run", f"{e.claimed_at:%Y-%m-%d %H:%M} UTC, {e.origin}")
        for i, e in report.pending
    ]
    if not rows:
        return None
    shown = sorted(rows)[:_MAX_FAILED_ROWS]
    more = len(rows) - len(shown)
    caption = f"... and {more} more (--json lists them all)" if more else None
    table = Table(title="Pending", title_justify="left", caption=caption, header_style="bold")
    table.add_column("Order", justify="right", no_wrap=True)
    table.add_column("State", no_wrap=True)
    table.add_column("Sent", overflow="fold")
    for order_id, state, sent in shown:
        table.add_row(str(order_id), state, escape(sent))
    return table


def would_renew_table(report: RenewReport) -> Table:
    now = datetime.now(UTC)
    table = Table(title="Would renew", title_justify="left", header_style="bold")
    table.add_column("Order", justify="right", no_wrap=True)
    table.add_column("Expires", no_wrap=True)
    for order_id, expiration in sorted(report.would_renew, key=lambda pair: pair[0]):
        days = f" [dim](in {(expiration - now).days} d)[/]" if expiration is not None else ""
        table.add_row(str(order_id), date_text(expiration) + days)
    return table


def show_report(out: Console, err: Console, report: RenewReport) -> None:
    """The human rendering: summary table, failures, and what was in flight on Ctrl-C."""
    if report.would_renew:
        out.print(would_renew_table(report))
    out.print(renew_summary(report))
    failures = failures_table(report)
    if failures is not None:
        out.print(failures)
    pending = table_of_pending(report)
    if pending is not None:
        out.print(pending)
        note(
            err,
            "[yellow]Pending:[/] these renewals may have been charged and are held in the "
            "journal, so they are never sent again. Run [bold]openprovider-ssl journal "
            "reconcile[/] to confirm those that were applied; release one only once you know "
            "it was not charged ([bold]openprovider-ssl journal release ID --reason ...[/]).",
        )
    if report.cap_reached:
        note(
            err,
            f"[red]Stopped:[/] --max-renewals {report.max_renewals:,} reached; no further "
            "renew was sent. Run the command again (or with a higher cap) to renew the rest.",
        )
    if report.unknown:
        note(
            err,
            "Outcome unknown: check each order ([bold]openprovider-ssl orders get ID[/]), then "
            "run [bold]openprovider-ssl journal reconcile[/].",
        )
    if report.interrupted:
        by = f" by {report.signal}" if report.signal else ""
        note(err, f"[yellow]Interrupted{by}:[/] stopped cleanly; nothing more was sent.")
        if report.in_flight:
            ids = " ".join(str(i) for i in sorted(report.in_flight))
            note(
                err,
                f"These {len(report.in_flight)} order(s) had a renew in flight (sent, not "
                "answered): it may or may not have been applied, and it is pending in the "
                "journal ([bold]openprovider-ssl journal reconcile[/]):",
            )
            note(err, ids)
        else:
            note(err, "No renew was in flight.")
