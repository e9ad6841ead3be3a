"""One registry per thing (issue 14): a dummy entry added in a temporary copy of the tree,
in the one hand-written file the README names, flows through to everything that uses it.

- a question: its check in autograder/checks/<assignment>.py's QUESTIONS and its block in
  the master notebook reach the notebook's hidden test cells (`notebook_tools sync`), the
  mutants' question map (what its checks read, so a mutant there is graded on it) and
  grading (its points, read from the notebook);
- a quiz template: one function in quizzes/templates.py (named in TEMPLATES) reaches a
  generated quiz (handout, keys, QTI) and `cnnlab quiz grade`, which names the mistake
  behind a wrong answer.

(A new VGG or ResNet depth: tests/test_networks_as_data.py.)
"""
from __future__ import annotations

import csv
import importlib
import json
import math
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("autograder", "solutions", "quizzes")


def _ours(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in OURS)


@pytest.fixture
def copied_tree(tmp_path):
    """(a root in tmp_path, copy(*folders), load(module)): copy() copies folders of the tree
    there, load() imports a module of our packages from the copy in place of the real one;
    the real modules are back after the test."""
    root = tmp_path / "tree"
    root.mkdir()

    def copy(*folders):
        for folder in folders:
            shutil.copytree(ROOT / folder, root / folder,
                            ignore=shutil.ignore_patterns("__pycache__"))

    saved = {n: sys.modules.pop(n) for n in [n for n in sys.modules if _ours(n)]}
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    try:
        yield root, copy, importlib.import_module
    finally:
        sys.path.remove(str(root))
        for n in [n for n in sys.modules if _ours(n)]:
            del sys.modules[n]
        sys.modules.update(saved)


def insert_before(path: Path, marker: str, text: str) -> None:
    """`text` written into `path` before the first line that starts with `marker`."""
    lines = path.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith(marker))
    lines[at:at] = [text]
    path.write_text("".join(lines))


# --- a new question ----------------------------------------------------------------------

A = "softmax_backprop"
DUMMY_CHECK = '''
def check_dummy_question_zero_scores(env):
    """A test's dummy: zero scores give the loss log(C) and dscores (1/C - onehot) / N."""
    import math

    import torch
    y = torch.tensor([0, 1, 2, 3])
    loss, dscores = env["softmax_loss"](torch.zeros(4, 5), y)
    assert abs(float(loss) - math.log(5)) < 1e-5, "zero scores: the loss is log(C)"
    want = torch.full((4, 5), 0.2)
    want[torch.arange(4), y] -= 1
    assert torch.allclose(dscores, want / 4, atol=1e-6), "zero scores: dscores is wrong"


'''
DUMMY_HIDDEN_CELL = (
    "# HIDDEN\n"
    "def test_check_dummy_question_zero_scores(env):\n"
    "    from autograder.checks.softmax_backprop import check_dummy_question_zero_scores "
    "as check\n"
    "    check(env)")


def add_dummy_question(root: Path) -> Path:
    """The README's two edits: a check listed in QUESTIONS, and the question's block in the
    master notebook (2 points, an empty public tests block). Returns the notebook."""
    checks = root / "autograder" / "checks" / f"{A}.py"
    insert_before(checks, "QUESTIONS = {", DUMMY_CHECK)
    text = checks.read_text()
    start = text.index("QUESTIONS = {")
    end = text.index("\n}\n", start)
    checks.write_text(text[:end] + '\n    "dummy_question": [check_dummy_question_zero_scores],'
                      + text[end:])
    master = root / "assignments" / A / f"{A}.ipynb"
    nb = nbformat.read(master, as_version=4)
    raw = nbformat.v4.new_raw_cell
    nb.cells += [raw("# BEGIN QUESTION\nname: dummy_question\npoints: 2"),
                 nbformat.v4.new_markdown_cell("A dummy question: `softmax_loss` on zeros."),
                 raw("# BEGIN TESTS"), raw("# END TESTS"), raw("# END QUESTION")]
    nbformat.write(nb, master)
    return master


def test_a_new_question_reaches_the_notebook_the_mutants_and_grading(copied_tree):
    root, copy, load = copied_tree
    copy("autograder", "solutions", "assignments")
    master = add_dummy_question(root)
    notebook_tools = load("autograder.notebook_tools")

    # the hidden test cells: missing until synced, then generated from the registry
    assert any("dummy_question" in p for p in notebook_tools.hidden_test_drift(master))
    assert notebook_tools.sync_hidden_tests(master) is True
    assert notebook_tools.drift(master) == []
    blocks = notebook_tools.question_blocks(notebook_tools.read(master))
    assert blocks["dummy_question"]["hidden"] == [DUMMY_HIDDEN_CELL]

    # grading: the runner grades it, worth the notebook's points
    runner = load("autograder.runner")
    assignment = runner.load_assignment(A)
    assert list(assignment.checks)[-1] == "dummy_question"
    assert assignment.points["dummy_question"] == 2.0
    reference = vars(load(f"solutions.{A}"))
    graded = runner.run_checks(lambda: dict(reference), assignment)
    assert graded["dummy_question"] == {**graded["dummy_question"], "score": 2.0,
                                        "possible": 2.0}

    # the mutants' question map: it reads softmax_loss, so a mistake there is graded on it,
    # and one in two_layer_forward_backward (which softmax_loss does not use) is not
    mutants = load("autograder.mutants")
    assert mutants.QUESTION_NAMES[A]["dummy_question"] == {"softmax_loss"}
    entries = {e["id"]: e for e in mutants.catalogue([A])}
    sign = entries["softmax_grad_sign"]  # dscores with the wrong sign
    assert "dummy_question" in mutants.questions_of(sign)
    assert mutants.grade_mutant(sign, assignment)["lost"]["dummy_question"] == 2.0
    assert "dummy_question" not in mutants.questions_of(entries["forward_no_b2"])


# --- a new quiz template -----------------------------------------------------------------

TEMPLATE = "dummy_default_stride_pool"
DUMMY_TEMPLATE = f'''
def {TEMPLATE}(rng, difficulty):
    """A test's dummy: a max pool with torch's default stride (the kernel)."""
    c, size = rng.choice([8, 24, 40]), rng.choice([20, 44, 52])
    prompt = (f"DUMMY TEMPLATE: MaxPool2d(kernel_size=2) gets an input of shape "
              f"{{shape_text((c, size, size))}}. What is its output shape? Answer as (C, H, W).")
    return make_question(rng, "{TEMPLATE}", difficulty, prompt, (c, size, size),
                         [{{"type": "pool", "name": "pool", "kernel": 2}}],
                         {{"layer": 0, "field": "output_shape"}})


'''


def cnnlab_in(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`cnnlab ARGS` with the copied packages in `root` ahead of the real ones."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-m", "cnnlab", *args], env=env, cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def test_a_new_template_is_one_function_and_reaches_a_quiz_and_its_grading(copied_tree):
    root, copy, _ = copied_tree
    copy("quizzes")
    templates = root / "quizzes" / "templates.py"
    insert_before(templates, "# The order slots cycle through", DUMMY_TEMPLATE)
    text = templates.read_text()
    tail = "block_params, stage_shape, pool_vs_conv)}"
    assert text.count(tail) == 1
    templates.write_text(text.replace(tail, tail[:-2] + f", {TEMPLATE})}}"))
    # nothing else of quizzes/ was touched
    changed = [p.name for p in (ROOT / "quizzes").rglob("*.py")
               if (root / "quizzes" / p.relative_to(ROOT / "quizzes")).read_bytes()
               != p.read_bytes()]
    assert changed == ["templates.py"]

    out = root / "quiz"
    cnnlab_in(root, "quiz", "generate", "--seed", "flows", "--variants", "3",
              "--templates", TEMPLATE, "--out", str(out))
    key = json.loads((out / "answer_key.json").read_text())
    assert len(key) == 3 and {e["template"] for e in key} == {TEMPLATE}
    for entry in key:
        c, h, w = entry["input_shape"]
        # a 2x2 pool, stride 2 by default: floor((H - 2) / 2) + 1 = H / 2 (H even)
        assert entry["answer"] == [c, h // 2, w // 2]
        assert entry["asked"] == {"layer": 0, "field": "output_shape"}
    handout = (out / "quiz.md").read_text()
    assert handout.count("DUMMY TEMPLATE: MaxPool2d(kernel_size=2)") == 3
    key_md = (out / "answer_key.md").read_text()
    for entry in key:
        c, h, w = entry["input_shape"]
        line = next(li for li in key_md.splitlines() if f"| {entry['id']} |" in li)
        # a multiple-choice answer shows its letter first ("C. (8, 26, 26)")
        assert "| output shape |" in line and line.endswith(f"({c}, {h // 2}, {w // 2}) |")
    with zipfile.ZipFile(out / "quiz.qti.zip") as qti:
        xml = "".join(qti.read(n).decode() for n in qti.namelist() if n.endswith(".xml"))
    assert all(f"[{e['id']}]" in xml for e in key)

    # graded: a right answer, and torch's default stride taken as 1, named as that mistake
    first = key[0]
    c, h, w = first["input_shape"]
    responses = root / "responses.csv"
    with open(responses, "w", newline="") as fh:
        rows = csv.writer(fh)
        rows.writerow(["student", "question", "response"])
        rows.writerow(["right", first["id"], f"({c}, {h // 2}, {w // 2})"])
        rows.writerow(["wrong", first["id"], f"{c}x{h - 1}x{w - 1}"])
    graded = json.loads(cnnlab_in(root, "quiz", "grade", str(responses), "--key",
                                  str(out / "answer_key.json"), "--json").stdout)
    answers = {s["student"]: s["answers"][0] for s in graded["students"]}
    assert answers["right"]["correct"] is True and answers["right"]["mistake"] is None
    assert answers["wrong"]["correct"] is False
    assert answers["wrong"]["mistake"] == "pool_stride_default_one"
    assert math.isclose(graded["questions"][first["question"]]["correct_rate"], 0.5)
