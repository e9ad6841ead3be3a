"""Seeds, rosters and files: the same seed gives the same bytes; a student's questions
depend only on the seed and their id."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from cnnlab.cli import main
from quizzes.csvio import QuizInputError, read_roster
from quizzes.export_key import key_entry
from quizzes.generate import generate
from quizzes.variants import build_quiz, parse_difficulty, plan

SAMPLE_ROSTER = Path(__file__).resolve().parent.parent / "quizzes" / "samples" / "roster.csv"
FILES = ("quiz.qti.zip", "quiz.md", "answer_key.json")


def _bytes(d):
    return {name: (Path(d) / name).read_bytes() for name in FILES}


def test_same_seed_same_bytes_different_seed_different(tmp_path):
    a = _bytes(generate(tmp_path / "a", "fall-2026", variants=3, difficulty="mixed")["key"].parent)
    b = _bytes(generate(tmp_path / "b", "fall-2026", variants=3, difficulty="mixed")["key"].parent)
    c = _bytes(generate(tmp_path / "c", "spring-2027", variants=3, difficulty="mixed")["key"].parent)
    assert a == b
    for name in FILES:
        assert a[name] != c[name], name


def test_same_seed_same_bytes_with_roster(tmp_path):
    a = _bytes(generate(tmp_path / "a", 7, roster_path=SAMPLE_ROSTER)["key"].parent)
    b = _bytes(generate(tmp_path / "b", 7, roster_path=SAMPLE_ROSTER)["key"].parent)
    assert a == b


def _per_student(quiz):
    out = {}
    for q in quiz.questions:
        out.setdefault(q.student, []).append(json.dumps(key_entry(q), sort_keys=True))
    return out


def test_roster_stability_order_and_size():
    roster = read_roster(SAMPLE_ROSTER)
    base = _per_student(build_quiz("s", roster=roster, difficulty="mixed"))
    shuffled = list(roster)
    random.Random(3).shuffle(shuffled)
    assert _per_student(build_quiz("s", roster=shuffled, difficulty="mixed")) == base
    fewer = roster[::3]
    more = roster + [{"id": f"x{i}", "name": ""} for i in range(20)]
    for other in (fewer, more):
        got = _per_student(build_quiz("s", roster=other, difficulty="mixed"))
        for sid, entries in got.items():
            if sid in base:
                assert entries == base[sid]
    # different students get different quizzes
    assert len({tuple(v) for v in base.values()}) == len(base)


def test_variants_are_stable_when_more_are_asked():
    three = build_quiz(1, variants=3).questions
    five = {q.id: q.answer for q in build_quiz(1, variants=5).questions}
    assert all(five[q.id] == q.answer for q in three)


def test_plan_cycles_templates_and_difficulties():
    slots = plan(11, "easy,hard")
    assert [s[0] for s in slots][:2] == ["q01", "q02"]
    assert slots[9][1] == slots[0][1]
    assert [s[2] for s in slots[:3]] == ["easy", "hard", "easy"]
    assert parse_difficulty("mixed") == ["easy", "medium", "hard"]
    with pytest.raises(ValueError):
        parse_difficulty("impossible")


def test_roster_formats(tmp_path):
    p = tmp_path / "canvas.csv"
    p.write_text("Student,ID,SIS User ID,SIS Login ID,Section\n"
                 "    Points Possible,,,,\n"
                 '"Lovelace, Ada",101,A1,ada,S1\n'
                 '"Turing, Alan",102,A2,alan,S1\n', encoding="utf-8-sig")
    assert read_roster(p) == [{"id": "101", "name": "Lovelace, Ada"},
                              {"id": "102", "name": "Turing, Alan"}]
    p.write_text("SIS User ID,name\nA1,Ada\n")
    assert read_roster(p) == [{"id": "A1", "name": "Ada"}]
    assert len(read_roster(SAMPLE_ROSTER)) == 12


@pytest.mark.parametrize("text, line, words", [
    ("name,email\nAda,a@x\n", 1, "no student id column"),
    ("id,name\ns1,Ada\n,Bob\n", 3, "empty student id"),
    ("id,name\ns1,Ada\ns2,Bob\ns1,Eve\n", 4, "already on line 2"),
    ("", 1, "empty file"),
    ('id,name\ns1,"Ada\n', 2, "not valid CSV"),
    ("name,id\nAda\n", 2, "columns"),
])
def test_malformed_roster_names_the_line(tmp_path, text, line, words):
    p = tmp_path / "roster.csv"
    p.write_text(text)
    with pytest.raises(QuizInputError) as err:
        read_roster(p)
    assert f"roster.csv line {line}:" in str(err.value) and words in str(err.value)


def test_cli_generate_and_errors(tmp_path, capsys):
    assert main(["quiz", "generate", "--seed", "1", "--variants", "2", "--questions", "4",
                 "--out", str(tmp_path / "q")]) == 0
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == sorted(FILES)
    key = json.loads((tmp_path / "q" / "answer_key.json").read_text())
    assert len(key) == 8
    for entry in key:
        assert {"id", "student", "prompt", "input_shape", "layers", "asked", "answer",
                "tolerance"} <= set(entry)
        assert set(entry["asked"]) == {"layer", "field"}
    capsys.readouterr()
    assert main(["quiz", "generate", "--seed", "1", "--roster", str(SAMPLE_ROSTER), "--json",
                 "--out", str(tmp_path / "j")]) == 0
    report = json.loads(capsys.readouterr().out)
    students = len(read_roster(SAMPLE_ROSTER))
    assert report["students"] == students and report["variants"] is None
    key = json.loads(Path(report["files"]["key"]).read_text())
    assert len(key) == students * report["questions"]
    assert {Path(f).name for f in report["files"].values()} == set(FILES)
    bad = tmp_path / "bad.csv"
    bad.write_text("id\ns1\ns1\n")
    assert main(["quiz", "generate", "--seed", "1", "--roster", str(bad),
                 "--out", str(tmp_path / "r")]) == 2
    assert "bad.csv line 3" in capsys.readouterr().err
    assert main(["quiz", "generate", "--seed", "1", "--out", str(tmp_path / "r")]) == 2
    assert main(["quiz", "generate", "--seed", "1", "--variants", "1", "--difficulty", "x",
                 "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "difficulty" in err


def test_markdown_sections_and_answer_sheet(tmp_path):
    out = generate(tmp_path, "m", roster_path=SAMPLE_ROSTER, questions=3)
    text = out["markdown"].read_text()
    assert text.count("## Ada Lovelace (s1001)") == 2  # the quiz, then the answer sheet
    quiz_part, sheet = text.split("# Answer sheet")
    for q in out["quiz"].questions:
        assert q.id in quiz_part and q.id in sheet
