"""The fake served from its own thread and event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from openprovider_ssl.testing import FakeOpenprovider


class ThreadedFake:
    """A ``FakeOpenprovider`` serving from its own thread and event loop, so that the server's
    work interleaves with the client's as it would over a network, and the test's loop holds
    the client's tasks only."""

    def __init__(self, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.fake: FakeOpenprovider = self.run(self._start(options))

    async def _start(self, options: dict[str, Any]) -> FakeOpenprovider:
        return await FakeOpenprovider(**options).start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(60)

    def call(self, function: Callable[[], object]) -> None:
        """Run ``function`` in the fake's thread (to change its state while it serves)."""
        self._loop.call_soon_threadsafe(function)

    def env(self, token: str | None = None) -> dict[str, str]:
        """The environment of a command line pointed at this fake."""
        return {
            "OPENPROVIDER_TOKEN": token or self.fake.token,
            "OPENPROVIDER_BASE_URL": self.fake.url,
        }

    def close(self) -> None:
        """Stop serving and end the thread (safe to call twice)."""
        if self._loop.is_closed():
            return
        self.run(self.fake.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
