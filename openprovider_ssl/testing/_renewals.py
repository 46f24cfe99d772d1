"""The renew models of BEHAVIOUR.md ("Renew"): when an accepted renew moves the expiration.

* immediate (``settles_after == 0``, the default): the expiration moves by the period at once,
  so a second renew is refused (the order left the renew window: 30 days unless the fake was
  made with ``renewal_window_days``, up to 90);
* settles later (``settles_after > 0``): charged at once, the order keeps its old expiration
  for that many seconds of the fake's clock, then it moves; a second renew meanwhile is
  accepted and charged again;
* settles later, refusing (``refuse_pending``): as above, but a second renew while one is
  pending is refused (10004, "a renewal of this order is already in progress").

Settlements are applied lazily (:meth:`Renewals.settle`, called on every request, list and
clock check), never by background tasks, so ``advance_time`` settles them too.
"""

from __future__ import annotations

import heapq
from collections import Counter
from datetime import UTC, datetime, timedelta

from ._errors import RENEW_NOT_ALLOWED, ApiError
from ._state import RENEW_WINDOW, Order, OrderStore, add_years, fmt

IN_PROGRESS = "a renewal of this order is already in progress"


def check_renewable(order: Order, now: datetime, window: timedelta = RENEW_WINDOW) -> None:
    """Guide 10: ACT, not expired, expiring within the renew ``window`` (30 days unless
    given); else 10004."""
    exp = order.expiration_date
    if order.status != "ACT":
        raise ApiError(RENEW_NOT_ALLOWED, f"order is in status {order.status}, renew needs ACT")
    if exp is None or exp <= now:
        raise ApiError(RENEW_NOT_ALLOWED, f"certificate expired on {fmt(exp)}")
    if exp > now + window:
        opens = fmt(exp - window)
        raise ApiError(RENEW_NOT_ALLOWED, f"expires on {fmt(exp)}; renew is possible from {opens}")


class Renewals:
    """Accepted renewals and the ones not settled yet, under one of the three models.

    ``settles_after`` (seconds) and ``refuse_pending`` may change at any time; renewals
    already pending keep the time they were due at.
    """

    def __init__(
        self, store: OrderStore, settles_after: float = 0.0, refuse_pending: bool = False
    ) -> None:
        self.store = store
        self.settles_after = settles_after
        self.refuse_pending = refuse_pending
        self._due: list[tuple[float, int, int]] = []  # heap of (due, serial, order id)
        self._serial = 0
        self.pending: Counter[int] = Counter()

    @property
    def settles_after(self) -> float:
        return self._settles_after

    @settles_after.setter
    def settles_after(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError(f"renew_settles_after must be a number >= 0, got {seconds!r}")
        self._settles_after = float(seconds)

    def renew(self, order_id: int, clock: float) -> None:
        """Accept (the caller charges it) or refuse with 10001/10004 at ``clock`` (epoch s)."""
        self.settle(clock)
        now = datetime.fromtimestamp(clock, UTC)
        order = self.store.get(order_id)
        check_renewable(order, now, self.store.renew_window)
        if self.refuse_pending and self.pending[order_id]:
            raise ApiError(RENEW_NOT_ALLOWED, IN_PROGRESS)
        if not self._settles_after:
            order.expiration_date = add_years(order.expiration_date or now, order.period)
            return
        self._serial += 1
        heapq.heappush(self._due, (clock + self._settles_after, self._serial, order_id))
        self.pending[order_id] += 1

    def settle(self, clock: float) -> int:
        """Apply every renewal due by ``clock``; returns how many were applied."""
        due, applied = self._due, 0
        while due and due[0][0] <= clock:
            _, _, order_id = heapq.heappop(due)
            self.pending[order_id] -= 1
            if not self.pending[order_id]:
                del self.pending[order_id]
            order = self.store.orders.get(order_id)
            if order is not None and order.expiration_date is not None:
                order.expiration_date = add_years(order.expiration_date, order.period)
            applied += 1
        return applied

    def accepts(self, order: Order, now: datetime) -> bool:
        """Would a renew of ``order`` be accepted now?"""
        return order.renewable(now, self.store.renew_window) and not (
            self.refuse_pending and self.pending[order.id]
        )
