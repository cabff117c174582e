"""The architecture, checked on the source: which module may read the environment, which may import which.

Every production module (`integration/`, `webhooks/`, `rules/`) is parsed, never imported,
so a test here cannot be fooled by import order or by what a module does when loaded.
Imports inside functions count (a lazy import is still a dependency); imports under
`if TYPE_CHECKING:` do not (they exist for the type checker only).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = ("integration", "webhooks", "rules")
ENVIRONMENT_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. integration.sweeps.planner
    path: Path
    tree: ast.Module

    @property
    def relative(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


@cache
def modules() -> tuple[Module, ...]:
    found = []
    for top in PRODUCTION:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found.append(Module(".".join(parts), path, ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return tuple(found)


def _type_checking_only(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node, skipping `if TYPE_CHECKING:` bodies."""
    for child in ast.iter_child_nodes(node):
        if _type_checking_only(child):
            continue
        yield child
        yield from _walk(child)


def imports(module: Module) -> Iterator[str]:
    """The dotted names a module imports (`from a.b import c` gives `a.b` and `a.b.c`)."""
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
    for node in _walk(module.tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def environment_reads(module: Module) -> Iterator[str]:
    """Where a module touches the process environment: `os.environ`, `os.getenv`, `from os import environ`."""
    os_names = {"os"}
    for node in _walk(module.tree):
        if isinstance(node, ast.Import):
            os_names |= {alias.asname or alias.name for alias in node.names if alias.name == "os"}
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in ENVIRONMENT_NAMES:
                    yield f"{module.relative}:{node.lineno}: from os import {alias.name}"
    for node in _walk(module.tree):
        if isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT_NAMES:
            if isinstance(node.value, ast.Name) and node.value.id in os_names:
                yield f"{module.relative}:{node.lineno}: {node.value.id}.{node.attr}"


def test_only_the_settings_read_the_environment() -> None:
    """One settings object: a variable read anywhere else escapes validation at start-up."""
    allowed = [m for m in modules() if m.name == "integration.settings" or m.name.startswith("integration.settings_")]
    assert allowed, "the settings modules moved: update this test"
    reads = [read for m in modules() if m not in allowed for read in environment_reads(m)]
    assert reads == []


def test_the_environment_check_sees_every_way_of_reading_it() -> None:
    source = (
        "import os\nimport os as o\nfrom os import getenv\n"
        "def f():\n    return os.environ['A'], o.getenv('B'), getenv('C')\n"
    )
    module = Module("integration.example", ROOT / "integration" / "example.py", ast.parse(source))
    assert len(list(environment_reads(module))) == 3


def test_rules_stay_pure() -> None:
    """`rules/` is the pure core everything depends on: it imports nothing of the service."""
    found = [
        f"{m.relative} imports {name}"
        for m in modules()
        if m.name.split(".")[0] == "rules"
        for name in imports(m)
        if name.split(".")[0] in {"integration", "webhooks"}
    ]
    assert found == []


def _importers_of(prefix: str, importer: str) -> list[str]:
    return sorted(
        {
            f"{m.relative} imports {name}"
            for m in modules()
            if m.name == importer or m.name.startswith(importer + ".")
            for name in imports(m)
            if name == prefix or name.startswith(prefix + ".")
        }
    )


def test_webhooks_and_the_pipeline_import_no_sweeps_module() -> None:
    """Sweeps feed the pipeline; the webhook path never depends on them."""
    assert _importers_of("integration.sweeps", "webhooks") + _importers_of("integration.sweeps", "integration.pipeline") == []


def test_sweeps_import_no_reports_module() -> None:
    """Digests and retention reach the clock through its periodic-job table, not through sweeps."""
    assert _importers_of("integration.reports", "integration.sweeps") == []


def test_tracker_packages_import_nothing_from_webhooks() -> None:
    """`webhooks/` uses the tracker packages, never the reverse."""
    assert _importers_of("webhooks", "integration.trackers") == []


def node_of(name: str) -> str | None:
    """The unit the cycle check works on: `webhooks`, `rules`, a subpackage of `integration`
    (`integration.sweeps`), or a module directly in `integration` (`integration.pipeline`)."""
    parts = name.split(".")
    if parts[0] in {"webhooks", "rules"}:
        return parts[0]
    if parts[0] != "integration" or len(parts) < 2:
        return None
    return ".".join(parts[:2])


def package_graph() -> dict[str, set[str]]:
    known = {node_of(m.name) for m in modules()} - {None}
    graph: dict[str, set[str]] = {node: set() for node in known if node}
    for m in modules():
        source = node_of(m.name)
        for name in imports(m):
            target = node_of(name)
            if source and target in known and target != source and target != "rules":
                graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_packages() -> None:
    """Imports point one way: webhooks → pipeline → judge/executor → trackers/store → rules."""
    assert cycles(package_graph()) == []


# What sits on top: the admin page, reports, the clock and the process entry points use the
# layers below and are used by none of them (a digest or retention job reaches the clock
# through its periodic-job table, the judge reads completions from the store).
ON_TOP = ("integration.admin", "integration.reports", "integration.clock", "integration.app", "integration.cli",
          "integration.serve", "integration.wsgi", "integration.demo")
BELOW = ("webhooks", "integration.pipeline", "integration.commands", "integration.judge", "integration.executor",
         "integration.regroup", "integration.moves", "integration.sweeps", "integration.jobs", "integration.services",
         "integration.queue", "integration.trackers", "integration.store", "integration.observability",
         "integration.settings")


def test_the_layers_below_import_nothing_on_top() -> None:
    found = [line for low in BELOW for top in ON_TOP for line in _importers_of(top, low)]
    assert found == []
