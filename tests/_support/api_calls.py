"""What the API resource tests share: the fake base URL and token, and readers of the calls
aioresponses recorded (method, URL, the keyword arguments the client passed to aiohttp)."""

from __future__ import annotations

import json
from typing import Any

from aioresponses import aioresponses

BASE = "https://api.test/v1beta"
TOKEN = "t0k3n-for-tests"
CSR = (
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "MIIBszCCARwCAQAwczELMAkGA1UEBhMCTkwxFjAUBgNVBAgMDU5vb3JkLUhvbGxh\n"
    "bmQ=\n"
    "-----END CERTIFICATE REQUEST-----"
)

Call = tuple[str, str, dict[str, Any]]


def ok(data: Any, warnings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"code": 0, "desc": "", "data": data, "maintenance": False, "warnings": warnings or []}


def calls(m: aioresponses) -> list[Call]:
    return [
        (method, str(url), call.kwargs)
        for (method, url), recorded in m.requests.items()
        for call in recorded
    ]


def only_call(m: aioresponses) -> Call:
    (call,) = calls(m)
    return call


def body(call: Call) -> Any:
    data = call[2]["data"]
    return None if data is None else json.loads(data)


def params(call: Call) -> list[tuple[str, str]]:
    return list(call[2].get("params") or ())


def assert_authorized(call: Call) -> None:
    assert call[2]["headers"]["Authorization"] == f"Bearer {TOKEN}"
