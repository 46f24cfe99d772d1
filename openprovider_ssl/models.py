"""Plain attrs models for what the Openprovider SSL API answers and what we send it.

The models hold data and a few pure helpers; how they map to and from JSON lives in
``openprovider_ssl._converter``. Field names follow the v1beta spec (already snake_case).

Response models are tolerant: every field has a default so partial answers still load.
Absent strings read as ``""``, numbers as ``0``, lists as ``()``, and nested objects, dates
and booleans as ``None``. Dates are timezone-aware UTC datetimes.

Request models use ``None`` for "not sent": the converter drops those fields.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import attrs

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

_UPDATABLE_IN_PAI = frozenset(
    {
        "approver_email",
        "autorenew",
        "csr",
        "domain_validation_methods",
        "enable_dns_automation",
        "host_names",
        "organization_handle",
        "signature_hash_algorithm",
        "software_id",
        "start_provision",
        "technical_handle",
    }
)

UPDATABLE_FIELDS: Mapping[OrderStatus, frozenset[str]] = MappingProxyType(
    {
        OrderStatus.PAI: _UPDATABLE_IN_PAI,
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


# --- envelope parts and simple write results ---------------------------------------------


@attrs.frozen
class ApiWarning:
    """One entry of the envelope's ``warnings`` list (spec ``errorWarning``)."""

    code: int
    desc: str = ""
    data: str | None = None


@attrs.frozen
class DomainValidationMethod:
    """How one host name is validated, e.g. ``("example.com", "dns")``."""

    host_name: str
    method: str


@attrs.frozen
class OrderResult:
    """Answer of a write on one order: the id the server processed plus its warnings."""

    id: int
    warnings: tuple[ApiWarning, ...] = ()


@attrs.frozen
class Created(OrderResult):
    """An order was created; ``id`` is the new order's id."""


@attrs.frozen
class Updated(OrderResult):
    """An order was updated."""


@attrs.frozen
class Renewed(OrderResult):
    """A renew was accepted (and charged)."""


@attrs.frozen
class Reissued(OrderResult):
    """A reissue was accepted."""


@attrs.frozen
class Cancelled(OrderResult):
    """A cancel was accepted."""


@attrs.frozen
class ApproverEmailUpdated(OrderResult):
    """The approver email of an order was changed."""


@attrs.frozen
class ApproverEmailResent(OrderResult):
    """The approval email was sent again."""


# --- orders -----------------------------------------------------------------------------


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
    certificate: str = ""
    common_name: str = ""
    csr: str = ""
    domain_validation_methods: tuple[DomainValidationMethod, ...] = ()
    domain_validation_statuses: DomainValidationStatuses | None = None
    email_approver: str = ""
    email_reissue: str = ""
    expiration_date: datetime | None = None
    features: str = ""
    host_names: tuple[str, ...] = ()
    id: int = 0
    intermediate_certificate: str = ""
    options: OrderOptions | None = None
    order_date: datetime | None = None
    order_ends_at: datetime | None = None
    organization_handle: str = ""
    period: int = 0
    product_id: int = 0
    product_name: str = ""
    reissue_at: datetime | None = None
    root_certificate: str = ""
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


# --- products ---------------------------------------------------------------------------


@attrs.frozen
class ProductPrice:
    """An amount in one currency (spec ``productSslProductPrice`` and ``...Reseller``)."""

    currency: str = ""
    price: float = 0.0


@attrs.frozen(kw_only=True)
class ProductPriceGroup:
    """A price in the product's currency and in the reseller's currency."""

    product: ProductPrice | None = None
    reseller: ProductPrice | None = None


@attrs.frozen(kw_only=True)
class ProductPrices:
    """Prices for one period in years (spec ``productSslProductPrices``)."""

    period: int = 0
    price: ProductPriceGroup | None = None
    extra_domain_price: ProductPriceGroup | None = None
    extra_wildcard_domain_price: ProductPriceGroup | None = None


@attrs.frozen(kw_only=True)
class ProductLevelPrices:
    """Prices of one reseller price level (spec ``productSslProductLevelPrices``)."""

    level: int = 0
    name: str = ""
    prices: tuple[ProductPrices, ...] = ()


@attrs.frozen
class SupportedSoftware:
    """A platform the certificate supports, e.g. ``("linux", "Linux")``."""

    id: str = ""
    title: str = ""


@attrs.frozen(kw_only=True)
class ProductWarranty:
    """Warranty amount in the product's and the reseller's currency."""

    product: ProductPrice | None = None
    reseller: ProductPrice | None = None


@attrs.frozen(kw_only=True)
class Product:
    """An SSL product (spec ``productSslProduct``)."""

    brand_name: str = ""
    bypass_san: bool | None = None
    category: str = ""
    delivery_time: str = ""
    description: str = ""
    encryption: str = ""
    free_refund_period: str = ""
    free_reissue_period: str = ""
    id: int = 0
    included_domains_count: int = 0
    is_extended_validation_supported: bool | None = None
    is_idn_supported: bool | None = None
    is_mobile_supported: bool | None = None
    is_sgc_supported: bool | None = None
    is_wildcard_multidomain_supported: bool | None = None
    is_wildcard_supported: bool | None = None
    level_prices: tuple[ProductLevelPrices, ...] = ()
    max_domains: int = 0
    max_period: int = 0
    name: str = ""
    number_of_domains: int = 0
    order_module: str = ""
    prices: tuple[ProductPrices, ...] = ()
    root: str = ""
    sub_category: str = ""
    supported_software: tuple[SupportedSoftware, ...] = ()
    validation_method: str = ""
    warranty: ProductWarranty | None = None


@attrs.frozen
class ProductPage:
    """One page of a list-products answer."""

    results: tuple[Product, ...] = ()
    total: int = 0


# --- small answers ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OtpToken:
    """A link that opens one order in SSL Panel for an end user, valid until ``expire_at``."""

    token: str = attrs.field(default="", repr=False)
    uri: str = ""
    expire_at: datetime | None = None


@attrs.frozen
class ApproverEmailList:
    """Addresses allowed as approver email for a domain."""

    results: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class CreatedCsr:
    """A CSR generated by the server; ``key`` is its private key, so it stays out of repr."""

    csr: str = ""
    key: str = attrs.field(default="", repr=False)
    command: str = ""
    config: str = ""
    config_path: str = ""
    key_path: str = ""


@attrs.frozen(kw_only=True)
class CsrPublicKey:
    """The public key in a decoded CSR."""

    bits: int = 0
    key: str = ""


@attrs.frozen(kw_only=True)
class CsrSubject:
    """The subject of a decoded CSR."""

    common_name: str = ""
    country: str = ""
    email: str = ""
    locality: str = ""
    organization: str = ""
    state: str = ""
    unit: str = ""


@attrs.frozen(kw_only=True)
class DecodedCsr:
    """What the server read from a CSR (spec ``csrDecodeCsrResponseData``)."""

    domain_names_count: int = 0
    public_key: CsrPublicKey | None = None
    signature_hash_algorithm: str = ""
    subject: CsrSubject | None = None
    subject_alternative_name: tuple[str, ...] = ()


@attrs.frozen
class LoginData:
    """Answer of ``/auth/login``; the token is a credential, so it stays out of repr."""

    token: str = attrs.field(repr=False)
    reseller_id: int = 0


# --- requests (None means "not sent") ---------------------------------------------------


@attrs.frozen(kw_only=True)
class UpdateOrderRequest:
    """Body of ``PUT /ssl/orders/{id}``; the id travels in the path."""

    approver_email: str | None = None
    autorenew: str | None = None
    csr: str | None = None
    domain_validation_methods: tuple[DomainValidationMethod, ...] | None = None
    enable_dns_automation: bool | None = None
    host_names: tuple[str, ...] | None = None
    organization_handle: str | None = None
    signature_hash_algorithm: str | None = None
    software_id: str | None = None
    start_provision: bool | None = None
    technical_handle: str | None = None


@attrs.frozen(kw_only=True)
class RenewOrderRequest:
    """Body of ``POST /ssl/orders/{id}/renew``."""

    id: int
    enable_dns_automation: bool | None = None


@attrs.frozen(kw_only=True)
class CreateOrderRequest:
    """Body of ``POST /ssl/orders``."""

    approver_email: str | None = None
    autorenew: str | None = None
    csr: str | None = None
    domain_amount: int | None = None
    domain_validation_methods: tuple[DomainValidationMethod, ...] | None = None
    enable_dns_automation: bool | None = None
    host_names: tuple[str, ...] | None = None
    organization_handle: str | None = None
    period: int | None = None
    product_id: int | None = None
    signature_hash_algorithm: str | None = None
    software_id: str | None = None
    start_provision: bool | None = None
    technical_handle: str | None = None
    wildcard_domain_amount: int | None = None


@attrs.frozen(kw_only=True)
class ReissueOrderRequest:
    """Body of ``POST /ssl/orders/{id}/reissue``."""

    id: int
    approver_email: str | None = None
    csr: str | None = None
    domain_validation_methods: tuple[DomainValidationMethod, ...] | None = None
    enable_dns_automation: bool | None = None
    host_names: tuple[str, ...] | None = None
    organization_handle: str | None = None
    signature_hash_algorithm: str | None = None
    software_id: str | None = None


@attrs.frozen(kw_only=True)
class CreateCsrRequest:
    """Body of ``POST /ssl/csr``."""

    bits: int | None = None
    common_name: str | None = None
    country: str | None = None
    email: str | None = None
    locality: str | None = None
    organization: str | None = None
    signature_hash_algorithm: str | None = None
    state: str | None = None
    subject_alternative_name: tuple[str, ...] | None = None
    unit: str | None = None
    with_config: bool | None = None
