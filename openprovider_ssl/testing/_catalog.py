"""The product catalogue: a dozen real-ish certificates with prices and supported software."""

from __future__ import annotations

from typing import Any, Final

from attrs import frozen

SOFTWARE: Final = (
    {"id": "linux", "title": "Linux (Apache, Nginx, ...)"},
    {"id": "windows", "title": "Microsoft Windows (IIS, Exchange)"},
)
_ROOTS: Final = {
    "Sectigo": "Sectigo (AAA Certificate Services)",
    "DigiCert": "DigiCert Global Root G2",
    "GeoTrust": "DigiCert Global Root CA",
    "RapidSSL": "DigiCert Global Root CA",
}
_LEVELS: Final = {"domain": "DV", "organization": "OV", "extended": "EV"}


@frozen
class Product:
    """One SSL product; ``kind`` is single_domain, multi_domain or wildcard."""

    id: int
    name: str
    brand: str
    validation: str
    kind: str
    price: float
    max_period: int = 2
    included_domains: int = 1
    max_domains: int = 1
    extra_domain_price: float = 0.0
    delivery_time: str = "1 day"

    @property
    def multi_domain(self) -> bool:
        return self.kind == "multi_domain"

    @property
    def wildcard(self) -> bool:
        return self.kind == "wildcard"

    def _group(self, amount: float) -> dict[str, Any]:
        # Reseller price: a flat 15 % discount, in the same currency, as a price group shows.
        return {
            "product": {"currency": "USD", "price": round(amount, 2)},
            "reseller": {"currency": "EUR", "price": round(amount * 0.85, 2)},
        }

    def prices(self) -> list[dict[str, Any]]:
        """productSslProductPrices for every period, a small discount for longer periods."""
        out = []
        for period in range(1, self.max_period + 1):
            factor = period * (1.0 - 0.05 * (period - 1))
            entry: dict[str, Any] = {"period": period, "price": self._group(self.price * factor)}
            if self.multi_domain:
                entry["extra_domain_price"] = self._group(self.extra_domain_price * factor)
            if self.wildcard:
                entry["extra_wildcard_domain_price"] = self._group(self.price * factor)
            out.append(entry)
        return out

    def as_api(
        self, *, price: bool = True, software: bool = True, description: bool = True
    ) -> dict[str, Any]:
        """productSslProduct; the ``with_*`` list flags switch the heavier parts on."""
        level = _LEVELS[self.validation]
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "brand_name": self.brand,
            "category": f"{self.validation}_validation",
            "sub_category": self.kind,
            "validation_method": self.validation,
            "delivery_time": self.delivery_time,
            "encryption": "256 bit",
            "free_refund_period": "30 days",
            "free_reissue_period": "unlimited",
            "bypass_san": False,
            "included_domains_count": self.included_domains,
            "number_of_domains": self.included_domains,
            "max_domains": self.max_domains,
            "max_period": self.max_period,
            "is_extended_validation_supported": self.validation == "extended",
            "is_idn_supported": True,
            "is_mobile_supported": True,
            "is_sgc_supported": False,
            "is_wildcard_supported": self.wildcard,
            "is_wildcard_multidomain_supported": False,
            "order_module": self.brand.lower(),
            "root": _ROOTS[self.brand],
            "warranty": self._group({"DV": 10_000.0, "OV": 250_000.0, "EV": 1_000_000.0}[level]),
        }
        if price:
            data["prices"] = self.prices()
            data["level_prices"] = [{"level": 1, "name": "Default", "prices": data["prices"]}]
        if software:
            data["supported_software"] = [dict(s) for s in SOFTWARE]
        if description:
            data["description"] = (
                f"{self.brand} {level} certificate ({self.kind.replace('_', ' ')})"
            )
        return data


PRODUCTS: Final[tuple[Product, ...]] = (
    Product(1, "PositiveSSL", "Sectigo", "domain", "single_domain", 7.95),
    Product(2, "PositiveSSL Wildcard", "Sectigo", "domain", "wildcard", 79.0),
    Product(
        3,
        "PositiveSSL Multi-Domain",
        "Sectigo",
        "domain",
        "multi_domain",
        29.0,
        included_domains=3,
        max_domains=250,
        extra_domain_price=9.0,
    ),
    Product(
        4, "InstantSSL", "Sectigo", "organization", "single_domain", 35.0, delivery_time="2 days"
    ),
    Product(5, "EV SSL", "Sectigo", "extended", "single_domain", 99.0, delivery_time="5 days"),
    Product(6, "RapidSSL Standard DV", "RapidSSL", "domain", "single_domain", 12.5),
    Product(7, "RapidSSL Wildcard DV", "RapidSSL", "domain", "wildcard", 119.0),
    Product(8, "QuickSSL Premium", "GeoTrust", "domain", "single_domain", 45.0),
    Product(9, "True BusinessID", "GeoTrust", "organization", "single_domain", 115.0),
    Product(
        10,
        "True BusinessID EV Multi-Domain",
        "GeoTrust",
        "extended",
        "multi_domain",
        299.0,
        included_domains=5,
        max_domains=250,
        extra_domain_price=95.0,
        delivery_time="5 days",
    ),
    Product(11, "Secure Site", "DigiCert", "organization", "single_domain", 249.0),
    Product(12, "Secure Site Pro EV", "DigiCert", "extended", "single_domain", 699.0),
    Product(
        13,
        "Multi-Domain SSL",
        "DigiCert",
        "organization",
        "multi_domain",
        359.0,
        included_domains=4,
        max_domains=250,
        extra_domain_price=89.0,
    ),
)
PRODUCTS_BY_ID: Final = {p.id: p for p in PRODUCTS}
