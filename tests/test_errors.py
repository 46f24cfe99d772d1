"""The error tree: its shape, the facts each error carries for the retry policy, and messages
that say what happened and what to do."""

from __future__ import annotations

import pytest

import openprovider_ssl as op
from openprovider_ssl import errors


def api(cls: type[op.APIError], code: int, status: int, **kwargs: object) -> op.APIError:
    return cls(code, "Some desc", data="some detail", http_status=status, **kwargs)  # type: ignore[arg-type]


# --- the tree ----------------------------------------------------------------------------

TREE = [
    (op.ValidationError, op.OpenproviderError),
    (op.ValidationError, ValueError),
    (op.APIError, op.OpenproviderError),
    (op.AuthenticationError, op.APIError),
    (op.MaintenanceError, op.APIError),
    (op.RateLimitError, op.APIError),
    (op.AccessDeniedError, op.APIError),
    (op.ServerError, op.APIError),
    (op.LoginLimitError, op.APIError),
    (op.TransportError, op.OpenproviderError),
    (op.OutcomeUnknownError, op.OpenproviderError),
    (op.ResponseError, op.OpenproviderError),
    (op.IdenticalCallLimitError, op.OpenproviderError),
    (op.RetryBudgetExhaustedError, op.OpenproviderError),
]


@pytest.mark.parametrize(("child", "parent"), TREE)
def test_the_error_tree(child: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(child, parent)


def test_transport_response_and_outcome_errors_are_not_api_errors() -> None:
    for cls in (op.TransportError, op.ResponseError, op.OutcomeUnknownError, op.ValidationError):
        assert not issubclass(cls, op.APIError)


def test_every_error_is_exported_from_the_package() -> None:
    for name in errors.__all__:
        assert getattr(op, name) is getattr(errors, name)
        assert name in op.__all__


def test_an_api_error_carries_what_the_api_said() -> None:
    warning = op.ApiWarning(code=3, desc="w")
    error = op.APIError(
        10002, "Not allowed", data={"field": "csr"}, http_status=400, warnings=[warning]
    )
    assert error.code == 10002
    assert error.desc == "Not allowed"
    assert error.data == {"field": "csr"}
    assert error.http_status == 400
    assert error.warnings == (warning,)
    assert "10002" in str(error) and "Not allowed" in str(error) and "HTTP 400" in str(error)
    assert "csr" in str(error)


def test_a_validation_error_is_also_a_value_error_and_names_the_argument() -> None:
    error = op.ValidationError("autorenew", "must be 'on' or 'off'")
    assert isinstance(error, ValueError)
    assert error.argument == "autorenew"
    assert str(error) == "invalid autorenew: must be 'on' or 'off' (nothing was sent)"
    assert not error.retryable(idempotent=True)


def test_rate_limit_errors_carry_retry_after() -> None:
    error = op.RateLimitError(4007, "Excessive use", http_status=429, retry_after=12.5)
    assert error.retry_after == 12.5
    assert op.RateLimitError(4007, "x", http_status=429).retry_after is None


# --- what the retry policy reads ---------------------------------------------------------

# error, transient, may have been applied
FACTS = [
    pytest.param(api(op.MaintenanceError, 4005, 503), True, False, id="maintenance"),
    pytest.param(api(op.RateLimitError, 4007, 429), True, False, id="rate-limit"),
    pytest.param(api(op.ServerError, 3006, 503), True, False, id="3006"),
    pytest.param(api(op.ServerError, 3006, 500), True, False, id="3006-with-500"),
    pytest.param(api(op.ServerError, 1, 503), True, False, id="503"),
    pytest.param(api(op.ServerError, 1, 502), True, True, id="502"),
    pytest.param(api(op.ServerError, 1, 504), True, True, id="504"),
    pytest.param(api(op.ServerError, 1, 500), False, True, id="500"),
    pytest.param(api(op.AuthenticationError, 196, 401), False, False, id="auth"),
    pytest.param(api(op.AccessDeniedError, 10005, 403), False, False, id="access-denied"),
    pytest.param(api(op.LoginLimitError, 50, 429), False, False, id="login-limit"),
    pytest.param(api(op.APIError, 399, 400), False, False, id="399"),
    pytest.param(op.TransportError("refused", sent=False), True, False, id="not-sent"),
    pytest.param(op.TransportError("timed out", sent=True), True, True, id="sent"),
    pytest.param(op.ResponseError("x", http_status=200, excerpt=b"{"), True, True, id="bad-200"),
    pytest.param(op.ResponseError("x", http_status=502, excerpt=b"<"), True, True, id="bad-502"),
    pytest.param(op.ResponseError("x", http_status=503, excerpt=b"<"), True, False, id="bad-503"),
    pytest.param(op.ResponseError("x", http_status=429, excerpt=b"<"), True, False, id="bad-429"),
    pytest.param(op.ResponseError("x", http_status=404, excerpt=b"<"), False, True, id="bad-404"),
    pytest.param(op.ResponseError("x", http_status=302, excerpt=b""), False, True, id="redirect"),
    pytest.param(op.ValidationError("a", "b"), False, False, id="validation"),
    pytest.param(op.IdenticalCallLimitError("X", 300, 300.0, 5.0), False, False, id="identical"),
    pytest.param(
        op.OutcomeUnknownError("renew", 7, RuntimeError("x")), False, True, id="outcome-unknown"
    ),
]


@pytest.mark.parametrize(("error", "transient", "applied"), FACTS)
def test_what_each_error_tells_the_retry_policy(
    error: op.OpenproviderError, transient: bool, applied: bool
) -> None:
    assert error.transient is transient
    assert error.may_have_been_applied is applied
    # An idempotent request may be resent after any transient failure; a charged one only
    # when the failure proves it was not applied.
    assert error.retryable(idempotent=True) is transient
    assert error.retryable(idempotent=False) is (transient and not applied)


# --- messages ----------------------------------------------------------------------------

# error, words that say what happened, words that say what to do
MESSAGES = [
    pytest.param(api(op.AuthenticationError, 196, 401), "196", "check the credentials", id="auth"),
    pytest.param(
        api(op.AccessDeniedError, 10005, 403),
        "blacklisted",
        "released by hand in the Openprovider control panel",
        id="access-denied",
    ),
    pytest.param(api(op.MaintenanceError, 4005, 503), "maintenance", "try again later", id="mnt"),
    pytest.param(
        api(op.RateLimitError, 4007, 429), "too many requests", "retry after", id="rate-limit"
    ),
    pytest.param(api(op.ServerError, 3006, 503), "3006", "retrying later", id="server"),
    pytest.param(
        api(op.LoginLimitError, 50, 429), "too many logins", "wait before logging in", id="login"
    ),
    pytest.param(api(op.APIError, 399, 400), "399", "documentation", id="api"),
    pytest.param(
        op.TransportError("GetOrder (GET /ssl/orders/1): could not connect", sent=False),
        "could not connect",
        "nothing was applied: check the network",
        id="not-sent",
    ),
    pytest.param(
        op.TransportError("RenewOrder: timed out waiting for the answer", sent=True),
        "timed out",
        "may have been applied: check before repeating",
        id="sent",
    ),
    pytest.param(
        op.ResponseError("the body is not JSON", http_status=502, excerpt=b"<html>"),
        "HTTP 502: the body is not JSON",
        "check the base URL, or try again later",
        id="response",
    ),
    pytest.param(
        op.OutcomeUnknownError("renew", 31027, RuntimeError("read timeout")),
        "renew of order 31027 may or may not have been applied (read timeout)",
        "check the order (orders.get(31027)) before retrying",
        id="outcome",
    ),
    pytest.param(
        op.IdenticalCallLimitError("RenewOrder", 50, 100.0, 42.0),
        "already made 50 times in 100 s",
        "may be made again in 42 s",
        id="identical",
    ),
    pytest.param(
        op.ValidationError("order_id", "must be a positive integer, got '1'"),
        "invalid order_id",
        "must be a positive integer",
        id="validation",
    ),
]


@pytest.mark.parametrize(("error", "what", "todo"), MESSAGES)
def test_messages_say_what_happened_and_what_to_do(
    error: op.OpenproviderError, what: str, todo: str
) -> None:
    message = str(error)
    assert what in message
    assert todo in message


def test_the_response_error_excerpt_is_short_and_decoded() -> None:
    error = op.ResponseError("x", http_status=500, excerpt=b"<p>" + b"y" * 5000)
    assert error.excerpt.startswith("<p>yyy")
    assert len(error.excerpt) <= 201
    assert len(str(error)) < 600


def test_an_outcome_unknown_error_keeps_the_cause_and_the_order() -> None:
    cause = op.TransportError("x", sent=True)
    order = op.Order(id=3)
    error = op.OutcomeUnknownError("renew", 3, cause, order=order)
    assert (error.operation, error.order_id, error.cause, error.order) == ("renew", 3, cause, order)


def test_without_data_drops_the_answer_but_keeps_the_kind_and_facts() -> None:
    error = op.RateLimitError(
        4007,
        "Excessive use",
        data="echo of hunter2",
        http_status=429,
        warnings=[op.ApiWarning(code=1, desc="hunter2")],
        retry_after=3.0,
    )
    clean = error.without_data()
    assert type(clean) is op.RateLimitError
    assert "hunter2" not in str(clean)
    assert clean.data is None and clean.warnings == ()
    assert (clean.code, clean.desc, clean.http_status, clean.retry_after) == (
        4007,
        "Excessive use",
        429,
        3.0,
    )
    assert clean.transient and not clean.may_have_been_applied
    assert "hunter2" in str(error)  # the original is untouched


def test_without_data_keeps_the_facts_of_a_server_error() -> None:
    clean = api(op.ServerError, 1, 502).without_data()
    assert type(clean) is op.ServerError
    assert clean.transient and clean.may_have_been_applied
    assert "some detail" not in str(clean)
