"""Fair grading (issue 13), softmax_backprop: the stability check asks what the contract
promises and no more, and one mistake costs one question's points.

Truth here is torch's own (F.cross_entropy, autograd, torch.exp), never the checks."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from autograder import mutants
from autograder.checks import softmax_backprop as checks
from autograder.runner import Assignment, load_assignment, run_checks
from student_variants import failure, namespace
from student_variants import softmax_textbook as textbook

SOFTMAX_CHECKS = checks.QUESTIONS["softmax_loss"]
TRAIN_CHECKS = checks.QUESTIONS["train_two_layer"]
SOURCE = {m.id: m for m in mutants.SOURCE_MUTANTS if m.assignment == "softmax_backprop"}


def softmax_points(env) -> tuple[float, float, str]:
    """(score, possible, feedback) of the softmax_loss question, as `cnnlab grade` scores it."""
    possible = load_assignment("softmax_backprop").points["softmax_loss"]
    only = Assignment("softmax_backprop", {"softmax_loss": possible},
                      {"softmax_loss": SOFTMAX_CHECKS})
    result = run_checks(lambda: env, only)["softmax_loss"]
    return result["score"], result["possible"], result["feedback"]


def stability_inputs() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The (scores, y) the stability check feeds softmax_loss, recorded by a student."""
    seen = []

    def softmax_loss(scores, y):
        seen.append((scores.clone(), y.clone()))
        return textbook.softmax_loss(scores, y)
    assert failure(checks.check_softmax_loss_stability, {"softmax_loss": softmax_loss}) is None
    return seen


# --- 1. stable means what the contract says ------------------------------------------------

def test_stability_inputs_keep_the_contract_promise():
    inputs = stability_inputs()
    assert len(inputs) >= 2
    gaps, overflow, all_underflow = [], False, False
    for scores, y in inputs:
        s = scores.double()
        assert float(s.abs().max()) <= 1e4
        gap = s.max(dim=1).values - s[torch.arange(len(y)), y]
        assert bool((gap <= 50).all())
        gaps += gap.tolist()
        overflow |= bool(torch.isinf(torch.exp(scores)).any())
        all_underflow |= bool((torch.exp(scores) == 0).all(dim=1).any())
    assert max(gaps) == pytest.approx(50.0)       # the promise's edge is tested
    assert max(abs(v) for s, _ in inputs for v in s.flatten().tolist()) > 9e3
    assert overflow and all_underflow             # no shift: inf / inf, or 0 / 0


def test_textbook_softmax_is_right_on_the_stability_inputs():
    for scores, y in stability_inputs():
        loss, dscores = textbook.softmax_loss(scores.clone(), y)
        leaf = scores.double().clone().requires_grad_(True)
        want = F.cross_entropy(leaf, y)
        want.backward()
        rtol = 1e-4 if scores.dtype == torch.float32 else 1e-9
        torch.testing.assert_close(loss.double(), want.detach(), rtol=rtol, atol=1e-6)
        torch.testing.assert_close(dscores.double(), leaf.grad, rtol=rtol, atol=1e-6)


def test_textbook_softmax_earns_full_marks():
    """Max shift, then log of the probabilities: CS231n's and EECS 498's own code."""
    score, possible, feedback = softmax_points({"softmax_loss": textbook.softmax_loss})
    assert score == possible, feedback
    assert [failure(c, {"softmax_loss": textbook.softmax_loss}) for c in SOFTMAX_CHECKS] \
        == [None] * len(SOFTMAX_CHECKS)


def test_unshifted_softmax_loses_exactly_the_stability_share():
    env = {"softmax_loss": textbook.softmax_unshifted}
    score, possible, feedback = softmax_points(env)
    assert score == pytest.approx(possible * (1 - 1 / len(SOFTMAX_CHECKS)), abs=0.01)
    assert failure(checks.check_softmax_loss_values, env) is None
    assert failure(checks.check_softmax_loss_edge_cases, env) is None
    message = failure(checks.check_softmax_loss_stability, env)
    assert "subtract each row's maximum" in message and "log-sum-exp" in message
    for scores, y in stability_inputs():  # it does overflow there: the point is deserved
        loss, dscores = textbook.softmax_unshifted(scores.clone(), y)
        assert not (torch.isfinite(loss) and bool(torch.isfinite(dscores).all()))


# --- 3. one mistake, one penalty ----------------------------------------------------------

def source_env(*ids: str) -> dict:
    """The reference with the source mutants `ids` applied together."""
    edits = tuple(edit for i in ids for edit in SOURCE[i].edits)
    return mutants.apply_source_mutant(
        mutants.SourceMutant("softmax_backprop", "+".join(ids), "", edits))


def autograd_sgd_history(params, x, label, learning_rate, reg, iters) -> list[float]:
    """Plain SGD on one example with torch.autograd's gradients, in float64."""
    p = {k: v.double().clone() for k, v in params.items()}
    history = []
    for _ in range(iters):
        leaves = {k: v.clone().requires_grad_(True) for k, v in p.items()}
        scores = torch.relu(x.double() @ leaves["W1"] + leaves["b1"]) @ leaves["W2"] \
            + leaves["b2"]
        loss = F.cross_entropy(scores, label) + reg * ((leaves["W1"] ** 2).sum()
                                                      + (leaves["W2"] ** 2).sum())
        loss.backward()
        history.append(float(loss.detach()))
        p = {k: (v - learning_rate * v.grad).detach() for k, v in leaves.items()}
    return history


# Mistakes in the gradients (or the loss they come from), with the reference's right loop.
GRADIENT_MISTAKES = {
    "dw2_reg_without_2": "two_layer_forward_backward",
    "l2_with_half": "two_layer_forward_backward",
    "forward_no_relu": "two_layer_forward_backward",
    "softmax_grad_not_divided_by_n": "softmax_loss",  # the training diverges
}


@pytest.mark.parametrize("mistake", GRADIENT_MISTAKES)
def test_a_gradient_mistake_costs_its_own_question_only(mistake):
    env = source_env(mistake)
    own_question = checks.QUESTIONS[GRADIENT_MISTAKES[mistake]]
    assert any(failure(c, env) is not None for c in own_question)
    # The loop's trajectory is not true SGD (so the old check failed it) ...
    params, (X, y, X_val, y_val) = checks.small_params(31), checks.identical_examples_data()
    got = env["train_two_layer"](checks.copy_params(params), X, y, X_val, y_val, checks.SAME_LR,
                                 checks.SAME_REG, checks.SAME_ITERS,
                                 checks.SAME_BATCH)["loss_history"]
    want = autograd_sgd_history(params, X[:1], y[:1], checks.SAME_LR, checks.SAME_REG,
                                checks.SAME_ITERS)
    assert not all(abs(a - b) <= 1e-4 * abs(b) + 1e-5 for a, b in zip(got, want))
    # ... and yet the loop, right for the gradients it is given, keeps every point.
    assert [failure(c, env) for c in TRAIN_CHECKS] == [None] * len(TRAIN_CHECKS)


@pytest.mark.parametrize("loop", ["train_ascends", "train_full_batch", "train_lr_decay",
                                  "train_weights_only", "train_ignores_seed", "train_on_val",
                                  "train_ignores_reg"])
def test_a_wrong_loop_still_loses_points_beside_a_gradient_mistake(loop):
    env = source_env("dw2_reg_without_2", loop)
    messages = [m for m in (failure(c, env) for c in TRAIN_CHECKS) if m is not None]
    assert messages, f"{loop} with a wrong dW2 kept every train_two_layer point"


def test_a_wrong_loop_beside_a_gradient_mistake_is_told_both():
    env = source_env("dw2_reg_without_2", "train_lr_decay")
    message = failure(checks.check_train_two_layer_sgd_steps, env)
    assert "departs from plain minibatch SGD" in message
    assert "loop is wrong as well as two_layer_forward_backward" in message


def test_a_loop_that_fails_on_the_gradients_names_two_layer_forward_backward():
    """db2 summed over the wrong axis cannot be subtracted from b2: the loop raises, and the
    feedback says where the error is."""
    env = source_env("db2_wrong_axis")
    messages = [failure(c, env) for c in TRAIN_CHECKS]
    raised = [m for m in messages if m and "raised" in m]
    assert raised
    assert all("error is in two_layer_forward_backward" in m and "grads['b2']" in m
               for m in raised)


def test_the_right_solution_still_keeps_every_train_point():
    env = namespace("solutions.softmax_backprop")
    assert [failure(c, env) for c in TRAIN_CHECKS] == [None] * len(TRAIN_CHECKS)
