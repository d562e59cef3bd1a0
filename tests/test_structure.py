"""The package's shape, kept as docs/architecture.md describes it: no import cycles between
gateway/ modules (imports inside functions count, ``if TYPE_CHECKING:`` ones do not), no module
over 400 lines, and function-level imports only where the architecture doc gives a reason."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gateway"
MAX_LINES = 400
# Lazy start-up: `check-config` and `inbound-url` print and exit without loading the server.
ALLOWED_INNER_IMPORTS = {
    ("gateway.cli", "gateway.server"),
    ("gateway.cli", "gateway.supervisor"),
}


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> list[tuple[str, bool]]:
    """(imported gateway module, inside a function?) for each import of ``name``."""
    tree = ast.parse(path.read_text())
    type_only: set[int] = set()
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only |= {id(n) for n in ast.walk(node)}
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function |= {id(n) for n in ast.walk(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                found.append((target, id(node) in in_function))
    return found


def test_no_import_cycles_and_no_hidden_imports() -> None:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    inner: set[tuple[str, str]] = set()
    for name, path in mods.items():
        graph[name] = set()
        for target, in_function in _imports(name, path, mods):
            graph[name].add(target)
            if in_function:
                inner.add((name, target))
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle
    assert inner <= ALLOWED_INNER_IMPORTS, sorted(inner - ALLOWED_INNER_IMPORTS)


def test_no_module_over_400_lines() -> None:
    big = {
        str(path.relative_to(ROOT)): n
        for path in PACKAGE.rglob("*.py")
        if (n := path.read_text().count("\n")) > MAX_LINES
    }
    assert not big
