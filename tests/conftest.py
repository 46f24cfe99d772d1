"""Shared test setup."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

import aiohttp
import aioresponses.core
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-long",
        action="store_true",
        default=False,
        help="run tests/soak at 50,000 orders with a 10 s maintenance window (about 5 minutes)",
    )


def _make_aioresponses_work_with_aiohttp_3_14() -> None:
    # aiohttp 3.14 (a security release) added a required ``stream_writer`` argument to
    # ClientResponse; aioresponses 0.7.9 does not pass it yet (pnuckowski/aioresponses#289).
    # A response it builds has already been "sent", so only ``output_size`` is read.
    if "stream_writer" not in inspect.signature(aiohttp.ClientResponse.__init__).parameters:
        return
    if aioresponses.core.ClientResponse is not aiohttp.ClientResponse:
        return

    class ClientResponse(aiohttp.ClientResponse):
        def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
            kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
            super().__init__(method, url, **kwargs)

    aioresponses.core.ClientResponse = ClientResponse  # type: ignore[misc]


_make_aioresponses_work_with_aiohttp_3_14()
