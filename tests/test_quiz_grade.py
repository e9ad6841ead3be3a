"""`quiz grade`: right answers in many spellings, wrong answers made with a catalogued
mistake are named, garbage is wrong without a crash, malformed files name the line."""
from __future__ import annotations

import csv
import json
import random

import pytest

from solutions.mistakes import formulas as mistakes
from cnnlab.cli import main
from quizzes import calculator
from quizzes.csvio import QuizInputError, read_key
from quizzes.export_key import key_json
from quizzes.grade import (Lookup, grade, parse_number, parse_shape, read_responses, report,
                           score_one)
from quizzes.templates import DIFFICULTIES, TEMPLATES
from quizzes.variants import build_quiz
from cli_asserts import one_line_error


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
               [[q.student, q.slot, _spell(list(q.answer) if isinstance(q.answer, tuple)
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
    ([["student", "question", "response"], ["ann"]], 2, "1 cell; expected at least 3"),
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


# --- review fixes: --plot checked up front, inputs that are not files, bad keys ----------

def _sample_key(tmp_path):
    entries = _entries(seed=3, variants=2)
    key = tmp_path / "key.json"
    key.write_text("[\n" + ",\n".join(json.dumps(e) for e in entries) + "\n]\n")
    resp = tmp_path / "resp.csv"
    _write_csv(resp, [["student", "question", "response"]] +
               [["ann", e["id"], _spell(e["answer"])] for e in entries[::2]])
    return entries, key, resp


@pytest.mark.parametrize("plot, words", [
    ("missing/x.png", "does not exist"), ("m.xyz", "unsupported file type"),
    ("afile/x.png", "is a file, not a folder"), ("adir", "is a folder")])
def test_bad_plot_is_refused_before_grading(tmp_path, capsys, plot, words):
    _, key, resp = _sample_key(tmp_path)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    assert main(["quiz", "grade", str(resp), "--key", str(key), "--plot",
                 str(tmp_path / plot)]) == 2
    captured = one_line_error(capsys, "--plot", words)
    assert captured.out == ""
    assert not (tmp_path / "adir.png").exists() and not list((tmp_path / "adir").iterdir())


def test_plot_that_fails_late_keeps_the_report(tmp_path, capsys, monkeypatch):
    import quizzes.plots

    def fail(result, path):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(quizzes.plots, "plot_mistakes", fail)
    _, key, resp = _sample_key(tmp_path)
    for extra in ([], ["--json"]):
        assert main(["quiz", "grade", str(resp), "--key", str(key), *extra,
                     "--plot", str(tmp_path / "m.pdf")]) == 2
        captured = one_line_error(capsys, "No space left", "scores above are complete")
        if extra:
            assert json.loads(captured.out)["students"][0]["student"] == "ann"
        else:
            assert captured.out.startswith("ann: ")


def test_plot_in_another_format(tmp_path, capsys):
    _, key, resp = _sample_key(tmp_path)
    assert main(["quiz", "grade", str(resp), "--key", str(key), "--plot",
                 str(tmp_path / "m.svg")]) == 0
    assert f"plot: {tmp_path / 'm.svg'}" in capsys.readouterr().out
    assert b"<svg" in (tmp_path / "m.svg").read_bytes()[:500]


@pytest.mark.parametrize("which", ["responses", "key"])
@pytest.mark.parametrize("bad, words", [
    ("/dev/zero", "not a regular file"), ("DIR", "is a folder"), ("MISSING", "no such file"),
    ("HUGE", "too large")])
def test_inputs_that_are_not_small_files_are_refused(tmp_path, capsys, monkeypatch, which,
                                                      bad, words):
    from autograder import inputs
    from quizzes import csvio

    _, key, resp = _sample_key(tmp_path)
    path = {"DIR": str(tmp_path), "MISSING": str(tmp_path / "nope"), "HUGE": None}.get(bad, bad)
    if bad == "HUGE":  # the limit lowered to the other file's size; this one padded past it
        limit = max(key.stat().st_size, resp.stat().st_size)
        monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", limit)  # the CLI's check
        monkeypatch.setattr(csvio, "MAX_FILE_BYTES", limit)  # the library's own
        target = resp if which == "responses" else key
        with open(target, "a") as fh:
            fh.write("\n" * (limit + 1))
        path = str(target)
    args = [path, "--key", str(key)] if which == "responses" else [str(resp), "--key", path]
    assert main(["quiz", "grade", *args]) == 2
    one_line_error(capsys, f"{path}: cannot read: {words}")
    with pytest.raises(QuizInputError, match="cannot read"):
        (read_responses(path, Lookup(_entries(seed=3, variants=2))) if which == "responses"
         else read_key(path))


def _key_with(tmp_path, change):
    entries = _entries(seed=4, variants=1)
    change(entries[1])
    key = tmp_path / "key.json"
    key.write_text("[\n" + ",\n".join(json.dumps(e) for e in entries) + "\n]\n")
    return entries, key


def _set(field, value):
    def change(e):
        e[field] = value
    return change


def _set_asked(**asked):
    def change(e):
        e["asked"] = {**e["asked"], **asked}
    return change


@pytest.mark.parametrize("change, words", [
    (_set("tolerance", -1), "'tolerance' must be a finite number >= 0, got -1"),
    (_set("tolerance", float("nan")), "'tolerance' must be a finite number >= 0"),
    (_set("tolerance", float("inf")), "'tolerance' must be a finite number >= 0"),
    (_set("tolerance", "0.5"), "'tolerance' must be a finite number >= 0"),
    (_set("tolerance", True), "'tolerance'"),
    (_set("answer", "banana"), "'answer' must be a finite number or a list of integers"),
    (_set("answer", None), "'answer' must be"),
    (_set("answer", float("nan")), "'answer' must be"),
    (_set("answer", float("-inf")), "'answer' must be"),
    (_set("answer", 10 ** 400), "'answer' must be"),
    (_set("answer", [64, 1.5, 2]), "'answer' must be"),
    (_set("answer", []), "'answer' must be"),
    (_set("answer", False), "'answer' must be"),
    (_set("answer", {"C": 3}), "'answer' must be"),
    (_set_asked(layer=99, field="colour"), "'asked' names layer 99"),
    (_set_asked(layer=-1), "'asked' names layer -1"),
    (_set_asked(layer="0"), "'asked' names layer '0'"),
    (_set_asked(layer=None), "needs a 'layer' index"),
    (_set("asked", {"layer": 0}), "'asked' needs a 'field'"),
    (_set("asked", "flops"), "'asked' needs a 'field'"),
    (_set("id", 5), "'id' must be a non-empty string, got 5"),
    (_set("id", ""), "'id' must be a non-empty string"),
    (_set("student", ["s1"]), "'student' must be a string or null"),
    (_set("question", ["q"]), "'question' must be a non-empty string"),
    (_set("template", {"a": 1}), "'template' must be a non-empty string"),
    (_set("layers", [1, 2]), "'layers' must be a list of objects"),
    (_set("layers", {"type": "conv"}), "'layers' must be a list of objects"),
    (_set("input_shape", ["3", 32, 32]), "'input_shape' must be a list of integers"),
    (_set("extra", [1]), "'extra' must be an object"),
    (_set("prompt", None), "'prompt' must be a string"),
])
def test_bad_key_entries_are_refused(tmp_path, capsys, change, words):
    entries, key = _key_with(tmp_path, change)
    name = entries[1]["id"]
    where = "key.json line 3: entry 2" + (f" (id {name!r})" if isinstance(name, str)
                                           and name else "")
    with pytest.raises(QuizInputError) as err:
        read_key(key)
    assert where in str(err.value) and words in str(err.value), str(err.value)
    assert "\n" not in str(err.value) and len(str(err.value)) < 300
    resp = tmp_path / "r.csv"
    resp.write_text("student,question,response\n")
    assert main(["quiz", "grade", str(resp), "--key", str(key)]) == 2
    one_line_error(capsys, where, words)


def test_shape_answer_must_match_the_asked_field(tmp_path):
    entries = _entries(seed=4, variants=1)
    shape = next(i for i, e in enumerate(entries) if e["asked"]["field"] == "output_shape")
    number = next(i for i, e in enumerate(entries) if e["asked"]["field"] == "params")
    for i, answer, words in ((shape, 42, "needs a shape"), (number, [1, 2, 3], "needs a number")):
        changed = json.loads(json.dumps(entries))
        changed[i]["answer"] = answer
        key = tmp_path / "key.json"
        key.write_text(json.dumps(changed))
        with pytest.raises(QuizInputError, match=words):
            read_key(key)


def test_hand_written_key_with_a_field_the_calculator_does_not_know(tmp_path):
    """Graded against its answer, with no diagnosis, and never a crash on odd layers."""
    entries = [
        {"id": "depth", "prompt": "How many conv layers?", "input_shape": [3, 32, 32],
         "layers": [{"type": "conv", "out_channels": 8, "kernel": 3}] * 2,
         "asked": {"layer": None, "field": "depth"}, "answer": 2, "tolerance": 0},
        {"id": "odd", "prompt": "params?", "input_shape": [3, 10 ** 30, 32],
         "layers": [{"type": "conv", "out_channels": "many", "kernel": 10 ** 40},
                    {"type": "fc"}], "asked": {"layer": 0, "field": "params"},
         "answer": 5, "tolerance": 0.5, "extra": {"shortcut": 7}},
        {"id": "huge", "prompt": "memory?", "input_shape": [10 ** 200, 10 ** 200, 10 ** 200],
         "layers": [{"type": "conv", "out_channels": 10 ** 300, "kernel": 1}],
         "asked": {"layer": 0, "field": "memory_kb"}, "answer": 1.5, "tolerance": 0},
    ]
    key = tmp_path / "key.json"
    key.write_text(json.dumps(entries))
    key_entries = read_key(key)
    assert score_one(key_entries[0], "2")["correct"]
    for e in key_entries:
        r = score_one(e, "7")
        assert r["correct"] is False and r["mistake"] is None


def test_empty_key_says_so(tmp_path, capsys):
    key = tmp_path / "key.json"
    key.write_text("[]\n")
    with pytest.raises(QuizInputError, match="key.json: the key is empty"):
        read_key(key)
    resp = tmp_path / "r.csv"
    resp.write_text("student,question,response\nann,q01,3\n")
    assert main(["quiz", "grade", str(resp), "--key", str(key)]) == 2
    one_line_error(capsys, "key is empty")


@pytest.mark.parametrize("text, words", [
    ("[" + "1" * 5000 + "]", "not valid JSON"), ("[" * 100_000, "not valid JSON")])
def test_key_json_that_python_cannot_load(tmp_path, text, words):
    key = tmp_path / "key.json"
    key.write_text(text)
    with pytest.raises(QuizInputError, match=words):
        read_key(key)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_generated_key_loads(tmp_path, template):
    """Keys of every template at every difficulty, with and without a roster, pass the
    key checks; and grading their own answers gives full marks."""
    roster = [{"id": f"s{i}", "name": ""} for i in range(3)]
    for difficulty in (*DIFFICULTIES, "mixed"):
        for kwargs in ({"variants": 6}, {"roster": roster}):
            quiz = build_quiz(f"k-{difficulty}", questions=3, difficulty=difficulty,
                              templates=[template], **kwargs)
            key = tmp_path / "key.json"
            key.write_text(key_json(quiz))
            entries = read_key(key)
            assert len(entries) == len(quiz.questions)
            for e in entries:
                assert score_one(e, _spell(e["answer"]))["correct"], e["id"]


def test_generated_files_with_roster_and_multiple_choice_load(tmp_path):
    from pathlib import Path

    from quizzes.generate import generate

    sample_roster = Path(__file__).resolve().parent.parent / "quizzes" / "samples" / "roster.csv"

    for roster in (None, sample_roster):
        for choices in (False, True):
            out = generate(tmp_path / f"{roster is None}{choices}", "mc",
                           variants=None if roster else 4, roster_path=roster,
                           questions=12, difficulty="mixed", all_choices=choices)
            assert len(read_key(out["key"])) == len(out["quiz"].questions)


def test_canvas_student_who_left_everything_blank_scores_zero(tmp_path, capsys):
    quiz = build_quiz("blank", variants=1, questions=2)
    key = tmp_path / "key.json"
    key.write_text(key_json(quiz))
    header = ["name", "id", "sis_id", "section", "submitted", "attempt"]
    header += [h for i, q in enumerate(quiz.questions) for h in (f"{70 + i}: {q.prompt}", "1")]
    header += ["n correct", "n incorrect", "score"]
    answers = [_spell(list(q.answer) if isinstance(q.answer, tuple) else q.answer)
               for q in quiz.questions]
    rows = [header,
            ["Ada", "1", "", "", "", "1", answers[0], "1", answers[1], "1", "2", "0", "2"],
            ["Bob", "2", "", "", "", "1", "", "", " ", "", "0", "0", "0"]]
    canvas = tmp_path / "canvas.csv"
    _write_csv(canvas, rows)
    result = grade(read_key(key), read_responses(canvas, Lookup(read_key(key))))
    by = {s["student"]: s for s in result["students"]}
    assert list(by) == ["1", "2"]
    assert (by["1"]["score"], by["2"]["score"], by["2"]["possible"]) == (2, 0, 2)
    assert all(a["response"] is None and not a["correct"] for a in by["2"]["answers"])
    assert result["questions"]["q01"]["correct_rate"] == 0.5
    assert main(["quiz", "grade", str(canvas), "--key", str(key)]) == 0
    text = capsys.readouterr().out
    assert "2: 0/2\n  q01: no answer\n  q02: no answer" in text
