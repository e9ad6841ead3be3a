"""Regenerate the sample submissions from a build (they are checked in; rerun after changing
the master notebook):

    cnnlab build cnn_costs --out /tmp/b && python tests/samples/make_samples.py /tmp/b

Each sample is the student notebook with every answer cell filled from the reference, then one
function replaced by a typical wrong version (see WRONG below).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).parent

# sample name -> (function, new body lines replacing the reference's `return ...` line)
WRONG = {
    "missing_plus_one": ("conv_output_size",
                         "    return (size - kernel + 2 * padding) // stride  # forgot + 1"),
    "memory_bytes": ("memory_kb", "    return num_elements * 4  # bytes, not KB"),
    "infinite_loop": ("conv_params", "    while True:\n        pass"),
}


def answered(build: Path) -> nbformat.NotebookNode:
    ag = nbformat.read(build / "cnn_costs" / "autograder" / "cnn_costs.ipynb", as_version=4)
    st = nbformat.read(build / "cnn_costs" / "student" / "cnn_costs.ipynb", as_version=4)
    tag = "otter_assign_solution_cell"
    answers = [c.source for c in ag.cells if tag in c.metadata.get("tags", [])]
    cells = [c for c in st.cells if tag in c.metadata.get("tags", [])]
    assert len(answers) == len(cells), "student and autograder notebooks do not match"
    for cell, source in zip(cells, answers):
        # drop the unreachable prompt string the autograder notebook keeps
        source = re.sub(r'\n\s*("""|\'\'\') # BEGIN PROMPT.*?\1 # END PROMPT', "", source, flags=re.S)
        cell.source = "\n".join(l for l in source.split("\n")
                                 if not re.search(r"# (BEGIN|END) SOLUTION", l))
    return st


def mutate(nb: nbformat.NotebookNode, function: str, body: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith(f"def {function}("):
            lines = cell.source.split("\n")
            last_return = max(i for i, l in enumerate(lines) if l.strip().startswith("return"))
            lines[last_return] = body
            cell.source = "\n".join(lines)
            return nb
    raise ValueError(f"no cell defines {function}")


def main(build: str) -> None:
    nb = answered(Path(build))
    nbformat.write(nb, HERE / "complete.ipynb")
    for name, (function, body) in WRONG.items():
        nbformat.write(mutate(nb, function, body), HERE / f"{name}.ipynb")
    (HERE / "not_json.ipynb").write_text("this is not a notebook {\n")
    print("wrote", ", ".join(["complete", *WRONG, "not_json"]))


if __name__ == "__main__":
    main(sys.argv[1])
