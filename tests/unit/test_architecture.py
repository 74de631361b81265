"""The package graph has no circles, and only the composition root builds services.

Both rules are read from the source (``ast``), so they hold for imports inside
functions and under ``TYPE_CHECKING`` as well: a circle through a type hint is
still two packages that cannot be understood (or moved) one without the other.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import shipyard

SRC = Path(shipyard.__file__).parent

#: Modules counted as part of another node than their folder. The inference
#: server is an HTTP edge (a process that opens a Platform and maps errors to
#: HTTP, like ``api``); it lives beside the serving service for history only.
NODE_OF = {"shipyard.serving.server": "api"}

#: The only modules that may call a service's constructor.
COMPOSITION_ROOTS = {"shipyard.platform", "shipyard.backends"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _node(module: str) -> str:
    if module in NODE_OF:
        return NODE_OF[module]
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "shipyard"


def _modules() -> dict[str, ast.Module]:
    return {
        _module_name(p): ast.parse(p.read_text(), str(p))
        for p in sorted(SRC.rglob("*.py"))
        if "templates" not in p.relative_to(SRC).parts[:1]  # user project scaffolds
    }


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, tree: ast.Module, is_package: bool) -> dict[str, str]:
    """Every name bound by an import anywhere in the module -> the dotted thing it names."""
    bound: dict[str, str] = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            for a in n.names:
                bound[a.asname or a.name.split(".")[0]] = (
                    a.name if a.asname else a.name.split(".")[0]
                )
                bound[f"<import>{a.name}"] = a.name  # the graph needs the whole dotted name
        elif isinstance(n, ast.ImportFrom):
            source = _absolute(module, n, is_package)
            for a in n.names:
                bound[a.asname or a.name] = f"{source}.{a.name}"
    return bound


def _package_graph() -> dict[str, dict[str, set[str]]]:
    """node -> imported node -> the modules that make the edge."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for module, tree in _modules().items():
        is_package = (SRC.parent / module.replace(".", "/") / "__init__.py").exists()
        for target in _imports(module, tree, is_package).values():
            if target != "shipyard" and not target.startswith("shipyard."):
                continue
            # ``from shipyard.x import y`` names module x.y or attribute y of x: x suffices.
            here, there = _node(module), _node(_longest_module(target))
            if here != there:
                graph[here][there].add(module)
    return graph


def _longest_module(dotted: str) -> str:
    parts = dotted.split(".")
    while parts:
        candidate = ".".join(parts)
        path = SRC.parent / Path(*parts)
        if candidate in NODE_OF or path.with_suffix(".py").exists() or path.is_dir():
            return candidate
        parts.pop()
    return dotted


def _cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    nodes = set(graph) | {w for edges in graph.values() for w in edges}
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_between_packages() -> None:
    graph = _package_graph()
    report = []
    for component in _cycles(graph):
        for a in component:
            for b in component:
                if b in graph[a]:
                    report.append(f"{a} -> {b} in {sorted(graph[a][b])}")
    assert not report, "import circle between packages:\n" + "\n".join(report)


def test_the_circle_check_sees_function_level_and_type_only_imports() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from shipyard.catalog.store import SqlCatalogStore\n"
        "def f():\n    from ..registry.service import RegistryService\n"
    )
    targets = set(_imports("shipyard.tracking.x", tree, is_package=False).values())
    assert "shipyard.catalog.store.SqlCatalogStore" in targets
    assert "shipyard.registry.service.RegistryService" in targets
    graph = {"a": {"b": {"m"}}, "b": {"c": {"m"}}, "c": {"a": {"m"}}, "d": {"a": {"m"}}}
    assert _cycles(graph) == [["a", "b", "c"]]  # type: ignore[arg-type]


def _service_classes(modules: dict[str, ast.Module]) -> set[str]:
    """Qualified names of every class deriving (at any depth) from the kernel's ``Service``."""
    bases: dict[str, set[str]] = {}
    for module, tree in modules.items():
        is_package = (SRC.parent / module.replace(".", "/") / "__init__.py").exists()
        bound = _imports(module, tree, is_package)
        for n in tree.body:
            if isinstance(n, ast.ClassDef):
                names = set()
                for b in n.bases:
                    if isinstance(b, ast.Name):
                        names.add(bound.get(b.id, f"{module}.{b.id}"))
                    elif isinstance(b, ast.Attribute) and isinstance(b.value, ast.Name):
                        names.add(f"{bound.get(b.value.id, b.value.id)}.{b.attr}")
                bases[f"{module}.{n.name}"] = names
    services = {"shipyard._internal.service.ServiceBase"}
    grew = True
    while grew:
        grew = False
        for cls, parents in bases.items():
            if cls not in services and parents & services:
                services.add(cls)
                grew = True
    return services


def _constructions(modules: dict[str, ast.Module]) -> list[str]:
    services = _service_classes(modules)
    found = []
    for module, tree in modules.items():
        if module in COMPOSITION_ROOTS:
            continue
        is_package = (SRC.parent / module.replace(".", "/") / "__init__.py").exists()
        bound = _imports(module, tree, is_package)
        local = {f"{module}.{n.name}" for n in tree.body if isinstance(n, ast.ClassDef)}
        for n in ast.walk(tree):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
                name = bound.get(n.func.id)
                if name is None and f"{module}.{n.func.id}" in local:
                    name = f"{module}.{n.func.id}"
                if name in services:
                    found.append(f"{module}:{n.lineno} builds {name.rsplit('.', 1)[1]}")
    return found


def test_only_the_composition_root_builds_services() -> None:
    found = _constructions(_modules())
    assert not found, "services are built outside platform.py:\n" + "\n".join(found)


def test_the_construction_check_finds_a_service_built_in_a_function() -> None:
    modules = {
        "shipyard._internal.service": ast.parse(
            "class ServiceBase: ...\nclass Service(ServiceBase): ...\n"
        ),
        "shipyard.lake.service": ast.parse(
            "from shipyard._internal.service import Service\nclass LakeService(Service): ...\n"
        ),
        "shipyard.serving.batch": ast.parse(
            "def run(ctx):\n    from shipyard.lake.service import LakeService\n"
            "    return LakeService(ctx)\n"
        ),
        "shipyard.platform": ast.parse(
            "from shipyard.lake.service import LakeService\nLakeService(None)\n"
        ),
    }
    assert _constructions(modules) == ["shipyard.serving.batch:3 builds LakeService"]


def test_the_pipelines_job_is_the_kernel_job() -> None:
    """``Job`` lives in ``_internal.job`` so Protocols can name it without a circle;
    ``pipelines`` re-exports the same class, and ``without_job`` strips it."""
    from shipyard._internal.job import Job as KernelJob
    from shipyard._internal.ops import without_job
    from shipyard.pipelines.models import Job
    from shipyard.serving.models import ExportResult

    assert Job is KernelJob
    assert without_job(ExportResult | Job) is ExportResult
