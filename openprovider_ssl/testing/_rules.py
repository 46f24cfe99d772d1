"""The write rules of guide 6 and BEHAVIOUR.md: who may change what, in which status.

Every function validates everything first and changes the order only at the end, so a refused
request never leaves a half-applied order behind. Renew lives in ``_renewals``. Modelled, not
documented: the validation methods (email, dns, http, https), the approver email's shape
(``local@domain.tld``), the period bounds (1 to the product's ``max_period``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, Final

from ._catalog import PRODUCTS_BY_ID, Product
from ._der import csr_names, pem_der
from ._errors import NOT_ALLOWED_IN_STATUS, PRODUCT_NOT_FOUND, ApiError, schema_error
from ._state import Order, OrderStore, fmt

#: Update fields each status accepts (guide 6). ``id`` and the deprecated hash are always fine.
UPDATABLE: Final[dict[str, frozenset[str]]] = {
    "PAI": frozenset(
        {
            "csr",
            "organization_handle",
            "technical_handle",
            "approver_email",
            "host_names",
            "software_id",
            "domain_validation_methods",
            "autorenew",
            "start_provision",
            "enable_dns_automation",
        }
    ),
    "REQ": frozenset({"domain_validation_methods", "autorenew"}),
    "ACT": frozenset({"autorenew"}),
}
IGNORED_FIELDS: Final = frozenset({"id", "signature_hash_algorithm"})
DCV_METHODS: Final = frozenset({"email", "dns", "http", "https"})
#: A success warning, so clients can prove warnings reach the caller.
DEPRECATED_WARNING: Final = {
    "code": 1,
    "data": "signature_hash_algorithm",
    "desc": "signature_hash_algorithm is deprecated and ignored",
}
Warnings = list[dict[str, Any]]


def _not_allowed(what: str, status: str) -> ApiError:
    return ApiError(
        NOT_ALLOWED_IN_STATUS,
        f"{what} is not allowed in status {status}",
        desc=f"{what} is not allowed for an order in status {status}",
    )


def _warnings(body: dict[str, Any]) -> Warnings:
    return [dict(DEPRECATED_WARNING)] if "signature_hash_algorithm" in body else []


def _choice(body: dict[str, Any], field: str, allowed: tuple[str, ...]) -> None:
    if field in body and body[field] not in allowed:
        raise schema_error(f"body.{field}: expected one of {', '.join(allowed)}")


def _email(value: str, field: str) -> str:
    local, _, domain = value.partition("@")
    if not local or "." not in domain:
        raise schema_error(f"body.{field}: {value!r} is not an email address")
    return value


class _Draft:
    """The fields an update/reissue/create would set, checked together before anything moves."""

    def __init__(self, product: Product, common_name: str, host_names: tuple[str, ...]) -> None:
        self.product = product
        self.common_name = common_name
        self.sans: list[str] = []
        self.host_names = host_names
        self.changes: dict[str, Any] = {}

    def read(self, body: dict[str, Any]) -> _Draft:
        _choice(body, "autorenew", ("on", "off"))
        _choice(body, "software_id", ("linux", "windows"))
        for field in ("autorenew", "software_id", "organization_handle", "technical_handle"):
            if field in body:
                self.changes[field] = body[field]
        if "enable_dns_automation" in body:
            self.changes["enable_dns_automation"] = body["enable_dns_automation"]
        if "approver_email" in body:
            self.changes["approver_email"] = _email(body["approver_email"], "approver_email")
        if "csr" in body:
            pem_der(body["csr"])
            common_name, self.sans = csr_names(body["csr"])
            self.common_name = common_name or self.common_name
            self.changes["csr"] = body["csr"]
            self.changes["common_name"] = self.common_name
        if "host_names" in body:
            if body["host_names"] and not self.product.multi_domain:
                raise schema_error("body.host_names: only allowed for multi-domain products")
            self.host_names = tuple(body["host_names"])
            self.changes["host_names"] = self.host_names
        if "domain_validation_methods" in body:
            self.changes["domain_validation_methods"] = self._methods(
                body["domain_validation_methods"]
            )
        return self

    def _methods(self, items: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
        known = {self.common_name, *self.sans, *self.host_names}
        out = []
        for i, item in enumerate(items):
            host, method = item.get("host_name", self.common_name), item.get("method")
            if method not in DCV_METHODS:
                raise schema_error(
                    f"body.domain_validation_methods[{i}].method: expected one of "
                    + ", ".join(sorted(DCV_METHODS))
                )
            if host not in known:
                raise schema_error(
                    f"body.domain_validation_methods[{i}].host_name: {host!r} is not one of "
                    "the order's hostnames"
                )
            out.append((host, method))
        return tuple(out)

    def apply(self, order: Order) -> None:
        for field, value in self.changes.items():
            setattr(order, field, value)


def update_order(store: OrderStore, order_id: int, body: dict[str, Any]) -> Warnings:
    """UpdateOrder: only the fields the status allows; ``start_provision`` moves PAI to REQ."""
    order = store.get(order_id)
    allowed = UPDATABLE.get(order.status, frozenset())
    for field in body:
        if field not in IGNORED_FIELDS and field not in allowed:
            raise _not_allowed(f"updating field '{field}'", order.status)
    draft = _Draft(order.product, order.common_name, order.host_names).read(body)
    draft.apply(order)
    if body.get("start_provision"):
        order.status = "REQ"
    return _warnings(body)


def reissue_order(
    store: OrderStore, order_id: int, body: dict[str, Any], now: datetime
) -> Warnings:
    """ReissueOrder: ACT only; new CSR/hostnames/DCV replace the old, the status stays."""
    order = store.get(order_id)
    if order.status != "ACT":
        raise _not_allowed("reissue", order.status)
    draft = _Draft(order.product, order.common_name, order.host_names).read(body)
    draft.apply(order)
    order.reissue_at = now
    return _warnings(body)


def cancel_order(store: OrderStore, order_id: int) -> None:
    """CancelOrder: PAI, REQ and ACT orders become CAN."""
    order = store.get(order_id)
    if order.status not in ("PAI", "REQ", "ACT"):
        raise _not_allowed("cancel", order.status)
    order.status = "CAN"


def update_approver_email(store: OrderStore, order_id: int, body: dict[str, Any]) -> None:
    """UpdateApproverEmailAddress: REQ only."""
    order = store.get(order_id)
    if order.status != "REQ":
        raise _not_allowed("updating field 'approver_email'", order.status)
    order.approver_email = _email(body["approver_email"], "approver_email")


def resend_approver_email(store: OrderStore, order_id: int) -> None:
    """ResendApproverEmail: REQ only; nothing to change, the mail is 'sent'."""
    order = store.get(order_id)
    if order.status != "REQ":
        raise _not_allowed("resending the approver email", order.status)


def create_otp_token(
    store: OrderStore, order_id: int, now: datetime, seed: int, serial: int
) -> dict[str, Any]:
    """CreateOtpToken: a one-day token for the end user, deterministic from seed and serial."""
    store.get(order_id)
    token = hashlib.sha256(f"{seed}/{order_id}/{serial}".encode()).hexdigest()[:32]
    return {
        "token": token,
        "uri": f"https://sslinhva.openprovider.eu/otp/{token}",
        "expire_at": fmt(now + timedelta(days=1)),
    }


def create_order(store: OrderStore, body: dict[str, Any], now: datetime) -> tuple[int, Warnings]:
    """CreateOrder: a new order in PAI, or REQ with ``start_provision``."""
    product = PRODUCTS_BY_ID.get(body["product_id"])
    if product is None:
        raise ApiError(PRODUCT_NOT_FOUND, f"product {body['product_id']} does not exist")
    period = body["period"]
    if not 1 <= period <= product.max_period:
        raise schema_error(f"body.period: must be between 1 and {product.max_period}")
    hosts = tuple(body.get("host_names", ()))
    draft = _Draft(product, hosts[0] if hosts else "", ()).read(body)
    if not draft.common_name:
        raise schema_error("body.csr: the CSR has no common name")
    order = Order(
        id=store.next_id,
        product_id=product.id,
        status="REQ" if body.get("start_provision") else "PAI",
        common_name=draft.common_name,
        period=period,
        order_date=now.replace(microsecond=0),
    )
    draft.apply(order)
    store.add(order)
    return order.id, _warnings(body)
