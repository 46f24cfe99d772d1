"""PostgresJournal on a real PostgreSQL server (tests/_support/postgres.py): the journal's behaviour
(the shared tests of ``test_memory_and_sqlite.py``, and the same results as a MemoryJournal for
the same operations), separate OS processes racing for the same orders, a claim surviving a
SIGKILL, the schema, exact times, and no password shown anywhere."""

from __future__ import annotations

import asyncio
import getpass
import inspect
import io
import json
import random
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest

import openprovider_ssl
from openprovider_ssl.errors import RenewalPendingError, ValidationError
from openprovider_ssl.journal import Claim, ClaimRecord, MemoryJournal, RenewalJournal, _postgres
from tests._support.postgres import fresh_database, postgres_url, psycopg
from tests.journal._journals import T0, Clock, kill, read_line, spawn

from . import test_memory_and_sqlite as shared

pytestmark = [pytest.mark.postgres, pytest.mark.process]

PostgresJournal: Any = None if psycopg is None else openprovider_ssl.journal.PostgresJournal
HOLD = shared.HOLD
EXPIRES = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
SECRET = "S3cret-pw_never_shown"


@pytest.fixture(scope="module")
def database() -> str:
    """A database of this module's own; each test has a schema of its own in it."""
    return fresh_database(postgres_url())


@pytest.fixture
def schema() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def journal(database: str, schema: str, clock: Clock) -> AsyncIterator[RenewalJournal]:
    async with PostgresJournal(database, schema=schema, clock=clock, renewed_hold=HOLD) as opened:
        yield opened


def with_password(conninfo: str, password: str = SECRET) -> str:
    """The URL of ``conninfo``'s database, with a password (which trust auth ignores)."""
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    user, host = params.get("user") or getpass.getuser(), quote(str(params.get("host", "")))
    return f"postgresql://{user}:{password}@{host}:{params.get('port', 5432)}/{params['dbname']}"


async def outcome(call: Awaitable[Claim]) -> Claim | RenewalPendingError:
    try:
        return await call
    except RenewalPendingError as refused:
        return refused


# -- the behaviour every journal shares ---------------------------------------------------------

#: The tests of test_memory_and_sqlite.py that take a ``journal``: here, on PostgreSQL.
SHARED = {
    name: test
    for name, test in vars(shared).items()
    if name.startswith("test_")
    and callable(test)
    and "journal" in inspect.signature(test).parameters
}
globals().update(SHARED)


def test_the_shared_tests_run_here_too() -> None:
    assert len(SHARED) >= 15, sorted(SHARED)


async def test_the_same_operations_give_what_a_memory_journal_gives(
    database: str, schema: str
) -> None:
    """Whole seconds (MemoryJournal keeps a renewal in seconds); operator decisions only on a
    pending claim (MemoryJournal adds an event for a decision on nothing: a known bug)."""
    clock = Clock()
    draw = random.Random(20300517)
    memory = MemoryJournal(clock=clock, renewed_hold=HOLD)
    granted: list[tuple[Claim, Claim]] = []  # (memory's, postgres's)
    ids: dict[str, str] = {}  # postgres's claim ids -> memory's

    async def same_records(pg: RenewalJournal) -> None:
        for state in ("pending", "renewed"):
            mine = await memory.records(state=state)
            theirs = await pg.records(state=state)
            assert [(r.order_id, r.expiration, r.claimed_at) for r in theirs] == [
                (r.order_id, r.expiration, r.claimed_at) for r in mine
            ]
            if state == "pending":
                assert [(ids[r.claim_id], r.error) for r in theirs] == [
                    (r.claim_id, r.error) for r in mine
                ]

    async with PostgresJournal(database, schema=schema, clock=clock, renewed_hold=HOLD) as pg:
        for step in range(400):
            kind = draw.choices(["claim", "settle", "decide", "wait"], [6, 4, 1, 2])[0]
            if kind == "claim":
                order_id = draw.randint(1, 4)
                years = draw.choice([None, 0, 1, 2])
                shown = None if years is None else EXPIRES + timedelta(days=365 * years)
                one = await outcome(memory.claim(order_id, shown))
                two = await outcome(pg.claim(order_id, shown))
                if isinstance(one, Claim):
                    assert isinstance(two, Claim), (step, one, two)
                    assert (two.order_id, two.expiration, two.claimed_at) == (
                        one.order_id,
                        one.expiration,
                        one.claimed_at,
                    )
                    granted.append((one, two))
                    ids[two.claim_id] = one.claim_id
                else:
                    assert isinstance(two, RenewalPendingError), (step, one, two)
                    assert (two.order_id, two.state, two.claimed_at) == (
                        one.order_id,
                        one.state,
                        one.claimed_at,
                    )
            elif kind == "settle" and granted:
                mine, theirs = draw.choice(granted)
                event = draw.choice(shared.SETTLEMENTS)
                await memory.settle(mine, event, error=f"e{step}")
                await pg.settle(theirs, event, error=f"e{step}")
            elif kind == "decide":
                order_id = draw.randint(1, 4)
                held = await pg.records(order_ids=[order_id], state="pending")
                if not held:
                    continue
                event = draw.choice(["released", "confirmed"])
                decided = [await j._decide(order_id, event, f"why {step}") for j in (memory, pg)]
                assert [(d.state, d.expiration, d.claimed_at) for d in decided] == [
                    (decided[0].state, decided[0].expiration, decided[0].claimed_at)
                ] * 2
            else:
                clock.advance(timedelta(seconds=draw.choice([1, 3_600, 9 * 86_400, 11 * 86_400])))
            if step % 25 == 0:
                await same_records(pg)
        await same_records(pg)

        def fields(e: Any) -> tuple[Any, ...]:
            return (e.event, e.expiration, e.error, e.reason)

        def history(entries: list[Any], translate: dict[str, str]) -> list[tuple[Any, ...]]:
            return [
                (e.at, e.order_id, translate.get(e.claim_id, e.claim_id), *fields(e))
                for e in entries
            ]

        assert history(await pg.entries(), ids) == history(await memory.entries(), {})
        since, until = T0 + timedelta(days=20), T0 + timedelta(days=60)
        assert history(await pg.entries(since=since, until=until), ids) == history(
            await memory.entries(since=since, until=until), {}
        )
        assert history(await pg.entries(order_id=3), ids) == history(
            await memory.entries(order_id=3), {}
        )

        def exported(text: str, translate: dict[str, str]) -> list[dict[str, Any]]:
            rows = [json.loads(line) for line in text.splitlines()]
            for row in rows:
                for name in ("seq", "host", "pid", "run"):
                    del row[name]
                row["claim_id"] = translate.get(row["claim_id"], row["claim_id"])
            return rows

        outs = io.StringIO(), io.StringIO()
        count = await pg.export(outs[0], format="jsonl")
        assert count == await memory.export(outs[1], format="jsonl") > 150
        assert exported(outs[0].getvalue(), ids) == exported(outs[1].getvalue(), {})


# -- PostgreSQL: times, the connection, batches --------------------------------------------------


async def test_times_and_expirations_are_exact_whatever_the_session_settings(
    database: str, schema: str
) -> None:
    start = T0 + timedelta(microseconds=123_457)
    clock = Clock(start)
    edge = datetime(2031, 3, 4, 5, 6, 7, 999_999, tzinfo=UTC)
    odd = psycopg.conninfo.make_conninfo(
        database, options="-c TimeZone=Pacific/Chatham -c DateStyle=SQL,DMY"
    )
    async with PostgresJournal(odd, schema=schema, clock=clock, renewed_hold=HOLD) as journal:
        claim = await journal.claim(1, edge)
        await journal.settle(claim, "renewed")
        other = await journal.claim(2, edge.astimezone(timezone(timedelta(hours=5, minutes=30))))
        assert other.expiration == edge
        [one, two] = await journal.records()
        assert (one.expiration, one.claimed_at, one.settled_at) == (edge, start, start)
        assert one.expiration.tzinfo is UTC and one.claimed_at.tzinfo is UTC
        assert two.expiration == edge
        assert [e.at for e in await journal.entries(order_id=1)] == [start, start]
        assert await journal.entries(since=start + timedelta(microseconds=1)) == []
        assert len(await journal.entries(until=start + timedelta(microseconds=1))) == 3
        # compared exactly: the same instant, or a microsecond earlier, is the same period
        for same in (edge, edge - timedelta(microseconds=1)):
            assert (await outcome(journal.claim(1, same))).state == "renewed"  # type: ignore[union-attr]
        later = await journal.claim(1, edge + timedelta(microseconds=1))
        await journal.settle(later, "renewed")
        clock.now = start + HOLD - timedelta(microseconds=1)
        assert isinstance(await outcome(journal.claim(1, later.expiration)), RenewalPendingError)
        clock.now = start + HOLD
        await journal.claim(1, later.expiration)


async def test_persists_and_reads_another_runs_claims(database: str, schema: str) -> None:
    async with PostgresJournal(database, schema=schema) as first:
        pending = await first.claim(1, EXPIRES)
        freed = await first.claim(3)
        await first.settle(freed, "refused", error="APIError 3006: \x00no")
        origin = first.origin
    async with PostgresJournal(database, schema=schema) as second:
        [held] = await second.pending()
        assert (held.claim_id, held.origin) == (pending.claim_id, origin)
        refused = await outcome(second.claim(1))
        assert isinstance(refused, RenewalPendingError)
        assert refused.origin == str(origin)
        [free] = await second.records(state="free")
        assert (free.order_id, free.error) == (3, "APIError 3006: no")  # PostgreSQL has no NUL
        await second.settle(pending, "renewed")  # a late answer, read from elsewhere
        assert [r.state for r in await second.records(order_ids=[1, 2, 3])] == ["renewed", "free"]


async def test_order_ids_beyond_32_bits_share_lock_keys_safely(journal: RenewalJournal) -> None:
    ids = [5, 5 + 2**32, 2**40 + 7, 2**62 + 1]
    claims = await asyncio.gather(*(journal.claim(i) for i in ids))
    assert [c.order_id for c in claims] == ids
    refused = await asyncio.gather(*(outcome(journal.claim(i)) for i in ids))
    assert all(isinstance(r, RenewalPendingError) for r in refused)
    assert [r.order_id for r in await journal.pending()] == ids


async def test_two_journals_racing_for_the_same_orders_grant_each_once(
    database: str, schema: str
) -> None:
    async with (
        PostgresJournal(database, schema=schema) as one,
        PostgresJournal(database, schema=schema) as two,
    ):
        asked = [i for i in range(1, 301) for _ in range(2)]
        random.Random(5).shuffle(asked)
        outcomes = await asyncio.gather(
            *(outcome(j.claim(i)) for i, j in zip(asked, [one, two] * 300, strict=True))
        )
        granted = sorted(o.order_id for o in outcomes if isinstance(o, Claim))
        assert granted == list(range(1, 301))
        assert len(await one.pending()) == 300


async def test_schemas_are_separate_journals(database: str, schema: str) -> None:
    async with (
        PostgresJournal(database, schema=schema) as one,
        PostgresJournal(database, schema=schema + "_b") as two,
    ):
        await one.claim(1)
        await two.claim(1)
        assert len(await two.records()) == 1


@pytest.mark.parametrize("path", ["general", "renew"])
async def test_a_failed_batch_fails_every_operation_in_it_and_writes_nothing(
    journal: Any, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    await journal.claim(1)
    connection = journal._conn

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the rules broke")

    if path == "general":  # broken between its two messages, inside the transaction
        monkeypatch.setattr(_postgres, "renewals_only", lambda ops: False)
        monkeypatch.setattr(_postgres, "plan", broken)
        failure: type[Exception] = RuntimeError
    else:  # the renew path's one statement fails on the server, after its locks
        monkeypatch.setattr(_postgres, "_json", lambda rows: "not json")
        failure = psycopg.errors.InvalidTextRepresentation
    outcomes = await asyncio.gather(*(journal.claim(i) for i in (2, 3, 4)), return_exceptions=True)
    assert [type(o) for o in outcomes] == [failure] * 3
    monkeypatch.undo()
    assert [r.order_id for r in await journal.records()] == [1]
    assert journal._conn is connection  # rolled back, not dropped
    await journal.claim(2)


async def test_a_lost_connection_fails_one_batch_then_connects_again(
    journal: Any, database: str
) -> None:
    await journal.claim(1)
    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (journal._conn.info.backend_pid,))
    await asyncio.sleep(0.1)
    first = await asyncio.gather(journal.claim(2), return_exceptions=True)
    assert isinstance(first[0], Claim | psycopg.OperationalError), first
    await journal.claim(3)
    expected = {1, 3} | ({2} if isinstance(first[0], Claim) else set())
    assert {r.order_id for r in await journal.pending()} == expected
    assert journal._prepared  # prepared again on the new connection


async def test_behind_a_pooler_the_statements_are_sent_unprepared(journal: Any) -> None:
    await journal.claim(1)
    assert journal._prepared
    # As a pooler in transaction mode does: the next transaction on another server connection.
    await journal._conn.execute("DEALLOCATE ALL")
    claim = await journal.claim(2)  # rolled back, and sent again unprepared
    assert not journal._prepared
    await journal.settle(claim, "renewed")
    await journal.claim(3)
    assert [(e.order_id, e.event) for e in await journal.entries()] == [
        (1, "claimed"),
        (2, "claimed"),
        (2, "renewed"),
        (3, "claimed"),
    ]


async def test_statements_prepared_already_on_a_shared_connection(journal: Any) -> None:
    await journal._prepare_on(journal._conn)  # as another client of a pooler's connection
    assert not journal._prepared
    await journal.claim(1)
    assert [r.order_id for r in await journal.pending()] == [1]


async def test_opens_lazily_and_closes_idempotently(database: str, schema: str) -> None:
    journal = PostgresJournal(database, schema=schema)
    await journal.close()
    assert not journal.is_open
    claim = await journal.claim(1, EXPIRES)
    assert journal.is_open
    await journal.settle(claim, "renewed")
    await journal.close()
    await journal.close()
    assert not journal.is_open
    reader = PostgresJournal(database, schema=schema)
    assert [e.event for e in await reader.entries()] == ["claimed", "renewed"]  # opens to read
    await reader.close()


async def test_claims_cancelled_at_any_point_never_stay_pending(database: str, schema: str) -> None:
    draw = random.Random(20300517)

    async def claim_then_cancel(journal: RenewalJournal, order_id: int) -> Any:
        for _ in range(draw.randrange(30)):
            await asyncio.sleep(0)
        task = asyncio.create_task(journal.claim(order_id))
        await asyncio.sleep(draw.random() * 0.02)
        task.cancel()
        [result] = await asyncio.gather(task, return_exceptions=True)
        return result

    async with PostgresJournal(database, schema=schema) as journal:
        outcomes = await asyncio.gather(*(claim_then_cancel(journal, i) for i in range(1, 201)))
    granted = {c.order_id for c in outcomes if isinstance(c, Claim)}
    async with PostgresJournal(database, schema=schema) as again:
        assert {r.order_id for r in await again.pending()} == granted
        for record in await again.records(state="free"):
            assert record.error == "cancelled before sending"


# -- the schema ---------------------------------------------------------------------------------


async def test_journals_opening_at_once_create_the_schema_once(database: str, schema: str) -> None:
    journals = [PostgresJournal(database, schema=schema) for _ in range(8)]
    try:
        await asyncio.gather(*(j.open() for j in journals), journals[0].open())
        claims = await asyncio.gather(*(j.claim(i) for i, j in enumerate(journals, 1)))
        assert len(claims) == 8
    finally:
        await asyncio.gather(*(j.close() for j in journals))
    async with await psycopg.AsyncConnection.connect(database) as connection:
        cursor = await connection.execute(f'SELECT key, value FROM "{schema}".journal_meta')
        assert await cursor.fetchall() == [("schema", "1")]


async def test_a_newer_schema_is_refused(database: str, schema: str) -> None:
    async with PostgresJournal(database, schema=schema) as journal:
        await journal.claim(1)
    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as connection:
        await connection.execute(f"UPDATE \"{schema}\".journal_meta SET value = '2'")
    newer = PostgresJournal(database, schema=schema)
    with pytest.raises(RuntimeError, match=r"schema version 2, newer .* upgrade openprovider-ssl"):
        await newer.open()
    assert not newer.is_open
    with pytest.raises(RuntimeError, match="schema version 2"):
        await newer.claim(2)
    await newer.close()


def test_a_schema_name_is_a_plain_identifier(database: str) -> None:
    for bad in ("", "a b", 'x"; DROP TABLE y; --', "1abc", "x" * 64):
        with pytest.raises(ValidationError, match="schema"):
            PostgresJournal(database, schema=bad)


def test_without_psycopg_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_postgres, "psycopg", None)
    with pytest.raises(ImportError, match=r"pip install 'openprovider-ssl\[postgres\]'"):
        _postgres.PostgresJournal("postgresql://localhost/x")


# -- secrets ------------------------------------------------------------------------------------


def shown(journal: Any) -> str:
    return f"{journal!r} {journal} {journal.location}"


def test_the_password_is_never_shown(database: str) -> None:
    url = with_password(database)
    encoded = with_password(database, "p%40ss%3Aword-xyz")
    keywords = psycopg.conninfo.make_conninfo(database, password=SECRET)
    for conninfo, secrets in [
        (url, [SECRET]),
        (encoded, ["p%40ss%3Aword-xyz", "p@ss:word-xyz"]),
        (keywords, [SECRET]),
        (f"{database}?password={SECRET}", [SECRET]),
    ]:
        journal = PostgresJournal(conninfo)
        for secret in secrets:
            assert secret not in shown(journal)
        assert "password" not in journal.location
        parsed = psycopg.conninfo.conninfo_to_dict(journal.location)
        assert parsed["dbname"] == psycopg.conninfo.conninfo_to_dict(database)["dbname"]
        assert "host" in parsed and "port" in parsed and "user" in parsed
    with pytest.raises(ValidationError) as bad:
        PostgresJournal(f"host=localhost password={SECRET} port")
    assert SECRET not in str(bad.value)


async def test_no_password_in_the_error_when_connecting_fails(database: str) -> None:
    params = psycopg.conninfo.conninfo_to_dict(database)
    for conninfo in (
        psycopg.conninfo.make_conninfo(database, port=1, password=SECRET),  # refused
        with_password(database).rsplit("/", 1)[0] + "/no_such_database_here",
    ):
        journal = PostgresJournal(conninfo, schema="never")
        with pytest.raises(psycopg.OperationalError) as failed:
            await journal.claim(1)
        assert SECRET not in f"{failed.value} {failed.value!r}"
        assert str(params["host"]) in str(failed.value)
        assert not journal.is_open


async def test_a_password_echoed_by_the_server_is_cut_out(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def echoing(*args: Any, **kwargs: Any) -> Any:
        raise psycopg.OperationalError(f'connection failed: role "x" with "{SECRET}" refused')

    monkeypatch.setattr(psycopg.AsyncConnection, "connect", echoing)
    journal = PostgresJournal(with_password(database))
    with pytest.raises(psycopg.OperationalError, match="refused") as failed:
        await journal.open()
    chain = [failed.value, failed.value.__cause__, failed.value.__context__]
    assert SECRET not in " ".join(f"{e} {e!r}" for e in chain)


# -- separate processes -------------------------------------------------------------------------


def stop(*workers: subprocess.Popen[str]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=10)


posix = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and select are POSIX")


@posix
@pytest.mark.parametrize("processes", [2, 3])
async def test_processes_racing_for_the_same_orders_grant_each_exactly_once(
    database: str, schema: str, processes: int
) -> None:
    orders = 1_000
    workers = [spawn("race", database, schema, orders, seed, 50) for seed in range(processes)]
    try:
        for worker in workers:
            assert read_line(worker) == "ready"
        for worker in workers:  # all at once
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        summaries: list[dict[str, Any]] = []
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            summaries.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        stop(*workers)

    print(
        "granted per process:",
        [(len(s["granted"]), s["refused"], s["commits"], s["seconds"]) for s in summaries],
    )
    for summary in summaries:
        assert summary["errors"] == [], summary["errors"][:5]
        assert len(summary["granted"]) + sum(summary["refused"].values()) == orders
    times = Counter(i for s in summaries for i in s["granted"])
    assert [i for i, n in times.items() if n > 1] == []  # nothing granted twice
    assert sorted(times) == list(range(1, orders + 1))  # and everything once
    by_pid = {i: s["pid"] for s in summaries for i in s["granted"]}

    async with PostgresJournal(database, schema=schema) as journal:
        renewed = await journal.records(state="renewed")
        assert len(renewed) == orders
        assert await journal.pending() == []
        assert {r.order_id: r.origin.pid for r in renewed} == by_pid
        events = Counter((e.order_id, e.event) for e in await journal.entries())
        assert events == Counter(
            {(i, event): 1 for i in range(1, orders + 1) for event in ("claimed", "renewed")}
        )


@posix
async def test_a_claim_survives_its_process_being_killed(database: str, schema: str) -> None:
    worker = spawn("hold", database, schema, 31027)
    try:
        assert read_line(worker) == "claimed"
        kill(worker)
    finally:
        stop(worker)

    async with PostgresJournal(database, schema=schema) as journal:
        [held] = await journal.pending()
        assert (held.order_id, held.state, held.origin.pid) == (31027, "pending", worker.pid)
        refused = await outcome(journal.claim(31027))
        assert isinstance(refused, RenewalPendingError) and refused.state == "pending"
        assert f"pid {worker.pid}" in str(refused)
        await journal.claim(5)  # nothing was left locked
        await journal.release(31027, reason="the killed run's renew: checked, not charged")
        await journal.claim(31027)


@posix
async def test_every_claim_returned_before_a_kill_is_pending_after_it(
    database: str, schema: str
) -> None:
    worker = spawn("stream", database, schema, 3_000, 20)
    seen: list[int] = []
    try:
        while len(seen) < 150:
            line = read_line(worker)
            assert line.startswith("granted "), line
            seen.append(int(line.split()[1]))
        kill(worker)
    finally:
        stop(worker)

    async with PostgresJournal(database, schema=schema) as journal:
        pending = {r.order_id for r in await journal.pending()}
        assert set(seen) <= pending
        assert len(pending) < 3_000  # it was killed in the middle
        claimed = [e.order_id for e in await journal.entries()]
        assert sorted(claimed) == sorted(pending)  # whole batches, or nothing of one
        records: list[ClaimRecord] = await journal.records()
        assert {r.state for r in records} == {"pending"}
