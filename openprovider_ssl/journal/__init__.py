"""The renewal journal: every renew claimed durably before it is sent, settled by its answer.

A renew is charged, so a client never sends one twice for the same period of an order::

    journal = op.SqliteJournal("renewals.sqlite3")        # one host: an embedded file
    journal = op.PostgresJournal("postgresql://...")       # many hosts (extra [postgres])
    async with journal, op.Client.from_env(journal=journal) as client:
        await client.orders.renew(31027)                   # claimed before it is sent
        report = await client.orders.reconcile()           # reads pending renewals back
        await journal.release(31027, reason="checked in the control panel: not charged")

Without ``journal=``, a client keeps the same rules in memory (``MemoryJournal``) for its own
lifetime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._base import ExportFormat, RenewalJournal
from ._memory import MemoryJournal
from ._records import (
    DEFAULT_RENEWED_HOLD,
    Claim,
    ClaimRecord,
    Event,
    JournalEntry,
    Origin,
    State,
)
from ._sqlite import SqliteJournal

if TYPE_CHECKING:
    from ._postgres import PostgresJournal

__all__ = [
    "DEFAULT_RENEWED_HOLD",
    "Claim",
    "ClaimRecord",
    "Event",
    "ExportFormat",
    "JournalEntry",
    "MemoryJournal",
    "Origin",
    "PostgresJournal",
    "RenewalJournal",
    "SqliteJournal",
    "State",
]


def __getattr__(name: str) -> Any:
    # psycopg is an optional extra: imported only when PostgresJournal is asked for.
    if name == "PostgresJournal":
        return importlib.import_module("._postgres", __name__).PostgresJournal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
