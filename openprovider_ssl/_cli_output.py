"""What the command line shows: rich tables and the progress bar for people, JSON for scripts.

Results go to stdout; progress, log lines and errors go to stderr, so ``--json`` output can be
piped while a person still sees what is happening. JSON keys are sorted and orders keep the
API's own field names and date format, so scripts can rely on the shape.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from rich.console import Console
from rich.logging import RichHandler
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

from . import _converter
from .bulk import Outcome
from .errors import (
    APIError,
    IdenticalCallLimitError,
    OutcomeUnknownError,
    ResponseError,
    RetryBudgetExhaustedError,
    TransportError,
)
from .models import ApiWarning, Order, OrderResult

_STATUS_STYLE = {"ACT": "green", "REQ": "yellow", "PAI": "cyan", "EXP": "red"}
_REASONS: dict[type[BaseException], str] = {
    OutcomeUnknownError: "outcome unknown (check the order)",
    TransportError: "network error",
    ResponseError: "unexpected answer",
    RetryBudgetExhaustedError: "retry budget spent",
    IdenticalCallLimitError: "identical-call limit",
}
_MAX_FAILED_ROWS = 20


def consoles() -> tuple[Console, Console]:
    """Consoles for stdout (results) and stderr (progress, logs, errors).

    Made per command, so they write to whatever ``sys.stdout`` is at that moment (a test
    runner's capture included); rich turns colour off when the stream is not a terminal and
    honours ``NO_COLOR``.
    """
    return Console(highlight=False), Console(stderr=True, highlight=False)


def emit_json(data: Any) -> None:
    """Write one JSON document to stdout: sorted keys, two-space indent, a final newline."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    sys.stdout.flush()


def reason(error: BaseException) -> str:
    """A short, stable label to group failures by: the API code and text, or the kind."""
    if isinstance(error, APIError):
        return f"{error.code} {error.desc}"
    for kind, label in _REASONS.items():
        if isinstance(error, kind):
            return label
    return type(error).__name__


def _detail(error: BaseException) -> str:
    """The part of an error the reason does not already say (an API error's ``data``)."""
    if isinstance(error, APIError):
        return str(error.data) if error.data not in (None, "") else error.hint
    return str(error)


def error_json(error: BaseException) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, APIError):
        data["code"] = error.code
    return {"error": data}


def show_error(err: Console, error: Exception, as_json: bool, message: str, code: int) -> int:
    """Say why the command failed (on stderr; also as JSON on stdout with ``--json``)."""
    if as_json:
        emit_json(error_json(error) | {"exit_code": code})
    err.print(f"[red]Error:[/] {escape(message)}", soft_wrap=True)
    return code


# --- orders -------------------------------------------------------------------------------


def order_json(order: Order) -> dict[str, Any]:
    """An order as the API spells it (``orderSslOrder`` field names, dates in UTC)."""
    data: dict[str, Any] = _converter.unstructure(order)
    return data


def result_json(result: OrderResult) -> dict[str, Any]:
    data: dict[str, Any] = _converter.unstructure(result)
    return data


def _date(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d")


def _expires(order: Order, now: datetime) -> str:
    text = _date(order.expiration_date)
    if order.can_renew(now) and order.expiration_date is not None:
        days = (order.expiration_date - now).days
        return f"[yellow]{text}[/] [dim](in {days} d)[/]"
    return text


def _status(order: Order) -> str:
    style = _STATUS_STYLE.get(order.status, "dim")
    return f"[{style}]{escape(order.status)}[/]"


def orders_table(orders: Sequence[Order], *, title: str) -> Table:
    now = datetime.now(UTC)
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("ID", justify="right", no_wrap=True)
    table.add_column("Common name", overflow="fold")
    table.add_column("Product", overflow="fold")
    table.add_column("Status", no_wrap=True)
    table.add_column("Expires", no_wrap=True)
    table.add_column("Autorenew", no_wrap=True)
    for order in orders:
        table.add_row(
            str(order.id),
            escape(order.common_name),
            escape(order.product_name),
            _status(order),
            _expires(order, now),
            escape(order.autorenew),
        )
    return table


def order_detail(order: Order) -> Table:
    now = datetime.now(UTC)
    table = Table(show_header=False, title=f"Order {order.id}", title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    handles = {order.organization_handle, order.technical_handle} - {""}
    rows = [
        ("Common name", escape(order.common_name)),
        ("Host names", escape(", ".join(order.host_names))),
        ("Product", escape(f"{order.product_name} ({order.brand_name})")),
        ("Status", _status(order)),
        ("Period", f"{order.period} year(s)" if order.period else ""),
        ("Ordered", _date(order.order_date)),
        ("Active since", _date(order.active_date)),
        ("Expires", _expires(order, now)),
        ("Renewable now", "yes" if order.can_renew(now) else "no"),
        ("Autorenew", escape(order.autorenew)),
        ("Approver email", escape(order.email_approver)),
        ("Validation", escape(order.validation_method)),
        ("Software", escape(order.software)),
        ("Handles", escape(", ".join(sorted(handles)))),
        ("May update", escape(", ".join(sorted(order.updatable_fields())) or "nothing")),
    ]
    for label, value in rows:
        if value:
            table.add_row(label, value)
    return table


def warnings_text(warnings: Iterable[ApiWarning]) -> list[str]:
    return [
        f"[yellow]warning {w.code}:[/] {escape(w.desc)} {escape(w.data or '')}" for w in warnings
    ]


# --- bulk renewals ----------------------------------------------------------------------------


@attrs.define
class RenewReport:
    """What a renew run did, filled in as outcomes arrive and rendered at the end.

    ``skipped`` holds orders not attempted (taken but never sent when the run was
    interrupted: safe to renew again); ``in_flight`` the orders whose renew was sent and never
    answered (they may or may not have been applied); ``would_renew`` a dry run's orders.
    """

    title: str
    dry_run: bool = False
    renewed: list[int] = attrs.Factory(list)
    would_renew: list[tuple[int, datetime | None]] = attrs.Factory(list)
    skipped: list[tuple[int, str]] = attrs.Factory(list)
    failed: list[tuple[int, BaseException]] = attrs.Factory(list)
    in_flight: list[int] = attrs.Factory(list)
    interrupted: bool = False
    requests: int = 0
    retries: int = 0
    wall_time: float = 0.0
    extra: dict[str, int] = attrs.Factory(dict)

    def add(self, outcome: Outcome[Any]) -> None:
        if outcome.error is not None:
            self.failed.append((outcome.order_id, outcome.error))
        elif outcome.dry_run:
            self.would_renew.append((outcome.order_id, outcome.expiration_date))
        else:
            self.renewed.append(outcome.order_id)

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
            "renewed": sorted(self.renewed),
            "would_renew": sorted(i for i, _ in self.would_renew),
            "skipped": [{"order_id": i, "reason": r} for i, r in sorted(self.skipped)],
            "failed": [
                {"order_id": i, "reason": reason(e), "message": str(e)}
                for i, e in sorted(self.failed, key=lambda pair: pair[0])
            ],
            "failed_by_reason": dict(sorted(self.failed_by_reason.items())),
            "in_flight": sorted(self.in_flight),
            "counts": {
                "renewed": len(self.renewed),
                "would_renew": len(self.would_renew),
                "skipped": len(self.skipped),
                "failed": len(self.failed),
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
    table.add_row("failed", f"[red]{len(report.failed):,}[/]" if report.failed else "0")
    for why, count in sorted(report.failed_by_reason.items()):
        table.add_row(f"  {escape(why)}", f"{count:,}")
    if report.interrupted:
        table.add_row("in flight when interrupted", f"[yellow]{len(report.in_flight):,}[/]")
    for key, value in report.extra.items():
        table.add_row(escape(key), f"{value:,}")
    table.add_row("requests", f"{report.requests:,}")
    table.add_row("retries", f"{report.retries:,}")
    table.add_row("wall time", f"{report.wall_time:.1f} s")
    table.add_row("requests per second", f"{report.requests_per_second:,.1f}")
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


def would_renew_table(report: RenewReport) -> Table:
    now = datetime.now(UTC)
    table = Table(title="Would renew", title_justify="left", header_style="bold")
    table.add_column("Order", justify="right", no_wrap=True)
    table.add_column("Expires", no_wrap=True)
    for order_id, expiration in sorted(report.would_renew, key=lambda pair: pair[0]):
        days = f" [dim](in {(expiration - now).days} d)[/]" if expiration is not None else ""
        table.add_row(str(order_id), _date(expiration) + days)
    return table


def show_report(out: Console, err: Console, report: RenewReport) -> None:
    """The human rendering: summary table, failures, and what was in flight on Ctrl-C."""
    if report.would_renew:
        out.print(would_renew_table(report))
    out.print(renew_summary(report))
    failures = failures_table(report)
    if failures is not None:
        out.print(failures)
    if report.interrupted:
        err.print("[yellow]Interrupted:[/] stopped cleanly; nothing more was sent.")
        if report.in_flight:
            ids = " ".join(str(i) for i in sorted(report.in_flight))
            err.print(
                f"These {len(report.in_flight)} order(s) had a renew in flight (sent, not "
                "answered): it may or may not have been applied. Check them with "
                "[bold]openprovider-ssl orders get ID[/] before renewing again:"
            )
            err.print(ids, soft_wrap=True)
        else:
            err.print("No renew was in flight.")


# --- logging --------------------------------------------------------------------------------


#: The format of the client's per-attempt debug line ("%s %s %s": operation, method, path).
REQUEST_LOG_FORMAT = "%s %s %s"
#: The client's per-attempt failure line; a retry line follows when it is retried.
FAILURE_LOG_FORMAT = "%s failed: %s"


class _Verbosity(logging.Filter):
    """Which of the client's log lines a person sees.

    0: warnings and errors (maintenance pauses, a blacklisted IP); 1 (``-v``): also retries
    and waits, throttling, read-backs; 2 (``-vv``): every request and failed attempt too.
    """

    def __init__(self, verbosity: int) -> None:
        super().__init__()
        self.verbosity = verbosity

    def filter(self, record: logging.LogRecord) -> bool:
        if self.verbosity >= 2 or record.levelno >= logging.WARNING:
            return True
        return self.verbosity == 1 and record.msg not in (REQUEST_LOG_FORMAT, FAILURE_LOG_FORMAT)


@contextlib.contextmanager
def logging_to(console: Console, verbosity: int, *, quiet: bool) -> Iterator[None]:
    """Show the client's log lines on ``console`` for the command, filtered by ``verbosity``.

    ``quiet`` hides even warnings unless ``-v`` was given. The "openprovider_ssl" logger's
    level is set for the command (DEBUG only with ``-v``) and restored after it.
    """
    logger = logging.getLogger("openprovider_ssl")
    handler = log_handler(console, verbosity) if verbosity or not quiet else None
    level = logger.level
    logger.setLevel(logging.DEBUG if verbosity else logging.WARNING)
    if handler is not None:
        logger.addHandler(handler)
    try:
        yield
    finally:
        if handler is not None:
            logger.removeHandler(handler)
        logger.setLevel(level)


def client_gone(record: logging.LogRecord) -> bool:
    """Drop the in-process fake's traceback for a client that hung up mid-request (Ctrl-C)."""
    return not (record.exc_info and isinstance(record.exc_info[1], ConnectionError))


def log_handler(console: Console, verbosity: int) -> logging.Handler:
    """Log lines on stderr, drawn above the progress bar, filtered by ``_Verbosity``."""
    handler = RichHandler(
        console=console,
        level=logging.DEBUG,
        show_path=False,
        markup=False,
        rich_tracebacks=False,
        log_time_format="[%X]",
    )
    handler.addFilter(_Verbosity(verbosity))
    return handler
