"""5. Structuring: µs per order from answer bytes to attrs models, against ``json.loads`` alone.

The answers are real ones from the fake server (``GetOrder`` and a 100-order ``ListOrders``
page); the SDK side is what a call does with them: ``parse_answer`` (which decodes the JSON)
then ``structure`` into ``Order`` / ``OrderPage``.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from openprovider_ssl._protocol import messages as _protocol
from openprovider_ssl.models import Order, OrderPage

from ._server import FIRST_ID, FakeServer
from ._table import Metric, interleaved, median, spread


def _fetch(server: FakeServer, path: str) -> bytes:
    request = urllib.request.Request(
        server.url + path, headers={"Authorization": f"Bearer {server.token}"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body: bytes = response.read()
    return body


def _sdk(body: bytes, cls: type[Any]) -> Callable[[], object]:
    def parse() -> object:
        answer = _protocol.parse_answer(200, {}, body)
        return _protocol.structure(answer, cls, status=200, body=body)

    return parse


def _loads(body: bytes) -> Callable[[], object]:
    def parse() -> object:
        return json.loads(body)

    return parse


def _per_call(fn: Callable[[], object], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - start) / loops


def _compare(
    sdk: Callable[[], object], base: Callable[[], object], loops: int, pairs: int
) -> tuple[float, float, float, str]:
    """Median seconds per call of each side and the median of the per-pair ratios."""
    sdk(), base()  # warm caches (cattrs builds its functions on first use)
    s_times: list[float] = []
    b_times: list[float] = []
    for fn, times in interleaved(pairs, [(sdk, s_times), (base, b_times)]):
        times.append(_per_call(fn, loops))
    ratios = [s / b for s, b in zip(s_times, b_times, strict=True)]
    return median(s_times), median(b_times), median(ratios), spread(ratios)


def run(server: FakeServer, *, loops: int, pairs: int) -> list[Metric]:
    one = _fetch(server, f"/ssl/orders/{FIRST_ID}")
    page = _fetch(server, "/ssl/orders?limit=100&offset=0")
    per_page = len(_protocol.parse_answer(200, {}, page).data["results"])
    metrics = []
    for key, name, body, cls, count, n in (
        ("structure_get", "orders.get answer", one, Order, 1, loops),
        (
            "structure_list",
            f"orders.list answer, {per_page} per page",
            page,
            OrderPage,
            per_page,
            max(1, loops // per_page),
        ),
    ):
        s, b, r, noise = _compare(_sdk(body, cls), _loads(body), n, pairs)
        metrics.append(
            Metric(
                key=key,
                name=f"structuring: {name}, per order",
                unit="us",
                sdk=s / count * 1e6,
                baseline=b / count * 1e6,
                ratio=r,
                note=f"parse_answer + structure vs json.loads alone; {len(body):,} bytes; "
                f"median of {pairs} interleaved pairs ({noise})",
            )
        )
    return metrics
