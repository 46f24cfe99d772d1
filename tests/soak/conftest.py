"""Soak settings and the secret watch.

The default run is CI-sized (5,000 orders, well under two minutes on two cores). Longer runs:

    SOAK_ORDERS=50000 python -m pytest tests/soak -s      # any size
    python -m pytest tests/soak -s --soak-long            # 50,000 orders, a longer window

``--soak-long`` exists only when the option is registered by a root-level conftest (pytest
reads ``pytest_addoption`` from initial conftests only); ``SOAK_LONG=1`` does the same.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import traceback
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import attrs
import pytest

from openprovider_ssl.testing import FakeOpenprovider

LONG_ORDERS = 50_000


@attrs.frozen
class Soak:
    orders: int
    concurrency: int
    maintenance_window: float
    long: bool


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


class SecretWatch(logging.Handler):
    """Everything a user could see during the soak: every log record of every logger at every
    level (with its traceback), and every error an outcome carried (message, repr, notes and
    whole traceback). Searched for the credentials afterwards."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.texts: list[str] = []
        self.records = 0
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        self.texts.append(self.format(record))

    def error(self, error: BaseException) -> None:
        self.errors += 1
        self.texts.append(repr(error))
        self.texts.append("".join(traceback.format_exception(error)))
        self.texts.extend(getattr(error, "__notes__", ()))

    def thing(self, value: object) -> None:
        self.texts.append(f"{value!r} {value}")

    def leaks(self, secrets: list[str]) -> list[str]:
        return [f"{text[:200]!r}" for text in self.texts for s in secrets if s and s in text]


@pytest.fixture
def watch() -> Iterator[SecretWatch]:
    handler = SecretWatch()
    root = logging.getLogger()
    names = ("openprovider_ssl", "aiohttp", "asyncio")
    levels = root.level, [logging.getLogger(name).level for name in names]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        for name, level in zip(names, levels[1], strict=True):
            logging.getLogger(name).setLevel(level)


class ThreadedFake:
    """A ``FakeOpenprovider`` serving from its own thread and event loop, so that the server's
    work interleaves with the client's as it would over a network, and the test's loop holds
    the client's tasks only."""

    def __init__(self, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.fake: FakeOpenprovider = self.run(self._start(options))

    async def _start(self, options: dict[str, Any]) -> FakeOpenprovider:
        return await FakeOpenprovider(**options).start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(60)

    def call(self, function: Callable[[], object]) -> None:
        """Run ``function`` in the fake's thread (to change its state while it serves)."""
        self._loop.call_soon_threadsafe(function)

    def close(self) -> None:
        """Stop serving and end the thread (safe to call twice)."""
        if self._loop.is_closed():
            return
        self.run(self.fake.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


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
