"""The fake Openprovider as a separate process, so client and server never share an event loop.

``python -m openprovider_ssl.testing --port 0 ...`` prints one JSON line (url, token, ...) and
serves until SIGINT; its control endpoints (``/_fake/stats``, ``/_fake/faults``) sit beside
``/v1beta``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import yarl

FIRST_ID = 100_001
START_TIMEOUT = 180.0


class ServerError(RuntimeError):
    """The fake server did not start or did not answer a control request."""


class FakeServer:
    """Start ``python -m openprovider_ssl.testing`` with every order renewable.

    Ids run from ``FIRST_ID``; ``take(n)`` hands out ``n`` ids not renewed yet, so every round
    renews orders in the same state (a renewed order leaves the 30-day window for good, and
    the fake's reset zeroes counters but keeps orders). Size ``orders`` for the whole phase.
    """

    def __init__(
        self,
        *,
        orders: int,
        seed: int = 7,
        latency_ms: float = 0,
        expiring_share: float = 1.0,
        identical_limit: int = 1_000_000,
    ) -> None:
        self.orders = orders
        self._args = [
            "--port",
            "0",
            "--orders",
            str(orders),
            "--seed",
            str(seed),
            "--latency-ms",
            f"{latency_ms:g}",
            "--json",
            "--expiring-share",
            f"{expiring_share:g}",
            "--identical-limit",
            str(identical_limit),
        ]
        self._proc: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None
        self._next = FIRST_ID
        self.url = ""
        self.token = ""
        self.origin = ""

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._log = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        env = child_env()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "openprovider_ssl.testing", *self._args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env,
        )
        line = self._first_line()
        info = json.loads(line)
        self.url = str(info["url"]).rstrip("/")
        self.token = str(info["token"])
        self.origin = str(yarl.URL(self.url).origin())
        # Anything printed later must not fill the pipe and stall the server.
        stdout = self._proc.stdout
        assert stdout is not None
        threading.Thread(target=_drain, args=(stdout,), daemon=True).start()

    def _first_line(self) -> str:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(_json_line(proc.stdout)), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT)
        if not box or not box[0]:
            self.stop()
            raise ServerError(f"the fake server did not start:\n{self._stderr_tail()}")
        return box[0]

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _stderr_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read()[-3000:]

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- control -----------------------------------------------------------------------

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.origin + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                raw = response.read()
        except OSError as exc:
            raise ServerError(f"{method} {path}: {exc}\n{self._stderr_tail()}") from exc
        return json.loads(raw) if raw.strip() else None

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "/_fake/stats")
        return result

    def faults(self, **faults: Any) -> None:
        self.control("POST", "/_fake/faults", faults)

    def take(self, count: int) -> range:
        """``count`` order ids that no one has renewed yet."""
        if self._next + count > FIRST_ID + self.orders:
            raise ServerError(
                f"{count} fresh orders asked, {FIRST_ID + self.orders - self._next} left: "
                "start the server with more --orders"
            )
        ids = range(self._next, self._next + count)
        self._next += count
        return ids

    async def astats(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.stats)


ROOT = str(Path(__file__).resolve().parent.parent)


def child_env() -> dict[str, str]:
    """Our environment, with this checkout importable (``openprovider_ssl``, ``benchmarks``)
    even when the package is not installed."""
    path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path, PYTHONUNBUFFERED="1")


def request_count(stats: dict[str, Any]) -> int:
    """All API requests the server has received since its last reset."""
    return sum(int(v) for v in stats["requests"].values())


def per_second(stats: dict[str, Any]) -> dict[int, int]:
    raw = stats.get("per_second") or {}
    return {int(k): int(v) for k, v in raw.items()}


def _json_line(stream: IO[str] | None) -> str:
    assert stream is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            return ""
        text = line.strip()
        if text.startswith("{"):
            with contextlib.suppress(ValueError):
                if "url" in json.loads(text):
                    return text
    return ""


def _drain(stream: IO[str]) -> None:
    with contextlib.suppress(OSError, ValueError):
        for _ in stream:
            pass
