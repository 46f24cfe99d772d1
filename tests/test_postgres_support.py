"""The PostgreSQL the tests get (tests/_support/postgres.py): real, durable, and a fresh
database per test when asked."""

from __future__ import annotations

import pytest

from tests._support.postgres import fresh_database, postgres_url, psycopg

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="session")
def pg_url() -> str:
    return postgres_url()


async def test_a_real_server_answers_and_is_durable(pg_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(pg_url) as connection:
        cursor = await connection.execute("SELECT 1")
        assert await cursor.fetchone() == (1,)
        cursor = await connection.execute("SHOW fsync")
        assert await cursor.fetchone() == ("on",)


async def test_fresh_databases_are_distinct_and_empty(pg_url: str) -> None:
    first, second = fresh_database(pg_url), fresh_database(pg_url)
    assert first != second

    tables = (
        "SELECT count(*) FROM information_schema.tables"
        " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
    )
    async with await psycopg.AsyncConnection.connect(first, autocommit=True) as connection:
        cursor = await connection.execute("SELECT current_database()")
        assert await cursor.fetchone() == (first.rsplit("/", 1)[1],)
        cursor = await connection.execute(tables)
        assert await cursor.fetchone() == (0,)
        await connection.execute("CREATE TABLE only_in_first (id integer)")
    async with await psycopg.AsyncConnection.connect(second) as connection:
        cursor = await connection.execute("SELECT current_database()")
        assert await cursor.fetchone() == (second.rsplit("/", 1)[1],)
        cursor = await connection.execute(tables)
        assert await cursor.fetchone() == (0,)
