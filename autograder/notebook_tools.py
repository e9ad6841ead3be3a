"""Keep a master notebook in step with its checks registry and its reference: the hidden test
cells are generated from `autograder/checks/<assignment>.py`, the solution cells from
`solutions/<assignment>.py`.

The hidden tests of an assignment live in `autograder/checks/<assignment>.py` as
`QUESTIONS = {question: [check, ...]}`. In the master notebook each check is one thin hidden
test cell, generated here:

    # HIDDEN
    def test_check_conv_output_size_values(env):
        from autograder.checks.cnn_costs import check_conv_output_size_values as check
        check(env)

(the call line reads `check(env)` because Otter quotes the failing line of a test in its
feedback).

A solution cell (a code cell between a question's `# BEGIN SOLUTION` and `# END SOLUTION` raw
cells) is the reference's code, then the stub that students get:

    # BEGIN SOLUTION NO PROMPT
    # The reference: cnn_costs.py, written here by `notebook_tools sync` (edit it there).
    def _require_int(name: str, value, minimum: int) -> None:
        ...
    def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
        ...
    # END SOLUTION
    ''' # BEGIN PROMPT
    def conv_output_size(size, kernel, stride=1, padding=0):
        ...  # the docstring students see
        raise NotImplementedError("conv_output_size")
    ''' # END PROMPT

The stub is the hand-written part: what Otter Assign hands out (signature, docstring,
prompt). The reference part is generated: the top-level definitions of
`reference_source.self_contained_source(assignment)` (the module with its tables from
`solutions/networks.py` inlined, since the sandbox cannot import `solutions`) that bind the
names the stub defines, and every definition they use that no earlier solution cell holds and
no other cell's stub defines, in the module's order, with the comments above them. So the
reference notebook runs exactly the module's code. A cell in any other Otter format (a
`# BEGIN SOLUTION` block inside a stub, say) is turned into this form by `sync`, its stub
being what Otter would hand out.

`sync` rewrites both kinds of cells; `drift` lists the differences, and `cnnlab build` refuses
to build a notebook that has drifted.

    python -m autograder.notebook_tools sync assignments/cnn_costs/cnn_costs.ipynb
    python -m autograder.notebook_tools check assignments/cnn_costs/cnn_costs.ipynb
"""
from __future__ import annotations

import argparse
import ast
import importlib
import re
import sys
from pathlib import Path

import nbformat
import yaml

HIDDEN_TEST_TEMPLATE = """# HIDDEN
def test_{check}(env):
    from autograder.checks.{assignment} import {check} as check
    check(env)"""

_HIDDEN_RE = re.compile(r"^\s*#\s*HIDDEN\b", re.IGNORECASE)
_SOLUTION_BLOCK_RE = re.compile(r"^(\s*)# BEGIN SOLUTION")
# What students get beside their notebook on purpose (public_hints.RUNTIME; read, not
# imported: public_hints imports this module).
_SHIPPED_CODE = Path(__file__).with_name("public_hints_runtime.py")


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _raw_marker(cell) -> str:
    """The `# BEGIN ...` / `# END ...` line of a raw structure cell, upper-cased, or ''."""
    if cell.get("cell_type") != "raw":
        return ""
    first = _source(cell).strip().split("\n", 1)[0].strip()
    return first.upper() if first.startswith("#") else ""


def read(master: str | Path):
    return nbformat.read(str(master), as_version=4)


def assignment_config(nb) -> dict:
    for cell in nb.cells:
        if _raw_marker(cell) == "# ASSIGNMENT CONFIG":
            return yaml.safe_load(_source(cell).split("\n", 1)[1]) or {}
    raise ValueError("the master notebook has no '# ASSIGNMENT CONFIG' raw cell")


def assignment_name(nb, master: str | Path | None = None) -> str:
    name = assignment_config(nb).get("name")
    return name or Path(master).stem


def registry(assignment: str) -> dict[str, list]:
    """The QUESTIONS registry of autograder/checks/<assignment>.py."""
    module = importlib.import_module(f"autograder.checks.{assignment}")
    return module.QUESTIONS


def hidden_test_source(assignment: str, check_name: str) -> str:
    return HIDDEN_TEST_TEMPLATE.format(assignment=assignment, check=check_name)


def is_hidden_test(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(_HIDDEN_RE.match(_source(cell)))


def question_blocks(nb) -> dict[str, dict]:
    """question name -> {"tests_begin": i, "tests_end": j, "hidden": [sources]} (cell indices)."""
    blocks, current = {}, None
    for i, cell in enumerate(nb.cells):
        marker = _raw_marker(cell)
        if marker == "# BEGIN QUESTION":
            config = yaml.safe_load(_source(cell).split("\n", 1)[1]) or {}
            current = {"name": config.get("name"), "tests_begin": None, "tests_end": None,
                       "hidden": []}
            blocks[current["name"]] = current
        elif marker == "# END QUESTION":
            current = None
        elif current is not None and marker == "# BEGIN TESTS":
            current["tests_begin"] = i
        elif current is not None and marker == "# END TESTS":
            current["tests_end"] = i
        elif current is not None and is_hidden_test(cell):
            current["hidden"].append(_source(cell).strip())
    return blocks


def expected_hidden(assignment: str) -> dict[str, list[str]]:
    return {q: [hidden_test_source(assignment, check.__name__) for check in checks]
            for q, checks in registry(assignment).items()}


def drift(master: str | Path) -> list[str]:
    """Human-readable differences between the notebook and the registry (its hidden tests)
    and solutions/ (its solution cells)."""
    return hidden_test_drift(master) + solution_drift(master)


def hidden_test_drift(master: str | Path) -> list[str]:
    """Human-readable differences between the notebook's hidden tests and the registry."""
    nb = read(master)
    assignment = assignment_name(nb, master)
    want = expected_hidden(assignment)
    have = question_blocks(nb)
    problems = []
    for q in want:
        if q not in have:
            problems.append(f"question {q!r} is in the registry but not in the notebook")
        elif have[q]["tests_begin"] is None:
            problems.append(f"question {q!r} has no '# BEGIN TESTS' block")
        elif have[q]["hidden"] != want[q]:
            problems.append(f"question {q!r}: hidden test cells differ from the registry "
                            f"({len(have[q]['hidden'])} in the notebook, {len(want[q])} registered)")
    for q in have:
        if q not in want:
            problems.append(f"question {q!r} is in the notebook but not in the registry")
    return problems


def sync_hidden_tests(master: str | Path) -> bool:
    """Rewrite the hidden test cells of every question from the registry; True if changed."""
    master = Path(master)
    nb = read(master)
    assignment = assignment_name(nb, master)
    want = expected_hidden(assignment)
    missing = [q for q in want if q not in question_blocks(nb)]
    if missing:
        raise ValueError(f"questions missing from {master}: {', '.join(missing)}")
    # Drop every hidden test cell, then insert the registry's before each END TESTS.
    nb.cells = [c for c in nb.cells if not is_hidden_test(c)]
    for q, sources in want.items():
        end = question_blocks(nb)[q]["tests_end"]
        if end is None:
            raise ValueError(f"question {q!r} has no '# BEGIN TESTS' / '# END TESTS' block")
        checks = [c.__name__ for c in registry(assignment)[q]]
        # Ids derived from the check's name: a re-sync writes the very same file.
        nb.cells[end:end] = [nbformat.v4.new_code_cell(s, id=f"hidden-{c}"[:64])
                             for s, c in zip(sources, checks)]
    return _write(master, nb)


# ----------------------------------------------------------------------------- solution cells

SOLUTION_BEGIN = "# BEGIN SOLUTION NO PROMPT"
SOLUTION_END = "# END SOLUTION"
_QUOTE = "'''"  # the stub's string in the reference notebook; its docstrings use \"\"\"
PROMPT_BEGIN = f"{_QUOTE} # BEGIN PROMPT"
PROMPT_END = f"{_QUOTE} # END PROMPT"
REFERENCE_NOTE = ("# The reference: {module}.py, written here by `notebook_tools sync` "
                  "(edit it there).")


def solution_cells(nb) -> list[tuple[int, str]]:
    """(cell index, question) of every code cell between a question's `# BEGIN SOLUTION` and
    `# END SOLUTION` raw cells, in notebook order."""
    found, question, inside = [], None, False
    for i, cell in enumerate(nb.cells):
        marker = _raw_marker(cell)
        if marker == "# BEGIN QUESTION":
            question = (yaml.safe_load(_source(cell).split("\n", 1)[1]) or {}).get("name")
        elif marker == "# END QUESTION":
            question = None
        elif marker == "# BEGIN SOLUTION":
            inside = True
        elif marker == "# END SOLUTION":
            inside = False
        elif inside and cell.get("cell_type") == "code":
            found.append((i, question))
    return found


def stub(source: str) -> str:
    """What Otter Assign hands out for a solution cell: its solutions stripped, its prompts
    kept (Otter's own function, so the stub is exactly the student's cell)."""
    from otter.assign.solutions import replace_solutions
    return "\n".join(replace_solutions(source.split("\n"), "python"))


def stub_names(source: str) -> list[str]:
    """The top-level names a stub defines, in order."""
    from autograder.reference_source import bound_names
    names: list[str] = []
    for node in ast.parse(source).body:
        names += [n for n in sorted(bound_names(node)) if n not in names]
    return names


def _statements(module: str) -> list[dict]:
    """The top-level statements of the self-contained reference that bind names: the names
    they bind and use, and their text with the comment lines right above them."""
    from autograder.reference_source import bound_names, self_contained_source, statement_text
    source = self_contained_source(module)
    lines = source.splitlines(keepends=True)
    statements = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        bound = bound_names(node)
        if not bound:
            continue
        statements.append({"binds": bound,
                           "uses": {x.id for x in ast.walk(node) if isinstance(x, ast.Name)},
                           "text": statement_text(lines, node).rstrip()})
    return statements


def expected_solution_cells(nb, assignment: str) -> dict[int, str]:
    """cell index -> the source its solution cell must have: the reference's definitions of
    the names its stub defines, and of what they use that no earlier cell holds and no other
    cell's stub defines; then the stub."""
    cells = [(i, q, stub(_source(nb.cells[i]))) for i, q in solution_cells(nb)]
    if not cells:
        return {}
    statements = _statements(assignment)
    binder = {name: k for k, st in enumerate(statements) for name in st["binds"]}
    owner: dict[str, int] = {}
    for i, question, text in cells:
        where = f"question {question!r}, cell {nb.cells[i].get('id')}"
        if _QUOTE in text:
            raise ValueError(f"{where}: the stub may not contain {_QUOTE}")
        missing = [n for n in stub_names(text) if n not in binder]
        if missing:
            raise ValueError(f"{where}: the stub defines {', '.join(missing)}, which "
                             f"solutions/{assignment}.py does not")
        for name in stub_names(text):
            owner.setdefault(name, i)
    emitted: set[int] = set()
    expected = {}
    for i, question, text in cells:
        wanted, todo = set(), list(stub_names(text))
        while todo:
            k = binder[todo.pop()]
            if k in wanted or k in emitted:
                continue
            wanted.add(k)
            todo += [n for n in statements[k]["uses"] if n in binder and owner.get(n, i) == i]
        emitted |= wanted
        definitions = "\n\n\n".join(statements[k]["text"] for k in sorted(wanted))
        expected[i] = "\n".join([SOLUTION_BEGIN, REFERENCE_NOTE.format(module=assignment),
                                 definitions, SOLUTION_END, PROMPT_BEGIN, text, PROMPT_END])
    return expected


def solution_drift(master: str | Path) -> list[str]:
    """The solution cells that differ from what solutions/<assignment>.py gives, one line
    each (or why they cannot be made)."""
    nb = read(master)
    assignment = assignment_name(nb, master)
    try:
        want = expected_solution_cells(nb, assignment)
    except (ValueError, SyntaxError, ImportError) as err:
        return [f"solution cells: {err}"]
    questions = dict(solution_cells(nb))
    return [f"question {questions[i]!r}: solution cell {nb.cells[i].get('id')} (cell {i + 1}) "
            f"differs from solutions/{assignment}.py"
            for i, source in want.items() if _source(nb.cells[i]) != source]


def sync_solution_cells(master: str | Path) -> bool:
    """Rewrite every solution cell from solutions/<assignment>.py; True if changed."""
    master = Path(master)
    nb = read(master)
    for i, source in expected_solution_cells(nb, assignment_name(nb, master)).items():
        nb.cells[i].source = source
    return _write(master, nb)


def sync(master: str | Path) -> bool:
    """Rewrite the hidden test cells and the solution cells; True if anything changed."""
    hidden = sync_hidden_tests(master)
    return sync_solution_cells(master) or hidden


def _write(master: Path, nb) -> bool:
    before = master.read_text()
    text = nbformat.writes(nb) + "\n"
    if text != before:
        master.write_text(text)
        return True
    return False


def split_code_lines(master: str | Path) -> tuple[list[str], list[str]]:
    """(code lines between solution markers or ending in `# SOLUTION`, all other code lines)
    of the master, stripped: the first must never reach students. A line of the code that
    students get on purpose (public_hints_runtime.py, beside their notebook) is no solution
    line, wherever it is: a `return None` or a docstring's closing quotes tell nothing."""
    shipped = {line.strip() for line in _SHIPPED_CODE.read_text().split("\n")}
    solution, other = [], []
    for cell in read(master).cells:
        if cell.get("cell_type") != "code":
            continue
        inside = False
        for line in _source(cell).split("\n"):
            stripped = line.strip()
            if _SOLUTION_BLOCK_RE.match(line):
                inside = True
            elif stripped.endswith("# END SOLUTION"):
                inside = False
            elif stripped and stripped not in shipped and (
                    inside or (stripped.endswith("# SOLUTION") and stripped != "# SOLUTION")):
                solution.append(stripped)
            elif stripped:
                other.append(stripped)
    return solution, other


def solution_code_lines(master: str | Path) -> list[str]:
    return split_code_lines(master)[0]


def normalized_cells(path: str | Path) -> list[dict]:
    """The cells of a notebook as {type, source} without ids, outputs or volatile metadata."""
    return [{"cell_type": c.cell_type, "source": _source(c).rstrip()}
            for c in nbformat.read(str(path), as_version=4).cells]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.notebook_tools",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["sync", "check"])
    parser.add_argument("master", nargs="+", help="master notebook(s)")
    args = parser.parse_args(argv)
    status = 0
    for master in args.master:
        if args.action == "sync":
            changed = sync(master)
            print(f"{master}: {'updated' if changed else 'already in sync'}")
        else:
            problems = drift(master)
            for p in problems:
                print(f"{master}: {p}")
            status |= bool(problems)
            if not problems:
                print(f"{master}: hidden tests in sync with the registry, solution cells "
                      "with solutions/")
    return status


if __name__ == "__main__":
    sys.exit(main())
