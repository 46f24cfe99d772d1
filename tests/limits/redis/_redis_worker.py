"""One worker process of the four-process test: its own client, limits shared through Redis.

    python _redis_worker.py '{"url": ..., "token": ..., "redis": ..., "prefix": ..., ...}'

Waits until every worker is ready (a barrier in Redis), renews its orders with
``renew_many``, then reads one order ``repeat`` times (identical calls, on a budget the workers
share), and prints one JSON line with what happened.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import openprovider_ssl as op
from openprovider_ssl.limits._front import Limits
from openprovider_ssl.limits._redis.backend import RedisLimits


async def barrier(backend: RedisLimits, name: str, parties: int) -> None:
    redis: Any = backend.connection()
    key = backend.key(name)
    await redis.incr(key)
    await redis.pexpire(key, 60_000)
    deadline = time.monotonic() + 30
    while int(await redis.get(key) or 0) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError("the other workers never came")
        await asyncio.sleep(0.005)


async def main(task: dict[str, Any]) -> dict[str, Any]:
    backend = RedisLimits(task["redis"], prefix=task["prefix"])
    limits = Limits(
        rate=task["rate"],
        identical_limit=task["identical_limit"],
        identical_window=task["identical_window"],
        backend=backend,
    )
    client = op.Client(token=task["token"], base_url=task["url"], limits=limits)
    renewed, failed, allowed, refused = [], [], 0, 0
    async with backend, client:
        await barrier(backend, "test-barrier", task["workers"])
        started = time.monotonic()
        async with client.orders.renew_many(task["ids"], concurrency=10) as run:
            async for outcome in run:
                if outcome.ok:
                    renewed.append(outcome.order_id)
                else:
                    failed.append(f"{outcome.order_id}: {outcome.error!r}")
        for _ in range(task["repeat"]):
            try:
                await client.orders.get(task["same"])
                allowed += 1
            except op.IdenticalCallLimitError:
                refused += 1
        elapsed = time.monotonic() - started
    return {
        "renewed": renewed,
        "failed": failed,
        "allowed": allowed,
        "refused": refused,
        "elapsed": elapsed,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))), flush=True)
