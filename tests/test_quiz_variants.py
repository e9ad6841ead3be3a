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
from cli_asserts import one_line_error

SAMPLE_ROSTER = Path(__file__).resolve().parent.parent / "quizzes" / "samples" / "roster.csv"
FILES = ("quiz.qti.zip", "quiz.md", "answer_key.md", "answer_key.json")


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


def test_handout_and_key_name_every_question(tmp_path):
    out = generate(tmp_path, "m", roster_path=SAMPLE_ROSTER, questions=3)
    handout, key = out["markdown"].read_text(), out["key_markdown"].read_text()
    assert handout.count("Ada Lovelace (s1001)") == 1 and key.count("Ada Lovelace (s1001)") == 1
    for q in out["quiz"].questions:
        assert f"[{q.id}]" in handout and f"| {q.id} |" in key


# --- review fixes: --out checked first, limits, empty --templates, device files ---------

@pytest.mark.parametrize("out, words", [
    ("afile", "is a file, not a folder"), ("afile/sub", "cannot create the folder"),
    ("/proc/nope", "cannot create the folder")])
def test_generate_bad_out_is_one_line(tmp_path, capsys, out, words):
    (tmp_path / "afile").write_text("keep me")
    target = out if out.startswith("/") else str(tmp_path / out)
    assert main(["quiz", "generate", "--seed", "1", "--variants", "1", "--out", target]) == 2
    one_line_error(capsys, f"--out {target}", words)
    assert (tmp_path / "afile").read_text() == "keep me"


def test_generate_read_only_out(tmp_path, capsys, monkeypatch):
    # Root may write into a read-only folder, and these machines run as root: the folder is
    # made unwritable for the check itself (os.access), which is what it consults.
    from cnnlab import paths

    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.setattr(paths.os, "access", lambda path, mode: Path(path) != ro)
    assert main(["quiz", "generate", "--seed", "1", "--variants", "1", "--out", str(ro)]) == 2
    one_line_error(capsys, f"--out {ro}", "not writable")
    assert list(ro.iterdir()) == []


@pytest.mark.parametrize("args, words", [
    (["--variants", "99999999999999"], "--variants must be 1 to 1000"),
    (["--variants", "1001"], "--variants must be 1 to 1000"),
    (["--variants", "0"], "--variants must be 1 to 1000"),
    (["--variants", "1", "--questions", "100000000"], "--questions must be 1 to 100,"),
    (["--variants", "1", "--questions", "101"], "--questions must be 1 to 100,"),
    (["--variants", "1", "--templates", ""], "--templates is empty"),
    (["--variants", "1", "--templates", " , "], "--templates is empty"),
    (["--roster", "/dev/zero"], "/dev/zero: cannot read: not a regular file"),
    (["--roster", "MISSING"], "cannot read: no such file"),
])
def test_generate_limits_and_empty_lists(tmp_path, capsys, args, words):
    args = [a.replace("MISSING", str(tmp_path / "nope.csv")) for a in args]
    assert main(["quiz", "generate", "--seed", "1", *args, "--out", str(tmp_path / "q")]) == 2
    one_line_error(capsys, words)
    assert not (tmp_path / "q").exists()  # refused before any folder is made


def test_limits_in_the_library_and_the_help(tmp_path, capsys):
    import cnnlab.commands.quiz as command
    from quizzes import csvio, variants

    assert (command.MAX_VARIANTS, command.MAX_QUESTIONS, command.MAX_STUDENTS,
            command.MAX_TOTAL) == (variants.MAX_VARIANTS, variants.MAX_QUESTIONS,
                                   csvio.MAX_STUDENTS, variants.MAX_TOTAL)
    with pytest.raises(SystemExit):
        main(["quiz", "generate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "1 to 1000" in text and "1 to 100 " in text and "20,000 students" in text
    with pytest.raises(ValueError, match="at most 1000"):
        build_quiz(1, variants=10 ** 12)
    with pytest.raises(ValueError, match="at most 100,"):
        plan(10 ** 8)
    roster = [{"id": f"s{i}", "name": ""} for i in range(variants.MAX_TOTAL // 50 + 1)]
    with pytest.raises(ValueError, match="question variants; at most 100,000"):
        build_quiz(1, roster=roster, questions=50)
    with pytest.raises(ValueError, match="students; at most 20,000"):
        build_quiz(1, roster=roster * 11, questions=1)
    big = tmp_path / "big.csv"
    big.write_text("id\n" + "".join(f"s{i}\n" for i in range(csvio.MAX_STUDENTS + 1)))
    with pytest.raises(QuizInputError, match="big.csv: 20,001 students; at most 20,000"):
        read_roster(big)
    assert main(["quiz", "generate", "--seed", "1", "--roster", str(big),
                 "--out", str(tmp_path / "q")]) == 2
    one_line_error(capsys, "20,001 students")
    ok = tmp_path / "ok.csv"
    ok.write_text("id\n" + "".join(f"s{i}\n" for i in range(2001)))
    assert main(["quiz", "generate", "--seed", "1", "--roster", str(ok), "--questions", "50",
                 "--out", str(tmp_path / "q")]) == 2
    one_line_error(capsys, "50 questions x 2,001 students = 100,050 question variants")


def test_generate_write_failure_is_one_line(tmp_path, capsys, monkeypatch):
    """A folder that root can write but the user cannot, or a disk that fills up: the
    writers' OSError becomes the one-line error."""
    import quizzes.generate

    def refuse(quiz, path, *args):
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(quizzes.generate, "write_qti", refuse)
    out = tmp_path / "q"
    assert main(["quiz", "generate", "--seed", "1", "--variants", "1", "--out", str(out)]) == 2
    one_line_error(capsys, f"--out {out}: cannot write {out / 'quiz.qti.zip'}",
                    "Permission denied")
