"""A thin JSON client for the fake's own tests: calls it with its static token unless told
otherwise, and answers a ``Reply``."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from attrs import frozen

from openprovider_ssl.testing import FakeOpenprovider

_DEFAULT = object()


@frozen
class Reply:
    status: int
    headers: Any
    text: str

    @property
    def body(self) -> Any:
        return json.loads(self.text)

    @property
    def code(self) -> int:
        return int(self.body["code"])

    @property
    def data(self) -> Any:
        return self.body.get("data")


class Api:
    """Calls the fake with its static token unless told otherwise."""

    def __init__(self, session: aiohttp.ClientSession, fake: FakeOpenprovider) -> None:
        self.session = session
        self.fake = fake

    async def __call__(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        data: Any = None,
        token: Any = _DEFAULT,
    ) -> Reply:
        headers = {}
        token = self.fake.token if token is _DEFAULT else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.session.request(
            method, self.fake.url + path, json=json, params=params, data=data, headers=headers
        ) as resp:
            return Reply(resp.status, resp.headers, await resp.text())

    async def login(self, username: str | None = None, password: str | None = None) -> Reply:
        body = {
            "username": self.fake.username if username is None else username,
            "password": self.fake.password if password is None else password,
            "ip": "0.0.0.0",
        }
        return await self("POST", "/auth/login", json=body, token=None)
