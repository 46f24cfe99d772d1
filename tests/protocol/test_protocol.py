"""The sans-I/O core with plain ``(status, headers, body)`` values: no event loop, no aiohttp.

Envelope parsing, the classification of every failure the API documents, and structuring
answers into models, where a malformed answer must always surface as ``op.ResponseError``.
"""

from __future__ import annotations

import ast
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import openprovider_ssl as op
from openprovider_ssl._protocol import messages as _protocol
from openprovider_ssl._protocol.messages import build_request, classify, parse_answer, structure


def envelope(
    data: Any = None,
    *,
    code: int = 0,
    desc: str = "",
    maintenance: bool = False,
    warnings: Any = None,
) -> bytes:
    body = {"code": code, "data": data, "desc": desc, "maintenance": maintenance}
    if warnings is not None:
        body["warnings"] = warnings
    return json.dumps(body).encode()


def answer_of(status: int, body: bytes, cls: type[Any]) -> Any:
    return structure(parse_answer(status, {}, body), cls, status=status, body=body)


# --- the layer's boundary ---------------------------------------------------------------


def test_protocol_imports_neither_aiohttp_nor_asyncio() -> None:
    tree = ast.parse(Path(_protocol.__file__).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & {"aiohttp", "asyncio", "yarl", "multidict"}


# --- building requests ------------------------------------------------------------------


def test_build_request_encodes_compact_json_with_sorted_keys() -> None:
    request = build_request(
        "UpdateOrder", "PUT", "/ssl/orders/7", body={"b": 1, "a": "x"}, idempotent=True
    )
    assert request.body == b'{"a":"x","b":1}'
    assert (request.method, request.path, request.operation) == (
        "PUT",
        "/ssl/orders/7",
        "UpdateOrder",
    )
    assert request.idempotent and request.authenticated and not request.sensitive


def test_equal_arguments_make_identical_calls_whatever_their_order() -> None:
    one = build_request("X", "POST", "/p", body={"a": 1, "b": 2}, idempotent=False)
    two = build_request("X", "POST", "/p", body={"b": 2, "a": 1}, idempotent=False)
    other = build_request("X", "POST", "/p", body={"a": 1, "b": 3}, idempotent=False)
    assert one.identity == two.identity
    assert one.identity != other.identity


def test_a_request_without_body_has_none_and_keeps_its_params() -> None:
    request = build_request("List", "GET", "/ssl/orders", params=[("limit", "10")], idempotent=True)
    assert request.body is None
    assert request.params == (("limit", "10"),)


def test_request_repr_never_shows_the_body() -> None:
    request = build_request(
        "Login",
        "POST",
        "/auth/login",
        body={"username": "u", "password": "hunter2-secret"},
        idempotent=True,
        authenticated=False,
        sensitive=True,
    )
    assert "hunter2-secret" not in repr(request)


# --- successful envelopes ---------------------------------------------------------------


def test_success_returns_data_desc_and_structured_warnings() -> None:
    body = envelope(
        {"id": 5},
        desc="done",
        warnings=[{"code": 1, "desc": "careful", "data": "x"}, {"desc": "no code"}],
    )
    answer = parse_answer(200, {}, body)
    assert answer.data == {"id": 5}
    assert answer.desc == "done"
    assert answer.warnings == (
        op.ApiWarning(code=1, desc="careful", data="x"),
        op.ApiWarning(code=0, desc="no code"),
    )
    assert answer.maintenance is False


def test_a_read_during_maintenance_succeeds_and_says_so() -> None:
    answer = parse_answer(200, {}, envelope({"id": 1}, maintenance=True))
    assert answer.maintenance is True
    assert answer.data == {"id": 1}


def test_missing_or_null_warnings_and_desc_are_tolerated() -> None:
    answer = parse_answer(200, {}, b'{"code": 0, "data": {"id": 1}, "warnings": null}')
    assert answer.warnings == ()
    assert answer.desc == ""


def test_structure_gives_the_result_class_with_the_warnings() -> None:
    body = envelope({"id": 9, "unknown_new_field": [1, 2]}, warnings=[{"code": 3, "desc": "w"}])
    renewed = answer_of(200, body, op.Renewed)
    assert renewed == op.Renewed(id=9, warnings=(op.ApiWarning(code=3, desc="w"),))


def test_structure_builds_an_order() -> None:
    body = envelope(
        {
            "id": 31027,
            "status": "ACT",
            "expiration_date": "2030-01-02 3:04:05",
            "domain_validation_methods": [{"host_name": "example.com", "method": "dns"}],
        }
    )
    order = answer_of(200, body, op.Order)
    assert order.id == 31027
    assert order.status == op.OrderStatus.ACT
    assert order.expiration_date is not None and order.expiration_date.hour == 3
    assert order.domain_validation_methods == (op.DomainValidationMethod("example.com", "dns"),)


# --- answers that are not the envelope --------------------------------------------------

MALFORMED = [
    pytest.param(502, b"<html><body>Bad Gateway</body></html>", "not JSON", id="html-page"),
    pytest.param(200, b'{"code": 0, "data": {"id": 1', "not JSON", id="truncated-json"),
    pytest.param(200, b"", "not JSON", id="empty-body"),
    pytest.param(200, b'{"code": 0, "desc": "\xff"}', "not UTF-8", id="not-utf8"),
    pytest.param(200, b"[1, 2, 3]", "not a JSON object", id="json-array"),
    pytest.param(200, b'"ok"', "not a JSON object", id="json-string"),
    pytest.param(200, b"null", "not a JSON object", id="json-null"),
    pytest.param(200, b'{"data": {"id": 1}}', "no integer 'code'", id="no-code"),
    pytest.param(200, b'{"code": "0", "data": {}}', "no integer 'code'", id="code-as-string"),
    pytest.param(200, b'{"code": true, "data": {}}', "no integer 'code'", id="code-as-bool"),
    pytest.param(200, b'{"code": 0.0, "data": {}}', "no integer 'code'", id="code-as-float"),
    pytest.param(
        200, b'{"code": 0, "warnings": "careful"}', "'warnings' is not a list", id="warnings-str"
    ),
    pytest.param(
        200, b'{"code": 0, "warnings": [42]}', "'warnings' are malformed", id="warning-int"
    ),
    pytest.param(500, b'{"code": 0, "data": {"id": 1}}', "code 0 (success)", id="success-with-500"),
    pytest.param(302, b'{"code": 0, "data": {"id": 1}}', "code 0 (success)", id="success-with-302"),
    pytest.param(302, b"", "not JSON", id="redirect"),
    pytest.param(200, b'{"code": 0, "data": ' + b"[" * 100_000, "not JSON", id="deep-nesting"),
]


@pytest.mark.parametrize(("status", "body", "problem"), MALFORMED)
def test_a_malformed_answer_is_a_response_error_with_status_and_excerpt(
    status: int, body: bytes, problem: str
) -> None:
    with pytest.raises(op.ResponseError) as caught:
        parse_answer(status, {}, body)
    error = caught.value
    assert problem in error.problem
    assert error.http_status == status
    assert f"HTTP {status}" in str(error)
    assert len(error.excerpt) <= 201
    assert error.excerpt.startswith(body[:20].decode("utf-8", "replace"))


def test_the_excerpt_of_a_huge_page_is_short() -> None:
    body = b"<html>" + b"x" * 100_000
    with pytest.raises(op.ResponseError) as caught:
        parse_answer(503, {}, body)
    assert caught.value.excerpt.startswith("<html>xxx")
    assert len(str(caught.value)) < 700


WRONG_DATA = [
    pytest.param(None, op.Renewed, id="data-null"),
    pytest.param([1, 2], op.Renewed, id="data-list"),
    pytest.param("31027", op.Renewed, id="data-string"),
    pytest.param({"id": "abc"}, op.Renewed, id="id-not-a-number"),
    pytest.param({"id": [1]}, op.Renewed, id="id-a-list"),
    pytest.param({}, op.Renewed, id="id-missing"),
    pytest.param({"id": 1, "status": 7}, op.Order, id="status-a-number"),
    pytest.param({"id": 1, "expiration_date": "soon"}, op.Order, id="date-garbage"),
    pytest.param({"id": 1, "host_names": "a.com"}, op.Order, id="list-as-string"),
    pytest.param({"id": 1, "domain_validation_statuses": []}, op.Order, id="object-as-list"),
]


@pytest.mark.parametrize(("data", "cls"), WRONG_DATA)
def test_data_of_the_wrong_shape_is_a_response_error_not_a_cattrs_error(
    data: Any, cls: type[Any]
) -> None:
    body = envelope(data)
    with pytest.raises(op.ResponseError) as caught:
        answer_of(200, body, cls)
    error = caught.value
    assert f"does not fit {cls.__name__}" in error.problem
    assert error.http_status == 200
    assert error.excerpt.startswith('{"code": 0')


def test_a_structure_error_names_the_field() -> None:
    with pytest.raises(op.ResponseError, match=r"\$\.id"):
        answer_of(200, envelope({"id": "abc"}), op.Renewed)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_anything_but_our_errors(body: bytes) -> None:
    with contextlib.suppress(op.OpenproviderError):
        answer_of(200, body, op.Renewed)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(
    code=st.one_of(st.just(0), st.integers(-5, 20_000), JSON),
    data=JSON,
    warnings=JSON,
    maintenance=JSON,
    status=st.sampled_from([200, 400, 401, 403, 429, 500, 502, 503]),
    cls=st.sampled_from([op.Renewed, op.Order, op.OrderPage]),
)
def test_arbitrary_envelopes_give_a_value_or_one_of_our_errors(
    code: Any, data: Any, warnings: Any, maintenance: Any, status: int, cls: type[Any]
) -> None:
    body = json.dumps(
        {"code": code, "data": data, "warnings": warnings, "maintenance": maintenance}
    ).encode()
    with contextlib.suppress(op.OpenproviderError):
        answer_of(status, body, cls)


def _outcome(status: int, body: bytes, cls: type[Any]) -> Any:
    try:
        return answer_of(status, body, cls)
    except op.OpenproviderError as error:
        # The excerpt of the body is left out: it shows the layout.
        return type(error), str(error).split("; body starts with")[0]


@given(
    code=st.one_of(st.just(0), st.integers(-5, 11000), st.booleans(), st.none(), st.text()),
    data=JSON,
    desc=st.one_of(st.text(), st.none(), st.integers()),
    warnings=JSON,
    maintenance=JSON,
    status=st.sampled_from([200, 201, 400, 429, 500, 503]),
    cls=st.sampled_from([op.Renewed, op.Order]),
    layout=st.sampled_from(["compact", "spaced", "padded", "indented"]),
)
def test_the_fast_path_decodes_every_envelope_as_json_loads_would(
    code: Any,
    data: Any,
    desc: Any,
    warnings: Any,
    maintenance: Any,
    status: int,
    cls: type[Any],
    layout: str,
) -> None:
    # Compact answers take the quick decoder; others json.loads. The outcome, value or
    # error, must not depend on the layout of the JSON.
    document = {"code": code, "data": data, "desc": desc, "warnings": warnings}
    document["maintenance"] = maintenance
    compact = json.dumps(document, separators=(",", ":")).encode()
    other = {
        "compact": compact,
        "spaced": json.dumps(document).encode(),
        "padded": b" \n" + compact + b"\r\n ",
        "indented": json.dumps(document, indent=2).encode(),
    }[layout]
    assert _outcome(status, other, cls) == _outcome(status, compact, cls)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"code": 0, "data": {"id": 1}} trailing', "not JSON"),
        (b'{"code": 0, "data": {"id": 1}}{"code": 0}', "not JSON"),
        (b'{"code": 0, "desc": "\xff"}', "not UTF-8"),
        (b"[1, 2]", "not a JSON object"),
    ],
)
def test_bodies_the_fast_path_refuses_are_explained_by_the_full_decoder(
    body: bytes, message: str
) -> None:
    with pytest.raises(op.ResponseError, match=message):
        parse_answer(200, {}, body)


def test_utf8_with_a_byte_order_mark_and_utf16_still_decode() -> None:
    document = {"code": 0, "data": {"id": 4}}
    for body in (
        b"\xef\xbb\xbf" + json.dumps(document).encode(),
        json.dumps(document).encode("utf-16"),
    ):
        assert parse_answer(200, {}, body).data == {"id": 4}


# --- classification ---------------------------------------------------------------------

# (code, HTTP status, maintenance flag) -> error class, transient, may have been applied
CLASSIFIED = [
    pytest.param(196, 401, False, op.AuthenticationError, False, False, id="196-401"),
    pytest.param(196, 500, False, op.AuthenticationError, False, False, id="196-500"),
    pytest.param(196, 200, False, op.AuthenticationError, False, False, id="196-200"),
    pytest.param(1, 401, False, op.AuthenticationError, False, False, id="http-401-other-code"),
    pytest.param(10005, 403, False, op.AccessDeniedError, False, False, id="10005"),
    pytest.param(10009, 403, False, op.AccessDeniedError, False, False, id="10009"),
    pytest.param(10005, 503, True, op.AccessDeniedError, False, False, id="10005-in-maintenance"),
    pytest.param(4005, 503, True, op.MaintenanceError, True, False, id="4005-maintenance"),
    pytest.param(4005, 503, False, op.MaintenanceError, True, False, id="4005-no-flag"),
    pytest.param(123, 200, True, op.MaintenanceError, True, False, id="any-code-with-flag"),
    pytest.param(4007, 429, False, op.RateLimitError, True, False, id="4007-429"),
    pytest.param(4007, 200, False, op.RateLimitError, True, False, id="4007-200"),
    pytest.param(1, 429, False, op.RateLimitError, True, False, id="http-429"),
    pytest.param(50, 429, False, op.LoginLimitError, False, False, id="50-login-limit"),
    pytest.param(3006, 503, False, op.ServerError, True, False, id="3006-503"),
    pytest.param(3006, 500, False, op.ServerError, True, False, id="3006-500"),
    pytest.param(1, 503, False, op.ServerError, True, False, id="http-503"),
    pytest.param(1, 502, False, op.ServerError, True, True, id="http-502"),
    pytest.param(1, 504, False, op.ServerError, True, True, id="http-504"),
    pytest.param(1, 500, False, op.ServerError, False, True, id="http-500"),
    pytest.param(399, 400, False, op.APIError, False, False, id="399-400"),
    pytest.param(399, 500, False, op.APIError, False, False, id="399-500"),
    pytest.param(399, 503, False, op.APIError, False, False, id="399-503"),
    pytest.param(10001, 404, False, op.APIError, False, False, id="10001-not-found"),
    pytest.param(10003, 400, False, op.APIError, False, False, id="10003-invalid-csr"),
    pytest.param(10004, 500, False, op.APIError, False, False, id="10004-with-500"),
    pytest.param(10002, 502, False, op.APIError, False, False, id="10002-with-502"),
]


@pytest.mark.parametrize(
    ("code", "status", "maintenance", "cls", "transient", "applied"), CLASSIFIED
)
def test_classification(
    code: int,
    status: int,
    maintenance: bool,
    cls: type[op.APIError],
    transient: bool,
    applied: bool,
) -> None:
    body = envelope("detail", code=code, desc="Some desc", maintenance=maintenance)
    with pytest.raises(op.APIError) as caught:
        parse_answer(status, {}, body)
    error = caught.value
    assert type(error) is cls
    assert error.transient is transient
    assert error.may_have_been_applied is applied
    assert (error.code, error.desc, error.data, error.http_status) == (
        code,
        "Some desc",
        "detail",
        status,
    )
    assert error.maintenance is maintenance


def test_plain_api_errors_are_never_transient() -> None:
    for code in (1, 2, 399, 10001, 10003, 10004, 10006, 10099):
        error = classify(code, "x", http_status=400, headers={})
        assert type(error) is op.APIError
        assert not error.retryable(idempotent=True)


def test_error_warnings_reach_the_error() -> None:
    body = envelope(
        code=10002, desc="Not allowed", warnings=[{"code": 7, "desc": "order is in REQ"}]
    )
    with pytest.raises(op.APIError) as caught:
        parse_answer(400, {}, body)
    assert caught.value.warnings == (op.ApiWarning(code=7, desc="order is in REQ"),)


def test_rate_limit_carries_retry_after_from_the_headers() -> None:
    body = envelope(code=4007, desc="Excessive use")
    with pytest.raises(op.RateLimitError) as caught:
        parse_answer(429, {"Retry-After": "17"}, body)
    assert caught.value.retry_after == 17.0


def test_login_limit_carries_retry_after_too() -> None:
    body = envelope(code=50, desc="Calls limit has been reached")
    with pytest.raises(op.LoginLimitError) as caught:
        parse_answer(429, {"Retry-After": "60"}, body)
    assert caught.value.retry_after == 60.0
    assert not caught.value.transient
