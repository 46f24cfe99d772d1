"""The public API's types, pinned: ``mypy --strict tests`` (CI) fails when one changes.

Nothing here runs under pytest (the checks are functions that are never called, and none is
named ``test_*``); ``typing.assert_type`` is checked by the type checker only. When a type
changes on purpose (a ``str`` narrowed to a ``Literal``, say), change it here too: this file is
the record of what users' type checkers see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, assert_type

import openprovider_ssl as op
from openprovider_ssl.journal import RenewalJournal


async def _client(client: op.Client) -> None:
    assert_type(op.Client("token"), op.Client)
    assert_type(op.Client(username="jane", password="secret"), op.Client)
    assert_type(op.Client.from_env(), op.Client)
    assert_type(op.Client.from_env({"OPENPROVIDER_TOKEN": "token"}), op.Client)
    async with op.Client("token") as entered:
        assert_type(entered, op.Client)
    assert_type(client.stats, op.ClientStats)
    assert_type(client.stats.requests, int)
    assert_type(client.limits, op.Limits)
    assert_type(client.journal, RenewalJournal)


async def _orders(client: op.Client) -> None:
    orders = client.orders
    assert_type(await orders.get(1), op.Order)
    assert_type(await orders.renew(1), op.Renewed)
    assert_type(await orders.update(1, autorenew="on"), op.Updated)
    assert_type(await orders.cancel(1), op.Cancelled)
    assert_type(await orders.reconcile(), op.ReconcileReport)
    assert_type(orders.list(), op.Listing[op.Order])
    async for order in orders.list(status="ACT"):
        assert_type(order, op.Order)
    assert_type(orders.renew_many([1]), op.BulkRun[op.Renewed])
    assert_type(orders.update_many([(1, {"autorenew": "off"})]), op.BulkRun[op.Updated])
    assert_type(orders.renew_expiring(), op.BulkRun[op.Renewed])


async def _bulk(run: op.BulkRun[op.Renewed]) -> None:
    async with run as entered:
        assert_type(entered, op.BulkRun[op.Renewed])
        async for outcome in entered:
            assert_type(outcome, op.Outcome[op.Renewed])
            assert_type(outcome.ok, bool)
            assert_type(outcome.order_id, int)
            assert_type(outcome.result, op.Renewed | None)
            assert_type(outcome.error, Exception | None)
    assert_type(run.progress, op.Progress)
    assert_type(run.progress.succeeded, int)
    assert_type(run.total, int | None)


def _models(order: op.Order) -> None:
    assert_type(order.id, int)
    assert_type(order.status, op.OrderStatus)
    assert_type(order.autorenew, str)
    assert_type(order.common_name, str)
    assert_type(order.expiration_date, datetime | None)
    assert_type(order.host_names, tuple[str, ...])
    assert_type(op.OrderStatus("ACT"), op.OrderStatus)


def _retry_and_limits() -> None:
    policy = op.RetryPolicy()
    assert_type(policy.attempts, int)
    assert_type(policy.initial_wait, float)
    assert_type(policy.max_wait, float)
    assert_type(op.Limits(), op.Limits)


async def _journal(journal: op.RenewalJournal) -> None:
    assert_type(op.MemoryJournal(), op.MemoryJournal)
    assert_type(op.SqliteJournal("journal.db"), op.SqliteJournal)
    entries = await journal.entries()
    assert_type(entries, list[op.JournalEntry])
    assert_type(entries[0].order_id, int)
    assert_type(entries[0].at, datetime)
    records = await journal.pending()
    assert_type(records, list[op.ClaimRecord])
    assert_type(records[0].claimed_at, datetime)
    assert_type(records[0].expiration, datetime | None)


def _errors(error: op.OpenproviderError) -> None:
    assert_type(error.transient, bool)
    assert_type(error.may_have_been_applied, bool)
    if isinstance(error, op.APIError):
        assert_type(error.code, int)
        assert_type(error.desc, str)
        assert_type(error.http_status, int)
        assert_type(error.data, Any)
        assert_type(error.maintenance, bool)
    if isinstance(error, op.RateLimitError):
        assert_type(error.retry_after, float | None)
    if isinstance(error, op.TransportError):
        assert_type(error.sent, bool)
    if isinstance(error, op.ResponseError):
        assert_type(error.http_status, int)
    if isinstance(error, op.OutcomeUnknownError):
        assert_type(error.order_id, int)
        assert_type(error.cause, BaseException)
    if isinstance(error, op.RenewalPendingError):
        assert_type(error.order_id, int)
        assert_type(error.claimed_at, datetime)
    if isinstance(error, op.ValidationError):
        assert_type(error.argument, str)
        assert_type(error.problem, str)
