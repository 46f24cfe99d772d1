"""What the client sends; ``None`` means "not sent" and the converter drops it."""

from __future__ import annotations

import attrs

from ._common import Autorenew, DomainValidationMethod, SignatureHashAlgorithm, SoftwareId


@attrs.frozen(kw_only=True)
class UpdateOrderRequest:
    """Body of ``PUT /ssl/orders/{id}``; the id travels in the path."""

    approver_email: str | None = None
    autorenew: Autorenew | None = None
    csr: str | None = None
    domain_validation_methods: tuple[DomainValidationMethod, ...] | None = None
    enable_dns_automation: bool | None = None
    host_names: tuple[str, ...] | None = None
    organization_handle: str | None = None
    signature_hash_algorithm: SignatureHashAlgorithm | None = None
    software_id: SoftwareId | None = None
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
    autorenew: Autorenew | None = None
    csr: str | None = None
    domain_amount: int | None = None
    domain_validation_methods: tuple[DomainValidationMethod, ...] | None = None
    enable_dns_automation: bool | None = None
    host_names: tuple[str, ...] | None = None
    organization_handle: str | None = None
    period: int | None = None
    product_id: int | None = None
    signature_hash_algorithm: SignatureHashAlgorithm | None = None
    software_id: SoftwareId | None = None
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
    signature_hash_algorithm: SignatureHashAlgorithm | None = None
    software_id: SoftwareId | None = None


@attrs.frozen(kw_only=True)
class CreateCsrRequest:
    """Body of ``POST /ssl/csr``."""

    bits: int | None = None
    common_name: str | None = None
    country: str | None = None
    email: str | None = None
    locality: str | None = None
    organization: str | None = None
    signature_hash_algorithm: SignatureHashAlgorithm | None = None
    state: str | None = None
    subject_alternative_name: tuple[str, ...] | None = None
    unit: str | None = None
    with_config: bool | None = None
