"""The hidden checks of `softmax_backprop`, run directly on student namespaces (no Otter):
correct solutions in three styles pass, the blank stubs fail with "not implemented", each
catalogued mistake fails its question with feedback that names it, autograd in student code
zeroes the question, and nothing the checks patch outlives them."""
from __future__ import annotations

import pytest
import torch

from autograder.checks import softmax_backprop as checks
from solutions import softmax_backprop as reference
from student_variants import failure, mutated, namespace, softmax_mistakes

ALL_CHECKS = [c for cs in checks.QUESTIONS.values() for c in cs]
IDS = [c.__name__ for c in ALL_CHECKS]
CORRECT = ["solutions.softmax_backprop", "student_variants.softmax_alternative",
           "student_variants.softmax_explicit"]


def question_failures(question: str, env) -> list[str]:
    return [m for m in (failure(c, env) for c in checks.QUESTIONS[question]) if m is not None]


@pytest.mark.parametrize("module", CORRECT)
@pytest.mark.parametrize("check", ALL_CHECKS, ids=IDS)
def test_correct_solutions_pass(check, module):
    assert failure(check, namespace(module)) is None


@pytest.mark.parametrize("check", ALL_CHECKS, ids=IDS)
def test_blank_stubs_fail_as_not_implemented(check):
    message = failure(check, namespace("student_variants.softmax_blank"))
    assert message is not None and "not implemented" in message


@pytest.mark.parametrize("mistake", softmax_mistakes.MISTAKES,
                         ids=[m[0] for m in softmax_mistakes.MISTAKES])
def test_mistake_is_caught_and_named(mistake):
    _, question, module, replacements, phrase = mistake
    messages = question_failures(question, mutated(module, replacements))
    assert messages, "the mistake passed every check of its question"
    assert any(phrase in m for m in messages), messages


@pytest.mark.parametrize("harmless", softmax_mistakes.SOFTMAX_HARMLESS,
                         ids=[h[0] for h in softmax_mistakes.SOFTMAX_HARMLESS])
def test_equivalent_softmax_losses_pass(harmless):
    _, module, replacements = harmless
    assert question_failures("softmax_loss", mutated(module, replacements)) == []


@pytest.mark.parametrize("harmless", softmax_mistakes.HARMLESS,
                         ids=[h[0] for h in softmax_mistakes.HARMLESS])
def test_equivalent_variations_pass(harmless):
    _, module, replacements = harmless
    assert question_failures("two_layer_forward_backward", mutated(module, replacements)) == []


@pytest.mark.parametrize("question", ["softmax_loss", "two_layer_forward_backward"])
def test_autograd_use_fails_every_check_of_the_question(question):
    by_question = {m[1]: m for m in softmax_mistakes.MISTAKES if "autograd" in m[4]}
    _, _, module, replacements, _ = by_question[question]
    env = mutated(module, replacements)
    messages = question_failures(question, env)
    assert len(messages) == len(checks.QUESTIONS[question])
    assert all("uses autograd" in m and "no points" in m for m in messages)


def test_autograd_in_the_training_loop_is_caught():
    honest = namespace("student_variants.softmax_explicit")["two_layer_forward_backward"]

    def sneaky(params, X, y=None, reg=0.0):
        torch.zeros(1, requires_grad=True).sum().backward()
        return honest(params, X, y, reg)
    trained = mutated("student_variants.softmax_explicit", [],
                      {"two_layer_forward_backward": sneaky})
    messages = question_failures("train_two_layer", trained)
    assert messages and all("uses autograd" in m for m in messages)


def _dscores_by_autograd(route):
    """A softmax_loss whose loss is the reference's and whose dscores come from autograd,
    asked for by `route`, the way a student might."""
    def softmax_loss(scores, y):
        loss, _ = reference.softmax_loss(scores, y)

        def loss_of(s):
            return torch.nn.functional.cross_entropy(s, y)
        if route == "func.grad":
            dscores = torch.func.grad(loss_of)(scores)
        elif route == "functional.jacobian":
            dscores = torch.autograd.functional.jacobian(loss_of, scores)
        elif route == "factory requires_grad":
            leaf = torch.zeros_like(scores, requires_grad=True)
            dscores = torch.autograd.grad(loss_of(scores + leaf), leaf)[0]
        else:  # requires_grad set as an attribute, then .backward()
            leaf = scores.detach().clone()
            leaf.requires_grad = True
            loss_of(leaf).backward()
            dscores = leaf.grad
        return loss, dscores.detach()
    return softmax_loss


@pytest.mark.parametrize("route", ["func.grad", "functional.jacobian", "factory requires_grad",
                                   "attribute requires_grad"])
def test_every_route_into_autograd_is_named(route):
    message = failure(checks.check_softmax_loss_values,
                      {"softmax_loss": _dscores_by_autograd(route)})
    assert message is not None and "uses autograd" in message, message


def test_an_operation_recorded_for_backward_is_autograd_even_without_a_backward_pass():
    def softmax_loss(scores, y):
        loss, dscores = reference.softmax_loss(scores, y)
        weight = torch.ones((), dtype=scores.dtype, requires_grad=True)
        return loss, (dscores * weight).detach()  # a graph was recorded, never used
    message = failure(checks.check_softmax_loss_values, {"softmax_loss": softmax_loss})
    assert message is not None and "recorded for a backward pass" in message, message


def test_swallowed_autograd_errors_still_count():
    def softmax_loss(scores, y):
        try:
            scores.sum().backward()
        except RuntimeError:
            pass
        return reference.softmax_loss(scores, y)
    assert "uses autograd" in failure(checks.check_softmax_loss_edge_cases,
                                      {"softmax_loss": softmax_loss})


def test_patches_are_undone_even_when_the_student_raises():
    before = (torch.Tensor.backward, torch.autograd.grad, torch.autograd.backward,
              torch.Tensor.requires_grad_)

    def softmax_loss(scores, y):
        raise ValueError("boom")
    message = failure(checks.check_softmax_loss_values, {"softmax_loss": softmax_loss})
    assert "ValueError: boom" in message
    after = (torch.Tensor.backward, torch.autograd.grad, torch.autograd.backward,
             torch.Tensor.requires_grad_)
    assert before == after
    assert not torch.overrides._is_torch_function_mode_enabled()
    x = torch.ones(2, requires_grad=True)
    (x * 3).sum().backward()  # autograd works normally again
    assert torch.equal(x.grad, torch.full((2,), 3.0))


def test_rigged_return_values_earn_nothing():
    class AlwaysEqual(torch.Tensor):
        def __eq__(self, other):
            return True

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            result = super().__torch_function__(func, types, args, kwargs or {})
            return result

    def softmax_loss(scores, y):
        loss = torch.zeros(()).as_subclass(AlwaysEqual)
        return loss, torch.zeros_like(scores).as_subclass(AlwaysEqual)
    assert failure(checks.check_softmax_loss_edge_cases, {"softmax_loss": softmax_loss})

    def softmax_numbers(scores, y):
        return 0.0, [[0.0] * scores.shape[1]] * scores.shape[0]
    assert "torch.Tensor" in failure(checks.check_softmax_loss_edge_cases,
                                     {"softmax_loss": softmax_numbers})


def test_an_infinite_loop_times_out(monkeypatch):
    monkeypatch.setattr(checks, "CALL_TIMEOUT", 1.0)
    def softmax_loss(scores, y):
        while True:
            pass
    message = failure(checks.check_softmax_loss_stability, {"softmax_loss": softmax_loss})
    assert "did not return within" in message


def test_the_reference_agrees_with_autograd_on_the_checks_inputs():
    for n, d, h, c, reg, seed in checks.TWO_LAYER_CASES:
        params, X, y = checks._two_layer_inputs(n, d, h, c, seed)
        _, loss, grads = checks.autograd_two_layer(params, X, y, reg)
        ref_loss, ref_grads = reference.two_layer_forward_backward(params, X, y, reg)
        assert checks.close(ref_loss.double(), loss)
        assert all(checks.close(ref_grads[k].double(), grads[k]) for k in grads)
    scores = torch.randn(5, 4, dtype=torch.float64) * 1e4
    y = torch.tensor([0, 1, 2, 3, 0])
    ref_loss, ref_grad = reference.softmax_loss(scores, y)
    loss, grad = checks.autograd_softmax(scores, y)
    assert checks.close(ref_loss, loss) and checks.close(ref_grad, grad)


def test_digits_ship_with_the_autograder_and_match_sklearn():
    datasets = pytest.importorskip("sklearn.datasets")
    import numpy as np
    shipped = np.load(checks.DIGITS)
    digits = datasets.load_digits()
    assert np.array_equal(shipped["images"], digits.data.astype(np.uint8))
    assert np.array_equal(shipped["labels"], digits.target)
    assert checks.DIGITS.stat().st_size < 100_000


def test_the_margin_is_met_by_the_reference_under_other_seeds():
    """The accuracy bar is not a knife's edge: other minibatch orders clear it too."""
    data = checks.digits("cpu")
    params = checks.initial_params("cpu")
    accuracies = [reference.train_two_layer(checks.copy_params(params), *data,
                                            checks.LEARNING_RATE, checks.REG, checks.NUM_ITERS,
                                            checks.BATCH_SIZE, seed=s)["val_accuracy"]
                  for s in range(3)]
    assert max(accuracies) - min(accuracies) < checks.MARGIN / 2
    assert min(accuracies) > 0.9


def test_a_sandbox_that_counts_autograd_calls_is_asked():
    """A sandboxed env (autograder.sandbox.RemoteEnv) counts backward()/grad() calls in the
    student's process, where no patch of ours can see them; the checks ask it."""
    class CountingEnv(dict):
        calls = 0

        def autograd_calls(self):
            n, CountingEnv.calls = CountingEnv.calls, 0
            return n

    env = CountingEnv(namespace("solutions.softmax_backprop"))
    assert failure(checks.check_softmax_loss_edge_cases, env) is None
    honest = env["softmax_loss"]

    def softmax_loss(scores, y):
        CountingEnv.calls += 1  # what the sandbox would count for a hidden backward()
        return honest(scores, y)
    env["softmax_loss"] = softmax_loss
    assert "uses autograd" in failure(checks.check_softmax_loss_edge_cases, env)


TRAIN_CHECKS = checks.QUESTIONS["train_two_layer"]


@pytest.mark.parametrize("harmless", softmax_mistakes.TRAIN_HARMLESS,
                         ids=[h[0] for h in softmax_mistakes.TRAIN_HARMLESS])
def test_other_correct_training_loops_pass(harmless):
    """With or without replacement, a Generator, the global RNG or numpy's, staged updates,
    float64 inside, extra keys: all of it is minibatch SGD and keeps every point."""
    _, module, replacements = harmless
    assert question_failures("train_two_layer", mutated(module, replacements)) == []


def test_changing_X_in_place_is_named():
    honest = reference.two_layer_forward_backward

    def two_layer_forward_backward(params, X, y=None, reg=0.0):
        result = honest(params, X, y, reg)
        X.add_(1.0)  # e.g. a preprocessing step done in place on the caller's data
        return result
    message = failure(checks.check_two_layer_loss,
                      {"two_layer_forward_backward": two_layer_forward_backward})
    assert "changed its argument `X` in place; work on a copy" in message


def test_train_may_update_the_params_it_is_given_but_not_the_data():
    env = namespace("student_variants.softmax_explicit")  # updates params in place
    assert [failure(c, env) for c in TRAIN_CHECKS] == [None] * len(TRAIN_CHECKS)
    honest = env["train_two_layer"]

    def train_two_layer(params, X, y, X_val, y_val, *args, **kwargs):
        X_val -= X_val.mean(0)  # centres the caller's validation data in place
        return honest(params, X, y, X_val, y_val, *args, **kwargs)
    message = failure(checks.check_train_two_layer_contract,
                      {**env, "train_two_layer": train_two_layer})
    assert "changed its argument `X_val` in place" in message


def test_the_identical_examples_trajectory_does_not_depend_on_the_minibatches():
    """What check_train_two_layer_sgd_steps relies on: any batch size, any seed, the same
    history as SGD on the one example, far inside the tolerance; val_accuracy has no
    near-ties."""
    params, data = checks.small_params(31), checks.identical_examples_data()
    X, y, X_val, y_val = data
    want, _, trained = checks.sgd_on_one_example(params, X[:1], y[:1], checks.SAME_LR,
                                                 checks.SAME_REG, checks.SAME_ITERS)
    for batch_size, seed in [(1, 0), (checks.SAME_BATCH, 3), (checks.SAME_N, 7)]:
        got = reference.train_two_layer(checks.copy_params(params), *data, checks.SAME_LR,
                                        checks.SAME_REG, checks.SAME_ITERS, batch_size,
                                        seed=seed)["loss_history"]
        assert all(abs(a - b) < (checks.HISTORY_ATOL + checks.HISTORY_RTOL * abs(b)) / 20
                   for a, b in zip(got, want))
    scores = torch.relu(X_val.double() @ trained["W1"] + trained["b1"]) @ trained["W2"] \
        + trained["b2"]
    top = scores.topk(2, dim=1).values
    assert float((top[:, 0] - top[:, 1]).min()) > 1e-3


def test_single_example_losses_are_told_apart():
    """What check_train_two_layer_minibatches relies on: the per-example losses, the mean
    over the set, the losses without L2 and the validation examples' are all distinct."""
    params = checks.small_params(41)
    X, y, X_val, y_val = checks.distinct_examples_data()
    singles, without_l2 = checks.per_example_losses(params, X, y, checks.ONE_REG)
    others = [sum(singles) / len(singles)] + without_l2 + \
        checks.per_example_losses(params, X_val, y_val, checks.ONE_REG)[0]
    values = sorted(singles)
    assert min(b - a for a, b in zip(values, values[1:])) > 1e-3
    assert min(abs(a - b) for a in singles for b in others) > 1e-3


def test_in_place_changes_are_seen_inside_a_sandbox(tmp_path):
    """In a sandbox the grader's tensors reach the student as copies: the comparison must
    happen in the student's process, or `scores -= max` goes unnoticed."""
    import inspect

    from autograder.runner import PRIVATE_DIRS
    from autograder.sandbox import RemoteEnv, Sandbox
    source = inspect.getsource(reference).replace(
        "shifted = scores - scores.max(dim=1, keepdim=True).values",
        "scores -= scores.max(dim=1, keepdim=True).values\n    shifted = scores")
    with Sandbox(str(tmp_path), [str(p) for p in PRIVATE_DIRS]) as sandbox:
        sandbox.exec_cell(source, 30)
        env = RemoteEnv(sandbox)
        message = failure(checks.check_softmax_loss_edge_cases, env)
        assert message and "changed its argument `scores` in place; work on a copy" in message
        assert failure(checks.check_train_two_layer_minibatches, env) is None


# --- issue 17: defaults and the device ------------------------------------------------------

def test_reg_and_seed_defaults_are_each_asked_once():
    from autograder import mutants
    by_id = {m.id: m for m in mutants.SOURCE_MUTANTS}
    for mutant_id, question, check in [
            ("two_layer_default_reg", "two_layer_forward_backward", "check_two_layer_loss"),
            ("train_default_seed_1", "train_two_layer", "check_train_two_layer_minibatches")]:
        env = mutants.apply_source_mutant(by_id[mutant_id])
        failing = {c.__name__: failure(c, env) for c in checks.QUESTIONS[question]}
        assert {n for n, m in failing.items() if m} == {check}, failing
        assert "defaults to 0" in failing[check]


def test_a_loop_that_is_not_reproducible_is_not_blamed_for_the_seed_default():
    # drawn from the global RNG: the accuracy check's to tell, not the default's
    env = mutated("student_variants.softmax_explicit", [(
        "idx = torch.randint(X.shape[0], (batch_size,), generator=gen, device=X.device)",
        "idx = torch.randint(X.shape[0], (batch_size,), device=X.device)")])
    assert failure(checks.check_train_two_layer_minibatches, env) is None


def test_the_spy_sees_the_devices_the_loop_works_on_and_is_removed():
    from autograder import mutants
    from autograder.checks.call_probe import probe_call
    env = mutants.apply_source_mutant(mutants.SourceMutant(
        "softmax_backprop", "reference", "", ()))  # the functions' own globals: spied on
    own = env["two_layer_forward_backward"]
    params = checks.small_params(3)
    X, y, X_val, y_val = checks.distinct_examples_data()
    reply = probe_call(env, "train_two_layer", [params, X, y, X_val, y_val, 0.1, 0.0, 3, 2],
                       {}, 10.0, "two_layer_forward_backward")
    assert "value" in reply and reply["devices"] == ["cpu"]
    assert env["two_layer_forward_backward"] is own


class _OnCuda:
    device = "cuda:0"


def test_training_elsewhere_than_on_X_device_is_named(caplog):
    with pytest.raises(AssertionError, match=r"must run on the device of X \(cuda:0\).*on cpu"):
        checks._check_device("cuda", _OnCuda(), ["cpu", "cuda:0"])
    checks._check_device("cuda", _OnCuda(), ["cuda:0"])
    checks._check_device("cuda", _OnCuda(), [])  # nothing seen: nothing to say
    import logging
    from autograder.records import NOTES_LOG
    caplog.set_level(logging.INFO, logger=NOTES_LOG)
    logger = logging.getLogger(NOTES_LOG)
    logger.addHandler(caplog.handler)
    try:
        checks._check_device("cpu", torch.zeros(1), ["cpu"])
    finally:
        logger.removeHandler(caplog.handler)
    assert any("was not checked" in r.getMessage() for r in caplog.records)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_a_loop_that_moves_the_data_to_the_cpu_is_caught_on_a_gpu():
    from autograder import mutants
    env = mutants.apply_source_mutant(
        next(m for m in mutants.SOURCE_MUTANTS if m.id == "train_moves_data_to_cpu"))
    message = failure(checks.check_train_two_layer_contract, env)
    assert message and "must run on the device of X" in message
    assert failure(checks.check_train_two_layer_contract,
                   vars(__import__("solutions.softmax_backprop").softmax_backprop)) is None
