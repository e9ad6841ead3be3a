"""The bundled correct sample of each assignment scores full marks through the sandbox
(`cnnlab grade`, default engine), whichever torch build is installed: `make test-cuda-build`
runs this under the CUDA build too (issue 18)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder import registry
from cnnlab.cli import main

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("assignment", registry.master_notebooks())
def test_correct_sample_scores_full_marks(assignment, capsys):
    notebook = ROOT / "samples" / assignment / "correct.ipynb"
    code = main(["grade", str(notebook), "--json"])
    captured = capsys.readouterr()
    (record,) = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
    lost = {q: r["feedback"] for q, r in record["questions"].items() if r["score"] < r["possible"]}
    assert code == 0 and not record.get("error"), (record.get("error"), captured.err[-2000:])
    assert record["assignment"] == assignment
    assert record["possible"] > 0 and record["total"] == record["possible"], lost
