"""The package's imports form no circle: every ``import`` the interpreter can run counts,
at module level or inside a function; only ``if TYPE_CHECKING:`` blocks (never run)
are left out. Neither front end imports the other, and configuration names are taken
from their one home (:mod:`claude_code_oauth.config_rules` for the rules,
:mod:`claude_code_oauth.config` for :class:`~claude_code_oauth.config.Settings`)."""

from __future__ import annotations

import ast
from pathlib import Path

import claude_code_oauth

PACKAGE = Path(claude_code_oauth.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement outside ``if TYPE_CHECKING:`` blocks."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports (``from . import x`` names the
    submodule ``x`` when there is one, else the package)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in _runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = package[: len(package) - node.level + 1] if node.level else []
                target = ".".join([*base, *([node.module] if node.module else [])])
                targets = [
                    f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target
                    for alias in node.names
                ]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_import_circle() -> None:
    assert circles(import_graph()) == []


def test_the_circle_finder_sees_a_function_level_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
    tree = ast.parse(
        "def f():\n    import x\nif TYPE_CHECKING:\n    import y\nelse:\n    import z\n"
    )
    assert [ast.unparse(node) for node in _runtime_imports(tree)] == ["import x", "import z"]


def test_neither_front_end_imports_the_other() -> None:
    graph = import_graph()
    fronts = {"cli": "claude_code_oauth.cli", "host": "claude_code_oauth.hosts"}
    for name, targets in graph.items():
        for side, prefix in fronts.items():
            other = fronts["host" if side == "cli" else "cli"]
            if name.startswith(prefix):
                assert not {t for t in targets if t.startswith(other)}, name


def test_configuration_rules_are_imported_from_their_home() -> None:
    import claude_code_oauth.config as config
    import claude_code_oauth.config_rules as rules

    assert set(config.__all__) == {"Settings", "load_settings"}
    for name, path in _modules().items():
        for node in _runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("config"):
                wrong = {a.name for a in node.names} & set(vars(rules)) - {"annotations"}
                assert not wrong, f"{name} imports {sorted(wrong)} from config, not config_rules"
    assert config.Settings is not None
