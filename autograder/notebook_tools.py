"""Keep a master notebook's hidden tests in step with its checks registry.

The hidden tests of an assignment live in `autograder/checks/<assignment>.py` as
`QUESTIONS = {question: [check, ...]}`. In the master notebook each check is one thin hidden
test cell, generated here:

    # HIDDEN
    def test_check_conv_output_size_values(env):
        from autograder.checks.cnn_costs import check_conv_output_size_values as check
        check(env)

(the call line reads `check(env)` because Otter quotes the failing line of a test in its
feedback). `sync` rewrites those cells from the registry; `drift` lists the differences, and
`cnnlab build` refuses to build a notebook that has drifted.

    python -m autograder.notebook_tools sync assignments/cnn_costs/cnn_costs.ipynb
    python -m autograder.notebook_tools check assignments/cnn_costs/cnn_costs.ipynb
"""
from __future__ import annotations

import argparse
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
    before = master.read_text()
    text = nbformat.writes(nb) + "\n"
    if text != before:
        master.write_text(text)
        return True
    return False


def split_code_lines(master: str | Path) -> tuple[list[str], list[str]]:
    """(code lines between solution markers or ending in `# SOLUTION`, all other code lines)
    of the master, stripped: the first must never reach students."""
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
            elif stripped and (inside or (stripped.endswith("# SOLUTION")
                                          and stripped != "# SOLUTION")):
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
            changed = sync_hidden_tests(master)
            print(f"{master}: {'updated' if changed else 'already in sync'}")
        else:
            problems = drift(master)
            for p in problems:
                print(f"{master}: {p}")
            status |= bool(problems)
            if not problems:
                print(f"{master}: hidden tests in sync with the registry")
    return status


if __name__ == "__main__":
    sys.exit(main())
