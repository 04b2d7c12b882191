"""No import cycles between the units of practice/: its subpackages, its top-level modules and the root.

Dependencies are meant to point one way (views -> service -> models/core, see DESIGN.md). A cycle between two
units hides as long as imports happen to run in a lucky order, and makes neither unit usable without the
other. The graph is read statically from the source with `ast`, so it sees every import statement, including
the ones inside functions: a late import dodges the ImportError, not the dependency.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PRACTICE = Path(__file__).resolve().parent.parent / "practice"

# unit -> unit it imports -> where ("practice/auth/models.py:10", ...)
Graph = dict[str, dict[str, list[str]]]


def module_names(package_dir: Path) -> dict[str, Path]:
    """Every module of the package tree by dotted name; a package's __init__.py is named as the package."""
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imported_names(tree: ast.Module, module: str, is_package: bool):
    """(dotted name, line) for each thing an import statement anywhere in the module brings in."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):  # walk, not tree.body: imports in functions and classes count too
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `from ..x import y` climbs level - 1 packages up from this one
                parents = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parents + ([node.module] if node.module else []))
            for alias in node.names:
                # `from practice import clock` imports the module practice.clock; `from practice import
                # create_app` imports a name of practice itself. unit_of() tells the two apart.
                yield (f"{base}.{alias.name}" if alias.name != "*" else base), node.lineno


def unit_of(name: str, modules: dict[str, Path], root: str) -> str | None:
    """The unit a dotted name belongs to: root.<first part> when that is a module or package, else root;
    None for names outside the package (the standard library, third parties)."""
    parts = name.split(".")
    if parts[0] != root:
        return None
    # The longest prefix that is a real module, so attributes (practice.create_app) land on their module.
    while len(parts) > 1 and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts[:2])


def import_graph(package_dir: Path) -> Graph:
    """Edges between units of the package at package_dir, each with the file:line of the imports behind it."""
    root = package_dir.name
    modules = module_names(package_dir)
    graph: Graph = defaultdict(lambda: defaultdict(list))
    for module, path in modules.items():
        source = unit_of(module, modules, root)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, line in imported_names(tree, module, path.name == "__init__.py"):
            target = unit_of(name, modules, root)
            if target and target != source:
                where = f"{path.relative_to(package_dir.parent)}:{line}"
                if where not in graph[source][target]:  # `from x import a, b` is one import
                    graph[source][target].append(where)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one unit (Tarjan), each sorted, in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:  # node is the root of a component: pop it off the stack
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def describe(graph: Graph, found: list[list[str]]) -> str:
    """Each cycle, then every edge inside it with the imports that make it: what there is to cut."""
    lines = []
    for component in found:
        lines.append("cycle: " + " <-> ".join(component))
        for source in component:
            for target in sorted(set(graph[source]) & set(component)):
                lines.append(f"  {source} -> {target}: " + ", ".join(graph[source][target]))
    return "\n".join(lines)


def test_no_import_cycles_between_units_of_practice():
    graph = import_graph(PRACTICE)
    found = cycles(graph)
    assert not found, "import cycles between units of practice/:\n" + describe(graph, found)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root / "pkg"


def test_checker_finds_a_cycle_made_by_a_function_level_import(tmp_path):
    # The checker itself, on trees small enough to know the answer: without this the test above could pass
    # because the checker sees nothing.
    tree = {
        "pkg/__init__.py": "def create_app(): ...\n",
        "pkg/clock.py": "",
        "pkg/a/__init__.py": "",
        "pkg/a/views.py": "from pkg.b import models\nfrom pkg import clock\n",
        "pkg/b/__init__.py": "",
        "pkg/b/models.py": "import os\n\n\ndef late():\n    from ..a import views\n",
        "pkg/c.py": "from pkg import create_app\n",
    }
    graph = import_graph(_write(tmp_path / "cyclic", tree))
    assert cycles(graph) == [["pkg.a", "pkg.b"]]
    assert graph["pkg.b"]["pkg.a"] == ["pkg/b/models.py:5"]
    assert set(graph["pkg.a"]) == {"pkg.b", "pkg.clock"}  # `from pkg import clock` is the module
    assert set(graph["pkg.c"]) == {"pkg"}  # `from pkg import create_app` is the package root
    assert "pkg/b/models.py:5" in describe(graph, cycles(graph))

    tree["pkg/b/models.py"] = "import os\n"  # the same tree with the late import cut
    graph = import_graph(_write(tmp_path / "acyclic", tree))
    assert graph["pkg.a"]["pkg.b"] == ["pkg/a/views.py:1"]
    assert cycles(graph) == []
