"""The layout's facts: largest modules, import circles, the modules importing heavy libraries, the
application layer's use cases and the shells' size (cli/ + web/, their functions over 60 lines).

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
#: the shells: argument mapping and rendering over the application layer (app/)
SHELLS = ("cli", "web")
#: the most lines a function in a shell may have (nested functions count inside their parent)
SHELL_FUNCTION_LINES = 60


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


def libraries(mods: dict[str, pathlib.Path]) -> dict[str, set[str]]:
    """The top-level names of everything each module imports from outside the package."""
    out: dict[str, set[str]] = collections.defaultdict(set)
    for m, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            out[m] |= {n.split(".")[0] for n in names if n.split(".")[0] != "cycleresearcher"}
    return out


def in_package(mods: dict[str, pathlib.Path], package: str) -> dict[str, pathlib.Path]:
    """The modules of ``cycleresearcher.<package>`` (the package itself included)."""
    name = f"cycleresearcher.{package}"
    return {m: p for m, p in mods.items() if m == name or m.startswith(name + ".")}


def functions(path: pathlib.Path) -> list[tuple[str, int]]:
    """(name, lines) of each outermost function of a module and of the methods of its classes; a
    nested function counts inside its parent (a ``register()`` holding its commands counts whole)."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((prefix + child.name, child.end_lineno - child.lineno + 1))
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text()), "")
    return found


def long_functions(mods: dict[str, pathlib.Path], limit: int = SHELL_FUNCTION_LINES) -> list[tuple[int, str]]:
    """(lines, module:function) of every shell function over ``limit`` lines, longest first."""
    out = [
        (n, f"{m}:{name}")
        for package in SHELLS
        for m, p in in_package(mods, package).items()
        for name, n in functions(p)
        if n > limit
    ]
    return sorted(out, reverse=True)


def shell_lines(mods: dict[str, pathlib.Path]) -> dict[str, int]:
    """Lines of Python in each shell package."""
    return {s: sum(len(p.read_text().splitlines()) for p in in_package(mods, s).values()) for s in SHELLS}


def use_cases(mods: dict[str, pathlib.Path]) -> dict[str, list[str]]:
    """Each module of the application layer with its public functions (a use-case module's is the
    use case)."""
    return {
        m: [name for name, _ in functions(p) if not name.startswith("_") and "." not in name]
        for m, p in in_package(mods, "app").items()
    }


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
    print("application layer (app/), each module's public functions:")
    for m, names in use_cases(mods).items():
        print(f"   {m}: {', '.join(names) or '-'}")
    size = shell_lines(mods)
    print(f"shells: {sum(size.values())} lines ({', '.join(f'{s}/ {n}' for s, n in size.items())})")
    long = long_functions(mods)
    print(f"shell functions over {SHELL_FUNCTION_LINES} lines: {len(long)}")
    for n, name in long:
        print(f"  {n:5d} {name}")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "src/cycleresearcher"))
