"""`cnnlab demo` (issue 8): the main job end to end on the bundled samples."""
from __future__ import annotations

import csv
import json
import zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cnnlab.cli import main

pytestmark = pytest.mark.slow
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out)]) == 0
    return out


def test_every_assignment_is_built(demo):
    for assignment in ("cnn_costs", "cnn_architectures", "softmax_backprop"):
        assert (demo / "build" / assignment / "student" / f"{assignment}.ipynb").exists()
        assert list((demo / "build" / assignment / "autograder").glob("*.zip"))
        assert json.loads((demo / "build" / assignment / "leak_report.json").read_text())["ok"]


def test_samples_score_as_expected(demo):
    rows = {(r["assignment"], r["submission"]): r for r in csv.DictReader(open(demo / "grades.csv"))}
    percent = {key: float(r["percent"]) for key, r in rows.items()}
    for assignment in ("cnn_costs", "cnn_architectures", "softmax_backprop"):
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
