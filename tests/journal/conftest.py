"""Soak settings and the secret watch.

The default run is CI-sized (5,000 orders, well under two minutes on two cores). Longer runs:

    SOAK_ORDERS=50000 python -m pytest tests/journal/test_soak.py -s    # any size
    python -m pytest tests/journal/test_soak.py -s --soak-long          # 50,000 orders, longer

``--soak-long`` exists only when the option is registered by a root-level conftest (pytest
reads ``pytest_addoption`` from initial conftests only); ``SOAK_LONG=1`` does the same.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests._support.secret_watch import SecretWatch, watching
from tests._support.threaded_fake import ThreadedFake
from tests.journal._soak import Soak

LONG_ORDERS = 50_000


@pytest.fixture
def soak(request: pytest.FixtureRequest) -> Soak:
    try:
        long = bool(request.config.getoption("--soak-long"))
    except ValueError:  # the option is not registered
        long = False
    long = long or os.environ.get("SOAK_LONG", "") not in ("", "0")
    orders = int(os.environ.get("SOAK_ORDERS", LONG_ORDERS if long else 5_000))
    return Soak(
        orders=orders,
        concurrency=int(os.environ.get("SOAK_CONCURRENCY", "50")),
        maintenance_window=10.0 if long else 3.0,
        long=long,
    )


@pytest.fixture
def watch() -> Iterator[SecretWatch]:
    with watching() as handler:
        yield handler


@pytest.fixture
def serve() -> Iterator[Callable[..., ThreadedFake]]:
    """Start a ``ThreadedFake`` with the given options; it is closed after the test."""
    started: list[ThreadedFake] = []

    def start(**options: Any) -> ThreadedFake:
        started.append(ThreadedFake(**options))
        return started[-1]

    yield start
    for served in started:
        served.close()
