"""Hypothesis drives every public method with arbitrary arguments.

What comes out of a call is either a result, a ``ValidationError`` or ``TypeError`` raised
before anything was sent (the fake's request counter did not move), or an API refusal of a
request the fake received on a known path. Never an ``AttributeError``, a bare ``ValueError``
or a crash inside aiohttp, and never a request to a path outside the API.

The methods are discovered, not listed: a method added to a resource later is fuzzed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import openprovider_ssl as op
from openprovider_ssl.testing import FakeOpenprovider
from openprovider_ssl.testing._der import build_csr

pytestmark = [pytest.mark.fuzz, pytest.mark.integration]

RESOURCES = ("orders", "products", "csr", "approver_emails")
#: Arguments drawn only from valid values. ``progress``: bulk.py does not check that the hook
#: is callable, so a bad one fails in the middle of a run, after requests went out (reported).
TAME = frozenset({"progress"})
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CSR = build_csr({"common_name": "fuzz.example.com", "country": "NL"}, ["www.fuzz.example.com"])


class Sneaky(int):
    """An int whose text is a path: formatting it into a URL must not escape the path."""

    def __str__(self) -> str:
        return "1/../../auth/login?x=1#"

    __repr__ = __str__
    __format__ = lambda self, spec: str(self)  # noqa: E731


class Shifty(str):
    """A str that claims to equal anything and renders as something else."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return "x\r\nX-Injected: 1"

    def upper(self) -> str:
        return "ACT\r\nX-Injected: 1"

    lower = upper


NASTY_TEXT = (
    "",
    " ",
    "../../auth/login",
    "1/../../auth/login",
    "%2e%2e%2fauth%2flogin",
    "1?id=2",
    "1#frag",
    "a\r\nX-Injected: 1",
    "a\nb",
    "\x00",
    "example.com/../x",
    "*.example.com",
    "xn--bcher-kva.example",
    "ex\u0430mple.com",
    "\u212aelvin.example.com",
    "a" * 300,
    "admin@example.com\r\nBcc: x@y.z",
    "-----BEGIN CERTIFICATE REQUEST-----\nAA==\n-----END CERTIFICATE REQUEST-----",
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -0.0, 1.0, 31027.0]),
    st.text(max_size=30),
    st.sampled_from(NASTY_TEXT),
    st.binary(max_size=20),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.builds(Decimal, st.integers()),
    st.builds(object),
    st.builds(Sneaky, st.integers(1, 2**31 - 1)),
    st.builds(Shifty, st.sampled_from(["on", "ACT", "linux", "example.com", "asc"])),
)
#: Values that look valid and are not, or are valid and misbehave: tried often on purpose.
impostors = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.builds(Sneaky, st.sampled_from([100_001, 100_002, 1])),
    st.builds(Shifty, st.sampled_from(["on", "ACT", "linux", "example.com", "asc", "dns"])),
    st.sampled_from([True, 1.0, "100001", b"100001", -1, 0, 2**31, 2**64]),
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=12), inner, max_size=3),
        st.sets(st.integers(), max_size=3),
        st.lists(inner, max_size=3).map(iter),
    ),
    max_leaves=8,
)


def plausible(name: str, order_ids: list[int]) -> st.SearchStrategy[Any]:
    """Values that pass validation for an argument called ``name``, so calls get through."""
    hosts = st.sampled_from(["example.com", "www.example.com", "*.example.nl", "a-b.example.eu"])
    by_name: dict[str, st.SearchStrategy[Any]] = {
        "order_id": st.sampled_from(order_ids),
        "product_id": st.integers(1, 14),
        "period": st.integers(1, 3),
        "autorenew": st.sampled_from(["on", "off"]),
        "software_id": st.sampled_from(["linux", "windows"]),
        "signature_hash_algorithm": st.sampled_from(["sha1", "sha2"]),
        "csr": st.just(CSR),
        "pem": st.just(CSR),
        "approver_email": st.sampled_from(["admin@example.com", "hostmaster@example.com"]),
        "email": st.just("admin@example.com"),
        "host_names": st.lists(hosts, min_size=1, max_size=3),
        "subject_alternative_name": st.lists(hosts, min_size=1, max_size=2),
        "common_name": hosts,
        "domain": hosts,
        "domain_validation_methods": st.lists(
            st.fixed_dictionaries(
                {"host_name": hosts, "method": st.sampled_from(["dns", "http", "email"])}
            ),
            min_size=1,
            max_size=2,
        ),
        "organization_handle": st.just("AX100200-NL"),
        "technical_handle": st.just("AX100200-NL"),
        "contact_handle": st.just("AX100200-NL"),
        "status": st.one_of(st.sampled_from(["ACT", "REQ"]), st.just(["ACT", "PAI"])),
        "common_name_pattern": st.sampled_from(["*.example.com", "shop*"]),
        "order_by": st.sampled_from([{"expiration_date": "asc"}, ("status", "desc")]),
        "limit": st.integers(1, 50),
        "page_size": st.integers(1, 50),
        "offset": st.integers(0, 100),
        "bits": st.sampled_from([2048, 4096]),
        "country": st.just("NL"),
        "known_expiration": st.just(datetime.now(UTC) + timedelta(days=10)),
        "progress": st.sampled_from([None, lambda done, failed, total: None]),
        "concurrency": st.integers(1, 8),
    }
    if name in by_name:
        return by_name[name]
    if name.startswith(("with_", "show_", "enable_", "start_")):
        return st.booleans()
    return st.text(alphabet="abcdefghij", min_size=1, max_size=10)


def public_methods() -> list[str]:
    client = op.Client("t", base_url="http://127.0.0.1:9/v1beta")
    found = []
    for resource in RESOURCES:
        for name, member in inspect.getmembers(getattr(client, resource)):
            if not name.startswith("_") and callable(member):
                found.append(f"{resource}.{name}")
    return sorted(found)


METHODS = public_methods()


def test_every_resource_method_is_fuzzed() -> None:
    assert {"orders.get", "orders.renew", "orders.update", "csr.create"} <= set(METHODS)


@st.composite
def arguments(
    draw: st.DrawFn, method: Callable[..., Any], order_ids: list[int]
) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments for ``method``: each one plausible, absent or wild."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    positional = True
    for param in inspect.signature(method).parameters.values():
        required = param.default is inspect.Parameter.empty
        if param.kind is param.VAR_POSITIONAL or param.kind is param.VAR_KEYWORD:
            continue
        if not required and not draw(st.booleans()):
            positional = False
            continue
        value = draw(
            plausible(param.name, order_ids)
            if param.name in TAME
            else st.one_of(plausible(param.name, order_ids), impostors, anything)
        )
        if param.kind is param.POSITIONAL_OR_KEYWORD and positional:
            args.append(value)
        else:
            kwargs[param.name] = value
    extra = draw(st.sampled_from([None, None, None, None, "positional", "keyword", "drop"]))
    if extra == "positional":
        args.append(draw(anything))
    elif extra == "keyword":
        kwargs[draw(st.sampled_from(["idd", "orderid", "token", "headers"]))] = draw(anything)
    elif extra == "drop" and args:
        args.pop()
    return args, kwargs


async def invoke(method: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> None:
    """Call ``method`` and consume what it returns: a coroutine, a listing, an iterator."""
    result = method(*args, **kwargs)
    if inspect.isawaitable(result):
        await result
    elif hasattr(result, "__aiter__"):
        seen = 0
        async for _ in result:
            seen += 1
            if seen >= 3:
                break
        if hasattr(result, "aclose"):
            await result.aclose()


def stray_requests(fake: FakeOpenprovider) -> tuple[int, int]:
    """Requests to no API path, and logins (the client holds a token: it never logs in)."""
    return fake.stats.requests["_unknown"], fake.stats.requests["Login"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenprovider]:
    async with FakeOpenprovider(orders=60, seed=11) as fake:
        yield fake


@pytest.fixture
async def client(fake: FakeOpenprovider) -> AsyncIterator[op.Client]:
    async with op.Client(fake.token, base_url=fake.url, retry=op.RetryPolicy.never()) as client:
        yield client


@pytest.mark.parametrize("name", METHODS)
@FUZZ
@given(data=st.data())
async def test_arbitrary_arguments_are_refused_cleanly_or_sent_to_a_known_path(
    name: str, data: st.DataObject, fake: FakeOpenprovider, client: op.Client
) -> None:
    resource, _, attribute = name.partition(".")
    method = getattr(getattr(client, resource), attribute)
    args, kwargs = data.draw(arguments(method, [*sorted(fake.orders)[:20], 999_999]))
    before = fake.stats.total
    strays = stray_requests(fake)
    try:
        async with asyncio.timeout(10):
            await invoke(method, args, kwargs)
    except (op.ValidationError, op.RenewalPendingError, TypeError) as error:
        # Refused before sending; a renew of an order an earlier example renewed (the client
        # and its journal live for all of them) is refused so.
        assert fake.stats.total == before, f"{name} raised {error!r} after sending a request"
    except op.OpenproviderError as error:
        # The arguments passed validation and the fake refused them: that is its right, but
        # the request must have gone to a real API path and been understood as JSON.
        assert fake.stats.total > before, f"{name} raised {error!r} without sending"
        assert not isinstance(error, op.ResponseError), error
        assert "no such path" not in str(error) and "not allowed on" not in str(error), error
        assert "not valid JSON" not in str(error), error
    assert stray_requests(fake) == strays, f"{name} sent a request outside its own path"


@FUZZ
@given(
    kwargs=st.dictionaries(
        st.sampled_from(
            [
                "token",
                "username",
                "password",
                "base_url",
                "timeout",
                "retry",
                "max_connections",
                "session",
                "limits",
                "allow_insecure_http",
                "login_ip",
                "bogus",
            ]
        ),
        st.one_of(
            anything,
            st.sampled_from(
                [
                    "tok-123",
                    "tok\r\nX-Injected: 1",
                    "https://api.example.com/v1beta",
                    "http://api.example.com/v1beta",
                    "http://127.0.0.1:1/v1beta",
                    "https://user:pw@api.example.com",
                    "https://api.example.com/v1beta?x=1",
                    "ftp://api.example.com",
                    "0.0.0.0",
                    "not an ip",
                ]
            ),
        ),
        max_size=5,
    )
)
def test_arbitrary_configuration_is_refused_with_validation_or_type_errors(
    kwargs: dict[str, Any],
) -> None:
    try:
        client = op.Client(**kwargs)
    except (op.ValidationError, TypeError):
        return
    # What was accepted is usable as configured: the types are the documented ones.
    assert isinstance(client.retry_policy, op.RetryPolicy)
    assert client.base_url.startswith(("https://", "http://"))


@FUZZ
@given(
    environ=st.dictionaries(
        st.sampled_from(
            [
                "OPENPROVIDER_TOKEN",
                "OPENPROVIDER_USERNAME",
                "OPENPROVIDER_PASSWORD",
                "OPENPROVIDER_BASE_URL",
                "OTHER",
            ]
        ),
        st.one_of(st.text(max_size=20), st.sampled_from(NASTY_TEXT)),
        max_size=4,
    )
)
def test_from_env_refuses_bad_environments_with_validation_errors(environ: dict[str, str]) -> None:
    with contextlib.suppress(op.ValidationError):
        op.Client.from_env(environ)
