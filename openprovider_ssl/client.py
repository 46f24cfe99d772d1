"""``Client``: configuration, lifecycle, and the path every call takes through the layers."""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp
import attrs
import yarl

from . import retry
from ._http.auth import LoginAuth, TokenAuth, checked_token
from ._http.secrets import redacted, scrubbed, scrubbed_text
from ._http.transport import Transport
from ._protocol import messages as _protocol
from ._protocol.messages import Request
from ._resources.approver_emails import ApproverEmails
from ._resources.csr import Csr
from ._resources.orders import Orders
from ._resources.products import Products
from .errors import (
    AuthenticationError,
    OpenproviderError,
    ValidationError,
)
from .journal import MemoryJournal, RenewalJournal
from .limits._front import Limits
from .limits._rules import MaintenanceDeadline
from .models import DEFAULT_RENEWAL_WINDOW_DAYS, LoginData
from .models._orders import renewal_window
from .retry import RetryPolicy

__all__ = ["PRODUCTION_URL", "SANDBOX_URL", "Client", "ClientStats"]

PRODUCTION_URL = "https://api.openprovider.eu/v1beta"
SANDBOX_URL = "https://api.cte.openprovider.eu/v1beta"
USER_AGENT = "openprovider-ssl (python; aiohttp)"

T = TypeVar("T")
logger = logging.getLogger("openprovider_ssl")


@attrs.define
class ClientStats:
    """What one client has done since it was made: for summaries, dashboards and tests.

    ``calls``: operations started (a read-back or a login is one too); ``requests``: attempts
    that went out to the server; ``retries``: attempts made again after a failure;
    ``failures``: attempts that failed (retried or not).
    """

    calls: int = 0
    requests: int = 0
    retries: int = 0
    failures: int = 0


class Client:
    """An asyncio client for the Openprovider SSL API.

    Give either a bearer ``token`` or ``username`` and ``password`` (the client then logs in
    when needed, caches the token and logs in again when it is refused). One pooled aiohttp
    session is opened lazily inside the running loop and released by ``aclose()`` or
    ``async with``; a caller-owned ``session`` is used as it is and never closed.

    Every renew is claimed in ``journal`` before it is sent (see ``openprovider_ssl.journal``):
    give a ``SqliteJournal`` or ``PostgresJournal`` so that no renew is sent twice across
    restarts, runs and hosts; without one, a ``MemoryJournal`` keeps the same rules for this
    client's lifetime. The client never closes a journal it was given.

    ``renewal_window_days`` (1 to 90, default 30) is how many days before expiration an order
    may be renewed: the guide this SDK was built from says 30, the current public version of
    it says 90. ``renew_expiring`` looks that far ahead at most, and
    ``client.renewal_window_days`` is what to pass on to ``Order.can_renew(window_days=...)``.
    Set it to what your account allows: a wider window than the server's only earns refusals
    (code 10004), never a charge.

    ``clock`` and ``sleep`` are the time the client runs on: every wait it makes goes through
    ``sleep`` and is measured on ``clock`` (the maintenance pause, rate pacing, Retry-After
    holds, retries, the read-back after an uncertain renew), so a test injects them once, here.
    The client gives them to the ``Limits`` it builds; given ``limits=``, it runs on that
    ``Limits``' clock and sleep, and a different ``clock`` or ``sleep`` here is a
    ``ValidationError`` (one client, one clock).

    ``Client.from_env()`` reads the same settings from ``OPENPROVIDER_*`` variables, secrets
    also from files (``OPENPROVIDER_TOKEN_FILE``, ``OPENPROVIDER_PASSWORD_FILE``).
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        base_url: str = PRODUCTION_URL,
        timeout: float | aiohttp.ClientTimeout = 30.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 100,
        session: aiohttp.ClientSession | None = None,
        limits: Limits | None = None,
        allow_insecure_http: bool = False,
        login_ip: str = "0.0.0.0",
        journal: RenewalJournal | None = None,
        renewal_window_days: int = DEFAULT_RENEWAL_WINDOW_DAYS,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._renewal_window = renewal_window(renewal_window_days)
        if token is not None and (username is not None or password is not None):
            raise ValidationError("credentials", "give a token or username/password, not both")
        if token is not None:
            bearer = checked_token(token)
            if bearer is None:
                # The token is not shown: even a malformed one may be mostly a secret.
                raise ValidationError(
                    "token",
                    "must be a non-empty string of visible ASCII characters, without spaces "
                    "or line breaks (the value is not shown)",
                )
            self._auth: TokenAuth | LoginAuth = TokenAuth(bearer)
        elif username and password:
            if not isinstance(username, str) or not isinstance(password, str):
                raise ValidationError("credentials", "username and password must be strings")
            if not isinstance(login_ip, str) or not _is_ip(login_ip):
                raise ValidationError("login_ip", f"must be an IP address, got {login_ip!r}")
            self._auth = LoginAuth(username, password, ip=login_ip)
        else:
            raise ValidationError(
                "credentials",
                "give token=... or both username=... and password=... "
                "(or set OPENPROVIDER_TOKEN, or OPENPROVIDER_USERNAME and OPENPROVIDER_PASSWORD "
                "and use Client.from_env())",
            )
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or (max_connections < 1)
        ):
            raise ValidationError("max_connections", "must be a positive integer")
        self._base_url = _checked_base_url(base_url, allow_insecure_http)
        if not isinstance(timeout, aiohttp.ClientTimeout):
            if (
                isinstance(timeout, bool)
                or not isinstance(timeout, int | float)
                or not 0 < timeout < math.inf
            ):
                raise ValidationError("timeout", "must be a positive number of seconds")
            timeout = aiohttp.ClientTimeout(total=timeout, connect=min(10.0, timeout))
        if not isinstance(retry, RetryPolicy | None):
            raise TypeError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        if not isinstance(limits, Limits | None):
            raise TypeError(f"limits must be a Limits, got {type(limits).__name__}")
        if not isinstance(journal, RenewalJournal | None):
            raise TypeError(
                f"journal must be a RenewalJournal (SqliteJournal, PostgresJournal, "
                f"MemoryJournal), got {type(journal).__name__}"
            )
        if not isinstance(session, aiohttp.ClientSession | None):
            raise TypeError(
                f"session must be an aiohttp.ClientSession, got {type(session).__name__}"
            )
        self._retry_policy = retry if retry is not None else RetryPolicy()
        self._limits = _limits_on_one_clock(
            limits, self._base_url, self._retry_policy, clock=clock, sleep=sleep
        )
        self._transport = Transport(
            self._base_url,
            timeout=timeout,
            max_connections=max_connections,
            session=session,
            user_agent=USER_AGENT,
            token=self._auth.fixed,
        )
        self._journal: RenewalJournal = journal if journal is not None else MemoryJournal()
        self._stats = ClientStats()
        self._orders = Orders(self)
        self._products = Products(self)
        self._csr = Csr(self)
        self._approver_emails = ApproverEmails(self)

    # -- what a client holds: properties, so that help(), pydoc and IDEs show them ----------

    @property
    def orders(self) -> Orders:
        """``Orders``: SSL orders: get, list, create, update, renew, reissue, cancel, and the
        bulk ``renew_many``, ``update_many``, ``renew_expiring``."""
        return self._orders

    @property
    def products(self) -> Products:
        """``Products``: the SSL products and their prices (list, page, get)."""
        return self._products

    @property
    def csr(self) -> Csr:
        """``Csr``: certificate signing requests (create, decode)."""
        return self._csr

    @property
    def approver_emails(self) -> ApproverEmails:
        """``ApproverEmails``: the approver email addresses allowed for a domain (list)."""
        return self._approver_emails

    @property
    def stats(self) -> ClientStats:
        """``ClientStats``: calls, requests, retries and failures since the client was made."""
        return self._stats

    @property
    def limits(self) -> Limits:
        """``Limits``: the client-wide limits every call passes (rate, identical-call budget,
        maintenance pause); ``RedisLimits`` shares them between processes. The client runs on
        its limits' clock and sleep (``limits.clock``, ``limits.sleep``)."""
        return self._limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        if not isinstance(limits, Limits):
            raise TypeError(f"limits must be a Limits, got {type(limits).__name__}")
        self._limits = limits

    @property
    def journal(self) -> RenewalJournal:
        """``RenewalJournal``: where every renew is claimed before it is sent
        (``MemoryJournal`` unless given ``SqliteJournal`` or ``PostgresJournal``)."""
        return self._journal

    @property
    def retry_policy(self) -> RetryPolicy:
        """``RetryPolicy``: when and how long failed calls are retried."""
        return self._retry_policy

    @property
    def base_url(self) -> str:
        """``str``: the API's base URL, such as ``PRODUCTION_URL`` or ``SANDBOX_URL``."""
        return self._base_url

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Client:
        """A client configured from the environment; keyword arguments win.

        ``OPENPROVIDER_TOKEN``, or ``OPENPROVIDER_USERNAME`` and ``OPENPROVIDER_PASSWORD``;
        ``OPENPROVIDER_TOKEN_FILE`` and ``OPENPROVIDER_PASSWORD_FILE`` name a file holding the
        secret instead (a mounted Kubernetes or Docker secret; one trailing newline is
        dropped). A variable and its ``_FILE`` twin together, or a file that cannot be read,
        are a ``ValidationError`` naming the variables or the path, never the secret.
        ``OPENPROVIDER_BASE_URL`` and ``OPENPROVIDER_RENEWAL_WINDOW_DAYS`` (1 to 90) are
        optional."""
        env = os.environ if environ is None else environ
        window = env.get("OPENPROVIDER_RENEWAL_WINDOW_DAYS")
        if window and "renewal_window_days" not in kwargs:
            name = "OPENPROVIDER_RENEWAL_WINDOW_DAYS"
            try:
                days: object = int(window.strip())
            except ValueError:
                days = window
            kwargs["renewal_window_days"] = renewal_window(days, name).days
        # Credentials given as arguments win: an environment token must not clash with them.
        if "token" not in kwargs:
            given = {"username", "password"} & kwargs.keys()
            token = None if given else _secret_from_env(env, "OPENPROVIDER_TOKEN")
            if token:
                kwargs["token"] = token
            else:
                kwargs.setdefault("username", env.get("OPENPROVIDER_USERNAME") or None)
                if "password" not in kwargs:
                    kwargs["password"] = _secret_from_env(env, "OPENPROVIDER_PASSWORD")
        if env.get("OPENPROVIDER_BASE_URL"):
            kwargs.setdefault("base_url", env["OPENPROVIDER_BASE_URL"])
        return cls(**kwargs)

    @property
    def renewal_window(self) -> timedelta:
        """How long before expiration an order may be renewed (``renewal_window_days``)."""
        return self._renewal_window

    @property
    def renewal_window_days(self) -> int:
        """The renewal window in days, 1 to 90 (default 30): pass it to ``Order.can_renew``."""
        return self._renewal_window.days

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, auth={self._auth!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the connection pool. The client may be used again; it then reopens one."""
        await self._transport.aclose()

    def _execute(self, request: Request, result: type[T]) -> Coroutine[Any, Any, T]:
        """Send ``request`` through the retry policy and structure the answer into ``result``.

        The first attempt runs directly: a call that succeeds at once never pays for the retry
        machinery, which is built only after a failure. With the token at hand (a fixed token,
        or a call that needs none) the call is its first attempt, ``_send``: no coroutine of
        its own on the hot path.
        """
        if not request.authenticated:
            return self._send(request, None, result, None, first=True)
        token = self._auth.fixed
        if token is not None:
            return self._send(request, token, result, None, first=True)
        return self._execute_logged_in(request, result)

    async def _execute_logged_in(self, request: Request, result: type[T]) -> T:
        """``_execute`` for a client that logs in: each attempt gets the cached login's token."""
        self._stats.calls += 1
        # When this call stops waiting for maintenance to end, in the pause and between tries.
        patience = self._patience()
        try:
            value = await self._attempt_logged_in(request, result, patience)
        except OpenproviderError as first:
            return await self._retried(request, result, first, patience)
        budget = self._limits.retry_budget
        if budget is not None:
            budget.deposit()
        return value

    async def _retried(
        self,
        request: Request,
        result: type[T],
        first: OpenproviderError,
        patience: MaintenanceDeadline | None,
    ) -> T:
        """The attempts after a first one failed with ``first``, as the retry policy allows."""
        stats = self._stats
        limits = self._limits
        # Not started yet when the first attempt met no pause: the same as one made up front.
        deadline = self._patience() if patience is None else patience

        async def again() -> T:
            stats.retries += 1
            return await self._attempt(request, result, deadline)

        return await retry.after_failure(
            self._retry_policy,
            again,
            first,
            operation=request.operation,
            idempotent=request.idempotent,
            budget=limits.retry_budget,
            clock=limits.clock,
            sleep=limits.sleep,
            patience=deadline,
        )

    def _patience(self) -> MaintenanceDeadline:
        """When a call made now stops waiting for a maintenance pause to end."""
        return MaintenanceDeadline(self._retry_policy.maintenance_timeout)

    def _attempt(
        self, request: Request, result: type[T], patience: MaintenanceDeadline
    ) -> Awaitable[T]:
        """One attempt after the first. With the token at hand (a fixed token, or a call that
        needs none) it is ``_send`` itself: no extra coroutine."""
        if not request.authenticated:
            return self._send(request, None, result, patience)
        token = self._auth.fixed
        if token is not None:
            return self._send(request, token, result, patience)
        return self._attempt_logged_in(request, result, patience)

    async def _attempt_logged_in(
        self, request: Request, result: type[T], patience: MaintenanceDeadline
    ) -> T:
        token = await self._auth.token(self._login)
        try:
            return await self._send(request, token, result, patience)
        except AuthenticationError:
            if not self._auth.can_refresh:
                raise
            logger.debug("%s: token refused; logging in again once", request.operation)
            token = await self._auth.refresh(token, self._login)
            return await self._send(request, token, result, patience)

    async def _send(
        self,
        request: Request,
        token: str | None,
        result: type[T],
        patience: MaintenanceDeadline | None,
        *,
        first: bool = False,
    ) -> T:
        """One attempt. ``first``: the first attempt of a call with the token at hand, which
        counts the call, and hands a failure over to ``_retried`` (later attempts raise it to
        the retry policy). ``patience``: when the call stops waiting for maintenance to end,
        made when first needed (None until then)."""
        limits = self._limits
        try:
            if first:
                self._stats.calls += 1
            if not limits.admit(request):
                if patience is None:
                    patience = self._patience()
                await limits.acquire(request, patience)
            self._stats.requests += 1
            # At DEBUG, a line as the request leaves (a hanging one shows) and one once it is
            # answered, with the status or the error and the time.
            started = None
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s %s %s", request.operation, request.method, request.path)
                started = time.perf_counter()
            status = 0
            try:
                raw = await self._transport.send(request, token)
                status = raw.status
                answer = _protocol.parse_answer(status, raw.headers, raw.body)
                value = _protocol.structure(answer, result, status, raw.body)
            except OpenproviderError as error:
                self._stats.failures += 1
                # A server or a proxy may echo the credentials back (an error page quoting the
                # Authorization header, a login error quoting its body): they are cut out
                # before the error is logged, raised or kept by the limiter.
                secrets = self._auth.secrets(token)
                failure = scrubbed(redacted(error) if request.sensitive else error, secrets)
                limits.record(request, failure)
                if started is not None:
                    _log_request(request, status, failure, started)
                if failure is error:
                    logger.debug("%s failed: %s", request.operation, error)
                    raise
            else:
                limits.record(request, None, maintenance=answer.maintenance)
                if started is not None:
                    _log_request(request, status, None, started)
                if answer.warnings and not request.sensitive:
                    shown = scrubbed_text(repr(answer.warnings), self._auth.secrets(token))
                    logger.info("%s answered with warnings: %s", request.operation, shown)
                if first:
                    budget = limits.retry_budget
                    if budget is not None:
                        budget.deposit()
                return value
            logger.debug("%s failed: %s", request.operation, failure)
            # Raised outside the except block, so the original (with the answer) is not chained.
            raise failure
        except OpenproviderError as error:
            if not first:
                raise
            return await self._retried(request, result, error, patience)

    async def _login(self, username: str, password: str, ip: str) -> LoginData:
        request = _protocol.build_request(
            "Login",
            "POST",
            "/auth/login",
            body={"username": username, "password": password, "ip": ip},
            idempotent=True,
            authenticated=False,
            sensitive=True,
        )
        return await self._execute(request, LoginData)


def _limits_on_one_clock(
    limits: Limits | None,
    base_url: str,
    policy: RetryPolicy,
    *,
    clock: Callable[[], float] | None,
    sleep: Callable[[float], Awaitable[None]] | None,
) -> Limits:
    """The client's limits, which carry the one clock and sleep the client runs on: built on
    ``clock`` and ``sleep`` (real time when not given), or the given ``limits`` if they run on
    the same time (a ``ValidationError`` if not: a client never runs on two clocks)."""
    for name, given in (("clock", clock), ("sleep", sleep)):
        if given is not None and not callable(given):
            raise ValidationError(name, f"must be a callable, got {type(given).__name__}")
    if limits is None:
        time_given: dict[str, Any] = {}
        if clock is not None:
            time_given["clock"] = clock
        if sleep is not None:
            time_given["sleep"] = sleep
        return Limits.for_base_url(base_url, max_hold=policy.max_wait, **time_given)
    for name, given, own in (("clock", clock, limits.clock), ("sleep", sleep, limits.sleep)):
        if given is not None and given != own:
            raise ValidationError(
                name,
                f"differs from the {name} of the limits given: a client runs on one clock, its "
                f"limits'; give clock= and sleep= to Limits(...) only (or to the Client, "
                f"without limits=)",
            )
    return limits


def _secret_from_env(env: Mapping[str, str], name: str) -> str | None:
    """The secret in ``name``, or in the file ``name_FILE`` names (one trailing newline
    dropped); None if neither is set. Errors name the variables or the path, never the
    secret, and chain no exception that could hold it."""
    plain = env.get(name) or None
    path = env.get(f"{name}_FILE") or None
    if path is None:
        return plain
    if plain is not None:
        raise ValidationError(
            f"{name} and {name}_FILE", "both are set: give the secret in one of them only"
        )
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
        raise ValidationError(f"{name}_FILE", f"cannot read {path!r}: {problem}") from None
    except UnicodeDecodeError:
        raise ValidationError(
            f"{name}_FILE", f"{path!r} is not UTF-8 text (its content is not shown)"
        ) from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise ValidationError(f"{name}_FILE", f"{path!r} is empty")
    return text


def _log_request(
    request: Request, status: int, error: OpenproviderError | None, started: float
) -> None:
    """``GetOrder GET /ssl/orders/1 -> 200 in 12.3 ms``: the method and the path, never the
    query (it may hold search terms) nor the body; the HTTP status and the error's type."""
    if error is None:
        seen = str(status)
    else:
        status = status or getattr(error, "http_status", 0)
        seen = f"{status} {type(error).__name__}" if status else type(error).__name__
    logger.debug(
        "%s %s %s -> %s in %.1f ms",
        request.operation,
        request.method,
        request.path,
        seen,
        (time.perf_counter() - started) * 1000,
    )


def _checked_base_url(base_url: str, allow_insecure_http: bool) -> str:
    try:
        url = yarl.URL(base_url)
    except (TypeError, ValueError) as exc:
        raise ValidationError("base_url", f"is not a URL: {base_url!r}") from exc
    if url.user is not None or url.password is not None:
        # Not echoed: the URL holds a secret.
        raise ValidationError(
            "base_url", "must not hold a user or password; give username= and password= instead"
        )
    if url.scheme not in ("https", "http") or not url.host:
        raise ValidationError("base_url", f"must be an https:// URL, got {base_url!r}")
    if not isinstance(allow_insecure_http, bool):
        raise ValidationError("allow_insecure_http", "must be True or False")
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise ValidationError(
            "base_url",
            "plain http:// is refused outside loopback because the token would travel in clear; "
            "use https:// or pass allow_insecure_http=True",
        )
    if url.query_string or url.fragment:
        raise ValidationError("base_url", "must not have a query or fragment")
    return str(url).rstrip("/")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
