"""Helpers the journal's tests share: a clock to move by hand, and journals to test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openprovider_ssl.journal import MemoryJournal, RenewalJournal, SqliteJournal

#: A whole second: MemoryJournal keeps a renewal's times in whole seconds.
T0 = datetime(2030, 5, 17, 8, 30, tzinfo=UTC)
KINDS = ("memory", "sqlite")


class Clock:
    """An injectable ``clock``: aware UTC datetimes that move only when told."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> datetime:
        self.now += by
        return self.now


def make_journal(kind: str, tmp_path: Path, **options: Any) -> RenewalJournal:
    if kind == "memory":
        return MemoryJournal(**options)
    if kind == "sqlite":
        return SqliteJournal(tmp_path / "journal.sqlite3", **options)
    raise AssertionError(kind)
