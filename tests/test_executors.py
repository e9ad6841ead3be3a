"""Where the sandbox grader runs (autograder/executors.py): a Dask cluster's workers grade
exactly as this machine does, and every way the cluster can fail gives a record or one line.

Against a real two-worker `distributed.LocalCluster` (worker processes, one thread each,
as README's "Grading on a cluster" asks of a course's workers)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import executors
from autograder.grade import grade_many
from test_cli_speed import run_cnnlab

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "cnn_costs"
NOTEBOOKS = [str(SAMPLES / n) for n in ("correct.ipynb", "bytes_not_kb.ipynb",
                                        "missing_plus_one.ipynb", "blank.ipynb")]


@pytest.fixture(scope="module")
def scheduler():
    distributed = pytest.importorskip("distributed")  # the dev extra installs it
    # ":0": the scheduler's HTTP server on a free port (None still tries 8787, and warns
    # when another run holds it)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def without_seconds(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "seconds"}


@pytest.mark.slow  # a cluster of two worker processes
def test_the_cluster_grades_as_this_machine_does(scheduler, tmp_path):
    subs = [*NOTEBOOKS, str(tmp_path / "nope.ipynb")]  # not there: the client says so
    seen = []
    remote = grade_many(subs, engine="sandbox", scheduler=scheduler, on_result=seen.append)
    local = grade_many(subs, engine="sandbox", jobs=2)
    assert [r["submission"] for r in remote] == [str(Path(s)) for s in subs]
    assert sorted(r["submission"] for r in seen) == sorted(r["submission"] for r in remote)
    assert [without_seconds(r) for r in remote] == [without_seconds(r) for r in local]
    by_name = {Path(r["submission"]).name: r for r in remote}
    assert by_name["correct.ipynb"]["total"] == by_name["correct.ipynb"]["possible"] == 14
    assert by_name["blank.ipynb"]["total"] == 0
    assert 0 < by_name["bytes_not_kb.ipynb"]["total"] < 14
    assert "file not found" in by_name["nope.ipynb"]["error"]
    assert all(r["sandbox"] for r in remote if r["submission"] != subs[-1])
    assert all("cnnlab_dask_" not in json.dumps(r) for r in remote)  # no worker temp path


@pytest.mark.slow  # a cluster of two worker processes
def test_cli_grades_on_the_cluster(scheduler):
    done = subprocess.run([sys.executable, "-m", "cnnlab", "grade", *NOTEBOOKS[:2],
                           "--scheduler", scheduler, "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(r["submission"] for r in lines) == sorted(NOTEBOOKS[:2])
    totals = {Path(r["submission"]).name: r["total"] for r in lines}
    assert totals["correct.ipynb"] == 14 and totals["bytes_not_kb.ipynb"] < 14, done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.slow  # a cluster of two worker processes
def test_a_failed_task_is_a_record_with_one_line(scheduler):
    distributed = pytest.importorskip("distributed")
    with distributed.Client(scheduler, set_as_default=False) as client:
        future = client.submit(int, "not\na number", pure=False)
        future.exception()  # waits for it
        record = executors.DaskExecutor._record(future, "a.ipynb", "cnn_costs")
    assert record["submission"] == "a.ipynb" and record["total"] == 0
    assert record["error"].startswith("grading failed: ValueError: invalid literal")
    assert "\n" not in record["error"]


def test_a_dead_grading_process_is_a_failed_record(monkeypatch, tmp_path):
    # On a worker: the grading process is killed (the OOM killer, say) while it is asked.
    class Dying(executors.GraderProcess):
        def __init__(self):
            super().__init__()
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    monkeypatch.setattr(executors, "GraderProcess", Dying)
    monkeypatch.setattr(executors, "_idle", [])
    record = executors.grade_on_worker(NOTEBOOKS[0], Path(NOTEBOOKS[0]).read_bytes(),
                                       "cnn_costs", 60, 2 * 1024**3, False)
    assert record["submission"] == NOTEBOOKS[0] and record["total"] == 0
    assert record["error"] == "grading failed: the grading process was killed by signal 9"
    assert executors._idle == []  # not kept for the next task


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "cnnlab", "grade", NOTEBOOKS[0],
                           "--scheduler", "tcp://nowhere:1"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr
    assert done.stderr.startswith("cnnlab grade: error: cannot reach the Dask scheduler at "
                                  "tcp://nowhere:1"), done.stderr
    assert time.monotonic() - start < 60


@pytest.mark.parametrize("extra, word", [
    (["--engine", "otter"], "--scheduler needs the sandbox engine"),
    (["-j", "2"], "the cluster's workers decide the parallelism"),
    (["--scheduler", "nowhere"], "missing port number"),
], ids=["otter", "jobs", "no port"])
def test_scheduler_usage_errors(extra, word, tmp_path):
    code, loaded, out = run_cnnlab(["grade", "nope.ipynb", "--scheduler", "tcp://h:8786",
                                    *extra], tmp_path)
    assert code == 2 and word in out and "Traceback" not in out, out
    if word != "missing port number":  # that one is dask's own check, after the imports
        assert loaded == [], loaded
