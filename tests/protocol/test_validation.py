"""Argument checks, run before any request exists: each bad value is a ``ValidationError``
(also a ``ValueError``) naming the argument; each good value comes back in the API's form.

That nothing is sent for a bad argument is tested through the client in
``tests/resources/test_update_renew.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import openprovider_ssl as op
from openprovider_ssl._protocol import validation as check

CSR = (
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "MIIBszCCARwCAQAwczELMAkGA1UEBhMCTkwxFjAUBgNVBAgMDU5vb3JkLUhvbGxh\n"
    "bmQ=\n"
    "-----END CERTIFICATE REQUEST-----\n"
)


def refused(argument: str) -> Any:
    return pytest.raises(op.ValidationError, match=rf"^invalid {argument}: ")


# --- order ids ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1, 31027, 2**31 - 1])
def test_order_ids_that_pass(value: int) -> None:
    assert check.order_id(value) == value


@pytest.mark.parametrize(
    "value",
    ["1/../2", "31027", "1?x=1", 1.0, 2.5, True, False, None, 0, -1, 2**31, b"1", [1]],
)
def test_order_ids_that_are_refused(value: object) -> None:
    with refused("order_id") as caught:
        check.order_id(value)
    assert isinstance(caught.value, ValueError)
    assert "nothing was sent" in str(caught.value)


@given(st.text())
def test_no_string_is_ever_an_order_id(value: str) -> None:
    with pytest.raises(op.ValidationError):
        check.order_id(value)


# --- choices and booleans ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["on", "off"])
def test_autorenew_is_on_or_off(value: str) -> None:
    assert check.choice("autorenew", value, ("on", "off")) == value


@pytest.mark.parametrize("value", ["ON", "yes", "", True, 1, None, " on"])
def test_other_autorenew_values_are_refused(value: object) -> None:
    with refused(
        "autorenew",
    ) as caught:
        check.choice("autorenew", value, ("on", "off"))
    assert "'on', 'off'" in str(caught.value)


@pytest.mark.parametrize("value", ["linux", "windows"])
def test_software_id_is_linux_or_windows(value: str) -> None:
    assert check.choice("software_id", value, ("linux", "windows")) == value


@pytest.mark.parametrize("value", ["Linux", "macos", 1])
def test_other_software_ids_are_refused(value: object) -> None:
    with refused("software_id"):
        check.choice("software_id", value, ("linux", "windows"))


@pytest.mark.parametrize("value", [True, False])
def test_booleans(value: bool) -> None:
    assert check.boolean("start_provision", value) is value


@pytest.mark.parametrize("value", [1, 0, "true", None])
def test_non_booleans_are_refused(value: object) -> None:
    with refused("start_provision"):
        check.boolean("start_provision", value)


# --- emails ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["admin@example.com", "hostmaster@sub.example.co.uk", "a.b+c@x-y.nl"]
)
def test_email_addresses_that_pass(value: str) -> None:
    assert check.email("approver_email", value) == value


@pytest.mark.parametrize(
    "value",
    [
        "admin",
        "admin@",
        "@example.com",
        "admin@example",
        "admin@@example.com",
        "ad..min@example.com",
        "admin@example..com",
        "admin@example.com\nBcc: x@y.com",
        "admin @example.com",
        "admin@exa mple.com",
        "admin@-example.com",
        "ädmin@example.com",
        "",
        None,
        42,
    ],
)
def test_email_addresses_that_are_refused(value: object) -> None:
    with refused("approver_email"):
        check.email("approver_email", value)


# --- CSRs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        CSR,
        CSR.strip(),
        CSR.replace("\n", "\r\n"),
        CSR.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"),
    ],
)
def test_pem_certificate_requests_pass(value: str) -> None:
    assert check.csr(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not a csr",
        CSR.replace("-----END CERTIFICATE REQUEST-----\n", ""),
        CSR.replace("CERTIFICATE REQUEST", "CERTIFICATE"),
        CSR.replace("bmQ=", "bmQ=<script>"),
        CSR + "trailing text",
        "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----",
        "-----BEGIN CERTIFICATE REQUEST-----\n"
        + "A" * 70_000
        + "\n-----END CERTIFICATE REQUEST-----",
        b"-----BEGIN CERTIFICATE REQUEST-----",
        None,
    ],
)
def test_anything_else_is_not_a_csr(value: object) -> None:
    with refused("csr") as caught:
        check.csr(value)
    assert "PEM certificate signing request" in str(caught.value)


# --- host names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "example.com",
        "*.example.com",
        "www.example.co.uk",
        "xn--bcher-kva.example",
        "a_b.example.com",
    ],
)
def test_hostnames_that_pass(value: str) -> None:
    assert check.hostname("host_names[0]", value) == value


@pytest.mark.parametrize(
    "value",
    [
        "example",
        "-example.com",
        "example-.com",
        "exa mple.com",
        "https://example.com",
        "example.com/path",
        "*.*.example.com",
        "www.*.example.com",
        "a..example.com",
        "\u212a.example.com",  # KELVIN SIGN: matches [a-z] under IGNORECASE without ASCII
        "\u017f.example.com",  # LATIN SMALL LETTER LONG S
        "bücher.example",
        ("a" * 64) + ".example.com",
        ".".join(["abcdefghi"] * 26),  # 259 characters
        "",
        None,
    ],
)
def test_hostnames_that_are_refused(value: object) -> None:
    with refused(r"host_names\[0\]"):
        check.hostname("host_names[0]", value)


def test_hostname_lists() -> None:
    assert check.hostnames("host_names", ("a.example.com", "b.example.com")) == [
        "a.example.com",
        "b.example.com",
    ]


@pytest.mark.parametrize("value", ["example.com", [], None, {"example.com": 1}])
def test_hostname_lists_that_are_refused(value: object) -> None:
    with refused("host_names"):
        check.hostnames("host_names", value)


def test_a_bad_hostname_in_a_list_is_named_by_index() -> None:
    with refused(r"host_names\[1\]"):
        check.hostnames("host_names", ["example.com", "not a host"])


# --- handles -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["XY012345-CC", "IA900531-NL", "ab_1"])
def test_handles_that_pass(value: str) -> None:
    assert check.handle("organization_handle", value) == value


@pytest.mark.parametrize("value", ["", "-XY", "XY 01", "XY/../01", "X" * 65, 123, None])
def test_handles_that_are_refused(value: object) -> None:
    with refused("organization_handle"):
        check.handle("organization_handle", value)


# --- domain validation methods -------------------------------------------------------------


def test_validation_methods_accept_objects_and_dicts() -> None:
    methods = check.validation_methods(
        [
            op.DomainValidationMethod(host_name="example.com", method="dns"),
            {"host_name": "www.example.com", "method": "http"},
        ]
    )
    assert methods == [
        op.DomainValidationMethod("example.com", "dns"),
        op.DomainValidationMethod("www.example.com", "http"),
    ]


@pytest.mark.parametrize(
    ("value", "argument"),
    [
        ([], "domain_validation_methods"),
        (None, "domain_validation_methods"),
        ("dns", "domain_validation_methods"),
        ({"host_name": "example.com", "method": "dns"}, "domain_validation_methods"),
        ([{"host_name": "example.com"}], r"domain_validation_methods\[0\]"),
        ([{"method": "dns"}], r"domain_validation_methods\[0\]"),
        (
            [{"host_name": "example.com", "method": "dns", "x": 1}],
            r"domain_validation_methods\[0\]",
        ),
        ([("example.com", "dns")], r"domain_validation_methods\[0\]"),
        (
            [{"host_name": "no spaces.com", "method": "dns"}],
            r"domain_validation_methods\[0\]\.host_name",
        ),
        ([{"host_name": 5, "method": "dns"}], r"domain_validation_methods\[0\]\.host_name"),
        (
            [{"host_name": "example.com", "method": "DNS!"}],
            r"domain_validation_methods\[0\]\.method",
        ),
        ([{"host_name": "example.com", "method": ""}], r"domain_validation_methods\[0\]\.method"),
        ([{"host_name": "example.com", "method": None}], r"domain_validation_methods\[0\]\.method"),
        (
            [
                {"host_name": "example.com", "method": "dns"},
                op.DomainValidationMethod("example.com", "no way"),
            ],
            r"domain_validation_methods\[1\]\.method",
        ),
    ],
)
def test_validation_methods_that_are_refused(value: object, argument: str) -> None:
    with refused(argument):
        check.validation_methods(value)
