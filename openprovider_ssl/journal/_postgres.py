"""``PostgresJournal``: the renewal journal on PostgreSQL (psycopg 3, async), for the workers of
many hosts.

Each batch of the group commit is one transaction on the journal's connection, in two
round trips (two messages of several statements each): ``BEGIN``, the advisory locks of the
batch's orders (in sorted order: no deadlock) and the read of their records; then, as ``plan``
decided, the records upserted and the events added (as JSON, one statement each, prepared once
per connection) and ``COMMIT``. Two hosts claiming one order take turns on its lock, and the
second reads what the first committed (a statement of its own, so a snapshot taken after the
lock was granted): an order is never granted twice. Times are ``timestamptz``, exact to the
microsecond.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any
from urllib.parse import unquote, urlsplit

from .._http.secrets import scrubbed_text
from ..errors import ValidationError
from ._base import StoredJournal
from ._records import (
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

try:
    import psycopg
    import psycopg.errors
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    from psycopg.pq import TransactionStatus
except ImportError:  # the [postgres] extra is not installed: said when one is constructed
    psycopg = None  # type: ignore[assignment]

__all__ = ["PostgresJournal"]

NEEDS_PSYCOPG = "PostgresJournal needs psycopg: pip install 'openprovider-ssl[postgres]'"
SCHEMA_VERSION = 1
_SECRET_KEYS = ("password", "sslpassword")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.journal_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.renewal_claims (
    order_id bigint PRIMARY KEY, claim_id text NOT NULL, state text NOT NULL,
    expiration timestamptz, claimed_at timestamptz NOT NULL, settled_at timestamptz,
    error text NOT NULL DEFAULT '', host text NOT NULL, pid integer NOT NULL, run text NOT NULL
);
CREATE INDEX IF NOT EXISTS renewal_claims_state ON {s}.renewal_claims (state);
CREATE TABLE IF NOT EXISTS {s}.renewal_events (
    seq bigserial PRIMARY KEY, at timestamptz NOT NULL, order_id bigint NOT NULL, claim_id text
    NOT NULL, event text NOT NULL, expiration timestamptz, error text NOT NULL DEFAULT '',
    reason text NOT NULL DEFAULT '', host text NOT NULL, pid integer NOT NULL, run text NOT NULL
);
CREATE INDEX IF NOT EXISTS renewal_events_order ON {s}.renewal_events (order_id);
CREATE INDEX IF NOT EXISTS renewal_events_at ON {s}.renewal_events (at)
"""
_CLAIM_COLUMNS = (
    "order_id, claim_id, state, expiration, claimed_at, settled_at, error, host, pid, run"
)
_EVENT_COLUMNS = "at, order_id, claim_id, event, expiration, error, reason, host, pid, run"


def _utc(column: str) -> str:
    """A timestamptz read as UTC text, to the microsecond, whatever the session's settings."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')"""


def _from_json(*types: str) -> str:
    """The rows of a JSON array of arrays, each value cast to its column's type."""
    values = ", ".join(f"(r->>{i})::{kind}" for i, kind in enumerate(types))
    return f"SELECT {values} FROM jsonb_array_elements(%s::jsonb) AS r"


_T, _TS = "text", "timestamptz"
#: The renew path's batches (claims and settlements, each order at most once) in one
#: statement: the rules of ``_records.plan`` in SQL. Claims (index, order, claim id,
#: expiration) and settlements (index, order, claim id, event, state, settled at, error,
#: reason, at, expiration) come as JSON; then the batch's time, origin and the renewed hold.
#: A claim is written over its order's record unless that blocks it (``_records.blocking``);
#: a settlement changes the claim only while it is pending; every event is added, in the
#: batch's order. It answers, for each claim, whether it was granted and, if not, the record
#: that refused it (as the statement found it: a statement does not see its own writes).
_RENEW = f"""
WITH c AS (
  SELECT (r->>0)::integer AS i, (r->>1)::bigint AS order_id, r->>2 AS claim_id,
         (r->>3)::timestamptz AS expiration
  FROM jsonb_array_elements(%s::jsonb) AS r),
s AS (
  SELECT (r->>0)::integer AS i, (r->>1)::bigint AS order_id, r->>2 AS claim_id,
         r->>3 AS event, r->>4 AS state, (r->>5)::timestamptz AS settled_at, r->>6 AS error,
         r->>7 AS reason, (r->>8)::timestamptz AS at, (r->>9)::timestamptz AS expiration
  FROM jsonb_array_elements(%s::jsonb) AS r),
o AS (
  SELECT %s::timestamptz AS now, %s::text AS host, %s::integer AS pid, %s::text AS run,
         %s::bigint * interval '1 microsecond' AS hold),
granted AS (
  INSERT INTO {{s}}.renewal_claims AS k ({_CLAIM_COLUMNS})
  SELECT c.order_id, c.claim_id, 'pending', c.expiration, o.now, NULL, '', o.host, o.pid, o.run
  FROM c, o
  ON CONFLICT (order_id) DO UPDATE SET
    claim_id = EXCLUDED.claim_id, state = EXCLUDED.state, expiration = EXCLUDED.expiration,
    claimed_at = EXCLUDED.claimed_at, settled_at = NULL, error = '', host = EXCLUDED.host,
    pid = EXCLUDED.pid, run = EXCLUDED.run
  WHERE k.state = 'free'
     OR (k.state = 'renewed'
         AND (EXCLUDED.expiration > k.expiration
              OR EXCLUDED.claimed_at - k.claimed_at >= (SELECT hold FROM o)))
  RETURNING k.order_id),
settled AS (
  UPDATE {{s}}.renewal_claims AS k
  SET state = coalesce(s.state, 'pending'), settled_at = s.settled_at, error = s.error
  FROM s
  WHERE k.order_id = s.order_id AND k.claim_id = s.claim_id AND k.state = 'pending'
  RETURNING k.order_id),
added AS (
  INSERT INTO {{s}}.renewal_events ({_EVENT_COLUMNS})
  SELECT e.at, e.order_id, e.claim_id, e.event, e.expiration, e.error, e.reason,
         o.host, o.pid, o.run
  FROM (SELECT c.i, o.now AS at, c.order_id, c.claim_id, 'claimed' AS event, c.expiration,
               '' AS error, '' AS reason
        FROM c JOIN granted USING (order_id), o
        UNION ALL
        SELECT s.i, s.at, s.order_id, s.claim_id, s.event, s.expiration, s.error, s.reason
        FROM s) AS e, o
  ORDER BY e.i
  RETURNING 1)
SELECT c.order_id, g.order_id IS NOT NULL, k.order_id, k.claim_id, k.state,
       {_utc("k.expiration")}, {_utc("k.claimed_at")}, {_utc("k.settled_at")}, k.error,
       k.host, k.pid, k.run
FROM c LEFT JOIN granted AS g USING (order_id)
  LEFT JOIN {{s}}.renewal_claims AS k ON k.order_id = c.order_id AND g.order_id IS NULL"""
_CLAIMS = (
    f"SELECT order_id, claim_id, state, {_utc('expiration')}, {_utc('claimed_at')}, "
    f"{_utc('settled_at')}, error, host, pid, run FROM {{s}}.renewal_claims"
)
_SQL = {
    "schema": _SCHEMA,
    "meta": "SELECT value FROM {s}.journal_meta WHERE key = 'schema'",
    "version": "INSERT INTO {s}.journal_meta VALUES ('schema', %s)",
    "claims": _CLAIMS,
    "events": f"SELECT seq, {_utc('at')}, order_id, claim_id, event, {_utc('expiration')}, "
    "error, reason, host, pid, run FROM {s}.renewal_events",
    # A batch: its orders locked, their records read; then written.
    "lock": "SELECT count(*) FROM (SELECT pg_advisory_xact_lock(%s, k)"
    " FROM unnest(%s::integer[]) AS k) AS locked",
    "read": f"{_CLAIMS} WHERE order_id = ANY(%s::bigint[])",
    "upsert": f"INSERT INTO {{s}}.renewal_claims ({_CLAIM_COLUMNS}) "
    + _from_json("bigint", _T, _T, _TS, _TS, _TS, _T, _T, "integer", _T)
    + " ON CONFLICT (order_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _CLAIM_COLUMNS.split(", ")[1:]),
    "append": f"INSERT INTO {{s}}.renewal_events ({_EVENT_COLUMNS}) "
    + _from_json(_TS, "bigint", _T, _T, _TS, _T, _T, _T, "integer", _T),
    "renew": _RENEW,
}
#: Prepared on each connection (parsed and planned once); not "read": the best plan of a
#: read depends on the table's size, and a new journal's tables grow fast.
_PREPARE = ("lock", "upsert", "append", "renew")
# A host that stops between the two messages holds its orders' locks: not for long.
_BEGIN = (
    "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL idle_in_transaction_session_timeout = '60s'"
)


def _numbered(query: str) -> str:
    """``%s`` placeholders as ``$1``, ``$2``... (for PREPARE)."""
    n = itertools.count(1)
    return re.sub("%s", lambda _: f"${next(n)}", query)


def _int4(value: int) -> int:  # an advisory lock's key: a signed 32-bit integer
    return (value + 2**31) % 2**32 - 2**31


def _array(values: Iterable[int]) -> str:
    return "{" + ",".join(map(str, values)) + "}"


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _read(text: str | None) -> datetime | None:
    return None if text is None else _when(text)


def _record(row: Sequence[Any]) -> ClaimRecord:
    order_id, claim_id, state, expiration, claimed_at, settled_at, error, *origin = row
    return ClaimRecord(
        order_id, claim_id, state, _read(expiration), _when(claimed_at), Origin(*origin),
        _read(settled_at), error,
    )  # fmt: skip


def _entry(row: Sequence[Any]) -> JournalEntry:
    seq, at, order_id, claim_id, event, expiration, *rest = row
    return JournalEntry(seq, _when(at), order_id, claim_id, event, _read(expiration), *rest)


_ORIGIN = ("origin.host", "origin.pid", "origin.run")
_CLAIM_ROW = attrgetter(*_CLAIM_COLUMNS.split(", ")[:-3], *_ORIGIN)
_EVENT_ROW = attrgetter(*_EVENT_COLUMNS.split(", ")[:-3], *_ORIGIN)


def _iso(when: Any) -> str:
    """An aware datetime in ISO 8601 with its offset (a naive one would be taken as local)."""
    if not isinstance(when, datetime) or when.utcoffset() is None:
        raise TypeError(f"the journal keeps aware datetimes only, not {when!r}")
    return when.isoformat()


def _json(rows: list[tuple[Any, ...]]) -> str:
    """Rows as a JSON array of arrays."""
    text = json.dumps(rows, separators=(",", ":"), default=_iso)
    if "\\u0000" in text:  # PostgreSQL text has no NUL: dropped (from an error message)
        rows = [tuple(v.replace("\x00", "") if isinstance(v, str) else v for v in r) for r in rows]
        text = json.dumps(rows, separators=(",", ":"), default=_iso)
    return text


def _secrets_of(conninfo: str) -> list[str]:
    """The password of a URL as written (percent-encoded) and decoded."""
    with contextlib.suppress(ValueError):
        if "://" in conninfo and (password := urlsplit(conninfo).password):
            return [password, unquote(password)]
    return []


class PostgresJournal(StoredJournal):
    """The renewal journal in the PostgreSQL database of ``conninfo`` (a URL or ``key=value``
    pairs), in its own ``schema`` (created on first use), for every worker on every host that
    uses the same database and schema.

    Needs the ``[postgres]`` extra (psycopg 3). ``location`` is the conninfo without its
    password. Use it as ``async with PostgresJournal(url) as journal:``.
    """

    __module__ = "openprovider_ssl.journal"  # where users import it from

    def __init__(self, conninfo: str, *, schema: str = "openprovider_ssl", **kwargs: Any):
        if psycopg is None:
            raise ImportError(NEEDS_PSYCOPG, name="psycopg")
        if not isinstance(schema, str) or not _NAME.fullmatch(schema):
            raise ValidationError("schema", "must be a name of letters, digits and _")
        super().__init__(**kwargs)
        self._secrets = _secrets_of(conninfo)
        try:
            params = conninfo_to_dict(conninfo)
        except psycopg.Error as error:
            # libpq quotes the part it could not parse, which may be the password.
            problem = re.sub(r'"[^"]*"', '"..."', scrubbed_text(str(error), self._secrets))
            raise ValidationError(
                "conninfo", f"not a PostgreSQL URL or conninfo: {problem}"
            ) from None
        self._secrets += [str(params[k]) for k in _SECRET_KEYS if params.get(k)]
        self._conninfo = conninfo
        self.schema = schema
        shown = {k: v for k, v in params.items() if k not in _SECRET_KEYS and v is not None}
        self.location = make_conninfo("", **shown)
        sql = {name: text.replace("{s}", f'"{schema}"') for name, text in _SQL.items()}
        self._sql = sql
        self._messages = {  # by whether the batch's statements are prepared
            False: (f"{_BEGIN}; {sql['lock']}; {sql['read']}", f"{sql['upsert']}; {sql['append']}"),
            True: (
                f"{_BEGIN}; EXECUTE opssl_lock(%s, %s); {sql['read']}",
                "EXECUTE opssl_upsert(%s); EXECUTE opssl_append(%s)",
            ),
        }
        self._renew_messages = {  # the renew path's batch: one message, one round trip
            False: f"{_BEGIN}; {sql['lock']}; {sql['renew']}; COMMIT",
            True: f"{_BEGIN}; EXECUTE opssl_lock(%s, %s); "
            "EXECUTE opssl_renew(%s, %s, %s, %s, %s, %s, %s); COMMIT",
        }
        self._prepare = "; ".join(f"PREPARE opssl_{n} AS {_numbered(sql[n])}" for n in _PREPARE)
        self._prepared = True  # until a pooler shows that a session's statements do not stay
        # Advisory locks have two keys: the journal's schema, and the order id (wrapped).
        self._space = _int4(zlib.crc32(f"openprovider_ssl journal {schema}".encode()))
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._using = asyncio.Lock()  # one transaction at a time on the connection
        self._open_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<PostgresJournal {self.location} schema={self.schema}>"

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def open(self) -> None:
        async with self._open_lock:
            if self._conn is not None:
                return
            conn = await self._connect()
            try:
                await self._create_schema(conn)
                await self._prepare_on(conn)
            except BaseException:
                await conn.close()
                raise
            self._conn = conn

    async def close(self) -> None:
        if self._conn is None:
            return
        await super().close()
        async with self._using:
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        try:
            return await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, prepare_threshold=None
            )
        except psycopg.Error as error:
            clean = scrubbed_text(str(error), self._secrets)
            if clean == str(error):
                raise
            failure = type(error)(clean)
        raise failure  # outside the handler: not chained to the error that showed the password

    async def _create_schema(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Create the schema unless it is there, under a lock: processes may open at once."""
        if (found := await self._version(conn)) is None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (self._space ^ 1,))
                await conn.execute(self._sql["schema"])
                if (found := await self._version(conn)) is None:
                    found = SCHEMA_VERSION
                    await conn.execute(self._sql["version"], (str(found),))
        if found > SCHEMA_VERSION:
            raise RuntimeError(
                f"the journal {self.location} (schema {self.schema}) has schema version "
                f"{found}, newer than this openprovider-ssl knows ({SCHEMA_VERSION}): "
                "upgrade openprovider-ssl"
            )

    async def _version(self, conn: psycopg.AsyncConnection[Any]) -> int | None:
        cursor = await conn.execute("SELECT to_regclass(%s)", (f'"{self.schema}".journal_meta',))
        if (await cursor.fetchone()) == (None,):
            return None
        cursor = await conn.execute(self._sql["meta"])
        return None if (row := await cursor.fetchone()) is None else int(row[0])

    async def _live(self) -> psycopg.AsyncConnection[Any]:
        """The connection, connected again if it was lost (a server restart, a network cut)."""
        if self._conn is None:
            raise RuntimeError(
                "the journal is not open: use `async with PostgresJournal(...)` or await open()"
            )
        if self._conn.closed:
            self._conn = await self._connect()
            await self._prepare_on(self._conn)
        return self._conn

    async def _prepare_on(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if self._prepared:
            try:
                await conn.execute(self._prepare)
            except psycopg.errors.DuplicatePreparedStatement:  # a pooler's shared connection
                self._prepared = False

    async def _commit(self, ops: list[Op]) -> list[Result]:
        async with self._using:
            conn = await self._live()
            try:
                return await self._transaction(conn, ops)
            except psycopg.errors.InvalidSqlStatementName:
                if not self._prepared:
                    raise
                # Behind a pooler in transaction mode: rolled back, and sent again as is.
                self._prepared = False
                return await self._transaction(conn, ops)

    async def _transaction(self, conn: psycopg.AsyncConnection[Any], ops: list[Op]) -> list[Result]:
        if renewals_only(ops):
            return await self._renewals(conn, ops)  # type: ignore[arg-type]
        return await self._planned(conn, ops)

    async def _planned(self, conn: psycopg.AsyncConnection[Any], ops: list[Op]) -> list[Result]:
        """Any batch, in two round trips: its orders locked and read, ``plan``, its writes."""
        ids = sorted({order_of(op) for op in ops})
        keys = _array(sorted({_int4(i) for i in ids}))
        begin, finish = self._messages[self._prepared]
        cursor = psycopg.AsyncClientCursor(conn)  # several statements in one message
        try:
            await cursor.execute(begin, (self._space, keys, _array(ids)))
            while cursor.nextset():
                pass
            found = {r.order_id: r for r in map(_record, await cursor.fetchall())}
            done = plan(ops, found, now=self.clock(), hold=self.renewed_hold, origin=self.origin)
            claims = _json(list(map(_CLAIM_ROW, done.records.values())))
            events = _json(list(map(_EVENT_ROW, done.events)))
            await cursor.execute(f"{finish}; COMMIT", (claims, events))
        except BaseException:
            await self._abort(conn)
            raise
        return done.results

    async def _renewals(
        self, conn: psycopg.AsyncConnection[Any], ops: list[ClaimOp | SettleOp]
    ) -> list[Result]:
        """A batch of the renew path in one round trip (``_RENEW``)."""
        now = self.clock()
        claims: list[tuple[Any, ...]] = []
        settles: list[tuple[Any, ...]] = []
        for i, op in enumerate(ops):
            if isinstance(op, ClaimOp):
                claims.append((i, op.order_id, op.claim_id, op.expiration))
            else:
                state = SETTLES[op.event]
                at = op.at or now
                settled_at = None if state is None else at
                c = op.claim
                row = (i, c.order_id, c.claim_id, op.event, state, settled_at, op.error)
                settles.append((*row, op.reason, at, c.expiration))
        keys = _array(sorted({_int4(order_of(op)) for op in ops}))
        origin = self.origin
        params: tuple[Any, ...] = (self._space, keys, _json(claims), _json(settles), _iso(now))
        params += (origin.host, origin.pid, origin.run, whole_micros(self.renewed_hold))
        cursor = psycopg.AsyncClientCursor(conn)  # several statements in one message
        try:
            await cursor.execute(self._renew_messages[self._prepared], params)
            rows: list[Any] = []
            while True:  # BEGIN, SET, the locks, the batch, COMMIT: the batch's rows
                if cursor.description is not None and len(cursor.description) > 2:
                    rows = await cursor.fetchall()
                if not cursor.nextset():
                    break
        except BaseException:
            await self._abort(conn)
            raise
        found: dict[int, Result] = {row[0]: None if row[1] else _record(row[2:]) for row in rows}
        results: list[Result] = []
        for op in ops:
            if isinstance(op, SettleOp):
                results.append(None)
            elif (refused := found[op.order_id]) is not None:
                results.append(refused)
            else:
                results.append(Claim(op.order_id, op.claim_id, op.expiration, now))
        return results

    async def _abort(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """After a failed batch: roll it back, or drop a connection caught in the middle of
        something (cancelled, lost); the next batch connects again."""
        status = conn.info.transaction_status
        if conn.closed or status == TransactionStatus.IDLE:
            return
        if status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            with contextlib.suppress(psycopg.Error):
                await conn.execute("ROLLBACK")
                return
        await conn.close()

    async def _select(self, query: str, where: dict[str, Any], order: str) -> list[Any]:
        await self._ensure_open()
        await self._written()
        where = {condition: value for condition, value in where.items() if value is not None}
        if where:
            query += " WHERE " + " AND ".join(where)
        async with self._using:
            conn = await self._live()
            cursor = await conn.execute(f"{query} ORDER BY {order}", [*where.values()])
            return await cursor.fetchall()

    async def records(
        self, *, state: State | None = None, order_ids: Iterable[int] | None = None
    ) -> list[ClaimRecord]:
        ids = None if order_ids is None else list(order_ids)
        where = {"state = %s": state, "order_id = ANY(%s::bigint[])": ids}
        return list(map(_record, await self._select(self._sql["claims"], where, "order_id")))

    async def entries(
        self,
        *,
        order_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[JournalEntry]:
        where = {
            "order_id = %s": order_id,
            "at >= %s::timestamptz": since and _iso(since),
            "at < %s::timestamptz": until and _iso(until),
        }
        return list(map(_entry, await self._select(self._sql["events"], where, "seq")))
