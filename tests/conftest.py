"""Shared test setup: the plugins below, the ``--soak-long`` option, and aioresponses made to
work with the aiohttp of the day.

Tests that need a server (Redis for the shared limits, PostgreSQL for the PostgreSQL journal)
skip, saying why, where none can be found or started. Every run's summary then says how many
were skipped for want of which server and how to run them; under CI (the environment variable
``CI`` set, as ``.ci/run`` is run) such a skip is an error instead, so CI never skips them
(``tests/_support/server_skips.py``).

Fixtures shared across folders live in named modules loaded here as plugins: the mocked API and
clients wired to virtual time (``tests/_support/mocked_api.py``) and a real Redis
(``tests/_support/redis_server.py``). Fixtures of one folder live in that folder's conftest.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

import aiohttp
import aioresponses.core
import pytest

pytest_plugins = [
    "tests._support.server_skips",
    "tests._support.mocked_api",
    "tests._support.redis_server",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-long",
        action="store_true",
        default=False,
        help="run the soak test (tests/journal/test_soak.py) at 50,000 orders with a 10 s "
        "maintenance window (about 5 minutes)",
    )


def _make_aioresponses_work_with_aiohttp_3_14() -> None:
    # aiohttp 3.14 (a security release) added a required ``stream_writer`` argument to
    # ClientResponse; aioresponses 0.7.9 does not pass it yet (pnuckowski/aioresponses#289).
    # A response it builds has already been "sent", so only ``output_size`` is read.
    if "stream_writer" not in inspect.signature(aiohttp.ClientResponse.__init__).parameters:
        return
    core: Any = aioresponses.core  # (its names are not re-exported for type checkers)
    if core.ClientResponse is not aiohttp.ClientResponse:
        return

    class ClientResponse(aiohttp.ClientResponse):
        def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
            kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
            super().__init__(method, url, **kwargs)

    core.ClientResponse = ClientResponse


_make_aioresponses_work_with_aiohttp_3_14()
