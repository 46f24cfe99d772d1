"""A real Redis for the shared-limits tests.

``OPENPROVIDER_TEST_REDIS_URL`` (set by ``.ci/redis.sh``) names one; without it, a
``redis-server`` found on PATH is started on a free loopback port for the session; without
either, the tests that need Redis are skipped, saying how to get one.

A plugin of ``tests/conftest.py``: the limits tests (``tests/limits/redis``) and the command
line's ``--redis`` tests use it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from openprovider_ssl.limits._front import Limits
from openprovider_ssl.limits._redis.backend import RedisLimits

ENV = "OPENPROVIDER_TEST_REDIS_URL"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ping(url: str, wait: float) -> Exception | None:
    redis = pytest.importorskip("redis")
    deadline = time.monotonic() + wait
    while True:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            client.ping()
        except redis.RedisError as exc:
            if time.monotonic() >= deadline:
                problem: Exception = exc
                return problem
        else:
            return None
        finally:
            client.close()
        time.sleep(0.05)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses ``redis_url`` (directly or through another fixture) is marked
    ``redis``: ``-m "not redis"`` leaves them out."""
    for item in items:
        if "redis_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.redis)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    pytest.importorskip("redis.asyncio", reason="the redis package is not installed")
    url = os.environ.get(ENV)
    if url:
        problem = _ping(url, 5.0)
        if problem is not None:
            pytest.fail(f"{ENV}={url} does not answer: {problem}")
        yield url
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip(
            f"no Redis: set {ENV}=redis://host:port/db, or install redis-server "
            "(apt-get install redis-server), to run the shared-limits tests"
        )
    port = _free_port()
    with tempfile.TemporaryDirectory() as workdir:
        process = subprocess.Popen(
            [
                server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"redis://127.0.0.1:{port}/0"
            problem = _ping(url, 10.0)
            if problem is not None:
                pytest.fail(f"redis-server on port {port} did not start: {problem}")
            yield url
        finally:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def prefix() -> str:
    """A prefix of its own for each test, so that tests never see each other's keys."""
    return f"opssl-test-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def make_limits(redis_url: str, prefix: str) -> AsyncIterator[Callable[..., Limits]]:
    """``make_limits(**options)``: a ``Limits`` on a ``RedisLimits`` of its own (its own
    connection pool, as in another process) under the test's prefix. All are closed and the
    prefix emptied afterwards."""
    made: list[RedisLimits] = []

    def make(*, url: str | None = None, on_unavailable: str = "fail", **options: Any) -> Limits:
        backend = RedisLimits(
            url or redis_url,
            prefix=prefix,
            on_unavailable=on_unavailable,  # type: ignore[arg-type]
            timeout=1.0,
            retry_interval=0.5,
        )
        made.append(backend)
        return Limits(backend=backend, **options)

    yield make
    for backend in made:
        await backend.aclose()
    cleaner = RedisLimits(redis_url, prefix=prefix)
    await cleaner.clear()
    await cleaner.aclose()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Any]:
    """A plain async Redis client, to look at what the limits stored."""
    redis_asyncio = pytest.importorskip("redis.asyncio")
    client = redis_asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()
