"""``client.orders``: SSL orders, above all update and renew."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import _converter
from . import _validation as check
from ._protocol import build_request
from .errors import OpenproviderError, OutcomeUnknownError, ValidationError
from .models import (
    DomainValidationMethod,
    Order,
    Renewed,
    RenewOrderRequest,
    Updated,
    UpdateOrderRequest,
)

if TYPE_CHECKING:
    from .client import Client

logger = logging.getLogger("openprovider_ssl")

AUTORENEW = ("on", "off")
SOFTWARE = ("linux", "windows")
SIGNATURE_HASH_ALGORITHMS = ("sha1", "sha2")


class Orders:
    """SSL orders. Reached as ``client.orders``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def get(self, order_id: int) -> Order:
        """The order with every field the API returns."""
        oid = check.order_id(order_id)
        request = build_request("GetOrder", "GET", f"/ssl/orders/{oid}", idempotent=True)
        return await self._client._execute(request, Order)

    async def update(
        self,
        order_id: int,
        *,
        approver_email: str | None = None,
        autorenew: str | None = None,
        csr: str | None = None,
        domain_validation_methods: Iterable[DomainValidationMethod | Mapping[str, str]]
        | None = None,
        enable_dns_automation: bool | None = None,
        host_names: Iterable[str] | None = None,
        organization_handle: str | None = None,
        signature_hash_algorithm: str | None = None,
        software_id: str | None = None,
        start_provision: bool | None = None,
        technical_handle: str | None = None,
    ) -> Updated:
        """Change the given fields of an order; only those are sent.

        Which fields an order accepts depends on its status (``Order.updatable_fields()``):
        in PAI all of them, in REQ domain validation methods and autorenew, in ACT autorenew.
        ``start_provision=True`` sends a PAI order to the certificate authority.
        """
        oid = check.order_id(order_id)
        fields = UpdateOrderRequest(
            approver_email=_opt(check.email, "approver_email", approver_email),
            autorenew=_opt_choice("autorenew", autorenew, AUTORENEW),
            csr=None if csr is None else check.csr(csr),
            domain_validation_methods=None
            if domain_validation_methods is None
            else tuple(check.validation_methods(domain_validation_methods)),
            enable_dns_automation=_opt(
                check.boolean, "enable_dns_automation", enable_dns_automation
            ),
            host_names=None
            if host_names is None
            else tuple(check.hostnames("host_names", host_names)),
            organization_handle=_opt(check.handle, "organization_handle", organization_handle),
            signature_hash_algorithm=_opt_choice(
                "signature_hash_algorithm", signature_hash_algorithm, SIGNATURE_HASH_ALGORITHMS
            ),
            software_id=_opt_choice("software_id", software_id, SOFTWARE),
            start_provision=_opt(check.boolean, "start_provision", start_provision),
            technical_handle=_opt(check.handle, "technical_handle", technical_handle),
        )
        body = _converter.unstructure_request(fields)
        if not body:
            raise ValidationError("fields", "give at least one field to update")
        request = build_request(
            "UpdateOrder", "PUT", f"/ssl/orders/{oid}", body=body, idempotent=True
        )
        return await self._client._execute(request, Updated)

    async def renew(
        self,
        order_id: int,
        *,
        enable_dns_automation: bool | None = None,
        known_expiration: datetime | None = None,
    ) -> Renewed:
        """Renew an active order that expires within 30 days. Renewals are charged.

        A renew is sent again only when an answer proves it was not applied. After a failure
        that leaves it unknown (a timeout or dropped connection after sending, a 5xx, a garbage
        answer), the order is read back: if ``known_expiration`` (the expiration date you saw
        before renewing) has moved, the renewal is confirmed; if the order is still renewable
        and its expiration unchanged, the renew is sent again; otherwise
        ``OutcomeUnknownError`` names the order, with the order as read back.
        """
        oid = check.order_id(order_id)
        if known_expiration is not None and (
            not isinstance(known_expiration, datetime) or known_expiration.tzinfo is None
        ):
            raise ValidationError("known_expiration", "must be a timezone-aware datetime")
        body = _converter.unstructure_request(
            RenewOrderRequest(
                id=oid,
                enable_dns_automation=_opt(
                    check.boolean, "enable_dns_automation", enable_dns_automation
                ),
            )
        )
        request = build_request(
            "RenewOrder", "POST", f"/ssl/orders/{oid}/renew", body=body, idempotent=False
        )
        rounds = self._client.retry_policy.attempts
        for round_ in range(1, rounds + 1):
            try:
                return await self._client._execute(request, Renewed)
            except OpenproviderError as error:
                if not error.may_have_been_applied or isinstance(error, OutcomeUnknownError):
                    raise
                order = await self._read_back(oid, error)
                expiration = order.expiration_date
                if known_expiration is not None and expiration and expiration > known_expiration:
                    logger.info("renew of order %d confirmed by reading it back", oid)
                    return Renewed(id=oid)
                unchanged = known_expiration is None or expiration == known_expiration
                if not (unchanged and order.can_renew()) or round_ == rounds:
                    raise OutcomeUnknownError("renew", oid, error, order=order) from error
                logger.info("renew of order %d was not applied (%s); sending it again", oid, error)
        raise AssertionError("unreachable")

    async def _read_back(self, order_id: int, cause: OpenproviderError) -> Order:
        """The order as it is now, after giving an in-flight request time to land."""
        await self._client.retry_policy.sleep(self._client.retry_policy.readback_delay)
        try:
            return await self.get(order_id)
        except OpenproviderError as error:
            raise OutcomeUnknownError("renew", order_id, cause) from error


def _opt(validate: Any, name: str, value: Any) -> Any:
    return None if value is None else validate(name, value)


def _opt_choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    return None if value is None else check.choice(name, value, allowed)
