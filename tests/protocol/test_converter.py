"""Pure tests of the private converter: answers into models, request models into JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openprovider_ssl import models as m
from openprovider_ssl._protocol import converter as conv
from openprovider_ssl._protocol.converter import STRUCTURE_ERRORS, structure, unstructure_request
from openprovider_ssl.models import DomainValidationMethod, Order, OrderStatus

CSR = "-----BEGIN CERTIFICATE REQUEST-----\nMIIC0TCCAbkCAQAw\n-----END CERTIFICATE REQUEST-----"

FULL_ORDER: dict[str, Any] = {
    "active_date": "2019-01-01 0:00:01",  # the spec's own examples leave the hour unpadded
    "additional_data": [
        {
            "dns": "73d01a12",
            "dns_record": "example.com",
            "dns_value": "0453ff12",
            "domain": "example.com",
            "file_content": "73d01a12",
            "file_contents": "0453ff12",
            "file_location": "example.com/.well-known/pki-validation/fileauth.txt",
            "file_name": "fileauth.txt",
            "md5": "73d01a12",
            "old_cert_format": ["dywtgtjt"],
            "sha1": "0453ff12",
            "sha256": "0453ff13",
            "token": "a9a57750",
            "url": "http://3.example.com/.well-known/pki-validation/1.txt",
        }
    ],
    "administrative_handle": "XX123456-XX",
    "autorenew": "off",
    "billing_handle": "XX123457-XX",
    "brand_name": "Comodo",
    "certificate": "",
    "common_name": "example.com",
    "csr": CSR,
    "domain_validation_methods": [{"host_name": "example.com", "method": "https"}],
    "domain_validation_statuses": {
        "ca_operation": "request",
        "ca_order_status": "in_progress",
        "ca_status": "requested",
        "status": "open",
    },
    "email_approver": "admin@example.com",
    "email_reissue": "admin2@example.com",
    "expiration_date": "2021-01-01 00:00:01",
    "features": "",
    "host_names": ["www.example.com"],
    "id": 123456789,
    "intermediate_certificate": "",
    "options": {"features": "x"},
    "order_date": "2018-12-31T23:00:00Z",
    "order_ends_at": "2021-01-01T02:00:00+02:00",
    "organization_handle": "TH000001-NL",
    "period": 2,
    "product_id": 5,
    "product_name": "EssentialSSL",
    "reissue_at": "2020-06-01",
    "root_certificate": "",
    "software": "linux",
    "sslinhva_order_id": "11111111-1111-1111-1111-111111111111",
    "status": "REQ",
    "technical_handle": "TH000002-NL",
    "validation_method": "domain",
    "vendor_order_id": "123456789",
    "vendor_reference_id": "987654321",
}


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


# --- orders -------------------------------------------------------------------------------


def test_full_order() -> None:
    order = structure(FULL_ORDER, Order)
    assert order.id == 123456789
    assert order.status is OrderStatus.REQ
    assert order.active_date == _utc(2019, 1, 1, 0, 0, 1)
    assert order.expiration_date == _utc(2021, 1, 1, 0, 0, 1)
    assert order.order_date == _utc(2018, 12, 31, 23, 0, 0)
    assert order.order_ends_at == _utc(2021, 1, 1, 0, 0, 0)
    assert order.reissue_at == _utc(2020, 6, 1)
    for value in (order.active_date, order.order_ends_at, order.reissue_at):
        assert value is not None
        assert value.tzinfo is UTC
    assert order.host_names == ("www.example.com",)
    assert order.domain_validation_methods == (DomainValidationMethod("example.com", "https"),)
    assert order.domain_validation_statuses == m.DomainValidationStatuses(
        ca_operation="request", ca_order_status="in_progress", ca_status="requested", status="open"
    )
    assert order.options == m.OrderOptions(features="x")
    [extra] = order.additional_data
    assert extra.old_cert_format == ("dywtgtjt",)
    assert extra.sha256 == "0453ff13"
    # Every key of the answer landed on the attribute of the same name.
    plain = conv.unstructure(order)
    for key, value in FULL_ORDER.items():
        if not key.endswith(("_date", "_at")):
            assert plain[key] == value, key


def test_order_round_trip() -> None:
    order = structure(FULL_ORDER, Order)
    plain = conv.unstructure(order)
    assert plain["active_date"] == "2019-01-01 00:00:01"
    assert plain["order_ends_at"] == "2021-01-01 00:00:00"
    assert plain["status"] == "REQ"
    assert isinstance(plain["host_names"], list)
    assert structure(json.loads(json.dumps(plain)), Order) == order


def test_partial_order_and_unknown_keys() -> None:
    order = structure({"id": 7, "brand_new_field": {"x": 1}, "status": "ACT"}, Order)
    assert order == Order(id=7, status=OrderStatus.ACT)


def test_unknown_and_missing_status() -> None:
    assert structure({"status": "XYZ"}, Order).status == "XYZ"
    assert not structure({"status": "XYZ"}, Order).status.is_known
    assert structure({"status": None}, Order).status == ""
    assert structure({}, Order).status == ""
    assert conv.unstructure(structure({"status": "XYZ"}, Order))["status"] == "XYZ"


def test_nulls_read_as_empty() -> None:
    order = structure({"csr": None, "host_names": None, "options": None}, Order)
    assert (order.csr, order.host_names, order.options) == ("", (), None)


def test_lenient_scalars() -> None:
    order = structure({"id": "7", "period": 2.0, "vendor_order_id": 123}, Order)
    assert (order.id, order.period, order.vendor_order_id) == (7, 2, "123")
    product = structure({"is_idn_supported": "true", "bypass_san": 0, "id": "5"}, m.Product)
    assert (product.is_idn_supported, product.bypass_san, product.id) == (True, False, 5)
    price = structure({"currency": "EUR", "price": "12.5"}, m.ProductPrice)
    assert price.price == 12.5


@pytest.mark.parametrize(
    "data",
    [
        {"id": "abc"},
        {"id": 1.5},
        {"id": True},
        {"id": None},
        {"id": {"x": 1}},
        {"host_names": "example.com"},  # plain cattrs would make a tuple of characters
        {"host_names": [["nested"]]},
        {"options": ["not", "an", "object"]},
        {"domain_validation_methods": [{"method": "dns"}]},  # host_name is required
        {"common_name": ["a"]},
        {"active_date": 20190101},
    ],
)
def test_malformed_order_raises_a_documented_error(data: dict[str, Any]) -> None:
    with pytest.raises(STRUCTURE_ERRORS) as caught:
        structure(data, Order)
    assert isinstance(caught.value, cattrs.BaseValidationError)
    [message] = cattrs.transform_error(caught.value)
    assert f"$.{next(iter(data))}" in message


@pytest.mark.parametrize("data", [[], "abc", None, 1, [{"id": 1}]])
def test_top_level_must_be_an_object(data: object) -> None:
    with pytest.raises(TypeError):
        structure(data, Order)


# --- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-01-01 00:00:01", _utc(2019, 1, 1, 0, 0, 1)),
        ("2019-01-01 0:00:01", _utc(2019, 1, 1, 0, 0, 1)),
        ("2019-1-2 3:04", _utc(2019, 1, 2, 3, 4)),
        ("2019-01-01T00:00:01", _utc(2019, 1, 1, 0, 0, 1)),
        ("2019-01-01T00:00:01Z", _utc(2019, 1, 1, 0, 0, 1)),
        ("2019-01-01T02:00:01+02:00", _utc(2019, 1, 1, 0, 0, 1)),
        ("2019-01-01 00:00:01.250", _utc(2019, 1, 1, 0, 0, 1).replace(microsecond=250000)),
        ("2019-01-01", _utc(2019, 1, 1)),
        ("", None),
        (None, None),
        ("0000-00-00 00:00:00", None),
        ("0000-00-00", None),
    ],
)
def test_dates(text: str | None, expected: datetime | None) -> None:
    assert structure({"expiration_date": text}, Order).expiration_date == expected
    assert conv.parse_datetime(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "2019-13-01 00:00:00",
        "2019-02-30",
        "2019-01-01 25:00:00",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_bad_dates_raise(text: str) -> None:
    with pytest.raises(cattrs.BaseValidationError):
        structure({"expiration_date": text}, Order)
    with pytest.raises(ValueError):
        conv.parse_datetime(text)


def test_dates_go_out_in_the_api_format() -> None:
    fmt = conv.format_datetime
    assert fmt(_utc(2019, 1, 1, 0, 0, 1)) == "2019-01-01 00:00:01"
    assert fmt(datetime(2019, 1, 1, 2, 0, 1, tzinfo=timezone(timedelta(hours=2)))) == (
        "2019-01-01 00:00:01"
    )
    assert fmt(datetime(2019, 1, 1, 0, 0, 1, 999)) == "2019-01-01 00:00:01"  # naive = UTC
    otp = m.OtpToken(token="t", uri="u", expire_at=_utc(2023, 11, 27, 9, 1, 5))
    assert conv.unstructure(otp) == {"token": "t", "uri": "u", "expire_at": "2023-11-27 09:01:05"}


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
def test_dates_round_trip(value: datetime) -> None:
    value = value.replace(microsecond=0, tzinfo=UTC)
    assert conv.parse_datetime(conv.format_datetime(value)) == value


# --- write results and warnings -----------------------------------------------------------


def test_write_results() -> None:
    assert structure({"id": 123}, m.Renewed) == m.Renewed(id=123)
    assert structure({"id": "1"}, m.Renewed) == m.Renewed(id=1)
    assert type(structure({"id": 1}, m.Updated)) is m.Updated
    with pytest.raises(cattrs.BaseValidationError):
        structure({}, m.Renewed)


def test_warnings_keep_any_json_data_as_text() -> None:
    raw = [
        {"code": 1, "desc": "plain", "data": "text"},
        {"code": "2", "data": {"a": [1, 2]}},
        {"code": 3, "data": [1, "x"]},
        {"code": 4, "data": 5},
        {"code": 5, "data": False},
        {"code": 6, "data": None},
        {"desc": "no code"},
    ]
    result = structure({"id": 9, "warnings": raw}, m.Renewed)
    assert result.warnings == (
        m.ApiWarning(1, "plain", "text"),
        m.ApiWarning(2, "", '{"a": [1, 2]}'),
        m.ApiWarning(3, "", '[1, "x"]'),
        m.ApiWarning(4, "", "5"),
        m.ApiWarning(5, "", "false"),
        m.ApiWarning(6, "", None),
        m.ApiWarning(0, "no code", None),
    )
    assert structure(raw[:1], tuple[m.ApiWarning, ...]) == (m.ApiWarning(1, "plain", "text"),)


@pytest.mark.parametrize("warning", [["not", "an", "object"], {"code": "abc"}, {"code": [1]}])
def test_malformed_warning_raises(warning: object) -> None:
    with pytest.raises(STRUCTURE_ERRORS):
        structure({"id": 1, "warnings": [warning]}, m.Renewed)


# --- other answers ------------------------------------------------------------------------


def test_other_answers() -> None:
    login = structure({"token": "abc", "reseller_id": 123456}, m.LoginData)
    assert login == m.LoginData(token="abc", reseller_id=123456)
    with pytest.raises(cattrs.BaseValidationError):
        structure({"reseller_id": 1}, m.LoginData)
    emails = structure({"results": ["admin@example.com"]}, m.ApproverEmailList)
    assert emails.results == ("admin@example.com",)
    page = structure({"results": [{"id": 1}, {"id": 2}], "total": 40}, m.OrderPage)
    assert [o.id for o in page.results] == [1, 2]
    assert page.total == 40
    decoded = structure(
        {"domain_names_count": 2, "public_key": {"bits": 2048, "key": ""}, "subject": {}},
        m.DecodedCsr,
    )
    assert decoded.public_key == m.CsrPublicKey(bits=2048, key="")
    assert decoded.subject == m.CsrSubject()
    price = {"product": {"currency": "USD", "price": 0}, "reseller": {"currency": "EUR"}}
    product = structure({"id": 1, "prices": [{"period": 1, "price": price}]}, m.Product)
    [prices] = product.prices
    assert prices.price is not None
    assert prices.price.reseller == m.ProductPrice(currency="EUR", price=0.0)


# --- requests -----------------------------------------------------------------------------


def test_update_request_sends_only_what_is_set() -> None:
    request = m.UpdateOrderRequest(
        autorenew="on", domain_validation_methods=(DomainValidationMethod("example.com", "dns"),)
    )
    assert unstructure_request(request) == {
        "autorenew": "on",
        "domain_validation_methods": [{"host_name": "example.com", "method": "dns"}],
    }
    assert unstructure_request(m.UpdateOrderRequest(autorenew="on")) == {"autorenew": "on"}
    assert unstructure_request(m.UpdateOrderRequest()) == {}


def test_false_and_empty_values_are_sent() -> None:
    request = m.UpdateOrderRequest(start_provision=False, host_names=(), csr="")
    assert unstructure_request(request) == {"start_provision": False, "host_names": [], "csr": ""}
    renew = m.RenewOrderRequest(id=1, enable_dns_automation=False)
    assert unstructure_request(renew) == {"id": 1, "enable_dns_automation": False}
    assert unstructure_request(m.RenewOrderRequest(id=1)) == {"id": 1}


def test_other_requests() -> None:
    create = m.CreateOrderRequest(product_id=5, period=1, csr=CSR, host_names=("a.example",))
    assert unstructure_request(create) == {
        "product_id": 5,
        "period": 1,
        "csr": CSR,
        "host_names": ["a.example"],
    }
    reissue = m.ReissueOrderRequest(id=3, software_id="linux")
    assert unstructure_request(reissue) == {"id": 3, "software_id": "linux"}
    csr = m.CreateCsrRequest(common_name="example.com", subject_alternative_name=("www.a",))
    assert unstructure_request(csr) == {
        "common_name": "example.com",
        "subject_alternative_name": ["www.a"],
    }


@pytest.mark.parametrize(
    "request_",
    [
        m.UpdateOrderRequest(
            approver_email="admin@example.com",
            autorenew="on",
            csr=CSR,
            domain_validation_methods=(DomainValidationMethod("example.com", "dns"),),
            enable_dns_automation=True,
            host_names=("example.com",),
            organization_handle="XY012345-CC",
            signature_hash_algorithm="sha2",
            software_id="windows",
            start_provision=True,
            technical_handle="XY012345-CC",
        ),
        m.RenewOrderRequest(id=1, enable_dns_automation=True),
        m.CreateOrderRequest(product_id=1, domain_amount=2, wildcard_domain_amount=0),
        m.CreateCsrRequest(bits=2048, with_config=True, country="NL"),
    ],
)
def test_requests_round_trip(request_: attrs.AttrsInstance) -> None:
    body = unstructure_request(request_)
    assert None not in body.values()
    assert structure(json.loads(json.dumps(body)), type(request_)) == request_


def test_only_request_models_unstructure_as_requests() -> None:
    with pytest.raises(TypeError):
        unstructure_request(Order())


# --- arbitrary JSON -----------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_order_keys = st.sampled_from([f.name for f in attrs.fields(Order)])
_date_like = st.from_regex(r"\A[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9]{1,2}:[0-9]{2}.*)?\Z")


@given(
    st.one_of(
        _json,
        st.dictionaries(_order_keys | st.text(max_size=8), _json | _date_like, max_size=12),
    )
)
def test_arbitrary_json_raises_only_documented_errors(data: Any) -> None:
    try:
        order = structure(data, Order)
    except STRUCTURE_ERRORS:
        return
    assert isinstance(order, Order)
    assert isinstance(order.status, OrderStatus)
    for value in (order.active_date, order.expiration_date, order.reissue_at):
        assert value is None or value.tzinfo is UTC
