"""The layout's facts: largest modules, import circles and the modules importing heavy libraries.

    python3 scripts/import_report.py [src/cycleresearcher]

Imports inside functions count too: a lazy import that closes a circle still ties the modules
together. tests/test_layout.py asserts on the same facts.
"""

from __future__ import annotations

import ast
import collections
import pathlib
import sys

HEAVY = ("torch", "llama_cpp", "vllm", "trl", "ray", "transformers", "peft", "accelerate")


def modules(root: pathlib.Path) -> dict[str, pathlib.Path]:
    out = {}
    for p in sorted(root.rglob("*.py")):
        parts = list(p.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _targets(mod: str, path: pathlib.Path, node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    assert isinstance(node, ast.ImportFrom)
    base = mod.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    if node.level:
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    return [prefix] + [f"{prefix}.{a.name}" for a in node.names]


def _required(node: ast.AST) -> str:
    """The module named by a ``require("mod", extra)`` call, else ''."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
        return ""
    name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
    arg = node.args[0].value
    return arg if name == "require" and isinstance(arg, str) and arg.split(".")[0] in HEAVY else ""


def graph(mods: dict[str, pathlib.Path]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(imports among the package's modules, heavy libraries each module imports)."""
    edges: dict[str, set[str]] = collections.defaultdict(set)
    heavy: dict[str, set[str]] = collections.defaultdict(set)
    for m, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text())):
            if _required(node):  # errors.require("vllm", ...): the project's optional import
                heavy[m].add(_required(node).split(".")[0])
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in _targets(m, p, node):
                    if name.split(".")[0] in HEAVY:
                        heavy[m].add(name.split(".")[0])
                    if name in mods and name != m:
                        edges[m].add(name)
    return edges, heavy


def cycles(edges: dict[str, set[str]], nodes: list[str]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in nodes:
        if v not in index:
            visit(v)
    return found


def main(root: pathlib.Path) -> None:
    mods = modules(root)
    edges, heavy = graph(mods)
    sizes = sorted(((len(p.read_text().splitlines()), m) for m, p in mods.items()), reverse=True)
    print("largest modules:")
    for n, m in sizes[:12]:
        print(f"  {n:5d} {m}")
    print(f"modules: {len(mods)}; over 500 lines: {sum(1 for n, _ in sizes if n > 500)}")
    print("import cycles (strongly connected groups, package __init__ included):")
    for group in cycles(edges, list(mods)):
        print("  ", " <-> ".join(group))
    torch = sorted(m for m, libs in heavy.items() if "torch" in libs)
    print("modules importing torch:", len(torch))
    for m in torch:
        print("  ", m)
    print("modules importing other heavy libraries:")
    for m in sorted(heavy):
        other = sorted(heavy[m] - {"torch"})
        if other:
            print(f"   {m}: {', '.join(other)}")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "src/cycleresearcher"))
