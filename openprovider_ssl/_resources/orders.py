"""``client.orders``: SSL orders, above all update and renew."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, get_args

from .._protocol import converter as _converter
from .._protocol import validation as check
from .._protocol.messages import Request, SendMark, build_request, new_tuple
from ..bulk import _operations as bulk
from ..errors import ValidationError
from ..journal import RenewalJournal, _renewal
from ..journal._renewal import ReconcileReport
from ..models import (
    ApproverEmailResent,
    ApproverEmailUpdated,
    Autorenew,
    Cancelled,
    Created,
    CreateOrderRequest,
    DomainValidationMethod,
    Order,
    OrderPage,
    OrderStatus,
    OrderStatusCode,
    OtpToken,
    Reissued,
    ReissueOrderRequest,
    Renewed,
    RenewOrderRequest,
    SignatureHashAlgorithm,
    SoftwareId,
    Updated,
    UpdateOrderRequest,
)
from . import paging as _paging
from .caller import Caller
from .paging import Listing, OrderBy, Params

if TYPE_CHECKING:
    from ..bulk._operations import BulkRun, ProgressHook, RenewSource, UpdateSource

logger = logging.getLogger("openprovider_ssl")

AUTORENEW: tuple[Autorenew, ...] = get_args(Autorenew)
SOFTWARE: tuple[SoftwareId, ...] = get_args(SoftwareId)
SIGNATURE_HASH_ALGORITHMS: tuple[SignatureHashAlgorithm, ...] = get_args(SignatureHashAlgorithm)
#: Certificate periods are in years; a month count (12, 24) is refused rather than sent.
MAX_PERIOD = 10

ValidationMethods = Iterable[DomainValidationMethod | Mapping[str, str]]
#: One order status, or several: ``"ACT"``, ``OrderStatus.ACT``, ``["ACT", "REQ"]``.
StatusFilter = OrderStatus | OrderStatusCode | Iterable[OrderStatus | OrderStatusCode]

# The checks of the order fields that create, reissue and update share, by field name.
_FIELD_CHECKS: dict[str, Callable[[Any], Any]] = {
    "approver_email": lambda v: check.email("approver_email", v),
    "autorenew": lambda v: check.choice("autorenew", v, AUTORENEW),
    "csr": check.csr,
    "domain_validation_methods": lambda v: tuple(check.validation_methods(v)),
    "enable_dns_automation": lambda v: check.boolean("enable_dns_automation", v),
    "host_names": lambda v: tuple(check.hostnames("host_names", v)),
    "organization_handle": lambda v: check.handle("organization_handle", v),
    "signature_hash_algorithm": lambda v: check.choice(
        "signature_hash_algorithm", v, SIGNATURE_HASH_ALGORITHMS
    ),
    "software_id": lambda v: check.choice("software_id", v, SOFTWARE),
    "start_provision": lambda v: check.boolean("start_provision", v),
    "technical_handle": lambda v: check.handle("technical_handle", v),
    "domain_amount": lambda v: check.int_range("domain_amount", v, 0, 2**31 - 1),
    "wildcard_domain_amount": lambda v: check.int_range("wildcard_domain_amount", v, 0, 2**31 - 1),
}


def _checked(**fields: Any) -> dict[str, Any]:
    """Each given field checked; None stays None ("not sent")."""
    return {name: None if v is None else _FIELD_CHECKS[name](v) for name, v in fields.items()}


class Orders:
    """SSL orders. Reached as ``client.orders``."""

    def __init__(self, client: Caller) -> None:
        self._client = client

    @property
    def renewal_window_days(self) -> int:
        """The client's renewal window in days (``Client(renewal_window_days=...)``)."""
        return self._client.renewal_window_days

    @property
    def journal(self) -> RenewalJournal:
        """The client's renewal journal (``client.journal``), which every renew goes through."""
        return self._client.journal

    async def get(self, order_id: int) -> Order:
        """The order with every field the API returns."""
        oid = check.order_id(order_id)
        request = build_request("GetOrder", "GET", f"/ssl/orders/{oid}", idempotent=True)
        return await self._client._execute(request, Order)

    def list(
        self,
        *,
        status: StatusFilter | None = None,
        common_name_pattern: str | None = None,
        contact_handle: str | None = None,
        show_expiring: bool | None = None,
        order_by: OrderBy | None = None,
        page_size: int = 100,
    ) -> Listing[Order]:
        """Every order that matches, fetched ``page_size`` at a time as you iterate.

        ``status`` is one status or several (``["ACT", "REQ"]``); ``common_name_pattern``
        may hold ``*`` wildcards; ``contact_handle`` matches the organization or technical
        handle; ``show_expiring=True`` keeps the orders that may be renewed now; ``order_by``
        is ``{"expiration_date": "asc"}`` or ``("expiration_date", "asc")``. Arguments are
        checked here, before anything is sent::

            async for order in client.orders.list(status="ACT", show_expiring=True):
                ...
        """
        filters = _paging.order_query(
            status, common_name_pattern, contact_handle, show_expiring, order_by
        )
        size = _paging.page_size(page_size)

        async def fetch(limit: int, offset: int) -> OrderPage:
            return await self._list_page(filters, _paging.window(limit, offset))

        return Listing(fetch, size, what="orders")

    async def page(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        status: StatusFilter | None = None,
        common_name_pattern: str | None = None,
        contact_handle: str | None = None,
        show_expiring: bool | None = None,
        order_by: OrderBy | None = None,
    ) -> OrderPage:
        """One page of the orders that match (filters as in ``list``), with their ``total``."""
        window = _paging.window(limit, offset)
        filters = _paging.order_query(
            status, common_name_pattern, contact_handle, show_expiring, order_by
        )
        return await self._list_page(filters, window)

    async def create(
        self,
        product_id: int,
        *,
        period: int,
        csr: str,
        software_id: SoftwareId,
        approver_email: str | None = None,
        autorenew: Autorenew | None = None,
        domain_amount: int | None = None,
        domain_validation_methods: ValidationMethods | None = None,
        enable_dns_automation: bool | None = None,
        host_names: Iterable[str] | None = None,
        organization_handle: str | None = None,
        signature_hash_algorithm: SignatureHashAlgorithm | None = None,
        start_provision: bool | None = None,
        technical_handle: str | None = None,
        wildcard_domain_amount: int | None = None,
    ) -> Created:
        """Order a certificate of ``product_id`` for ``period`` years; ``Created.id`` is the
        new order. It stays in PAI unless ``start_provision=True`` sends it to the CA.

        Not sent again after a failure that may have applied it (``may_have_been_applied``):
        look for the new order with ``list(common_name_pattern=...)`` before trying again.
        """
        body = _converter.unstructure_request(
            CreateOrderRequest(
                product_id=check.positive_int("product_id", product_id),
                period=check.int_range("period", period, 1, MAX_PERIOD),
                csr=check.csr(csr),
                software_id=check.choice("software_id", software_id, SOFTWARE),
                **_checked(
                    approver_email=approver_email,
                    autorenew=autorenew,
                    domain_amount=domain_amount,
                    domain_validation_methods=domain_validation_methods,
                    enable_dns_automation=enable_dns_automation,
                    host_names=host_names,
                    organization_handle=organization_handle,
                    signature_hash_algorithm=signature_hash_algorithm,
                    start_provision=start_provision,
                    technical_handle=technical_handle,
                    wildcard_domain_amount=wildcard_domain_amount,
                ),
            )
        )
        request = build_request("CreateOrder", "POST", "/ssl/orders", body=body, idempotent=False)
        return await self._client._execute(request, Created)

    async def reissue(
        self,
        order_id: int,
        *,
        approver_email: str | None = None,
        csr: str | None = None,
        domain_validation_methods: ValidationMethods | None = None,
        enable_dns_automation: bool | None = None,
        host_names: Iterable[str] | None = None,
        organization_handle: str | None = None,
        signature_hash_algorithm: SignatureHashAlgorithm | None = None,
        software_id: SoftwareId | None = None,
    ) -> Reissued:
        """Reissue the certificate of an order, usually with a new ``csr``.

        Not sent again after a failure that may have applied it: check the order first.
        """
        oid = check.order_id(order_id)
        body = _converter.unstructure_request(
            ReissueOrderRequest(
                id=oid,
                **_checked(
                    approver_email=approver_email,
                    csr=csr,
                    domain_validation_methods=domain_validation_methods,
                    enable_dns_automation=enable_dns_automation,
                    host_names=host_names,
                    organization_handle=organization_handle,
                    signature_hash_algorithm=signature_hash_algorithm,
                    software_id=software_id,
                ),
            )
        )
        request = build_request(
            "ReissueOrder", "POST", f"/ssl/orders/{oid}/reissue", body=body, idempotent=False
        )
        return await self._client._execute(request, Reissued)

    async def cancel(self, order_id: int) -> Cancelled:
        """Cancel an order. Not sent again after a failure that may have applied it."""
        oid = check.order_id(order_id)
        request = build_request(
            "CancelOrder", "POST", f"/ssl/orders/{oid}/cancel", body={"id": oid}, idempotent=False
        )
        return await self._client._execute(request, Cancelled)

    async def update_approver_email(
        self, order_id: int, approver_email: str
    ) -> ApproverEmailUpdated:
        """Change the approver email of an order in REQ (``client.approver_emails.list``
        gives the addresses allowed for a domain)."""
        oid = check.order_id(order_id)
        body = {"id": oid, "approver_email": check.email("approver_email", approver_email)}
        request = build_request(
            "UpdateApproverEmailAddress",
            "PUT",
            f"/ssl/orders/{oid}/approver-email",
            body=body,
            idempotent=True,
        )
        return await self._client._execute(request, ApproverEmailUpdated)

    async def resend_approver_email(self, order_id: int) -> ApproverEmailResent:
        """Send the approval email of an order again.

        Retried like a read: at worst the approver receives the same email twice.
        """
        oid = check.order_id(order_id)
        request = build_request(
            "ResendApproverEmail",
            "POST",
            f"/ssl/orders/{oid}/approver-email/resend",
            body={"id": oid},
            idempotent=True,
        )
        return await self._client._execute(request, ApproverEmailResent)

    async def create_otp_token(self, order_id: int) -> OtpToken:
        """A one-time link (``OtpToken.uri``) that opens this order in SSL Panel.

        Retried like a read: a token made by a lost attempt simply expires unused.
        """
        oid = check.order_id(order_id)
        request = build_request(
            "CreateOtpToken",
            "POST",
            f"/ssl/orders/{oid}/otp-tokens",
            body={"id": oid},
            idempotent=True,
            sensitive=True,
        )
        return await self._client._execute(request, OtpToken)

    async def _list_page(self, filters: Params, window: Params) -> OrderPage:
        request = build_request(
            "ListOrders", "GET", "/ssl/orders", params=[*window, *filters], idempotent=True
        )
        return await self._client._execute(request, OrderPage)

    async def update(
        self,
        order_id: int,
        *,
        approver_email: str | None = None,
        autorenew: Autorenew | None = None,
        csr: str | None = None,
        domain_validation_methods: ValidationMethods | None = None,
        enable_dns_automation: bool | None = None,
        host_names: Iterable[str] | None = None,
        organization_handle: str | None = None,
        signature_hash_algorithm: SignatureHashAlgorithm | None = None,
        software_id: SoftwareId | None = None,
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
            **_checked(
                approver_email=approver_email,
                autorenew=autorenew,
                csr=csr,
                domain_validation_methods=domain_validation_methods,
                enable_dns_automation=enable_dns_automation,
                host_names=host_names,
                organization_handle=organization_handle,
                signature_hash_algorithm=signature_hash_algorithm,
                software_id=software_id,
                start_provision=start_provision,
                technical_handle=technical_handle,
            )
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
        """Renew an active order that expires within the renewal window (30 days unless your
        account allows more: ``Client(renewal_window_days=...)``). Renewals are charged.

        The renew is claimed in the client's journal before it is sent (``RenewalPendingError``,
        with nothing sent, while an earlier renew of the order is pending or renewed it for
        this period), and sent again only after an answer that proves it was not applied.
        After a failure that leaves it unknown (a timeout or dropped connection after sending,
        a 5xx, a garbage answer) it is never sent again: if ``known_expiration`` (the
        expiration date you saw before renewing) has moved when the order is read back, the
        renewal is confirmed; otherwise ``OutcomeUnknownError`` names the order, which stays
        pending in the journal until ``reconcile()`` confirms it or an operator releases it.
        """
        oid = check.order_id(order_id)
        if known_expiration is not None and (
            not isinstance(known_expiration, datetime) or known_expiration.tzinfo is None
        ):
            raise ValidationError("known_expiration", "must be a timezone-aware datetime")
        dns = (
            None
            if enable_dns_automation is None
            else check.boolean("enable_dns_automation", enable_dns_automation)
        )
        body = _converter.renew_body(RenewOrderRequest(id=oid, enable_dns_automation=dns))
        # Made as build_request makes it: the renew is the hot call of bulk runs.
        path = f"/ssl/orders/{oid}/renew"
        mark = SendMark()  # set as the renew leaves: tells, if interrupted, whether it was sent
        request = new_tuple(
            Request, ("RenewOrder", "POST", path, body, (), False, True, False, mark)
        )
        return await _renewal.renew(self._client, self, request, oid, known_expiration)

    async def reconcile(self, *, concurrency: int = 10) -> ReconcileReport:
        """Read back every renew the journal holds as pending; never sends a renew.

        A renewal whose order's expiration moved past the one seen before it was sent is
        confirmed (renewed in the journal); the rest stay pending, reported with their age and
        what to do (``journal.release(order_id, reason=...)`` once you know it was not
        charged).
        """
        return await _renewal.reconcile(
            self._client.journal,
            self,
            concurrency=check.int_range("concurrency", concurrency, 1, 1000),
        )

    # -- bulk: thin entry points to openprovider_ssl.bulk ------------------------------------

    def renew_many(
        self,
        orders: RenewSource,
        *,
        concurrency: int = 20,
        progress: ProgressHook | None = None,
        total: int | None = None,
        enable_dns_automation: bool | None = None,
        max_renewals: int | None = None,
    ) -> BulkRun[Renewed]:
        """Renew many orders, ``concurrency`` at a time, yielding one ``Outcome`` per order as
        each completes. ``orders``: ids or ``Order`` objects (their ``expiration_date`` lets an
        ambiguous renew be confirmed), from any iterable or async iterable.

        ``max_renewals`` caps the spending: once that many renews were sent (whatever their
        outcome), none more is sent; the orders already taken get ``RenewalCapReachedError``
        (nothing sent) and the run stops (``run.cap_reached``, ``run.sent``). See
        ``BulkRun``::

            async with client.orders.renew_many(ids, concurrency=50) as run:
                async for outcome in run:
                    ...
        """
        return bulk.renew_many(
            self,
            orders,
            concurrency=concurrency,
            progress=progress,
            total=total,
            enable_dns_automation=enable_dns_automation,
            max_renewals=max_renewals,
        )

    def update_many(
        self,
        changes: UpdateSource,
        *,
        concurrency: int = 20,
        progress: ProgressHook | None = None,
        total: int | None = None,
    ) -> BulkRun[Updated]:
        """Update many orders, each with its own fields (``{31027: {"autorenew": "on"}}`` or
        ``(order_id, fields)`` pairs), ``concurrency`` at a time. See ``BulkRun``."""
        return bulk.update_many(
            self, changes, concurrency=concurrency, progress=progress, total=total
        )

    def renew_expiring(
        self,
        *,
        within_days: float | None = None,
        dry_run: bool = False,
        concurrency: int = 20,
        progress: ProgressHook | None = None,
        enable_dns_automation: bool | None = None,
        now: datetime | None = None,
        max_renewals: int | None = None,
    ) -> BulkRun[Renewed]:
        """Renew every active order that expires within ``within_days`` (soonest first; the
        whole list is read before the first renew). ``within_days`` defaults to the client's
        renewal window (``renewal_window_days``, 30 unless set) and may not exceed it (a
        ``ValidationError``, nothing sent). ``dry_run=True`` only lists them, as outcomes with
        ``dry_run`` set. ``max_renewals`` caps the spending, as in ``renew_many``. See
        ``BulkRun``."""
        return bulk.renew_expiring(
            self,
            within_days=within_days,
            dry_run=dry_run,
            concurrency=concurrency,
            progress=progress,
            enable_dns_automation=enable_dns_automation,
            now=now,
            max_renewals=max_renewals,
        )
