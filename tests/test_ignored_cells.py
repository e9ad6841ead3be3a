"""Cells tagged `otter_ignore` (or with metadata otter.ignore) are not run when a notebook is
graded, by either engine: Otter skips them (otter.execute.preprocessor.filter_ignored_cells),
and so does the sandbox runner, so both grade the same cells. The master notebooks tag their
demo cells so (a model trained only to show its losses)."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from autograder import runner
from autograder.grade import grade_sandboxed

ROOT = Path(__file__).resolve().parent.parent
CORRECT = ROOT / "samples" / "cnn_costs" / "correct.ipynb"
SABOTAGE = "conv_output_size = lambda *args, **kwargs: 0"


def _with_cell(tmp_path: Path, metadata: dict) -> Path:
    nb = nbformat.read(CORRECT, as_version=4)
    cell = nbformat.v4.new_code_cell(SABOTAGE)
    cell.metadata.update(metadata)
    nb.cells.append(cell)
    path = tmp_path / "submission.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("metadata", [{"tags": ["otter_ignore"]},
                                      {"tags": ["other", "otter_ignore"]},
                                      {"otter": {"ignore": True}}])
def test_an_ignored_cell_is_not_among_the_cells_run(tmp_path, metadata):
    sources = [source for _, source in runner.notebook_cells(_with_cell(tmp_path, metadata))]
    assert SABOTAGE not in sources
    assert any("def conv_output_size" in s for s in sources)


@pytest.mark.parametrize("metadata", [{}, {"tags": ["otter"]}, {"otter": {"ignore": False}},
                                      {"otter": "ignore"}])
def test_any_other_cell_is_run(tmp_path, metadata):
    sources = [source for _, source in runner.notebook_cells(_with_cell(tmp_path, metadata))]
    assert sources[-1] == SABOTAGE


def test_an_ignored_cell_changes_no_score(tmp_path):
    ignored = grade_sandboxed(_with_cell(tmp_path, {"tags": ["otter_ignore"]}), "cnn_costs")
    assert ignored["error"] is None and ignored["total"] == ignored["possible"] == 14
    # and the same cell, not ignored, costs points: the sabotage has teeth
    (tmp_path / "run").mkdir()
    counted = grade_sandboxed(_with_cell(tmp_path / "run", {}), "cnn_costs")
    assert counted["total"] < counted["possible"]
    assert counted["questions"]["conv_output_size"]["score"] == 0


@pytest.mark.parametrize("assignment", ["cnn_architectures", "softmax_backprop"])
def test_the_master_notebooks_demo_cells_are_ignored_when_grading(assignment):
    nb = json.loads((ROOT / "assignments" / assignment / f"{assignment}.ipynb").read_text())
    ignored = [c for c in nb["cells"] if runner.ignored_by_otter(c)]
    assert len(ignored) == 1
    source = "".join(ignored[0]["source"])
    assert "Not run when your notebook is graded" in source
