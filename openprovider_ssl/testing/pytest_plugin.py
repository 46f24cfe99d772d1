"""Pytest plugin: a running fake per test (needs pytest-asyncio).

Opt in from your root ``conftest.py``::

    pytest_plugins = ["openprovider_ssl.testing.pytest_plugin"]

    async def test_renew(fake_openprovider):
        order_id = fake_openprovider.renewable_ids()[0]
        ...  # call the API at fake_openprovider.url with fake_openprovider.token

An ``async def`` test that takes ``fake_openprovider`` as an argument runs under
pytest-asyncio in any ``asyncio_mode``: in strict mode (the default) the plugin marks it
``@pytest.mark.asyncio`` for you. An async test that reaches the fixture only through
another fixture needs ``asyncio_mode = "auto"`` or the marker, and is told so if it has
neither.

Constructor arguments come, later ones winning, from the defaults (50 orders, seed 7), the
``fake_openprovider_options`` fixture (override it for a module), the
``@pytest.mark.fake_openprovider(**kwargs)`` marker, and an indirect parametrisation
(``@pytest.mark.parametrize("fake_openprovider", [{"error_rate": 0.5}], indirect=True)``).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Generator
from typing import Any

import pytest

try:
    import pytest_asyncio
except ImportError as exc:  # pragma: no cover - depends on the user's environment
    raise ImportError(
        "openprovider_ssl.testing.pytest_plugin needs pytest-asyncio: pip install pytest-asyncio"
    ) from exc

from ._fake import FakeOpenprovider

DEFAULTS: dict[str, Any] = {"orders": 50, "seed": 7}
FIXTURE = "fake_openprovider"
_NOT_MARKED = (
    "{name} is an async test using the fake_openprovider fixture but pytest-asyncio does not "
    'run it: set asyncio_mode = "auto" in your pytest configuration, or mark the test '
    "with @pytest.mark.asyncio"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fake_openprovider(**kwargs): FakeOpenprovider constructor arguments for the "
        "fake_openprovider fixture",
    )


def _marked(collector: pytest.Collector, obj: Any) -> bool:
    own = getattr(obj, "pytestmark", [])
    return collector.get_closest_marker("asyncio") is not None or any(
        mark.name == "asyncio" for mark in own
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_pycollect_makeitem(
    collector: pytest.Collector, name: str, obj: Any
) -> Generator[None, None, None]:
    """Mark an async test that takes the fixture as an asyncio test (strict mode's rule)."""
    if (
        inspect.iscoroutinefunction(obj)
        and collector.istestfunction(obj, name)  # type: ignore[attr-defined]
        and FIXTURE in inspect.signature(obj).parameters
        and not _marked(collector, obj)
    ):
        pytest.mark.asyncio(obj)
    yield


@pytest.fixture
def fake_openprovider_options() -> dict[str, Any]:
    """Extra constructor arguments; override this fixture to change them for many tests."""
    return {}


@pytest_asyncio.fixture
async def fake_openprovider(
    request: pytest.FixtureRequest, fake_openprovider_options: dict[str, Any]
) -> AsyncIterator[FakeOpenprovider]:
    """A started :class:`FakeOpenprovider` on 127.0.0.1, closed after the test."""
    test = getattr(request.node, "obj", None)
    if inspect.iscoroutinefunction(test) and request.node.get_closest_marker("asyncio") is None:
        pytest.fail(_NOT_MARKED.format(name=request.node.name), pytrace=False)
    options = {**DEFAULTS, **fake_openprovider_options}
    marker = request.node.get_closest_marker("fake_openprovider")
    if marker is not None:
        options.update(marker.kwargs)
    options.update(getattr(request, "param", None) or {})
    async with FakeOpenprovider(**options) as fake:
        yield fake
