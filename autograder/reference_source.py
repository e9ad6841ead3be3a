"""A reference of solutions/ as one self-contained text, as a notebook cell carries it.

`solutions.cnn_architectures` reads its networks from `solutions.networks` (the tables are
written once, there, for the cost tables and the quizzes too). A student's notebook has no
such module, and neither has a sandbox (it may not import `solutions`): wherever the
reference's source stands for a student's code, each `from solutions.<module> import ...`
line is replaced by the definitions it names, and those they use, in that module's order.
The text then defines every name the module has, so the catalogue's source edits find the
networks' rows in it (a VGG row, a block's expansion) beside the modules' code.
"""
from __future__ import annotations

import ast
from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def bound_names(node: ast.stmt) -> set[str]:
    """The top-level names a statement binds (a def, a class, an import, an assignment)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return {t.id for t in targets if isinstance(t, ast.Name)}


def _definitions(source: str, names: list[str]) -> str:
    """The top-level statements of `source` that bind `names`, and those they use, in order
    (its `from __future__` imports left out: the importing module has its own)."""
    body = [n for n in ast.parse(source).body
            if not (isinstance(n, ast.ImportFrom) and n.module == "__future__")
            and bound_names(n)]
    wanted, todo = set(), list(names)
    while todo:
        name = todo.pop()
        node = next((n for n in body if name in bound_names(n)), None)
        if node is None:
            raise ImportError(f"cannot inline {name!r}: no top-level definition binds it")
        if node in wanted:
            continue
        wanted.add(node)
        todo += [x.id for x in ast.walk(node) if isinstance(x, ast.Name)
                 and any(x.id in bound_names(n) for n in body)]
    lines = source.splitlines(keepends=True)
    return "\n".join(statement_text(lines, n) for n in body if n in wanted)


def statement_text(lines: list[str], node: ast.stmt) -> str:
    """The statement's lines, its decorators included, and the comment lines right above
    it (what a row means)."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    return "".join(lines[start:node.end_lineno])


def self_contained_source(module: str) -> str:
    """solutions/<module>.py with its imports of other solutions modules inlined."""
    source = (SOLUTIONS / f"{module}.py").read_text()
    lines = source.splitlines(keepends=True)
    imports = [n for n in ast.parse(source).body if isinstance(n, ast.ImportFrom)
               and n.level == 0 and (n.module or "").startswith("solutions.")]
    for node in reversed(imports):  # from the end, so earlier line numbers hold
        if any(a.asname for a in node.names):
            raise ImportError(f"solutions/{module}.py line {node.lineno}: inlining keeps "
                              "names as they are; import without `as`")
        inlined = _definitions(self_contained_source(node.module.split(".", 1)[1]),
                               [a.name for a in node.names])
        lines[node.lineno - 1:node.end_lineno] = [inlined + "\n"]
    return "".join(lines)
