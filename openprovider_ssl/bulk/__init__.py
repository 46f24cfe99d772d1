"""Bulk work on many orders: a bounded set of workers, one outcome per order as it completes.

``client.orders.renew_many(ids)``, ``update_many(changes)`` and ``renew_expiring()`` return a
``BulkRun``: an async iterator of ``Outcome`` values that also keeps the run's record::

    async with client.orders.renew_many(order_ids, concurrency=50) as run:
        async for outcome in run:
            print(outcome.order_id, outcome.ok, outcome.result or outcome.error)
    print(run.unanswered)  # sent and never answered, if the run was cancelled: check these

Nothing is sent until you iterate. ``concurrency`` workers pull orders from the source one at
a time (an iterable or an async iterable, of any length): memory follows the concurrency, not
the number of orders. One order's failure is its outcome and never stops the others. Every
call still passes the client's limits (rate, identical-call budget, maintenance pause).

``_operations`` holds the three operations; ``_runner`` the workers, the spending cap and the
``BulkRun`` they return.
"""

from ._runner import BulkRun, Outcome, Progress

__all__ = ["BulkRun", "Outcome", "Progress"]
