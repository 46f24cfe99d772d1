"""``--json-lines``: a bulk renewal's outcomes as one JSON object a line, as they happen.

Each line is written and flushed when its outcome arrives, so a run killed at any point (even
by SIGKILL) leaves one parseable line per outcome it had, up to the last complete line. Every
line has ``event``, ``time`` (ISO 8601, UTC) and, but for the summary, ``order_id``; an order
appears in at most one line. Events: ``renewed``, ``would_renew`` (dry run), ``failed``,
``unknown`` (may have been charged: pending in the journal), ``pending`` and
``already_renewed`` (an earlier renew in the journal; not sent), after a stop by a signal
``in_flight`` (sent, never answered: pending in the journal), and ``skipped`` (never sent:
after a signal, or held back by ``--max-renewals``).
The last line is ``{"event": "summary", ...}``: the counts, the exit code and the signal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..bulk._operations import Outcome
from ..errors import OutcomeUnknownError, RenewalCapReachedError, RenewalPendingError
from ._output import cli_message, emit_json_line, failure_fields
from ._renew_report import NOT_SENT_CAP, RenewReport, reason


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def outcome_event(outcome: Outcome[Any]) -> dict[str, Any]:
    """The line of one outcome."""
    error = outcome.error
    line: dict[str, Any] = {"order_id": outcome.order_id, "time": _now()}
    if isinstance(error, RenewalCapReachedError):
        line |= {"event": "skipped", "reason": NOT_SENT_CAP}
    elif isinstance(error, RenewalPendingError):
        line |= {
            "event": "already_renewed" if error.state == "renewed" else "pending",
            "claimed_at": error.claimed_at.isoformat(),
            "origin": error.origin,
        }
    elif error is not None:
        line |= failure_fields(error) | {"reason": reason(error), "message": cli_message(error)}
        line["event"] = "unknown" if isinstance(error, OutcomeUnknownError) else "failed"
    else:
        line["event"] = "would_renew" if outcome.dry_run else "renewed"
        if outcome.expiration_date is not None:
            line["expiration_before"] = outcome.expiration_date.isoformat()
    return line


def emit_outcome(outcome: Outcome[Any]) -> None:
    emit_json_line(outcome_event(outcome))


def emit_stopped(report: RenewReport) -> None:
    """After a stop: the orders in flight, then those never sent."""
    for order_id in sorted(report.in_flight):
        emit_json_line({"event": "in_flight", "order_id": order_id, "time": _now()})
    for order_id, why in sorted(report.skipped):
        if why == NOT_SENT_CAP:
            continue  # had its line when the run held it back
        emit_json_line({"event": "skipped", "order_id": order_id, "reason": why, "time": _now()})


def emit_summary(report: RenewReport, exit_code: int) -> None:
    """The last line: what the whole run did."""
    document = report.as_json()
    summary = {
        key: document[key]
        for key in (
            "dry_run", "interrupted", "signal", "counts", "failed_by_reason", "journal",
            "requests", "retries", "wall_time_seconds", "requests_per_second", "max_renewals",
            "cap_reached", "fake",
        )
        if key in document
    }  # fmt: skip
    emit_json_line({"event": "summary", "time": _now(), "exit_code": exit_code} | summary)
