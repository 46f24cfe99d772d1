"""What sharing the limits through Redis costs per request, against the in-memory limits.

    python -m benchmarks.redis_limiter [--quick]

``measure(quick)`` times ``limits.acquire(request)`` + ``limits.record(request, None)`` (the
limiter's part of every attempt) with the default ``Limits()`` in memory and with
``Limits(backend=RedisLimits(...))``, in interleaved rounds, and returns microseconds per
request and their ratio (median of the per-round ratios). Each request is a distinct call,
as in a bulk renewal. The Redis figure is one round trip to Redis plus its Lua script; it is
also given with ``concurrency`` callers at once (wall time per request), where round trips
overlap, and as the server's own time per script call.

Redis comes from ``OPENPROVIDER_TEST_REDIS_URL``, or a ``redis-server`` on PATH started on a
free loopback port; without either the result says ``skipped``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if not __package__:  # run as ``python benchmarks/redis_limiter.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._table import interleaved, median
from openprovider_ssl._protocol.messages import Request, build_request
from openprovider_ssl.limits._front import Limits

ENV = "OPENPROVIDER_TEST_REDIS_URL"
CONCURRENCY = 20


def measure(quick: bool) -> dict[str, Any]:
    """µs per acquire+record in memory and through Redis, and the ratio of the two."""
    try:
        import redis.asyncio  # noqa: F401, PLC0415  (optional dependency)
    except ImportError:
        return {"skipped": "the redis package is not installed (pip install redis)"}
    calls, rounds = (500, 3) if quick else (5_000, 7)
    with _redis() as url:
        if url is None:
            return {"skipped": f"no Redis: set {ENV} or put redis-server on PATH"}
        return asyncio.run(_measure(url, calls, rounds))


async def _measure(url: str, calls: int, rounds: int) -> dict[str, Any]:
    from openprovider_ssl.limits._redis.backend import RedisLimits  # noqa: PLC0415

    prefix = f"openprovider-ssl-bench-{uuid.uuid4().hex[:8]}:"
    requests = [
        build_request("GetOrder", "GET", f"/ssl/orders/{i}", idempotent=True)
        for i in range(calls * (2 * rounds + 2))
    ]
    chunks = iter([requests[i : i + calls] for i in range(0, len(requests), calls)])
    backend = RedisLimits(url, prefix=prefix)
    memory: list[float] = []
    shared: list[float] = []
    concurrent: list[float] = []
    try:
        redis: Any = backend.connection()
        # Warm up: the connection, the script cache, the code paths.
        await _sequential(Limits(backend=backend), next(chunks)[: calls // 5])
        before = (await redis.info("commandstats")).get("cmdstat_evalsha", {})
        # Fresh limits every round: in memory (no backend) and through Redis.
        for times, where in interleaved(rounds, [(memory, None), (shared, backend)]):
            times.append(await _sequential(Limits(backend=where), next(chunks)))
        after = (await redis.info("commandstats")).get("cmdstat_evalsha", {})
        concurrent.append(await _concurrent(Limits(backend=backend), next(chunks)))
    finally:
        await backend.clear()
        await backend.aclose()
    ratios = [s / m for s, m in zip(shared, memory, strict=True)]
    scripts = after.get("calls", 0) - before.get("calls", 0)
    server = (after.get("usec", 0) - before.get("usec", 0)) / scripts if scripts else None
    return {
        "calls": calls,
        "rounds": rounds,
        "memory_us": round(median(memory), 2),
        "redis_us": round(median(shared), 1),
        "ratio": round(median(ratios), 1),
        "redis_concurrent_us": round(concurrent[0], 1),
        "concurrency": CONCURRENCY,
        "redis_server_us": None if server is None else round(server, 1),
        "redis": backend.where,
    }


async def _sequential(limits: Limits, requests: list[Request]) -> float:
    start = time.perf_counter()
    for request in requests:
        await limits.acquire(request)
        limits.record(request, None)
    return (time.perf_counter() - start) / len(requests) * 1e6


async def _concurrent(limits: Limits, requests: list[Request]) -> float:
    queue = iter(requests)

    async def caller() -> None:
        for request in queue:
            await limits.acquire(request)
            limits.record(request, None)

    start = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))
    return (time.perf_counter() - start) / len(requests) * 1e6


@contextlib.contextmanager
def _redis() -> Iterator[str | None]:
    url = os.environ.get(ENV)
    server = shutil.which("redis-server")
    if url or server is None:
        yield url
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as workdir:
        process = subprocess.Popen(
            [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", workdir],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    result = measure("--quick" in sys.argv[1:])
    if "skipped" in result:
        print(f"redis limiter: skipped ({result['skipped']})")
    else:
        print(
            f"limiter per request: {result['memory_us']} µs in memory, {result['redis_us']} µs "
            f"through Redis ({result['ratio']}x; {result['redis_concurrent_us']} µs with "
            f"{result['concurrency']} callers at once; Redis itself "
            f"{result['redis_server_us']} µs per script) at {result['redis']}"
        )
