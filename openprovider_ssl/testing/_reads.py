"""Read operations and the stateless CSR helpers; each returns the response ``data``."""

from __future__ import annotations

import hashlib
from typing import Any, Final

from ._catalog import PRODUCTS, PRODUCTS_BY_ID
from ._der import build_csr, build_key, decode_csr
from ._errors import PRODUCT_NOT_FOUND, ApiError, schema_error
from ._state import OrderStore, base_domain, ordering, paging


class RawJSON(str):
    """Response ``data`` already encoded as JSON text; spliced into the envelope as is."""

    __slots__ = ()


_PRODUCT_SORT: Final = {
    "name": lambda p: p.name,
    "brand_name": lambda p: p.brand,
    "category": lambda p: p.validation,
    "sub_category": lambda p: p.kind,
    "brand_seqno": lambda p: p.brand,
    "product_seqno": lambda p: p.id,
}
_APPROVER_BOXES: Final = ("admin", "administrator", "hostmaster", "postmaster", "webmaster")


def list_products(query: dict[str, Any]) -> dict[str, Any]:
    """ListProducts: prices, software and descriptions only when asked for."""
    limit, offset = paging(query)
    rows = list(PRODUCTS)
    for field, desc in reversed(ordering(query)):
        rows.sort(key=_PRODUCT_SORT[field], reverse=desc)
    results = [
        p.as_api(
            price=bool(query.get("with_price")),
            software=bool(query.get("with_supported_software")),
            description=bool(query.get("with_description")),
        )
        for p in rows[offset : offset + limit]
    ]
    return {"results": results, "total": len(rows)}


def get_product(product_id: int) -> dict[str, Any]:
    """GetProduct: everything, prices included."""
    product = PRODUCTS_BY_ID.get(product_id)
    if product is None:
        raise ApiError(PRODUCT_NOT_FOUND, f"product {product_id} does not exist")
    return product.as_api()


def list_orders(store: OrderStore, query: dict[str, Any]) -> RawJSON:
    """ListOrders: ``{"results": [...], "total": N}``, total being the filtered count."""
    total, page = store.query(query)
    return RawJSON(f'{{"results":[{",".join(o.as_json() for o in page)}],"total":{total}}}')


def get_order(store: OrderStore, order_id: int) -> RawJSON:
    """GetOrder: the full orderSslOrder."""
    return RawJSON(store.get(order_id).as_json())


def list_approver_emails(query: dict[str, Any]) -> dict[str, Any]:
    """ListApproverEmails: the usual mailboxes at the base domain of ``domain``."""
    domain = query.get("domain", "").strip().lower()
    if not domain or "." not in domain:
        raise schema_error("query.domain: a domain name is required")
    if "product_id" in query and query["product_id"] not in PRODUCTS_BY_ID:
        raise ApiError(PRODUCT_NOT_FOUND, f"product {query['product_id']} does not exist")
    return {"results": [f"{box}@{base_domain(domain)}" for box in _APPROVER_BOXES]}


def create_csr(body: dict[str, Any]) -> dict[str, Any]:
    """CreateCsr: a structurally real PKCS#10 CSR, a key, and the openssl recipe."""
    bits = body.get("bits", 2048)
    if bits not in (2048, 3072, 4096):
        raise schema_error("body.bits: expected 2048, 3072 or 4096")
    fields = ("common_name", "country", "state", "locality", "organization", "unit", "email")
    subject = {k: body[k] for k in fields if body.get(k)}
    sans = list(body.get("subject_alternative_name", []))
    sha1 = body.get("signature_hash_algorithm") == "sha1"
    csr = build_csr(subject, sans, bits, sha1=sha1)
    name = subject["common_name"].replace("*", "wildcard")
    digest = hashlib.sha256(csr.encode()).hexdigest()[:12]
    key_path, config_path = f"/tmp/{name}-{digest}.key", f"/tmp/{name}-{digest}.cnf"
    dn = "\n".join(f"{k} = {v}" for k, v in subject.items())
    config = (
        f"[req]\ndefault_bits = {bits}\nprompt = no\ndistinguished_name = dn\n"
        f"req_extensions = ext\n\n[dn]\n{dn}\n\n[ext]\n"
        + (f"subjectAltName = {', '.join('DNS:' + s for s in sans)}\n" if sans else "")
    )
    return {
        "csr": csr,
        "key": build_key(csr, bits),
        "key_path": key_path,
        "command": (
            f"openssl req -new -newkey rsa:{bits} -nodes -sha{'1' if sha1 else '256'} "
            f"-keyout {key_path} -out {name}.csr -config {config_path}"
        ),
        "config": config if body.get("with_config") else "",
        "config_path": config_path if body.get("with_config") else "",
    }


def decode(body: dict[str, Any]) -> dict[str, Any]:
    """DecodeCsr: subject, SANs, key size and hash of a PEM CSR (10003 if it is not one)."""
    return decode_csr(body["csr"])
