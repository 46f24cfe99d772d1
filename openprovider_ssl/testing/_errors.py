"""Error codes the fake answers with, and the exception its rules raise to produce them."""

from __future__ import annotations

from typing import Final

AUTH_FAILED: Final = 196
CALLS_LIMIT: Final = 50
UNKNOWN_ERROR: Final = 399
MAINTENANCE: Final = 4005
UNAVAILABLE: Final = 3006
EXCESSIVE_USE: Final = 4007
ACCESS_DENIED: Final = 10005
ORDER_NOT_FOUND: Final = 10001
NOT_ALLOWED_IN_STATUS: Final = 10002
INVALID_CSR: Final = 10003
RENEW_NOT_ALLOWED: Final = 10004
PRODUCT_NOT_FOUND: Final = 10006

#: code -> (HTTP status, desc). One table so every answer for a code looks the same.
ERRORS: Final[dict[int, tuple[int, str]]] = {
    AUTH_FAILED: (401, "Authentication/Authorization Failed"),
    CALLS_LIMIT: (429, "Calls limit has been reached"),
    UNKNOWN_ERROR: (400, "Unknown error"),
    MAINTENANCE: (503, "Disabled for maintenance"),
    UNAVAILABLE: (503, "Service temporarily unavailable"),
    EXCESSIVE_USE: (429, "API access temporarily blocked because of excessive use"),
    ACCESS_DENIED: (403, "Access denied"),
    ORDER_NOT_FOUND: (404, "Order not found"),
    NOT_ALLOWED_IN_STATUS: (400, "Operation not allowed in the current order status"),
    INVALID_CSR: (400, "Invalid CSR"),
    RENEW_NOT_ALLOWED: (400, "Renew is not allowed for this order"),
    PRODUCT_NOT_FOUND: (404, "Product not found"),
}


class ApiError(Exception):
    """A refusal in the API's own terms: rendered as an error envelope, never as a 500.

    ``desc`` overrides the table's text when the refusal needs to name a field or a status;
    ``data`` is the detail string (``errorError.data`` is a string in the spec); ``headers``
    go on the HTTP answer (``Allow`` of a 405).
    """

    def __init__(
        self,
        code: int,
        data: str = "",
        *,
        desc: str | None = None,
        http_status: int | None = None,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        status, default_desc = ERRORS[code]
        self.code = code
        self.data = data
        self.desc = desc if desc is not None else default_desc
        self.http_status = http_status if http_status is not None else status
        self.retry_after = retry_after
        self.headers = headers or {}
        super().__init__(f"{code} {self.desc}: {data}" if data else f"{code} {self.desc}")


def schema_error(
    detail: str, *, http_status: int = 400, headers: dict[str, str] | None = None
) -> ApiError:
    """A 399 for a request the spec does not allow; the detail goes in ``data``."""
    return ApiError(UNKNOWN_ERROR, detail, http_status=http_status, headers=headers)
