"""A process of its own on a shared SqliteJournal file, for ``test_sqlite_processes.py``.

python _sqlite_worker.py race PATH ORDERS SEED CONCURRENCY
    claims orders 1..ORDERS in a shuffled order, settles every granted claim "renewed",
    prints "ready", waits for a line on stdin to start, then prints a JSON summary;
python _sqlite_worker.py hold PATH ORDER_ID
    claims one order, prints "claimed", then sleeps (to be killed);
python _sqlite_worker.py stream PATH ORDERS CONCURRENCY
    claims orders 1..ORDERS and prints "granted ID" for each claim as it returns, never
    settling (a renew sent, then a crash), then sleeps (to be killed).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from datetime import UTC, datetime

from openprovider_ssl.errors import RenewalPendingError
from openprovider_ssl.journal import SqliteJournal

EXPIRES = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


async def race(path: str, orders: int, seed: int, concurrency: int) -> None:
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

    async with SqliteJournal(path) as journal:
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
        "seconds": round(elapsed, 3),
    }
    print(json.dumps(summary), flush=True)


async def hold(path: str, order_id: int) -> None:
    journal = SqliteJournal(path)
    await journal.open()
    await journal.claim(order_id, EXPIRES)
    print("claimed", flush=True)
    await asyncio.sleep(60)


async def stream(path: str, orders: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def claim(order_id: int) -> None:
        async with gate:
            await journal.claim(order_id, EXPIRES)
            print(f"granted {order_id}", flush=True)

    journal = SqliteJournal(path)
    await journal.open()
    await asyncio.gather(*(claim(i) for i in range(1, orders + 1)))
    print("done", flush=True)
    await asyncio.sleep(60)


def main(argv: list[str]) -> None:
    mode, path, *rest = argv
    numbers = [int(n) for n in rest]
    if mode == "race":
        asyncio.run(race(path, *numbers))
    elif mode == "hold":
        asyncio.run(hold(path, *numbers))
    elif mode == "stream":
        asyncio.run(stream(path, *numbers))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
