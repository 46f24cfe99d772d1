"""The package's layers, checked on its source: every import of every module (those under
``TYPE_CHECKING`` and inside functions too) is an edge of the module graph, and the graph
keeps the rules of docs/architecture.md.

- no import cycle: where a lower layer needs something from a higher one, it owns a small
  protocol that the higher one satisfies;
- a layer imports only from its own layer and the layers below it (``LAYERS``);
- the protocol layer (``_protocol``, ``models``) does no I/O: it imports neither aiohttp nor
  asyncio;
- the fake server (``testing``) imports nothing from the rest of the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import openprovider_ssl

PACKAGE = "openprovider_ssl"
ROOT = Path(openprovider_ssl.__file__).parent

#: Lowest first. A module belongs to the layer of its first name below the package (the
#: package's ``__init__`` is ""); it may import from its own layer and any layer before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "models"),  # the vocabulary: exceptions and data
    ("_protocol",),  # sans-I/O: requests, the envelope, the converter, validation
    ("retry", "_http"),  # retrying; the HTTP edge: transport, auth, secrets
    ("limits",),  # rate, identical-call and retry budgets, maintenance; memory and Redis
    ("journal",),  # renewal safety: claim, send once, settle, read back, reconcile
    ("bulk",),  # many orders at once, through what it needs of a resource
    ("_resources",),  # client.orders, .products, .csr, .approver_emails
    ("client",),  # Client: configuration and the path of one call
    ("", "cli", "__main__"),  # the package's front page and the command line
)
#: Outside the layers: the fake server, which stands in for the API and shares nothing.
FAKE = "testing"
NO_IO_LAYERS = ("_protocol", "models")
IO_MODULES = ("aiohttp", "asyncio")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _read_modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package: its file, and whether it is a package's ``__init__``."""
    return {_module_name(p): (p, p.name == "__init__.py") for p in sorted(ROOT.rglob("*.py"))}


MODULES = _read_modules()


def _resolve(name: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = name.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(name: str) -> set[str]:
    """Every module ``name`` imports, inside the package or not (a dotted name outside it)."""
    path, is_package = MODULES[name]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(name, is_package, node)
            for alias in node.names:
                # ``from . import converter`` imports the module ``converter``.
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in MODULES else source)
    return found


IMPORTS = {name: _imports(name) for name in MODULES}
#: The module graph within the package: module -> the package modules it imports.
GRAPH = {name: {i for i in found if i in MODULES} for name, found in IMPORTS.items()}


def _part(module: str) -> str:
    """The first name below the package: "limits" for openprovider_ssl.limits._redis.shared."""
    return module.removeprefix(PACKAGE).removeprefix(".").split(".")[0]


def _rank(module: str) -> int:
    part = _part(module)
    return next(i for i, names in enumerate(LAYERS) if part in names)


def _cycles() -> list[list[str]]:
    """One cycle for each group of modules that import each other (Tarjan's components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(GRAPH[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1 or module in GRAPH[module]:
                components.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return components


def test_the_graph_is_read_from_the_source() -> None:
    # The parser sees plain, relative, TYPE_CHECKING and function-level imports.
    assert "openprovider_ssl._http.transport" in GRAPH["openprovider_ssl.client"]
    assert "openprovider_ssl._protocol.converter" in GRAPH["openprovider_ssl._protocol.messages"]
    assert "openprovider_ssl.journal._postgres" in GRAPH["openprovider_ssl.cli._session"]
    assert "openprovider_ssl.testing" in GRAPH["openprovider_ssl.cli._session"]
    assert set(map(_part, MODULES)) <= {n for names in LAYERS for n in names} | {FAKE}


def test_no_import_cycle() -> None:
    cycles = _cycles()
    assert not cycles, "modules that import each other:\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_a_layer_imports_only_from_itself_and_the_layers_below() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _part(module) != FAKE
        for target in targets
        if _part(target) != FAKE and _rank(target) > _rank(module)
    )
    assert not upward, "\n".join(upward)


def test_the_protocol_layer_does_no_io() -> None:
    offending = sorted(
        f"{module} imports {target}"
        for module, targets in IMPORTS.items()
        if _part(module) in NO_IO_LAYERS
        for target in targets
        if target.split(".")[0] in IO_MODULES
    )
    assert not offending, "\n".join(offending)


def test_the_fake_imports_nothing_from_the_sdk() -> None:
    offending = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _part(module) == FAKE
        for target in targets
        if _part(target) != FAKE
    )
    assert not offending, "\n".join(offending)


def test_only_the_command_line_and_the_front_page_use_the_fake() -> None:
    # The SDK itself never depends on its fake (the command line's ``demo`` runs it).
    users = sorted(
        module
        for module, targets in GRAPH.items()
        if _part(module) != FAKE and any(_part(t) == FAKE for t in targets)
    )
    assert {_part(m) for m in users} <= {"", "cli"}, users
