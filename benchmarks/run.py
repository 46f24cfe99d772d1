"""Run the benchmarks, each against its own fake server process, and print (and save) a table.

    python -m benchmarks [--quick] [--output results.json] [--only overhead,rate,...]

``--quick`` runs small sizes in seconds (CI runs it so the benchmarks never rot); the full run
takes several minutes. Rounds of the SDK and of its baseline are interleaved in one process
and ratios are medians of per-pair ratios, because machines here are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if not __package__:  # run as ``python benchmarks/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import (
    instructions,
    journal,
    maintenance,
    memory,
    overhead,
    rate,
    redis_limiter,
    structuring,
)
from benchmarks._server import FakeServer
from benchmarks._table import (
    Metric,
    machine,
    render_markdown,
    render_text,
    write_json,
)

BENCHMARKS = (
    "overhead",
    "instructions",
    "rate",
    "memory",
    "maintenance",
    "structuring",
    "redis",
    "journal",
)

FULL: dict[str, Any] = {
    "concurrency": 100,
    "pairs": 15,
    # The 0 ms pair ratios spread the widest (0.6 to 1.9 in one run on these shared cores):
    # with 15 pairs its median moved by about 4% between runs; with 40, six gave 1.067-1.086.
    "overhead_pairs": {0: 40},
    "overhead_calls": 10_000,
    "latencies_ms": [0, 20],
    "instruction_calls": (300, 2_000),  # warm-up, measured
    "rates": [50, 200],
    "rate_calls": 2_000,
    "memory_sizes": [1_000, 100_000],
    "maintenance_orders": 5_000,
    "maintenance_window": 3.0,
    "maintenance_pairs": 10,
    "structure_loops": 2_000,
    "redis_quick": False,
    "journal_orders": 10_000,
    "journal_latency_ms": 20,
    "journal_memory_sizes": [1_000, 100_000],
}

QUICK: dict[str, Any] = {
    "concurrency": 100,
    "pairs": 2,
    "overhead_pairs": {},
    "overhead_calls": 300,
    "latencies_ms": [0, 20],
    "instruction_calls": (200, 100),
    "rates": [50, 200],
    "rate_calls": None,  # 1.5 s worth at each rate
    "memory_sizes": [200, 2_000],
    "maintenance_orders": 1_500,
    "maintenance_window": 1.5,
    "maintenance_pairs": 1,
    "structure_loops": 200,
    "redis_quick": True,
    "journal_orders": 500,
    "journal_latency_ms": 20,
    "journal_memory_sizes": [200, 2_000],
}


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="What the SDK costs against raw aiohttp."
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--output", "-o", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated subset of {BENCHMARKS}"
    )
    parser.add_argument("--pairs", type=int, help="interleaved SDK/baseline pairs per ratio")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def _overhead(s: dict[str, Any]) -> list[Metric]:
    c, calls = s["concurrency"], s["overhead_calls"]
    out: list[Metric] = []
    for latency in s["latencies_ms"]:
        pairs = s["overhead_pairs"].get(latency, s["pairs"])
        orders = overhead.orders_needed(calls=calls, concurrency=c, pairs=pairs)
        with FakeServer(orders=orders, latency_ms=latency) as server:
            out += asyncio.run(
                overhead.run(server, calls=calls, concurrency=c, pairs=pairs, latency_ms=latency)
            )
    return out


def _instructions(s: dict[str, Any]) -> list[Metric]:
    why_not = instructions.available()
    if why_not is not None:
        print(f"instructions: skipped, {why_not}", file=sys.stderr)
        return []
    warmup, calls = s["instruction_calls"]
    with FakeServer(orders=instructions.orders_needed(warmup=warmup, calls=calls)) as server:
        return [instructions.run(server, warmup=warmup, calls=calls, concurrency=s["concurrency"])]


def _rate(s: dict[str, Any]) -> list[Metric]:
    plan = [(r, s["rate_calls"] or int(r * 1.5)) for r in s["rates"]]
    out: list[Metric] = []
    with FakeServer(orders=sum(calls for _, calls in plan)) as server:
        for r, calls in plan:
            out += asyncio.run(rate.run(server, rate=r, calls=calls, concurrency=s["concurrency"]))
    return out


def _memory(s: dict[str, Any]) -> list[Metric]:
    small, large = s["memory_sizes"]
    with FakeServer(orders=memory.orders_needed(small=small, large=large)) as server:
        return memory.run(server, small=small, large=large, concurrency=s["concurrency"])


def _maintenance(s: dict[str, Any]) -> list[Metric]:
    orders, pairs = s["maintenance_orders"], s["maintenance_pairs"]
    with FakeServer(orders=maintenance.orders_needed(orders=orders, pairs=pairs)) as server:
        return asyncio.run(
            maintenance.run(
                server,
                orders=orders,
                concurrency=s["concurrency"],
                window=s["maintenance_window"],
                pairs=pairs,
            )
        )


def _structuring(s: dict[str, Any]) -> list[Metric]:
    # The fake's usual mix of statuses, so list pages look like real ones.
    with FakeServer(orders=1_000, expiring_share=0.3) as server:
        return structuring.run(server, loops=s["structure_loops"], pairs=max(3, s["pairs"]))


def _redis(s: dict[str, Any]) -> list[Metric]:
    result = redis_limiter.measure(quick=s["redis_quick"])
    if "skipped" in result:
        print(f"redis: skipped, {result['skipped']}", file=sys.stderr)
        return []
    return [
        Metric(
            key="redis_limiter",
            name="limits per request (acquire + record), Redis vs in memory",
            unit="us",
            sdk=result["redis_us"],
            baseline=result["memory_us"],
            ratio=result["ratio"],
            note=f"{result['calls']} calls x {result['rounds']} rounds; with "
            f"{result['concurrency']} callers at once {result['redis_concurrent_us']:.0f} us"
            + (
                ""
                if result["redis_server_us"] is None
                else f"; Redis itself {result['redis_server_us']:.0f} us per script call"
            ),
        )
    ]


def _journal(s: dict[str, Any]) -> list[Metric]:
    c, orders, pairs = s["concurrency"], s["journal_orders"], s["pairs"]
    latency = s["journal_latency_ms"]
    directory, filesystem = journal.disk_directory()
    url, why_not = journal.postgres()
    durables = [("sqlite", "SQLite", 1.10, journal.sqlite_side(directory))]
    if url is None:
        print(f"journal postgres: skipped, {why_not}", file=sys.stderr)
    else:
        durables.append(("postgres", "PostgreSQL", 1.25, journal.postgres_side(url)))
    where = {
        "sqlite": f"a fresh file per round in {directory} ({filesystem}), WAL, synchronous=FULL",
        "postgres": "a fresh database per round, server on loopback, fsync on",
    }
    out: list[Metric] = []
    for name, label, target, side in durables:
        needed = journal.orders_needed(orders=orders, concurrency=c, pairs=pairs)
        with FakeServer(orders=needed, latency_ms=latency) as server:
            out.append(
                asyncio.run(
                    journal.run(
                        server,
                        side,
                        key=f"journal_{name}_{latency:g}ms",
                        label=label,
                        target=target,
                        orders=orders,
                        concurrency=c,
                        pairs=pairs,
                        latency_ms=latency,
                        where=where[name],
                    )
                )
            )
    small, large = s["journal_memory_sizes"]
    with FakeServer(orders=journal.memory_orders_needed(small=small, large=large)) as server:
        out += journal.memory(server, small=small, large=large, concurrency=c)
    return out


RUNNERS: dict[str, Callable[[dict[str, Any]], list[Metric]]] = {
    "overhead": _overhead,
    "instructions": _instructions,
    "rate": _rate,
    "memory": _memory,
    "maintenance": _maintenance,
    "structuring": _structuring,
    "redis": _redis,
    "journal": _journal,
}


def main(argv: Sequence[str] | None = None, *, log: Callable[[str], None] | None = None) -> int:
    args = _parse(argv)
    say = log or (lambda text: print(text, file=sys.stderr, flush=True))
    settings = dict(QUICK if args.quick else FULL)
    if args.pairs:
        settings["pairs"] = settings["maintenance_pairs"] = args.pairs
        settings["overhead_pairs"] = {}
    selected = [b for b in BENCHMARKS if b in args.only.split(",")]
    host = machine()
    began = time.perf_counter()
    metrics: list[Metric] = []
    errors: dict[str, str] = {}
    for name in selected:
        say(f"{name} ...")
        t0 = time.perf_counter()
        try:
            metrics += RUNNERS[name](settings)
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        say(f"{name}: {time.perf_counter() - t0:.1f} s")
    seconds = time.perf_counter() - began
    print(render_text(metrics))
    print("\nnotes:")
    for m in metrics:
        if m.note:
            print(f"  {m.key}: {m.note}")
    if args.markdown:
        print()
        print(render_markdown(metrics))
    print(
        f"\n{'quick' if args.quick else 'full'} run, {seconds:.0f} s; "
        f"{host['nproc']} CPUs, {host['cpu']}, Python {host['python']}"
    )
    if args.output is not None:
        write_json(
            args.output,
            metrics,
            quick=args.quick,
            seconds=seconds,
            settings=settings,
            host=host,
            errors=errors,
        )
    for name, error in errors.items():
        print(f"{name} FAILED: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
