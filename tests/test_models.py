"""Pure tests of the attrs models: status tolerance, renew/update rules, reprs, spec coverage."""

from __future__ import annotations

import json
import pickle
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

from openprovider_ssl import models as m
from openprovider_ssl.models import (
    RENEW_WINDOW,
    UPDATABLE_FIELDS,
    Order,
    OrderStatus,
    UpdateOrderRequest,
)

SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "openprovider-api"
NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


# --- OrderStatus --------------------------------------------------------------------------


def test_known_statuses() -> None:
    assert [s.value for s in OrderStatus] == ["PAI", "REQ", "ACT", "EXP", "REJ", "FAI", "CAN"]
    assert OrderStatus("ACT") is OrderStatus.ACT
    assert OrderStatus.ACT == "ACT"
    assert OrderStatus.ACT.is_known


def test_unknown_status_is_a_tolerated_pseudo_member() -> None:
    status = OrderStatus("XYZ")
    assert isinstance(status, OrderStatus)
    assert isinstance(status, str)
    assert status == "XYZ"
    assert status.value == "XYZ"
    assert hash(status) == hash("XYZ")
    assert str(status) == "XYZ"
    assert f"{status}" == "XYZ"
    assert status.lower() == "xyz"
    assert json.dumps(status) == '"XYZ"'
    assert not status.is_known
    assert status not in list(OrderStatus)
    assert pickle.loads(pickle.dumps(status)) == status


def test_status_rejects_non_strings() -> None:
    with pytest.raises(ValueError):
        OrderStatus(5)  # type: ignore[arg-type]


def test_status_hashes_like_its_string() -> None:
    assert UPDATABLE_FIELDS["ACT"] == frozenset({"autorenew"})  # type: ignore[index]


# --- renew and expiry ---------------------------------------------------------------------


def _order(status: str = "ACT", expires_in: timedelta | None = timedelta(days=10)) -> Order:
    expiration = None if expires_in is None else NOW + expires_in
    return Order(id=1, status=OrderStatus(status), expiration_date=expiration)


def test_renew_window_constant() -> None:
    assert timedelta(days=30) == RENEW_WINDOW


@pytest.mark.parametrize(
    ("status", "expires_in", "expected"),
    [
        ("ACT", timedelta(days=10), True),
        ("ACT", RENEW_WINDOW, True),  # exactly 30 days: the window edge is inclusive
        ("ACT", RENEW_WINDOW + timedelta(seconds=1), False),
        ("ACT", timedelta(seconds=1), True),
        ("ACT", timedelta(0), False),  # expires right now: expired
        ("ACT", -timedelta(days=1), False),
        ("ACT", None, False),
        ("REQ", timedelta(days=10), False),
        ("PAI", timedelta(days=10), False),
        ("EXP", timedelta(days=10), False),
        ("XYZ", timedelta(days=10), False),
    ],
)
def test_can_renew(status: str, expires_in: timedelta | None, expected: bool) -> None:
    assert _order(status, expires_in).can_renew(NOW) is expected


def test_can_renew_defaults_to_the_clock() -> None:
    soon = Order(status=OrderStatus.ACT, expiration_date=datetime.now(UTC) + timedelta(days=5))
    later = Order(status=OrderStatus.ACT, expiration_date=datetime.now(UTC) + timedelta(days=90))
    assert soon.can_renew()
    assert not later.can_renew()


def test_naive_now_is_taken_as_utc() -> None:
    order = _order(expires_in=RENEW_WINDOW)
    assert order.can_renew(NOW.replace(tzinfo=None))
    assert order.can_renew(NOW.astimezone(timezone(timedelta(hours=5))))


@pytest.mark.parametrize(
    ("status", "expires_in", "expected"),
    [
        ("ACT", timedelta(days=1), False),
        ("ACT", timedelta(0), True),
        ("ACT", -timedelta(seconds=1), True),
        ("ACT", None, False),
        ("EXP", None, True),
        ("EXP", timedelta(days=1), True),
    ],
)
def test_is_expired(status: str, expires_in: timedelta | None, expected: bool) -> None:
    assert _order(status, expires_in).is_expired(NOW) is expected


# --- update rules -------------------------------------------------------------------------


def test_updatable_fields_per_status() -> None:
    update_fields = {f.name for f in attrs.fields(UpdateOrderRequest)}
    assert _order("PAI").updatable_fields() == update_fields
    assert _order("REQ").updatable_fields() == {"domain_validation_methods", "autorenew"}
    assert _order("ACT").updatable_fields() == {"autorenew"}
    for status in ("EXP", "REJ", "FAI", "CAN", "XYZ", ""):
        assert _order(status).updatable_fields() == frozenset()
    assert Order().updatable_fields() == frozenset()


def test_updatable_fields_table_is_read_only_and_names_real_fields() -> None:
    update_fields = {f.name for f in attrs.fields(UpdateOrderRequest)}
    for fields in UPDATABLE_FIELDS.values():
        assert fields <= update_fields
    with pytest.raises(TypeError):
        UPDATABLE_FIELDS[OrderStatus.EXP] = frozenset()  # type: ignore[index]


# --- shapes and reprs ---------------------------------------------------------------------


def test_every_order_field_has_a_default() -> None:
    order = Order()
    assert order.id == 0
    assert order.status == ""
    assert not order.status.is_known
    assert order.host_names == ()
    assert order.expiration_date is None


def test_results_are_distinct_types() -> None:
    results = [m.Created, m.Updated, m.Renewed, m.Reissued, m.Cancelled]
    results += [m.ApproverEmailUpdated, m.ApproverEmailResent]
    for cls in results:
        assert issubclass(cls, m.OrderResult)
        assert cls(id=1).warnings == ()
    updated: object = m.Updated(1)
    assert m.Renewed(1) != updated
    assert m.Renewed(1) == m.Renewed(id=1)
    assert len({cls.__name__ for cls in results}) == len(results)


def test_models_are_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Order().id = 3  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        m.Renewed(1).id = 3  # type: ignore[misc]


def test_repr_hides_secrets() -> None:
    login = m.LoginData(token="s3cr3t-token", reseller_id=42)
    assert "s3cr3t-token" not in repr(login)
    assert "42" in repr(login)
    csr = m.CreatedCsr(csr="CSR-TEXT", key="-----BEGIN PRIVATE KEY-----")
    assert "PRIVATE KEY" not in repr(csr)
    assert "CSR-TEXT" in repr(csr)
    otp = m.OtpToken(token="otp-secret", uri="https://sslpanel.io/x")
    assert "otp-secret" not in repr(otp)
    assert login == m.LoginData(token="s3cr3t-token", reseller_id=42)


def test_request_fields_default_to_not_sent() -> None:
    assert all(f.default is None for f in attrs.fields(UpdateOrderRequest))
    assert m.RenewOrderRequest(id=1).enable_dns_automation is None


# --- the spec: every field it names has an attribute ---------------------------------------

_RESPONSES: dict[str, type[Any]] = {
    "orderSslOrder": Order,
    "orderListOrdersResponseData": m.OrderPage,
    "productSslProduct": m.Product,
    "productListProductsResponseData": m.ProductPage,
    "csrCreateCsrResponseData": m.CreatedCsr,
    "csrDecodeCsrResponseData": m.DecodedCsr,
    "otptokenCreateOtpTokenResponseData": m.OtpToken,
    "approveremailListApproverEmailsResponseData": m.ApproverEmailList,
    "errorWarning": m.ApiWarning,
    "orderCreateOrderResponseData": m.Created,
    "orderUpdateOrderResponseData": m.Updated,
    "orderRenewOrderResponseData": m.Renewed,
    "orderReissueOrderResponseData": m.Reissued,
    "orderCancelOrderResponseData": m.Cancelled,
    "approveremailUpdateApproverEmailAddressResponseData": m.ApproverEmailUpdated,
    "approveremailResendApproverEmailResponseData": m.ApproverEmailResent,
}
_REQUESTS: dict[str, type[Any]] = {
    "orderUpdateOrderRequest": UpdateOrderRequest,
    "orderCreateOrderRequest": m.CreateOrderRequest,
    "orderReissueOrderRequest": m.ReissueOrderRequest,
    "orderRenewOrderRequest": m.RenewOrderRequest,
    "csrCreateCsrRequest": m.CreateCsrRequest,
}
# Spec fields deliberately without an attribute, and attributes the spec does not name.
_NOT_MODELLED = {("orderUpdateOrderRequest", "id")}  # the id travels in the path
_EXTRA_ATTRIBUTES = {"warnings"}  # results carry the envelope's warnings

_SCALARS: dict[str, tuple[type[Any], ...]] = {
    "integer": (int,),
    "number": (float,),
    "boolean": (bool,),
    "string": (str, datetime, OrderStatus),
}


def _definitions(name: str) -> dict[str, Any]:
    path = SPEC_DIR / name
    if not path.is_file():
        pytest.skip(f"spec {path} not found (it lives beside the repo, in shared/)")
    definitions: dict[str, Any] = json.loads(path.read_text())["definitions"]
    return definitions


def _unwrap(tp: Any) -> Any:
    """``X | None`` → X; ``Literal["a", "b"]`` → str; ``tuple[X, ...]`` stays a tuple type."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        assert len(args) == 1, tp
        tp = args[0]
    if typing.get_origin(tp) is typing.Literal:
        # A closed vocabulary (Autorenew, SoftwareId) of one scalar type is that type.
        (tp,) = {type(value) for value in typing.get_args(tp)}
    return tp


def _walk(
    definitions: dict[str, Any],
    name: str,
    cls: type[Any],
    seen: set[tuple[str, str]],
    problems: list[str],
) -> None:
    if (name, cls.__name__) in seen:
        return
    seen.add((name, cls.__name__))
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = definitions[name].get("properties", {})
    for prop, schema in properties.items():
        if (name, prop) in _NOT_MODELLED:
            continue
        if prop not in hints:
            problems.append(f"{name}.{prop} has no attribute on {cls.__name__}")
            continue
        tp = _unwrap(hints[prop])
        if schema.get("type") == "array":
            if typing.get_origin(tp) is not tuple:
                problems.append(f"{cls.__name__}.{prop} should be a tuple, is {tp}")
                continue
            tp, item = typing.get_args(tp)[0], schema["items"]
        else:
            item = schema
        ref = item.get("$ref")
        if ref is not None:
            if not attrs.has(tp):
                problems.append(f"{cls.__name__}.{prop} should be a model, is {tp}")
                continue
            _walk(definitions, ref.rsplit("/", 1)[1], tp, seen, problems)
        elif not (isinstance(tp, type) and issubclass(tp, _SCALARS[item["type"]])):
            problems.append(f"{cls.__name__}.{prop} is {tp}, spec says {item['type']}")
    for attribute in hints:
        if attribute not in properties and attribute not in _EXTRA_ATTRIBUTES:
            problems.append(f"{cls.__name__}.{attribute} is not in spec {name}")


@pytest.mark.parametrize(
    ("name", "cls"), [*_RESPONSES.items(), *_REQUESTS.items()], ids=[*_RESPONSES, *_REQUESTS]
)
def test_model_covers_spec_definition(name: str, cls: type[Any]) -> None:
    problems: list[str] = []
    _walk(_definitions("ssl.swagger.json"), name, cls, set(), problems)
    assert problems == []


def test_login_data_covers_auth_spec() -> None:
    problems: list[str] = []
    _walk(_definitions("auth.swagger.json"), "authLoginResponseData", m.LoginData, set(), problems)
    assert problems == []


def test_every_response_data_definition_is_mapped() -> None:
    definitions = _definitions("ssl.swagger.json")
    response_data = {name for name in definitions if name.endswith("ResponseData")}
    assert response_data <= set(_RESPONSES)
