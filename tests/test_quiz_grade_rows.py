"""Issue 13, `quiz grade`: shapes with thousands separators, choice letters from the printed
handout, rows that cannot be graded (reported, skipped, --strict), empty files, and the
response column's accepted names. Answers come from torch or from parsing the written
files; the rows are written by hand."""
from __future__ import annotations

import csv
import json
import re

import pytest
import torch

from cnnlab.cli import main
from quizzes.csvio import QuizInputError, read_key
from quizzes.generate import generate
from quizzes.grade import Lookup, grade, read_responses, score_one
from cli_asserts import one_line_error


def _write_csv(path, rows):
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ")"


@pytest.fixture
def wide_entry():
    """A conv to 1,024 channels; its output shape from torch."""
    conv = torch.nn.Conv2d(3, 1024, 1, device="meta")
    shape = list(conv(torch.empty(1, 3, 56, 56, device="meta")).shape[1:])
    return {"id": "wide", "prompt": "[wide] shape?", "input_shape": [3, 56, 56],
            "layers": [{"type": "conv", "name": "conv", "out_channels": 1024, "kernel": 1}],
            "asked": {"layer": 0, "field": "output_shape"}, "answer": shape, "tolerance": 0}


@pytest.mark.parametrize("typed", ["(1,024, 56, 56)", "(1,024,56,56)", "(1024, 56, 56)",
                                   "1024x56x56", "[1024 56 56]", "56x56x1024"])
def test_a_wide_shape_is_right_with_or_without_separators(wide_entry, typed):
    """The regression: '(1,024, 56, 56)', as quiz.md and the QTI choices printed it, was
    read as four numbers and marked wrong (Canvas marks the same choice right)."""
    assert wide_entry["answer"] == [1024, 56, 56]
    assert score_one(wide_entry, typed)["correct"], typed


@pytest.mark.parametrize("typed", ["(1, 024, 56, 56)", "(1,024, 55, 55)", "(1024, 56)",
                                   "(1,02, 56, 56)"])
def test_a_wide_shape_that_is_wrong_stays_wrong(wide_entry, typed):
    assert not score_one(wide_entry, typed)["correct"], typed


def test_cli_grades_the_separated_spelling(tmp_path, capsys, wide_entry):
    key = tmp_path / "key.json"
    key.write_text(json.dumps([wide_entry]))
    resp = tmp_path / "resp.csv"
    _write_csv(resp, [["student", "question", "response"], ["ann", "wide", "(1,024, 56, 56)"]])
    assert main(["quiz", "grade", str(resp), "--key", str(key), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["students"][0]["score"] == 1


# --- choice letters, as printed on the handout ----------------------------------------

@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    d = tmp_path_factory.mktemp("letters")
    roster = d / "roster.csv"
    roster.write_text("id,name\ns1,Ada\ns2,Alan\n")
    out = generate(d / "quiz", "letters", roster_path=roster, difficulty="mixed")
    key = json.loads(out["key"].read_text())
    handout = out["markdown"].read_text()
    choices = {}  # question id -> {letter: text} as printed
    for block in re.split(r"^\*\*\d+\.\*\* ", handout, flags=re.M)[1:]:
        qid = re.match(r"\[([^\]]+)\]", block).group(1)
        choices[qid] = dict(re.findall(r"^- ([A-J])\. (.+)$", block, flags=re.M))
    return d, out, key, choices


def _typed(entry):
    a = entry["answer"]
    return _shape_text(a) if isinstance(a, list) else repr(a)


def test_letters_from_the_handout_score_like_the_choices(printed, capsys):
    d, out, key, choices = printed
    mc = [e for e in key if e["kind"] == "choice"]
    assert mc and all(choices[e["id"]] for e in mc)
    rows, wrong = [["student", "question", "response"]], {}
    for n, e in enumerate(key):
        if e["kind"] != "choice":
            rows.append([e["student"], e["question"], _typed(e)])
            continue
        printed_choices = choices[e["id"]]
        right = next(k for k, v in printed_choices.items() if v == _shape_text(e["answer"]))
        if e["student"] == "s1":
            rows.append([e["student"], e["question"], right.lower() if n % 2 else right])
        else:  # s2 picks a wrong letter
            letter = next(k for k, v in printed_choices.items() if k != right)
            wrong[e["question"]] = (letter, printed_choices[letter])
            rows.append([e["student"], e["question"], f"{letter}."])
    resp = d / "letters.csv"
    _write_csv(resp, rows)
    assert main(["quiz", "grade", str(resp), "--key", str(out["key"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    by = {s["student"]: s for s in result["students"]}
    assert by["s1"]["score"] == by["s1"]["possible"] == len(key) // 2
    assert by["s2"]["score"] == by["s2"]["possible"] - len(wrong)
    for a in by["s2"]["answers"]:
        slot = next(e["question"] for e in key if e["id"] == a["question"])
        if slot in wrong:
            assert a["correct"] is False and a["response"] == f"{wrong[slot][0]}."
    # the text report shows what a letter stood for
    assert main(["quiz", "grade", str(resp), "--key", str(out["key"])]) == 0
    text = capsys.readouterr().out
    letter, shown = next(iter(wrong.values()))
    assert f"'{letter}.' = {shown}" in text


def test_a_wrong_letter_names_the_mistake_behind_its_choice(printed):
    _, out, key, choices = printed
    entries = read_key(out["key"])
    checked = 0
    for e in entries:
        if e["kind"] != "choice":
            continue
        for i, c in enumerate(e["choices"]):
            letter = "ABCDEFGHIJ"[i]
            # the key's choice order is the handout's
            assert choices[e["id"]][letter] == _shape_text(c["value"])
            if c["mistake"]:
                r = score_one(e, letter, letters=True)
                assert not r["correct"] and r["mistake"] == c["mistake"]
                checked += 1
    assert checked


def test_letters_count_only_in_the_simple_csv_and_only_for_printed_choices(printed):
    _, out, key, _ = printed
    entries = read_key(out["key"])
    mc = next(e for e in entries if e["kind"] == "choice")
    right = "ABCDEFGHIJ"[next(i for i, c in enumerate(mc["choices"]) if c["correct"])]
    assert score_one(mc, right, letters=True)["correct"]
    assert not score_one(mc, right)["correct"]  # Canvas exports the choice's text
    assert not score_one(mc, "J", letters=True)["correct"]  # no such choice
    numeric = next(e for e in entries if e["kind"] == "numerical")
    assert not score_one(numeric, "A", letters=True)["correct"]


# --- rows that cannot be graded --------------------------------------------------------

@pytest.fixture
def roster_key(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns1,Ada\ns2,Alan\n")
    out = generate(tmp_path / "quiz", "rows", roster_path=roster, questions=3)
    return out["key"], json.loads(out["key"].read_text())


def _answer(key, student, slot):
    return _typed(next(e for e in key if e["student"] == student and e["question"] == slot))


def test_bad_rows_are_reported_and_everyone_else_is_graded(tmp_path, capsys, roster_key):
    key_path, key = roster_key
    resp = tmp_path / "resp.csv"
    _write_csv(resp, [
        ["student", "question", "response"],
        ["s1", "q01", _answer(key, "s1", "q01")],   # 2
        ["zed", "q01", "3"],                          # 3 a student not in the roster
        ["s1", "q99", "3"],                           # 4 no such question
        ["s1", "q01", "banana"],                      # 5 a second answer
        ["s2", "q01", _answer(key, "s2", "q01")],   # 6
        ["s2"],                                       # 7 too few cells
        ["", "q02", "3"],                             # 8 no student
        ["s2", "q02", _answer(key, "s2", "q02")],   # 9
    ])
    for strict, code in (([], 0), (["--strict"], 1)):
        assert main(["quiz", "grade", str(resp), "--key", str(key_path), "--json",
                     *strict]) == code
        captured = capsys.readouterr()
        result = json.loads(captured.out)
        scores = {s["student"]: (s["score"], s["possible"]) for s in result["students"]}
        assert scores == {"s1": (1, 3), "s2": (2, 3)}
        assert [s["line"] for s in result["skipped"]] == [3, 4, 5, 7, 8]
        err = captured.err
        assert "Traceback" not in err
        for line, words in ((3, "student 'zed' is not in the key's roster"),
                            (4, "question 'q99' is not in the key"),
                            (5, "second answer of 's1' to q01"),
                            (7, "1 cell; expected at least 3"),
                            (8, "empty student")):
            assert re.search(rf"{re.escape(str(resp))} line {line}: .*{re.escape(words)}", err), \
                (line, err)
        # the old message blamed the question for an unknown student
        assert "question 'q01' is not in the key" not in err


def test_a_shape_typed_without_quotes_is_read_whole(tmp_path, capsys, wide_entry):
    """`ann,wide,(1024, 56, 56)` in a hand-typed CSV: the shape's commas made cells."""
    key = tmp_path / "key.json"
    key.write_text(json.dumps([wide_entry]))
    resp = tmp_path / "resp.csv"
    resp.write_text("student,question,response\nann,wide,(1024, 56, 56)\n"
                    "bob,wide,(1,024, 56, 56)\n")
    assert main(["quiz", "grade", str(resp), "--key", str(key), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [(s["student"], s["score"]) for s in result["students"]] == [("ann", 1), ("bob", 1)]
    assert result["students"][0]["answers"][0]["response"] == "(1024, 56, 56)"
    # with the response not the last column, the row is reported instead
    resp.write_text("response,student,question\n(1024, 56, 56),ann,wide\n")
    assert main(["quiz", "grade", str(resp), "--key", str(key)]) == 0
    assert "line 2: 5 cells, but the header has 3: put a response with commas in quotes" \
        in capsys.readouterr().err


def test_a_slot_without_a_roster_asks_for_the_variant_id(tmp_path, capsys):
    out = generate(tmp_path / "quiz", "pool", variants=2, questions=2)
    resp = tmp_path / "resp.csv"
    _write_csv(resp, [["student", "question", "response"], ["ann", "q01", "3"]])
    assert main(["quiz", "grade", str(resp), "--key", str(out["key"])]) == 0
    err = capsys.readouterr().err
    assert "resp.csv line 2: q01 has 2 variants: give the variant's id (q01v001 to q01v002)" \
        in err


def test_the_library_still_raises_without_a_list_for_skipped_rows(tmp_path, roster_key):
    key_path, key = roster_key
    resp = tmp_path / "resp.csv"
    _write_csv(resp, [["student", "question", "response"], ["zed", "q01", "3"]])
    with pytest.raises(QuizInputError, match="resp.csv line 2: student 'zed' is not"):
        read_responses(resp, Lookup(read_key(key_path)))
    skipped = []
    assert read_responses(resp, Lookup(read_key(key_path)), skipped) == []
    assert skipped == [{"file": str(resp), "line": 2, "why": skipped[0]["why"]}]


@pytest.mark.parametrize("text", ["", "\n\n", "student,question,response\n"])
def test_an_empty_responses_file_warns(tmp_path, capsys, roster_key, text):
    key_path, _ = roster_key
    resp = tmp_path / "resp.csv"
    resp.write_text(text)
    assert main(["quiz", "grade", str(resp), "--key", str(key_path), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["students"] == []
    assert f"warning: {resp}: no responses in the file" in captured.err
    assert main(["quiz", "grade", str(resp), "--key", str(key_path), "--strict"]) == 1
    assert "no responses" in capsys.readouterr().err


def test_a_canvas_column_of_another_question_is_skipped_not_fatal(tmp_path, capsys):
    out = generate(tmp_path / "quiz", "canvas", variants=1, questions=2)
    key = json.loads(out["key"].read_text())
    header = ["name", "id", "sis_id", "section", "submitted", "attempt"]
    header += [f"{100 + i}: {e['prompt']}" for i, e in enumerate(key)]
    header += ["999: Did you work alone?", "n correct", "n incorrect", "score"]
    resp = tmp_path / "canvas.csv"
    _write_csv(resp, [header, ["Ada", "7", "", "", "", "1", *[_typed(e) for e in key],
                               "yes", "2", "0", "2"]])
    assert main(["quiz", "grade", str(resp), "--key", str(out["key"]), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["students"][0]["score"] == 2
    assert f"{resp} line 1: column {len(key) + 7} ('999: Did you work alone?'...) names no " \
           f"question of the key" in captured.err


# --- the response column's names -------------------------------------------------------

def test_answer_is_documented_as_the_response_column(tmp_path, capsys, roster_key):
    key_path, key = roster_key
    resp = tmp_path / "resp.csv"
    _write_csv(resp, [["Student", "Question", "Answer"], ["s1", "q01", _answer(key, "s1", "q01")]])
    assert main(["quiz", "grade", str(resp), "--key", str(key_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["students"][0]["score"] == 1
    with pytest.raises(SystemExit):
        main(["quiz", "grade", "--help"])
    assert "'answer' is taken as the response" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("header, words", [
    (["student", "question", "response", "answer"], "both 'response' and 'answer' columns"),
    (["student", "question", "value"], "no response column"),
    (["who", "what", "said"], "expected the columns student, question, response or answer"),
])
def test_unclear_columns_are_refused_with_the_accepted_names(tmp_path, capsys, roster_key,
                                                             header, words):
    key_path, _ = roster_key
    resp = tmp_path / "resp.csv"
    _write_csv(resp, [header, ["s1", "q01", "3", "4"][:len(header)]])
    assert main(["quiz", "grade", str(resp), "--key", str(key_path)]) == 2
    one_line_error(capsys, "resp.csv line 1", words)


def test_grade_still_takes_three_item_responses(wide_entry):
    """grade() as the library's callers used it: (student, entry, response)."""
    result = grade([wide_entry], [("ann", wide_entry, "(1,024, 56, 56)")])
    assert result["students"][0]["score"] == 1
