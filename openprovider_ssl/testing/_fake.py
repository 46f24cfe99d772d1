"""``FakeOpenprovider``: the stateful fake server, its knobs, and the helpers tests lean on."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from aiohttp import web

from ._app import Dispatcher
from ._catalog import PRODUCTS_BY_ID
from ._control import add_control_routes
from ._faults import FakeStats, Faults
from ._generate import HANDLES, generate_orders
from ._published_limits import IdenticalBudget, LoginGuard, TokenBucket, TokenStore
from ._renewals import Renewals
from ._state import Order, OrderStore, checked_window

TWO_DAYS = 2 * 24 * 3600.0


class FakeOpenprovider:
    """An in-memory Openprovider SSL API (REST v1beta) on aiohttp.web, with faults on demand.

    ``async with FakeOpenprovider(orders=1000, seed=7) as fake:`` serves on 127.0.0.1 at a free
    port; point a client at ``fake.url`` with ``fake.token`` or ``fake.username`` and
    ``fake.password``. State (``fake.orders``), faults (``fake.faults``) and counters
    (``fake.stats``) are plain objects a test reads and changes while the server runs.

    The fault keywords (``maintenance`` ... ``faults_on_login``) fill a :class:`Faults`; pass
    ``faults=`` instead to share one. Limits: ``identical_limit`` calls per
    ``identical_window`` seconds per IP (then 10005 until :meth:`reset_blacklist`),
    ``rate_limit`` requests per second overall (None = off), ``login_*`` token generation and
    ``failed_login_*`` limits as published. ``token_ttl`` is in seconds; ``tokens`` are static
    tokens that never expire. ``shutdown_timeout`` bounds how long :meth:`close` waits for
    requests still running.

    Requests are read as the real API is modelled to read them (a grpc-gateway over proto3:
    unknown fields ignored, a body ``id`` replaced by the path's, zero values the same as not
    sent; BEHAVIOUR.md, "How requests are read"). ``strict_requests=True`` is stricter than
    the real API, to catch a client's own mistakes: unknown fields and query parameters, and
    a body ``id`` other than the path's, are refused with 399.

    Renew models (BEHAVIOUR.md, "Renew"): ``renew_settles_after=0`` (immediate) moves the
    expiration at once; ``S > 0`` charges at once (``stats.renewals``) but moves the
    expiration only ``S`` seconds of :meth:`clock` later, and a second renew meanwhile is
    charged again, unless ``refuse_pending_renew=True`` (then 10004, nothing charged). Both
    are attributes a test may change while the fake runs.

    The renew window: a renew is accepted (and ``show_expiring`` lists the order) from
    ``renewal_window_days`` days before expiration, 1 to 90. The default, 30, is what the
    guide this fake was built from says (BEHAVIOUR.md, "Renew"); the current public version of
    that guide says 90, so ``renewal_window_days=90`` models it. Generated orders do not depend
    on it: the ``expiring_share`` expire within 29 days, the other ACT ones in 31 days or more
    (so a wider window makes more of them renewable).

    Modelled, not documented by Openprovider: the required fields (``_spec.REQUIRED``), the
    CSR key sizes (2048, 3072, 4096), the product catalogue and its periods, the validation
    methods, the list bounds (``limit`` 1 to 1000), the overall rate limit (429/4007), the
    maintenance refusal (4005) and the 404/399 for paths the fake does not serve (the auth
    file's spam-expert ``GenerateLoginURL`` among them).
    """

    def __init__(
        self,
        *,
        orders: int = 100,
        seed: int = 0,
        expiring_share: float = 0.3,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "reseller",
        password: str = "fake-password",
        reseller_id: int = 123456,
        tokens: Iterable[str] = (),
        token_ttl: float = TWO_DAYS,
        identical_limit: int = 300,
        identical_window: float = 300.0,
        rate_limit: float | None = None,
        rate_burst: float | None = None,
        login_limit: int = 30,
        login_window: float = 60.0,
        login_block: float = 60.0,
        failed_login_limit: int = 100,
        failed_login_window: float = 3600.0,
        failed_login_block: float = 1200.0,
        faults: Faults | None = None,
        maintenance: bool = False,
        maintenance_rate: float = 0.0,
        error_rate: float = 0.0,
        throttle_rate: float = 0.0,
        throttle_retry_after: int = 1,
        latency: float = 0.0,
        latency_jitter: float = 0.0,
        drop_before_rate: float = 0.0,
        drop_after_rate: float = 0.0,
        garbage_rate: float = 0.0,
        faults_on_login: bool = False,
        renew_settles_after: float = 0.0,
        refuse_pending_renew: bool = False,
        renewal_window_days: int = 30,
        strict_requests: bool = False,
        shutdown_timeout: float = 1.0,
    ) -> None:
        if not 0.0 <= expiring_share <= 1.0:
            raise ValueError("expiring_share must be between 0 and 1")
        self.seed = seed
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.reseller_id = reseller_id
        self.strict_requests = strict_requests
        self.faults = faults or Faults(
            maintenance=maintenance,
            maintenance_rate=maintenance_rate,
            error_rate=error_rate,
            throttle_rate=throttle_rate,
            throttle_retry_after=throttle_retry_after,
            latency=latency,
            latency_jitter=latency_jitter,
            drop_before_rate=drop_before_rate,
            drop_after_rate=drop_after_rate,
            garbage_rate=garbage_rate,
            on_login=faults_on_login,
        )
        self.stats = FakeStats()
        self.rng = random.Random(f"faults/{seed}")
        self.jitter_rng = random.Random(f"jitter/{seed}")
        self.otp_serial = 0
        self._offset = 0.0
        self._maintenance_until = 0.0
        self.store = OrderStore(self.now, renew_window=checked_window(renewal_window_days))
        for order in generate_orders(orders, seed, self.now(), expiring_share):
            self.store.orders[order.id] = order
        self.store.next_id = 100_001 + orders
        self.renewals = Renewals(self.store, renew_settles_after, refuse_pending_renew)
        self.identical = IdenticalBudget(identical_limit, identical_window)
        self.bucket = TokenBucket(rate_limit, rate_burst)
        self.login_guard = LoginGuard(
            token_limit=login_limit,
            token_window=login_window,
            token_block=login_block,
            failed_limit=failed_login_limit,
            failed_window=failed_login_window,
            failed_block=failed_login_block,
        )
        self.tokens = TokenStore(token_ttl, tuple(tokens))
        self.token = self.tokens.issue(self.clock())
        self.app = self.make_app()
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None

    def __repr__(self) -> str:
        state = "serving" if self._runner is not None else "stopped"
        return f"<FakeOpenprovider {self.url} {state} orders={len(self.store.orders)}>"

    # -- serving ---------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application (also usable with ``aiohttp_client`` from pytest-aiohttp)."""
        app = web.Application()
        add_control_routes(app, self)
        app.router.add_route("*", "/{tail:.*}", Dispatcher(self).handle)
        return app

    async def start(self) -> FakeOpenprovider:
        """Bind and serve; ``port=0`` picks a free port, readable afterwards in ``port``."""
        if self._runner is not None:
            return self
        runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            # A client hanging up does not cancel its request: the server finishes its work.
            handler_cancellation=False,
            shutdown_timeout=self._shutdown_timeout,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = runner.addresses[0][1]
        self._runner = runner
        return self

    async def close(self) -> None:
        """Stop serving and close every connection; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeOpenprovider:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """``http://host:port`` (the control endpoints live under ``/_fake``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The API base URL, ``http://host:port/v1beta``."""
        return f"{self.base_url}/v1beta"

    # -- time --------------------------------------------------------------------------------

    def clock(self) -> float:
        """The fake's wall clock in epoch seconds: real time plus :meth:`advance_time`."""
        return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def advance_time(self, seconds: float) -> None:
        """Pretend ``seconds`` passed: orders age, tokens expire, windows and blocks slide,
        pending renewals settle."""
        self._offset += seconds
        self.settle_renewals()

    # -- renew models --------------------------------------------------------------------------

    @property
    def renew_settles_after(self) -> float:
        """Seconds (of :meth:`clock`) before an accepted renew moves the expiration; 0 = at once."""
        return self.renewals.settles_after

    @renew_settles_after.setter
    def renew_settles_after(self, seconds: float) -> None:
        self.renewals.settles_after = seconds

    @property
    def refuse_pending_renew(self) -> bool:
        """True: a renew while another of the same order is pending is refused (10004)."""
        return self.renewals.refuse_pending

    @refuse_pending_renew.setter
    def refuse_pending_renew(self, refuse: bool) -> None:
        self.renewals.refuse_pending = bool(refuse)

    @property
    def renewal_window_days(self) -> int:
        """Days before expiration from which a renew is accepted, 1 to 90 (default 30); a
        test may change it while the fake runs."""
        return self.store.renew_window.days

    @renewal_window_days.setter
    def renewal_window_days(self, days: int) -> None:
        self.store.renew_window = checked_window(days)

    def settle_renewals(self) -> int:
        """Apply the pending renewals that are due; returns how many. Requests, lists,
        :attr:`orders`, :meth:`order`, :meth:`renewable_ids` and :meth:`advance_time` do it."""
        return self.renewals.settle(self.clock())

    def pending_renewals(self) -> dict[int, int]:
        """Order id -> renewals charged but not settled yet (empty under the immediate model)."""
        self.settle_renewals()
        return dict(self.renewals.pending)

    # -- faults and limits ---------------------------------------------------------------------

    @property
    def in_maintenance(self) -> bool:
        """True while ``faults.maintenance`` is set or a :meth:`maintenance_for` window runs."""
        return self.faults.maintenance or self.clock() < self._maintenance_until

    def maintenance_for(self, seconds: float) -> None:
        """Start a maintenance window now that ends by itself after ``seconds``."""
        self._maintenance_until = self.clock() + seconds

    def end_maintenance(self) -> None:
        """End any maintenance at once (the flag and a running window)."""
        self.faults.maintenance = False
        self._maintenance_until = 0.0

    @property
    def blacklisted(self) -> frozenset[str]:
        """Client IPs refused with 10005."""
        return frozenset(self.identical.blacklist)

    def reset_blacklist(self) -> None:
        """Lift the identical-call blacklist and forget identical-call counts."""
        self.identical.reset()

    def set_rate_limit(self, rate: float | None, burst: float | None = None) -> None:
        """Change (or with None, remove) the overall requests-per-second limit."""
        self.bucket.configure(rate, burst)

    def reset_login_limits(self) -> None:
        self.login_guard.reset()

    def expire_tokens(self) -> None:
        """Invalidate every issued token, ``fake.token`` included (constructor ones stay)."""
        self.tokens.expire_all()

    def issue_token(self, ip: str | None = None) -> str:
        """A fresh bearer token, as a login would give (bound to ``ip`` if given)."""
        return self.tokens.issue(self.clock(), ip)

    def reset(self) -> None:
        """Counters to zero, blacklist and login blocks lifted; orders and faults stay."""
        self.stats.reset()
        self.reset_blacklist()
        self.reset_login_limits()

    # -- orders --------------------------------------------------------------------------------

    @property
    def orders(self) -> dict[int, Order]:
        """Every order by id (live objects: reading them is how tests check what happened)."""
        self.settle_renewals()
        return self.store.orders

    def order(self, order_id: int) -> Order:
        """The order with ``order_id``; KeyError if there is none."""
        self.settle_renewals()
        return self.store.orders[order_id]

    def renewable_ids(self) -> list[int]:
        """Ids of orders a renew would accept right now (ACT, expiring within the renew
        window, ``renewal_window_days``, and under the refusing model no renewal pending), in
        the order they were added."""
        self.settle_renewals()
        now, accepts = self.now(), self.renewals.accepts
        return [o.id for o in self.store.orders.values() if accepts(o, now)]

    def order_ids(self, *statuses: str) -> list[int]:
        """Ids of orders in any of ``statuses`` (all ids if none given)."""
        self.settle_renewals()
        wanted = set(statuses)
        return [o.id for o in self.store.orders.values() if not wanted or o.status in wanted]

    def add_order(
        self,
        status: str = "ACT",
        *,
        product_id: int = 1,
        common_name: str | None = None,
        period: int = 1,
        expires_in_days: float | None = None,
        **fields: Any,
    ) -> Order:
        """Add one order; the next free id unless ``id=`` is given. Returns the live order.

        ``expires_in_days`` sets the expiration date relative to now (default: 180 days for
        ACT, -10 for EXP, none otherwise); any other orderSslOrder-named field of
        :class:`Order` may be passed as a keyword.
        """
        if product_id not in PRODUCTS_BY_ID:
            raise ValueError(f"unknown product {product_id}")
        now = self.now().replace(microsecond=0)
        order_id = fields.pop("id", self.store.next_id)
        if expires_in_days is None:
            expires_in_days = {"ACT": 180.0, "EXP": -10.0}.get(status)
        expiration = fields.pop("expiration_date", None)
        if expiration is None and expires_in_days is not None:
            expiration = now + timedelta(days=expires_in_days)
        order_date = fields.pop("order_date", now - timedelta(days=30))
        issued = status in ("ACT", "EXP") or expiration is not None
        fields.setdefault("active_date", order_date + timedelta(days=1) if issued else None)
        fields.setdefault("organization_handle", HANDLES[0])
        fields.setdefault("technical_handle", HANDLES[0])
        order = Order(
            id=order_id,
            product_id=product_id,
            status=status,
            common_name=common_name or f"order-{order_id}.example.com",
            period=period,
            order_date=order_date,
            expiration_date=expiration,
            **fields,
        )
        return self.store.add(order)

    def describe(self) -> dict[str, Any]:
        """URL and credentials, as the CLI prints them."""
        return {
            "url": self.url,
            "base_url": self.base_url,
            "username": self.username,
            "password": self.password,
            "token": self.token,
            "orders": len(self.store.orders),
            "seed": self.seed,
            "strict_requests": self.strict_requests,
            "renew_settles_after": self.renew_settles_after,
            "refuse_pending_renew": self.refuse_pending_renew,
            "renewal_window_days": self.renewal_window_days,
        }
