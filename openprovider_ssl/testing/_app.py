"""One aiohttp handler for the whole API: route, limits, faults, auth, checks, rules, envelope.

The order of the steps is the contract with client tests, so it is spelled out here:

1. route (404/405 + 399), count the request, read the whole request: from here on a client
   that hangs up changes nothing, the server finishes its work (a write is applied);
2. latency (injected), pending renewals settled, blacklist (10005), overall rate limit
   (429/4007, not for login);
3. identical-call budget (the call over it blacklists the IP and gets 10005);
4. injected drop-before, 503/3006, 429/4007, 502-garbage (nothing applied);
5. bearer token (196), then JSON, query and body against the spec (399);
6. maintenance: writes refused with 4005, reads flagged ``maintenance: true``;
7. the operation itself; then injected drop-after or 200-garbage (both *applied*).

Every answer is the JSON envelope, a fault in the fake itself included (HTTP 500, 399).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, Final

from aiohttp import web

from . import _reads as reads
from . import _rules as rules
from ._errors import (
    ACCESS_DENIED,
    AUTH_FAILED,
    CALLS_LIMIT,
    EXCESSIVE_USE,
    MAINTENANCE,
    UNAVAILABLE,
    UNKNOWN_ERROR,
    ApiError,
    schema_error,
)
from ._served import ServedState
from ._spec import Operation, Router, compile_operations

Handler = Callable[[int, dict[str, Any], dict[str, Any]], tuple[Any, list[dict[str, Any]]]]
_JSON: Final = "application/json"
_log = logging.getLogger("openprovider_ssl.testing")
_GARBAGE_200: Final = (
    ("<html><head><title>Openprovider</title></head><body>Loading...</body></html>", "text/html"),
    ('{"code":0,"data":{"id":', _JSON),
    ('{"status":"ok","result":null}', _JSON),
    ("", _JSON),
)
_GARBAGE_502: Final = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center><hr><center>nginx</center></body></html>"
)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def json_response(
    status: int, payload: str, retry_after: int | None = None, headers: Any = None
) -> web.Response:
    headers = dict(headers or {})
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return web.Response(body=payload.encode(), status=status, headers=headers, content_type=_JSON)


def error_response(err: ApiError, maintenance: bool = False) -> web.Response:
    """The error envelope: code, desc, data (a string), maintenance, warnings."""
    payload = _dumps(
        {
            "code": err.code,
            "desc": err.desc,
            "data": err.data,
            "maintenance": maintenance or err.code == MAINTENANCE,
            "warnings": [],
        }
    )
    return json_response(err.http_status, payload, err.retry_after, err.headers)


def ok_response(data: Any, warnings: list[dict[str, Any]], maintenance: bool) -> web.Response:
    body = data if isinstance(data, reads.RawJSON) else _dumps(data)
    return json_response(
        200,
        f'{{"code":0,"data":{body},"desc":"",'
        f'"maintenance":{"true" if maintenance else "false"},'
        f'"warnings":{_dumps(warnings) if warnings else "[]"}}}',
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python reads NaN and Infinity; protojson not


def _canonical(payload: Any, raw: bytes, bad_json: bool) -> Any:
    """The body as the identical-call budget sees it: key order and spacing do not matter."""
    return raw if bad_json else json.dumps(payload, sort_keys=True)


class Dispatcher:
    """The request pipeline of one fake; see the module docstring for the order of steps."""

    def __init__(self, fake: ServedState) -> None:
        self.fake = fake
        self.router = Router(compile_operations(strict=fake.strict_requests))
        self.handlers = self._handlers()

    def _handlers(self) -> dict[str, Handler]:
        fake = self.fake
        store = fake.store

        def update(oid: int, q: dict[str, Any], b: dict[str, Any]) -> tuple[Any, Any]:
            warnings = rules.update_order(store, oid, b)
            fake.stats.updates[oid] += 1
            return {"id": oid}, warnings

        def renew(oid: int, q: dict[str, Any], b: dict[str, Any]) -> tuple[Any, Any]:
            fake.renewals.renew(oid, fake.clock())
            fake.stats.renewals[oid] += 1  # charged, whether it settles now or later
            return {"id": oid}, []

        def create(oid: int, q: dict[str, Any], b: dict[str, Any]) -> tuple[Any, Any]:
            new_id, warnings = rules.create_order(store, b, fake.now())
            return {"id": new_id}, warnings

        def otp(oid: int, q: dict[str, Any], b: dict[str, Any]) -> tuple[Any, Any]:
            fake.otp_serial += 1
            return rules.create_otp_token(store, oid, fake.now(), fake.seed, fake.otp_serial), []

        def just_id(action: Callable[[int, dict[str, Any]], Any]) -> Handler:
            def run(oid: int, q: dict[str, Any], b: dict[str, Any]) -> tuple[Any, Any]:
                warnings = action(oid, b)
                return {"id": oid}, warnings or []

            return run

        return {
            "ListProducts": lambda oid, q, b: (reads.list_products(q), []),
            "GetProduct": lambda oid, q, b: (reads.get_product(oid), []),
            "ListOrders": lambda oid, q, b: (reads.list_orders(store, q), []),
            "GetOrder": lambda oid, q, b: (reads.get_order(store, oid), []),
            "CreateOrder": create,
            "UpdateOrder": update,
            "RenewOrder": renew,
            "ReissueOrder": just_id(lambda i, b: rules.reissue_order(store, i, b, fake.now())),
            "CancelOrder": just_id(lambda i, b: rules.cancel_order(store, i)),
            "UpdateApproverEmailAddress": just_id(
                lambda i, b: rules.update_approver_email(store, i, b)
            ),
            "ResendApproverEmail": just_id(lambda i, b: rules.resend_approver_email(store, i)),
            "CreateOtpToken": otp,
            "ListApproverEmails": lambda oid, q, b: (reads.list_approver_emails(q), []),
            "CreateCsr": lambda oid, q, b: (reads.create_csr(b), []),
            "DecodeCsr": lambda oid, q, b: (reads.decode(b), []),
        }

    async def handle(self, request: web.Request) -> web.StreamResponse:
        stats = self.fake.stats
        stats.per_second[int(self.fake.clock())] += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            return await self._handle(request)
        except ApiError as err:
            return error_response(err, self.fake.in_maintenance)
        except ConnectionResetError:
            # The client went away mid-request (a cancelled call): nobody is left to answer,
            # and it is no server error worth a traceback in the log.
            return web.Response(status=499)
        except web.HTTPException as exc:  # aiohttp's own refusal (a body over the size limit)
            return error_response(schema_error(exc.reason, http_status=exc.status))
        except Exception as exc:
            _log.exception("fake Openprovider: internal error on %s", request.path)
            fault = ApiError(UNKNOWN_ERROR, f"internal error in the fake: {exc!r}", http_status=500)
            return error_response(fault, self.fake.in_maintenance)
        finally:
            stats.in_flight -= 1

    def _route(self, request: web.Request) -> tuple[Operation, str | None]:
        match = self.router.match(request.path)
        if match is None:
            self.fake.stats.requests["_unknown"] += 1
            raise schema_error(f"no such path: {request.path}", http_status=404)
        methods, raw_id = match
        op = methods.get(request.method)
        if op is None:
            self.fake.stats.requests["_unknown"] += 1
            allowed = ", ".join(sorted(methods))
            raise schema_error(
                f"method {request.method} not allowed on {request.path}; allowed: {allowed}",
                http_status=405,
                headers={"Allow": allowed},
            )
        self.fake.stats.requests[op.operation_id] += 1
        return op, raw_id

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        fake = self.fake
        faults = fake.faults
        op, raw_id = self._route(request)
        raw = await request.read() if request.body_exists else b""
        login = op.operation_id == "Login"
        inject = (not login or faults.on_login) and (
            faults.operations is None or op.operation_id in faults.operations
        )
        if inject and (faults.latency or faults.latency_jitter):
            await asyncio.sleep(faults.latency + fake.jitter_rng.random() * faults.latency_jitter)
        fake.settle_renewals()
        now, ip = fake.clock(), request.remote or ""
        try:
            payload, bad_json = (json.loads(raw, parse_constant=_no_constant) if raw else {}), False
        except (ValueError, RecursionError):
            payload, bad_json = None, True
        query_key = tuple(sorted(request.query.items())) if request.query_string else ()
        key = (request.method, request.path, query_key, _canonical(payload, raw, bad_json))
        self._limits(login, now, ip, key)
        garbage_200: bool | None = False
        if inject:
            early = self._early_fault(request)
            if early is not None:
                return early
            garbage_200 = self._garbage_draw()
            if garbage_200 is None:
                fake.stats.faults["garbage_502"] += 1
                return web.Response(text=_GARBAGE_502, status=502, content_type="text/html")
        if not login:
            self._authenticate(request, now, ip)
        if bad_json and op.body is not None:
            raise schema_error("body: not valid JSON")
        query = op.parse_query(request.query.items()) if request.query_string else {}
        body = op.parse_body(payload)
        oid = op.parse_id(raw_id, body) if raw_id is not None else 0
        maintenance = fake.in_maintenance
        if op.write and (maintenance or (inject and self._draw(faults.maintenance_rate))):
            fake.stats.faults["maintenance"] += 1
            raise ApiError(MAINTENANCE, "system maintenance in progress, nothing was changed")
        # Only a write has something to apply before the drop (WRITE_OPERATIONS).
        drop_after = inject and op.write and self._draw(faults.drop_after_rate)
        if login:
            data, warnings = self._login(body, now, ip)
        else:
            data, warnings = self.handlers[op.operation_id](oid, query, body)
        if op.write:
            fake.stats.applied[op.operation_id] += 1
        if drop_after:
            fake.stats.faults["drop_after"] += 1
            return self._drop(request)
        if garbage_200:
            fake.stats.faults["garbage_200"] += 1
            text, content_type = _GARBAGE_200[int(fake.rng.random() * len(_GARBAGE_200))]
            return web.Response(text=text, status=200, content_type=content_type)
        return ok_response(data, warnings, maintenance)

    def _draw(self, rate: float) -> bool:
        """One seeded draw, only when the fault is switched on (keeps runs reproducible)."""
        return bool(rate) and self.fake.rng.random() < rate

    def _limits(self, login: bool, now: float, ip: str, key: Any) -> None:
        """Blacklist, overall rate limit (not for login), then the identical-call budget."""
        fake = self.fake
        stats, budget = fake.stats, fake.identical
        if ip in budget.blacklist:
            stats.faults["blacklisted"] += 1
            raise ApiError(ACCESS_DENIED, f"IP {ip} is blacklisted for excessive identical calls")
        if not login:
            wait = fake.bucket.take(now)
            if wait:
                stats.faults["rate_limited"] += 1
                raise ApiError(EXCESSIVE_USE, "request rate limit exceeded", retry_after=wait)
        count = budget.hit(ip, key, now)
        stats.identical_max = max(stats.identical_max, count)
        if ip in budget.blacklist:
            stats.faults["blacklisted"] += 1
            raise ApiError(ACCESS_DENIED, f"IP {ip} blacklisted: {count} identical calls")

    def _early_fault(self, request: web.Request) -> web.StreamResponse | None:
        """Injected failures that happen before anything is applied."""
        fake = self.fake
        faults, counts = fake.faults, fake.stats.faults
        if self._draw(faults.drop_before_rate):
            counts["drop_before"] += 1
            return self._drop(request)
        if self._draw(faults.error_rate):
            counts["error"] += 1
            return error_response(ApiError(UNAVAILABLE, "injected error"), fake.in_maintenance)
        if self._draw(faults.throttle_rate):
            counts["throttle"] += 1
            wait = faults.throttle_retry_after
            err = ApiError(EXCESSIVE_USE, "injected throttling", retry_after=wait)
            return error_response(err, fake.in_maintenance)
        return None

    def _garbage_draw(self) -> bool | None:
        """False: no garbage; True: garbage after applying (HTTP 200); None: 502 right away."""
        if not self._draw(self.fake.faults.garbage_rate):
            return False
        return None if self.fake.rng.random() < 0.5 else True

    def _authenticate(self, request: web.Request, now: float, ip: str) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not self.fake.tokens.valid(token.strip(), now, ip):
            self.fake.stats.faults["auth_failed"] += 1
            detail = "missing bearer token" if not header else "invalid or expired token"
            raise ApiError(AUTH_FAILED, detail)

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Close the connection without an answer (the client sees a disconnect)."""
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=204)

    def _login(self, body: dict[str, Any], now: float, ip: str) -> tuple[Any, Any]:
        fake = self.fake
        guard = fake.login_guard
        wait = guard.blocked(ip, now)
        if wait:
            fake.stats.faults["login_blocked"] += 1
            raise ApiError(CALLS_LIMIT, f"login blocked for {wait} s", retry_after=wait)
        if body.get("username") != fake.username or body.get("password") != fake.password:
            fake.stats.faults["auth_failed"] += 1
            if guard.failures.add(ip, now):
                fake.stats.faults["login_blocked"] += 1
                block = int(guard.failures.block)
                raise ApiError(CALLS_LIMIT, "too many failed logins", retry_after=block)
            raise ApiError(AUTH_FAILED, "wrong username or password")
        if guard.tokens.add(ip, now):
            fake.stats.faults["login_blocked"] += 1
            block = int(guard.tokens.block)
            raise ApiError(CALLS_LIMIT, "token generation limit reached", retry_after=block)
        token = fake.tokens.issue(now, body.get("ip"))
        return {"token": token, "reseller_id": fake.reseller_id}, []
