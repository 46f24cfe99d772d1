"""How fast is the fake next to a bare aiohttp handler? (a script, not a test)

    python tests/testing/speed.py [--requests 5000] [--concurrency 50] [--orders 10000]

Each server runs in its own process (so the client does not steal its CPU) and answers
``GET /v1beta/ssl/orders/{id}``: the bare one a fixed JSON body, the fake the real order with
auth, limits, checks and counters. The client is a plain aiohttp session over loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

import aiohttp
from aiohttp import web

BARE_BODY = json.dumps({"code": 0, "data": {"id": 100001}, "desc": "", "maintenance": False})


async def serve_bare() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=BARE_BODY.encode(), content_type="application/json")

    app = web.Application()
    app.router.add_get("/v1beta/ssl/orders/{id}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}/v1beta", "token": "x"}), flush=True)
    await asyncio.Event().wait()


def start(kind: str, orders: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    if kind == "bare":
        cmd = [sys.executable, __file__, "--serve-bare"]
    else:
        cmd = [sys.executable, "-m", "openprovider_ssl.testing", "--port", "0"]
        cmd += ["--orders", str(orders), "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    info: dict[str, str] = json.loads(proc.stdout.readline())
    return proc, info


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process (Linux /proc), robust to other load on the machine."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def hammer(info: dict[str, str], total: int, concurrency: int) -> float:
    headers = {"Authorization": f"Bearer {info['token']}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    ids = iter(range(concurrency * 4))
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            for i in ids:
                async with session.get(f"{info['url']}/ssl/orders/{100001 + i % 1000}") as r:
                    await r.read()
                    assert r.status == 200, r.status

        await asyncio.gather(*(worker() for _ in range(concurrency)))  # warm-up: open connections
        ids = iter(range(total))
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--orders", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve-bare", action="store_true")
    args = parser.parse_args()
    if args.serve_bare:
        asyncio.run(serve_bare())
        return
    best: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for kind in ("bare", "fake") * args.rounds:
        proc, info = start(kind, args.orders)
        try:
            before = cpu_seconds(proc.pid)
            rps = asyncio.run(hammer(info, args.requests, args.concurrency))
            per_request = (cpu_seconds(proc.pid) - before) / args.requests
        finally:
            proc.terminate()
            proc.wait()
        best[kind] = max(best.get(kind, 0.0), rps)
        cpu[kind] = min(cpu.get(kind, float("inf")), per_request)
        print(f"{kind}: {rps:,.0f} req/s wall, server CPU {per_request * 1e6:,.0f} us/request")
    print(f"wall throughput fake/bare = {best['fake'] / best['bare']:.2f} (best runs)")
    print(
        f"server capacity fake/bare = {cpu['bare'] / cpu['fake']:.2f} "
        f"({1 / cpu['fake']:,.0f} vs {1 / cpu['bare']:,.0f} req/s per core)"
    )


if __name__ == "__main__":
    main()
