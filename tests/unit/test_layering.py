"""The one-way import rules of ../shared/ARCHITECTURE.md and docs/architecture.md, read from the source
with ``ast`` (nothing is imported), and the size limits of modules and functions.

An import inside a function counts like one at the top: it is the same dependency, only later.
Imports under ``if TYPE_CHECKING:`` do not count (they never run).
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "simulator"

# wing -> wings (or top-level modules) it must never import
FORBIDDEN = {
    "spec": ("run", "engine", "serving", "sweep", "api", "cli"),
    "workload": ("run", "engine", "serving", "sweep", "api", "cli"),
    "cost": ("run", "engine", "serving", "sweep", "api", "cli"),
    "parallel": ("run", "engine", "serving", "sweep", "api", "cli"),
    "run": ("api", "cli", "serving", "sweep"),
}
# The model-family registry: families/__init__.py imports its family modules at the bottom so that
# each registers itself, and each family module imports the registry. The one cycle allowed.
ALLOWED_CYCLE_MODULES = {"simulator.workload.families"}

MAX_MODULE_CODE_LINES = 400
MAX_FUNCTION_CODE_LINES = 60
# module or function -> why it may be longer (none today: add one only with its reason)
LONG_MODULES: dict[str, str] = {}
LONG_FUNCTIONS: dict[str, str] = {}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skip


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Modules of the package (or ``simpy`` etc., by top name) that the file at ``path`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = {f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules}
            # ``from . import x`` with x a submodule depends on x, not on the package's __init__
            out |= subs if subs and len(subs) == len(node.names) else subs | {target}
    return out


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    mods = _modules()
    g = nx.DiGraph()
    for name, path in mods.items():
        g.add_node(name)
        for dep in imports_of(path, set(mods)):
            g.add_edge(name, dep)
    return g


def _wing(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_only_the_engine_imports_simpy(graph):
    users = sorted(m for m, dep in graph.edges if dep.split(".")[0] == "simpy" and _wing(m) != "engine")
    assert users == []


@pytest.mark.parametrize("wing", sorted(FORBIDDEN))
def test_lower_wings_never_import_upper_ones(graph, wing):
    bad = sorted((m, dep) for m, dep in graph.edges
                 if m.startswith("simulator.") and _wing(m) == wing and dep.startswith("simulator.")
                 and _wing(dep) in FORBIDDEN[wing])
    assert bad == []


def test_nothing_but_main_imports_the_cli(graph):
    users = sorted(m for m, dep in graph.edges if dep == "simulator.cli" and m != "simulator.__main__")
    assert users == []


def test_nothing_inside_the_package_imports_api(graph):
    users = sorted(m for m, dep in graph.edges if dep == "simulator.api" and m != "simulator")
    assert users == []


def test_no_import_cycles(graph):
    inner = graph.subgraph(n for n in graph if n.startswith("simulator"))
    cycles = [sorted(c) for c in nx.simple_cycles(inner) if not set(c) & ALLOWED_CYCLE_MODULES]
    assert cycles == []


def test_the_explorer_uses_only_the_public_api():
    mods = set(_modules())
    files = [REPO / "app.py", *sorted((REPO / "explorer").rglob("*.py"))]
    bad = []
    for f in files:
        for dep in imports_of(f, mods):
            if dep.startswith("simulator."):
                bad.append((f.relative_to(REPO).as_posix(), dep))
    assert bad == []


def _code_lines(node: ast.AST, source_lines: list[str]) -> int:
    """Lines of ``node`` that hold code: no blank lines, comments or docstrings."""
    doc: set[int] = set()
    for n in ast.walk(node):
        body = getattr(n, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            doc |= set(range(body[0].lineno, body[0].end_lineno + 1))
    start = getattr(node, "lineno", 1)
    end = getattr(node, "end_lineno", len(source_lines))
    return sum(1 for i in range(start, end + 1)
               if i not in doc and source_lines[i - 1].strip() and not source_lines[i - 1].strip().startswith("#"))


def test_modules_and_functions_are_small():
    long_modules, long_functions = [], []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        lines = text.splitlines()
        if _code_lines(tree, lines) > MAX_MODULE_CODE_LINES and name not in LONG_MODULES:
            long_modules.append((name, _code_lines(tree, lines)))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _code_lines(node, lines)
                if n > MAX_FUNCTION_CODE_LINES and f"{name}.{node.name}" not in LONG_FUNCTIONS:
                    long_functions.append((f"{name}.{node.name}", n))
    assert long_modules == [] and long_functions == []


def test_the_checks_see_real_imports():
    """The reader finds what it must: a check that found no imports would pass vacuously."""
    mods = set(_modules())
    deps = imports_of(PACKAGE / "run" / "step.py", mods)
    assert {"simulator.run.cluster", "simulator.run.device", "simulator.workload.loader"} <= deps
    assert "simpy" in imports_of(PACKAGE / "engine" / "run.py", mods)
