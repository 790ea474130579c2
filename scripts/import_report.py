"""Print the package's import graph facts: largest modules, cycles, torch importers."""

import ast
import collections
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "src/cycleresearcher")
pkg = "cycleresearcher"
mods = {}
for p in root.rglob("*.py"):
    rel = p.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    mods[".".join(parts)] = p


def resolve(mod, node):
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = mod.split(".")
    if mods[mod].name != "__init__.py":
        base = base[:-1]
    if node.level:
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    out = [prefix]
    for a in node.names:
        out.append(prefix + "." + a.name)
    return out


graph = collections.defaultdict(set)
torch = []
for m, p in mods.items():
    tree = ast.parse(p.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in resolve(m, node):
                if name.split(".")[0] == "torch":
                    torch.append(m)
                if name in mods and name != m:
                    graph[m].add(name)
torch = sorted(set(torch))
# cycles via Tarjan SCC (module-level, ignoring package __init__ edges to children)
idx = {}
low = {}
st = []
on = set()
sccs = []
c = [0]
sys.setrecursionlimit(10000)


def sc(v):
    idx[v] = low[v] = c[0]
    c[0] += 1
    st.append(v)
    on.add(v)
    for w in graph[v]:
        if w not in idx:
            sc(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))


for v in list(mods):
    if v not in idx:
        sc(v)
sizes = sorted(((len(p.read_text().splitlines()), m) for m, p in mods.items()), reverse=True)
print("largest modules:")
[print(f"  {n:5d} {m}") for n, m in sizes[:12]]
print(f"modules: {len(mods)}; over 500 lines: {sum(1 for n, _ in sizes if n > 500)}")
print("import cycles (strongly connected groups, package __init__ included):")
for s in sccs:
    print("  ", " <-> ".join(s))
print("modules importing torch:", len(torch))
[print("  ", m) for m in torch]
