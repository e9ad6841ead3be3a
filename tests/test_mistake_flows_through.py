"""A new catalogued mistake is one entry in one file, solutions/mistakes/<assignment>.py, and
from there it reaches everything that reads the catalogue: the autograder's feedback, the
quiz's distractors and `quiz grade`'s diagnosis, and `cnnlab mutants` (both as a formula
mutant and repeated inside cost_table). Shown on a temporary copy of the packages with one
dummy entry written in, graded in a fresh process so that nothing of the real catalogue is
cached."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A mistake no entry of the catalogue makes: every weight counted twice.
DUMMY_ID = "conv_params_weights_twice"
DUMMY_DESCRIPTION = "counted every weight twice (a dummy entry of the flows-through test)"
DUMMY_ENTRY = f'''    _formula("{DUMMY_ID}", "conv_params",
             "{DUMMY_DESCRIPTION}",
             lambda in_channels, out_channels, kernel, bias=True:
             2 * out_channels * in_channels * kernel * kernel + (out_channels if bias else 0)),
'''

# Run in the copy: prints one JSON object of what each consumer of the catalogue made of it.
PROBE = r'''
import json, sys, tempfile
from autograder import mutants
from quizzes import grade as quiz_grade
from quizzes.generate import generate

DUMMY = sys.argv[1]
report = {}
entries = {e["id"]: e for e in mutants.catalogue(["cnn_costs"])}
report["mutants"] = sorted(i for i in entries if DUMMY in i)
for mutant_id in report["mutants"]:
    result = mutants.grade_mutant(entries[mutant_id])
    report[mutant_id] = {"caught": result["caught"], "feedback": result["feedback"]}

out = tempfile.mkdtemp()
key = json.load(open(generate(out, seed=3, variants=12, questions=2,
                              templates=["layer_params"])["key"]))
distractors = [(e, c) for e in key for c in e.get("choices") or () if c["mistake"] == DUMMY]
report["distractors"] = len(distractors)
if distractors:
    entry, choice = distractors[0]
    scored = quiz_grade.score_one(entry, str(choice["value"]))
    report["diagnosed"] = scored["mistake"]
    report["described"] = quiz_grade.describe(scored["mistake"]) if scored["mistake"] else None
    report["correct"] = scored["correct"]
print(json.dumps(report))
'''


@pytest.fixture(scope="module")
def flowed(tmp_path_factory):
    """What the catalogue's readers made of a copy with the dummy entry added."""
    copy = tmp_path_factory.mktemp("tree")
    for package in ("solutions", "autograder", "quizzes"):
        shutil.copytree(ROOT / package, copy / package,
                        ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
    catalogue = copy / "solutions" / "mistakes" / "cnn_costs.py"
    text = catalogue.read_text()
    anchor = "    # parameters\n"
    assert text.count(anchor) == 1, "the anchor line for the dummy entry moved"
    catalogue.write_text(text.replace(anchor, anchor + DUMMY_ENTRY))
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-c", PROBE, DUMMY_ID], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_dummy_entry_is_not_in_the_real_catalogue():
    from solutions.mistakes import BY_ID
    assert DUMMY_ID not in BY_ID


def test_a_new_mistake_reaches_cnnlab_mutants_and_is_caught(flowed):
    # the formula swapped into the reference, and the same slip made inside cost_table only
    assert flowed["mutants"] == [DUMMY_ID, f"table_{DUMMY_ID}"]
    assert flowed[DUMMY_ID]["caught"] and flowed[f"table_{DUMMY_ID}"]["caught"]


def test_a_new_mistake_reaches_the_feedback_by_its_description(flowed):
    feedback = flowed[DUMMY_ID]["feedback"]
    assert DUMMY_DESCRIPTION in feedback["conv_params"], feedback
    assert DUMMY_DESCRIPTION in flowed[f"table_{DUMMY_ID}"]["feedback"]["cost_table"]


def test_a_new_mistake_reaches_the_quiz_and_its_grading(flowed):
    assert flowed["distractors"] > 0  # offered as a wrong choice in some variants
    assert flowed["correct"] is False
    assert flowed["diagnosed"] == DUMMY_ID
    assert flowed["described"] == DUMMY_DESCRIPTION
