"""Envelope parts and the results of simple writes."""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

# The closed vocabularies of the requests: a value outside them is a ValidationError before
# anything is sent. Answers keep plain ``str`` fields, so a value the server adds later still
# loads.
Autorenew: TypeAlias = Literal["on", "off"]
"""``autorenew`` of an order: ``"on"`` or ``"off"``."""
SoftwareId: TypeAlias = Literal["linux", "windows"]
"""``software_id`` of an order: the server software the certificate is for."""
SignatureHashAlgorithm: TypeAlias = Literal["sha1", "sha2"]
"""``signature_hash_algorithm`` of an order or a CSR."""
OrderStatusCode: TypeAlias = Literal["PAI", "REQ", "ACT", "EXP", "REJ", "FAI", "CAN"]
"""The order statuses as text (``OrderStatus`` has them as members, and loads others too)."""


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
