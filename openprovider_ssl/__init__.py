"""openprovider_ssl: an asyncio SDK for the Openprovider SSL certificate API.

import openprovider_ssl as op

async with op.Client.from_env() as client:
    renewed = await client.orders.renew(31027)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._resources.paging import Listing
from .bulk._operations import BulkRun, Outcome, Progress
from .client import PRODUCTION_URL, SANDBOX_URL, Client, ClientStats
from .errors import (
    AccessDeniedError,
    APIError,
    AuthenticationError,
    IdenticalCallLimitError,
    LimiterUnavailableError,
    LoginLimitError,
    MaintenanceError,
    OpenproviderError,
    OutcomeUnknownError,
    RateLimitError,
    RenewalCapReachedError,
    RenewalPendingError,
    ResponseError,
    RetryBudgetExhaustedError,
    ServerError,
    TLSError,
    TransportError,
    ValidationError,
)
from .journal import (
    ClaimRecord,
    JournalEntry,
    MemoryJournal,
    RenewalJournal,
    SqliteJournal,
)
from .journal._renewal import PendingRenewal, ReconcileReport
from .limits._budgets import RetryQuota
from .limits._front import Limits
from .limits._redis.backend import RedisLimits
from .models import (
    DEFAULT_RENEWAL_WINDOW_DAYS,
    MAX_RENEWAL_WINDOW_DAYS,
    RENEW_WINDOW,
    UPDATABLE_FIELDS,
    ApiWarning,
    ApproverEmailList,
    ApproverEmailResent,
    ApproverEmailUpdated,
    Cancelled,
    CreateCsrRequest,
    Created,
    CreatedCsr,
    CreateOrderRequest,
    CsrPublicKey,
    CsrSubject,
    DecodedCsr,
    DomainValidationMethod,
    DomainValidationStatuses,
    LoginData,
    Order,
    OrderAdditionalData,
    OrderOptions,
    OrderPage,
    OrderResult,
    OrderStatus,
    OtpToken,
    Product,
    ProductLevelPrices,
    ProductPage,
    ProductPrice,
    ProductPriceGroup,
    ProductPrices,
    ProductWarranty,
    Reissued,
    ReissueOrderRequest,
    Renewed,
    RenewOrderRequest,
    SupportedSoftware,
    Updated,
    UpdateOrderRequest,
)
from .retry import RetryPolicy

if TYPE_CHECKING:
    from . import testing
    from .journal import PostgresJournal

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_RENEWAL_WINDOW_DAYS",
    "MAX_RENEWAL_WINDOW_DAYS",
    "PRODUCTION_URL",
    "RENEW_WINDOW",
    "SANDBOX_URL",
    "UPDATABLE_FIELDS",
    "APIError",
    "AccessDeniedError",
    "ApiWarning",
    "ApproverEmailList",
    "ApproverEmailResent",
    "ApproverEmailUpdated",
    "AuthenticationError",
    "BulkRun",
    "Cancelled",
    "ClaimRecord",
    "Client",
    "ClientStats",
    "CreateCsrRequest",
    "CreateOrderRequest",
    "Created",
    "CreatedCsr",
    "CsrPublicKey",
    "CsrSubject",
    "DecodedCsr",
    "DomainValidationMethod",
    "DomainValidationStatuses",
    "IdenticalCallLimitError",
    "JournalEntry",
    "LimiterUnavailableError",
    "Limits",
    "Listing",
    "LoginData",
    "LoginLimitError",
    "MaintenanceError",
    "MemoryJournal",
    "OpenproviderError",
    "Order",
    "OrderAdditionalData",
    "OrderOptions",
    "OrderPage",
    "OrderResult",
    "OrderStatus",
    "OtpToken",
    "Outcome",
    "OutcomeUnknownError",
    "PendingRenewal",
    "PostgresJournal",
    "Product",
    "ProductLevelPrices",
    "ProductPage",
    "ProductPrice",
    "ProductPriceGroup",
    "ProductPrices",
    "ProductWarranty",
    "Progress",
    "RateLimitError",
    "ReconcileReport",
    "RedisLimits",
    "ReissueOrderRequest",
    "Reissued",
    "RenewOrderRequest",
    "RenewalCapReachedError",
    "RenewalJournal",
    "RenewalPendingError",
    "Renewed",
    "ResponseError",
    "RetryBudgetExhaustedError",
    "RetryPolicy",
    "RetryQuota",
    "ServerError",
    "SqliteJournal",
    "SupportedSoftware",
    "TLSError",
    "TransportError",
    "UpdateOrderRequest",
    "Updated",
    "ValidationError",
    "testing",
]


def __getattr__(name: str) -> Any:
    # The fake server pulls in aiohttp.web; load it only when someone asks for it.
    if name == "testing":
        return importlib.import_module(".testing", __name__)
    if name == "PostgresJournal":
        # psycopg is an optional extra ([postgres]): imported only when asked for.
        return importlib.import_module(".journal._postgres", __name__).PostgresJournal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
