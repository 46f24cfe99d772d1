"""Control endpoints under ``/_fake`` for users in another process (benchmarks, the demo).

Not part of the API: never counted in stats, never faulted, no token needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from ._fake import FakeOpenprovider


def add_control_routes(app: web.Application, fake: FakeOpenprovider) -> None:
    """GET stats/faults/orders/{id}/renewable, POST faults/reset/maintenance/expire-tokens."""

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(fake.stats.as_dict())

    async def get_faults(request: web.Request) -> web.Response:
        data = fake.faults.as_dict()
        data["in_maintenance"] = fake.in_maintenance
        data["rate_limit"] = fake.bucket.rate
        data["blacklisted"] = sorted(fake.blacklisted)
        return web.json_response(data)

    async def post_faults(request: web.Request) -> web.Response:
        changes: dict[str, Any] = await request.json()
        if "rate_limit" in changes:
            fake.set_rate_limit(changes.pop("rate_limit"), changes.pop("rate_burst", None))
        try:
            fake.faults.update(**changes)
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return await get_faults(request)

    async def post_reset(request: web.Request) -> web.Response:
        fake.reset()
        return web.json_response({"ok": True})

    async def post_reset_blacklist(request: web.Request) -> web.Response:
        fake.reset_blacklist()
        return web.json_response({"ok": True})

    async def post_expire_tokens(request: web.Request) -> web.Response:
        fake.expire_tokens()
        return web.json_response({"ok": True})

    async def post_maintenance(request: web.Request) -> web.Response:
        seconds = float((await request.json()).get("seconds", 0))
        if seconds > 0:
            fake.maintenance_for(seconds)
        else:
            fake.end_maintenance()
        return web.json_response({"in_maintenance": fake.in_maintenance})

    async def get_order(request: web.Request) -> web.Response:
        order = fake.orders.get(int(request.match_info["id"]))
        if order is None:
            return web.json_response({"error": "no such order"}, status=404)
        data = order.as_api()
        data["renewals"] = fake.stats.renewals[order.id]
        data["updates"] = fake.stats.updates[order.id]
        return web.json_response(data)

    async def get_renewable(request: web.Request) -> web.Response:
        ids = fake.renewable_ids()
        limit = int(request.query.get("limit", len(ids)))
        return web.json_response({"ids": ids[:limit], "total": len(ids)})

    app.router.add_get("/_fake/stats", get_stats)
    app.router.add_get("/_fake/faults", get_faults)
    app.router.add_post("/_fake/faults", post_faults)
    app.router.add_post("/_fake/reset", post_reset)
    app.router.add_post("/_fake/reset-blacklist", post_reset_blacklist)
    app.router.add_post("/_fake/expire-tokens", post_expire_tokens)
    app.router.add_post("/_fake/maintenance", post_maintenance)
    app.router.add_get(r"/_fake/orders/{id:\d+}", get_order)
    app.router.add_get("/_fake/renewable", get_renewable)
