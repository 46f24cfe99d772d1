"""The soak test's settings (see ``conftest.py`` for where they come from)."""

from __future__ import annotations

import attrs


@attrs.frozen
class Soak:
    orders: int
    concurrency: int
    maintenance_window: float
    long: bool
