"""The client's log lines on stderr: filtered by ``-v``, as text or as JSON (``--log-format``).

Every line carries the full date and time with its UTC offset. On a terminal, text lines are
drawn by rich above the progress bar; elsewhere (cron, a container's log) they are plain lines,
one per record, never wrapped. ``--log-format json`` writes one JSON object a line: ``time``
(ISO 8601 with the offset), ``level``, ``logger``, ``message``, and ``error`` with a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text

#: The command line's own notes (errors, "interrupted", the cap) as log records, when the
#: command's log lines are JSON; on a console otherwise.
cli_logger = logging.getLogger("openprovider_ssl.cli")
_json_notes = False

#: The client's per-attempt debug lines ("%s %s %s": operation, method, path, and then the
#: answer's status and duration when the library gives them): shown from -vv only.
REQUEST_LOG_PREFIX = "%s %s %s"
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
        return self.verbosity == 1 and not _per_attempt(record)


def _per_attempt(record: logging.LogRecord) -> bool:
    msg = record.msg
    return isinstance(msg, str) and (
        msg.startswith(REQUEST_LOG_PREFIX) or msg == FAILURE_LOG_FORMAT
    )


def timestamp(created: float) -> str:
    """ISO 8601 in local time with its offset, to the millisecond: 2026-12-06T02:35:44.123+00:00."""
    return datetime.fromtimestamp(created, UTC).astimezone().isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message (and error, with a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-12-06T02:35:44.123+00:00 WARNING  openprovider_ssl: message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-8s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return timestamp(record.created)


class _StderrHandler(logging.Handler):
    """Writes each formatted record as one line to whatever ``sys.stderr`` is at that moment
    (rich's progress bar redirects it while drawing)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            stream = sys.stderr
            stream.write(text.replace("\n", "\n    ") + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def _rich_time(when: datetime) -> Text:
    return Text(timestamp(when.timestamp()))


def log_handler(console: Console, verbosity: int, log_format: str = "text") -> logging.Handler:
    """The handler of the command's log lines, filtered by ``_Verbosity``."""
    handler: logging.Handler
    if log_format == "json":
        handler = _StderrHandler(logging.DEBUG)
        handler.setFormatter(JsonFormatter())
    elif console.is_terminal:
        handler = RichHandler(
            console=console,
            level=logging.DEBUG,
            show_path=False,
            markup=False,
            rich_tracebacks=False,
            omit_repeated_times=False,
            log_time_format=_rich_time,
        )
    else:
        handler = _StderrHandler(logging.DEBUG)
        handler.setFormatter(TextFormatter())
    handler.addFilter(_Verbosity(verbosity))
    return handler


@contextlib.contextmanager
def logging_to(
    console: Console, verbosity: int, *, quiet: bool, log_format: str = "text"
) -> Iterator[None]:
    """Show the client's log lines on stderr for the command, filtered by ``verbosity``.

    ``quiet`` hides even warnings unless ``-v`` was given. The "openprovider_ssl" logger's
    level is set for the command (DEBUG only with ``-v``) and restored after it.
    """
    global _json_notes  # noqa: PLW0603  (for the command's duration, as the logger's level)
    logger = logging.getLogger("openprovider_ssl")
    shown = verbosity or not quiet
    # Quiet: a handler that drops everything, so Python's last-resort handler prints nothing.
    handler = log_handler(console, verbosity, log_format) if shown else logging.NullHandler()
    level, notes = logger.level, _json_notes
    logger.setLevel(logging.DEBUG if verbosity else logging.WARNING)
    _json_notes = bool(shown) and log_format == "json"
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        _json_notes = notes


def note(console: Console, markup: str, *, level: int = logging.WARNING) -> None:
    """A word from the command line to the operator on stderr: rich text on ``console``, or,
    with ``--log-format json``, a log record like every other line there."""
    if _json_notes:
        cli_logger.log(level, Text.from_markup(markup).plain)
    else:
        console.print(markup, soft_wrap=True)


def client_gone(record: logging.LogRecord) -> bool:
    """Drop the in-process fake's traceback for a client that hung up mid-request (Ctrl-C)."""
    return not (record.exc_info and isinstance(record.exc_info[1], ConnectionError))
