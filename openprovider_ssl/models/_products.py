"""SSL products and their prices."""

from __future__ import annotations

import attrs

from ._common import ApiWarning


@attrs.frozen
class ProductPrice:
    """An amount in one currency (spec ``productSslProductPrice`` and ``...Reseller``)."""

    currency: str = ""
    price: float = 0.0


@attrs.frozen(kw_only=True)
class ProductPriceGroup:
    """A price in the product's currency and in the reseller's currency."""

    product: ProductPrice | None = None
    reseller: ProductPrice | None = None


@attrs.frozen(kw_only=True)
class ProductPrices:
    """Prices for one period in years (spec ``productSslProductPrices``)."""

    period: int = 0
    price: ProductPriceGroup | None = None
    extra_domain_price: ProductPriceGroup | None = None
    extra_wildcard_domain_price: ProductPriceGroup | None = None


@attrs.frozen(kw_only=True)
class ProductLevelPrices:
    """Prices of one reseller price level (spec ``productSslProductLevelPrices``)."""

    level: int = 0
    name: str = ""
    prices: tuple[ProductPrices, ...] = ()


@attrs.frozen
class SupportedSoftware:
    """A platform the certificate supports, e.g. ``("linux", "Linux")``."""

    id: str = ""
    title: str = ""


@attrs.frozen(kw_only=True)
class ProductWarranty:
    """Warranty amount in the product's and the reseller's currency."""

    product: ProductPrice | None = None
    reseller: ProductPrice | None = None


@attrs.frozen(kw_only=True)
class Product:
    """An SSL product (spec ``productSslProduct``)."""

    brand_name: str = ""
    bypass_san: bool | None = None
    category: str = ""
    delivery_time: str = ""
    description: str = ""
    encryption: str = ""
    free_refund_period: str = ""
    free_reissue_period: str = ""
    id: int = 0
    included_domains_count: int = 0
    is_extended_validation_supported: bool | None = None
    is_idn_supported: bool | None = None
    is_mobile_supported: bool | None = None
    is_sgc_supported: bool | None = None
    is_wildcard_multidomain_supported: bool | None = None
    is_wildcard_supported: bool | None = None
    level_prices: tuple[ProductLevelPrices, ...] = ()
    max_domains: int = 0
    max_period: int = 0
    name: str = ""
    number_of_domains: int = 0
    order_module: str = ""
    prices: tuple[ProductPrices, ...] = ()
    root: str = ""
    sub_category: str = ""
    supported_software: tuple[SupportedSoftware, ...] = ()
    validation_method: str = ""
    warranty: ProductWarranty | None = None


@attrs.frozen
class ProductPage:
    """One page of a list-products answer."""

    results: tuple[Product, ...] = ()
    total: int = 0
    warnings: tuple[ApiWarning, ...] = ()
