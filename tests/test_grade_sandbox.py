"""`cnnlab grade` with its default engine, the sandbox, and the zip's Gradescope entry."""
from __future__ import annotations

import csv
import json
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
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
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
    assert len(rows) == 3 and {r["memory_kb"] for r in rows} >= {"1.0", "0.5"}


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
