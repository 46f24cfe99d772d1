"""A process of its own on a shared journal, for the process tests of ``tests/journal``.

WHERE is a SQLite file's path, or a PostgreSQL URL followed by its SCHEMA:

python _journal_worker.py race WHERE ORDERS SEED CONCURRENCY
    claims orders 1..ORDERS in a shuffled order, settling "renewed" after each granted claim;
    prints "ready" once open, waits for a line on stdin to start, then prints a JSON summary;
python _journal_worker.py hold WHERE ORDER_ID
    claims one order, prints "claimed", then sleeps (to be killed);
python _journal_worker.py stream WHERE ORDERS CONCURRENCY
    claims orders 1..ORDERS and prints "granted ID" as each claim returns, never settling (a
    renew sent, then a crash), then sleeps (to be killed).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from openprovider_ssl.errors import RenewalPendingError
from openprovider_ssl.journal import PostgresJournal, SqliteJournal
from openprovider_ssl.journal._base import StoredJournal

EXPIRES = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


Opener = Callable[[], StoredJournal]


async def race(open_journal: Opener, orders: int, seed: int, concurrency: int) -> None:
    ids = list(range(1, orders + 1))
    draw = random.Random(seed)
    draw.shuffle(ids)
    gate = asyncio.Semaphore(concurrency)
    granted: list[int] = []
    refused: dict[str, int] = {}
    errors: list[str] = []

    async def renew(order_id: int) -> None:
        async with gate:
            try:
                claim = await journal.claim(order_id, EXPIRES)
            except RenewalPendingError as refusal:
                refused[refusal.state] = refused.get(refusal.state, 0) + 1
                return
            except Exception as error:
                errors.append(f"claim {order_id}: {type(error).__name__}: {error}")
                return
            granted.append(order_id)
            await asyncio.sleep(draw.random() * 0.004)  # the renew is sent
            try:
                await journal.settle(claim, "renewed")
            except Exception as error:
                errors.append(f"settle {order_id}: {type(error).__name__}: {error}")

    commits: list[int] = []
    async with open_journal() as journal:
        commit = journal._commit

        async def counted(ops: list) -> list:  # type: ignore[type-arg]
            commits.append(len(ops))
            return await commit(ops)

        journal._commit = counted  # type: ignore[method-assign]
        print("ready", flush=True)
        sys.stdin.readline()
        started = time.monotonic()
        await asyncio.gather(*(renew(i) for i in ids))
        elapsed = time.monotonic() - started
    summary = {
        "pid": os.getpid(),
        "run": journal.origin.run,
        "granted": granted,
        "refused": refused,
        "errors": errors,
        "commits": len(commits),
        "seconds": round(elapsed, 3),
    }
    print(json.dumps(summary), flush=True)


async def hold(open_journal: Opener, order_id: int) -> None:
    journal = open_journal()
    await journal.open()
    await journal.claim(order_id, EXPIRES)
    print("claimed", flush=True)
    await asyncio.sleep(60)


async def stream(open_journal: Opener, orders: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def claim(order_id: int) -> None:
        async with gate:
            await journal.claim(order_id, EXPIRES)
            print(f"granted {order_id}", flush=True)

    journal = open_journal()
    await journal.open()
    await asyncio.gather(*(claim(i) for i in range(1, orders + 1)))
    print("done", flush=True)
    await asyncio.sleep(60)


def main(argv: list[str]) -> None:
    mode, where, *rest = argv
    if where.startswith(("postgresql://", "postgres://")):
        schema, *rest = rest

        def open_journal() -> StoredJournal:
            return PostgresJournal(where, schema=schema)
    else:

        def open_journal() -> StoredJournal:
            return SqliteJournal(where)

    numbers = [int(n) for n in rest]
    if mode == "race":
        asyncio.run(race(open_journal, *numbers))
    elif mode == "hold":
        asyncio.run(hold(open_journal, *numbers))
    elif mode == "stream":
        asyncio.run(stream(open_journal, *numbers))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
