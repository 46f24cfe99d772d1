"""Helpers several test suites share: the fake served from its own thread, a watch over
everything a user could see (logs and errors), searched for secrets afterwards, and waiting for
a command line process's first renew."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Coroutine, Iterator
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


class SecretWatch(logging.Handler):
    """Everything a user could see: every log record of every logger at every level (with its
    traceback and arguments), and every error or object handed to it (message, repr, args,
    notes and whole traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.texts: list[str] = []
        self.records = 0
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        self.texts.append(self.format(record))  # with exc_info and stack_info, if any
        self.texts.append(repr(record.args))

    def error(self, error: BaseException) -> None:
        self.errors += 1
        self.texts.append(str(error))
        self.texts.append(repr(error))
        self.texts.append("".join(traceback.format_exception(error)))
        self.texts.extend(str(arg) for arg in error.args)
        self.texts.extend(getattr(error, "__notes__", ()))

    def thing(self, value: object) -> None:
        self.texts.append(repr(value))
        self.texts.append(str(value))

    def leaks(self, secrets: list[str]) -> list[str]:
        return [
            f"{secret!r} in {text[:300]!r}"
            for secret in secrets
            if secret
            for text in self.texts
            if secret in text
        ]


@contextlib.contextmanager
def watching() -> Iterator[SecretWatch]:
    """A ``SecretWatch`` on the root logger, with ours, aiohttp's and asyncio's at DEBUG; every
    level is restored afterwards."""
    handler = SecretWatch()
    root = logging.getLogger()
    names = ("openprovider_ssl", "aiohttp", "asyncio")
    saved = root.level, [logging.getLogger(name).level for name in names]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in zip(names, saved[1], strict=True):
            logging.getLogger(name).setLevel(level)


def wait_for_renews(proc: subprocess.Popen[str]) -> str:
    """Read a command line process's stderr (``-vv`` logs every request) until its first renew
    has gone out; what was read."""
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if "RenewOrder" in line or not line:
            break
    assert any("RenewOrder" in line for line in seen), "".join(seen)
    return "".join(seen)
