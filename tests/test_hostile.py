"""Hostile and broken submissions (issue 7): each grades to completion, keeps full marks on
the questions it did not touch and earns nothing on the ones it attacked."""
import pytest

from autograder import hostile
from autograder.runner import grade_notebook, load_assignment


@pytest.fixture(scope="module")
def assignment():
    return load_assignment("cnn_costs")


@pytest.mark.parametrize("case", hostile.CATALOGUE, ids=lambda h: h.id)
def test_hostile_submission_is_contained(case, assignment, tmp_path):
    path = hostile.write(case, tmp_path / f"{case.id}.ipynb")
    record = grade_notebook(path, assignment, cell_timeout=4, total_timeout=300)
    lost = {q for q, r in record["questions"].items() if r["score"] < r["possible"]}
    assert lost == set(case.loses), record
    for question in case.loses:
        result = record["questions"][question]
        assert result["score"] == 0, result
        assert result["feedback"] and result["feedback"] != "all tests passed"
    assert record["total"] == pytest.approx(
        record["possible"] - sum(assignment.points[q] for q in case.loses))


def test_invalid_json_notebook_gets_a_line_with_the_reason(assignment, tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [')
    record = grade_notebook(path, assignment)
    assert record["total"] == 0
    assert "not a valid notebook" in record["error"]
    assert set(record["questions"]) == set(assignment.checks)


def test_missing_file_and_non_notebook(assignment, tmp_path):
    assert "file not found" in grade_notebook(tmp_path / "nope.ipynb", assignment)["error"]
    path = tmp_path / "list.ipynb"
    path.write_text("[1, 2, 3]")
    assert "not a Jupyter notebook" in grade_notebook(path, assignment)["error"]


def test_feedback_never_shows_hidden_test_source(assignment, tmp_path):
    case = hostile.BY_ID["read_hidden_tests"]
    record = grade_notebook(hostile.write(case, tmp_path / "x.ipynb"), assignment)
    feedback = record["questions"]["fc_params"]["feedback"]
    assert "def check_" not in feedback and "QUESTIONS" not in feedback


def test_grading_is_deterministic(assignment, tmp_path):
    case = hostile.BY_ID["int_subclass"]
    path = hostile.write(case, tmp_path / "x.ipynb")
    assert grade_notebook(path, assignment) == grade_notebook(path, assignment)


def test_backward_in_student_code_earns_nothing_through_the_sandbox(tmp_path):
    """The contract forbids autograd in softmax_backprop: a two_layer_forward_backward that
    gets its gradients from .backward() scores 0 on that question, with a clear message,
    while the student's own softmax_loss keeps its marks."""
    import inspect

    from solutions import softmax_backprop

    uses_autograd = '''
def two_layer_forward_backward(params, X, y=None, reg=0.0):
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    hidden = (X @ leaves["W1"] + leaves["b1"]).clamp(min=0)
    scores = hidden @ leaves["W2"] + leaves["b2"]
    if y is None:
        return scores.detach()
    loss = torch.nn.functional.cross_entropy(scores, y) + reg * (
        (leaves["W1"] ** 2).sum() + (leaves["W2"] ** 2).sum())
    loss.backward()
    return loss.detach(), {k: v.grad for k, v in leaves.items()}
'''
    path = tmp_path / "autograd.ipynb"
    import json
    path.write_text(json.dumps(hostile.notebook(
        [inspect.getsource(softmax_backprop), uses_autograd])))
    assignment = load_assignment("softmax_backprop")
    record = grade_notebook(path, assignment)
    two_layer = record["questions"]["two_layer_forward_backward"]
    assert two_layer["score"] == 0 and "autograd" in two_layer["feedback"]
    softmax = record["questions"]["softmax_loss"]
    assert softmax["score"] == softmax["possible"]
