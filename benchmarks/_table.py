"""One measured metric, the table printed at the end, and the JSON written for it; the order
of interleaved rounds and the statistics taken over them."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs

Goal = Literal["max", "min"]
T = TypeVar("T")


@attrs.frozen(kw_only=True)
class Metric:
    """One row: what the SDK measured, what the baseline measured, and their ratio.

    ``target`` is a bound on ``ratio`` (``goal="max"``: ratio must not exceed it, ``"min"``: it
    must reach it); ``None`` means the row is information only.
    """

    key: str
    name: str
    unit: str
    sdk: float
    baseline: float | None
    ratio: float | None
    target: float | None = None
    goal: Goal = "max"
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None or self.ratio is None or math.isnan(self.ratio):
            return None
        if self.goal == "max":
            return self.ratio <= self.target
        return self.ratio >= self.target

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "-"
        return f"{'<=' if self.goal == 'max' else '>='} {self.target:g}"

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "unit": self.unit,
            "sdk": _finite(self.sdk),
            "baseline": None if self.baseline is None else _finite(self.baseline),
            "ratio": None if self.ratio is None else _finite(self.ratio),
            "target": self.target_text if self.target is not None else None,
            "met": self.met,
            "note": self.note,
        }


def _finite(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(value, 4)


def interleaved(pairs: int, sides: Sequence[T]) -> Iterator[T]:
    """Each of ``sides`` once per pair: in their order in even pairs, reversed in odd ones, so
    that neither side always runs first."""
    for n in range(pairs):
        yield from sides if n % 2 == 0 else reversed(sides)


def median(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else math.nan


def spread(values: Sequence[float]) -> str:
    """The middle half and the extremes of some ratios, for a note: how noisy was it?"""
    data = sorted(values)
    if len(data) < 4:
        return f"min {data[0]:.3f}, max {data[-1]:.3f}" if data else "no data"
    q1, _, q3 = statistics.quantiles(data, n=4)
    return f"middle half {q1:.3f}-{q3:.3f}, min {data[0]:.3f}, max {data[-1]:.3f}"


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor()
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 0
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = math.nan
    return {
        "nproc": cpus,
        "cpu": model or "unknown",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "load_average_1min_at_start": round(load, 2),
    }


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 1000:
        text = f"{value:,.0f}"
    elif magnitude >= 100:
        text = f"{value:.1f}"
    elif magnitude >= 10:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".rstrip()


def rows(metrics: Sequence[Metric]) -> list[list[str]]:
    out = [["metric", "SDK", "baseline", "ratio", "target", "met?"]]
    for m in metrics:
        met = {True: "yes", False: "NO", None: "-"}[m.met]
        out.append(
            [
                m.name,
                _fmt(m.sdk, m.unit),
                _fmt(m.baseline, m.unit),
                _fmt(m.ratio),
                m.target_text,
                met,
            ]
        )
    return out


def render_text(metrics: Sequence[Metric]) -> str:
    table = rows(metrics)
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = []
    for n, r in enumerate(table):
        cells = [r[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(metrics: Sequence[Metric]) -> str:
    table = rows(metrics)
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "---|" + "---:|" * 5]
    lines += ["| " + " | ".join(r) + " |" for r in table[1:]]
    return "\n".join(lines)


def write_json(
    path: Path,
    metrics: Sequence[Metric],
    *,
    quick: bool,
    seconds: float,
    settings: dict[str, Any],
    host: dict[str, Any],
    errors: dict[str, str],
) -> None:
    document = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "quick": quick,
        "seconds": round(seconds, 1),
        "machine": host,
        "settings": settings,
        "metrics": [m.as_json() for m in metrics],
        "errors": errors,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
