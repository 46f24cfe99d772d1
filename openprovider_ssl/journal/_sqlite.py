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
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar, cast

from ._base import StoredJournal
from ._records import (
    PENDING,
    SETTLES,
    Claim,
    ClaimOp,
    ClaimRecord,
    JournalEntry,
    Op,
    Origin,
    Result,
    SettleOp,
    State,
    order_of,
    plan,
    renewals_only,
    whole_micros,
)

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
_NEW_EVENT_COLUMNS = "at, order_id, claim_id, event, expiration, error, reason, host, pid, run"
_EVENT_COLUMNS = f"seq, {_NEW_EVENT_COLUMNS}"


#: The renew path's statements (``SqliteJournal._renewals``) need upserts and UPDATE ... FROM.
_FAST_SQL = sqlite3.sqlite_version_info >= (3, 33, 0)
#: A claim is written over the order's record only where ``_records.blocking`` finds nothing
#: that blocks it: no record, a free one, or a renewal shown a later expiration or older than
#: the hold (``{hold}``, whole microseconds).
_UNLESS_BLOCKED = """
 ON CONFLICT (order_id) DO UPDATE SET claim_id = excluded.claim_id, state = excluded.state,
   expiration = excluded.expiration, claimed_at = excluded.claimed_at, settled_at = NULL,
   error = '', host = excluded.host, pid = excluded.pid, run = excluded.run
 WHERE renewal_claims.state = 'free'
   OR (renewal_claims.state = 'renewed'
       AND ((excluded.expiration > renewal_claims.expiration)
            OR excluded.claimed_at - renewal_claims.claimed_at >= {hold}))"""
#: Settlements change the claim only while it is the one they were made for, still pending.
_SETTLE = """
WITH s (order_id, claim_id, state, settled_at, error) AS (VALUES {values})
UPDATE renewal_claims SET state = coalesce(s.state, 'pending'), settled_at = s.settled_at,
  error = s.error
FROM s
WHERE renewal_claims.order_id = s.order_id AND renewal_claims.claim_id = s.claim_id
  AND renewal_claims.state = 'pending'"""


def _busy(error: sqlite3.OperationalError) -> bool:
    """Another connection holds a lock (any of SQLite's extended BUSY codes)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def _begin_at_once(db: sqlite3.Connection) -> bool:
    """BEGIN IMMEDIATE without waiting; False while another process holds the write lock."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if _busy(error):
            return False
        raise
    return True


def micros(when: datetime | None) -> int | None:
    """An aware datetime as whole microseconds since the epoch: stored exactly, compared
    exactly (a float would round)."""
    return None if when is None else whole_micros(when - _EPOCH)


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

    ``busy_timeout`` is how long a commit, or opening the file, waits for another process
    holding its write lock. Use it as ``async with SqliteJournal(path) as journal:``.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.path = Path(path)
        self.location = str(self.path)
        self._busy_timeout = busy_timeout
        self._db: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._max_variables = 999  # SQLite's smallest default; the connection's own when open
        self._turn = asyncio.Lock()  # one user of the connection at a time: a batch, or a read

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
        """The connection, once the file is in WAL mode with the current schema. Processes
        opening the same new file at once race for switching it to WAL: SQLite refuses the
        loser at once, without waiting (the busy handler cannot help a connection that holds
        a read lock and wants to write), so the whole setup is tried again until
        ``busy_timeout`` has passed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self._busy_timeout
        pause = 0.001
        while True:
            try:
                return self._connect_once()
            except sqlite3.OperationalError as error:
                if not _busy(error) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def _connect_once(self) -> sqlite3.Connection:
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
            db.execute("PRAGMA busy_timeout = 0")  # see _patiently
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
        """One batch in one transaction. The statements that decide run right here, on the
        event loop: they only touch SQLite's page cache, and a worker thread would wait for
        the GIL at every statement while the loop is busy (which costs the loop more than
        running them). The history's rows and the COMMIT, which writes the file and waits for
        the disk, go to the thread: one hand-over a batch. While another process holds the
        file's write lock, the whole batch goes to the thread, to wait there
        (``busy_timeout``)."""
        db = self._connection()
        async with self._turn:
            if not _begin_at_once(db):
                results: list[Result] = await self._run(self._patiently, self._commit_now, ops)
                return results
            try:
                results, events = self._apply(ops)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            await self._run(self._end, db, events)
            return results

    def _commit_now(self, ops: list[Op]) -> list[Result]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            results, events = self._apply(ops)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._end(db, events)
        return results

    def _apply(self, ops: list[Op]) -> tuple[list[Result], list[tuple[Any, ...]]]:
        """The batch's decisions, written; and the rows of history still to add."""
        if _FAST_SQL and renewals_only(ops):
            return self._renewals(cast("list[ClaimOp | SettleOp]", ops))
        return self._planned(ops), []

    def _end(self, db: sqlite3.Connection, events: list[tuple[Any, ...]]) -> None:
        """Add ``events`` and COMMIT (the write to the file, and the wait for the disk)."""
        try:
            self._insert(f"INSERT INTO renewal_events ({_NEW_EVENT_COLUMNS}) VALUES ", events)
            try:
                db.execute("COMMIT")
            except sqlite3.OperationalError as error:
                if not _busy(error):
                    raise
                self._patiently(db.execute, "COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _patiently(self, work: Callable[..., T], *args: Any) -> T:
        """``work`` on the connection, waiting up to ``busy_timeout`` for another process's
        write lock (the connection waits for nothing otherwise: the loop uses it too)."""
        db = self._connection()
        db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        try:
            return work(*args)
        finally:
            db.execute("PRAGMA busy_timeout = 0")

    @property
    def _origin_values(self) -> tuple[str, int, str]:
        """This journal's host, process and run, as the rows it writes hold them."""
        return self.origin.host, self.origin.pid, self.origin.run

    def _current(self, ids: list[int]) -> list[ClaimRecord]:
        rows: list[tuple[Any, ...]] = []
        for chunk in _chunks(ids, self._max_variables):
            rows += (
                self._connection()
                .execute(
                    f"SELECT {_CLAIM_COLUMNS} FROM renewal_claims "
                    f"WHERE order_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                .fetchall()
            )
        return [_record(row) for row in rows]

    def _planned(self, ops: list[Op]) -> list[Result]:
        """Any batch: the current records of its orders, ``plan``, and what it writes."""
        current = {r.order_id: r for r in self._current(sorted({order_of(op) for op in ops}))}
        now = self.clock()
        done = plan(ops, current, now=now, hold=self.renewed_hold, origin=self.origin)
        now_us = micros(now)

        def us(when: datetime | None) -> int | None:  # most times of a batch are its now
            return now_us if when is now else micros(when)

        origin = self._origin_values
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
            f"INSERT INTO renewal_events ({_NEW_EVENT_COLUMNS}) VALUES ",
            [
                (
                    us(e.at),
                    e.order_id,
                    e.claim_id,
                    e.event,
                    micros(e.expiration),
                    e.error,
                    e.reason,
                    *origin,
                )
                for e in done.events
            ],
        )
        return done.results

    def _renewals(
        self, ops: list[ClaimOp | SettleOp]
    ) -> tuple[list[Result], list[tuple[Any, ...]]]:
        """The renew path's batches (claims and settlements, each order at most once): the
        rules of ``_records.plan`` in three statements over the whole batch, each returning
        at most one row. ``tests/journal/test_sqlite_renewals.py`` holds it to ``plan``."""
        now = self.clock()
        now_us = micros(now)
        claims = [op for op in ops if type(op) is ClaimOp]
        granted = self._claim_all(claims, now_us) if claims else set()
        refused: dict[int, ClaimRecord] = {}
        if len(granted) < len(claims):
            blocked = [c.order_id for c in claims if c.order_id not in granted]
            refused = {r.order_id: r for r in self._current(blocked)}
        self._settle_all([op for op in ops if type(op) is SettleOp], now_us)
        origin = self._origin_values
        results: list[Result] = []
        events: list[tuple[Any, ...]] = []
        for op in ops:
            if isinstance(op, SettleOp):
                results.append(None)
                at = now_us if op.at is None else micros(op.at)
                claim = op.claim
                expiration = micros(claim.expiration)
                events.append(
                    (
                        at,
                        claim.order_id,
                        claim.claim_id,
                        op.event,
                        expiration,
                        op.error,
                        op.reason,
                        *origin,
                    )
                )
            elif op.order_id in granted:
                results.append(Claim(op.order_id, op.claim_id, op.expiration, now))
                expiration = micros(op.expiration)
                events.append(
                    (now_us, op.order_id, op.claim_id, "claimed", expiration, "", "", *origin)
                )
            else:
                results.append(refused[op.order_id])
        return results, events

    def _claim_all(self, claims: list[ClaimOp], now_us: int | None) -> set[int]:
        """Write each claim unless its order's record blocks it; the ids of those written."""
        origin = self._origin_values
        self._insert(
            f"INSERT INTO renewal_claims ({_CLAIM_COLUMNS}) VALUES ",
            [
                (c.order_id, c.claim_id, PENDING, micros(c.expiration), now_us, None, "", *origin)
                for c in claims
            ],
            _UNLESS_BLOCKED.format(hold=whole_micros(self.renewed_hold)),
        )
        granted: set[int] = set()
        for chunk in _chunks(claims, self._max_variables // 2):
            marks = ",".join("?" * len(chunk))
            (found,) = (
                self._connection()
                .execute(
                    "SELECT group_concat(order_id) FROM renewal_claims "
                    f"WHERE order_id IN ({marks}) AND claim_id IN ({marks})",
                    [c.order_id for c in chunk] + [c.claim_id for c in chunk],
                )
                .fetchone()
            )
            if found:
                granted.update(map(int, found.split(",")))
        return granted

    def _settle_all(self, settles: list[SettleOp], now_us: int | None) -> None:
        for chunk in _chunks(settles, self._max_variables // 5):
            params: list[Any] = []
            for op in chunk:
                state = SETTLES[op.event]
                at = None if state is None else now_us if op.at is None else micros(op.at)
                params += (op.claim.order_id, op.claim.claim_id, state, at, op.error)
            values = ",".join(["(?,?,?,?,?)"] * len(chunk))
            self._connection().execute(_SETTLE.format(values=values), params)

    def _insert(self, head: str, rows: list[tuple[Any, ...]], tail: str = "") -> None:
        """``rows`` in as few multi-row INSERT statements as SQLite's variable limit allows
        (``tail``: what follows the values, such as an upsert clause)."""
        if not rows:
            return
        width = len(rows[0])
        marks = "(" + ",".join("?" * width) + ")"
        for chunk in _chunks(rows, self._max_variables // width):
            values = ",".join([marks] * len(chunk))
            self._connection().execute(head + values + tail, list(chain.from_iterable(chunk)))

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
        async with self._turn:
            rows = await self._run(self._patiently, self._select, sql + " ORDER BY order_id", args)
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
        async with self._turn:
            rows = await self._run(self._patiently, self._select, sql + " ORDER BY seq", args)
        return [_entry(row) for row in rows]

    def _select(self, sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
        return self._connection().execute(sql, args).fetchall()
