"""Pytest plugin: a running fake per test.

Opt in from your root ``conftest.py``::

    pytest_plugins = ["openprovider_ssl.testing.pytest_plugin"]

    async def test_renew(fake_openprovider):
        order_id = fake_openprovider.renewable_ids()[0]
        ...  # call the API at fake_openprovider.url with fake_openprovider.token

Constructor arguments come, later ones winning, from the defaults (50 orders, seed 7), the
``fake_openprovider_options`` fixture (override it for a module), the
``@pytest.mark.fake_openprovider(**kwargs)`` marker, and an indirect parametrisation
(``@pytest.mark.parametrize("fake_openprovider", [{"error_rate": 0.5}], indirect=True)``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from ._fake import FakeOpenprovider

DEFAULTS: dict[str, Any] = {"orders": 50, "seed": 7}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fake_openprovider(**kwargs): FakeOpenprovider constructor arguments for the "
        "fake_openprovider fixture",
    )


@pytest.fixture
def fake_openprovider_options() -> dict[str, Any]:
    """Extra constructor arguments; override this fixture to change them for many tests."""
    return {}


@pytest_asyncio.fixture
async def fake_openprovider(
    request: pytest.FixtureRequest, fake_openprovider_options: dict[str, Any]
) -> AsyncIterator[FakeOpenprovider]:
    """A started :class:`FakeOpenprovider` on 127.0.0.1, closed after the test."""
    options = {**DEFAULTS, **fake_openprovider_options}
    marker = request.node.get_closest_marker("fake_openprovider")
    if marker is not None:
        options.update(marker.kwargs)
    options.update(getattr(request, "param", None) or {})
    async with FakeOpenprovider(**options) as fake:
        yield fake
