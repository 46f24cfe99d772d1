"""Fixtures for the fake's own tests: a running fake and a thin JSON client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from openprovider_ssl.testing import FakeOpenprovider

# The opt-in plugin, loaded the way a user's conftest would get it (marker + fixture).
from openprovider_ssl.testing.pytest_plugin import (  # noqa: F401
    fake_openprovider,
    fake_openprovider_options,
    pytest_configure,
)
from tests._support.fake_api import Api


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeOpenprovider]:
    async with FakeOpenprovider(orders=300, seed=7) as server:
        yield server


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest_asyncio.fixture
async def api(session: aiohttp.ClientSession, fake: FakeOpenprovider) -> Api:
    return Api(session, fake)
