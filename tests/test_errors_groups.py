"""``NotSentError``: one ``except`` for every refusal made before anything was sent, beside
"an answer came" (``APIError``, ``ResponseError``) and "no answer came" (``TransportError``);
and every error survives a pickle (multiprocessing, concurrent.futures)."""

from __future__ import annotations

import pickle
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aioresponses import aioresponses

import openprovider_ssl as op

BASE = "https://api.test/v1beta"
NOW = datetime(2025, 3, 1, tzinfo=UTC)

NOT_SENT = (
    op.ValidationError,
    op.IdenticalCallLimitError,
    op.RetryBudgetExhaustedError,
    op.LimiterUnavailableError,
    op.RenewalPendingError,
    op.RenewalCapReachedError,
)


@pytest.fixture
async def client() -> AsyncIterator[op.Client]:
    async with op.Client("secret-token", base_url=BASE) as c:
        yield c


@pytest.mark.parametrize("cls", NOT_SENT)
def test_each_refusal_is_in_the_group_and_keeps_its_bases(cls: type[op.OpenproviderError]) -> None:
    assert issubclass(cls, op.NotSentError)
    assert issubclass(cls, op.OpenproviderError)
    assert cls.may_have_been_applied is False


@pytest.mark.parametrize(
    "cls", [op.APIError, op.ResponseError, op.TransportError, op.OutcomeUnknownError]
)
def test_answers_and_lost_requests_are_not_in_the_group(cls: type[Exception]) -> None:
    assert not issubclass(cls, op.NotSentError)


async def test_a_bad_argument_is_caught_as_not_sent(client: op.Client) -> None:
    with pytest.raises(op.NotSentError) as caught:
        await client.orders.get(-1)
    assert isinstance(caught.value, op.ValidationError)
    assert not caught.value.may_have_been_applied


async def test_a_renew_pending_in_the_journal_is_caught_as_not_sent(client: op.Client) -> None:
    await client.journal.claim(31027, None)  # an earlier renew, sent, outcome unknown
    with aioresponses() as http, pytest.raises(op.NotSentError) as caught:
        await client.orders.renew(31027)
    assert isinstance(caught.value, op.RenewalPendingError)
    assert not http.requests  # nothing was sent


async def test_the_identical_call_budget_is_caught_as_not_sent() -> None:
    limits = op.Limits(identical_limit=1, identical_window=60.0)
    async with op.Client("secret-token", base_url=BASE, limits=limits) as c:
        with aioresponses() as http:
            http.get(f"{BASE}/ssl/orders/31027", payload={"code": 0, "data": {"id": 31027}})
            await c.orders.get(31027)
            with pytest.raises(op.NotSentError) as caught:
                await c.orders.get(31027)
            assert len(http.requests) == 1
    assert isinstance(caught.value, op.IdenticalCallLimitError)


async def test_the_spending_cap_is_caught_as_not_sent(client: op.Client) -> None:
    with aioresponses() as http:
        async with client.orders.renew_many([31027], max_renewals=0) as run:
            outcomes = [outcome async for outcome in run]
        assert not http.requests
    [outcome] = outcomes
    assert isinstance(outcome.error, op.NotSentError)
    assert isinstance(outcome.error, op.RenewalCapReachedError)


ERRORS = [
    op.ValidationError("order_id", "must be a positive integer"),
    op.APIError(399, "Invalid", data="detail", http_status=400),
    op.RateLimitError(4007, "slow down", http_status=429, retry_after=2.0),
    op.ServerError(0, "bad gateway", http_status=502),
    op.TransportError("connection dropped", sent=True),
    op.TLSError("handshake failed", host="api.test", verification_failed=True),
    op.ResponseError("not JSON", http_status=502, excerpt=b"<html>"),
    op.IdenticalCallLimitError("GetOrder", 300, 300.0, 12.0),
    op.RetryBudgetExhaustedError(op.MaintenanceError(4005, "maintenance", http_status=503)),
    op.RenewalPendingError(31027, state="pending", claimed_at=NOW, origin="host/1"),
    op.RenewalCapReachedError(31027, limit=10, sent=10),
    op.LimiterUnavailableError("redis://localhost", ConnectionError("refused")),
    op.OutcomeUnknownError("renew", 31027, op.TransportError("dropped", sent=True)),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_an_error_survives_a_pickle(error: op.OpenproviderError) -> None:
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert str(again) == str(error)
    assert again.transient == error.transient
    assert again.may_have_been_applied == error.may_have_been_applied
    assert vars(again).keys() == vars(error).keys()
