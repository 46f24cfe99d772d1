"""The exception tree of openprovider_ssl.

Every error knows two things the retry policy needs: whether trying again may succeed
(``transient``) and whether the request may already have been applied by the server
(``may_have_been_applied``). A renew is charged, so the second fact decides whether it may be
resent; messages say what happened and what to do, and never contain a token or a password.

Below ``OpenproviderError``, three groups tell where a call stopped:

- ``NotSentError``: refused before anything was sent (``ValidationError``, the identical-call
  and retry budgets, an unavailable shared limiter, a pending renewal, a bulk run's spending
  cap); nothing reached Openprovider, so nothing was applied or charged;
- an answer came but was a failure: ``APIError`` (and its subclasses, by code) or
  ``ResponseError`` (not the documented envelope);
- no answer came: ``TransportError`` (``sent`` says whether the request left).

``OutcomeUnknownError`` sits apart: a charged operation failed in a way that leaves unknown
whether it was applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Self, TypeVar

E = TypeVar("E", bound=BaseException)

__all__ = [
    "APIError",
    "AccessDeniedError",
    "AuthenticationError",
    "IdenticalCallLimitError",
    "LimiterUnavailableError",
    "LoginLimitError",
    "MaintenanceError",
    "NotSentError",
    "OpenproviderError",
    "OutcomeUnknownError",
    "RateLimitError",
    "RenewalCapReachedError",
    "RenewalPendingError",
    "ResponseError",
    "RetryBudgetExhaustedError",
    "ServerError",
    "TLSError",
    "TransportError",
    "ValidationError",
]


class OpenproviderError(Exception):
    """Base of every error this SDK raises."""

    transient: bool = False
    may_have_been_applied: bool = False

    def retryable(self, *, idempotent: bool) -> bool:
        """Whether an identical request may be sent again for this failure."""
        return self.transient and (idempotent or not self.may_have_been_applied)

    def __reduce__(self) -> tuple[Any, ...]:
        # The constructors take other arguments than ``args`` (the message): an error is
        # pickled (multiprocessing, concurrent.futures) as its message and its attributes.
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls: type[E], args: tuple[Any, ...], state: dict[str, Any]) -> E:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class NotSentError(OpenproviderError):
    """Refused before anything was sent: nothing reached Openprovider, so nothing was applied
    or charged (``may_have_been_applied`` is False).

    The group of ``ValidationError`` (an argument is invalid), ``IdenticalCallLimitError`` and
    ``RetryBudgetExhaustedError`` (a budget is spent), ``LimiterUnavailableError`` (the shared
    limits cannot be reached), ``RenewalPendingError`` (the journal holds an earlier renew)
    and ``RenewalCapReachedError`` (a bulk run's spending cap). Catch it to tell "refused here"
    from "the API answered with an error" (``APIError``, ``ResponseError``) and "no answer
    came" (``TransportError``).
    """

    may_have_been_applied = False


class ValidationError(NotSentError, ValueError):
    """An argument is invalid; nothing was sent."""

    def __init__(self, argument: str, problem: str) -> None:
        self.argument = argument
        self.problem = problem
        super().__init__(f"invalid {argument}: {problem} (nothing was sent)")


class APIError(OpenproviderError):
    """The API answered with a non-zero ``code`` in its envelope."""

    hint = "see the code and desc in the Openprovider API documentation"

    def __init__(
        self,
        code: int,
        desc: str,
        *,
        data: Any = None,
        http_status: int = 0,
        warnings: Sequence[Any] = (),
        maintenance: bool = False,
    ) -> None:
        self.code = code
        self.desc = desc
        self.data = data
        self.http_status = http_status
        self.warnings = tuple(warnings)
        self.maintenance = maintenance
        super().__init__(self._message())

    def _message(self) -> str:
        data = self.data
        detail = f" ({_short(data)})" if data not in (None, "", {}, []) else ""
        return (
            f"Openprovider answered code {self.code} {self.desc!r}{detail} with HTTP "
            f"{self.http_status}: {self.hint}"
        )

    def without_data(self) -> Self:
        """The same error without ``data`` and ``warnings``, for answers that may echo a secret."""
        clean = type(self).__new__(type(self))
        clean.__dict__.update(self.__dict__)
        clean.data = None
        clean.warnings = ()
        clean.args = (clean._message(),)
        return clean


class AuthenticationError(APIError):
    """Code 196: the token or the credentials were refused."""

    hint = (
        "the token or username/password was refused (after one fresh login where possible); "
        "check the credentials and the IP allowed for them in the control panel"
    )


class LoginLimitError(APIError):
    """Code 50: too many logins or failed logins; the account is blocked for a while."""

    hint = "too many logins or failed logins: wait before logging in again and check the password"

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


class MaintenanceError(APIError):
    """Openprovider is in maintenance; the request was not applied."""

    transient = True
    hint = "Openprovider is in maintenance and applied nothing: try again later"


class RateLimitError(APIError):
    """HTTP 429 / code 4007: too many requests; the request was not applied."""

    transient = True
    hint = "too many requests, nothing was applied: slow down and retry after the given delay"

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


class AccessDeniedError(APIError):
    """Codes 10005 / 10009: this IP is blacklisted or has no authority. Never retried."""

    hint = (
        "access denied: Openprovider has most likely blacklisted this IP (for example after too "
        "many identical calls); it must be released by hand in the Openprovider control panel. "
        "The client stops making calls"
    )


class ServerError(APIError):
    """A server-side failure (code 3006, HTTP 5xx).

    3006 and HTTP 503 say the request was not applied; a 500, 502 or 504 may hide a request
    that was applied before the failure.
    """

    hint = "the server failed; retrying later may succeed"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status = self.http_status
        self.transient = self.code == 3006 or status in (502, 503, 504)
        self.may_have_been_applied = self.code != 3006 and status != 503


class IdenticalCallLimitError(NotSentError):
    """The client refused a call that would exceed Openprovider's identical-call budget."""

    def __init__(self, operation: str, limit: int, window: float, retry_after: float) -> None:
        self.operation = operation
        self.limit = limit
        self.window = window
        self.retry_after = retry_after
        super().__init__(
            f"{operation}: refused before sending, because this identical call was already made "
            f"{limit} times in {window:g} s and one more would get the IP blacklisted by "
            f"Openprovider; it may be made again in {retry_after:.0f} s"
        )


class RetryBudgetExhaustedError(NotSentError):
    """The client-wide retry budget is spent: the API is failing too often to keep retrying.

    The retry was not sent; ``cause`` is the failure of the attempt before it."""

    def __init__(self, cause: OpenproviderError) -> None:
        self.cause = cause
        super().__init__(
            f"not retried because the client-wide retry budget is spent (the API is failing "
            f"for many calls at once); last error: {cause}"
        )


class TransportError(OpenproviderError):
    """The request failed on the network: connection refused or dropped, or a timeout.

    ``sent`` tells whether any of the request may have reached the server.
    """

    transient = True

    def __init__(self, message: str, *, sent: bool) -> None:
        self.sent = sent
        self.may_have_been_applied = sent
        where = (
            "after the request was sent, so it may have been applied: check before repeating a "
            "write"
            if sent
            else "before the request was sent, so nothing was applied: check the network and "
            "the base URL, then try again"
        )
        super().__init__(f"{message} ({where})")


class TLSError(TransportError):
    """The TLS connection could not be set up: the server's certificate failed verification
    (``verification_failed``), or the handshake failed. Nothing was sent; never retried,
    since trying again meets the same certificate.

    ``host`` is the server; the message says how to fix it (a CA bundle through
    ``SSL_CERT_FILE``, or a caller-owned session with its own ``ssl`` context).
    """

    transient = False

    def __init__(self, message: str, *, host: str, verification_failed: bool) -> None:
        self.sent = False
        self.may_have_been_applied = False
        self.host = host
        self.verification_failed = verification_failed
        fix = (
            "the server's certificate is not trusted here: if it is signed by a private CA or "
            "a TLS-inspecting proxy, point SSL_CERT_FILE at a CA bundle that holds that CA (or "
            "pass Client(session=...) with an aiohttp session whose ssl context trusts it); "
            "check the base URL and the machine's clock"
            if verification_failed
            else "check that the base URL is the API's https:// address, and any proxy on the way"
        )
        OpenproviderError.__init__(
            self,
            f"{message} (before the request was sent, so nothing was applied; not retried: {fix})",
        )


class ResponseError(OpenproviderError):
    """The answer is not the documented JSON envelope (an HTML page, truncated JSON, ...)."""

    def __init__(self, problem: str, *, http_status: int, excerpt: bytes | str) -> None:
        self.problem = problem
        self.http_status = http_status
        self.excerpt = _short(excerpt)
        # A redirect or a 4xx page (wrong URL, a proxy refusing) will not change by asking
        # again; a 2xx or 5xx one (cut-off JSON, a gateway page) may, as may a 408 or 429.
        self.transient = http_status < 300 or http_status >= 500 or http_status in (408, 429)
        # A proxy's 429 or 503 page means the API was not reached; anything else may follow
        # a change.
        self.may_have_been_applied = http_status not in (429, 503)
        super().__init__(
            f"unexpected answer from the server, HTTP {http_status}: {problem}; "
            f"body starts with {self.excerpt!r}. This is not Openprovider's JSON envelope "
            "(a proxy or outage page, or a wrong base URL?): check the base URL, or try again "
            "later"
        )


class OutcomeUnknownError(OpenproviderError):
    """A charged operation may or may not have been applied; it was not sent again.

    ``order`` is the order as read back after the failure, when that read succeeded. A renew
    stays pending in the client's renewal journal until ``client.orders.reconcile()`` confirms
    it or an operator releases it.
    """

    may_have_been_applied = True

    def __init__(
        self, operation: str, order_id: int, cause: BaseException, order: Any = None
    ) -> None:
        self.operation = operation
        self.order_id = order_id
        self.cause = cause
        self.order = order
        super().__init__(
            f"{operation} of order {order_id} may or may not have been applied ({cause}); "
            f"it was not sent again: check the order (orders.get({order_id})) before retrying"
        )


class RenewalPendingError(NotSentError):
    """A renew was refused before sending: the journal holds an earlier renew of the order.

    ``state`` is ``"pending"`` (an earlier renew was sent and its outcome is unknown: it may have
    been charged) or ``"renewed"`` (the order was already renewed for its current period).
    ``claimed_at`` is when that renew was claimed, ``origin`` where from (host, process, run).
    Nothing was sent.
    """

    def __init__(self, order_id: int, *, state: str, claimed_at: datetime, origin: str) -> None:
        self.order_id = order_id
        self.state = state
        self.claimed_at = claimed_at
        self.origin = origin
        when = claimed_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        if state == "renewed":
            what = (
                f"it was already renewed for its current period (renew sent at {when} from "
                f"{origin})"
            )
            advice = "a second renew would be charged again"
        else:
            what = (
                f"a renew sent at {when} from {origin} is pending: its outcome is unknown and it "
                "may have been charged"
            )
            advice = (
                "reconcile the journal (client.orders.reconcile(), or `openprovider-ssl journal "
                "reconcile`); if the order was not charged, release it (journal.release"
                f"({order_id}, reason=...), or `openprovider-ssl journal release {order_id} "
                "--reason ...`)"
            )
        super().__init__(f"renew of order {order_id} not sent: {what}; {advice}")


class RenewalCapReachedError(NotSentError):
    """A renew was refused before sending: the bulk run's spending cap (``max_renewals``) was
    reached. Nothing was sent for this order, so nothing was charged for it.

    ``limit`` is the cap, ``sent`` how many renews the run sent (each may have been charged).
    """

    def __init__(self, order_id: int, *, limit: int, sent: int) -> None:
        self.order_id = order_id
        self.limit = limit
        self.sent = sent
        super().__init__(
            f"renew of order {order_id} not sent: the run stopped at its spending cap of "
            f"{limit} renewal(s) ({sent} sent); run again, or raise max_renewals, to renew it"
        )


def _short(value: Any, limit: int = 200) -> str:
    if isinstance(value, bytes):
        value = value[:limit].decode("utf-8", "replace")
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


class LimiterUnavailableError(NotSentError):
    """The shared limits (in Redis) cannot be reached; the request was not sent.

    Raised when ``RedisLimits(on_unavailable="fail")``, the default, cannot reach its Redis:
    without the shared counts, this process cannot tell whether one more call would push the
    account over a limit. Not retried.
    """

    def __init__(self, where: str, cause: BaseException) -> None:
        self.where = where
        self.cause = cause
        super().__init__(
            f"the shared limits in Redis ({where}) are unavailable: "
            f"{type(cause).__name__}: {cause}; nothing was sent. Start or reach that Redis, or "
            "pass RedisLimits(..., on_unavailable='local') to fall back to this process's own "
            "limits while it is away"
        )
