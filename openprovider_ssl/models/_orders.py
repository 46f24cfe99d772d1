"""SSL orders, their statuses, and what each status allows."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import attrs

from ..errors import ValidationError
from ._common import ApiWarning, DomainValidationMethod
from ._requests import UpdateOrderRequest

DEFAULT_RENEWAL_WINDOW_DAYS = 30
"""The default renewal window in days: what the Openprovider guide this SDK was built from says
(guide 10). The current public version of that guide says 90; see ``MAX_RENEWAL_WINDOW_DAYS``."""

MAX_RENEWAL_WINDOW_DAYS = 90
"""The widest renewal window a client (or the fake) accepts, in days: the current public guide's
90 days."""

RENEW_WINDOW = timedelta(days=DEFAULT_RENEWAL_WINDOW_DAYS)
"""The default renewal window: a certificate may be renewed once it expires within it.

It is only the default: ``Client(renewal_window_days=N)`` (1 to 90) and
``Order.can_renew(window_days=N)`` take another."""


def renewal_window(days: object, name: str = "renewal_window_days") -> timedelta:
    """``days`` (a whole number from 1 to ``MAX_RENEWAL_WINDOW_DAYS``) as a ``timedelta``;
    anything else is a ``ValidationError`` naming ``name``."""
    if (
        isinstance(days, bool)
        or not isinstance(days, int)
        or not 1 <= days <= MAX_RENEWAL_WINDOW_DAYS
    ):
        raise ValidationError(
            name,
            f"must be a whole number of days from 1 to {MAX_RENEWAL_WINDOW_DAYS}, got {days!r}",
        )
    return timedelta(days=int(days))


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

    def can_renew(
        self, now: datetime | None = None, *, window_days: int = DEFAULT_RENEWAL_WINDOW_DAYS
    ) -> bool:
        """True if renew is allowed: ACT, not expired, expiring within ``window_days`` days.

        ``window_days`` is the renewal window, 1 to 90 (default 30, ``RENEW_WINDOW``); pass
        ``client.renewal_window_days`` to use the client's setting. Its far edge is inclusive:
        exactly ``window_days`` days before expiration qualifies.
        """
        window = (
            RENEW_WINDOW
            if window_days == DEFAULT_RENEWAL_WINDOW_DAYS and type(window_days) is int
            else renewal_window(window_days, "window_days")
        )
        if self.status != OrderStatus.ACT or self.expiration_date is None:
            return False
        current = _utc_now(now)
        return current < self.expiration_date <= current + window

    def updatable_fields(self) -> frozenset[str]:
        """Names of ``UpdateOrderRequest`` fields an update may change in this status."""
        return UPDATABLE_FIELDS.get(self.status, frozenset())


@attrs.frozen
class OrderPage:
    """One page of a list-orders answer; ``total`` counts all matches, not just this page."""

    results: tuple[Order, ...] = ()
    total: int = 0
    warnings: tuple[ApiWarning, ...] = ()
