"""SSL orders, their statuses, and what each status allows."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import attrs

from ._common import ApiWarning, DomainValidationMethod
from ._requests import UpdateOrderRequest

RENEW_WINDOW = timedelta(days=30)
"""A certificate may be renewed once it expires within this window (guide 10)."""


class OrderStatus(enum.StrEnum):
    """Status of an SSL order.

    Unknown values are tolerated: ``OrderStatus("XYZ")`` does not raise but returns a
    pseudo-member whose value is ``"XYZ"``; it compares equal to ``"XYZ"``, hashes like it
    and works anywhere a ``str`` does, so a new server status never breaks loading an order.
    ``is_known`` tells the two apart.
    """

    PAI = "PAI"  # paid, not yet sent to the CA
    REQ = "REQ"  # requested at the CA, validation pending
    ACT = "ACT"  # issued and active
    EXP = "EXP"  # expired
    REJ = "REJ"  # rejected (also: a cancel is pending at the CA)
    FAI = "FAI"  # failed (also: cancelled or revoked at the CA)
    CAN = "CAN"  # cancelled

    @classmethod
    def _missing_(cls, value: object) -> OrderStatus | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        """True for the statuses defined above, False for pseudo-members."""
        return self._value_ in type(self)._value2member_map_


_NO_STATUS = OrderStatus("")  # an Order whose answer carried no status

UPDATABLE_FIELDS: Mapping[OrderStatus, frozenset[str]] = MappingProxyType(
    {
        OrderStatus.PAI: frozenset(attrs.fields_dict(UpdateOrderRequest)),  # every field
        OrderStatus.REQ: frozenset({"domain_validation_methods", "autorenew"}),
        OrderStatus.ACT: frozenset({"autorenew"}),
    }
)
"""Which ``UpdateOrderRequest`` fields an update may change, by order status (guide 6).

Statuses not listed (EXP, REJ, FAI, CAN, unknown) allow nothing.
"""


def _utc_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    # A naive "now" is taken as UTC so callers cannot trip over aware/naive comparisons.
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


@attrs.frozen(kw_only=True)
class OrderAdditionalData:
    """DNS and HTTP validation details for one domain (spec ``orderSslOrderAdditionalData``)."""

    dns: str = ""
    dns_record: str = ""
    dns_value: str = ""
    domain: str = ""
    file_content: str = ""
    file_contents: str = ""
    file_location: str = ""
    file_name: str = ""
    md5: str = ""
    old_cert_format: tuple[str, ...] = ()
    sha1: str = ""
    sha256: str = ""
    token: str = ""
    url: str = ""


@attrs.frozen(kw_only=True)
class DomainValidationStatuses:
    """Where the order stands at the CA (spec ``orderSslOrderDomainValidationStatuses``)."""

    ca_operation: str = ""
    ca_order_status: str = ""
    ca_status: str = ""
    status: str = ""


@attrs.frozen(kw_only=True)
class OrderOptions:
    """Order options (spec ``orderSslOrderOptions``)."""

    features: str = ""


@attrs.frozen(kw_only=True)
class Order:
    """An SSL order (spec ``orderSslOrder``), with pure helpers for renew and update rules."""

    active_date: datetime | None = None
    additional_data: tuple[OrderAdditionalData, ...] = ()
    administrative_handle: str = ""
    autorenew: str = ""
    billing_handle: str = ""
    brand_name: str = ""
    certificate: str = attrs.field(default="", repr=False)  # long PEM text
    common_name: str = ""
    csr: str = attrs.field(default="", repr=False)  # long PEM text
    domain_validation_methods: tuple[DomainValidationMethod, ...] = ()
    domain_validation_statuses: DomainValidationStatuses | None = None
    email_approver: str = ""
    email_reissue: str = ""
    expiration_date: datetime | None = None
    features: str = ""
    host_names: tuple[str, ...] = ()
    id: int = 0
    intermediate_certificate: str = attrs.field(default="", repr=False)  # long PEM text
    options: OrderOptions | None = None
    order_date: datetime | None = None
    order_ends_at: datetime | None = None
    organization_handle: str = ""
    period: int = 0
    product_id: int = 0
    product_name: str = ""
    reissue_at: datetime | None = None
    root_certificate: str = attrs.field(default="", repr=False)  # long PEM text
    software: str = ""
    sslinhva_order_id: str = ""
    status: OrderStatus = _NO_STATUS
    technical_handle: str = ""
    validation_method: str = ""
    vendor_order_id: str = ""
    vendor_reference_id: str = ""

    def is_expired(self, now: datetime | None = None) -> bool:
        """True if the status is EXP or the expiration date has passed (naive ``now`` = UTC)."""
        if self.status == OrderStatus.EXP:
            return True
        return self.expiration_date is not None and self.expiration_date <= _utc_now(now)

    def can_renew(self, now: datetime | None = None) -> bool:
        """True if renew is allowed: ACT, not expired, expiring within ``RENEW_WINDOW``.

        The window's far edge is inclusive: exactly 30 days before expiration qualifies.
        """
        if self.status != OrderStatus.ACT or self.expiration_date is None:
            return False
        current = _utc_now(now)
        return current < self.expiration_date <= current + RENEW_WINDOW

    def updatable_fields(self) -> frozenset[str]:
        """Names of ``UpdateOrderRequest`` fields an update may change in this status."""
        return UPDATABLE_FIELDS.get(self.status, frozenset())


@attrs.frozen
class OrderPage:
    """One page of a list-orders answer; ``total`` counts all matches, not just this page."""

    results: tuple[Order, ...] = ()
    total: int = 0
    warnings: tuple[ApiWarning, ...] = ()
