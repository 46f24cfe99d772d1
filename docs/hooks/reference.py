"""MkDocs hook: the API reference lists every public name, whoever adds one.

A reference page holds a marker ``<!-- public-names: GROUP -->``; this hook replaces it with a
mkdocstrings block (``::: openprovider_ssl.NAME``) for each public name of that group, grouped
by the module that defines it. A name no group claims lands in the ``other`` group, so a new
public name is never missing from the site (tests/test_docs.py checks that every page lists
its names and that ``other`` is on a page).
"""

from __future__ import annotations

import importlib
import inspect
import re
import typing
from collections.abc import Iterator
from typing import Any

MARKER = re.compile(r"^<!-- public-names: (?P<group>[a-z-]+) -->$", re.MULTILINE)

# The public module (prefix) a name says it comes from (its ``__module__``) -> its group.
_GROUPS_BY_MODULE = (
    ("openprovider_ssl.errors", "errors"),
    ("openprovider_ssl.models", "models"),
    ("openprovider_ssl.journal", "journal"),
    ("openprovider_ssl.bulk", "bulk"),
    ("openprovider_ssl.client", "client"),
    ("openprovider_ssl.retry", "client"),
    ("openprovider_ssl.limits", "client"),
)
# Names that openprovider_ssl itself publishes (defined in a private module) -> their group.
_GROUPS_BY_NAME = {
    "Listing": "resources",
    "PendingRenewal": "journal",
    "ReconcileReport": "journal",
}

# What ``client.orders`` and the others are: not public names, but what users call.
RESOURCES = (
    "openprovider_ssl._resources.orders.Orders",
    "openprovider_ssl._resources.products.Products",
    "openprovider_ssl._resources.approver_emails.ApproverEmails",
    "openprovider_ssl._resources.csr.Csr",
)


def group_of(name: str, value: Any) -> str:
    if inspect.ismodule(value):
        return "modules"
    if typing.get_origin(value) is typing.Literal:
        return "models"  # a closed vocabulary of the models (Autorenew, SoftwareId, ...)
    module = getattr(value, "__module__", "") if inspect.isclass(value) or callable(value) else ""
    if not module:
        return "constants"
    if module == "openprovider_ssl":
        return _GROUPS_BY_NAME.get(name, "other")
    for prefix, group in _GROUPS_BY_MODULE:
        if module == prefix or module.startswith(prefix + "."):
            return group
    return "other"


def public_names() -> dict[str, list[str]]:
    """Every group's objects, as the dotted paths mkdocstrings documents them by."""
    groups: dict[str, list[str]] = {}
    package = importlib.import_module("openprovider_ssl")
    for name in package.__all__:
        group = group_of(name, getattr(package, name))
        if group != "modules":
            groups.setdefault(group, []).append(f"openprovider_ssl.{name}")
    groups.setdefault("resources", [])[:0] = list(RESOURCES)
    for subpackage in ("journal", "testing"):
        module = importlib.import_module(f"openprovider_ssl.{subpackage}")
        for name in module.__all__:
            if subpackage == "journal" and name in package.__all__:
                continue  # documented once, under its openprovider_ssl name
            groups.setdefault(subpackage, []).append(f"openprovider_ssl.{subpackage}.{name}")
    return groups


def _blocks(paths: list[str]) -> Iterator[str]:
    for path in paths:
        yield f"::: {path}\n"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    groups = public_names()

    def replace(match: re.Match[str]) -> str:
        paths = groups.get(match.group("group"), [])
        if not paths:
            return "*(none at present)*\n"
        return "\n".join(_blocks(paths))

    return MARKER.sub(replace, markdown)


# A few docstrings (openprovider_ssl.testing) use Sphinx roles, :class:`Faults`, which Markdown
# shows as text: rendered as the plain code span they wrap.
_SPHINX_ROLE = re.compile(r":(?:class|meth|func|attr|mod|data|exc):(?=<code>)")


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    return _SPHINX_ROLE.sub("", html)
