"""A faithful in-memory fake of the Openprovider SSL API (REST v1beta), for tests and benchmarks.

Stateful like moto, with faults on demand: maintenance windows, injected 503/429, dropped
connections (before or after the change is applied), garbage bodies, latency, and the real
limits (identical-call blacklist, login limits, an overall rate limit). Self-contained: it does
not import the client package, only the standard library, aiohttp and attrs.

    async with FakeOpenprovider(orders=1000, seed=7, latency=0.02) as fake:
        ...  # point a client at fake.url with fake.token; assert on fake.stats / fake.orders

Run it as a process with ``python -m openprovider_ssl.testing --port 8035``; opt into the
pytest fixture with ``pytest_plugins = ["openprovider_ssl.testing.pytest_plugin"]``.
"""

from __future__ import annotations

from ._errors import ERRORS, ApiError
from ._fake import FakeOpenprovider
from ._faults import FakeStats, Faults
from ._spec import WRITE_OPERATIONS, response_problems
from ._state import STATUSES, Order

__all__ = [
    "ERRORS",
    "STATUSES",
    "WRITE_OPERATIONS",
    "ApiError",
    "FakeOpenprovider",
    "FakeStats",
    "Faults",
    "Order",
    "response_problems",
]
