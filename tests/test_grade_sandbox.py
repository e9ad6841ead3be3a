"""`cnnlab grade` with its default engine, the sandbox, and the zip's Gradescope entry."""
from __future__ import annotations

import csv
import json
import time
import zipfile
from pathlib import Path

import pytest

from buildcache import built
from cnnlab.cli import main

SAMPLES = Path(__file__).parent / "samples"


def test_json_lines_follow_the_contract(tmp_path, capsys):
    subs = [SAMPLES / n for n in ("complete.ipynb", "memory_bytes.ipynb", "not_json.ipynb")]
    code = main(["grade", *map(str, subs), "--assignment", "cnn_costs", "--json",
                 "--csv", str(tmp_path / "g.csv")])
    assert code == 1  # not_json.ipynb could not be graded; every submission has its line
    captured = capsys.readouterr()
    assert "not_json.ipynb" in captured.err and "Traceback" not in captured.err
    lines = [json.loads(line) for line in captured.out.splitlines()]
    by_name = {Path(r["submission"]).name: r for r in lines}
    assert set(by_name) == {"complete.ipynb", "memory_bytes.ipynb", "not_json.ipynb"}
    for record in lines:
        assert {"submission", "assignment", "total", "possible", "questions"} <= set(record)
        for result in record["questions"].values():
            assert set(result) == {"score", "possible", "feedback"}
    assert by_name["complete.ipynb"]["total"] == by_name["complete.ipynb"]["possible"] == 14
    bytes_kb = by_name["memory_bytes.ipynb"]["questions"]["memory_kb"]
    assert bytes_kb["score"] < bytes_kb["possible"] and "bytes, not KB" in bytes_kb["feedback"]
    broken = by_name["not_json.ipynb"]
    assert broken["total"] == 0 and "not valid JSON" in broken["error"]
    rows = list(csv.DictReader(open(tmp_path / "g.csv")))
    assert len(rows) == 3 and {r["memory_kb"] for r in rows} >= {"1", "0.5"}  # format_points


def test_parallel_grading_gives_the_same_scores(capsys):
    subs = [str(SAMPLES / n) for n in ("complete.ipynb", "missing_plus_one.ipynb")]
    assert main(["grade", *subs, "--json"]) == 0
    serial = {json.loads(l)["submission"]: json.loads(l)["total"]
              for l in capsys.readouterr().out.splitlines()}
    assert main(["grade", *subs, "--json", "-j", "2"]) == 0
    parallel = {json.loads(l)["submission"]: json.loads(l)["total"]
                for l in capsys.readouterr().out.splitlines()}
    assert serial == parallel and serial[subs[0]] == 14 and serial[subs[1]] < 14


def test_unknown_assignment_is_one_line(capsys):
    assert main(["grade", str(SAMPLES / "complete.ipynb"), "--assignment", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown assignment 'nope'" in err and "Traceback" not in err


@pytest.mark.slow
def test_zip_runs_cnnlabs_grader_on_gradescope(tmp_path_factory):
    out = built(tmp_path_factory, "cnn_costs")
    zip_path = next((out / "cnn_costs" / "autograder").glob("*.zip"))
    with zipfile.ZipFile(zip_path) as zf:
        assert "autograder.gradescope_entry" in zf.read("run_autograder").decode()
        config = json.loads(zf.read("files/cnnlab_assignment.json"))
    assert config["assignment"] == "cnn_costs" and sum(config["points"].values()) == 14
    proofs = json.loads((out / "cnn_costs" / "proofs.json").read_text())["gradescope"]
    assert proofs["reference"]["score"] == 14 and proofs["blank"]["score"] == 0
    assert all(t["score"] == t["max_score"] for t in proofs["reference"]["tests"])


def test_bad_submissions_do_not_stop_the_others(tmp_path, capsys):
    """A notebook naming an unknown assignment, one whose otter metadata is a string, a
    device instead of a file: each gets its line; the good one is graded."""
    unknown = json.loads((SAMPLES / "complete.ipynb").read_text())
    unknown["metadata"]["otter"] = {"assignment_name": "no_such_assignment"}
    (tmp_path / "unknown.ipynb").write_text(json.dumps(unknown))
    odd = json.loads((SAMPLES / "complete.ipynb").read_text())
    odd["metadata"]["otter"] = "cnn_costs"
    (tmp_path / "odd.ipynb").write_text(json.dumps(odd))
    subs = [str(SAMPLES / "complete.ipynb"), str(tmp_path / "unknown.ipynb"),
            str(tmp_path / "odd.ipynb"), "/dev/zero"]
    assert main(["grade", *subs, "--json"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    by_name = {Path(r["submission"]).name: r
               for r in map(json.loads, captured.out.splitlines())}
    assert by_name["complete.ipynb"]["total"] == 14
    assert "unknown assignment 'no_such_assignment'" in by_name["unknown.ipynb"]["error"]
    assert "names no assignment" in by_name["odd.ipynb"]["error"]
    assert "not a regular file" in by_name["zero"]["error"]


@pytest.mark.parametrize("argv, words", [
    (["--memory", "nan"], "--memory nan"), (["--memory", "0.01"], "--memory 0.01"),
    (["--timeout", "nan"], "--timeout nan"), (["--timeout", "0"], "--timeout 0"),
    (["--assignment", "probes"], "unknown assignment 'probes'"),
])
def test_bad_options_are_one_line_errors(argv, words, capsys):
    assert main(["grade", str(SAMPLES / "complete.ipynb"), *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_csv_that_cannot_be_written_is_refused_before_grading(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    for target, words in [(tmp_path, "is a folder"),
                          (tmp_path / "afile" / "g.csv", "is a file, not a folder"),
                          (tmp_path / "missing" / "g.csv", "does not exist")]:
        assert main(["grade", str(SAMPLES / "complete.ipynb"), "--csv", str(target)]) == 2
        assert words in capsys.readouterr().err


def test_slow_cells_share_one_time_budget(tmp_path, capsys):
    """Three cells that never finish, after the answers, cost at most half the submission's
    --timeout between them (not three 60 s cell timeouts); the answers still count."""
    nb = json.loads((SAMPLES / "complete.ipynb").read_text())
    loop = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
            "source": "while True:\n    pass"}
    nb["cells"] += [dict(loop), dict(loop), dict(loop)]
    (tmp_path / "loops.ipynb").write_text(json.dumps(nb))
    start = time.monotonic()
    assert main(["grade", str(tmp_path / "loops.ipynb"), "--timeout", "30", "--json"]) == 0
    elapsed = time.monotonic() - start
    record = json.loads(capsys.readouterr().out)
    assert elapsed < 50, elapsed
    assert record["total"] == record["possible"] == 14
