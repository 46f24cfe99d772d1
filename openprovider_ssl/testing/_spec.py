"""The OpenAPI files turned, once at startup, into routes and cheap request checks.

Each request schema becomes a tree of small closures so the hot path is a dict walk, not a
generic JSON-schema interpreter. The same files answer "does this response match the spec?"
for tests (:func:`response_problems`).

Requests are read as a grpc-gateway reads proto3 messages (BEHAVIOUR.md, "How requests are
read"): unknown fields and query parameters are ignored, a body ``id`` is replaced by the
path's, a zero value (``""``, ``0``, ``false``, ``[]``) or ``null`` is "not set", an empty
body is ``{}``, a body that is the literal ``null`` is refused, an int32 may come as a JSON
string. With ``strict`` (``FakeOpenprovider(strict_requests=True)``), stricter than the real
API: unknown fields and parameters and a body ``id`` other than the path's are refused (399).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any, Final

from attrs import frozen

from ._errors import schema_error

JSON = dict[str, Any]
Check = Callable[[Any, str], Any]
"""Validate one value found at ``where``; return it normalised or raise a 399 ApiError."""

SPEC_FILES: Final = ("ssl.swagger.json", "auth.swagger.json")
BASE_PATH: Final = "/v1beta"
_INT32 = (-(2**31), 2**31 - 1)
_INT_TEXT = re.compile(r"-?[0-9]+")
#: proto3 zero values: sent, they are the same as not sent.
_ZERO: Final[tuple[Any, ...]] = ("", 0, False, [])
_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})

#: Operations that change state: refused during maintenance, eligible for drop-after.
WRITE_OPERATIONS: Final = frozenset(
    {
        "CreateOrder",
        "UpdateOrder",
        "RenewOrder",
        "ReissueOrder",
        "CancelOrder",
        "UpdateApproverEmailAddress",
        "ResendApproverEmail",
        "CreateOtpToken",
    }
)

#: Modelled, not documented: the spec marks nothing required; these fields are required so a
#: useless request is refused (399, "missing required field").
REQUIRED: Final[Mapping[str, tuple[str, ...]]] = {
    "CreateOrder": ("product_id", "period", "csr"),
    "UpdateApproverEmailAddress": ("approver_email",),
    "DecodeCsr": ("csr",),
    "CreateCsr": ("common_name",),
}


@functools.cache
def load_spec(name: str) -> JSON:
    """Read one of the bundled swagger files (package data, so it works when installed).

    Cached and shared: callers must not mutate the result.
    """
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    spec: JSON = json.loads(text)
    return spec


def _resolve(schema: JSON, defs: JSON) -> JSON:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _check_string(value: Any, where: str) -> Any:
    if not isinstance(value, str):
        raise schema_error(f"{where}: expected string, got {type(value).__name__}")
    return value


def _check_integer(value: Any, where: str) -> Any:
    # protojson accepts an int32 as a JSON number (1.0 too) or a decimal string ("1", guide 10).
    if isinstance(value, str | float) and (
        value.is_integer() if isinstance(value, float) else _INT_TEXT.fullmatch(value)
    ):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise schema_error(f"{where}: expected integer, got {type(value).__name__}")
    if not _INT32[0] <= value <= _INT32[1]:
        raise schema_error(f"{where}: integer out of int32 range")
    return value


def _check_boolean(value: Any, where: str) -> Any:
    if not isinstance(value, bool):
        raise schema_error(f"{where}: expected boolean, got {type(value).__name__}")
    return value


def _check_number(value: Any, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise schema_error(f"{where}: expected number, got {type(value).__name__}")
    return value


_SCALARS: Final[dict[str, Check]] = {
    "string": _check_string,
    "integer": _check_integer,
    "boolean": _check_boolean,
    "number": _check_number,
}


def compile_schema(schema: JSON, defs: JSON, strict: bool = False) -> Check:
    """Build the checker for one schema: nulls and zero values dropped as unset, unknown
    fields dropped (refused if ``strict``)."""
    schema = _resolve(schema, defs)
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        item = compile_schema(schema.get("items", {}), defs, strict)

        def check_array(value: Any, where: str) -> Any:
            if not isinstance(value, list):
                raise schema_error(f"{where}: expected array, got {type(value).__name__}")
            return [item(v, f"{where}[{i}]") for i, v in enumerate(value)]

        return check_array
    props = {k: compile_schema(v, defs, strict) for k, v in schema.get("properties", {}).items()}

    def check_object(value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise schema_error(f"{where}: expected object, got {type(value).__name__}")
        out = {}
        for key, item in value.items():
            check = props.get(key)
            if check is None:
                if strict:
                    raise schema_error(f"{where}: unknown field {key!r}")
                continue
            if item is not None:
                checked = check(item, f"{where}.{key}")
                if checked not in _ZERO:
                    out[key] = checked
        return out

    return check_object


@frozen
class QueryParam:
    """One query parameter: its scalar checker and whether it may repeat (``multi``)."""

    name: str
    check: Check
    multi: bool


def _query_value(param: QueryParam, raw: str) -> Any:
    check = param.check
    if check is _check_boolean:
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise schema_error(f"query.{param.name}: expected boolean, got {raw!r}")
    if check is _check_integer:
        return _check_integer(raw, f"query.{param.name}")
    return raw


@frozen
class Operation:
    """One operation of the spec, ready to serve: where it lives and how to check its input."""

    operation_id: str
    method: str
    template: str
    query: Mapping[str, QueryParam]
    body: Check | None
    required: tuple[str, ...]
    write: bool
    response: JSON
    strict: bool = False

    def parse_query(self, items: Any) -> dict[str, Any]:
        """Check a query multidict against the declared parameters; repeats only if multi.

        Unknown parameters are ignored (refused if strict); a single value that is a zero
        value (``?order_by.status=``, ``?limit=0``) is the same as not given.
        """
        out: dict[str, Any] = {}
        seen: set[str] = set()
        for name, raw in items:
            param = self.query.get(name)
            if param is None:
                if self.strict:
                    raise schema_error(f"query: unknown parameter {name!r}")
                continue
            value = _query_value(param, raw)
            if param.multi:
                out.setdefault(name, []).append(value)
                continue
            if name in seen:
                raise schema_error(f"query: parameter {name!r} given more than once")
            seen.add(name)
            if value not in _ZERO:
                out[name] = value
        return out

    def parse_body(self, payload: Any) -> dict[str, Any]:
        """Check a decoded JSON body (pass ``{}`` for an empty one, as grpc-gateway reads it).

        The literal ``null`` is refused like protojson does; then the modelled required fields.
        """
        if self.body is None:
            return {}
        if payload is None:
            raise schema_error("body: expected object, got null")
        body: dict[str, Any] = self.body(payload, "body")
        for name in self.required:
            if name not in body:
                raise schema_error(f"body: missing required field {name!r}")
        return body

    def parse_id(self, raw: str, body: dict[str, Any]) -> int:
        """The int32 ``{id}`` of the path (any sign: an unknown one is "not found", not 399).

        A body ``id`` is overwritten by it, as grpc-gateway does; refused if it differs and
        strict.
        """
        oid = int(raw) if _INT_TEXT.fullmatch(raw) and len(raw) <= 11 else None
        if oid is None or not _INT32[0] <= oid <= _INT32[1]:
            raise schema_error(f"path.id: expected an int32, got {raw!r}")
        if self.body is not None:
            if self.strict and body.get("id", oid) != oid:
                raise schema_error(
                    f"body.id ({body['id']}) does not match the id in the path ({oid})"
                )
            body["id"] = oid
        return oid


def compile_operations(strict: bool = False) -> list[Operation]:
    """Every operation the fake serves: the ssl file's, and Login of the auth file (its
    spam-expert GenerateLoginURL is no part of the SSL API: the fake answers 404/399)."""
    ops: list[Operation] = []
    for filename in SPEC_FILES:
        spec = load_spec(filename)
        defs = spec["definitions"]
        for template, methods in spec["paths"].items():
            if not template.startswith(("/v1beta/ssl", "/v1beta/auth")):
                continue
            for method, op in methods.items():
                query: dict[str, QueryParam] = {}
                body: Check | None = None
                for p in op.get("parameters", []):
                    if p["in"] == "query":
                        multi = p.get("type") == "array"
                        scalar = p["items"]["type"] if multi else p["type"]
                        query[p["name"]] = QueryParam(p["name"], _SCALARS[scalar], multi)
                    elif p["in"] == "body":
                        body = compile_schema(p["schema"], defs, strict)
                op_id = op["operationId"]
                ops.append(
                    Operation(
                        operation_id=op_id,
                        method=method.upper(),
                        template=template,
                        query=query,
                        body=body,
                        required=REQUIRED.get(op_id, ()),
                        write=op_id in WRITE_OPERATIONS,
                        response=_resolve(op["responses"]["200"]["schema"], defs),
                        strict=strict,
                    )
                )
    return ops


class Router:
    """Path to operations by method; ``{id}`` templates matched by prefix and suffix."""

    def __init__(self, operations: list[Operation]) -> None:
        self._static: dict[str, dict[str, Operation]] = {}
        self._dynamic: list[tuple[str, str, dict[str, Operation]]] = []
        by_template: dict[str, dict[str, Operation]] = {}
        for op in operations:
            by_template.setdefault(op.template, {})[op.method] = op
        for template, methods in by_template.items():
            if "{id}" in template:
                prefix, suffix = template.split("{id}")
                self._dynamic.append((prefix, suffix, methods))
            else:
                self._static[template] = methods

    def match(self, path: str) -> tuple[dict[str, Operation], str | None] | None:
        """The operations at ``path`` and the raw ``{id}`` segment, or None if no route."""
        methods = self._static.get(path)
        if methods is not None:
            return methods, None
        for prefix, suffix, methods in self._dynamic:
            if path.startswith(prefix) and path.endswith(suffix):
                raw = path[len(prefix) : len(path) - len(suffix)]
                if raw and "/" not in raw:
                    return methods, raw
        return None


def _walk(value: Any, schema: JSON, defs: JSON, where: str, out: list[str]) -> None:
    schema = _resolve(schema, defs)
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "object":
        if not isinstance(value, dict):
            out.append(f"{where}: expected object, got {type(value).__name__}")
            return
        props = schema.get("properties", {})
        for key, item in value.items():
            if key not in props:
                out.append(f"{where}: field {key!r} not in the spec")
            else:
                _walk(item, props[key], defs, f"{where}.{key}", out)
    elif kind == "array":
        if not isinstance(value, list):
            out.append(f"{where}: expected array, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _walk(item, schema.get("items", {}), defs, f"{where}[{i}]", out)
    elif kind in _SCALARS and not _is_json_type(kind, value):
        out.append(f"{where}: expected {kind}, got {type(value).__name__}: {value!r}")


def _is_json_type(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind == "integer" else isinstance(value, int | float)


_ERROR_ENVELOPE: Final[JSON] = {
    "type": "object",
    "properties": {
        "code": {"type": "integer"},
        "data": {"type": "string"},
        "desc": {"type": "string"},
        "maintenance": {"type": "boolean"},
        "warnings": {"type": "array", "items": {"$ref": "#/definitions/errorWarning"}},
    },
}


def response_problems(operation_id: str, envelope: Any) -> list[str]:
    """Every way ``envelope`` departs from the spec's response schema for ``operation_id``.

    Success envelopes are checked against the operation's 200 schema, error envelopes against
    ``errorError`` plus ``maintenance`` and ``warnings``. An empty list means it matches.
    """
    for filename in SPEC_FILES:
        spec = load_spec(filename)
        defs = spec["definitions"]
        for methods in spec["paths"].values():
            for op in methods.values():
                if op["operationId"] != operation_id:
                    continue
                out: list[str] = []
                ok = isinstance(envelope, dict) and envelope.get("code") == 0
                schema = op["responses"]["200"]["schema"] if ok else _ERROR_ENVELOPE
                _walk(envelope, schema, defs, "envelope", out)
                for key in ("code", "desc", "maintenance", "warnings"):
                    if isinstance(envelope, dict) and key not in envelope:
                        out.append(f"envelope: {key!r} missing")
                return out
    raise KeyError(operation_id)
