"""Argument checks, run before a request is built: bad input never reaches the network.

Each function returns the value in the form the API wants, or raises ``ValidationError``
naming the argument. Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from ..errors import ValidationError
from ..models import DomainValidationMethod

T = TypeVar("T")
S = TypeVar("S", bound=str)

_INT32_MAX = 2**31 - 1
# ASCII: with IGNORECASE alone, [a-z] also matches letters such as "\u212a" (Kelvin sign).
_HOSTNAME_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)\Z", re.IGNORECASE | re.ASCII)
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}\Z")
_CSR = re.compile(
    r"\s*-----BEGIN (NEW )?CERTIFICATE REQUEST-----\r?\n"
    r"[A-Za-z0-9+/=\r\n]+"
    r"-----END (NEW )?CERTIFICATE REQUEST-----\s*\Z"
)
_HANDLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
_VALIDATION_METHOD = re.compile(r"[a-z][a-z0-9_-]{0,31}\Z")
_STATUS = re.compile(r"[A-Za-z]{2,16}\Z")
_COUNTRY = re.compile(r"[A-Za-z]{2}\Z")


def positive_int(name: str, value: object) -> int:
    """An id: a positive int32. Strings, floats and bools are refused."""
    if type(value) is int and 0 < value <= _INT32_MAX:
        return value  # the usual id, checked in one step: bulk runs check thousands
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(name, f"must be a positive integer, got {_show(value)}")
    value = _plain_int(value)
    if not 0 < value <= _INT32_MAX:
        raise ValidationError(name, f"must be between 1 and {_INT32_MAX}, got {value}")
    return value


def order_id(value: object) -> int:
    if type(value) is int and 0 < value <= _INT32_MAX:
        return value  # the usual id, without positive_int's call: every renew checks one
    return positive_int("order_id", value)


def choice(name: str, value: object, allowed: Iterable[S]) -> S:
    """One of ``allowed`` (a closed vocabulary such as ``Literal["on", "off"]``'s values)."""
    options = tuple(allowed)
    if isinstance(value, str):
        plain = _plain_str(value)
        for option in options:
            if option == plain:
                return option
    shown = ", ".join(repr(a) for a in options)
    raise ValidationError(name, f"must be one of {shown}, got {_show(value)}")


def boolean(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(name, f"must be True or False, got {_show(value)}")
    return value


def hostname(name: str, value: object) -> str:
    """A DNS name, optionally a wildcard (``*.example.com``); no schemes, paths or spaces."""
    value = _plain_str(value)
    if not isinstance(value, str) or not 0 < len(value) <= 253:
        raise ValidationError(name, f"must be a hostname, got {_show(value)}")
    labels = value.removeprefix("*.").rstrip(".").split(".")
    if len(labels) < 2 or not all(_HOSTNAME_LABEL.match(label) for label in labels):
        raise ValidationError(name, f"must be a hostname such as example.com, got {_show(value)}")
    return value


def hostnames(name: str, value: object) -> list[str]:
    items = _sequence(name, value)
    if not items:
        raise ValidationError(name, "must name at least one hostname")
    return [hostname(f"{name}[{i}]", item) for i, item in enumerate(items)]


def email(name: str, value: object) -> str:
    value = _plain_str(value)
    if not isinstance(value, str) or not _EMAIL.match(value) or ".." in value:
        raise ValidationError(name, f"must be an email address, got {_show(value)}")
    hostname(name, value.rpartition("@")[2])
    return value


def csr(value: object, name: str = "csr") -> str:
    value = _plain_str(value)
    if not isinstance(value, str) or len(value) > 65536 or not _CSR.match(value):
        raise ValidationError(
            name,
            "must be a PEM certificate signing request "
            "(-----BEGIN CERTIFICATE REQUEST----- ... -----END CERTIFICATE REQUEST-----)",
        )
    return value


def handle(name: str, value: object) -> str:
    """An Openprovider contact handle such as ``XY012345-CC``."""
    if not isinstance(value, str) or not _HANDLE.match(value):
        raise ValidationError(
            name, f"must be a contact handle such as XY012345-CC, got {_show(value)}"
        )
    return _plain_str(value)


def validation_methods(value: object) -> list[DomainValidationMethod]:
    """``DomainValidationMethod`` objects or ``{"host_name": ..., "method": ...}`` dicts."""
    name = "domain_validation_methods"
    items = _sequence(name, value)
    if not items:
        raise ValidationError(name, "must name at least one host_name and method")
    result = []
    for i, item in enumerate(items):
        where = f"{name}[{i}]"
        if isinstance(item, DomainValidationMethod):
            host, method = item.host_name, item.method
        elif isinstance(item, Mapping):
            if set(item) != {"host_name", "method"}:
                raise ValidationError(where, "must have exactly the keys host_name and method")
            host, method = item["host_name"], item["method"]
        else:
            raise ValidationError(
                where, f"must be a DomainValidationMethod or a dict, got {_show(item)}"
            )
        host = hostname(f"{where}.host_name", host)
        if not isinstance(method, str) or not _VALIDATION_METHOD.match(method):
            raise ValidationError(
                f"{where}.method",
                f"must be a method such as 'dns', 'http' or 'email', got {_show(method)}",
            )
        result.append(DomainValidationMethod(host_name=host, method=_plain_str(method)))
    return result


def text(name: str, value: object, *, max_length: int = 255) -> str:
    """Free text; control characters are refused so nothing can smuggle in headers or lines."""
    value = _plain_str(value)
    if not isinstance(value, str) or not 0 < len(value) <= max_length:
        raise ValidationError(
            name,
            f"must be a non-empty string of at most {max_length} characters, got {_show(value)}",
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError(name, "must not contain control characters")
    return value


def int_range(name: str, value: object, low: int, high: int) -> int:
    """An int between ``low`` and ``high`` inclusive. Strings, floats and bools are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(name, f"must be an integer, got {_show(value)}")
    value = _plain_int(value)
    if not low <= value <= high:
        raise ValidationError(name, f"must be between {low} and {high}, got {value}")
    return value


def statuses(value: object) -> list[str]:
    """One order status or an iterable of them, upper-cased.

    Statuses this SDK does not know are let through when they look like one (letters only),
    as ``OrderStatus`` tolerates them too: the API may add statuses before we do.
    """
    name = "status"
    items = [value] if isinstance(value, str) else _sequence(name, value)
    if not items:
        raise ValidationError(name, "must name at least one status, or be None for all")
    result = []
    for i, item in enumerate(items):
        where = name if isinstance(value, str) else f"{name}[{i}]"
        if not isinstance(item, str) or not _STATUS.match(item):
            raise ValidationError(
                where, f"must be an order status such as 'ACT', got {_show(item)}"
            )
        result.append(_plain_str(item).upper())
    return result


def order_by(value: object, fields: Iterable[str]) -> list[tuple[str, str]]:
    """Sort keys as ``(field, "asc" | "desc")`` pairs, most significant first.

    Accepts a mapping (``{"expiration_date": "asc"}``), one pair (``("status", "desc")``) or
    an iterable of pairs. Fields are checked against ``fields``; directions ignore case.
    """
    name = "order_by"
    allowed = tuple(fields)
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        pairs = [value]
    else:
        pairs = _sequence(name, value)
    if not pairs:
        raise ValidationError(name, "must name at least one field, or be None")
    result: list[tuple[str, str]] = []
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValidationError(
                name, f"must hold (field, 'asc' or 'desc') pairs, got {_show(pair)}"
            )
        field, direction = pair
        field = choice(f"{name} field", field, allowed)
        if any(field == seen for seen, _ in result):
            raise ValidationError(name, f"names {field!r} twice")
        where = f"{name}[{field!r}]"
        if not isinstance(direction, str):
            raise ValidationError(where, f"must be 'asc' or 'desc', got {_show(direction)}")
        result.append((field, choice(where, _plain_str(direction).lower(), ("asc", "desc"))))
    return result


def country(name: str, value: object) -> str:
    """An ISO 3166 two-letter country code, upper-cased."""
    if not isinstance(value, str) or not _COUNTRY.match(value):
        raise ValidationError(
            name, f"must be a two-letter country code such as 'NL', got {_show(value)}"
        )
    return _plain_str(value).upper()


def _plain_int(value: int) -> int:
    """The plain ``int`` of an int subclass (an IntEnum, say), whose ``str()`` or comparisons
    may be anything: an id formatted into a URL path must not be able to escape it."""
    return int.__int__(value)


def _plain_str(value: T) -> T:
    """The plain ``str`` of a str subclass, whose ``len()``, ``==``, ``upper()`` or ``str()``
    may lie; anything else as it is."""
    return str.__str__(value) if isinstance(value, str) else value  # type: ignore[return-value]


def _sequence(name: str, value: object) -> list[Any]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError(name, f"must be a list, got {_show(value)}")
    return list(value)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"
