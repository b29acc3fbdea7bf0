"""The package's import graph has no cycle (imports inside functions count): a newcomer can read
each layer on its own, and a worker process never imports the driver that started it."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "continual"


def import_graph() -> dict[str, set[str]]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                while name and name not in modules:
                    name = name.rsplit(".", 1)[0] if "." in name else ""
                if name and name != module and not module.startswith(name + "."):
                    edges[module].add(name)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in edges:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(sorted(edges[root])))]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set(), "c": {"c"}}) == []


def test_no_import_cycle_in_the_package():
    assert cycles(import_graph()) == []


def layer_graph(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import graph between the package's parts: each module counted as its top-level
    module or subpackage (``continual.report.files`` → ``continual.report``)."""
    part = lambda module: ".".join(module.split(".")[:2])  # noqa: E731
    layers: dict[str, set[str]] = {}
    for module, targets in edges.items():
        layers.setdefault(part(module), set()).update(
            part(t) for t in targets if part(t) != part(module)
        )
    return layers


# No known exceptions: the last ones (components <-> learners <-> replay through the VAE, and
# components <-> evaluation through the FLOP counter) were untangled by making the VAE and the
# FLOP counter leaf modules (continual/vae.py, continual/flops.py).
KNOWN_LAYER_CYCLES: list[list[str]] = []


def test_no_import_cycle_between_the_packages_parts():
    """No cycle between parts either, even one that no single module closes (the ablation
    command's module used the report package's statistics while the report read the ablation's
    file suffix): a part can be read, and tested, without the parts above it."""
    assert layer_graph({"a.x.m": {"a.y.n"}, "a.y.n": {"a.x.k"}, "a.x.k": set()}) == {
        "a.x": {"a.y"},
        "a.y": {"a.x"},
    }
    found = cycles(layer_graph(import_graph()))
    assert all(cycle in KNOWN_LAYER_CYCLES for cycle in found), found
