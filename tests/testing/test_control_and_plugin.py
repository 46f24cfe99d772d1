"""The /_fake control endpoints and the opt-in pytest fixture."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from openprovider_ssl.testing import FakeOpenprovider
from tests._support.fake_api import Api

pytestmark = pytest.mark.process


async def test_control_endpoints(api: Api, fake: FakeOpenprovider) -> None:
    control = fake.base_url + "/_fake"
    session = api.session
    order_id = fake.renewable_ids()[0]
    await api("POST", f"/ssl/orders/{order_id}/renew")
    async with session.get(f"{control}/orders/{order_id}") as r:
        assert (await r.json())["renewals"] == 1
    async with session.get(f"{control}/renewable", params={"limit": "3"}) as r:
        data = await r.json()
        assert len(data["ids"]) == 3 and data["total"] == len(fake.renewable_ids())
    async with session.post(f"{control}/faults", json={"error_rate": 2}) as r:
        assert r.status == 400
    async with session.post(f"{control}/faults", json={"latency": 0.001, "rate_limit": 1000}) as r:
        assert (await r.json())["latency"] == 0.001
    assert fake.faults.latency == 0.001 and fake.bucket.rate == 1000
    async with session.post(f"{control}/maintenance", json={"seconds": 60}) as r:
        assert (await r.json())["in_maintenance"] is True
    async with session.post(f"{control}/maintenance", json={"seconds": 0}) as r:
        assert (await r.json())["in_maintenance"] is False
    async with session.post(f"{control}/expire-tokens") as r:
        assert r.status == 200
    assert (await api("GET", "/ssl/products")).code == 196
    async with session.get(f"{control}/stats") as r:
        stats = await r.json()
    assert stats["requests"] == {"RenewOrder": 1, "ListProducts": 1}  # control calls not counted
    assert stats["renewals"] == {str(order_id): 1}
    async with session.post(f"{control}/reset") as r:
        assert r.status == 200
    assert fake.stats.total == 0


async def test_plugin_fixture_defaults(
    fake_openprovider: FakeOpenprovider, session: aiohttp.ClientSession
) -> None:
    assert len(fake_openprovider.orders) == 50 and fake_openprovider.seed == 7
    api = Api(session, fake_openprovider)
    assert (await api("GET", "/ssl/orders/100001")).code == 0


@pytest.mark.fake_openprovider(orders=7, maintenance=True)
async def test_plugin_marker(fake_openprovider: FakeOpenprovider) -> None:
    assert len(fake_openprovider.orders) == 7
    assert fake_openprovider.in_maintenance


@pytest.mark.parametrize("fake_openprovider", [{"orders": 3}, {"orders": 4}], indirect=True)
async def test_plugin_indirect(fake_openprovider: FakeOpenprovider) -> None:
    assert len(fake_openprovider.orders) in (3, 4)


USER_TEST = """
import aiohttp
import pytest


async def test_renew(fake_openprovider):
    order_id = fake_openprovider.renewable_ids()[0]
    headers = {"Authorization": f"Bearer {fake_openprovider.token}"}
    url = f"{fake_openprovider.url}/ssl/orders/{order_id}/renew"
    async with aiohttp.ClientSession() as session, session.post(url, headers=headers) as r:
        assert (await r.json())["code"] == 0
    assert fake_openprovider.stats.renewals[order_id] == 1


@pytest.fixture
def renewable(fake_openprovider):
    return fake_openprovider.renewable_ids()


async def test_through_another_fixture(renewable):
    assert renewable
"""


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_plugin_in_a_new_project(tmp_path: Path, mode: str) -> None:
    """The testing guide's set-up (docs/guides/testing.md), copied into an empty project, in
    either asyncio mode."""
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["openprovider_ssl.testing.pytest_plugin"]\n'
    )
    (tmp_path / "test_user.py").write_text(USER_TEST)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n"
        + (f'asyncio_mode = "{mode}"\n' if mode == "auto" else "")
        + 'asyncio_default_fixture_loop_scope = "function"\nfilterwarnings = ["error"]\n'
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if mode == "auto":
        assert run.returncode == 0, run.stdout + run.stderr
        assert "2 passed" in run.stdout
    else:  # the direct user works, the indirect one is told what to set
        assert "1 passed, 1 error" in run.stdout, run.stdout + run.stderr
        assert 'set asyncio_mode = "auto"' in run.stdout
