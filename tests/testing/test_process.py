"""``python -m openprovider_ssl.testing`` serves, prints where, and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp
import pytest

pytestmark = pytest.mark.process


async def test_entry_point_serves_and_stops(session: aiohttp.ClientSession) -> None:
    args = ["-m", "openprovider_ssl.testing", "--port", "0", "--orders", "50", "--seed", "3"]
    args += ["--latency-ms", "1", "--identical-limit", "50", "--rate-limit", "500"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        human = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        info = json.loads(await proc.stdout.readline())
        assert info["url"] in human and info["token"] in human
        assert info["url"].endswith("/v1beta") and info["orders"] == 50
        headers = {"Authorization": f"Bearer {info['token']}"}
        async with session.get(f"{info['url']}/ssl/orders/100001", headers=headers) as r:
            assert (r.status, (await r.json())["data"]["id"]) == (200, 100001)
        login = {"username": info["username"], "password": info["password"], "ip": "0.0.0.0"}
        async with session.post(f"{info['url']}/auth/login", json=login) as r:
            assert (await r.json())["code"] == 0
        control = info["base_url"] + "/_fake"
        async with session.post(f"{control}/faults", json={"maintenance": True}) as r:
            assert (await r.json())["in_maintenance"] is True
        async with session.post(f"{info['url']}/ssl/orders/100001/cancel", headers=headers) as r:
            assert (r.status, (await r.json())["code"]) == (503, 4005)
        async with session.get(f"{control}/stats") as r:
            stats = await r.json()
        assert stats["requests"] == {"GetOrder": 1, "Login": 1, "CancelOrder": 1}
        assert stats["faults"] == {"maintenance": 1}
    finally:
        if proc.returncode is None:
            proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0, err.decode()
    assert b"stopped" in err
