"""Orders held in memory: the record, its API rendering, and the list query over all of them.

Orders are compact slotted records (shared strings, tuples, ``None`` for derived fields) so a
hundred thousand of them cost tens of megabytes; the API dict is rendered on demand. Lists
come newest first (``order_by.order_date`` defaults to ``desc`` in the spec), ties in the
order the orders were added.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from attrs import define

from ._catalog import PRODUCTS_BY_ID, Product
from ._errors import ORDER_NOT_FOUND, ApiError, schema_error

STATUSES: Final = ("PAI", "REQ", "ACT", "EXP", "REJ", "FAI", "CAN")
#: The default renew window (the guide the fake was built from says 30 days; the current public
#: guide says 90): ``FakeOpenprovider(renewal_window_days=N)`` sets another, 1 to 90.
RENEW_WINDOW: Final = timedelta(days=30)
MAX_RENEW_WINDOW_DAYS: Final = 90


def checked_window(days: object) -> timedelta:
    """``renewal_window_days`` as a timedelta: a whole number of days from 1 to 90."""
    if (
        isinstance(days, bool)
        or not isinstance(days, int)
        or not 1 <= days <= MAX_RENEW_WINDOW_DAYS
    ):
        raise ValueError(
            f"renewal_window_days must be a whole number from 1 to {MAX_RENEW_WINDOW_DAYS}, "
            f"got {days!r}"
        )
    return timedelta(days=days)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_PLACEHOLDER_B64: Final = "MIIFakeCertificateForOpenproviderSslTestingOnly" * 8
_CERT: Final = (
    "-----BEGIN CERTIFICATE-----\n"
    + "\n".join(_PLACEHOLDER_B64[i : i + 64] for i in range(0, len(_PLACEHOLDER_B64), 64))
    + "\n-----END CERTIFICATE-----"
)
#: The CSR of guide 6, shown for generated orders that were never given one of their own.
SAMPLE_CSR: Final = (
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "MIIDNzCCAh8CAQAwgaUxCzAJBgNVBAYTAk5MMRYwFAYDVQQIEw1Ob29yZC1Ib2xs\n"
    "YW5kMQ8wDQYDVQQHEwZIYWFsZW0xGjAYBgNVBAoTEU9wZW5wcm92aWRlciBCLlYu\n"
    "MQswCQYDVQQLEwJJVDEbMBkGA1UEAxMSc3NsLTEyMy1kb21haW4uY29tMScwJQYJ\n"
    "KoZIhvcNAQkBFhhhZG1pbkBzc2wtMTIzLWRvbWFpbi5jb20wggEiMA0GCSqGSIb3\n"
    "DQEBAQUAA4IBDwAwggEKAoIBAQD4t7KW7vJ8Zjw9xZMo1iU4ez7pdPPglmSNNRAk\n"
    "iJXzTda9cIYPjwxduUR7A8EsgxFT/jQ99Gmjyq85liSX45z88eT5a7f84alEfCui\n"
    "MzZh9DUK6Y8nigATFnjOohJhkEXXay8K0fY7/DXD6dSqJYJkhqULedsvB64ofip0\n"
    "0ab8PlgOkdphcLUxKOGcpt8xWpzgKpMTJJnmRVkI7rkikYAU7BWxtJ5tcg/lEFcl\n"
    "ruh/WUxeBH6qJMZ5xHZ2Z1EWLjiVGb6Mw+sYBUky4WDX9xefv2wl48dEA3opWR9e\n"
    "vTL/8Omo7xDk3vN4nEOAl9cT8gidVHuA+YOLMczLLrhP8LRPAgMBAAGgTDBKBgkq\n"
    "hkiG9w0BCQ4xPTA7MAkGA1UdEwQCMAAwCwYDVR0PBAQDAgXgMCEGA1UdEQQaMBiC\n"
    "Fnd3dy5zc2wtMTIzLWRvbWFpbi5jb20wDQYJKoZIhvcNAQELBQADggEBAJVyt+D8\n"
    "BDxcQhuT4kOd8A2u0a+T0PAXX7uJcu1AkJr1gMS6tym118nmjXLilgSsL3IarRq2\n"
    "1taUMoxlyZuXe38IztCBuUxpKiZz6Ltx5yUrQZaFNNOVsHNjXHe5oajVA1f7dmoI\n"
    "Ia3E/fpeHpoPzbWdTv1bfMHuAfHIRqVuTHG78T4fJh4JFXfyHfVbLUN5wc9D7oPo\n"
    "amGOFSUZoY/HLwfGf1zJMqsF9HEreCVmhWGoIHknzKbIhe7sngzR1We3aafNAUOd\n"
    "Q3gov4okpEI8yurKRrGSSo1ZzWqiIew5qEkm6gNGAwVWYgZ0kgadXjJQEBdx6deZ\n"
    "4eJiaV7IwubPS78=\n"
    "-----END CERTIFICATE REQUEST-----"
)


def fmt(value: datetime | None) -> str:
    """The API's date format, ``YYYY-MM-DD HH:MM:SS`` in UTC, or ``""`` for no date."""
    return "" if value is None else value.isoformat(" ")[:19]


def add_years(value: datetime, years: int) -> datetime:
    """Same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return value.replace(year=value.year + years)
    except ValueError:
        return value.replace(year=value.year + years, day=28)


def base_domain(host: str) -> str:
    """``www.shop.example.com`` -> ``example.com``; approver emails live there."""
    parts = host.lstrip("*.").split(".")
    return ".".join(parts[-2:]) if len(parts) >= 2 else host


def paging(query: dict[str, Any]) -> tuple[int, int]:
    """(limit, offset) of a list query: limit defaults to 100 (also for 0), at most 1000."""
    limit = query.get("limit") or 100
    offset = query.get("offset") or 0
    if not 0 < limit <= 1000:
        raise schema_error("query.limit: must be between 1 and 1000")
    if offset < 0:
        raise schema_error("query.offset: must not be negative")
    return limit, offset


def ordering(query: dict[str, Any]) -> list[tuple[str, bool]]:
    """The ``order_by.<field>`` parameters of a list query, as (field, descending), in order.

    ``asc``/``desc`` in any case, as the spec's descriptions say ("desc/asc").
    """
    order_by = []
    for name, value in query.items():
        if name.startswith("order_by."):
            direction = str(value).lower()
            if direction not in ("asc", "desc"):
                raise schema_error(f"query.{name}: expected 'asc' or 'desc'")
            order_by.append((name[9:], direction == "desc"))
    return order_by


#: [changes to any field of any order, changes to an order_date]
_MUTATIONS = [0, 0]


def _touch(instance: Any, attribute: Any, value: Any) -> Any:
    # Any change to any order, even one a test makes by hand, invalidates the list cache.
    _MUTATIONS[0] += 1
    if attribute.name == "order_date":
        _MUTATIONS[1] += 1
    return value


@define(slots=True, eq=False, on_setattr=_touch)
class Order:
    """One SSL order as the fake stores it; :meth:`as_api` renders the orderSslOrder.

    Fields carry the API's names, the request spelling where read and write differ
    (``approver_email`` is shown as ``email_approver``, ``software_id`` as ``software``).
    Dates are aware UTC datetimes (``None`` when unset); ``approver_email`` and ``csr`` empty
    mean "derived" (admin@ the base domain, the guide's sample CSR). Tests may change fields
    directly; list results notice.
    """

    id: int
    product_id: int
    status: str
    common_name: str
    period: int
    order_date: datetime
    active_date: datetime | None = None
    expiration_date: datetime | None = None
    autorenew: str = "off"
    host_names: tuple[str, ...] = ()
    organization_handle: str = ""
    technical_handle: str = ""
    approver_email: str = ""
    software_id: str = "linux"
    csr: str = ""
    domain_validation_methods: tuple[tuple[str, str], ...] = ()
    enable_dns_automation: bool = False
    reissue_at: datetime | None = None

    @property
    def product(self) -> Product:
        return PRODUCTS_BY_ID[self.product_id]

    def renewable(self, now: datetime, window: timedelta = RENEW_WINDOW) -> bool:
        """ACT, not expired, expiring within the renew ``window`` (30 days unless given)."""
        exp = self.expiration_date
        return self.status == "ACT" and exp is not None and now < exp <= now + window

    def _light(self) -> dict[str, Any]:
        product = PRODUCTS_BY_ID[self.product_id]
        issued = self.status in ("ACT", "EXP")
        methods = [{"host_name": h, "method": m} for h, m in self.domain_validation_methods]
        handle = self.organization_handle
        return {
            "id": self.id,
            "product_id": self.product_id,
            "product_name": product.name,
            "brand_name": product.brand,
            "status": self.status,
            "common_name": self.common_name,
            "host_names": list(self.host_names),
            "period": self.period,
            "order_date": fmt(self.order_date),
            "active_date": fmt(self.active_date),
            "expiration_date": fmt(self.expiration_date),
            "order_ends_at": fmt(add_years(self.order_date, self.period)) if issued else "",
            "reissue_at": fmt(self.reissue_at),
            "autorenew": self.autorenew,
            "organization_handle": handle,
            "technical_handle": self.technical_handle,
            "administrative_handle": handle,
            "billing_handle": handle,
            "email_approver": self.approver_email or "admin@" + base_domain(self.common_name),
            "email_reissue": "",
            "software": self.software_id,
            "domain_validation_methods": methods,
            "domain_validation_statuses": {
                "ca_operation": "issue" if self.status in ("REQ", "ACT", "EXP") else "",
                "ca_order_status": self.status,
                "ca_status": "completed" if issued else "pending",
                "status": "validated" if issued else "pending",
            },
            "validation_method": methods[0]["method"] if methods else "email",
            "additional_data": [],
            "features": "",
            "options": {"features": ""},
            "vendor_order_id": str(7_000_000 + self.id * 3),
            "vendor_reference_id": f"OP-{self.id}",
            "sslinhva_order_id": "",
        }

    def as_api(self) -> dict[str, Any]:
        """orderSslOrder, as the real API renders it."""
        data = self._light()
        issued = self.status in ("ACT", "EXP")
        data["csr"] = self.csr or SAMPLE_CSR
        for key in ("certificate", "intermediate_certificate", "root_certificate"):
            data[key] = _CERT if issued else ""
        return data

    def as_json(self) -> str:
        """``json.dumps(self.as_api())``, with the big PEM strings spliced in pre-encoded.

        The PEMs are most of the bytes and the same for every generated order; encoding them
        once keeps GetOrder and ListOrders cheap.
        """
        head = json.dumps(self._light(), separators=(",", ":"))
        csr = _SAMPLE_CSR_JSON if not self.csr else json.dumps(self.csr)
        tail = _ISSUED_TAIL if self.status in ("ACT", "EXP") else _PENDING_TAIL
        return f'{head[:-1]},"csr":{csr}{tail}'


_SAMPLE_CSR_JSON: Final = json.dumps(SAMPLE_CSR)
_ISSUED_TAIL: Final = (
    "".join(
        f',"{k}":{json.dumps(_CERT)}'
        for k in ("certificate", "intermediate_certificate", "root_certificate")
    )
    + "}"
)
_PENDING_TAIL: Final = ',"certificate":"","intermediate_certificate":"","root_certificate":""}'

_SORT_KEYS: Final[dict[str, Callable[[Order], Any]]] = {
    "common_name": lambda o: o.common_name,
    "order_date": lambda o: o.order_date,
    "active_date": lambda o: o.active_date or _EPOCH,
    "expiration_date": lambda o: o.expiration_date or _EPOCH,
    "status": lambda o: o.status,
    "product_name": lambda o: PRODUCTS_BY_ID[o.product_id].name,
}


def _pattern(text: str) -> re.Pattern[str]:
    parts = (re.escape(p) for p in text.lower().split("*"))
    return re.compile(".*".join(parts) + r"\Z")


class OrderStore:
    """All orders by id, plus the filtered-and-sorted list query with a one-entry cache.

    The cache key includes versions bumped on every change (an order added, any field of any
    order set), so paging through one filter re-scans only when something changed in between.
    """

    def __init__(
        self,
        now: Callable[[], datetime],
        first_id: int = 100_001,
        renew_window: timedelta = RENEW_WINDOW,
    ) -> None:
        self.orders: dict[int, Order] = {}
        #: How long before expiration a renew is accepted (and ``show_expiring`` lists it).
        self.renew_window = renew_window
        self.next_id = first_id
        self.version = 0
        self._now = now
        self._cache: tuple[Any, list[Order]] | None = None
        self._newest_first: tuple[Any, list[Order]] | None = None

    def get(self, order_id: int) -> Order:
        """The order, or a 10001 refusal."""
        order = self.orders.get(order_id)
        if order is None:
            raise ApiError(ORDER_NOT_FOUND, f"order {order_id} does not exist")
        return order

    def add(self, order: Order) -> Order:
        self.orders[order.id] = order
        self.next_id = max(self.next_id, order.id + 1)
        self.version += 1
        return order

    def newest_first(self) -> list[Order]:
        """Every order by ``order_date`` descending (the default list order), cached."""
        key = (self.version, _MUTATIONS[1], len(self.orders))
        if self._newest_first is None or self._newest_first[0] != key:
            rows = sorted(self.orders.values(), key=_SORT_KEYS["order_date"], reverse=True)
            self._newest_first = (key, rows)
        return self._newest_first[1]

    def query(self, params: dict[str, Any]) -> tuple[int, list[Order]]:
        """ListOrders: (total after filters, the requested page), newest first unless
        ``order_by`` says otherwise (stable sorts: the default order breaks ties)."""
        limit, offset = paging(params)
        order_by = ordering(params)
        statuses = frozenset(params.get("status", ()))
        pattern = params.get("common_name_pattern") or ""
        handle = params.get("contact_handle") or ""
        expiring = bool(params.get("show_expiring"))
        now = self._now()
        version = (self.version, _MUTATIONS[0], len(self.orders))
        minute = int(now.timestamp()) // 60 if expiring else 0
        window = self.renew_window
        key = (statuses, pattern, handle, expiring, tuple(order_by), version, minute, window)
        if self._cache is not None and self._cache[0] == key:
            rows = self._cache[1]
        elif not (statuses or pattern or handle or expiring or order_by):
            rows = self.newest_first()
            return len(rows), rows[offset : offset + limit]
        else:
            rows = self._filter(statuses, pattern, handle, expiring, now)
            for field, desc in reversed(order_by):
                rows.sort(key=_SORT_KEYS[field], reverse=desc)
            self._cache = (key, rows)
        return len(rows), rows[offset : offset + limit]

    def _filter(
        self, statuses: frozenset[str], pattern: str, handle: str, expiring: bool, now: datetime
    ) -> list[Order]:
        rows = list(self.newest_first())  # a copy: the caller sorts it
        if statuses:
            rows = [o for o in rows if o.status in statuses]
        if expiring:
            window = self.renew_window
            rows = [o for o in rows if o.renewable(now, window)]
        if handle:
            rows = [o for o in rows if handle in (o.organization_handle, o.technical_handle)]
        if pattern:
            match = _pattern(pattern).match
            rows = [o for o in rows if match(o.common_name.lower())]
        return rows
