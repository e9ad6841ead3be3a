"""`quiz grade`: right answers in many spellings, wrong answers made with a catalogued
mistake are named, garbage is wrong without a crash, malformed files name the line."""
from __future__ import annotations

import csv
import json
import random

import pytest

from autograder import mistakes
from cnnlab.cli import main
from quizzes import calculator
from quizzes.csvio import QuizInputError, read_key
from quizzes.export_key import key_json
from quizzes.grade import (Lookup, grade, parse_number, parse_shape, read_responses, report,
                           score_one)
from quizzes.templates import DIFFICULTIES, TEMPLATES
from quizzes.variants import build_quiz


def _entries(seed=0, variants=4, difficulty="mixed"):
    return json.loads(key_json(build_quiz(seed, variants=variants, difficulty=difficulty)))


def _write_csv(path, rows):
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)


def _spell(value):
    if isinstance(value, list):
        return "x".join(str(v) for v in value)
    return f"{value:,}" if isinstance(value, int) else repr(value)


@pytest.mark.parametrize("text, value", [
    ("1,234", 1234), ("1 234 567", 1234567), ("12.25 KB", 12.25), ("3e6", 3e6),
    ("  42 ", 42), ("1_000", 1000), ("-5", -5)])
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1,23", "12,5", "1e999", "nan", "inf", "4 2 1",
                                  "(64, 56, 56)"])
def test_parse_number_rejects(text):
    assert parse_number(text) is None


@pytest.mark.parametrize("text, shape", [
    ("(64, 56, 56)", (64, 56, 56)), ("64x56x56", (64, 56, 56)), ("[64,56,56]", (64, 56, 56)),
    ("64 × 56 × 56", (64, 56, 56)), ("64 56 56", (64, 56, 56))])
def test_parse_shape(text, shape):
    assert parse_shape(text) == shape


def test_correct_answers_in_several_spellings():
    for e in _entries():
        a = e["answer"]
        spellings = [_spell(a)]
        if isinstance(a, list):
            spellings += [str(tuple(a)), "x".join(map(str, a[1:] + a[:1]))]  # HxWxC too
        else:
            spellings.append(str(a))
        for s in spellings:
            r = score_one(e, s)
            assert r["correct"] and r["mistake"] is None, (e["id"], s)


def _mistake_questions():
    """(mistake, key entry) for every catalogued mistake that some generated question shows."""
    found = {}
    for name in TEMPLATES:
        for difficulty in DIFFICULTIES:
            for seed in range(15):
                q = TEMPLATES[name](random.Random(seed), difficulty)
                for m in mistakes.CATALOGUE:
                    if m.id not in found:
                        entry = json.loads(key_json(type("Q", (), {"questions": [q]})))[0]
                        if q.asked["field"] in ("output_shape", "memory_kb", "params", "flops"):
                            wrong = mistakes.wrong_table(m, q.input_shape, q.layers)[
                                q.asked["layer"]][q.asked["field"]]
                            if not calculator.within(wrong, q.answer, q.tolerance):
                                found[m.id] = (entry, wrong)
    return found


MISTAKE_QUESTIONS = _mistake_questions()


@pytest.mark.parametrize("mistake", [m.id for m in mistakes.CATALOGUE])
def test_known_mistake_is_named(mistake):
    """The wrong value is computed here with the catalogue's own wrong_table, independently
    of the quiz calculator; the diagnosis names this mistake or one that gives the same
    value."""
    if mistake not in MISTAKE_QUESTIONS:
        pytest.skip(f"no generated question shows {mistake}")
    entry, wrong = MISTAKE_QUESTIONS[mistake]
    response = _spell(list(wrong) if isinstance(wrong, tuple) else wrong)
    r = score_one(entry, response)
    assert not r["correct"]
    assert r["mistake"] is not None, (mistake, entry["prompt"], response)
    named = mistakes.wrong_table(mistakes.BY_ID[r["mistake"]], entry["input_shape"],
                                 entry["layers"])[entry["asked"]["layer"]][entry["asked"]["field"]]
    assert mistakes.same_value(named, wrong)


def test_most_of_the_catalogue_shows_up_in_quizzes():
    assert len(MISTAKE_QUESTIONS) >= len(mistakes.CATALOGUE) - 2, \
        sorted(set(mistakes.BY_ID) - set(MISTAKE_QUESTIONS))


def test_every_distractor_is_diagnosed_as_its_mistake():
    for e in _entries(seed=3, variants=6):
        for c in e["choices"]:
            if c["mistake"]:
                r = score_one(e, _spell(c["value"]))
                assert not r["correct"] and r["mistake"] == c["mistake"], (e["id"], c)


@pytest.mark.parametrize("garbage", ["", "   ", "banana", "12 apples", "1e400", "-1",
                                     "9" * 400, "(1, 2)", "NaN", "💥", "0x1F", None])
def test_garbage_is_wrong_without_a_crash(garbage):
    for e in _entries(seed=5, variants=2):
        r = score_one(e, garbage)
        assert r["correct"] is False


def test_grade_simple_csv_end_to_end(tmp_path, capsys):
    entries = _entries(seed=9, variants=2)
    key = tmp_path / "key.json"
    key.write_text(json.dumps(entries))
    rows = [["student", "question", "response"]]
    first = [e for e in entries if e["id"].endswith("v01") or e["id"].endswith("v001")]
    for e in first:
        rows.append(["ann", e["id"], _spell(e["answer"])])
        wrong = next((c for c in e["choices"] if c["mistake"]), None)
        rows.append(["bob", e["id"], _spell(wrong["value"]) if wrong else "banana"])
    resp = tmp_path / "resp.csv"
    _write_csv(resp, rows)
    assert main(["quiz", "grade", str(resp), "--key", str(key), "--json",
                 "--plot", str(tmp_path / "m.png")]) == 0
    out = json.loads(capsys.readouterr().out)
    ann, bob = out["students"]
    assert ann["score"] == ann["possible"] == len(first)
    assert bob["score"] == 0
    assert sum(a["mistake"] is not None for a in bob["answers"]) >= len(first) - 2
    assert set(out["questions"]) == {e["question"] for e in entries}
    for q in out["questions"].values():
        assert q["correct_rate"] == 0.5
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["quiz", "grade", str(resp), "--key", str(key)]) == 0
    text = capsys.readouterr().out
    assert "ann: " in text and "likely " in text and "common mistakes" in text


def test_grade_roster_key_by_slot_and_canvas_export(tmp_path):
    roster = [{"id": "101", "name": "Ada"}, {"id": "102", "name": "Alan"}]
    quiz = build_quiz("c", roster=roster, questions=3)
    key_path = tmp_path / "key.json"
    key_path.write_text(key_json(quiz))
    key = read_key(key_path)
    lookup = Lookup(key)
    # simple CSV naming the slot, not the full id
    simple = tmp_path / "simple.csv"
    _write_csv(simple, [["Student", "Question", "Answer"]] +
               [[q.student, q.question, _spell(list(q.answer) if isinstance(q.answer, tuple)
                                              else q.answer)] for q in quiz.questions])
    result = grade(key, read_responses(simple, lookup))
    assert [s["score"] for s in result["students"]] == [3, 3]
    # Canvas Student Analysis: question columns '<canvas id>: <text>', each followed by points
    header = ["name", "id", "sis_id", "section", "section_id", "section_sis_id", "submitted",
              "attempt"]
    for i, q in enumerate(quiz.questions):
        header += [f"{9000 + i}: {q.prompt}", "1.0"]
    header += ["n correct", "n incorrect", "score"]
    rows = [header]
    for s in roster:
        row = [s["name"], s["id"], "", "S1", "1", "", "2026-11-25", "1"]
        for q in quiz.questions:
            if q.student == s["id"]:
                value = q.answer if s["id"] == "101" else next(
                    c.value for c in q.choices if not c.correct)
                row += [_spell(list(value) if isinstance(value, tuple) else value), "1"]
            else:
                row += ["", ""]
        rows.append(row + ["3", "0", "3"])
    canvas = tmp_path / "canvas.csv"
    _write_csv(canvas, rows)
    result = grade(key, read_responses(canvas, lookup))
    by = {s["student"]: s for s in result["students"]}
    assert by["101"]["score"] == 3 and by["102"]["score"] == 0
    assert by["101"]["possible"] == 3


@pytest.mark.parametrize("rows, line, words", [
    ([["student", "question", "response"], ["ann", "nope", "1"]], 2, "not in the key"),
    ([["student", "question", "response"], ["ann", "Q", "1"], ["ann", "Q", "2"]], 3,
     "second answer"),
    ([["student", "question", "response"], ["ann"]], 2, "columns"),
    ([["who", "what"], ["ann", "1"]], 1, "unknown responses format"),
    ([["name", "id", "sis_id", "77: some other question", "n correct"], ["a", "1", "", "3", "1"]],
     1, "names no question"),
])
def test_malformed_responses_name_the_line(tmp_path, rows, line, words):
    entries = _entries(seed=1, variants=1)
    rows = [[c.replace("Q", entries[0]["id"]) if c == "Q" else c for c in r] for r in rows]
    resp = tmp_path / "resp.csv"
    _write_csv(resp, rows)
    with pytest.raises(QuizInputError) as err:
        read_responses(resp, Lookup(entries))
    assert f"resp.csv line {line}:" in str(err.value) and words in str(err.value)


def test_malformed_key_names_the_line(tmp_path, capsys):
    entries = _entries(seed=1, variants=1)
    key = tmp_path / "key.json"
    text = "[\n" + ",\n".join(json.dumps(e) for e in entries) + "\n]\n"
    broken = json.loads(text)
    del broken[2]["answer"]
    key.write_text("[\n" + ",\n".join(json.dumps(e) for e in broken) + "\n]\n")
    with pytest.raises(QuizInputError, match=r"key.json line 4: entry 3 lacks answer"):
        read_key(key)
    key.write_text(text.replace('"tolerance": 0', '"tolerance": 0,,', 1))
    with pytest.raises(QuizInputError, match=r"key.json line 2: not valid JSON"):
        read_key(key)
    key.write_text('{"id": 1}')
    with pytest.raises(QuizInputError, match="line 1: expected a JSON list"):
        read_key(key)
    key.write_text(text)
    resp = tmp_path / "r.csv"
    resp.write_text("student,question,response\n")
    assert main(["quiz", "grade", str(resp), "--key", str(tmp_path / "missing.json")]) == 2
    assert "missing.json: cannot read" in capsys.readouterr().err


def test_canvas_export_of_a_variant_pool(tmp_path):
    """Without a roster Canvas gives each student one variant per group: the other
    variants' cells are empty, and the student's id is Canvas's."""
    quiz = build_quiz("pool", variants=3, questions=2)
    key_path = tmp_path / "key.json"
    key_path.write_text(key_json(quiz))
    key = read_key(key_path)
    header = ["name", "id", "sis_id", "section", "submitted", "attempt"]
    header += [h for i, q in enumerate(quiz.questions) for h in (f"{500 + i}: {q.prompt}", "1")]
    header += ["n correct", "n incorrect", "score"]
    rows = [header]
    for sid, variant in (("11", 0), ("12", 2)):
        row = [f"S{sid}", sid, "", "", "", "2"]
        for q in quiz.questions:
            mine = q.id.endswith(f"v{variant + 1:03d}")
            value = q.answer if sid == "11" else "garbage"
            text = (str(tuple(value)) if isinstance(value, tuple) else str(value))
            row += [text if mine else "", "1" if mine else ""]
        rows.append(row + ["", "", ""])
    canvas = tmp_path / "canvas.csv"
    _write_csv(canvas, rows)
    result = grade(key, read_responses(canvas, Lookup(key)))
    by = {s["student"]: s for s in result["students"]}
    assert (by["11"]["score"], by["11"]["possible"]) == (2, 2)
    assert by["12"]["score"] == 0
    assert result["questions"]["q01"]["correct_rate"] == 0.5


def test_two_mistakes_made_together_are_named():
    """A student who forgets the + 1 and gives bytes for KB: the wrong value is written out
    by hand here, the key's answer comes from torch (a real conv on the meta device)."""
    import torch

    conv = torch.nn.Conv2d(3, 16, 5, device="meta")
    c, h, w = conv(torch.empty(1, 3, 32, 32, device="meta")).shape[1:]
    entry = {"id": "pair", "prompt": "memory of conv1", "input_shape": [3, 32, 32],
             "layers": [{"type": "conv", "name": "conv1", "out_channels": 16, "kernel": 5}],
             "asked": {"layer": 0, "field": "memory_kb"}, "answer": c * h * w * 4 / 1024,
             "tolerance": 0.01}
    both_wrong = 16 * (32 - 5) * (32 - 5) * 4  # no + 1, and bytes
    r = score_one(entry, str(both_wrong))
    assert not r["correct"]
    assert r["mistake"] == "size_no_plus_one+memory_bytes"
    # One mistake alone is still named alone.
    assert score_one(entry, str(c * h * w * 4))["mistake"] == "memory_bytes"
    result = grade([entry], [("s1", entry, str(both_wrong))])
    text = report(result)
    assert mistakes.BY_ID["size_no_plus_one"].description in text
    assert mistakes.BY_ID["memory_bytes"].description in text
    assert result["questions"]["pair"]["mistakes"] == {"size_no_plus_one+memory_bytes": 1}
