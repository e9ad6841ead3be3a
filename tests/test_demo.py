"""`cnnlab demo` (issue 8): the main job end to end on the bundled samples."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograder import registry
from buildcache import seeded
from cnnlab.cli import main

ASSIGNMENTS = tuple(registry.master_notebooks())  # the one registry, not a list here

pytestmark = pytest.mark.slow
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    # As on a second `make demo`: the session's proved builds are there and are reused
    # (building itself is tested through tests/buildcache.py, once per session).
    seeded(tmp_path_factory, out / "build", ASSIGNMENTS)
    shown, log = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(shown), contextlib.redirect_stderr(log):
        assert main(["demo", "--out", str(out)]) == 0
    return out, shown.getvalue(), log.getvalue()


@pytest.fixture(scope="module")
def demo(demo_run):
    return demo_run[0]


def test_every_assignment_is_built(demo):
    for assignment in ASSIGNMENTS:
        assert (demo / "build" / assignment / "student" / f"{assignment}.ipynb").exists()
        assert list((demo / "build" / assignment / "autograder").glob("*.zip"))
        assert json.loads((demo / "build" / assignment / "leak_report.json").read_text())["ok"]


def test_samples_score_as_expected(demo):
    rows = {(r["assignment"], Path(r["submission"]).name): r
            for r in csv.DictReader(open(demo / "grades.csv"))}
    percent = {key: float(r["percent"]) for key, r in rows.items()}
    for assignment in ASSIGNMENTS:
        assert percent[(assignment, "correct.ipynb")] == 100
        assert percent[(assignment, "blank.ipynb")] == 0
        mistaken = [p for (a, name), p in percent.items()
                    if a == assignment and name not in ("correct.ipynb", "blank.ipynb")]
        assert mistaken and all(0 < p < 100 for p in mistaken), mistaken
    hostile = rows[("cnn_costs", "hostile.ipynb")]
    # the looping fc_params and the exiting fc_flops earn nothing; the rest keeps its marks
    assert float(hostile["fc_params"]) == 0 and float(hostile["fc_flops"]) == 0
    assert float(hostile["conv_output_size"]) == 2 and float(hostile["memory_kb"]) == 1


def test_feedback_names_the_mistakes(demo):
    records = {Path(r["submission"]).name: r
               for r in map(json.loads, open(demo / "grades.jsonl")) if r["assignment"] == "cnn_costs"}
    assert "+1" in records["missing_plus_one.ipynb"]["questions"]["conv_output_size"]["feedback"]
    assert "bytes" in records["bytes_not_kb.ipynb"]["questions"]["memory_kb"]["feedback"]


def test_plots_are_real_images(demo):
    for png in (demo / "scores.png", demo / "quiz" / "mistakes.png"):
        data = png.read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000


def test_quiz_for_the_roster(demo):
    key = json.loads((demo / "quiz" / "answer_key.json").read_text())
    roster = list(csv.DictReader(open(Path(__file__).parent.parent / "quizzes" / "samples" / "roster.csv")))
    assert {e["student"] for e in key} == {r["id"] for r in roster}
    with zipfile.ZipFile(demo / "quiz" / "quiz.qti.zip") as zf:
        names = zf.namelist()
        assert "imsmanifest.xml" in names
        for name in names:
            if name.endswith(".xml"):
                ET.fromstring(zf.read(name))  # every XML file parses
    report = (demo / "quiz" / "report.txt").read_text()
    assert report.strip()


def records_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in open(out / "grades.jsonl")]


def test_the_report_reads_top_to_bottom(demo_run):
    """Issue 13: every sample named and explained, lines wrapped between words, the smoke
    tests on their submission's record, the quiz's result said."""
    out, shown, log = demo_run
    legend = json.loads((Path(__file__).parent.parent / "samples" / "samples.json").read_text())
    for name in legend:
        assert shown.count(name) >= 2, name  # in the legend and in the score table
    lines = shown.splitlines()
    table = lines[next(i for i, l in enumerate(lines) if l.startswith("submission")):
                  next(i for i, l in enumerate(lines) if l.startswith("(each question"))]
    assert len(table) > len(legend) and all(len(line) <= 100 for line in table), table
    # wrapped between words: every question name is whole on its line
    questions = {q for r in records_of(out) for q in r["questions"]}
    for line in table[2:]:
        for token in line.replace(",", " ").split():
            if token.isidentifier() and "_" in token:
                assert token in questions, (token, line)
    assert "training smoke test" not in log  # no line without its submission
    for r in records_of(out):
        if r["assignment"] == "cnn_architectures" and "correct" in r["submission"]:
            assert any("training smoke test" in n for n in r.get("notes", [])), r.get("notes")
    assert "The quiz:" in shown and "students graded, mean" in shown
    assert "most common mistake:" in shown
    assert "built in" in log and "graded in" in log
    assert log.count("reused: a proved build from the same inputs is there") == 3


def test_the_score_figure_is_legible_on_a_slide(demo):
    from cnnlab.demo import scores_figure
    from test_plots import legibility_problems

    fig = scores_figure(records_of(demo))
    assert legibility_problems(fig) == []
    assert round(fig.get_figwidth() / fig.get_figheight(), 2) == round(16 / 9, 2)
