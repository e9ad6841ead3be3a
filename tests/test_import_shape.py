"""The packages' import shape, read off the source (every import, module level or inside a
function, and importlib.import_module / __import__ of a constant name):

- solutions imports nothing of ours but itself (the lecture, written once; pure);
- autograder and quizzes import solutions, never cnnlab or docs_tools, nor each other;
- docs_tools never imports cnnlab (it uses the libraries, as the CLI does);
- cnnlab, the CLI, may import them all.

An arrow against the shape fails with one line per arrow: file, line, module, rule broken.
"""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECKED = ("solutions", "autograder", "quizzes", "docs_tools", "cnnlab")
OURS = ("autograder", "bench", "cnnlab", "docs_tools", "quizzes", "solutions", "tests")

# package -> the packages of ours it must not import.
FORBIDDEN = {
    "solutions": set(OURS) - {"solutions"},
    "autograder": {"cnnlab", "quizzes", "docs_tools"},
    "quizzes": {"cnnlab", "autograder", "docs_tools"},
    "docs_tools": {"cnnlab"},
    "cnnlab": set(),
}

# Arrows being removed right now, as (file, imported module), each with a comment saying
# why it may stay for now. An entry must go the moment its import goes: one that no longer
# exists fails the test too. (The last two, quizzes/calculator.py and quizzes/grade.py ->
# autograder.mistakes, went when the mistake catalogue moved to solutions/, issue 14.)
PENDING: set[tuple[str, str]] = set()


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, path: Path, root: Path) -> str:
    """The module a `from ... import` names, relative imports resolved against `path`."""
    if not node.level:
        return node.module or ""
    package = _module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _is_module(name: str, root: Path) -> bool:
    where = root.joinpath(*name.split("."))
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, module) for every import in `path`. `from a import b` is a.b when b is a
    module of ours (a submodule), else a."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, path, root)
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.append((node.lineno, sub if _is_module(sub, root) else module))
        elif isinstance(node, ast.Call) and node.args \
                and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) \
                and (getattr(node.func, "attr", None) == "import_module"
                     or getattr(node.func, "id", None) == "__import__"):
            found.append((node.lineno, node.args[0].value))
    return sorted(found)


def arrows_against_the_shape(root: Path = ROOT) -> list[tuple[str, int, str, str]]:
    """(file, line, module, rule) for each import that breaks the shape."""
    arrows = []
    for package in CHECKED:
        for path in sorted((root / package).rglob("*.py")):
            file = path.relative_to(root).as_posix()
            for line, module in imported_modules(path, root):
                top = module.split(".")[0]
                if top in FORBIDDEN[package]:
                    arrows.append((file, line, module, f"{package} must not import {top}"))
    return arrows


def shape_problems(root: Path = ROOT, pending: set[tuple[str, str]] = PENDING) -> list[str]:
    """One line per arrow against the shape that is not pending, then one per pending
    entry whose import is gone."""
    arrows = arrows_against_the_shape(root)
    problems = [f"{file}:{line} imports {module} ({rule})"
                for file, line, module, rule in arrows if (file, module) not in pending]
    remaining = {(file, module) for file, _, module, _ in arrows}
    problems += [f"{file} no longer imports {module}: remove it from PENDING"
                 for file, module in sorted(pending - remaining)]
    return problems


def test_the_packages_keep_their_shape():
    problems = shape_problems()
    assert not problems, "imports against the package shape:\n" + "\n".join(
        f"  {p}" for p in problems)


def test_the_checker_finds_arrows(tmp_path):
    # A tree with one arrow of each kind the checker must see, and imports it must allow.
    files = {
        "solutions/__init__.py": "",
        "solutions/formulas.py": """
            from solutions import tables
            from . import tables as same
            import math

            def late():
                import cnnlab.cli
            """,
        "solutions/tables.py": "",
        "autograder/__init__.py": "",
        "autograder/mistakes.py": "from solutions.formulas import late\n",
        "autograder/grade.py": """
            import importlib

            def check():
                from quizzes import csvio
                return importlib.import_module("cnnlab.paths")
            """,
        "autograder/checks/__init__.py": "",
        "autograder/checks/common.py": "from .. import mistakes\nfrom ..mistakes import late\n",
        "quizzes/__init__.py": "",
        "quizzes/csvio.py": "from autograder import mistakes\n",
        "docs_tools/errata.py": "from cnnlab import costs\nfrom quizzes import csvio\n",
        "cnnlab/__init__.py": "",
        "cnnlab/cli.py": "from autograder import grade\nfrom quizzes import csvio\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    found = [(file, line, module) for file, line, module, _ in arrows_against_the_shape(tmp_path)]
    assert found == [
        ("solutions/formulas.py", 7, "cnnlab.cli"),
        ("autograder/grade.py", 5, "quizzes.csvio"),
        ("autograder/grade.py", 6, "cnnlab.paths"),
        ("quizzes/csvio.py", 1, "autograder.mistakes"),
        ("docs_tools/errata.py", 1, "cnnlab"),
    ], found
    # A pending arrow is let through; a pending entry whose import is gone is reported.
    pending = {("quizzes/csvio.py", "autograder.mistakes"), ("quizzes/gone.py", "autograder")}
    assert shape_problems(tmp_path, pending) == [
        "solutions/formulas.py:7 imports cnnlab.cli (solutions must not import cnnlab)",
        "autograder/grade.py:5 imports quizzes.csvio (autograder must not import quizzes)",
        "autograder/grade.py:6 imports cnnlab.paths (autograder must not import cnnlab)",
        "docs_tools/errata.py:1 imports cnnlab (docs_tools must not import cnnlab)",
        "quizzes/gone.py no longer imports autograder: remove it from PENDING",
    ]
