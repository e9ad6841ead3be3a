"""One scoring rule (autograder/scoring.py) for both engines and every output, checked
against exact fractions; and the two engines' agreement, on every bundled sample that does
not attack the grader."""
from __future__ import annotations

import csv
import io
import json
import re
from fractions import Fraction
from pathlib import Path

import pytest

from autograder import records, scoring
from autograder.runner import known_assignments, load_assignment

ROOT = Path(__file__).resolve().parent.parent


def _half_up(value: Fraction, places: int = 2) -> Fraction:
    scaled = value * 10**places
    whole = scaled.numerator // scaled.denominator
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole, 10**places)


@pytest.mark.parametrize("possible,passed,checks", [
    (2, 1, 3), (2, 2, 3), (1, 1, 3), (3, 2, 3), (1, 1, 2), (2, 1, 7), (1, 0, 4), (2, 4, 4),
    (1.5, 1, 3), (3, 1, 8)])
def test_question_score_is_the_share_rounded_half_up(possible, passed, checks):
    exact = Fraction(str(possible)) * passed / checks
    assert scoring.question_score(possible, passed, checks) == float(_half_up(exact))


def test_total_is_the_sum_of_the_parts_shown():
    parts = [scoring.question_score(2, 1, 3), scoring.question_score(2, 1, 3),
             scoring.question_score(1, 1, 3), 0.1, 0.2]
    assert scoring.total(parts) == float(sum(Fraction(str(p)) for p in parts))
    assert scoring.total([0.1, 0.2]) == 0.3  # no float noise
    assert scoring.question_score(2, 0, 0) == 0.0


def test_format_points():
    assert [scoring.format_points(x) for x in (14.0, 10.5, 6.34, 0.0, 1.9999999999999996)] == \
        ["14", "10.5", "6.34", "0", "2"]
    assert scoring.percent(6.34, 14) == 45.3 and scoring.percent(0, 0) == 0.0


def _record():
    return {"submission": "s.ipynb", "assignment": "cnn_costs", "total": 6.34, "possible": 14.0,
            "questions": {"a": {"score": 0.67, "possible": 2.0, "feedback": "looks like x"},
                          "b": {"score": 5.67, "possible": 12.0, "feedback": "y"}},
            "error": None, "notes": ["cell 4 raised SystemExit"], "sandbox": ["uid", "seccomp"]}


def test_text_csv_and_json_show_the_same_numbers():
    record = _record()
    text = records.format_table(record)
    assert "6.34 / 14" in text and "0.67 / 2" in text and "note: cell 4 raised SystemExit" in text
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(records.csv_header(["a", "b"]))
    writer.writerow(records.csv_row(record, ["a", "b"]))
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert (row["total"], row["possible"], row["percent"], row["a"], row["b"]) == \
        ("6.34", "14", "45.3", "0.67", "5.67")
    assert row["notes"] == "cell 4 raised SystemExit" and row["sandbox"] == "uid seccomp"
    line = json.loads(records.json_line(record))
    assert list(line) == list(records.JSON_KEYS)
    assert line["total"] == 6.34 and line["notes"] == ["cell 4 raised SystemExit"]


def _hidden_checks_in_master(assignment: str) -> dict[str, list[str]]:
    """question -> the check names its hidden test cells import, in notebook order."""
    nb = json.loads((ROOT / "assignments" / assignment / f"{assignment}.ipynb").read_text())
    found: dict[str, list[str]] = {}
    question = None
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "raw" and source.lstrip().startswith("# BEGIN QUESTION"):
            question = re.search(r"^name:\s*(\S+)", source, re.M).group(1)
            found[question] = []
        elif cell["cell_type"] == "code" and source.lstrip().startswith("# HIDDEN"):
            found[question] += re.findall(r"import (check_\w+)", source)
    return found


@pytest.mark.parametrize("assignment", known_assignments())
def test_hidden_tests_are_the_sandbox_checks(assignment):
    """The Otter engine scores the hidden tests; they must be the sandbox engine's checks,
    question by question and in the same order, or the engines would score apart."""
    checks = {q: [c.__name__ for c in cs] for q, cs in load_assignment(assignment).checks.items()}
    assert _hidden_checks_in_master(assignment) == checks


# ----------------------------------------------------------------------------- engines


def _samples():
    return sorted(p for p in (ROOT / "samples").glob("*/*.ipynb") if p.stem != "hostile")


@pytest.mark.slow
def test_both_engines_give_every_sample_the_same_scores(tmp_path_factory):
    from autograder import grade
    from tests.buildcache import built

    samples = _samples()
    assert {p.parent.name for p in samples} == set(known_assignments())
    for assignment in known_assignments():
        out = built(tmp_path_factory, assignment)
    sandbox = grade.grade_many(samples, engine="sandbox", jobs=2)
    otter = grade.grade_many(samples, out, engine="otter", jobs=2)
    for s, o in zip(sandbox, otter):
        assert not s.get("error") and not o.get("error"), (s.get("error"), o.get("error"))
        assert (o["total"], o["possible"]) == (s["total"], s["possible"]), s["submission"]
        assert {q: (r["score"], r["possible"]) for q, r in o["questions"].items()} == \
            {q: (r["score"], r["possible"]) for q, r in s["questions"].items()}, s["submission"]


def test_build_does_not_switch_the_engine(capsys):
    from cnnlab.cli import main

    notebook = str(ROOT / "samples" / "cnn_costs" / "correct.ipynb")
    assert main(["grade", notebook, "--build", "somewhere"]) == 2
    assert "--build is only used with --engine otter" in capsys.readouterr().err


def test_the_otter_engine_warns_on_every_run(tmp_path, capsys):
    from cnnlab.cli import main

    for _ in range(2):  # a notebook that is not one: no kernel starts, the warning still shows
        (tmp_path / "x.ipynb").write_text("garbage")
        main(["grade", str(tmp_path / "x.ipynb"), "--engine", "otter", "--build", str(tmp_path),
              "--assignment", "cnn_costs"])
        assert "warning: --engine otter does not guard against hostile code" in \
            capsys.readouterr().err
