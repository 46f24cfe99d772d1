"""Control endpoints under ``/_fake`` for users in another process (benchmarks, the demo).

Not part of the API: never counted in stats, never faulted, no token needed. Besides the
:class:`Faults` fields, ``GET|POST /_fake/faults`` shows and sets ``rate_limit``,
``renew_settles_after``, ``refuse_pending_renew`` and ``renewal_window_days`` (1 to 90)
(``strict_requests`` is shown only).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._served import ControlledState


def settings(fake: ControlledState) -> dict[str, Any]:
    """What ``GET /_fake/faults`` shows: the faults, limits and models in force."""
    data = fake.faults.as_dict()
    data["in_maintenance"] = fake.in_maintenance
    data["rate_limit"] = fake.bucket.rate
    data["blacklisted"] = sorted(fake.blacklisted)
    data["renew_settles_after"] = fake.renew_settles_after
    data["refuse_pending_renew"] = fake.refuse_pending_renew
    data["renewal_window_days"] = fake.renewal_window_days
    data["strict_requests"] = fake.strict_requests
    return data


def configure(fake: ControlledState, changes: dict[str, Any]) -> None:
    """``POST /_fake/faults``: Faults fields, the rate limit and the renew model, validated."""
    if "rate_limit" in changes:
        fake.set_rate_limit(changes.pop("rate_limit"), changes.pop("rate_burst", None))
    if "renew_settles_after" in changes:
        fake.renew_settles_after = changes.pop("renew_settles_after")
    if "refuse_pending_renew" in changes:
        fake.refuse_pending_renew = changes.pop("refuse_pending_renew")
    if "renewal_window_days" in changes:
        fake.renewal_window_days = changes.pop("renewal_window_days")
    fake.faults.update(**changes)


def add_control_routes(app: web.Application, fake: ControlledState) -> None:
    """GET stats/faults/orders/{id}/renewable, POST faults/reset/maintenance/expire-tokens."""

    async def get_stats(request: web.Request) -> web.Response:
        data = fake.stats.as_dict()
        data["renewals_pending"] = {str(k): v for k, v in fake.pending_renewals().items()}
        return web.json_response(data)

    async def get_faults(request: web.Request) -> web.Response:
        return web.json_response(settings(fake))

    async def post_faults(request: web.Request) -> web.Response:
        try:
            configure(fake, await request.json())
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
        data["renewals_pending"] = fake.renewals.pending[order.id]
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
