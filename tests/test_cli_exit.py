"""The `cnnlab` command's exit once torch is imported (cnnlab.cli.run, quick_exit) and a
local pool worker's (autograder.executors): Python's teardown is skipped, and nothing a
command writes, nor its exit status, is lost for it."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "cnn_costs"


def test_quick_exit_runs_the_exit_functions_and_keeps_the_status():
    code = ("import atexit, sys, threading, time, torch\n"
            "from cnnlab.cli import quick_exit\n"
            "atexit.register(lambda: print('atexit ran', flush=True))\n"
            "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done'))).start()\n"
            "sys.stdout.write('buffered, not flushed')\n"
            "quick_exit(3)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3, proc.stderr
    # The thread is joined, then the atexit functions run, as at a normal exit; the
    # buffered write is flushed.
    assert "buffered, not flushed" in proc.stdout, proc.stdout
    assert proc.stdout.index("thread done") < proc.stdout.index("atexit ran"), proc.stdout


def test_grade_with_a_pool_loses_no_record_and_no_row(tmp_path):
    """-j 2: the workers end without Python's teardown, the command too; every record is
    printed, every CSV row written, and a notebook that cannot be graded still sets the
    exit status to 1."""
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    notebooks = [SAMPLES / "correct.ipynb", SAMPLES / "blank.ipynb", broken]
    table = tmp_path / "grades.csv"
    proc = subprocess.run([sys.executable, "-m", "cnnlab", "grade", "-j", "2", "--json",
                           "--csv", str(table), *map(str, notebooks)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr
    records = {Path(r["submission"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert set(records) == {"correct.ipynb", "blank.ipynb", "broken.ipynb"}
    assert records["correct.ipynb"]["total"] == records["correct.ipynb"]["possible"] > 0
    assert records["blank.ipynb"]["total"] == 0
    assert records["broken.ipynb"]["error"]
    rows = list(csv.reader(table.open()))
    assert len(rows) == 4  # the header and one row per notebook
    assert "1 of 3 submissions could not be graded" in proc.stderr
    assert "Traceback" not in proc.stderr
