"""Every public name says where users import it from: its ``__module__`` is a public module
(no part starting with "_") that holds it, for tracebacks, reprs, pickles and the reference;
and it still works where type hints are read from (``typing.get_type_hints``)."""

from __future__ import annotations

import importlib
import inspect
import pickle
import typing
from typing import Any

import pytest

import openprovider_ssl as op

PUBLIC_MODULES = (
    "openprovider_ssl",
    "openprovider_ssl.errors",
    "openprovider_ssl.models",
    "openprovider_ssl.journal",
    "openprovider_ssl.limits",
    "openprovider_ssl.bulk",
    "openprovider_ssl.testing",
)


def _public_objects() -> list[tuple[str, str, Any]]:
    found = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                found.append((module_name, name, value))
    return found


PUBLIC = _public_objects()


@pytest.mark.parametrize(("where", "name", "value"), PUBLIC, ids=lambda v: str(v)[:40])
def test_a_public_name_says_its_public_module(where: str, name: str, value: Any) -> None:
    assert not any(part.startswith("_") for part in value.__module__.split(".")), value
    assert getattr(importlib.import_module(value.__module__), name) is value


@pytest.mark.parametrize(("where", "name", "value"), PUBLIC, ids=lambda v: str(v)[:40])
def test_its_type_hints_still_resolve(where: str, name: str, value: Any) -> None:
    typing.get_type_hints(value)


def test_examples() -> None:
    assert op.Limits.__module__ == "openprovider_ssl.limits"
    assert op.RedisLimits.__module__ == "openprovider_ssl.limits"
    assert op.BulkRun.__module__ == "openprovider_ssl.bulk"
    assert op.Listing.__module__ == "openprovider_ssl"
    assert op.testing.FakeOpenprovider.__module__ == "openprovider_ssl.testing"


def test_a_model_still_pickles() -> None:
    order = op.Order(id=31027, status=op.OrderStatus("XYZ"), common_name="example.com")
    assert pickle.loads(pickle.dumps(order)) == order
