"""schemathesis drives every operation of both official swagger files against the fake process.

``python -m openprovider_ssl.testing`` runs as a subprocess on a free loopback port; each
operation gets a bounded number of derandomized examples (the spec's own examples first), half
of them aimed at orders and products that exist so the business rules run too. Every answer
must be the JSON envelope, no server error, valid against the spec; every request the spec
allows is accepted or refused with a known code, and a 399 only for a modelled rule (not for
a field the real API ignores). With ``--strict-requests`` the stricter refusals show.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from openprovider_ssl.testing import ERRORS
from openprovider_ssl.testing._spec import SPEC_FILES

pytestmark = pytest.mark.process

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import response_schema_conformance  # noqa: E402

TOKEN = "schemathesis-static-token"
ORDERS = 60
EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 10}
#: What a 399 says when the request broke the spec itself (or, strict, what the API ignores).
SPEC_REFUSALS = (
    "expected integer",
    "expected string",
    "expected boolean",
    "expected number",
    "expected array",
    "expected object",
    "expected an int32",
    "not valid JSON",
    "more than once",
)
STRICT_REFUSALS = ("unknown field", "unknown parameter", "does not match the id in the path")


@contextmanager
def fake_process(*flags: str) -> Iterator[dict[str, Any]]:
    args = [sys.executable, "-m", "openprovider_ssl.testing", "--port", "0", "--json"]
    args += ["--orders", str(ORDERS), "--seed", "5", "--token", TOKEN, "--identical-limit", "9999"]
    proc = subprocess.Popen([*args, *flags], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def operations() -> Iterator[Any]:
    for name in SPEC_FILES:
        path = resources.files("openprovider_ssl.testing").joinpath(name)
        for result in schemathesis.openapi.from_path(str(path)).get_all_operations():
            yield result.ok()


def existing_ids(operation: Any) -> st.SearchStrategy[int | None]:
    """Half the cases keep the generated id, half use one that exists."""
    if "{id}" not in operation.path:
        return st.none()
    known = range(1, 14) if "products" in operation.path else range(100_001, 100_001 + ORDERS)
    return st.one_of(st.none(), st.sampled_from(known))


def classify(operation: Any, case: Any, response: Any, mode: GenerationMode) -> str:
    """Check one answer; return what it was (a code, or the kind of 399)."""
    assert response.status_code < 500, response.text
    content_type = response.headers.get("content-type", [""])[0]  # lower-case names, lists
    assert content_type.startswith("application/json"), response.text
    body = response.json()
    assert isinstance(body, dict) and {"code", "desc", "maintenance", "warnings"} <= set(body)
    code = body["code"]
    assert code == 0 or code in ERRORS, body
    case.validate_response(response, checks=[response_schema_conformance])
    if code != 399:
        return str(code)
    detail = str(body.get("data", ""))
    for marker in STRICT_REFUSALS:
        if marker in detail:
            return f"399 {marker}"
    spec_refusal = any(marker in detail for marker in SPEC_REFUSALS)
    assert mode is GenerationMode.NEGATIVE or not spec_refusal, (operation.label, detail)
    return "399 spec" if spec_refusal else "399 modelled"


def run_operation(
    info: dict[str, Any], operation: Any, mode: GenerationMode, seen: Counter[str]
) -> None:
    cases = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE:
        cases = st.one_of(*operation.get_strategies_from_examples(), cases)
    headers = {"Authorization": f"Bearer {TOKEN}"}

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(case=cases, known=existing_ids(operation))
    def run(case: Any, known: int | None) -> None:
        if known is not None and isinstance(case.path_parameters, dict):
            case.path_parameters["id"] = known
        response = case.call(base_url=info["base_url"], headers=headers, timeout=10)
        seen[classify(operation, case, response, mode)] += 1

    run()


def drive(info: dict[str, Any], modes: tuple[GenerationMode, ...]) -> Counter[str]:
    seen: Counter[str] = Counter()
    for operation in operations():
        for mode in modes:
            run_operation(info, operation, mode, seen)
    return seen


def test_every_operation_as_the_real_api_reads_it() -> None:
    with fake_process() as info:
        seen = drive(info, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE))
    assert not any(kind.startswith("399 unknown") or "does not match" in kind for kind in seen)
    assert seen["0"] > 50, seen  # business rules ran: accepted requests, ...
    assert {"10001", "10002", "10003", "10004"} <= set(seen), seen  # ... and refused ones


def test_strict_requests_refuse_what_the_real_api_ignores() -> None:
    with fake_process("--strict-requests") as info:
        seen = drive(info, (GenerationMode.POSITIVE,))
    assert seen["399 unknown field"] > 0, seen
    assert seen["399 does not match the id in the path"] > 0, seen
