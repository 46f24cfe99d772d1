"""3. Memory: peak RSS of a bulk renew over a ``range`` of ids, one fresh process per run.

The child (``python -m benchmarks.memory sdk|raw URL TOKEN FIRST COUNT CONCURRENCY``) prints
its RSS before the run and its peak RSS (``VmHWM``) after, so sizes never share a heap.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
from typing import Any

from ._server import FakeServer, child_env
from ._table import Metric, ratio


def _status(field: str) -> float:
    """A ``/proc/self/status`` memory field, in MB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def _rss_now() -> float:
    return _status("VmRSS")


def _peak() -> float:
    # VmHWM, not ru_maxrss: a spawned child's ru_maxrss may still count its parent's pages
    # from before the exec, while VmHWM belongs to the new address space alone.
    return _status("VmHWM")


async def _child_sdk(url: str, token: str, ids: range, concurrency: int) -> dict[str, Any]:
    # Imported here so the raw child's memory holds aiohttp alone.
    from openprovider_ssl import Client  # noqa: PLC0415

    failed = 0
    async with Client(token=token, base_url=url, max_connections=concurrency) as client:
        gc.collect()
        before = _rss_now()
        start = time.perf_counter()
        done = 0
        async with client.orders.renew_many(ids, concurrency=concurrency) as bulk_run:
            async for outcome in bulk_run:
                done += 1
                if not outcome.ok:
                    failed += 1
        seconds = time.perf_counter() - start
    return {"before": before, "peak": _peak(), "done": done, "failed": failed, "seconds": seconds}


async def _child_raw(url: str, token: str, ids: range, concurrency: int) -> dict[str, Any]:
    from ._raw import RawClient, run_pool  # noqa: PLC0415

    async with RawClient(url, token, max_connections=concurrency) as raw:
        gc.collect()
        before = _rss_now()
        start = time.perf_counter()
        done = await run_pool(ids, concurrency, raw.renew)
        seconds = time.perf_counter() - start
    return {"before": before, "peak": _peak(), "done": done, "failed": 0, "seconds": seconds}


def _child(argv: list[str]) -> None:
    side, url, token, first, count, concurrency = argv
    ids = range(int(first), int(first) + int(count))
    run = _child_sdk if side == "sdk" else _child_raw
    result = asyncio.run(run(url, token, ids, int(concurrency)))
    print(json.dumps(result))


def measure(server: FakeServer, side: str, count: int, concurrency: int) -> dict[str, Any]:
    """Run one bulk renew of ``count`` fresh orders in a new process; its memory figures."""
    ids = server.take(count)
    argv = [side, server.url, server.token, str(ids.start), str(count), str(concurrency)]
    env = child_env()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", *argv],
        capture_output=True,
        text=True,
        timeout=1800,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"memory child {side} {count} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["done"] != count or result["failed"]:
        raise RuntimeError(f"memory child {side} {count}: {result}")
    return result


def orders_needed(*, small: int, large: int) -> int:
    return 2 * (small + large)


def run(server: FakeServer, *, small: int, large: int, concurrency: int) -> list[Metric]:
    """A fresh client process per run, each on orders no one renewed yet."""
    runs: dict[tuple[str, int], dict[str, Any]] = {}
    for count in (small, large):
        for side in ("sdk", "raw"):
            runs[side, count] = measure(server, side, count, concurrency)
    sdk_s, sdk_l = runs["sdk", small], runs["sdk", large]
    raw_s, raw_l = runs["raw", small], runs["raw", large]
    growth_sdk = ratio(sdk_l["peak"], sdk_s["peak"])
    growth_raw = ratio(raw_l["peak"], raw_s["peak"])
    per_sdk = (sdk_s["peak"] - sdk_s["before"]) / concurrency
    per_raw = (raw_s["peak"] - raw_s["before"]) / concurrency
    return [
        Metric(
            key="memory_peak_small",
            name=f"memory: peak RSS, {small:,} orders @{concurrency}",
            unit="MB",
            sdk=sdk_s["peak"],
            baseline=raw_s["peak"],
            ratio=ratio(sdk_s["peak"], raw_s["peak"]),
            note="SDK renew_many vs raw worker pool, fresh process each",
        ),
        Metric(
            key="memory_peak_large",
            name=f"memory: peak RSS, {large:,} orders @{concurrency}",
            unit="MB",
            sdk=sdk_l["peak"],
            baseline=raw_l["peak"],
            ratio=ratio(sdk_l["peak"], raw_l["peak"]),
            note="SDK renew_many vs raw worker pool, fresh process each",
        ),
        Metric(
            key="memory_growth",
            name=f"memory: peak RSS {large:,} / {small:,} orders (SDK)",
            unit="x",
            sdk=growth_sdk,
            baseline=growth_raw,
            ratio=growth_sdk,
            target=1.2,
            note="flat is 1.0; baseline column: the raw pool's own growth",
        ),
        Metric(
            key="memory_per_in_flight",
            name="memory: MB per in-flight request",
            unit="MB",
            sdk=per_sdk,
            baseline=per_raw,
            ratio=ratio(per_sdk, per_raw),
            note=f"(peak - RSS before the run) / {concurrency}, {small:,}-order run",
        ),
    ]


if __name__ == "__main__":
    _child(sys.argv[1:])
