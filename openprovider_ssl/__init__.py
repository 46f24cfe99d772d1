"""openprovider_ssl: an asyncio SDK for the Openprovider SSL certificate API.

import openprovider_ssl as op

async with op.Client.from_env() as client:
    renewed = await client.orders.renew(31027)
"""

from __future__ import annotations

import importlib
import inspect
import sys
import typing
from collections.abc import Iterable
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
    NotSentError,
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
from .limits._budgets import RetryBudget
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
    Autorenew,
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
    OrderStatusCode,
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
    SignatureHashAlgorithm,
    SoftwareId,
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
    "Autorenew",
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
    "NotSentError",
    "OpenproviderError",
    "Order",
    "OrderAdditionalData",
    "OrderOptions",
    "OrderPage",
    "OrderResult",
    "OrderStatus",
    "OrderStatusCode",
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
    "RetryBudget",
    "RetryBudgetExhaustedError",
    "RetryPolicy",
    "ServerError",
    "SignatureHashAlgorithm",
    "SoftwareId",
    "SqliteJournal",
    "SupportedSoftware",
    "TLSError",
    "TransportError",
    "UpdateOrderRequest",
    "Updated",
    "ValidationError",
    "testing",
]


def _publish(module: str, names: Iterable[str]) -> None:
    """Give the classes and functions ``module`` exports the ``__module__`` users import them
    from, where they are defined in a private module (``openprovider_ssl.limits._front``):
    tracebacks, reprs, pickles and the API reference then name ``openprovider_ssl.limits``.
    Names not loaded yet (lazy ones) are left alone: their modules publish them."""
    namespace = vars(sys.modules[module])
    for name in names:
        value = namespace.get(name)
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        if any(part.startswith("_") for part in value.__module__.split(".")):
            if inspect.isclass(value):
                _resolve_annotations(value)
            value.__module__ = module


def _resolve_annotations(cls: type) -> None:
    """Turn the class's own string annotations into the types they name, in the module that
    defines them: ``typing.get_type_hints`` (and cattrs with it) looks names up in the module
    ``__module__`` names, which would no longer be that one."""
    own = inspect.get_annotations(cls)
    if not own:
        return
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except NameError:  # a name imported for type checkers only: left as it was
        return
    cls.__annotations__ = {name: hints.get(name, kind) for name, kind in own.items()}


# The subpackages first: a name they export is published as theirs (openprovider_ssl.limits
# .Limits), and the rest of ``__all__`` as openprovider_ssl's (openprovider_ssl.Listing).
for _package in ("models", "journal", "limits", "bulk"):
    _publish(f"{__name__}.{_package}", sys.modules[f"{__name__}.{_package}"].__all__)
_publish(__name__, __all__)


def __getattr__(name: str) -> Any:
    # The fake server pulls in aiohttp.web; load it only when someone asks for it.
    if name == "testing":
        return importlib.import_module(".testing", __name__)
    if name == "PostgresJournal":
        # psycopg is an optional extra ([postgres]): imported only when asked for.
        return importlib.import_module(".journal._postgres", __name__).PostgresJournal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
