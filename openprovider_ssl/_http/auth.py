"""Where the bearer token comes from: a fixed token, or a login whose token is cached.

Logins are limited by Openprovider (30 per minute), so a client logs in once, shares the token
with every call, and runs at most one login at a time however many calls are waiting for it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

from ..errors import ResponseError
from ..models import LoginData
from .secrets import HIDDEN_ANSWER

__all__ = ["LoginAuth", "TokenAuth", "checked_token"]

Login = Callable[[str, str, str], Awaitable[LoginData]]

#: Openprovider tokens are valid for 2 days; log in again a little before that.
TOKEN_LIFETIME = 2 * 24 * 3600.0 - 600.0
#: What a bearer token may hold: visible ASCII, so it cannot end a header line or add one.
_TOKEN = re.compile(r"[\x21-\x7e]{1,4096}\Z")


def checked_token(value: object) -> str | None:
    """``value`` as a bearer token (surrounding whitespace removed), or None if it is not one.

    A token with a line break or a control character would let whoever chose it (a
    mistyped environment, a hostile login answer) add headers to every request.
    """
    if not isinstance(value, str):
        return None
    token = str.__str__(value).strip(" \t\r\n")
    return token if _TOKEN.match(token) else None


class TokenAuth:
    """A bearer token given by the caller; it cannot be renewed."""

    can_refresh = False

    def __init__(self, token: str) -> None:
        #: The token itself: it never changes, so calls use it without awaiting.
        self.fixed = token

    def __repr__(self) -> str:
        return "TokenAuth(token=<hidden>)"

    def secrets(self, used: str | None = None) -> tuple[str, ...]:
        """What must never be shown: the token (and ``used``, the one a request carried)."""
        return tuple(s for s in (self.fixed, used) if s)

    async def token(self, login: Login) -> str:
        return self.fixed

    async def refresh(self, stale: str, login: Login) -> str:
        raise AssertionError("a static token cannot be refreshed")


class LoginAuth:
    """Logs in with username and password; one login in flight, its token cached."""

    can_refresh = True
    fixed: str | None = None

    def __init__(
        self,
        username: str,
        password: str,
        *,
        ip: str = "0.0.0.0",
        lifetime: float = TOKEN_LIFETIME,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.username = username
        self._password = password
        self._ip = ip
        self._lifetime = lifetime
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._login_task: asyncio.Task[str] | None = None
        self.reseller_id: int | None = None

    def __repr__(self) -> str:
        return f"LoginAuth(username={self.username!r}, password=<hidden>)"

    def secrets(self, used: str | None = None) -> tuple[str, ...]:
        """What must never be shown: the password, the current token and ``used``."""
        return tuple(s for s in (self._password, self._token, used) if s)

    async def token(self, login: Login) -> str:
        if self._token is not None and self._clock() < self._expires_at:
            return self._token
        return await self._login_once(login)

    async def refresh(self, stale: str, login: Login) -> str:
        """A fresh token after ``stale`` was refused, unless another call already got one."""
        if self._token is not None and self._token != stale and self._clock() < self._expires_at:
            return self._token
        if self._token == stale:
            self._token = None
        return await self._login_once(login)

    async def _login_once(self, login: Login) -> str:
        loop = asyncio.get_running_loop()
        task = self._login_task
        if task is None or task.done() or task.get_loop() is not loop:
            task = loop.create_task(self._login(login), name="openprovider-ssl login")
            task.add_done_callback(_retrieve_exception)
            self._login_task = task
        # Shielded: one waiter being cancelled must not cancel the login the others await.
        return await asyncio.shield(task)

    async def _login(self, login: Login) -> str:
        data = await login(self.username, self._password, self._ip)
        token = checked_token(data.token)
        if token is None:
            raise ResponseError(
                "the login answer holds no usable token (empty, or with spaces, line breaks "
                "or non-ASCII characters)",
                http_status=200,
                excerpt=HIDDEN_ANSWER,
            )
        self._token = token
        self._expires_at = self._clock() + self._lifetime
        self.reseller_id = data.reseller_id
        return token


def _retrieve_exception(task: asyncio.Task[str]) -> None:
    # Every waiter may have been cancelled; the failure must not be reported as never retrieved.
    if not task.cancelled():
        task.exception()
