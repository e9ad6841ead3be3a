"""The gradebook (issue 16): mistake ids found in feedback, records kept and read back, a
regrade that skips what did not change, foreign and damaged files refused untouched, and two
runs writing one gradebook at once losing nothing."""
from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from autograder import gradebook
from autograder.gradebook import FEEDBACK_MISTAKES, Gradebook, GradebookError, mistake_ids
from solutions.mistakes.formulas import CATALOGUE
from cli_asserts import one_line_error
from cnnlab.cli import main

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


# --- mistake ids from feedback ----------------------------------------------------------

# Feedback as the checks wrote it for the bundled samples (cnnlab grade samples/*/*.ipynb).
SAMPLE_FEEDBACK = [
    ("cnn_costs", "conv_output_size",
     "`conv_output_size(227, 11, stride=4, padding=2)` returned 55: looks like it forgot the "
     "+1 in floor((W - K + 2P) / S) + 1.\n`conv_output_size(1, 1, 1, 0)` returned 0: looks "
     "like it forgot the +1 in floor((W - K + 2P) / S) + 1.", ["size_no_plus_one"]),
    ("cnn_costs", "pool_flops",
     "`pool_flops(64, 55, 55, 3, 2)` returned 389376: looks like the output size it uses is "
     "wrong: it forgot the +1 in the pooling output size (fix that in pool_output_size, which "
     "pool_flops should reuse).", ["pool_size_no_plus_one"]),
    ("cnn_costs", "cost_table",
     "cost_table on the lecture's LeNet-5 (input (1, 28, 28)): row 1 ('conv1', a conv layer), "
     "column 'memory_kb' is wrong (you gave 62720): looks like memory_kb gave bytes, not KB: "
     "divide elements x 4 bytes by 1024. Check memory_kb and the arguments cost_table passes "
     "to it.", ["memory_bytes"]),
    ("cnn_costs", "cost_table",
     "cost_table on the lecture's LeNet-5 (input (1, 28, 28)): row 1 ('conv1', a conv "
     "layer), column 'output_shape' is wrong (you gave (20, 27, 27)). Hint: conv gives "
     "(Cout, H', W')", []),
    ("softmax_backprop", "two_layer_forward_backward",
     "grads['W2'] is wrong for N=5, D=4, H=6, C=3, reg=0.1: it looks like you forgot the factor "
     "2 in the L2 gradient: d/dW of reg*sum(W**2) is 2*reg*W (the contract's L2 term has no "
     "1/2)", ["dw2_reg_without_2"]),
    ("softmax_backprop", "softmax_loss",
     "`softmax_loss` returns a wrong dscores for scores of shape (11, 2) with entries up to "
     "0.00231: it is N times too large; divide by N, since the loss is a mean over N rows. It "
     "should be (softmax(scores) - onehot(y)) / N", ["softmax_grad_not_divided_by_n"]),
    ("softmax_backprop", "two_layer_forward_backward",
     "grads['W1'] is wrong for N=5, D=4, H=6, C=3, reg=0.0: it looks like you forgot to divide "
     "by N (dscores is (softmax - onehot) / N)", ["softmax_grad_not_divided_by_n"]),
    ("cnn_architectures", "basic_block",
     "`BasicBlock(8, 8, stride=1)` with torchvision-layout weights loaded computes different "
     "outputs (eval mode): every layer inside the block computes the right values, but the "
     "block's output differs: check how forward combines them (the shortcut, the residual "
     "add, and the ReLU after the add)", ["block_combination"]),
    ("cnn_architectures", "resnet",
     "`resnet18(num_classes=10)` computes different outputs: the first layer whose output "
     "differs is `layer4.0.downsample.0`; everything before it matches",
     ["differs_at:layer4.0.downsample.0"]),
    ("cnn_costs", "fc_params", "`fc_params` is not implemented yet", []),
]


@pytest.mark.parametrize("assignment, question, feedback, ids", SAMPLE_FEEDBACK,
                         ids=[f"{a}-{q}-{i}" for i, (a, q, _, _) in enumerate(SAMPLE_FEEDBACK)])
def test_mistake_ids_of_the_samples_feedback(assignment, question, feedback, ids):
    assert mistake_ids(assignment, question, feedback) == ids


@pytest.mark.parametrize("mistake", CATALOGUE, ids=lambda m: m.id)
def test_every_catalogued_mistake_is_found_as_the_checks_phrase_it(mistake):
    # The three phrasings of autograder/checks/cnn_costs.py: the function's own mistake, a
    # mistake of the output size it reuses, and a cost_table cell.
    own = f"`{mistake.target}(3, 4)` returned 7: looks like it {mistake.description}."
    assert mistake_ids("cnn_costs", mistake.target, own) == [mistake.id]
    carried = (f"`conv_flops(1, 2)` returned 9: looks like the output size it uses is wrong: "
               f"it {mistake.description} (fix that in {mistake.target}, which conv_flops "
               f"should reuse).")
    assert mistake_ids("cnn_costs", "conv_flops", carried) == [mistake.id]
    table = (f"row 2 ('pool1', a pool layer), column 'flops' is wrong (you gave 5): looks like "
             f"{mistake.target} {mistake.description}. Check {mistake.target} and the "
             f"arguments cost_table passes to it.")
    assert mistake_ids("cnn_costs", "cost_table", table) == [mistake.id]


def test_a_mistake_named_as_an_alternative_is_not_counted():
    first, other = CATALOGUE[0], CATALOGUE[1]
    text = f"returned 3: looks like it {first.description} (or it {other.description})."
    assert mistake_ids("cnn_costs", first.target, text) == [first.id]
    table = (f"looks like {first.target} {first.description} (or {other.target} "
             f"{other.description}).")
    assert mistake_ids("cnn_costs", "cost_table", table) == [first.id]


def test_mistakes_named_on_several_lines_come_in_order_each_once():
    a, b = CATALOGUE[2], CATALOGUE[0]
    text = "\n".join([f"x: looks like it {a.description}.", f"y: looks like it {b.description}.",
                      f"z: looks like it {a.description}."])
    assert mistake_ids("cnn_costs", "conv_output_size", text) == [a.id, b.id]
    assert mistake_ids("cnn_costs", "q", "") == [] and mistake_ids("cnn_costs", "q", None) == []


# An example of each phrase as its check words it (the checks' own messages, shortened).
FEEDBACK_EXAMPLES = {
    "softmax_grad_not_divided_by_n": "returns a wrong dscores for scores: it is N times too large",
    "softmax_loss_sum_not_mean": "a wrong loss for x: it is the sum over the batch; the loss "
                                 "is the mean over the N rows",
    "softmax_loss_wrong_sign": "`softmax_loss` returns a wrong loss for x: it has the wrong "
                               "sign (cross-entropy is -log of the correct class's probability)",
    "softmax_grad_no_onehot": "a wrong dscores for x: subtract 1 at each row's correct class",
    "softmax_grad_sign_flipped": "a wrong dscores: its sign is flipped (it is softmax - "
                                 "onehot, not onehot - softmax)",
    "dw2_reg_without_2": "grads['W2'] is wrong for N=5: it looks like you forgot the factor 2 "
                         "in the L2 gradient",
    "dw1_reg_without_2": "grads['W1'] is wrong for N=5: it looks like you forgot the factor 2 "
                         "in the L2 gradient",
    "dw1_no_reg": "grads['W1'] is wrong for N=5: it looks like you forgot the L2 gradient "
                  "2*reg*W",
    "dw2_no_reg": "grads['W2'] is wrong for N=5: it looks like you forgot the L2 gradient "
                  "2*reg*W",
    "bias_regularized": "grads['b1'] is wrong: it looks like you regularized the bias: the L2 "
                        "term covers W1 and W2 only",
    "relu_mask_missing": "grads['W1'] is wrong: it looks like you forgot the ReLU's gradient",
    "train_history_without_l2": "departs at iteration 2. It looks like loss_history holds the "
                                "data loss only: record the loss",
    "train_ignores_reg": "It looks like the training ignores `reg`: pass it on",
    "train_weights_only": "It looks like only W1 and W2 are updated: the biases take a step",
    "block_combination": "the layers inside `layer1.0` compute the right values, but "
                         "`layer1.0`'s output differs: check how its forward combines them",
    "differs_at": "the first layer whose output differs is `features.3`; everything before",
}


@pytest.mark.parametrize("entry", FEEDBACK_MISTAKES, ids=lambda f: f.id)
def test_every_phrase_is_found_and_still_in_its_check(entry):
    found = mistake_ids(entry.assignment, "q", FEEDBACK_EXAMPLES[entry.id])
    assert found == (["differs_at:features.3"] if entry.id == "differs_at" else [entry.id])
    # A reworded check would stop being matched: its message must still hold the fragment.
    # (or in the mistake catalogue, whose descriptions the checks quote)
    source = "".join((ROOT / folder / f"{entry.assignment}.py").read_text()
                     for folder in ("autograder/checks", "solutions/mistakes"))
    assert entry.source in source, f"{entry.id}: {entry.source!r} is no longer in the checks"
    if entry.mutant:
        from autograder.mutants import SOURCE_MUTANTS
        assert entry.id in {m.id for m in SOURCE_MUTANTS}, f"{entry.id} is not a mutant id"
    assert gradebook.describe(entry.id)


def test_describe():
    m = CATALOGUE[0]
    assert gradebook.describe(m.id) == m.description
    assert gradebook.describe(f"{m.id}+{CATALOGUE[1].id}") == \
        f"{m.description}; and {CATALOGUE[1].description}"
    assert gradebook.describe("differs_at:layer4.0") == \
        "the first layer whose output differs is `layer4.0`"
    assert gradebook.describe("a_newer_id") == "a_newer_id"


# --- who, and quiz items ----------------------------------------------------------------

def test_student_ids():
    assert gradebook.student_id("subs/s1001.ipynb") == "s1001"
    assert gradebook.student_id("subs/ada/hw.ipynb", "folder") == "ada"
    assert gradebook.student_id("doejane_12345_678901_cnn_costs.ipynb", "canvas") == "12345"
    assert gradebook.student_id("doejane_LATE_12345_678901_cnn_costs-1.ipynb", "canvas") == "12345"
    assert gradebook.student_id("s7.ipynb", "canvas") == "s7"
    assert gradebook.quiz_name("quiz1/answer_key.json") == "quiz1"
    assert gradebook.quiz_name("keys/midterm.json") == "midterm"


def test_item_parameters():
    conv = {"asked": {"layer": 0, "field": "output_shape"},
            "layers": [{"type": "conv", "kernel": 3, "stride": 2, "padding": 1}]}
    assert gradebook.item_parameters(conv) == {"field": "output_shape", "layer": "conv",
                                               "kernel": 3, "stride": 2, "padding": 1,
                                               "padded": "on"}
    pool = {"asked": {"layer": 0, "field": "flops"}, "layers": [{"type": "pool", "kernel": 2}]}
    assert gradebook.item_parameters(pool)["stride"] == 2  # torch's default: the kernel
    assert gradebook.item_parameters(pool)["padded"] == "off"
    stack = {"asked": {"layer": None, "field": "block_params"},
             "layers": [{"type": "conv", "kernel": 1}, {"type": "conv", "kernel": 3,
                                                         "padding": 1}]}
    p = gradebook.item_parameters(stack)
    assert p["layer"] == "stack" and p["kernel"] == "mixed" and p["stride"] == 1
    fc = {"asked": {"layer": 1, "field": "params"},
          "layers": [{"type": "flatten"}, {"type": "fc", "out_features": 10}]}
    assert gradebook.item_parameters(fc) == {"field": "params", "layer": "fc"}


# --- storing and reading ----------------------------------------------------------------

def record(student="s1", total=1.0, feedback=None, error=None, assignment="cnn_costs"):
    feedback = feedback or f"`conv_output_size(5, 3)` returned 2: looks like it " \
                           f"{CATALOGUE[0].description}."
    return {"submission": f"subs/{student}.ipynb", "assignment": assignment, "total": total,
            "possible": 3.0, "error": error, "notes": ["a note"], "sandbox": ["uid", "audit"],
            "seconds": 1.5,
            "questions": {"conv_output_size": {"score": total, "possible": 2.0,
                                               "feedback": feedback},
                          "memory_kb": {"score": 0.0 if error else 1.0, "possible": 1.0,
                                        "feedback": "all tests passed"}}}


def test_a_record_is_kept_whole_with_its_mistakes(tmp_path):
    db = tmp_path / "gradebook.sqlite"
    with Gradebook(db) as book:
        book.add_record(record(), student="s1", content_hash="h1", grader="g1")
    with Gradebook(db, write=False) as book:
        [got] = book.records()
    want = record()
    for key in ("submission", "assignment", "total", "possible", "error", "notes", "sandbox",
                "seconds"):
        assert got[key] == want[key], key
    assert got["student"] == "s1" and got["content_hash"] == "h1" and got["grader"] == "g1"
    assert got["cnnlab_version"] == gradebook.cnnlab_version() and got["kind"] == "notebook"
    assert time.strptime(got["graded_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert list(got["questions"]) == ["conv_output_size", "memory_kb"]
    assert got["questions"]["conv_output_size"]["mistakes"] == [CATALOGUE[0].id]
    assert got["questions"]["memory_kb"] == {"score": 1.0, "possible": 1.0,
                                             "feedback": "all tests passed", "mistakes": []}
    # Plain SQL sees the same: the schema is for people too.
    con = sqlite3.connect(db)
    assert con.execute("SELECT mistake, count(*) FROM mistakes GROUP BY mistake").fetchall() \
        == [(CATALOGUE[0].id, 1)]
    assert con.execute("PRAGMA user_version").fetchone()[0] == gradebook.SCHEMA_VERSION
    assert con.execute("PRAGMA application_id").fetchone()[0] == gradebook.APPLICATION_ID


def test_the_latest_record_counts_and_history_stays(tmp_path):
    db = tmp_path / "g.sqlite"
    with Gradebook(db) as book:
        book.add_record(record(total=1.0), student="s1", content_hash="a", grader="g")
        book.add_record(record("s2"), student="s2", content_hash="b", grader="g")
        book.add_record(record(total=2.0, feedback="all tests passed"), student="s1",
                        content_hash="c", grader="g")
        latest = book.records()
        everything = book.records(latest=False)
    assert [(r["student"], r["total"]) for r in latest] == [("s2", 1.0), ("s1", 2.0)]
    assert len(everything) == 3


def test_unchanged_means_same_bytes_same_grader_and_it_ran(tmp_path):
    with Gradebook(tmp_path / "g.sqlite") as book:
        book.add_record(record(), student="s1", content_hash="h", grader="g")
        book.add_record(record("s3", error="not a notebook"), student="s3", content_hash="h3",
                        grader="g")
        assert book.unchanged("s1", "cnn_costs", "h", "g")["student"] == "s1"
        assert book.unchanged("s1", "cnn_costs", "other", "g") is None
        assert book.unchanged("s1", "cnn_costs", "h", "newer grader") is None
        assert book.unchanged("s1", "softmax_backprop", "h", "g") is None
        assert book.unchanged("s2", "cnn_costs", "h", "g") is None
        assert book.unchanged("s3", "cnn_costs", "h3", "g") is None  # could not run: again


def test_the_grader_version_names_the_code(tmp_path):
    version = gradebook.grader_version("cnn_costs", "sandbox")
    assert version.startswith(f"cnnlab {gradebook.cnnlab_version()} sandbox ")
    assert version != gradebook.grader_version("cnn_costs", "otter")
    assert gradebook.code_fingerprint("cnn_costs") != gradebook.code_fingerprint("softmax_backprop")


# --- what is refused, untouched ----------------------------------------------------------

def _foreign(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE photos (id INTEGER, name TEXT)")
    con.execute("INSERT INTO photos VALUES (1, 'cat.jpg')")
    con.commit()
    con.close()


def _other_program(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA application_id = 1234")
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()


def _newer(path: Path) -> None:
    with Gradebook(path):
        pass
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {gradebook.SCHEMA_VERSION + 1}")
    con.commit()
    con.close()


def _damaged(path: Path) -> None:
    with Gradebook(path) as book:
        book.add_records([(record(f"s{i}", feedback="x" * 3000), f"s{i}", f"h{i}", "g")
                          for i in range(40)])
    data = bytearray(path.read_bytes())
    noise = random.Random(16)
    page = 4096
    for offset in range(2 * page, len(data) - page, 3 * page):
        data[offset + 8: offset + 200] = noise.randbytes(192)  # b-tree headers and cells
    path.write_bytes(bytes(data))


def _missing_tables(path: Path) -> None:
    with Gradebook(path):
        pass
    con = sqlite3.connect(path)
    con.execute("DROP TABLE mistakes")
    con.commit()
    con.close()


BAD_FILES = {
    "text": (lambda p: p.write_text("student,score\ns1,3\n"), "not an SQLite database"),
    "binary": (lambda p: p.write_bytes(random.Random(1).randbytes(5000)),
               "not an SQLite database"),
    "foreign sqlite": (_foreign, "another program (tables photos)"),
    "other application": (_other_program, "another program (application_id 0x4d2)"),
    "newer schema": (_newer, "written by a newer cnnlab"),
    "damaged": (_damaged, "damaged"),
    "tables missing": (_missing_tables, "tables missing: mistakes"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
@pytest.mark.parametrize("write", [True, False], ids=["write", "read"])
def test_a_foreign_or_damaged_file_is_refused_and_left_as_it_is(kind, write, tmp_path):
    make, words = BAD_FILES[kind]
    path = tmp_path / "gradebook.sqlite"
    make(path)
    before = path.read_bytes()
    with pytest.raises(GradebookError) as err:
        Gradebook(path, write=write).records()
    message = str(err.value)
    assert words in message and "was not changed" in message and "\n" not in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook.sqlite"]


def test_cli_refuses_a_foreign_gradebook_in_one_line(tmp_path, capsys):
    path = tmp_path / "g.sqlite"
    _foreign(path)
    before = path.read_bytes()
    assert main(["grade", str(tmp_path / "x.ipynb"), "--db", str(path)]) == 2
    one_line_error(capsys, "--db", "another program")
    assert main(["report", "--db", str(path), "--out", str(tmp_path / "out")]) == 2
    one_line_error(capsys, "--db", "another program")
    assert path.read_bytes() == before


def test_other_paths_are_refused(tmp_path):
    with pytest.raises(GradebookError, match="is a folder"):
        Gradebook(tmp_path)
    with pytest.raises(GradebookError, match="no such gradebook"):
        Gradebook(tmp_path / "none.sqlite", write=False)
    assert not (tmp_path / "none.sqlite").exists()
    with pytest.raises(GradebookError, match="does not exist"):
        Gradebook(tmp_path / "nowhere" / "g.sqlite")
    (tmp_path / "empty.sqlite").write_bytes(b"")
    with pytest.raises(GradebookError, match="not a gradebook yet"):
        Gradebook(tmp_path / "empty.sqlite", write=False)
    with Gradebook(tmp_path / "empty.sqlite") as book:  # an empty file becomes one
        assert book.records() == []


# --- two writers at once ------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys, time
    from autograder.gradebook import Gradebook
    path, name, n, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    while time.time() < start:
        time.sleep(0.001)
    with Gradebook(path) as book:
        for i in range(n):
            record = {"submission": f"{name}/s{i}.ipynb", "assignment": "cnn_costs",
                      "total": 1.0, "possible": 2.0, "error": None, "notes": [],
                      "sandbox": None,
                      "questions": {"q": {"score": 1.0, "possible": 2.0,
                                          "feedback": "looks like it forgot the +1 in the "
                                                      "pooling output size"}}}
            book.add_record(record, student=f"{name}-s{i}", content_hash=str(i), grader="g")
""")


def test_two_runs_writing_one_new_gradebook_at_once_lose_nothing(tmp_path):
    db, n = tmp_path / "shared.sqlite", 150
    start = time.time() + 1.5  # both start together, on a gradebook neither has made yet
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), name, str(n),
                               str(start)], env=ENV, stderr=subprocess.PIPE, text=True)
             for name in ("a", "b")]
    errors = [p.communicate(timeout=240)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    with Gradebook(db, write=False) as book:
        records = book.records()
    assert len(records) == 2 * n
    assert {r["student"] for r in records} == {f"{w}-s{i}" for w in "ab" for i in range(n)}
    assert all(r["questions"]["q"]["mistakes"] == ["pool_size_no_plus_one"] for r in records)


# --- cnnlab grade --db: what is unchanged is not graded again -----------------------------

def _unchanged_class(folder: Path, db: Path, n: int) -> list[Path]:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import bench_report
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return bench_report.unchanged_class(folder, db, n)


def test_grade_with_db_skips_unchanged_notebooks(tmp_path, capsys):
    db = tmp_path / "g.sqlite"
    paths = _unchanged_class(tmp_path, db, 3)
    assert main(["grade", *map(str, paths), "--db", str(db), "--json",
                 "--csv", str(tmp_path / "grades.csv")]) == 0
    out = capsys.readouterr()
    assert "3 of 3 notebooks unchanged" in out.err
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert [r["submission"] for r in lines] == [str(p) for p in paths]
    assert all(r["total"] == r["possible"] == 14 for r in lines)
    assert list(lines[0]) == ["submission", "assignment", "total", "possible", "questions",
                              "error", "notes", "sandbox"]
    rows = (tmp_path / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("submission,assignment,total,possible,percent,conv_output_size")
    assert len(rows) == 4
    with Gradebook(db, write=False) as book:
        assert len(book.records(latest=False)) == 3  # nothing stored again


def test_regrading_an_unchanged_class_of_100_takes_at_most_5_s(tmp_path):
    for attempt in range(3):
        gradebook._FINGERPRINTS.clear()
        before = gradebook.code_fingerprint("cnn_costs")
        folder = tmp_path / f"try{attempt}"
        folder.mkdir()
        db = folder / "g.sqlite"
        paths = _unchanged_class(folder, db, 100)
        start = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, "-m", "cnnlab", "grade", *map(str, paths),
                                   "--db", str(db), "--csv", str(folder / "g.csv")], cwd=ROOT,
                                  env=ENV, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            done = None  # it is grading them: the grading code changed meanwhile?
        took = time.perf_counter() - start
        gradebook._FINGERPRINTS.clear()
        if done is None or "100 of 100" not in done.stderr:
            # Someone edited the grading code while this ran (this working tree is shared):
            # then every notebook is rightly graded again. Try again; else it is a failure.
            if gradebook.code_fingerprint("cnn_costs") != before:
                continue
        break
    assert done is not None and done.returncode == 0, done and done.stderr
    assert "100 of 100 notebooks unchanged" in done.stderr
    assert took <= 5.0, f"{took:.2f} s"


# --- cnnlab quiz grade --db -----------------------------------------------------------

@pytest.fixture(scope="module")
def demo_quiz(tmp_path_factory):
    from quizzes.generate import generate
    out = tmp_path_factory.mktemp("quiz1")
    generate(out, "demo-2026", None, ROOT / "quizzes" / "samples" / "roster.csv")
    return out / "answer_key.json"


def test_quiz_grade_stores_each_students_answers(demo_quiz, tmp_path, capsys):
    responses = ROOT / "samples" / "quiz" / "responses.csv"
    db = tmp_path / "g.sqlite"
    assert main(["quiz", "grade", str(responses), "--key", str(demo_quiz), "--json",
                 "--db", str(db)]) == 0
    out = capsys.readouterr()
    graded = json.loads(out.out)
    assert f"stored {len(graded['students'])} students' answers" in out.err
    with Gradebook(db, write=False) as book:
        stored = book.records("quiz")
    assert {r["student"]: r["total"] for r in stored} == \
        {s["student"]: s["score"] for s in graded["students"]}
    name = demo_quiz.parent.name
    assert {r["assignment"] for r in stored} == {name}
    # Every mistake quiz grade named is in the gradebook, per question, as often.
    counts: dict = {}
    for r in stored:
        for slot, q in r["questions"].items():
            assert q["item"] and q["template"] and isinstance(q["parameters"], dict)
            for m in q["mistakes"]:
                counts.setdefault(slot, {}).setdefault(m, 0)
                counts[slot][m] += 1
    assert counts == {slot: q["mistakes"] for slot, q in graded["questions"].items()
                      if q["mistakes"]}


def test_two_quiz_grades_writing_one_gradebook_at_once_lose_nothing(demo_quiz, tmp_path):
    responses = ROOT / "samples" / "quiz" / "responses.csv"
    db = tmp_path / "g.sqlite"
    procs = [subprocess.Popen([sys.executable, "-m", "cnnlab", "quiz", "grade", str(responses),
                               "--key", str(demo_quiz), "--db", str(db)], cwd=ROOT, env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errors = [p.communicate(timeout=240)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    with Gradebook(db, write=False) as book:
        everything = book.records(latest=False)
        latest = book.records()
    assert len(everything) == 3 * len(latest) == 3 * 12
