"""``help(op.Client)`` (pydoc) and IDEs show what a client holds, with its type."""

from __future__ import annotations

import pydoc
import typing

import pytest

import openprovider_ssl as op
from openprovider_ssl._resources.approver_emails import ApproverEmails
from openprovider_ssl._resources.csr import Csr
from openprovider_ssl._resources.orders import Orders
from openprovider_ssl._resources.products import Products

RESOURCES = {
    "orders": Orders,
    "products": Products,
    "csr": Csr,
    "approver_emails": ApproverEmails,
    "stats": op.ClientStats,
    "limits": op.Limits,
    "journal": op.RenewalJournal,
    "retry_policy": op.RetryPolicy,
}


@pytest.mark.parametrize(("name", "kind"), RESOURCES.items())
def test_help_shows_each_resource_and_its_type(name: str, kind: type) -> None:
    text = pydoc.render_doc(op.Client, renderer=pydoc.plaintext)  # type: ignore[attr-defined]
    start = text.index(f"\n |  {name}\n") + len(name) + 6
    described = text[start:].split("\n |  \n")[0].split("\n |  -")[0]
    assert described.lstrip(" |").startswith(f"``{kind.__name__}``"), described


@pytest.mark.parametrize(("name", "kind"), RESOURCES.items())
def test_type_checkers_and_ides_see_the_type(name: str, kind: type) -> None:
    hints = typing.get_type_hints(getattr(op.Client, name).fget)
    assert hints["return"] is kind


def test_the_resources_are_the_same_objects_each_time() -> None:
    client = op.Client(token="t0ken")
    assert client.orders is client.orders and isinstance(client.orders, Orders)
    assert isinstance(client.stats, op.ClientStats)


def test_limits_may_be_replaced_with_limits_only() -> None:
    client = op.Client(token="t0ken")
    limits = op.Limits()
    client.limits = limits
    assert client.limits is limits
    with pytest.raises(TypeError, match="Limits"):
        client.limits = object()  # type: ignore[assignment]
    with pytest.raises(AttributeError):
        client.orders = None  # type: ignore[misc,assignment]
