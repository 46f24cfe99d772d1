"""The sans-I/O core: requests as values, answers as ``(status, headers, body)``.

Nothing here touches the network, aiohttp or asyncio, so every rule of the envelope and of
error classification is tested with plain bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple, TypeVar

import attrs
import cattrs

from ..errors import (
    AccessDeniedError,
    APIError,
    AuthenticationError,
    LoginLimitError,
    MaintenanceError,
    RateLimitError,
    ResponseError,
    ServerError,
)
from ..models import ApiWarning
from . import converter as _converter

T = TypeVar("T")

_AUTH_FAILED = 196
_CALLS_LIMIT = 50
_MAINTENANCE = 4005
_UNAVAILABLE = 3006
_EXCESSIVE_USE = 4007
_ACCESS_DENIED = frozenset({10005, 10009})
_UNKNOWN_ERROR = 399
_SSL_ERRORS = range(10000, 11000)

Params = tuple[tuple[str, str], ...]


class SendMark:
    """Set once a request leaves the limiter: from then on it may have been sent.

    A renew carries one in its ``Request.mark``, to tell after a cancellation whether it may
    have been charged; the bulk runner keeps one per order in its worker's ``SendSlot``
    (``limits``).
    """

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = False


class Request(NamedTuple):
    """One API call, ready to send: the path is relative to the client's base URL.

    A named tuple rather than an attrs class: one is built for every call, and a tuple is the
    cheapest immutable value Python makes.
    """

    operation: str
    method: str
    path: str
    body: bytes | None = None
    params: Params = ()
    idempotent: bool = True
    authenticated: bool = True
    #: The body or the answer holds a secret (login): never show them in errors or logs.
    sensitive: bool = False
    #: Set when an attempt of this request leaves the limiter (a renew's, see ``SendMark``).
    #: Carried by the request rather than set in a context variable for the call: setting a
    #: context variable around every renew made the garbage collector run about three times
    #: as often.
    mark: SendMark | None = None

    def __repr__(self) -> str:
        # The body is left out: it may hold a password.
        return (
            f"Request(operation={self.operation!r}, method={self.method!r}, "
            f"path={self.path!r}, params={self.params!r})"
        )

    @property
    def identity(self) -> tuple[str, str, Params, bytes | None]:
        """What makes two calls "identical" for Openprovider's identical-call budget."""
        return (self.method, self.path, self.params, self.body)


#: ``tuple.__new__``: ``new_tuple(Request, (all nine fields))`` is ``Request(...)`` without
#: the Python-level ``__new__`` of a NamedTuple, which costs as much again as the tuple (the
#: same for ``Answer`` and the transport's ``RawAnswer``): one of each is made for every call.
new_tuple = tuple.__new__

# What json.dumps(body, separators=(",", ":"), sort_keys=True) does, without building a new
# JSONEncoder for every call: a third of the cost of encoding a small body.
_encode = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode
_raw_decode = json.JSONDecoder().raw_decode


def build_request(
    operation: str,
    method: str,
    path: str,
    *,
    body: Mapping[str, Any] | bytes | None = None,
    params: Sequence[tuple[str, str]] = (),
    idempotent: bool,
    authenticated: bool = True,
    sensitive: bool = False,
) -> Request:
    """Encode a request; keys are sorted so equal arguments give equal bodies. A ``bytes`` body
    is taken as already encoded."""
    encoded = body if body is None or isinstance(body, bytes) else _encode(body).encode()
    return new_tuple(
        Request,
        (
            operation,
            method,
            path,
            encoded,
            tuple(params),
            idempotent,
            authenticated,
            sensitive,
            None,
        ),
    )


class Answer(NamedTuple):
    """A successful envelope: ``code`` was 0."""

    data: Any
    warnings: tuple[ApiWarning, ...]
    maintenance: bool
    desc: str


def parse_answer(status: int, headers: Mapping[str, str], body: bytes) -> Answer:
    """Return the envelope of a successful answer, or raise the classified error."""
    envelope = _decode_envelope(status, body)
    code = envelope.get("code")
    if type(code) is not int:  # (JSON's true and false are not codes)
        raise ResponseError("the envelope has no integer 'code'", http_status=status, excerpt=body)
    desc = envelope.get("desc")
    desc = desc if type(desc) is str else ""
    maintenance = envelope.get("maintenance") is True
    listed = envelope.get("warnings")
    warnings = _warnings(listed, status, body) if listed else ()
    data = envelope.get("data")
    if code == 0 and 200 <= status < 300:
        return new_tuple(Answer, (data, warnings, maintenance, desc))
    if code == 0:
        raise ResponseError(
            f"code 0 (success) with HTTP status {status}", http_status=status, excerpt=body
        )
    raise classify(
        code,
        desc,
        data=data,
        http_status=status,
        headers=headers,
        warnings=warnings,
        maintenance=maintenance,
    )


def classify(
    code: int,
    desc: str,
    *,
    data: Any = None,
    http_status: int,
    headers: Mapping[str, str],
    warnings: Sequence[ApiWarning] = (),
    maintenance: bool = False,
) -> APIError:
    """Turn a non-zero envelope code into the error that says what to do about it."""
    kwargs: dict[str, Any] = {
        "data": data,
        "http_status": http_status,
        "warnings": warnings,
        "maintenance": maintenance,
    }
    if code == _AUTH_FAILED or http_status == 401:
        return AuthenticationError(code, desc, **kwargs)
    if code in _ACCESS_DENIED:
        return AccessDeniedError(code, desc, **kwargs)
    if maintenance or code == _MAINTENANCE:
        return MaintenanceError(code, desc, **kwargs)
    if code == _CALLS_LIMIT:
        return LoginLimitError(code, desc, retry_after=retry_after(headers), **kwargs)
    if code == _EXCESSIVE_USE or http_status == 429:
        return RateLimitError(code, desc, retry_after=retry_after(headers), **kwargs)
    if code == _UNAVAILABLE:
        return ServerError(code, desc, **kwargs)
    # 399 and the SSL 10xxx codes are the API's own refusals, whatever HTTP status carries
    # them: nothing was applied and trying again cannot help.
    if http_status >= 500 and code != _UNKNOWN_ERROR and code not in _SSL_ERRORS:
        return ServerError(code, desc, **kwargs)
    return APIError(code, desc, **kwargs)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), never negative."""
    raw = headers.get("Retry-After")
    if raw is None:
        # aiohttp's headers ignore case; a plain dict from another caller may not.
        raw = headers.get("retry-after")
        if raw is None:
            return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def structure(answer: Answer, cls: type[T], status: int, body: bytes) -> T:
    """Structure ``data`` into ``cls``; a result class with ``warnings`` receives them."""
    try:
        result = _converter.structure(answer.data, cls)
    except _converter.STRUCTURE_ERRORS as exc:
        raise ResponseError(
            f"'data' does not fit {cls.__name__}: {_describe(exc)}",
            http_status=status,
            excerpt=body,
        ) from exc
    if answer.warnings and _takes_warnings(cls):
        result = attrs.evolve(result, warnings=answer.warnings)  # type: ignore[misc]
    return result


_WARNINGS_FIELD: dict[type[Any], bool] = {}


def _takes_warnings(cls: type[Any]) -> bool:
    takes = _WARNINGS_FIELD.get(cls)
    if takes is None:
        takes = attrs.has(cls) and "warnings" in attrs.fields_dict(cls)
        _WARNINGS_FIELD[cls] = takes
    return takes


def _decode_envelope(status: int, body: bytes) -> dict[str, Any]:
    envelope = _decode_compact(body)
    if envelope is None:
        try:
            envelope = json.loads(body)
        except UnicodeDecodeError:
            raise ResponseError("the body is not UTF-8", http_status=status, excerpt=body) from None
        except (ValueError, RecursionError):
            raise ResponseError("the body is not JSON", http_status=status, excerpt=body) from None
    if not isinstance(envelope, dict):
        raise ResponseError("the body is not a JSON object", http_status=status, excerpt=body)
    return envelope


def _decode_compact(body: bytes) -> Any:
    """A UTF-8 JSON object with nothing around it, as APIs send it, decoded without the
    encoding detection and the whitespace scans of ``json.loads`` (a third of its cost on a
    small answer); None for anything else, which ``json.loads`` then decodes or explains."""
    if body[:1] != b"{":
        return None
    try:
        text = body.decode()
        value, end = _raw_decode(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return value if end == len(text) else None


def _warnings(raw: Any, status: int, body: bytes) -> tuple[ApiWarning, ...]:
    if not raw:
        return ()
    if not isinstance(raw, list):
        raise ResponseError("'warnings' is not a list", http_status=status, excerpt=body)
    try:
        return _converter.structure(raw, tuple[ApiWarning, ...])
    except _converter.STRUCTURE_ERRORS as exc:
        raise ResponseError(
            f"'warnings' are malformed: {_describe(exc)}",
            http_status=status,
            excerpt=body,
        ) from exc


def _describe(exc: Exception) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc))[:300]
    return f"{type(exc).__name__}: {exc}"[:300]
