"""What the command line shows, but for bulk renewals: tables for people, JSON for scripts.

Results go to stdout; log lines and errors go to stderr, so ``--json`` output can be piped
while a person still sees what is happening. JSON keys are sorted and orders keep the API's own
field names and date format, so scripts can rely on the shape. A bulk renewal's progress bar
and report are drawn by ``_cli_renew_report``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from .errors import APIError
from .models import ApiWarning, Order

_STATUS_STYLE = {"ACT": "green", "REQ": "yellow", "PAI": "cyan", "EXP": "red"}


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


def date_text(value: datetime | None) -> str:
    """A date as the tables show it: the day in UTC, or nothing."""
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d")


def _expires(order: Order, now: datetime) -> str:
    text = date_text(order.expiration_date)
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
        ("Ordered", date_text(order.order_date)),
        ("Active since", date_text(order.active_date)),
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
