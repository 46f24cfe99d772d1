"""The one cattrs converter that turns API JSON into models and request models into JSON.

All (de)serialisation rules live here so ``models`` stays plain attrs:

- unknown keys in answers are ignored, so new server fields never break us;
- dates: ``"YYYY-MM-DD HH:MM:SS"`` (Openprovider's format, hour may be unpadded, taken as
  UTC), ISO 8601 with ``T``/offset/``Z`` (converted to UTC) and ``"YYYY-MM-DD"``; ``""``,
  ``null`` and MySQL's zero date ``"0000-00-00 ..."`` read as ``None``; dates go back out as
  ``"YYYY-MM-DD HH:MM:SS"`` in UTC (microseconds dropped);
- unknown ``OrderStatus`` values load as pseudo-members (see ``OrderStatus``);
- numbers may arrive as numeric strings (``"id": "1"``); booleans as ``true``/``false``,
  ``0``/``1`` or those words as strings; strings may arrive as numbers; ``null`` reads as
  ``""`` for strings and ``()`` for lists, but never as a number;
- lists must be JSON arrays and objects JSON objects (cattrs alone would accept a string
  as a list of characters, or a list as an object with every field defaulted);
- ``ApiWarning.data`` keeps strings and ``null``, and any other JSON is stored as its
  ``json.dumps`` text; a warning without a code gets code 0, so a warning can never make
  a successful write unreadable;
- request models unstructure without the fields that are ``None`` ("not sent"), tuples
  become lists.

``structure`` failures raise one of ``STRUCTURE_ERRORS``: ``cattrs.BaseValidationError``
(an ``ExceptionGroup``; the detailed mode is on, so its notes name the failing class,
attribute and index, and ``cattrs.transform_error`` renders them), or, for a top-level
value of the wrong shape, ``TypeError``/``ValueError``. ``KeyError`` is listed for safety.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn

from openprovider_ssl import models as m

__all__ = [
    "STRUCTURE_ERRORS",
    "converter",
    "format_datetime",
    "parse_datetime",
    "structure",
    "structure_hook",
    "unstructure",
    "unstructure_request",
]

T = TypeVar("T")

STRUCTURE_ERRORS: Final[tuple[type[Exception], ...]] = (
    cattrs.BaseValidationError,
    ValueError,
    TypeError,
    KeyError,
)
"""What ``structure`` may raise on a malformed answer; catch exactly these."""

# Detailed validation measured within noise of the plain mode (about 2 us for Renewed,
# 30 us for a full order either way), and its errors name the class, attribute and index.
converter: Final = cattrs.Converter(
    forbid_extra_keys=False,
    detailed_validation=True,
    unstruct_collection_overrides={tuple: list},
)

_REQUESTS: Final = (
    m.UpdateOrderRequest,
    m.RenewOrderRequest,
    m.CreateOrderRequest,
    m.ReissueOrderRequest,
    m.CreateCsrRequest,
)


# --- scalars ----------------------------------------------------------------------------


def _structure_int(value: object, _: object) -> int:
    if type(value) is int:
        return value
    if type(value) is str:
        return int(value)
    if type(value) is float and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _structure_float(value: object, _: object) -> float:
    if type(value) is float or type(value) is int or type(value) is str:
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


_BOOL_WORDS: Final = {"true": True, "1": True, "false": False, "0": False}


def _structure_bool(value: object, _: object) -> bool:
    if type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    if type(value) is str and value.lower() in _BOOL_WORDS:
        return _BOOL_WORDS[value.lower()]
    raise ValueError(f"expected a boolean, got {value!r:.40}")


def _structure_str(value: object, _: object) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if type(value) is int or type(value) is float:
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


_STATUSES: Final = {s.value: s for s in m.OrderStatus}
_NO_STATUS: Final = m.OrderStatus("")


def _structure_status(value: object, _: object) -> m.OrderStatus:
    if type(value) is str:
        return _STATUSES.get(value) or m.OrderStatus(value)
    if value is None:
        return _NO_STATUS
    raise TypeError(f"expected a status string, got {type(value).__name__}")


def _structure_warning_data(value: object, _: object) -> str | None:
    if value is None or type(value) is str:
        return value
    return json.dumps(value, ensure_ascii=False)


def _structure_warning(value: object, _: object) -> m.ApiWarning:
    # Hand-written: tolerant of a missing code, and a few times faster than generic.
    if type(value) is not dict:
        raise TypeError(f"expected a warning object, got {type(value).__name__}")
    code = value.get("code")
    return m.ApiWarning(
        code=0 if code is None else _structure_int(code, int),
        desc=_structure_str(value.get("desc"), str),
        data=_structure_warning_data(value.get("data"), None),
    )


# --- dates ------------------------------------------------------------------------------

# Only reached when fromisoformat fails: the spec's examples carry unpadded hours.
_LOOSE_DATETIME: Final = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?"
)


def parse_datetime(value: object) -> datetime | None:
    """Read an API date as an aware UTC datetime; ``""``/``None``/zero date give ``None``."""
    if value is None or value == "":
        return None
    if type(value) is str:
        if value.startswith("0000-00-00"):
            return None
        text = value
        if len(text) == 18 and text[12] == ":":
            # "YYYY-MM-DD H:MM:SS" as in the spec's examples: pad the hour, stay on the C path.
            text = f"{text[:11]}0{text[11:]}"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            match = _LOOSE_DATETIME.fullmatch(value)
            if match is None:
                raise ValueError(f"unrecognised date {value!r:.40}") from None
            year, month, day, hour, minute, second = match.groups("0")
            parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise TypeError(f"expected a date string, got {type(value).__name__}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"date out of range: {value!r:.40}") from exc


def format_datetime(value: datetime) -> str:
    """Write a datetime the way Openprovider does: ``"YYYY-MM-DD HH:MM:SS"`` in UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None, microsecond=0).isoformat(" ")


def _structure_optional_datetime(value: object, _: object) -> datetime | None:
    return parse_datetime(value)


def _structure_datetime(value: object, _: object) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError("a date is required here")
    return parsed


# --- containers -------------------------------------------------------------------------


def _is_homogeneous_tuple(type_: Any) -> bool:
    args = get_args(type_)
    return get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis


def _tuple_hook_factory(type_: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    inner = homogenous_tuple_structure_factory(type_, conv)

    def structure_tuple(value: object, cls: Any) -> tuple[Any, ...]:
        if type(value) is list or type(value) is tuple:
            return inner(value, cls) if value else ()
        if value is None:
            return ()
        raise TypeError(f"expected a list, got {type(value).__name__}")

    return structure_tuple


def _attrs_hook_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    inner = make_dict_structure_fn(cls, conv)
    name = cls.__name__

    def structure_object(value: object, type_: Any) -> Any:
        if type(value) is not dict:
            raise TypeError(f"expected an object for {name}, got {type(value).__name__}")
        return inner(value, type_)

    return structure_object


def _is_order_result(type_: Any) -> bool:
    return isinstance(type_, type) and issubclass(type_, m.OrderResult)


def _order_result_hook_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    generated = _attrs_hook_factory(cls, conv)

    def structure_order_result(value: object, type_: Any) -> Any:
        # The usual answer of a write, {"id": N}, is built directly: renews run by the
        # thousand. Anything else takes the generated path, with its detailed errors.
        if type(value) is dict and len(value) == 1:
            order_id = value.get("id")
            if type(order_id) is int:
                return cls(order_id)
        return generated(value, type_)

    return structure_order_result


converter.register_structure_hook(int, _structure_int)
converter.register_structure_hook(float, _structure_float)
converter.register_structure_hook(bool, _structure_bool)
converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(m.OrderStatus, _structure_status)
converter.register_structure_hook(datetime, _structure_datetime)
converter.register_structure_hook(datetime | None, _structure_optional_datetime)
converter.register_structure_hook_factory(_is_homogeneous_tuple, _tuple_hook_factory)
converter.register_structure_hook_factory(attrs.has, _attrs_hook_factory)
converter.register_structure_hook_factory(_is_order_result, _order_result_hook_factory)
converter.register_structure_hook(m.ApiWarning, _structure_warning)
converter.register_unstructure_hook(datetime, format_datetime)
for _request in _REQUESTS:
    converter.register_unstructure_hook(
        _request, make_dict_unstructure_fn(_request, converter, _cattrs_omit_if_default=True)
    )

# Generate the answer hooks now (about 25 ms) rather than stall the event loop on first use.
for _answer in (
    m.Created,
    m.Updated,
    m.Renewed,
    m.Reissued,
    m.Cancelled,
    m.ApproverEmailUpdated,
    m.ApproverEmailResent,
    tuple[m.ApiWarning, ...],
    m.Order,
    m.OrderPage,
    m.Product,
    m.ProductPage,
    m.LoginData,
):
    converter.get_structure_hook(_answer)


# --- the package's entry points ---------------------------------------------------------


#: The converter's hook for a class, looked up once (every hook is registered above).
structure_hook: Final[Callable[[Any], Callable[[Any, Any], Any]]] = functools.cache(
    converter.get_structure_hook
)


def structure(data: object, cls: type[T]) -> T:
    """Build ``cls`` from decoded JSON; raises one of ``STRUCTURE_ERRORS`` if it does not fit."""
    result: T = structure_hook(cls)(data, cls)
    return result


def unstructure_request(obj: attrs.AttrsInstance) -> dict[str, Any]:
    """Turn a request model into a JSON-ready dict without the fields left at ``None``."""
    if not isinstance(obj, _REQUESTS):
        raise TypeError(f"not a request model: {type(obj).__name__}")
    result: dict[str, Any] = converter.unstructure(obj)
    return result


def unstructure(obj: object) -> Any:
    """Turn any model into JSON-ready data, every field included (for the CLI's output)."""
    return converter.unstructure(obj)


def renew_body(request: m.RenewOrderRequest) -> bytes:
    """The JSON body of a renew: the bytes ``unstructure_request`` and ``build_request`` give
    for ``request`` (a test keeps them equal), written directly. The renew is the hot call of
    bulk runs, and the general path costs it about five times as much."""
    dns = request.enable_dns_automation
    if dns is None:
        return b'{"id":%d}' % request.id
    return b'{"enable_dns_automation":%s,"id":%d}' % (b"true" if dns else b"false", request.id)
