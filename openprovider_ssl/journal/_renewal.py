"""Renewing without paying twice: claim in the journal, send once, settle with the answer.

The rules, whatever the API does with an accepted renew (BEHAVIOUR.md, "Renew"):

- a renew is sent again only after an answer that proves it was not applied (maintenance,
  429/4007, 3006, a connection refused before sending); the retry policy does that;
- after any other failure it is never sent again: reading the order back can confirm a
  renewal (the expiration moved past the one seen before) but never deny one, so the result
  is ``OutcomeUnknownError`` and the claim stays pending in the journal;
- ``reconcile`` reads pending renewals back later, and confirms those whose expiration moved.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import attrs

from .._protocol.messages import Request
from ..errors import APIError, OpenproviderError, OutcomeUnknownError
from ..limits._front import Limits
from ..models import Order, Renewed
from ..retry import RetryPolicy
from . import ClaimRecord, Event, RenewalJournal

__all__ = [
    "OrderReader",
    "PendingRenewal",
    "ReconcileReport",
    "RenewingClient",
    "reconcile",
    "renew",
]

logger = logging.getLogger("openprovider_ssl")

T = TypeVar("T")


class RenewingClient(Protocol):
    """What the renewal safety needs from a client (``Client`` has it): its journal, its
    retry policy (the read-back's delay), its limits (whose sleep the read-back waits with),
    and a way to send one request."""

    @property
    def journal(self) -> RenewalJournal: ...

    @property
    def retry_policy(self) -> RetryPolicy: ...

    @property
    def limits(self) -> Limits: ...

    async def _execute(self, request: Request, result: type[T]) -> T: ...


class OrderReader(Protocol):
    """What the read-back needs from ``client.orders``: reading one order."""

    async def get(self, order_id: int) -> Order: ...


def _settlement(error: OpenproviderError) -> Event:
    """How a failure that proves the renew was not applied settles its claim."""
    if isinstance(error, APIError) and not error.transient:
        return "refused"
    return "not_applied"


def _described(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


async def renew(
    client: RenewingClient,
    orders: OrderReader,
    request: Request,
    order_id: int,
    known_expiration: datetime | None,
) -> Renewed:
    """Send one renew under a journal claim; see the module docstring for the rules.

    ``request`` carries the ``SendMark`` its attempts set as they leave the limiter: after an
    interruption it tells a renew that may have been charged from one that never left.
    """
    mark = request.mark
    if mark is None:
        raise TypeError("a renew's request must carry a SendMark: it tells whether it was sent")
    journal = client.journal
    # Without a coroutine where the journal has nothing to wait for (the default one in
    # memory, a claim made ahead and committed already).
    claim = journal._claim_at_once(order_id, known_expiration)
    if claim is None:
        claim = await journal.claim(order_id, known_expiration)
    try:
        result = await client._execute(request, Renewed)
    except OpenproviderError as error:
        if not error.may_have_been_applied:
            await journal.settle(claim, _settlement(error), error=_described(error))
            raise
        order = await _read_back(client, orders, order_id, known_expiration, error)
        expiration = order.expiration_date if order is not None else None
        if (
            known_expiration is not None
            and expiration is not None
            and expiration > known_expiration
        ):
            logger.info("renew of order %d confirmed by reading it back", order_id)
            await journal.settle(claim, "renewed", error=_described(error))
            return Renewed(id=order_id)
        await journal.settle(claim, "unknown", error=_described(error))
        raise OutcomeUnknownError("renew", order_id, error, order=order) from error
    except BaseException as interrupt:
        # Cancelled (or interrupted): before sending, nothing can have been charged.
        if mark.sent:
            await journal.settle(
                claim, "unknown", error=f"interrupted after sending: {interrupt!r}"
            )
        else:
            await journal.settle(claim, "abandoned", error="interrupted before sending")
        raise
    if not journal._settle_at_once(claim, "renewed"):
        await journal.settle(claim, "renewed")
    return result


def _moved(order: Order | None, before: datetime | None) -> bool:
    """Whether the order's expiration is later than ``before``: proof of a renewal."""
    after = order.expiration_date if order is not None else None
    return after is not None and before is not None and after > before


async def _read_back(
    client: RenewingClient,
    orders: OrderReader,
    order_id: int,
    known_expiration: datetime | None,
    cause: OpenproviderError,
) -> Order | None:
    """The order as it is now, after giving an in-flight renew time to land; None without a
    ``known_expiration`` to compare with (nothing could be confirmed) or when the read fails."""
    if known_expiration is None:
        return None
    delay = client.retry_policy.readback_delay
    logger.debug(
        "renew of order %d may have been applied (%s); reading it back in %.2f s",
        order_id,
        cause,
        delay,
    )
    await client.limits.sleep(delay)
    try:
        return await orders.get(order_id)
    except OpenproviderError as error:
        logger.info("renew of order %d: the read-back failed too (%s)", order_id, error)
        return None


# -- reconcile ------------------------------------------------------------------------------


@attrs.frozen
class PendingRenewal:
    """A renew the journal held as pending, as ``reconcile`` found it.

    ``order`` is the order as read back (None if the read failed); ``note`` says what was
    concluded and, for one still pending, what to do.
    """

    record: ClaimRecord
    order: Order | None
    age: timedelta
    note: str

    @property
    def order_id(self) -> int:
        return self.record.order_id


@attrs.frozen
class ReconcileReport:
    """``confirmed``: pending renewals found applied (now renewed in the journal);
    ``pending``: the rest, still pending, oldest first."""

    confirmed: tuple[PendingRenewal, ...]
    pending: tuple[PendingRenewal, ...]


async def reconcile(
    journal: RenewalJournal, orders: OrderReader, *, concurrency: int = 10
) -> ReconcileReport:
    """Read back every pending renewal of ``journal``; never sends a renew."""
    records = await journal.pending()
    gate = asyncio.Semaphore(concurrency)

    async def check(record: ClaimRecord) -> tuple[bool, PendingRenewal]:
        async with gate:
            return await _reconcile_one(orders, journal, record)

    found = await asyncio.gather(*(check(r) for r in records))
    return ReconcileReport(
        confirmed=tuple(p for ok, p in found if ok),
        pending=tuple(p for ok, p in found if not ok),
    )


async def _reconcile_one(
    orders: OrderReader, journal: RenewalJournal, record: ClaimRecord
) -> tuple[bool, PendingRenewal]:
    age = journal.clock() - record.claimed_at
    before = record.expiration
    try:
        order = await orders.get(record.order_id)
    except OpenproviderError as error:
        return False, PendingRenewal(record, None, age, f"could not read it back: {error}")
    if _moved(order, before):
        reason = (
            f"read back: the expiration moved from {before:%Y-%m-%d} to "
            f"{order.expiration_date:%Y-%m-%d}"
        )
        try:
            settled = await journal.confirm(
                record.order_id, reason=reason, claim_id=record.claim_id
            )
        except OpenproviderError:
            # Settled meanwhile (by the renew's own answer, or another reconcile).
            settled = record
        return True, PendingRenewal(settled, order, age, reason)
    if before is None:
        note = (
            "the expiration before the renew is not known, so a read-back cannot confirm it: "
            "check the order and the invoices, then confirm or release it"
        )
    else:
        note = (
            f"the expiration is still {before:%Y-%m-%d}: the renew may yet settle at the "
            "certificate authority, or was not applied; if the invoices show no charge, "
            "release it"
        )
    return False, PendingRenewal(record, order, age, note)
