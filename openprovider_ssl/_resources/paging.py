"""Walking a limit/offset list to its end, and the query parameters the list calls share.

A listing is an async iterator that fetches one page at a time, as it is consumed. The number
of requests is bounded by the first page's ``total``, so a server whose total keeps growing
cannot keep the loop alive.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Generic, Protocol, TypeVar

from .._protocol import validation as check

__all__ = [
    "MAX_PAGE_SIZE",
    "ORDER_SORT_FIELDS",
    "PRODUCT_SORT_FIELDS",
    "Listing",
    "OrderBy",
    "Params",
    "flag",
    "order_query",
    "page_size",
    "product_query",
    "sort_params",
    "window",
]

logger = logging.getLogger("openprovider_ssl")

MAX_PAGE_SIZE = 1000
#: The ``order_by.*`` query parameters of ListOrders and ListProducts in ssl.swagger.json.
ORDER_SORT_FIELDS = (
    "common_name",
    "order_date",
    "active_date",
    "expiration_date",
    "status",
    "product_name",
)
PRODUCT_SORT_FIELDS = (
    "name",
    "brand_name",
    "category",
    "sub_category",
    "brand_seqno",
    "product_seqno",
)

OrderBy = Mapping[str, str] | tuple[str, str] | Iterable[tuple[str, str]]
"""``{"expiration_date": "asc"}``, ``("expiration_date", "asc")`` or a list of such pairs."""
Params = list[tuple[str, str]]


class _Identified(Protocol):
    @property
    def id(self) -> int: ...


T = TypeVar("T", bound=_Identified)
T_co = TypeVar("T_co", covariant=True)


class _Page(Protocol[T_co]):
    @property
    def results(self) -> tuple[T_co, ...]: ...

    @property
    def total(self) -> int: ...


Fetch = Callable[[int, int], Awaitable[_Page[T]]]
"""Fetch the page at ``(limit, offset)``."""


def flag(params: Params, name: str, value: bool | None) -> None:
    """Append a boolean query parameter, checked, unless it is None (not sent)."""
    if value is not None:
        params.append((name, "true" if check.boolean(name, value) else "false"))


def sort_params(order_by: OrderBy | None, fields: Iterable[str]) -> Params:
    """``order_by.<field>=asc|desc`` parameters, most significant first."""
    if order_by is None:
        return []
    return [(f"order_by.{field}", way) for field, way in check.order_by(order_by, fields)]


def page_size(value: object) -> int:
    return check.int_range("page_size", value, 1, MAX_PAGE_SIZE)


#: Pages in a row that bring no item not seen before, after which a listing stops (incomplete).
STALE_PAGES = 3


class Listing(Generic[T]):
    """Every item of a paged list, fetched page by page as you iterate (``async for``).

    Offset paging shifts when items leave the list while you iterate (an order renewed,
    expired or cancelled meanwhile): every page after the first starts a tenth of a page
    early, on items already seen, and when its first item was not seen, more items moved back
    than that and the listing reads the page before again. So an item that stays in the list
    is never missed, and an item seen twice is yielded once. Iteration ends after a short
    page, or once the offset reaches the smallest ``total`` seen; a list that keeps shifting
    is read at most ``2 * (pages of the first total) + 10`` times, and one whose pages bring
    nothing new three times in a row is stopped; ``complete`` is then False. After an error
    the same page is fetched again on the next step.

    ``total`` is the latest page's total (None before the first page), ``pages`` the number
    of pages fetched so far, ``shifts`` how often the list was seen shifting.
    """

    def __init__(self, fetch: Fetch[T], page_size: int, *, what: str) -> None:
        self._fetch = fetch
        self._limit = page_size
        self._what = what
        # Each page starts this many items early, on items already seen: one fewer may leave
        # the list between two pages without a page being read again.
        self._overlap = page_size // 10 if page_size >= 10 else int(page_size > 1)
        self._start = 0
        self._bound: int | None = None
        self._budget: int | None = None
        self._buffer: deque[T] = deque()
        self._seen: set[int] = set()
        self._done = False
        self._busy = False
        self._stale = 0
        self.total: int | None = None
        self.pages = 0
        self.shifts = 0
        self.complete = True

    def __repr__(self) -> str:
        return (
            f"<Listing of {self._what}: {self.pages} pages, offset {self._start}, "
            f"total {self.total}>"
        )

    def __aiter__(self) -> Listing[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            while self._buffer:
                item = self._buffer.popleft()
                key = item.id
                if key:
                    if key in self._seen:
                        continue
                    self._seen.add(key)
                return item
            if self._done:
                raise StopAsyncIteration
            await self._next_page()

    async def aclose(self) -> None:
        """Stop early; further iteration ends at once (like an async generator's aclose)."""
        self._done = True
        self._buffer.clear()

    async def _next_page(self) -> None:
        if self._busy:
            raise RuntimeError(f"this listing of {self._what} is already being iterated")
        start = self._start
        self._busy = True
        try:
            page = await self._fetch(self._limit, start)
        finally:
            self._busy = False
        results = page.results
        self.pages += 1
        if self.total is not None and page.total != self.total:
            logger.info(
                "%s: the total changed from %d to %d while paging",
                self._what,
                self.total,
                page.total,
            )
        self.total = page.total
        self._bound = page.total if self._bound is None else min(self._bound, page.total)
        if self._budget is None:
            self._budget = 2 * (-(-page.total // self._limit)) + 10
        self._buffer.extend(results)
        overlap = self._overlap
        if start and overlap and not (results and results[0].id in self._seen):
            # More items left the list behind this page than the overlap absorbs: the unseen
            # ones moved back into pages already read. Read the page before this one.
            self.shifts += 1
            self._start = max(0, start - self._limit + overlap)
        else:
            end = start + len(results)
            self._start = max(0, end - overlap)
            if len(results) < self._limit or end >= self._bound:
                self._done = True
            # A page after the first that brings nothing new: a server that answers every
            # offset with the same items would be paged to its (claimed) total.
            seen = self._seen
            stale = start > 0 and all(r.id and r.id in seen for r in results)
            self._stale = self._stale + 1 if stale else 0
        if not self._done and (self.pages >= self._budget or self._stale >= STALE_PAGES):
            self._done = True
            self.complete = False
            logger.warning(
                "%s: the list kept shifting, or repeating itself, while paging; stopped after %d "
                "pages, some items may have been missed",
                self._what,
                self.pages,
            )


def order_query(
    status: str | Iterable[str] | None,
    common_name_pattern: str | None,
    contact_handle: str | None,
    show_expiring: bool | None,
    order_by: OrderBy | None,
) -> Params:
    """The ListOrders filters and sort keys as query parameters, checked."""
    params: Params = sort_params(order_by, ORDER_SORT_FIELDS)
    if common_name_pattern is not None:
        params.append(
            ("common_name_pattern", check.text("common_name_pattern", common_name_pattern))
        )
    if status is not None:
        params.extend(("status", s) for s in check.statuses(status))
    if contact_handle is not None:
        params.append(("contact_handle", check.handle("contact_handle", contact_handle)))
    flag(params, "show_expiring", show_expiring)
    return params


def product_query(
    with_price: bool | None,
    with_supported_software: bool | None,
    with_description: bool | None,
    order_by: OrderBy | None,
) -> Params:
    """The ListProducts switches and sort keys as query parameters, checked."""
    params: Params = []
    flag(params, "with_price", with_price)
    flag(params, "with_supported_software", with_supported_software)
    flag(params, "with_description", with_description)
    params.extend(sort_params(order_by, PRODUCT_SORT_FIELDS))
    return params


def window(limit: object, offset: object) -> Params:
    """``limit`` and ``offset`` of one page, checked."""
    size = check.int_range("limit", limit, 1, MAX_PAGE_SIZE)
    start = check.int_range("offset", offset, 0, 2**31 - 1)
    return [("limit", str(size)), ("offset", str(start))]
