"""Renew every expiring certificate with N worker processes that share their limits in Redis.

    # try it against the fake Openprovider (needs a Redis, or redis-server on PATH):
    python examples/redis_workers/renew_workers.py --fake --workers 4 --rate 20

    # for real (OPENPROVIDER_TOKEN, or OPENPROVIDER_USERNAME and OPENPROVIDER_PASSWORD):
    python examples/redis_workers/renew_workers.py --workers 8 --rate 10 \\
        --redis redis://redis.internal:6379/0

Each worker is a process of its own with its own client; worker ``k`` of ``n`` renews the
expiring orders whose id is ``k`` modulo ``n``. They could run on different hosts: what keeps
them, together, within one rate and one identical-call budget (and makes them wait together
through maintenance and after a 429) is ``Limits(backend=RedisLimits(...))`` on the same Redis
and prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import openprovider_ssl as op
from openprovider_ssl import Limits, RedisLimits

PREFIX = "openprovider-ssl:example:"


async def renew_shard(
    shard: int, shards: int, *, redis_url: str, rate: float, client_options: dict[str, Any]
) -> dict[str, Any]:
    """One worker's job: list the renewable orders, keep its shard, renew them."""
    # The same Redis and prefix in every worker: one rate, one identical-call budget, one
    # maintenance pause for all. If Redis is away, calls fail (on_unavailable="fail").
    backend = RedisLimits(redis_url, prefix=PREFIX)
    base_url = client_options.get("base_url", op.PRODUCTION_URL)
    limits = Limits.for_base_url(base_url, rate=rate, backend=backend)
    async with backend, op.Client.from_env(limits=limits, **client_options) as client:
        now = datetime.now(UTC)
        # Listed in full before renewing: each renewal moves its order out of the listing.
        mine = [
            order
            async for order in client.orders.list(
                status="ACT", show_expiring=True, order_by=("expiration_date", "asc"), page_size=500
            )
            if order.id % shards == shard and order.can_renew(now)
        ]
        renewed, failed = 0, []
        async with client.orders.renew_many(mine, concurrency=10) as run:
            async for outcome in run:
                if outcome.ok:
                    renewed += 1
                else:
                    failed.append(f"{outcome.order_id}: {outcome.error}")
    return {"shard": shard, "orders": len(mine), "renewed": renewed, "failed": failed}


def worker(shard: int, shards: int, options: dict[str, Any]) -> None:
    """A worker process's entry point (multiprocessing, spawn)."""
    logging.basicConfig(level=logging.WARNING, format=f"worker {shard}: %(message)s")
    try:
        result = asyncio.run(renew_shard(shard, shards, **options))
    except op.OpenproviderError as error:  # LimiterUnavailableError when Redis is away, ...
        sys.exit(f"worker {shard}: {error}")
    print(json.dumps(result), flush=True)
    sys.exit(1 if result["failed"] else 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=10.0, help="requests/s for all workers")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL"), help="redis://...")
    parser.add_argument("--fake", action="store_true", help="against a local fake Openprovider")
    parser.add_argument("--orders", type=int, default=400, help="orders in the fake")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        redis_url = args.redis or stack.enter_context(local_redis())
        options: dict[str, Any] = {"redis_url": redis_url, "rate": args.rate, "client_options": {}}
        fake: dict[str, Any] | None = None
        if args.fake:
            fake = stack.enter_context(fake_openprovider(args.orders, args.rate))
            options["client_options"] = {"token": fake["token"], "base_url": fake["url"]}
        print(f"{args.workers} workers, {args.rate:g} requests/s in all, limits in {redis_url}")
        started = time.monotonic()
        context = multiprocessing.get_context("spawn")
        processes = [
            context.Process(target=worker, args=(k, args.workers, options))
            for k in range(args.workers)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        elapsed = time.monotonic() - started
        ok = all(p.exitcode == 0 for p in processes)
        print(f"done in {elapsed:.1f} s; every worker {'succeeded' if ok else 'did NOT succeed'}")
        if fake is not None:
            stats = control(fake, "/_fake/stats")
            busiest = max(stats["per_second"].values(), default=0)
            renewals = stats["renewals"].values()
            print(
                f"fake Openprovider saw {stats['total']} requests, at most {busiest} in one "
                f"second (limit {args.rate:g}); {sum(renewals)} renewals, each order renewed at "
                f"most {max(renewals, default=0)} time(s); faults: {stats['faults'] or 'none'}"
            )
            ok = ok and busiest <= args.rate and not stats["faults"]
    return 0 if ok else 1


@contextlib.contextmanager
def fake_openprovider(orders: int, rate: float) -> Iterator[dict[str, Any]]:
    """``python -m openprovider_ssl.testing`` with a rate limit, until the block ends."""
    command = [sys.executable, "-m", "openprovider_ssl.testing", "--port", "0", "--json"]
    command += ["--orders", str(orders), "--rate-limit", str(rate)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        info: dict[str, Any] = json.loads(process.stdout.readline())
        print(f"fake Openprovider at {info['url']} (rate limit {rate:g}/s)")
        yield info
    finally:
        process.terminate()
        process.wait(10)


def control(fake: dict[str, Any], path: str) -> Any:
    with urllib.request.urlopen(fake["base_url"] + path, timeout=10) as answer:
        return json.loads(answer.read())


@contextlib.contextmanager
def local_redis() -> Iterator[str]:
    """redis://127.0.0.1:6379/0 if a Redis answers there, else a throwaway redis-server."""
    if answers(6379):
        yield "redis://127.0.0.1:6379/0"
        return
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("no Redis: pass --redis redis://host:port/db, or install redis-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as workdir:
        command = [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir"]
        process = subprocess.Popen([*command, workdir], stdout=subprocess.DEVNULL)
        try:
            for _ in range(100):
                if answers(port):
                    break
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
    except OSError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
