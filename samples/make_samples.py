"""Regenerate the bundled sample submissions and quiz responses that `cnnlab demo` grades.

They are checked in; rerun after changing a master notebook or the quiz templates:

    .venv/bin/cnnlab build --out /tmp/samples_build
    .venv/bin/python samples/make_samples.py /tmp/samples_build

Each notebook sample is the student notebook with its answer cells filled from the
reference (`correct`), left as stubs (`blank`), or filled and then given one typical
mistake: for cnn_architectures and softmax_backprop the mistake is an entry of the mutant
catalogue (autograder/mutants.py), applied to the notebook's code, so samples and mutation
testing share one list. `hostile` is a cnn_costs notebook that attacks the grader.
"""
from __future__ import annotations

import csv
import json
import random
import re
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from autograder.mutants import SOURCE_MUTANTS  # noqa: E402

TAG = "otter_assign_solution_cell"

# cnn_costs mistakes: (function, the line that replaces its last `return`)
COSTS_MISTAKES = {
    "missing_plus_one": ("conv_output_size",
                         "    return (size - kernel + 2 * padding) // stride  # forgot the + 1"),
    "bytes_not_kb": ("memory_kb", "    return num_elements * 4"),
}
# What each sample is, for the demo's report (written to samples.json).
COSTS_DESCRIPTIONS = {
    "missing_plus_one": "conv_output_size forgets the +1 (so do the sizes it feeds)",
    "bytes_not_kb": "memory_kb returns bytes, not KB",
}
HOSTILE_DESCRIPTION = ("correct code plus attacks on the grader: a function that never "
                       "returns, one that kills its process, a peek at the reference, sys.exit")
MUTANT_SAMPLES = {
    "cnn_architectures": ["basic_no_relu_after_add", "resnet_layer4_stride_1"],
    "softmax_backprop": ["softmax_grad_not_divided_by_n", "dw2_reg_without_2"],
}
HOSTILE_CELLS = [
    # a function that never returns, one that exits the process, a peek at the hidden tests,
    # and an attempt to swap the reference: none may earn points or stop the grading.
    "def fc_params(in_features, out_features, bias=True):\n    while True:\n        pass",
    "def fc_flops(in_features, out_features):\n    import os\n    os._exit(1)",
    "try:\n    import solutions.cnn_costs as reference\nexcept Exception as err:\n"
    "    print('no reference for you:', err)",
    "import sys\nsys.exit('leaving early')",
]


def answered(build: Path, assignment: str) -> nbformat.NotebookNode:
    """The student notebook with every answer cell filled from the autograder notebook."""
    ag = nbformat.read(build / assignment / "autograder" / f"{assignment}.ipynb", as_version=4)
    st = nbformat.read(build / assignment / "student" / f"{assignment}.ipynb", as_version=4)
    answers = [c.source for c in ag.cells if TAG in c.metadata.get("tags", [])]
    cells = [c for c in st.cells if TAG in c.metadata.get("tags", [])]
    assert len(answers) == len(cells), f"{assignment}: student and autograder notebooks differ"
    for cell, source in zip(cells, answers):
        source = re.sub(r'\n\s*("""|\'\'\') # BEGIN PROMPT.*?\1 # END PROMPT', "", source, flags=re.S)
        cell.source = "\n".join(line for line in source.split("\n")
                                if not re.search(r"# (BEGIN|END) SOLUTION", line))
    return st


def replace_return(nb, function: str, line: str):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        if cell.cell_type == "code" and f"def {function}(" in cell.source:
            lines = cell.source.split("\n")
            start = next(i for i, l in enumerate(lines) if l.startswith(f"def {function}("))
            last = max(i for i, l in enumerate(lines) if i > start and l.strip().startswith("return")
                       and not any(lines[j].startswith("def ") for j in range(start + 1, i)))
            lines[last] = line
            cell.source = "\n".join(lines)
            return nb
    raise ValueError(f"no cell defines {function}")


def apply_mutant(nb, mutant_id: str):
    mutant = next(m for m in SOURCE_MUTANTS if m.id == mutant_id)
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for find, replace in mutant.edits:
        hits = [c for c in nb.cells if c.cell_type == "code" and find in c.source]
        if len(hits) != 1 or hits[0].source.count(find) != 1:
            raise ValueError(f"{mutant_id}: {find!r} is not found exactly once in the notebook")
        hits[0].source = hits[0].source.replace(find, replace)
    return nb


def write(nb, assignment: str, name: str) -> None:
    folder = HERE / assignment
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


def notebook_samples(build: Path) -> None:
    legend: dict[str, str] = {}
    for assignment in ("cnn_costs", "cnn_architectures", "softmax_backprop"):
        legend[f"{assignment}/correct.ipynb"] = "the reference's answers: full marks expected"
        legend[f"{assignment}/blank.ipynb"] = "the stubs as handed out: 0 expected"
        blank = nbformat.read(build / assignment / "student" / f"{assignment}.ipynb", as_version=4)
        full = answered(build, assignment)
        write(full, assignment, "correct")
        write(blank, assignment, "blank")
        if assignment == "cnn_costs":
            for name, (function, line) in COSTS_MISTAKES.items():
                write(replace_return(full, function, line), assignment, name)
                legend[f"{assignment}/{name}.ipynb"] = COSTS_DESCRIPTIONS[name]
            legend[f"{assignment}/hostile.ipynb"] = HOSTILE_DESCRIPTION
            hostile = nbformat.from_dict(json.loads(json.dumps(full)))
            hostile.cells += [nbformat.v4.new_code_cell(src) for src in HOSTILE_CELLS]
            write(hostile, assignment, "hostile")
        for mutant in MUTANT_SAMPLES.get(assignment, []):
            write(apply_mutant(full, mutant), assignment, mutant)
            description = next(m.mistake for m in SOURCE_MUTANTS if m.id == mutant)
            legend[f"{assignment}/{mutant}.ipynb"] = f"one typical mistake: {description}"
    (HERE / "samples.json").write_text(json.dumps(legend, indent=1) + "\n")


def quiz_responses(seed: str = "demo-2026") -> None:
    """Answers of the sample roster to the demo's quiz: mostly right, some with the
    catalogued mistakes (so the grading report has something to diagnose), a few blank."""
    from quizzes.generate import generate
    from quizzes.grade import mistake_values
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        paths = generate(tmp, seed, None, HERE.parent / "quizzes" / "samples" / "roster.csv")
        key = json.loads(Path(paths["key"]).read_text())
    rng = random.Random(seed)
    rows = []
    for entry in key:
        answer = entry["answer"]
        roll = rng.random()
        wrong = mistake_values(entry)
        if roll < 0.3 and wrong:
            value = rng.choice(wrong)[1]
        elif roll < 0.35:
            value = ""
        else:
            value = answer
        if isinstance(value, (list, tuple)):
            value = "x".join(str(v) for v in value)
        elif isinstance(value, float):
            value = f"{value:.2f}"
        rows.append([entry["student"], entry["question"], value])
    folder = HERE / "quiz"
    folder.mkdir(exist_ok=True)
    with open(folder / "responses.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "question", "response"])
        writer.writerows(rows)


if __name__ == "__main__":
    notebook_samples(Path(sys.argv[1]))
    quiz_responses()
    print("wrote", ", ".join(str(p.relative_to(HERE)) for p in sorted(HERE.glob("*/*.*"))))
