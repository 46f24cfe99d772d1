"""``client.products``: the SSL certificates that can be ordered, with their prices."""

from __future__ import annotations

from .._protocol import validation as check
from .._protocol.messages import build_request
from ..models import Product, ProductPage
from . import paging as _paging
from .caller import Caller
from .paging import Listing, OrderBy, Params


class Products:
    """The product catalogue. Reached as ``client.products``."""

    def __init__(self, client: Caller) -> None:
        self._client = client

    async def get(self, product_id: int) -> Product:
        """One product, with its prices per period and supported software."""
        pid = check.positive_int("product_id", product_id)
        request = build_request("GetProduct", "GET", f"/ssl/products/{pid}", idempotent=True)
        return await self._client._execute(request, Product)

    def list(
        self,
        *,
        with_price: bool | None = None,
        with_supported_software: bool | None = None,
        with_description: bool | None = None,
        order_by: OrderBy | None = None,
        page_size: int = 100,
    ) -> Listing[Product]:
        """Every product, fetched ``page_size`` at a time as you iterate.

        The ``with_*`` switches ask for the heavier parts (prices, supported software,
        description); ``order_by`` is ``{"name": "asc"}`` or ``("name", "asc")``::

            async for product in client.products.list(with_price=True):
                ...
        """
        query = _paging.product_query(
            with_price, with_supported_software, with_description, order_by
        )
        size = _paging.page_size(page_size)

        async def fetch(limit: int, offset: int) -> ProductPage:
            return await self._list_page(query, _paging.window(limit, offset))

        return Listing(fetch, size, what="products")

    async def page(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        with_price: bool | None = None,
        with_supported_software: bool | None = None,
        with_description: bool | None = None,
        order_by: OrderBy | None = None,
    ) -> ProductPage:
        """One page of products (switches as in ``list``), with their ``total``."""
        window = _paging.window(limit, offset)
        query = _paging.product_query(
            with_price, with_supported_software, with_description, order_by
        )
        return await self._list_page(query, window)

    async def _list_page(self, query: Params, window: Params) -> ProductPage:
        request = build_request(
            "ListProducts", "GET", "/ssl/products", params=[*window, *query], idempotent=True
        )
        return await self._client._execute(request, ProductPage)
