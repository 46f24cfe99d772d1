"""2. Rate accuracy: renews through a client limited to ``R`` per second, 100 workers pushing.

Achieved rate is calls / wall time. The busiest second is read twice: from the server's
per-epoch-second counters (what Openprovider would count) and, stricter, as the most requests
in any sliding one-second window ``[t, t + 1)`` of the times requests left the client's limiter
(aiohttp's ``on_request_start``). The busiest sliding window of the times their headers were
written is given in the note: the client's own event loop adds a few milliseconds of jitter
between the two, which the limiter allows for with its margin on arrival times.
"""

from __future__ import annotations

import bisect
import gc
import time

from openprovider_ssl import Client
from openprovider_ssl.limits._front import Limits

from ._raw import run_pool, stamped_session
from ._server import FakeServer, per_second
from ._table import Metric, ratio


def busiest_window(times: list[float], width: float = 1.0) -> int:
    """Most events in any half-open window ``[t, t + width)``; ``times`` sorted."""
    best = 0
    for i, t in enumerate(times):
        best = max(best, bisect.bisect_left(times, t + width, lo=i) - i)
    return best


async def measure(
    server: FakeServer, *, rate: float, calls: int, concurrency: int
) -> tuple[float, int, int, int]:
    """(achieved calls/s, busiest server second, busiest sliding second as released by the
    limiter, the same as written to the socket)."""
    released: list[float] = []
    written: list[float] = []
    ids = server.take(calls)
    before = per_second(server.stats())
    async with (
        stamped_session(
            concurrency, on_request_start=released, on_request_headers_sent=written
        ) as session,
        Client(
            token=server.token,
            base_url=server.url,
            session=session,
            limits=Limits(rate=rate),
        ) as client,
    ):
        gc.collect()
        start = time.perf_counter()
        done = await run_pool(ids, concurrency, client.orders.renew)
        elapsed = time.perf_counter() - start
    assert done == calls
    after = per_second(server.stats())
    counts = [n - before.get(second, 0) for second, n in after.items()]
    return (
        calls / elapsed,
        max(counts, default=0),
        busiest_window(sorted(released)),
        busiest_window(sorted(written)),
    )


async def run(server: FakeServer, *, rate: float, calls: int, concurrency: int) -> list[Metric]:
    achieved, server_max, sliding_max, written_max = await measure(
        server, rate=rate, calls=calls, concurrency=concurrency
    )
    what = f"{calls:,} renews limited to {rate:g}/s"
    return [
        Metric(
            key=f"rate_{rate:g}_achieved",
            name=f"rate {rate:g}/s: achieved rate ({what})",
            unit="/s",
            sdk=achieved,
            baseline=rate,
            ratio=ratio(achieved, rate),
            target=0.98,
            goal="min",
            note="calls / wall time; baseline is R",
        ),
        Metric(
            key=f"rate_{rate:g}_max_second",
            name=f"rate {rate:g}/s: busiest second at the server",
            unit="req",
            sdk=server_max,
            baseline=rate,
            ratio=ratio(server_max, rate),
            target=1.0,
            note="server counters per epoch second",
        ),
        Metric(
            key=f"rate_{rate:g}_max_sliding",
            name=f"rate {rate:g}/s: busiest sliding 1-s window",
            unit="req",
            sdk=sliding_max,
            baseline=rate,
            ratio=ratio(sliding_max, rate),
            target=1.0,
            note="limiter release times, any window [t, t+1s); as written to the socket: "
            f"{written_max}",
        ),
    ]
