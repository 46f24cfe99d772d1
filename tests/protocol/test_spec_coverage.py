"""The client covers ssl.swagger.json: every operation has a method, every response field an
attribute of its model, every request parameter an argument, and each method sends what the
spec declares (method, path, query names, body fields and types).

``OPERATIONS`` is the explicit table operationId -> client method(s). A new operation in the
spec, or a method that disappears, fails here first.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from aioresponses import CallbackResult, aioresponses

import openprovider_ssl as op
from openprovider_ssl._resources import paging as _paging

SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "openprovider-api"
BUNDLED = Path(op.__file__).resolve().parent / "testing" / "ssl.swagger.json"
BASE = "https://api.test/v1beta"
TOKEN = "t0k3n-for-tests"
ID = 7
CSR = (
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "MIIBszCCARwCAQAwczELMAkGA1UEBhMCTkwxFjAUBgNVBAgMDU5vb3JkLUhvbGxh\n"
    "bmQ=\n"
    "-----END CERTIFICATE REQUEST-----"
)
DVM = [{"host_name": "example.com", "method": "dns"}]


def load_spec() -> dict[str, Any]:
    path = SPEC_DIR / "ssl.swagger.json"
    if not path.is_file():
        path = BUNDLED
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return spec


SPEC = load_spec()
DEFS: dict[str, Any] = SPEC["definitions"]


async def _first(listing: AsyncIterator[Any]) -> Any:
    item = await anext(listing)
    await listing.aclose()  # type: ignore[attr-defined]
    return item


@attrs.frozen
class Entry:
    """How the client covers one operation."""

    #: Dotted paths from the client: the main method first, then any others for the same call.
    methods: tuple[str, ...]
    #: The model the answer's ``data`` is structured into.
    model: type[Any]
    #: A call with every argument given, to check what goes on the wire.
    sample: Callable[[op.Client], Awaitable[Any]]
    #: Spec request field -> argument name, where they differ.
    renamed: dict[str, str] = attrs.field(factory=dict)


OPERATIONS: dict[str, Entry] = {
    "ListApproverEmails": Entry(
        ("approver_emails.list",),
        op.ApproverEmailList,
        lambda c: c.approver_emails.list("example.com", product_id=1),
    ),
    "CreateCsr": Entry(
        ("csr.create",),
        op.CreatedCsr,
        lambda c: c.csr.create(
            "example.com",
            bits=2048,
            country="NL",
            email="admin@example.com",
            locality="Haarlem",
            organization="Example",
            signature_hash_algorithm="sha2",
            state="NH",
            subject_alternative_name=["www.example.com"],
            unit="IT",
            with_config=True,
        ),
    ),
    "DecodeCsr": Entry(
        ("csr.decode",), op.DecodedCsr, lambda c: c.csr.decode(CSR), renamed={"csr": "pem"}
    ),
    "ListOrders": Entry(
        ("orders.list", "orders.page"),
        op.OrderPage,
        lambda c: _first(
            c.orders.list(
                status=["ACT", "REQ"],
                common_name_pattern="*.example.com",
                contact_handle="XY012345-NL",
                show_expiring=True,
                order_by={field: "asc" for field in _paging.ORDER_SORT_FIELDS},
            )
        ),
    ),
    "CreateOrder": Entry(
        ("orders.create",),
        op.Created,
        lambda c: c.orders.create(
            1,
            period=1,
            csr=CSR,
            software_id="linux",
            approver_email="admin@example.com",
            autorenew="off",
            domain_amount=1,
            domain_validation_methods=DVM,
            enable_dns_automation=False,
            host_names=["example.com"],
            organization_handle="XY012345-NL",
            signature_hash_algorithm="sha2",
            start_provision=False,
            technical_handle="XY012345-NL",
            wildcard_domain_amount=0,
        ),
    ),
    "GetOrder": Entry(("orders.get",), op.Order, lambda c: c.orders.get(ID)),
    "UpdateOrder": Entry(
        ("orders.update",),
        op.Updated,
        lambda c: c.orders.update(
            ID,
            approver_email="admin@example.com",
            autorenew="on",
            csr=CSR,
            domain_validation_methods=DVM,
            enable_dns_automation=True,
            host_names=["example.com"],
            organization_handle="XY012345-NL",
            signature_hash_algorithm="sha2",
            software_id="linux",
            start_provision=True,
            technical_handle="XY012345-NL",
        ),
    ),
    "UpdateApproverEmailAddress": Entry(
        ("orders.update_approver_email",),
        op.ApproverEmailUpdated,
        lambda c: c.orders.update_approver_email(ID, "admin@example.com"),
    ),
    "ResendApproverEmail": Entry(
        ("orders.resend_approver_email",),
        op.ApproverEmailResent,
        lambda c: c.orders.resend_approver_email(ID),
    ),
    "CancelOrder": Entry(("orders.cancel",), op.Cancelled, lambda c: c.orders.cancel(ID)),
    "CreateOtpToken": Entry(
        ("orders.create_otp_token",), op.OtpToken, lambda c: c.orders.create_otp_token(ID)
    ),
    "ReissueOrder": Entry(
        ("orders.reissue",),
        op.Reissued,
        lambda c: c.orders.reissue(
            ID,
            approver_email="admin@example.com",
            csr=CSR,
            domain_validation_methods=DVM,
            enable_dns_automation=True,
            host_names=["example.com"],
            organization_handle="XY012345-NL",
            signature_hash_algorithm="sha2",
            software_id="windows",
        ),
    ),
    "RenewOrder": Entry(
        ("orders.renew",), op.Renewed, lambda c: c.orders.renew(ID, enable_dns_automation=True)
    ),
    "ListProducts": Entry(
        ("products.list", "products.page"),
        op.ProductPage,
        lambda c: _first(
            c.products.list(
                with_price=True,
                with_supported_software=True,
                with_description=True,
                order_by={field: "desc" for field in _paging.PRODUCT_SORT_FIELDS},
            )
        ),
    ),
    "GetProduct": Entry(("products.get",), op.Product, lambda c: c.products.get(ID)),
}

#: The id travels in the path; the update body leaves it out (grpc-gateway takes the path's).
BODY_ID_OPTIONAL = frozenset({"UpdateOrder"})


@attrs.frozen
class SpecOp:
    operation_id: str
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def query(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.spec.get("parameters", []) if p["in"] == "query"}

    @property
    def body_schema(self) -> dict[str, Any] | None:
        for p in self.spec.get("parameters", []):
            if p["in"] == "body":
                return resolve(p["schema"])
        return None

    @property
    def data_schema(self) -> dict[str, Any]:
        envelope = resolve(self.spec["responses"]["200"]["schema"])
        return resolve(envelope["properties"]["data"])

    @property
    def example(self) -> dict[str, Any]:
        ref = self.spec["responses"]["200"]["schema"]["$ref"].rsplit("/", 1)[1]
        example: dict[str, Any] = DEFS[ref]["example"]
        return example


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = DEFS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def spec_operations() -> Iterator[SpecOp]:
    for path, methods in SPEC["paths"].items():
        for method, spec in methods.items():
            yield SpecOp(spec["operationId"], method.upper(), path, spec)


SPEC_OPS = {o.operation_id: o for o in spec_operations()}


def method_of(client: op.Client, dotted: str) -> Callable[..., Any]:
    target: Any = client
    for part in dotted.split("."):
        target = getattr(target, part)
    assert callable(target), dotted
    return typing.cast(Callable[..., Any], target)


# --- every operation has a method -------------------------------------------------------


def test_the_spec_is_found() -> None:
    assert len(SPEC_OPS) >= 15
    assert {o.method for o in SPEC_OPS.values()} == {"GET", "POST", "PUT"}


def test_every_operation_of_the_spec_has_a_client_method() -> None:
    missing = sorted(set(SPEC_OPS) - set(OPERATIONS))
    assert not missing, f"operations of ssl.swagger.json without a client method: {missing}"
    stale = sorted(set(OPERATIONS) - set(SPEC_OPS))
    assert not stale, f"the table names operations the spec no longer has: {stale}"


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_each_listed_method_exists(operation_id: str) -> None:
    client = op.Client(token=TOKEN, base_url=BASE)
    for dotted in OPERATIONS[operation_id].methods:
        method = method_of(client, dotted)
        assert method.__doc__, f"{dotted} has no docstring"


# --- every response field has a model attribute -----------------------------------------

_SCALARS: dict[str, tuple[type[Any], ...]] = {
    "string": (str, datetime, op.OrderStatus),
    "integer": (int,),
    "boolean": (bool,),
    "number": (float,),
}


def _leaves(hint: Any) -> list[Any]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return [leaf for arg in typing.get_args(hint) for leaf in _leaves(arg)]
    return [] if hint is type(None) else [hint]


def _problems(schema: dict[str, Any], hint: Any, where: str) -> list[str]:
    """How the model type ``hint`` fails to hold every field of ``schema``."""
    schema = resolve(schema)
    kind = schema.get("type", "object" if "properties" in schema else None)
    leaves = _leaves(hint)
    if kind == "array":
        tuples = [h for h in leaves if typing.get_origin(h) is tuple]
        if not tuples:
            return [f"{where}: an array in the spec, {hint} in the model"]
        return _problems(schema["items"], typing.get_args(tuples[0])[0], f"{where}[]")
    if kind in _SCALARS:
        if not any(isinstance(h, type) and issubclass(h, _SCALARS[kind]) for h in leaves):
            return [f"{where}: {kind} in the spec, {hint} in the model"]
        return []
    models = [h for h in leaves if attrs.has(h)]
    if not models:
        return [f"{where}: an object in the spec, {hint} in the model"]
    model = models[0]
    hints = typing.get_type_hints(model)
    problems = []
    for name, prop in schema.get("properties", {}).items():
        if name not in hints:
            problems.append(f"{where}.{name}: no attribute in {model.__name__}")
        else:
            problems.extend(_problems(prop, hints[name], f"{where}.{name}"))
    return problems


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_every_response_field_has_a_model_attribute(operation_id: str) -> None:
    entry, spec_op = OPERATIONS[operation_id], SPEC_OPS[operation_id]
    assert _problems(spec_op.data_schema, entry.model, entry.model.__name__) == []


def test_the_coverage_walk_notices_a_missing_attribute() -> None:
    @attrs.frozen
    class Short:
        id: int = 0

    schema = {"properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
    assert _problems(schema, Short, "Short") == ["Short.name: no attribute in Short"]
    assert _problems({"type": "array", "items": {"type": "string"}}, str, "x") != []


# --- every request parameter has an argument --------------------------------------------


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_every_request_parameter_has_an_argument(operation_id: str) -> None:
    entry, spec_op = OPERATIONS[operation_id], SPEC_OPS[operation_id]
    client = op.Client(token=TOKEN, base_url=BASE)
    arguments: set[str] = set()
    for dotted in entry.methods:
        arguments |= set(inspect.signature(method_of(client, dotted)).parameters)
    wanted = set(spec_op.query)
    if any(name.startswith("order_by.") for name in wanted):
        wanted = {n for n in wanted if not n.startswith("order_by.")} | {"order_by"}
    body = spec_op.body_schema
    if body is not None:
        wanted |= set(body["properties"]) - {"id"}
    wanted = {entry.renamed.get(name, name) for name in wanted}
    assert wanted - arguments == set()


@pytest.mark.parametrize(
    ("operation_id", "fields"),
    [("ListOrders", _paging.ORDER_SORT_FIELDS), ("ListProducts", _paging.PRODUCT_SORT_FIELDS)],
)
def test_sort_fields_are_the_specs(operation_id: str, fields: tuple[str, ...]) -> None:
    declared = {n[9:] for n in SPEC_OPS[operation_id].query if n.startswith("order_by.")}
    assert set(fields) == declared


# --- each method sends what the spec declares -------------------------------------------


def _conforms(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    schema = resolve(schema)
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: not an array"]
        return [p for i, v in enumerate(value) for p in _conforms(v, schema["items"], where)]
    if kind in _SCALARS:
        python: dict[str, type | tuple[type, ...]] = {
            "string": str,
            "integer": int,
            "boolean": bool,
            "number": (int, float),
        }
        bad = not isinstance(value, python[kind]) or (kind != "boolean" and isinstance(value, bool))
        return [f"{where}: {value!r} is not a {kind}"] if bad else []
    if not isinstance(value, dict):
        return [f"{where}: not an object"]
    props = schema.get("properties", {})
    problems = [f"{where}.{k}: not in the spec" for k in value if k not in props]
    return problems + [
        p for k, v in value.items() if k in props for p in _conforms(v, props[k], f"{where}.{k}")
    ]


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
async def test_each_method_sends_what_the_spec_declares(operation_id: str) -> None:
    entry, spec_op = OPERATIONS[operation_id], SPEC_OPS[operation_id]
    sent: list[dict[str, Any]] = []

    def answer(url: Any, **kwargs: Any) -> CallbackResult:
        sent.append(kwargs)
        return CallbackResult(payload=spec_op.example)

    path = spec_op.path.removeprefix("/v1beta").replace("{id}", str(ID))
    url = re.compile("^" + re.escape(BASE + path) + r"(\?.*)?$")
    with aioresponses() as m:
        m.add(url, method=spec_op.method, callback=answer, repeat=True)
        async with op.Client(token=TOKEN, base_url=BASE) as client:
            result = await entry.sample(client)
    assert len(sent) == 1, f"{operation_id}: expected one {spec_op.method} {path}"
    kwargs = sent[0]
    assert kwargs["headers"]["Authorization"] == f"Bearer {TOKEN}"

    query = list(kwargs.get("params") or ())
    declared = spec_op.query
    for name, value in query:
        assert name in declared, f"{operation_id}: query parameter {name!r} not in the spec"
        assert isinstance(value, str)
    repeated = {n for n, _ in query if [m for m, _ in query].count(n) > 1}
    assert all(declared[n].get("type") == "array" for n in repeated)

    schema = spec_op.body_schema
    if schema is None:
        assert kwargs["data"] is None
    else:
        body = json.loads(kwargs["data"])
        assert _conforms(body, schema, "body") == []
        if "{id}" in spec_op.path and "id" in schema["properties"]:
            if operation_id in BODY_ID_OPTIONAL:
                assert body.get("id", ID) == ID
            else:
                assert body["id"] == ID

    if entry.model is op.ApproverEmailList:
        assert result == tuple(spec_op.example["data"]["results"])
    elif entry.model in (op.OrderPage, op.ProductPage):
        assert isinstance(result, op.Order if entry.model is op.OrderPage else op.Product)
    else:
        assert isinstance(result, entry.model)
