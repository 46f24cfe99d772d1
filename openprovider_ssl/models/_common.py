"""Envelope parts and the results of simple writes."""

from __future__ import annotations

import attrs


@attrs.frozen
class ApiWarning:
    """One entry of the envelope's ``warnings`` list (spec ``errorWarning``)."""

    code: int
    desc: str = ""
    data: str | None = None


@attrs.frozen
class DomainValidationMethod:
    """How one host name is validated, e.g. ``("example.com", "dns")``."""

    host_name: str
    method: str


@attrs.frozen
class OrderResult:
    """Answer of a write on one order: the id the server processed plus its warnings."""

    id: int
    warnings: tuple[ApiWarning, ...] = ()


@attrs.frozen
class Created(OrderResult):
    """An order was created; ``id`` is the new order's id."""


@attrs.frozen
class Updated(OrderResult):
    """An order was updated."""


@attrs.frozen
class Renewed(OrderResult):
    """A renew was accepted (and charged)."""


@attrs.frozen
class Reissued(OrderResult):
    """A reissue was accepted."""


@attrs.frozen
class Cancelled(OrderResult):
    """A cancel was accepted."""


@attrs.frozen
class ApproverEmailUpdated(OrderResult):
    """The approver email of an order was changed."""


@attrs.frozen
class ApproverEmailResent(OrderResult):
    """The approval email was sent again."""
