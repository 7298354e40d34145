"""The import graph of engine/ and webui/: import circles, imports from engine/store upward, imports inside
functions.

    python bench/import_graph.py [--list]

A circle is a strongly connected component of the graph of module-level imports (imports under
`if TYPE_CHECKING:` do not run, so they do not count). A file's area is its package: engine/store,
engine/services, engine/cli, the other engine modules, webui. `--list` prints every circle and every import
inside a function with its file and line.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "webui")
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def area(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "engine" and len(parts) > 2 and parts[1] in ("store", "services", "cli"):
        return f"engine.{parts[1]}"
    if parts[0] == "engine" and len(parts) == 2 and parts[1] in ("store", "services", "cli"):
        return module
    return parts[0]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ours an import statement loads (`from engine import audit` loads engine.audit)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = module.split(".") if is_package else module.split(".")[:-1]
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    found = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found


def _imports(node: ast.AST, in_function: bool):
    """The import statements under `node` that run (not under `if TYPE_CHECKING:`), each with whether it sits in
    a function."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, in_function
        yield from _imports(child, in_function or isinstance(child, FUNCTIONS))


def graph(with_functions: bool = False) -> tuple[dict[str, set[str]], list[tuple[str, int, str]]]:
    """({module: the modules it imports at module level (and in its functions: `with_functions`)},
    [(file, line, statement) of the imports in functions])."""
    files = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
             if "migrations" not in p.parts}  # fmt: skip
    known = set(files)
    edges: dict[str, set[str]] = {m: set() for m in files}
    inside: list[tuple[str, int, str]] = []
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        for node, in_function in _imports(tree, False):
            targets = _targets(node, module, is_package, known)
            if in_function:
                inside.append((str(path.relative_to(ROOT)), node.lineno, ast.unparse(node)))
            if with_functions or not in_function:
                edges[module] |= targets - {module}
        # A package's submodule is loaded with its package: importing engine.store.models runs engine/store/__init__.
        for target in list(edges[module]):
            parent = target.rpartition(".")[0]
            while parent and parent in known and parent != module and not module.startswith(parent + "."):
                edges[module].add(parent)
                parent = parent.rpartition(".")[0]
    return edges, inside


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
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
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="print every circle and import inside a function")
    args = parser.parse_args()
    print(f"modules: {len(graph()[0])}")
    for label, with_functions in (("module-level imports", False), ("all imports, in functions too", True)):
        edges, inside = graph(with_functions)
        found = circles(edges)
        mixed = [c for c in found if len({area(m) for m in c}) > 1]
        upward = sorted((m, t) for m, targets in edges.items() if area(m) == "engine.store"
                        for t in targets if area(t) != "engine.store")  # fmt: skip
        print(f"{label}: {len(found)} import circles ({sum(map(len, found))} files), {len(mixed)} between areas; "
              f"{len(upward)} imports from engine/store upward")
        if args.list:
            for component in found:
                print("  circle:", " ".join(component))
            for module, target in upward:
                print("  upward:", module, "->", target)
    uncommented = [entry for entry in inside if "#" not in _line(entry)]
    print(f"imports inside functions: {len(inside)} (without a comment on their line: {len(uncommented)})")
    if args.list:
        for file, line, statement in inside:
            print(f"inside: {file}:{line}: {statement}")
    return 0


def _line(entry: tuple[str, int, str]) -> str:
    file, line, _statement = entry
    return (ROOT / file).read_text(encoding="utf-8").splitlines()[line - 1]


if __name__ == "__main__":
    sys.exit(main())
