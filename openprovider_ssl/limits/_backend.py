"""What a backend of ``Limits`` is: the settings it is bound with and the limiter it returns.

Two backends implement it as peers: the in-memory one (``_memory``, the default: this process
only) and ``RedisLimits`` (``_redis``: every process using the same Redis and prefix). The
front door, ``Limits``, talks to either through ``SharedLimiter`` and nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NamedTuple, Protocol

from .._protocol.messages import Request
from ..errors import OpenproviderError
from ._rules import MaintenanceDeadline

__all__ = ["LimitsBackend", "LimitsSettings", "SharedLimiter"]


class LimitsSettings(NamedTuple):
    """What one ``Limits`` was asked to enforce, as a backend receives it."""

    rate: float | None
    burst: int
    adaptive: bool
    identical_limit: int
    identical_window: float
    maintenance_probe_interval: float
    max_hold: float
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]


class SharedLimiter(Protocol):
    """One ``Limits``' handle on the state a backend keeps (what ``bind`` returns).

    ``paused`` and ``rate`` are the pause and the pace as this process last saw them;
    ``watching``: whether a successful answer may teach the limiter anything (when False,
    ``Limits.record`` skips it: the usual case costs nothing).
    """

    @property
    def paused(self) -> bool: ...

    @property
    def rate(self) -> float | None: ...

    @property
    def watching(self) -> bool: ...

    def admit(self, request: Request) -> bool:
        """Count ``request`` if nothing holds it back, without waiting (the usual case):
        False means ``acquire`` decides. Raises why it must not be sent, as ``acquire``."""
        ...

    async def acquire(self, request: Request, patience: MaintenanceDeadline | None) -> bool:
        """Wait until ``request`` may be sent and count it, or raise why it must not be (a
        maintenance pause outlasting ``patience`` among them); False: the backend is away and
        the caller chose local limits meanwhile."""
        ...

    def record(self, request: Request, error: OpenproviderError | None, maintenance: bool) -> bool:
        """Learn what one answer teaches; False: the local limits should learn it instead."""
        ...


class LimitsBackend(Protocol):
    """Where the state of ``Limits`` lives: rate slots, identical-call counts, the adaptive
    rate, the maintenance pause. ``None`` (the default) keeps it in memory, for this process
    only; ``RedisLimits`` shares it between processes."""

    def bind(self, settings: LimitsSettings) -> SharedLimiter: ...
