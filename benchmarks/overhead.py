"""1. Overhead: ``orders.renew`` through the SDK against hand-written aiohttp, same pool shape.

Rounds are interleaved in one process (SDK first in even pairs, raw first in odd ones), each on
orders not renewed before, and the reported ratio is the median of the per-pair ratios. Beside
the wall time, each round's CPU time in this (the client's) process is kept: it is what the SDK
adds per call, and it is far less sensitive than wall time to what else the machine runs. So is
the number of the garbage collector's runs: how many run depends on how objects come and go,
not only on how many, and a context variable set around every call once tripled them.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Awaitable, Callable

from openprovider_ssl import Client

from ._raw import RawClient, run_pool
from ._server import FakeServer
from ._table import Metric, interleaved, median, ratio, spread

Call = Callable[[int], Awaitable[object]]
Round = tuple[float, float, int]  # (wall seconds, client CPU seconds, garbage collections)


async def _timed(server: FakeServer, calls: int, concurrency: int, call: Call) -> Round:
    ids = server.take(calls)
    gc.collect()
    collections = _collections()
    cpu = time.process_time()
    start = time.perf_counter()
    done = await run_pool(ids, concurrency, call)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    assert done == calls
    return elapsed, cpu, _collections() - collections


def _collections() -> int:
    """The garbage collector's runs so far, all generations."""
    return sum(generation["collections"] for generation in gc.get_stats())


def orders_needed(*, calls: int, concurrency: int, pairs: int) -> int:
    return 2 * min(calls, 2 * concurrency) + 2 * pairs * calls


async def measure(
    server: FakeServer, *, calls: int, concurrency: int, pairs: int
) -> tuple[list[Round], list[Round]]:
    """``pairs`` SDK rounds and ``pairs`` raw rounds of ``calls`` renews, interleaved."""
    sdk_rounds: list[Round] = []
    raw_rounds: list[Round] = []
    async with (
        Client(token=server.token, base_url=server.url, max_connections=concurrency) as client,
        RawClient(server.url, server.token, max_connections=concurrency) as raw,
    ):
        sides: list[tuple[Call, list[Round]]] = [
            (client.orders.renew, sdk_rounds),
            (raw.renew, raw_rounds),
        ]
        # Warm up: open both connection pools and touch every code path once.
        for call, _ in sides:
            await _timed(server, min(calls, 2 * concurrency), concurrency, call)
        for call, rounds in interleaved(pairs, sides):
            rounds.append(await _timed(server, calls, concurrency, call))
    return sdk_rounds, raw_rounds


async def run(
    server: FakeServer, *, calls: int, concurrency: int, pairs: int, latency_ms: float
) -> list[Metric]:
    """``latency_ms`` is the latency the server was started with."""
    sdk, raw = await measure(server, calls=calls, concurrency=concurrency, pairs=pairs)
    walls = [s[0] / r[0] for s, r in zip(sdk, raw, strict=True)]
    cpus = [s[1] / r[1] for s, r in zip(sdk, raw, strict=True)]
    label = f"{latency_ms:g} ms"
    sdk_wall, raw_wall = median(s[0] for s in sdk), median(r[0] for r in raw)
    metrics = [
        Metric(
            key=f"overhead_{latency_ms:g}ms",
            name=f"overhead {label}: wall time, {calls:,} renews @{concurrency}",
            unit="s",
            sdk=sdk_wall,
            baseline=raw_wall,
            ratio=median(walls),
            target=1.10 if latency_ms == 0 else 1.05,
            note=f"median of {pairs} interleaved pair ratios ({spread(walls)})",
        ),
        Metric(
            key=f"overhead_{latency_ms:g}ms_cpu",
            name=f"overhead {label}: client CPU per call",
            unit="us",
            sdk=median(s[1] for s in sdk) / calls * 1e6,
            baseline=median(r[1] for r in raw) / calls * 1e6,
            ratio=median(cpus),
            note=f"CPU time (user + system) of the client process; median of {pairs} pair "
            f"ratios ({spread(cpus)})",
        ),
        _collections_metric(
            sdk, raw, calls=calls, label=label, key=f"overhead_{latency_ms:g}ms_gc"
        ),
    ]
    if latency_ms > 0:
        bound = concurrency / (latency_ms / 1000)
        rate = calls / sdk_wall
        metrics.append(
            Metric(
                key=f"overhead_{latency_ms:g}ms_vs_bound",
                name=f"overhead {label}: SDK calls/s vs concurrency/latency",
                unit="/s",
                sdk=rate,
                baseline=bound,
                ratio=ratio(rate, bound),
                note=f"raw aiohttp reached {calls / raw_wall:,.0f}/s; the bound ignores "
                "CPU time, of the server as well as of the client",
            )
        )
    return metrics


def _collections_metric(
    sdk: list[Round], raw: list[Round], *, calls: int, label: str, key: str
) -> Metric:
    """Garbage collections per 1,000 calls, over all rounds of each side; no ratio when raw
    aiohttp ran none (a short ``--quick`` run)."""
    sdk_runs, raw_runs = sum(s[2] for s in sdk), sum(r[2] for r in raw)
    per_thousand = 1000 / (calls * len(sdk))
    return Metric(
        key=key,
        name=f"overhead {label}: garbage collections per 1,000 calls",
        unit="",
        sdk=sdk_runs * per_thousand,
        baseline=raw_runs * per_thousand if raw_runs else None,
        ratio=sdk_runs / raw_runs if raw_runs else None,
        note="runs of the garbage collector in the client process, all generations, over "
        f"{len(sdk)} rounds a side",
    )
