"""What the command line shows, but for bulk renewals: tables for people, JSON for scripts.

Results go to stdout; log lines and errors go to stderr, so ``--json`` output can be piped
while a person still sees what is happening. JSON keys are sorted and orders keep the API's own
field names and date format, so scripts can rely on the shape. A bulk renewal's progress bar
and report are drawn by ``_renew_report``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import APIError, OutcomeUnknownError
from ..models import DEFAULT_RENEWAL_WINDOW_DAYS, ApiWarning, Order
from ._logging import note

#: The width of a console that is not a terminal: no table row of ours comes near it.
UNWRAPPED_WIDTH = 4096
_STATUS_STYLE = {"ACT": "green", "REQ": "yellow", "PAI": "cyan", "EXP": "red"}


def consoles() -> tuple[Console, Console]:
    """Consoles for stdout (results) and stderr (progress, logs, errors).

    Made per command, so they write to whatever ``sys.stdout`` is at that moment (a test
    runner's capture included); rich turns colour off when the stream is not a terminal and
    honours ``NO_COLOR``. A stream that is not a terminal (a log, a pipe) gets a very wide
    console, so tables never wrap there and host names stay whole; ``COLUMNS`` still wins.
    """
    return _console(stderr=False), _console(stderr=True)


def _console(*, stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(stderr=stderr, highlight=False, width=UNWRAPPED_WIDTH)
    return console


def emit_json(data: Any) -> None:
    """Write one JSON document to stdout: sorted keys, two-space indent, a final newline."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    sys.stdout.flush()


def emit_json_line(data: Any) -> None:
    """Write one JSON object as one line to stdout and flush it at once (``--json-lines``)."""
    sys.stdout.write(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def failure_fields(error: BaseException) -> dict[str, Any]:
    """What a script needs to know of a failure, besides its message: the error's class, the
    API's code and the HTTP status (None when there were none), and whether the call may have
    been applied (a renew that may have been charged)."""
    cause = getattr(error, "cause", None)  # OutcomeUnknownError: what made it unknown
    known = cause if isinstance(cause, BaseException) and not isinstance(error, APIError) else error
    code = known.code if isinstance(known, APIError) else None
    status = getattr(known, "http_status", None)
    return {
        "error_type": type(error).__name__,
        "api_code": code,
        "http_status": status if isinstance(status, int) and status else None,
        "may_have_been_applied": bool(getattr(error, "may_have_been_applied", False)),
    }


def cli_message(error: BaseException) -> str:
    """The error's message, with advice an operator of the command line can follow: an
    unknown renew's message names the commands to check it, not the library's calls."""
    if isinstance(error, OutcomeUnknownError):
        oid = error.order_id
        return (
            f"{error.operation} of order {oid} may or may not have been applied "
            f"({error.cause}); it was not sent again and stays pending in the journal: check "
            f"the order (openprovider-ssl orders get {oid}), then run openprovider-ssl journal "
            "reconcile"
        )
    return str(error)


def error_json(error: BaseException) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, APIError):
        data["code"] = error.code
    return {"error": data | failure_fields(error)}


def show_error(
    err: Console, error: Exception, as_json: bool, message: str, code: int, *, lines: bool = False
) -> int:
    """Say why the command failed (on stderr; also as JSON on stdout with ``--json``, or as
    one ``"event": "error"`` line with ``--json-lines``)."""
    if lines:
        emit_json_line({"event": "error", "exit_code": code} | error_json(error))
    elif as_json:
        emit_json(error_json(error) | {"exit_code": code})
    note(err, f"[red]Error:[/] {escape(message)}", level=logging.ERROR)
    return code


# --- orders -------------------------------------------------------------------------------


def date_text(value: datetime | None) -> str:
    """A date as the tables show it: the day in UTC, or nothing."""
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d")


def _expires(order: Order, now: datetime, window_days: int) -> str:
    text = date_text(order.expiration_date)
    if order.can_renew(now, window_days=window_days) and order.expiration_date is not None:
        days = (order.expiration_date - now).days
        return f"[yellow]{text}[/] [dim](in {days} d)[/]"
    return text


def _status(order: Order) -> str:
    style = _STATUS_STYLE.get(order.status, "dim")
    return f"[{style}]{escape(order.status)}[/]"


@contextlib.contextmanager
def listing_progress(console: Console) -> Iterator[Callable[[int, int | None], None]]:
    """A spinner with the count of orders read so far, on a terminal only (a log gets nothing
    extra); yields the function to call with the count and the total once known."""
    if not console.is_terminal:
        yield lambda seen, total: None
        return
    with console.status("Reading orders...") as status:

        def seen(count: int, total: int | None) -> None:
            if count % 50 == 0 or count == total:
                of = f" of {total:,}" if total is not None else ""
                status.update(f"Reading orders: {count:,}{of}")

        yield seen


def orders_table(
    orders: Sequence[Order], *, title: str, window_days: int = DEFAULT_RENEWAL_WINDOW_DAYS
) -> Table:
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
            _expires(order, now, window_days),
            escape(order.autorenew),
        )
    return table


def order_detail(order: Order, *, window_days: int = DEFAULT_RENEWAL_WINDOW_DAYS) -> Table:
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
        ("Expires", _expires(order, now, window_days)),
        ("Renewable now", "yes" if order.can_renew(now, window_days=window_days) else "no"),
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
