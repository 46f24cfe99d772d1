"""The seeded order generator: a realistic mix, reproducible from (count, seed, now, share)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final, TypeVar

from ._catalog import PRODUCTS
from ._state import Order

# Word lists kept as text for readability; split once at import.
_WORDS_A: Final = (  # noqa: SIM905
    "acme blue green red swift bright north south east west alpha delta nova terra solar "
    "lunar rapid prime urban metro global local smart cloud data pixel cyber open happy"
).split()
_WORDS_B: Final = (  # noqa: SIM905
    "shop store labs works media bank travel foods clinic motors studio systems garden "
    "hotel games sports books music energy logistics consult design health"
).split()
_TLDS: Final = ("com", "nl", "eu", "net", "org", "de", "io", "co.uk", "be", "fr")
_SUBS: Final = ("", "", "www.", "www.", "shop.", "mail.", "api.", "portal.", "secure.")
_COUNTRIES: Final = ("NL", "DE", "GB", "BE", "FR", "US", "ES", "IT")
HANDLES: Final = tuple(
    f"{a}{b}{n:06d}-{c}"
    for a, b, n, c in zip(
        "ABCDEFGHJKLMNPRSTUVW" * 2,
        "XYZQRSTUVWXYZQRSTUVW" * 2,
        range(100_200, 104_200, 100),
        _COUNTRIES * 5,
        strict=False,
    )
)
#: Everything that is not a renewable ACT order is drawn from this mix.
_MIX: Final = (
    ("ACT", 50),
    ("EXP", 12),
    ("REQ", 12),
    ("CAN", 9),
    ("PAI", 7),
    ("REJ", 5),
    ("FAI", 5),
)
_PRODUCT_WEIGHTS: Final = (30, 8, 6, 6, 3, 14, 4, 8, 4, 2, 6, 3, 3)
_DAY: Final = 86_400
_YEAR: Final = 365 * _DAY
T = TypeVar("T")


def _expand(pairs: Iterable[tuple[T, int]]) -> list[T]:
    return [value for value, weight in pairs for _ in range(weight)]


def generate_orders(
    count: int, seed: int, now: datetime, expiring_share: float, first_id: int = 100_001
) -> list[Order]:
    """``count`` orders with consecutive ids; ``expiring_share`` of them renewable right now.

    Draws come from one ``random.Random(seed)`` in a fixed order, so the same arguments give
    the same orders (``now`` anchors the dates; pass a fixed one for byte-identical runs).
    """
    rng = random.Random(seed)
    rand = rng.random
    statuses = _expand(_MIX)
    products = _expand(zip(PRODUCTS, _PRODUCT_WEIGHTS, strict=True))
    domains = [f"{a}-{b}.{t}" for a in _WORDS_A for b in _WORDS_B for t in _TLDS]
    # Epoch arithmetic and one fromtimestamp per date: timedelta objects cost more here.
    base = int(now.timestamp())
    stamp = datetime.fromtimestamp
    orders: list[Order] = []
    append = orders.append
    n_products, n_domains, n_subs = len(products), len(domains), len(_SUBS)
    n_statuses, n_handles = len(statuses), len(HANDLES)
    for order_id in range(first_id, first_id + count):
        product = products[int(rand() * n_products)]
        period = 1 if rand() < 0.7 else 2
        domain = domains[int(rand() * n_domains)]
        sub = "*." if product.wildcard else _SUBS[int(rand() * n_subs)]
        common_name = sub + domain
        host_names: tuple[str, ...] = ()
        if product.multi_domain:
            host_names = (common_name, "www." + domain, "mail." + domain)[: 2 + (rand() < 0.5)]
        active = expiration = None
        exp = 0
        if rand() < expiring_share:
            status = "ACT"
            exp = base + 3600 + int(rand() * (29 * _DAY - 3600))
        else:
            status = statuses[int(rand() * n_statuses)]
            if status == "ACT":
                exp = base + 31 * _DAY + int(rand() * (period * 365 - 31) * _DAY)
            elif status == "EXP":
                exp = base - _DAY - int(rand() * 399 * _DAY)
        if exp:
            expiration = stamp(exp, UTC)
            ordered = exp - period * _YEAR - int(rand() * 5 * _DAY)
            active = stamp(ordered + 3600 + int(rand() * 3 * _DAY), UTC)
        elif status in ("PAI", "REQ"):
            ordered = base - 60 - int(rand() * 20 * _DAY)
        else:
            ordered = base - 10 * _DAY - int(rand() * 790 * _DAY)
        handle = HANDLES[int(rand() * n_handles)]
        append(
            Order(
                id=order_id,
                product_id=product.id,
                status=status,
                common_name=common_name,
                period=period,
                order_date=stamp(ordered, UTC),
                active_date=active,
                expiration_date=expiration,
                autorenew="on" if rand() < 0.3 else "off",
                host_names=host_names,
                organization_handle=handle,
                technical_handle=handle if rand() < 0.6 else HANDLES[int(rand() * n_handles)],
                software_id="linux" if rand() < 0.8 else "windows",
            )
        )
    return orders
