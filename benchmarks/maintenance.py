"""4. Maintenance: a window of maintenance in the middle of a bulk renew.

When half the outcomes are in, the server is put in maintenance for ``window`` seconds. Counted:
requests the client *sent* inside the window (send times from an aiohttp trace, so requests
already in flight when it opened do not count), and of those the ones sent once the client
had noticed (its shared maintenance pause began); what the server received in the window; and
the run's wall time minus the window against an interleaved run without maintenance. The
client runs with its defaults.
"""

from __future__ import annotations

import asyncio
import gc
import time

import attrs

from openprovider_ssl import Client

from ._raw import stamped_session
from ._server import FakeServer, request_count
from ._table import Metric, interleaved, median, spread


class _Window:
    """Maintenance on, ``seconds`` later off; what was sent and received in between."""

    def __init__(self, server: FakeServer, client: Client, seconds: float) -> None:
        self.server = server
        self.client = client
        self.seconds = seconds
        self.opened = self.closed = 0.0
        self.paused: float | None = None
        self.received = 0

    async def __call__(self) -> None:
        count = request_count(await self.server.astats())
        # Timed in the thread, right as the server answers: the event loop may be too busy
        # with answers to notice the thread's result at once.
        self.opened = await asyncio.to_thread(self._switch, on=True)
        watch = asyncio.create_task(self._watch())
        await asyncio.sleep(self.seconds)
        watch.cancel()
        self.closed = time.perf_counter()
        await asyncio.to_thread(self._switch, on=False)
        self.received = request_count(await self.server.astats()) - count

    def _switch(self, *, on: bool) -> float:
        self.server.faults(maintenance=on)
        return time.perf_counter()

    async def _watch(self) -> None:
        # When the client noticed: its shared maintenance pause began (polled: the client
        # has no event to wait on, and this runs only during the window).
        while not self.client.limits.paused:  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        self.paused = time.perf_counter()

    def sent(self, times: list[float]) -> tuple[int, int, float]:
        """(sent in the window, sent once the client had paused, seconds it was paused)."""
        since = self.closed if self.paused is None else self.paused
        in_window = sum(1 for t in times if self.opened <= t < self.closed)
        after_pause = sum(1 for t in times if since <= t < self.closed)
        return in_window, after_pause, self.closed - since


async def _one(
    server: FakeServer,
    client: Client,
    sent: list[float],
    *,
    orders: int,
    concurrency: int,
    window: float | None,
) -> tuple[float, _Window | None]:
    ids = server.take(orders)
    sent.clear()
    maintenance = None if window is None else _Window(server, client, window)
    task: asyncio.Task[None] | None = None
    done = failed = 0
    gc.collect()
    start = time.perf_counter()
    async with client.orders.renew_many(ids, concurrency=concurrency) as bulk_run:
        async for outcome in bulk_run:
            done += 1
            if not outcome.ok:
                failed += 1
            if maintenance is not None and done == orders // 2:
                task = asyncio.create_task(maintenance())
    elapsed = time.perf_counter() - start
    if task is not None:
        await task
    if done != orders or failed:
        raise RuntimeError(f"maintenance run: {done} outcomes, {failed} failed")
    return elapsed, maintenance


#: Runs with a window per pair, at most: a window that opens after the client has sent its last
#: request measures nothing and is run again.
ATTEMPTS = 3


def orders_needed(*, orders: int, pairs: int) -> int:
    return min(orders, 500) + (1 + ATTEMPTS) * pairs * orders


@attrs.define
class Runs:
    plain: list[float] = attrs.Factory(list)
    paused: list[float] = attrs.Factory(list)
    sent_in_window: list[int] = attrs.Factory(list)
    sent_per_second_paused: list[float] = attrs.Factory(list)
    reaction: list[float] = attrs.Factory(list)
    received: list[int] = attrs.Factory(list)
    missed: int = 0


async def measure(
    server: FakeServer, *, orders: int, concurrency: int, window: float, pairs: int
) -> Runs:
    """``pairs`` interleaved runs without and with a maintenance window."""
    sent: list[float] = []
    runs = Runs()
    async with (
        stamped_session(concurrency, on_request_headers_sent=sent) as session,
        Client(token=server.token, base_url=server.url, session=session) as client,
    ):
        warm_up = min(orders, 500)
        await _one(server, client, sent, orders=warm_up, concurrency=concurrency, window=None)
        for with_window in interleaved(pairs, (False, True)):
            if not with_window:
                elapsed, _ = await _one(
                    server, client, sent, orders=orders, concurrency=concurrency, window=None
                )
                runs.plain.append(elapsed)
                continue
            elapsed, w = await _with_window(
                server, client, sent, runs, orders=orders, concurrency=concurrency, window=window
            )
            in_window, after_pause, paused_for = w.sent(sent)
            runs.paused.append(elapsed)
            runs.sent_in_window.append(in_window)
            runs.sent_per_second_paused.append(after_pause / paused_for)
            runs.reaction.append((w.paused or w.closed) - w.opened)
            runs.received.append(w.received)
    return runs


async def _with_window(
    server: FakeServer,
    client: Client,
    sent: list[float],
    runs: Runs,
    *,
    orders: int,
    concurrency: int,
    window: float,
) -> tuple[float, _Window]:
    """A run the window caught: the client paused for it (on a busy machine the rest of a
    small run can be answered before the server has switched to maintenance)."""
    for _ in range(ATTEMPTS):
        elapsed, w = await _one(
            server, client, sent, orders=orders, concurrency=concurrency, window=window
        )
        assert w is not None
        if w.paused is not None:
            return elapsed, w
        runs.missed += 1
    raise RuntimeError(
        f"the client never met the maintenance window in {ATTEMPTS} runs of {orders} orders: "
        "it had sent every request before the window opened; run more orders"
    )


async def run(
    server: FakeServer, *, orders: int, concurrency: int, window: float, pairs: int
) -> list[Metric]:
    runs = await measure(server, orders=orders, concurrency=concurrency, window=window, pairs=pairs)
    extra = [(p - window) / q for p, q in zip(runs.paused, runs.plain, strict=True)]
    what = f"{window:g}-s window in {orders:,} renews @{concurrency}"
    per_second = median(runs.sent_per_second_paused)
    return [
        Metric(
            key="maintenance_sent_per_second",
            name=f"maintenance: requests/s sent while paused ({what})",
            unit="/s",
            sdk=per_second,
            baseline=None,
            ratio=per_second,
            target=3.0,
            note=f"median of {pairs}; from the client's pause (median "
            f"{median(runs.reaction) * 1000:.0f} ms after the window opened) to the window's end"
            + (f"; {runs.missed} run(s) the window missed were run again" if runs.missed else ""),
        ),
        Metric(
            key="maintenance_sent_in_window",
            name="maintenance: requests sent in the whole window",
            unit="req",
            sdk=median(runs.sent_in_window),
            baseline=None,
            ratio=None,
            note=f"all runs: {sorted(runs.sent_in_window)}; includes those sent before the "
            "first maintenance answer came back",
        ),
        Metric(
            key="maintenance_received",
            name="maintenance: requests the server received in the window",
            unit="req",
            sdk=median(runs.received),
            baseline=None,
            ratio=None,
            note="includes the requests already in flight when it opened",
        ),
        Metric(
            key="maintenance_wall",
            name="maintenance: (wall time - window) / wall time without",
            unit="s",
            sdk=median(runs.paused) - window,
            baseline=median(runs.plain),
            ratio=median(extra),
            note=f"median of {pairs} interleaved pairs ({spread(extra)}); ideal 1.0",
        ),
    ]
