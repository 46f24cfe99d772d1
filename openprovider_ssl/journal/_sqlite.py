"""``SqliteJournal``: the renewal journal in an embedded SQLite file (stdlib ``sqlite3``).

One connection, used from one worker thread; every batch is one ``BEGIN IMMEDIATE``
transaction (the file's write lock, so processes sharing the file take turns), committed with
``synchronous=FULL`` in WAL mode: a claim is on disk before its renew is sent.

Every renew writes a claim and its events, so the tables carry only the indexes the renew
path reads (the order id); the operator's reads by state or by period scan them.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

from ._base import StoredJournal
from ._records import ClaimRecord, JournalEntry, Op, Origin, Result, State, order_of, plan

__all__ = ["SqliteJournal"]

T = TypeVar("T")
SCHEMA_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS renewal_claims (
    order_id INTEGER PRIMARY KEY,
    claim_id TEXT NOT NULL,
    state TEXT NOT NULL,
    expiration INTEGER,
    claimed_at INTEGER NOT NULL,
    settled_at INTEGER,
    error TEXT NOT NULL DEFAULT '',
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    run TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS renewal_events (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    order_id INTEGER NOT NULL,
    claim_id TEXT NOT NULL,
    event TEXT NOT NULL,
    expiration INTEGER,
    error TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    run TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS renewal_events_order ON renewal_events (order_id);
"""
_CLAIM_COLUMNS = (
    "order_id, claim_id, state, expiration, claimed_at, settled_at, error, host, pid, run"
)
_EVENT_COLUMNS = "seq, at, order_id, claim_id, event, expiration, error, reason, host, pid, run"


def micros(when: datetime | None) -> int | None:
    """An aware datetime as whole microseconds since the epoch: stored exactly, compared
    exactly (a float would round)."""
    if when is None:
        return None
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + max(1, size)]


def from_micros(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def _record(row: tuple[Any, ...]) -> ClaimRecord:
    order_id, claim_id, state, expiration, claimed_at, settled_at, error, host, pid, run = row
    return ClaimRecord(
        order_id,
        claim_id,
        state,
        from_micros(expiration),
        _EPOCH + timedelta(microseconds=claimed_at),
        Origin(host, pid, run),
        from_micros(settled_at),
        error,
    )


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    seq, at, order_id, claim_id, event, expiration, error, reason, host, pid, run = row
    return JournalEntry(
        seq,
        _EPOCH + timedelta(microseconds=at),
        order_id,
        claim_id,
        event,
        from_micros(expiration),
        error,
        reason,
        host,
        pid,
        run,
    )


class SqliteJournal(StoredJournal):
    """The renewal journal in the SQLite file at ``path`` (created with its schema on first
    use), for the processes of one host; use ``PostgresJournal`` across hosts.

    ``busy_timeout`` is how long a commit waits for another process holding the file's write
    lock. Use it as ``async with SqliteJournal(path) as journal:``.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.path = Path(path)
        self.location = str(self.path)
        self._busy_timeout = busy_timeout
        self._db: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._max_variables = 999  # SQLite's smallest default; the connection's own when open

    def __repr__(self) -> str:
        return f"<SqliteJournal {self.location}>"

    @property
    def is_open(self) -> bool:
        return self._db is not None

    async def open(self) -> None:
        if self._db is not None:
            return
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="openprovider-ssl journal")
        try:
            self._db = await self._run(self._connect)
        except BaseException:
            self._thread.shutdown(wait=False)
            self._thread = None
            raise

    async def close(self) -> None:
        if self._db is None:
            return
        await super().close()
        db, self._db = self._db, None
        thread, self._thread = self._thread, None
        assert thread is not None and db is not None
        await asyncio.get_running_loop().run_in_executor(thread, db.close)
        thread.shutdown(wait=True)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            found = db.execute("SELECT value FROM journal_meta WHERE key = 'schema'").fetchone()
            if found is None:
                db.execute(
                    "INSERT INTO journal_meta (key, value) VALUES ('schema', ?)",
                    (str(SCHEMA_VERSION),),
                )
            db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        self._max_variables = db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        if found is not None and int(found[0]) > SCHEMA_VERSION:
            db.close()
            raise RuntimeError(
                f"the journal {self.path} has schema version {found[0]}, newer than this "
                f"openprovider-ssl knows ({SCHEMA_VERSION}): upgrade openprovider-ssl"
            )
        return db

    async def _run(self, work: Any, *args: Any) -> Any:
        if self._thread is None:
            raise RuntimeError(
                "the journal is not open: use `async with SqliteJournal(...)` or await open()"
            )
        return await asyncio.get_running_loop().run_in_executor(self._thread, work, *args)

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the journal is closed")
        return self._db

    async def _commit(self, ops: list[Op]) -> list[Result]:
        results: list[Result] = await self._run(self._commit_now, ops)
        return results

    def _commit_now(self, ops: list[Op]) -> list[Result]:
        # Few statements, each over every row of the batch: this thread gives the GIL up and
        # takes it back once per statement step, and each time back may wait for the event
        # loop's thread (up to the interpreter's switch interval) while it is busy.
        db = self._connection()
        ids = sorted({order_of(op) for op in ops})
        db.execute("BEGIN IMMEDIATE")
        try:
            current: dict[int, ClaimRecord] = {}
            for chunk in _chunks(ids, self._max_variables):
                rows = db.execute(
                    f"SELECT {_CLAIM_COLUMNS} FROM renewal_claims "
                    f"WHERE order_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
                current.update((row[0], _record(row)) for row in rows)
            now = self.clock()
            done = plan(ops, current, now=now, hold=self.renewed_hold, origin=self.origin)
            now_us = micros(now)

            def us(when: datetime | None) -> int | None:  # most times of a batch are its now
                return now_us if when is now else micros(when)

            host, pid, run = self.origin.host, self.origin.pid, self.origin.run
            self._insert(
                f"INSERT OR REPLACE INTO renewal_claims ({_CLAIM_COLUMNS}) VALUES ",
                [
                    (
                        r.order_id,
                        r.claim_id,
                        r.state,
                        micros(r.expiration),
                        us(r.claimed_at),
                        us(r.settled_at),
                        r.error,
                        r.origin.host,
                        r.origin.pid,
                        r.origin.run,
                    )
                    for r in done.records.values()
                ],
            )
            self._insert(
                "INSERT INTO renewal_events (at, order_id, claim_id, event, expiration, error, "
                "reason, host, pid, run) VALUES ",
                [
                    (
                        us(e.at),
                        e.order_id,
                        e.claim_id,
                        e.event,
                        micros(e.expiration),
                        e.error,
                        e.reason,
                        host,
                        pid,
                        run,
                    )
                    for e in done.events
                ],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return done.results

    def _insert(self, head: str, rows: list[tuple[Any, ...]]) -> None:
        """``rows`` in as few multi-row INSERT statements as SQLite's variable limit allows."""
        if not rows:
            return
        width = len(rows[0])
        marks = "(" + ",".join("?" * width) + ")"
        for chunk in _chunks(rows, self._max_variables // width):
            values = ",".join([marks] * len(chunk))
            self._connection().execute(head + values, list(chain.from_iterable(chunk)))

    async def records(
        self, *, state: State | None = None, order_ids: Iterable[int] | None = None
    ) -> list[ClaimRecord]:
        where: list[str] = []
        args: list[Any] = []
        if state is not None:
            where.append("state = ?")
            args.append(state)
        if order_ids is not None:
            ids = list(order_ids)
            where.append(f"order_id IN ({','.join('?' * len(ids))})")
            args.extend(ids)
        await self._ensure_open()
        await self._written()
        sql = f"SELECT {_CLAIM_COLUMNS} FROM renewal_claims"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = await self._run(self._select, sql + " ORDER BY order_id", args)
        return [_record(row) for row in rows]

    async def entries(
        self,
        *,
        order_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[JournalEntry]:
        where: list[str] = []
        args: list[Any] = []
        if order_id is not None:
            where.append("order_id = ?")
            args.append(order_id)
        if since is not None:
            where.append("at >= ?")
            args.append(micros(since))
        if until is not None:
            where.append("at < ?")
            args.append(micros(until))
        await self._ensure_open()
        await self._written()
        sql = f"SELECT {_EVENT_COLUMNS} FROM renewal_events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = await self._run(self._select, sql + " ORDER BY seq", args)
        return [_entry(row) for row in rows]

    def _select(self, sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
        return self._connection().execute(sql, args).fetchall()
