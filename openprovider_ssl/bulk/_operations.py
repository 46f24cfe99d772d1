"""``renew_many``, ``update_many`` and ``renew_expiring``: the sources and the operations a
``BulkRun`` runs for ``client.orders``."""

from __future__ import annotations

import functools
import inspect
import logging
from array import array
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sized,
)
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol, cast

from .._protocol import validation as check
from ..errors import ValidationError
from ..journal import RenewalJournal
from ..models import DEFAULT_RENEWAL_WINDOW_DAYS, Order, OrderStatusCode, Renewed, Updated
from ..models._orders import renewal_window
from ._runner import BulkRun, Outcome, Progress, ProgressHook, RenewalCap, RunState

__all__ = [
    "BulkOrders",
    "BulkRun",
    "Outcome",
    "Progress",
    "ProgressHook",
    "RenewSource",
    "UpdateSource",
    "renew_expiring",
    "renew_many",
    "update_many",
]

logger = logging.getLogger("openprovider_ssl")

DEFAULT_CONCURRENCY = 20
MAX_CONCURRENCY = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BulkOrders(Protocol):
    """What bulk needs from ``client.orders`` (``Orders`` has it): renew one order, update
    one (with keyword fields; its keyword-only parameters are the fields it takes), and list
    the expiring ones. An optional ``renewal_window_days`` bounds ``renew_expiring``."""

    async def renew(
        self,
        order_id: int,
        *,
        enable_dns_automation: bool | None = ...,
        known_expiration: datetime | None = ...,
    ) -> Renewed: ...

    @property
    def update(self) -> Callable[..., Awaitable[Updated]]: ...

    def list(
        self,
        *,
        status: list[OrderStatusCode],
        show_expiring: bool,
        order_by: tuple[str, str],
        page_size: int,
    ) -> AsyncIterable[Order]: ...


class _Expiring(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def expiration_date(self) -> datetime | None: ...


class _Due(NamedTuple):
    id: int
    expiration_date: datetime | None


RenewSource = Iterable[int] | Iterable[Order] | AsyncIterable[int] | AsyncIterable[Order]
UpdateSource = (
    Mapping[int, Mapping[str, Any]]
    | Iterable[tuple[int, Mapping[str, Any]]]
    | AsyncIterable[tuple[int, Mapping[str, Any]]]
)


def _concurrency(value: object) -> int:
    return check.int_range("concurrency", value, 1, MAX_CONCURRENCY)


def _total(source: object, total: int | None) -> int | None:
    if total is not None:
        return check.int_range("total", total, 0, 2**63 - 1)
    return len(source) if isinstance(source, Sized) else None


def _cap(max_renewals: object) -> RenewalCap | None:
    if max_renewals is None:
        return None
    return RenewalCap(check.int_range("max_renewals", max_renewals, 0, 2**63 - 1))


def _describe_renew(item: int | _Expiring) -> tuple[int, datetime | None]:
    if isinstance(item, int):
        return item, None
    order_id: Any = getattr(item, "id", item)
    return order_id, getattr(item, "expiration_date", None)


def _claiming_ahead(orders: BulkOrders, concurrency: int) -> dict[str, Any]:
    """With a durable journal (``orders.journal``, when there is one), a renewal run reads
    ahead: the next orders' renews are claimed while the current ones are in flight, so a
    renew need not wait for its claim's commit (``StoredJournal.lookahead``)."""
    journal = getattr(orders, "journal", None)
    if not isinstance(journal, RenewalJournal) or journal.lookahead <= 0:
        return {}

    def prepare(item: int | _Expiring) -> Callable[[], None] | None:
        order_id, expiration = _describe_renew(item)
        return journal.claim_ahead(order_id, expiration)

    return {"prepare": prepare, "lookahead": min(journal.lookahead, concurrency)}


def renew_many(
    orders: BulkOrders,
    items: RenewSource,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: ProgressHook | None = None,
    total: int | None = None,
    enable_dns_automation: bool | None = None,
    max_renewals: int | None = None,
) -> BulkRun[Renewed]:
    """Renew every order of ``items`` (order ids, or ``Order`` objects: their expiration date
    then lets an ambiguous renew be confirmed by reading the order back).

    ``max_renewals`` is a spending cap: once that many renews were sent (whatever their
    outcome, since a sent renew may have been charged), no further renew is sent; the orders
    already taken get a ``RenewalCapReachedError`` outcome and the run stops taking new ones
    (``BulkRun.cap_reached``, ``BulkRun.sent``)."""
    cap = _cap(max_renewals)
    workers = _concurrency(concurrency)
    state: RunState[int | _Expiring, Renewed] = RunState(
        cast("Iterable[int | _Expiring] | AsyncIterable[int | _Expiring]", items),
        describe=_describe_renew,
        operate=functools.partial(_renew, orders, enable_dns_automation),
        concurrency=workers,
        progress=progress,
        total=_total(items, total),
        dry_run=False,
        cap=cap,
        **_claiming_ahead(orders, workers),
    )
    return BulkRun(state)


async def _renew(
    orders: BulkOrders, enable_dns_automation: bool | None, item: int | _Expiring
) -> Renewed:
    if isinstance(item, int) or not hasattr(item, "id"):
        # Not an order: the id check says what is wrong with it.
        return await orders.renew(item, enable_dns_automation=enable_dns_automation)  # type: ignore[arg-type]
    return await orders.renew(
        item.id,
        enable_dns_automation=enable_dns_automation,
        known_expiration=item.expiration_date,
    )


def update_many(
    orders: BulkOrders,
    changes: UpdateSource,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: ProgressHook | None = None,
    total: int | None = None,
) -> BulkRun[Updated]:
    """Update each order with its own fields: ``{order_id: {"autorenew": "on"}, ...}`` or an
    iterable (or async iterable) of ``(order_id, fields)`` pairs."""
    source = changes.items() if isinstance(changes, Mapping) else changes
    allowed = _update_fields(orders)

    def describe(item: tuple[int, Mapping[str, Any]]) -> tuple[int, datetime | None]:
        try:
            order_id, _ = item
        except (TypeError, ValueError):
            whatever: Any = item
            return whatever, None
        return order_id, None

    async def update(item: tuple[int, Mapping[str, Any]]) -> Updated:
        try:
            order_id, fields = item
        except (TypeError, ValueError):
            raise ValidationError("changes", f"expected (order_id, fields), got {item!r}") from None
        if not isinstance(fields, Mapping):
            raise ValidationError("changes", f"fields of order {order_id} must be a mapping")
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise ValidationError(
                "changes", f"unknown field(s) {', '.join(map(str, unknown))} for order {order_id}"
            )
        return await orders.update(order_id, **fields)

    pairs = cast(
        "Iterable[tuple[int, Mapping[str, Any]]] | AsyncIterable[tuple[int, Mapping[str, Any]]]",
        source,
    )
    state = RunState(
        pairs,
        describe=describe,
        operate=update,
        concurrency=_concurrency(concurrency),
        progress=progress,
        total=_total(source, total),
        dry_run=False,
    )
    return BulkRun(state)


def _update_fields(orders: BulkOrders) -> frozenset[str]:
    parameters = inspect.signature(orders.update).parameters.values()
    return frozenset(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


def renew_expiring(
    orders: BulkOrders,
    *,
    within_days: float | None = None,
    dry_run: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: ProgressHook | None = None,
    enable_dns_automation: bool | None = None,
    now: datetime | None = None,
    max_renewals: int | None = None,
) -> BulkRun[Renewed]:
    """Renew the active orders that expire within ``within_days``, soonest first.

    ``within_days`` defaults to the client's renewal window (``Client(renewal_window_days=N)``,
    30 days unless set) and may not exceed it: a wider look-ahead is a ``ValidationError``
    (nothing sent) rather than a silent cut, since the server would refuse those renews.

    All pages are listed before the first renew, because each renewed order leaves the list of
    expiring orders and would shift the pages under a listing still in progress; only ids and
    expiration dates are kept (16 bytes an order). ``dry_run=True`` yields an outcome per
    order (``dry_run`` set, ``result`` None) and renews nothing. ``now`` (default: the current
    time) is what "expires within" is measured from. ``max_renewals`` is a spending cap, as in
    ``renew_many``.
    """
    cap = _cap(max_renewals)
    window_days = renewal_window(
        getattr(orders, "renewal_window_days", DEFAULT_RENEWAL_WINDOW_DAYS)
    ).days
    if within_days is None:
        within_days = window_days
    if isinstance(within_days, bool) or not isinstance(within_days, int | float):
        raise ValidationError("within_days", "must be a number of days")
    if not 0 < within_days < 36_500:
        raise ValidationError("within_days", "must be more than 0")
    if within_days > window_days:
        raise ValidationError(
            "within_days",
            f"must be at most the client's renewal window of {window_days} days, got "
            f"{within_days:g}; if your Openprovider account renews earlier, make the client "
            "with renewal_window_days=N (at most 90)",
        )
    if now is not None and (not isinstance(now, datetime) or now.tzinfo is None):
        raise ValidationError("now", "must be a timezone-aware datetime")
    window = timedelta(days=within_days)
    listing = orders.list(
        status=["ACT"], show_expiring=True, order_by=("expiration_date", "asc"), page_size=1000
    )

    async def due() -> AsyncGenerator[_Due, None]:
        current = now or datetime.now(UTC)
        ids, expirations = array("q"), array("q")
        async for order in listing:
            expiration = order.expiration_date
            if (
                expiration is not None
                and order.can_renew(current, window_days=window_days)
                and expiration <= current + window
            ):
                ids.append(order.id)
                expirations.append(_micros(expiration))
        state.total = len(ids)
        logger.info("%d order(s) expire within %g days", len(ids), within_days)
        for order_id, micros in zip(ids, expirations, strict=True):
            yield _Due(order_id, _EPOCH + timedelta(microseconds=micros))

    workers = _concurrency(concurrency)
    state: RunState[_Due, Renewed] = RunState(
        due(),
        describe=_describe_renew,
        operate=functools.partial(_renew, orders, enable_dns_automation),
        concurrency=workers,
        progress=progress,
        total=None,
        dry_run=dry_run,
        cap=cap,
        **_claiming_ahead(orders, workers),
    )
    return BulkRun(state)


def _micros(when: datetime) -> int:
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
