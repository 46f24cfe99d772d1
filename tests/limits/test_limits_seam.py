"""The seam between ``Limits`` and a backend, with a stand-in backend (no Redis needed)."""

from __future__ import annotations

import pytest

from openprovider_ssl._protocol.messages import Request, SendMark, build_request
from openprovider_ssl.errors import (
    AccessDeniedError,
    IdenticalCallLimitError,
    MaintenanceError,
    OpenproviderError,
)
from openprovider_ssl.limits._front import Limits, LimitsSettings, SendSlot, send_slot
from openprovider_ssl.limits._rules import MaintenanceDeadline


class StandIn:
    """Says yes (or, when ``away``, "use your local limits"), and remembers what it was told."""

    def __init__(self) -> None:
        self.away = False
        self.settings: LimitsSettings | None = None
        self.acquired: list[Request] = []
        self.recorded: list[tuple[Request, OpenproviderError | None, bool]] = []
        self.raise_on_acquire: OpenproviderError | None = None
        self.paused = False
        self.rate: float | None = None
        self.watching = True

    def bind(self, settings: LimitsSettings) -> StandIn:
        self.settings = settings
        return self

    def admit(self, request: Request) -> bool:
        return False

    async def acquire(self, request: Request, patience: MaintenanceDeadline | None) -> bool:
        if self.raise_on_acquire is not None:
            raise self.raise_on_acquire
        if self.away:
            return False
        self.acquired.append(request)
        return True

    def record(self, request: Request, error: OpenproviderError | None, maintenance: bool) -> bool:
        if self.away:
            return False
        self.recorded.append((request, error, maintenance))
        return True


def get(path: str = "/ssl/orders/1") -> Request:
    return build_request("GetOrder", "GET", path, idempotent=True)


async def test_limits_hands_every_attempt_to_the_backend() -> None:
    backend = StandIn()
    limits = Limits(rate=7, identical_limit=2, identical_window=9, backend=backend)
    assert backend.settings is not None
    assert (backend.settings.rate, backend.settings.identical_limit) == (7, 2)
    mark = SendMark()
    token = send_slot.set(SendSlot(mark))
    try:
        for _ in range(3):  # over the identical limit: the backend, not Limits, decides
            await limits.acquire(get())
            limits.record(get(), None, maintenance=True)
    finally:
        send_slot.reset(token)
    assert mark.sent
    assert len(backend.acquired) == 3
    assert [m for _, _, m in backend.recorded] == [True] * 3


async def test_a_backend_away_leaves_the_decision_to_the_local_limits() -> None:
    backend = StandIn()
    backend.away = True
    limits = Limits(identical_limit=1, backend=backend)
    await limits.acquire(get())
    with pytest.raises(IdenticalCallLimitError):
        await limits.acquire(get())
    limits.record(get(), MaintenanceError(4005, "maintenance", http_status=503))
    assert limits.paused  # learned locally
    assert backend.acquired == [] and backend.recorded == []


async def test_access_denied_from_the_backend_stops_this_client() -> None:
    backend = StandIn()
    limits = Limits(backend=backend)
    denied = AccessDeniedError(10005, "Access denied", http_status=403)
    backend.raise_on_acquire = denied
    with pytest.raises(AccessDeniedError):
        await limits.acquire(get())
    backend.raise_on_acquire = None
    with pytest.raises(AccessDeniedError):
        await limits.acquire(get())  # remembered: the backend is not asked again
    assert backend.acquired == []


async def test_access_denied_in_an_answer_stops_this_client_and_reaches_the_backend() -> None:
    backend = StandIn()
    limits = Limits(backend=backend)
    denied = AccessDeniedError(10005, "Access denied", http_status=403)
    await limits.acquire(get())
    limits.record(get(), denied)
    assert backend.recorded[-1][1] is denied
    with pytest.raises(AccessDeniedError):
        await limits.acquire(get())


def test_a_backend_must_bind() -> None:
    with pytest.raises(TypeError, match="LimitsBackend"):
        Limits(backend="redis://localhost")  # type: ignore[arg-type]
