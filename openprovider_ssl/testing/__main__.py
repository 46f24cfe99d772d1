"""``python -m openprovider_ssl.testing``: serve the fake until SIGINT/SIGTERM.

Prints a human line and then one JSON line (``url``, ``base_url``, ``username``, ``password``,
``token``, ...) on stdout, so a parent process can read where to connect (``--json`` prints
only the JSON line). Control endpoints for other processes, outside ``/v1beta``, not counted:
``GET /_fake/stats``, ``GET|POST /_fake/faults``, ``POST /_fake/reset``,
``POST /_fake/reset-blacklist``, ``POST /_fake/expire-tokens``, ``POST /_fake/maintenance``
(``{"seconds": N}``, 0 ends it), ``GET /_fake/orders/{id}``, ``GET /_fake/renewable``.

``--renew-settles-after S`` and ``--refuse-pending-renew`` choose the renew model,
``--renewal-window-days N`` (1 to 90, default 30) how early a renew is accepted,
``--strict-requests`` refuses unknown fields and mismatched ids (stricter than the real API).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence

from ._fake import FakeOpenprovider


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m openprovider_ssl.testing",
        description="Serve a fake Openprovider SSL API (REST v1beta) with faults on demand.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8035, help="0 picks a free port")
    p.add_argument("--orders", type=int, default=1000, help="generated orders")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--expiring-share", type=float, default=0.3, help="renewable share")
    p.add_argument("--username", default="reseller")
    p.add_argument("--password", default="fake-password")
    p.add_argument("--token", action="append", default=[], help="static token (repeatable)")
    p.add_argument("--token-ttl", type=float, default=2 * 24 * 3600.0, help="seconds")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--maintenance", action="store_true", help="start in maintenance")
    p.add_argument("--maintenance-rate", type=float, default=0.0)
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--throttle-rate", type=float, default=0.0)
    p.add_argument("--throttle-retry-after", type=int, default=1)
    p.add_argument("--drop-before-rate", type=float, default=0.0)
    p.add_argument("--drop-after-rate", type=float, default=0.0)
    p.add_argument("--garbage-rate", type=float, default=0.0)
    p.add_argument("--faults-on-login", action="store_true", help="let faults hit login too")
    p.add_argument("--rate-limit", type=float, default=None, help="requests per second")
    p.add_argument("--identical-limit", type=int, default=300)
    p.add_argument("--identical-window", type=float, default=300.0, help="seconds")
    p.add_argument(
        "--renew-settles-after",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="an accepted renew is charged at once, the expiration moves after SECONDS "
        "(0: at once); a second renew meanwhile is charged again",
    )
    p.add_argument(
        "--refuse-pending-renew",
        action="store_true",
        help="refuse (10004) a renew while one of the same order is pending",
    )
    p.add_argument(
        "--renewal-window-days",
        type=int,
        choices=range(1, 91),
        default=30,
        metavar="DAYS",
        help="accept a renew from DAYS days before expiration, 1 to 90 (default 30, as the "
        "guide the fake was built from says; the current public guide says 90)",
    )
    p.add_argument(
        "--strict-requests",
        action="store_true",
        help="refuse unknown fields and a body id other than the path's (the real API "
        "ignores / overwrites them)",
    )
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    return p.parse_args(argv)


def build(args: argparse.Namespace) -> FakeOpenprovider:
    return FakeOpenprovider(
        orders=args.orders,
        seed=args.seed,
        expiring_share=args.expiring_share,
        host=args.host,
        port=args.port,
        username=args.username,
        password=args.password,
        tokens=args.token,
        token_ttl=args.token_ttl,
        identical_limit=args.identical_limit,
        identical_window=args.identical_window,
        rate_limit=args.rate_limit,
        maintenance=args.maintenance,
        maintenance_rate=args.maintenance_rate,
        error_rate=args.error_rate,
        throttle_rate=args.throttle_rate,
        throttle_retry_after=args.throttle_retry_after,
        latency=args.latency_ms / 1000.0,
        latency_jitter=args.jitter_ms / 1000.0,
        drop_before_rate=args.drop_before_rate,
        drop_after_rate=args.drop_after_rate,
        garbage_rate=args.garbage_rate,
        faults_on_login=args.faults_on_login,
        renew_settles_after=args.renew_settles_after,
        refuse_pending_renew=args.refuse_pending_renew,
        renewal_window_days=args.renewal_window_days,
        strict_requests=args.strict_requests,
    )


async def serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Windows has no loop signal handlers; Ctrl+C still ends asyncio.run there.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with build(args) as fake:
        info = fake.describe()
        if not args.json:
            print(
                f"Fake Openprovider serving at {fake.url} (orders={info['orders']}, "
                f"seed={fake.seed}) username={fake.username} password={fake.password} "
                f"token={fake.token}  control: {fake.base_url}/_fake/stats",
                flush=True,
            )
        print(json.dumps(info), flush=True)
        await stop.wait()
    print("fake Openprovider stopped", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
