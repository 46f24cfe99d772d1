"""7. The renewal journal: what claiming every renew durably costs, against the default in memory.

- ``journal_sqlite_20ms``, ``journal_postgres_20ms``: wall time of ``renew_many`` over fresh
  orders at 20 ms of server latency with a ``SqliteJournal`` (a fresh file per round, in a
  temporary directory on a disk, never tmpfs; WAL and ``synchronous=FULL`` as the journal sets
  them) or a ``PostgresJournal`` (a fresh database per round on a real server on loopback,
  fsync on), over the same with the default ``MemoryJournal``. Each round has a client of its
  own, its pool opened by reads before the clock starts; rounds are interleaved, and the ratio
  is the median of the per-pair ratios. The notes say what the group commits were: how many,
  how many operations each carried, how long each was awaited on the event loop (and, for
  SQLite, how long it took in the journal's thread: the rest is the hop to and from it).
- ``journal_memory_flat``: the tracemalloc peak of a ``renew_many`` at 0 ms with a
  ``SqliteJournal``, large over small, each size in a fresh process (``python -m
  benchmarks.journal CHILD ...``, as in ``memory.py``): a durable journal keeps nothing per
  order in memory. ``journal_memory_flat_default`` and ``journal_memory_per_order``: the same
  for the default ``MemoryJournal``, which by design remembers every renewed order for the
  client's lifetime, and what that costs per order (traced memory still held after the run,
  its growth from small to large over the orders added; that includes its history of events,
  which stops growing at 10,000). tracemalloc sees Python's allocations only: SQLite's own page
  cache (bounded, 2 MB by default) is not in it, which is why the peak RSS is in the notes too.
  These clients are the default ones but for the identical-call budget's window (``TIMELESS``):
  that budget keeps an array of 32 kB per 10 s slice of its 300 s window as calls come, up to
  about 1 MB, growing with elapsed time and not with orders; tracemalloc slows a run about
  sixfold, so the large run would count most of that megabyte and the small one almost none.
  With a window of ``TIMELESS`` seconds its one slice is made by the warm-up, before tracing.

PostgreSQL comes from ``tests/_support/postgres.py``: ``OPENPROVIDER_TEST_POSTGRES_URL`` (CI's
``.ci/postgres.sh`` exports it) or, outside CI, a throwaway server of its own; without one the
PostgreSQL row is skipped, saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

from openprovider_ssl import Client, Limits, RetryPolicy
from openprovider_ssl.journal import RenewalJournal, SqliteJournal

from ._server import FIRST_ID, ROOT, FakeServer, child_env
from ._table import Metric, interleaved, median, ratio, spread

#: A journal for one round, opened and closed around it (None: the client's default).
Side = Callable[[], contextlib.AbstractAsyncContextManager[RenewalJournal | None]]
TMPFS = {"tmpfs", "ramfs"}
#: The identical-call window of the memory runs' clients: one slice for the whole run.
TIMELESS = 1e7


class BenchmarkError(RuntimeError):
    """A renew failed, or the run renewed fewer orders than it was given."""


# -- where the journals live ----------------------------------------------------------------


def _filesystem(path: str) -> str:
    """The type of the filesystem ``path`` is on (the longest mount point above it)."""
    real = os.path.realpath(path)
    best, kind = "", "unknown"
    with contextlib.suppress(OSError), open("/proc/self/mounts", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if len(fields) < 3:
                continue
            point = fields[1].replace("\\040", " ")
            inside = real == point or real.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, kind = point, fields[2]
    return kind


def disk_directory() -> tuple[str, str]:
    """A directory for the journal files on a real disk, and its filesystem type: the temporary
    directory unless it is tmpfs, else ``/var/tmp``, else the home directory."""
    for candidate in (tempfile.gettempdir(), "/var/tmp", str(Path.home())):
        if os.path.isdir(candidate) and os.access(candidate, os.W_OK):
            kind = _filesystem(candidate)
            if kind not in TMPFS:
                return candidate, kind
    raise BenchmarkError("no writable directory off tmpfs for the SQLite journal files")


@contextlib.asynccontextmanager
async def default_journal() -> AsyncIterator[None]:
    yield None


def sqlite_side(directory: str) -> Side:
    @contextlib.asynccontextmanager
    async def side() -> AsyncIterator[RenewalJournal]:
        with tempfile.TemporaryDirectory(dir=directory, prefix="opssl-journal-bench-") as d:
            async with SqliteJournal(Path(d) / "renewals.sqlite3") as journal:
                yield journal

    return side


# -- PostgreSQL -------------------------------------------------------------------------------


def _postgres_support() -> ModuleType:
    """``tests/_support/postgres.py``, loaded by its path (the benchmark does not import
    ``tests``)."""
    name = "_openprovider_bench_postgres"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, Path(ROOT) / "tests" / "_support" / "postgres.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def postgres() -> tuple[str | None, str]:
    """The URL of a PostgreSQL server for the benchmark, or None and why there is none."""
    try:
        import pytest  # noqa: PLC0415  (tests/_support/postgres.py skips, fails via pytest)
    except ImportError:
        return None, "pytest is not installed (pip install -e '.[dev]')"
    try:
        from openprovider_ssl.journal import PostgresJournal  # noqa: F401, PLC0415
    except ImportError as exc:
        return None, f"PostgresJournal cannot be imported: {exc}"
    try:
        support = _postgres_support()
        url: str = support.postgres_url()
    except (pytest.skip.Exception, pytest.fail.Exception) as exc:
        return None, str(exc.msg)
    return url, ""


def postgres_side(server_url: str) -> Side:
    support = _postgres_support()

    @contextlib.asynccontextmanager
    async def side() -> AsyncIterator[RenewalJournal]:
        from openprovider_ssl.journal import PostgresJournal  # noqa: PLC0415

        url: str = await asyncio.to_thread(support.fresh_database, server_url)
        try:
            async with PostgresJournal(url) as journal:
                yield journal
        finally:
            await asyncio.to_thread(_drop_database, support, server_url, url)

    return side


def _drop_database(support: ModuleType, server_url: str, url: str) -> None:
    """A round's database is dropped after it (the server may be one that outlives us)."""
    psycopg = support.psycopg
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(server_url, autocommit=True) as connection,
    ):
        connection.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {}").format(psycopg.sql.Identifier(name))
        )


# -- one round ---------------------------------------------------------------------------------


@attrs.define
class Commits:
    """The group commits of one round: operations per commit, seconds awaited on the event loop
    (``_commit``), and, where the journal has one, seconds in its thread (``_commit_now``)."""

    ops: list[int] = attrs.Factory(list)
    awaited: list[float] = attrs.Factory(list)
    inside: list[float] = attrs.Factory(list)


def watch(journal: RenewalJournal) -> Commits:
    """Note every group commit of ``journal`` (two clock reads and an append per commit)."""
    log = Commits()
    commit = getattr(journal, "_commit", None)
    if commit is None:
        return log

    async def timed(ops: list[Any]) -> Any:
        start = time.perf_counter()
        try:
            return await commit(ops)
        finally:
            log.awaited.append(time.perf_counter() - start)
            log.ops.append(len(ops))

    journal._commit = timed  # type: ignore[attr-defined]
    now = getattr(journal, "_commit_now", None)
    if now is not None:

        def timed_now(ops: list[Any]) -> Any:
            start = time.perf_counter()
            try:
                return now(ops)
            finally:
                log.inside.append(time.perf_counter() - start)

        journal._commit_now = timed_now  # type: ignore[attr-defined]
    return log


@attrs.frozen
class Round:
    wall: float
    cpu: float
    commits: Commits


async def renew_all(client: Client, ids: Sequence[int], concurrency: int) -> int:
    """``renew_many`` over ``ids``, every outcome consumed; each must be a renewal."""
    done = 0
    async with client.orders.renew_many(ids, concurrency=concurrency) as run:
        async for outcome in run:
            if not outcome.ok:
                raise BenchmarkError(f"renew of order {outcome.order_id}: {outcome.error!r}")
            done += 1
    if done != len(ids):
        raise BenchmarkError(f"{len(ids)} orders given, {done} outcomes")
    return done


async def warm(client: Client, concurrency: int) -> None:
    """Open the client's pool with reads (which the journal never sees)."""
    ids = range(FIRST_ID, FIRST_ID + concurrency)
    await asyncio.gather(*(client.orders.get(i) for i in ids))


async def timed_round(server: FakeServer, side: Side, orders: int, concurrency: int) -> Round:
    ids = server.take(orders)
    async with (
        side() as journal,
        Client(
            token=server.token,
            base_url=server.url,
            max_connections=concurrency,
            journal=journal,
        ) as client,
    ):
        commits = watch(journal) if journal is not None else Commits()
        await warm(client, concurrency)
        gc.collect()
        cpu = time.process_time()
        start = time.perf_counter()
        await renew_all(client, ids, concurrency)
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
    return Round(wall, cpu, commits)


def orders_needed(*, orders: int, concurrency: int, pairs: int) -> int:
    return 2 * (min(orders, 2 * concurrency) + pairs * orders)


async def measure(
    server: FakeServer, durable: Side, *, orders: int, concurrency: int, pairs: int
) -> tuple[list[Round], list[Round]]:
    """``pairs`` rounds with the durable journal and ``pairs`` with the default, interleaved,
    after one short round of each that is not counted."""
    durable_rounds: list[Round] = []
    memory_rounds: list[Round] = []
    sides: list[tuple[Side, list[Round]]] = [
        (durable, durable_rounds),
        (default_journal, memory_rounds),
    ]
    for side, _ in sides:
        await timed_round(server, side, min(orders, 2 * concurrency), concurrency)
    for side, rounds in interleaved(pairs, sides):
        rounds.append(await timed_round(server, side, orders, concurrency))
    return durable_rounds, memory_rounds


def _ms(values: Sequence[float]) -> str:
    if not values:
        return "-"
    data = sorted(values)
    p90 = data[min(len(data) - 1, int(0.9 * len(data)))]
    return f"median {statistics.median(data) * 1e3:.2f} ms, p90 {p90 * 1e3:.2f} ms"


def describe_commits(rounds: Sequence[Round], orders: int) -> str:
    """What the group commits of the durable rounds were, all rounds together."""
    ops = [n for r in rounds for n in r.commits.ops]
    if not ops:
        return "no commits seen"
    awaited = [s for r in rounds for s in r.commits.awaited]
    inside = [s for r in rounds for s in r.commits.inside]
    text = (
        f"{len(ops) / len(rounds):,.0f} commits per round ({len(ops) / len(rounds) / orders:.2f} "
        f"per renew), {statistics.mean(ops):.1f} ops each (median {statistics.median(ops):g}, "
        f"max {max(ops)}); awaited {_ms(awaited)}"
    )
    if inside:
        text += f"; in the journal's thread {_ms(inside)}"
    busy = median(sum(r.commits.awaited) / r.wall for r in rounds)
    return text + f"; a commit under way {busy:.0%} of the time"


async def run(
    server: FakeServer,
    durable: Side,
    *,
    key: str,
    label: str,
    target: float,
    orders: int,
    concurrency: int,
    pairs: int,
    latency_ms: float,
    where: str,
) -> Metric:
    """``latency_ms`` is the latency the server was started with."""
    journal_rounds, memory_rounds = await measure(
        server, durable, orders=orders, concurrency=concurrency, pairs=pairs
    )
    walls = [d.wall / m.wall for d, m in zip(journal_rounds, memory_rounds, strict=True)]
    cpus = [d.cpu / m.cpu for d, m in zip(journal_rounds, memory_rounds, strict=True)]
    cpu_journal = median(d.cpu for d in journal_rounds) / orders * 1e6
    cpu_memory = median(m.cpu for m in memory_rounds) / orders * 1e6
    return Metric(
        key=key,
        name=f"journal {label} vs memory, {latency_ms:g} ms: wall time, {orders:,} renews "
        f"@{concurrency}",
        unit="s",
        sdk=median(d.wall for d in journal_rounds),
        baseline=median(m.wall for m in memory_rounds),
        ratio=median(walls),
        target=target,
        note=f"median of {pairs} interleaved pair ratios ({spread(walls)}); {where}; client CPU "
        f"per renew {cpu_journal:.0f} us vs {cpu_memory:.0f} us (ratio {median(cpus):.3f}); "
        + describe_commits(journal_rounds, orders),
    )


# -- memory: one fresh process per run ----------------------------------------------------------


def _peak_rss() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _child_run(
    kind: str, url: str, token: str, ids: range, concurrency: int, directory: str
) -> dict[str, Any]:
    side = sqlite_side(directory) if kind == "sqlite" else default_journal
    # The client's default limits, but for a window whose slice outlasts the run (see above).
    limits = Limits.for_base_url(url, max_hold=RetryPolicy().max_wait, identical_window=TIMELESS)
    async with (
        side() as journal,
        Client(
            token=token,
            base_url=url,
            max_connections=concurrency,
            journal=journal,
            limits=limits,
        ) as client,
    ):
        await warm(client, concurrency)
        gc.collect()
        tracemalloc.start()
        start = time.perf_counter()
        done = await renew_all(client, ids, concurrency)
        seconds = time.perf_counter() - start
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {"done": done, "peak": peak, "held": held, "rss": _peak_rss(), "seconds": seconds}


def _child(argv: list[str]) -> None:
    kind, url, token, first, count, concurrency, directory = argv
    ids = range(int(first), int(first) + int(count))
    result = asyncio.run(_child_run(kind, url, token, ids, int(concurrency), directory))
    print(json.dumps(result))


def memory_run(server: FakeServer, kind: str, count: int, concurrency: int) -> dict[str, Any]:
    """One ``renew_many`` of ``count`` fresh orders in a new process; its memory figures."""
    ids = server.take(count)
    directory, _ = disk_directory()
    argv = [kind, server.url, server.token, str(ids.start), str(count), str(concurrency)]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.journal", *argv, directory],
        capture_output=True,
        text=True,
        timeout=3600,
        env=child_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise BenchmarkError(f"journal memory child {kind} {count} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def memory_orders_needed(*, small: int, large: int) -> int:
    return 2 * (small + large)


def memory(server: FakeServer, *, small: int, large: int, concurrency: int) -> list[Metric]:
    runs = {
        (kind, count): memory_run(server, kind, count, concurrency)
        for kind in ("sqlite", "memory")
        for count in (small, large)
    }
    mb = 1024 * 1024

    def row(kind: str, key: str, name: str, target: float | None, note: str) -> Metric:
        s, b = runs[kind, small], runs[kind, large]
        return Metric(
            key=key,
            name=f"journal memory ({name}): tracemalloc peak, {large:,} / {small:,} orders",
            unit="MB",
            sdk=b["peak"] / mb,
            baseline=s["peak"] / mb,
            ratio=ratio(b["peak"], s["peak"]),
            target=target,
            note=f"{note}; latency 0, @{concurrency}, a fresh process per size; held after the "
            f"run {s['held'] / mb:.2f} -> {b['held'] / mb:.2f} MB; peak RSS {s['rss']:.0f} -> "
            f"{b['rss']:.0f} MB; {s['seconds']:.1f} s and {b['seconds']:.1f} s traced",
        )

    def per_order(kind: str) -> float:
        held: float = runs[kind, large]["held"] - runs[kind, small]["held"]
        return held / (large - small)

    return [
        row("sqlite", "journal_memory_flat", "SQLite", 1.2, "SqliteJournal: flat is 1.0"),
        row(
            "memory",
            "journal_memory_flat_default",
            "default",
            None,
            "MemoryJournal, which keeps every renewed order for the client's lifetime",
        ),
        Metric(
            key="journal_memory_per_order",
            name="journal memory: bytes held per renewed order (default MemoryJournal)",
            unit="B",
            sdk=per_order("memory"),
            baseline=None,
            ratio=None,
            note=f"traced memory held after the run, ({large:,} - {small:,} orders) / "
            f"{large - small:,}, client and journal still open; its history of events (at most "
            f"10,000) included; SqliteJournal: {per_order('sqlite'):.1f} B",
        ),
    ]


if __name__ == "__main__":
    _child(sys.argv[1:])
