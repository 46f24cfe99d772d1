"""Plain attrs models for what the Openprovider SSL API answers and what we send it.

The models hold data and a few pure helpers; how they map to and from JSON lives in
``openprovider_ssl._protocol.converter``. Field names follow the v1beta spec (already snake_case).

Response models are tolerant: every field has a default so partial answers still load.
Absent strings read as ``""``, numbers as ``0``, lists as ``()``, and nested objects, dates
and booleans as ``None``. Dates are timezone-aware UTC datetimes.

Request models use ``None`` for "not sent": the converter drops those fields.
"""

from __future__ import annotations

from ._answers import (
    ApproverEmailList,
    CreatedCsr,
    CsrPublicKey,
    CsrSubject,
    DecodedCsr,
    LoginData,
    OtpToken,
)
from ._common import (
    ApiWarning,
    ApproverEmailResent,
    ApproverEmailUpdated,
    Autorenew,
    Cancelled,
    Created,
    DomainValidationMethod,
    OrderResult,
    OrderStatusCode,
    Reissued,
    Renewed,
    SignatureHashAlgorithm,
    SoftwareId,
    Updated,
)
from ._orders import (
    DEFAULT_RENEWAL_WINDOW_DAYS,
    MAX_RENEWAL_WINDOW_DAYS,
    RENEW_WINDOW,
    UPDATABLE_FIELDS,
    DomainValidationStatuses,
    Order,
    OrderAdditionalData,
    OrderOptions,
    OrderPage,
    OrderStatus,
)
from ._products import (
    Product,
    ProductLevelPrices,
    ProductPage,
    ProductPrice,
    ProductPriceGroup,
    ProductPrices,
    ProductWarranty,
    SupportedSoftware,
)
from ._requests import (
    CreateCsrRequest,
    CreateOrderRequest,
    ReissueOrderRequest,
    RenewOrderRequest,
    UpdateOrderRequest,
)

__all__ = [
    "DEFAULT_RENEWAL_WINDOW_DAYS",
    "MAX_RENEWAL_WINDOW_DAYS",
    "RENEW_WINDOW",
    "UPDATABLE_FIELDS",
    "ApiWarning",
    "ApproverEmailList",
    "ApproverEmailResent",
    "ApproverEmailUpdated",
    "Autorenew",
    "Cancelled",
    "CreateCsrRequest",
    "CreateOrderRequest",
    "Created",
    "CreatedCsr",
    "CsrPublicKey",
    "CsrSubject",
    "DecodedCsr",
    "DomainValidationMethod",
    "DomainValidationStatuses",
    "LoginData",
    "Order",
    "OrderAdditionalData",
    "OrderOptions",
    "OrderPage",
    "OrderResult",
    "OrderStatus",
    "OrderStatusCode",
    "OtpToken",
    "Product",
    "ProductLevelPrices",
    "ProductPage",
    "ProductPrice",
    "ProductPriceGroup",
    "ProductPrices",
    "ProductWarranty",
    "ReissueOrderRequest",
    "Reissued",
    "RenewOrderRequest",
    "Renewed",
    "SignatureHashAlgorithm",
    "SoftwareId",
    "SupportedSoftware",
    "UpdateOrderRequest",
    "Updated",
]
