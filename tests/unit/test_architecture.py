"""The package's shape: no import cycle, imports that point one way along the pipeline (a stage never
imports a later one), short functions and modules. Read from the source with `ast`, imports inside
functions included, so a lazy import cannot hide a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "forecast"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 400

# the pipeline's stages, first to last: a module may import its own stage and earlier ones only
LAYERS = (
    ("core", ("forecast.core",)),
    (
        "data",
        (
            "forecast.ingest",
            "forecast.simulate",
            "forecast.simulate_shapes",
            "forecast.simulate_drift",
        ),
    ),
    ("model", ("forecast.spec", "forecast.model")),
    (
        "fit",
        (
            "forecast.fit",
            "forecast.fit_cache",
            "forecast.sampling_guard",
            "forecast.diagnostics",
            "forecast.rank_diagnostics",
            "forecast.checks",
            "forecast.posterior",
        ),
    ),
    ("predict", ("forecast.predict",)),
    ("report", ("forecast.report",)),
    ("evaluate", ("forecast.evaluate",)),
    ("outputs", ("forecast.outputs",)),
    ("cli", ("forecast.cli",)),
)
ROOT = "forecast"  # the package's __init__: a lazy map of names, importing nothing at load


def module_names(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module under the package folder `root`."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest known module that `name` (a module or a name inside one) lies in."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in modules:
            return candidate
    return None


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """Dotted names an import statement brings in (relative imports made absolute)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [f"{base}.{a.name}" for a in node.names]


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, anywhere in its body (functions included)."""
    modules = module_names(root)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            for name in _imported(node, module, path.name == "__init__.py"):
                target = _resolve(name, modules)
                if target is not None and target != module:
                    graph[module].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(cycles)


def layer_of(module: str, layers=LAYERS) -> int | None:
    """The stage number of `module` (its longest matching prefix), None when it has none."""
    best, best_len = None, -1
    for i, (_, prefixes) in enumerate(layers):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    return best


def upward_imports(graph: dict[str, set[str]], layers=LAYERS) -> list[str]:
    """Imports from a stage to a later one, as 'a (stage) -> b (stage)' lines."""
    names = [n for n, _ in layers]
    out = []
    for a, targets in sorted(graph.items()):
        la = layer_of(a, layers)
        for b in sorted(targets):
            lb = layer_of(b, layers)
            if la is not None and lb is not None and lb > la:
                out.append(f"{a} ({names[la]}) -> {b} ({names[lb]})")
    return out


def too_long(root: Path = PACKAGE) -> list[str]:
    """Functions (methods and nested ones included) over MAX_FUNCTION_LINES and modules over
    MAX_MODULE_LINES; a function's lines run from `def` to its last line, docstring included."""
    out = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        where = path.relative_to(root.parent)
        if (n := len(text.splitlines())) > MAX_MODULE_LINES:
            out.append(f"{where}: {n} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    out.append(f"{where}:{node.lineno} {node.name}: {n} lines")
    return out


def _importers_of(graph_root: Path, library: str) -> set[str]:
    """Modules under `graph_root` that import the third-party `library`."""
    out = set()
    for module, path in module_names(graph_root).items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = _imported(node, module, path.name == "__init__.py")
            if any(n == library or n.startswith(library + ".") for n in names):
                out.add(module)
    return out


# the package itself


def test_no_import_cycle_in_the_package():
    assert find_cycles(import_graph()) == []


def test_imports_point_one_way_along_the_pipeline():
    assert upward_imports(import_graph()) == []


def test_every_module_belongs_to_a_stage():
    unplaced = [m for m in module_names(PACKAGE) if m != ROOT and layer_of(m) is None]
    assert unplaced == [], "add the module's stage to LAYERS (and ARCHITECTURE.md)"


def test_no_long_function_or_module():
    assert too_long() == []


@pytest.mark.parametrize(
    ("library", "home"), [("matplotlib", "forecast.report"), ("typer", "forecast.cli")]
)
def test_drawing_stays_in_report_and_the_command_line_in_cli(library, home):
    assert {m for m in _importers_of(PACKAGE, library) if layer_of(m) != layer_of(home)} == set()


# the checkers themselves: each must be able to fail


def test_the_cycle_checker_finds_a_cycle_and_only_it():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_imports_inside_functions_and_relative_ones(tmp_path):
    pkg = tmp_path / "forecast"
    (pkg / "core").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "__init__.py").write_text("")
    (pkg / "core" / "a.py").write_text("from forecast.core import b\n")
    (pkg / "core" / "b.py").write_text("def f():\n    from .a import g\n    return g\n")
    (pkg / "cli.py").write_text("import forecast.core.a\n")
    graph = import_graph(pkg)
    assert graph["forecast.core.b"] == {"forecast.core.a"}
    assert graph["forecast.cli"] == {"forecast.core.a"}
    assert find_cycles(graph) == [["forecast.core.a", "forecast.core.b"]]


def test_the_layer_checker_flags_an_import_of_a_later_stage():
    graph = {"forecast.model.build": {"forecast.predict", "forecast.core.dims"}}
    assert upward_imports(graph) == ["forecast.model.build (model) -> forecast.predict (predict)"]


def test_the_length_checker_counts_methods_and_nested_functions(tmp_path):
    pkg = tmp_path / "forecast"
    pkg.mkdir()
    body = "\n".join(f"        x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (pkg / "m.py").write_text(f"class C:\n    def method(self):\n{body}\n")
    assert too_long(pkg) == [f"forecast/m.py:2 method: {MAX_FUNCTION_LINES + 1} lines"]
