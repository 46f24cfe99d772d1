"""What can go wrong on purpose (:class:`Faults`) and what happened (:class:`FakeStats`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import attrs
from attrs import define, field


def _number(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")


def _rate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _number(value, attribute.name)
    if value > 1:
        raise ValueError(f"{attribute.name} is a probability (0..1), got {value!r}")


def _operation_set(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


def _seconds(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _number(value, attribute.name)


@define
class Faults:
    """Faults injected by the fake; change any field while it runs (validated on assignment).

    Rates are per-request probabilities drawn from the fake's seeded ``random.Random``, so a
    run is reproducible. Login is spared every injected fault (latency included) unless
    ``on_login`` is true; ``operations`` limits injection to some operation ids.
    ``drop_after_rate`` hits writes only (a read has nothing to apply before the drop).
    ``garbage_rate``: half the garbage answers are HTTP 502 (nothing applied), half HTTP 200
    with an HTML, truncated or non-envelope body (writes *applied*).
    """

    maintenance: bool = False
    maintenance_rate: float = field(default=0.0, validator=_rate)
    error_rate: float = field(default=0.0, validator=_rate)
    throttle_rate: float = field(default=0.0, validator=_rate)
    throttle_retry_after: int = field(default=1, validator=_seconds)
    latency: float = field(default=0.0, validator=_seconds)
    latency_jitter: float = field(default=0.0, validator=_seconds)
    drop_before_rate: float = field(default=0.0, validator=_rate)
    drop_after_rate: float = field(default=0.0, validator=_rate)
    garbage_rate: float = field(default=0.0, validator=_rate)
    on_login: bool = False
    operations: frozenset[str] | None = field(default=None, converter=_operation_set)

    def update(self, **changes: Any) -> None:
        """Set several fields at once (validated); unknown names raise TypeError."""
        names = {a.name for a in attrs.fields(Faults)}
        unknown = set(changes) - names
        if unknown:
            raise TypeError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        for name, value in changes.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        if self.operations is not None:
            data["operations"] = sorted(self.operations)
        return data


@define
class FakeStats:
    """Counters a test can assert on; ``reset()`` zeroes them (not ``in_flight``).

    ``requests``: by operation id (``"_unknown"`` for unrouted paths), every request received.
    ``renewals``: order id -> renewals *charged* (accepted, whether the expiration moved yet
    or not); :attr:`charged_twice` lists the orders charged more than once.
    ``updates``: order id -> updates *applied*.
    ``applied``: operation id -> writes applied. ``faults``: by kind (``error``, ``throttle``,
    ``maintenance``, ``drop_before``, ``drop_after``, ``garbage_200``, ``garbage_502``,
    ``rate_limited``, ``blacklisted``, ``login_blocked``, ``auth_failed``).
    ``per_second``: int(epoch second) -> requests received. ``identical_max``: the highest
    identical-call count seen in one window.
    """

    requests: Counter[str] = field(factory=Counter)
    renewals: Counter[int] = field(factory=Counter)
    updates: Counter[int] = field(factory=Counter)
    applied: Counter[str] = field(factory=Counter)
    faults: Counter[str] = field(factory=Counter)
    per_second: Counter[int] = field(factory=Counter)
    identical_max: int = 0
    max_in_flight: int = 0
    in_flight: int = 0

    def reset(self) -> None:
        """Zero every counter; requests still running keep counting ``in_flight``."""
        for counter in (
            self.requests,
            self.renewals,
            self.updates,
            self.applied,
            self.faults,
            self.per_second,
        ):
            counter.clear()
        self.identical_max = 0
        self.max_in_flight = self.in_flight

    @property
    def charged_twice(self) -> list[int]:
        """Ids of the orders whose renewal was charged more than once, sorted."""
        return sorted(k for k, v in self.renewals.items() if v > 1)

    @property
    def total(self) -> int:
        """All requests received since the last reset."""
        return sum(self.requests.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (keys as strings), for the control endpoint."""
        return {
            "requests": dict(self.requests),
            "renewals": {str(k): v for k, v in self.renewals.items()},
            "charged_twice": self.charged_twice,
            "updates": {str(k): v for k, v in self.updates.items()},
            "applied": dict(self.applied),
            "faults": dict(self.faults),
            "per_second": {str(k): v for k, v in sorted(self.per_second.items())},
            "identical_max": self.identical_max,
            "max_in_flight": self.max_in_flight,
            "in_flight": self.in_flight,
            "total": self.total,
        }
