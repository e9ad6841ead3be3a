"""Hidden checks for `softmax_backprop`: a softmax loss and a two-layer net's gradients by hand.

Expected values come from torch.autograd (independent of any hand derivation) and agree with
the reference. Every student call is watched for autograd (probe_call): a function that uses
`requires_grad`, `.backward()` or `torch.autograd` fails every check of its question, so the
question earns nothing. Wrong values are matched against the usual mistakes (no max shift,
no /N, the 1/2 in the L2 term, a missing 2 in its gradient, the ReLU's mask) to name them.
Changing an argument in place (the caller's scores, X or params) fails the call; the probe
compares where the student's code runs, since in a sandbox it is handed copies.

Training is checked on problems whose outcome no choice of minibatches can change: every
training example identical (the SGD trajectory is then fixed, entry by entry), and
learning_rate=0 with batch_size=1 (each loss is one training example's, and depends on seed).
One mistake, one penalty: where a loop departs from SGD with the true gradients, it is judged
again against SGD driven by the student's own two_layer_forward_backward; a loop whose results
are exactly what its own gradients imply keeps its points (the error is that question's).

Stability is what the contract promises and no more: scores up to +-1e4, each row's correct
class within 50 of the row's maximum. A max shift is then enough, log(probabilities) included.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from autograder.checks import disk_cache, fuzzing
from autograder.records import NOTES_LOG
from autograder.checks.determinism import pick_device
from autograder.checks.common import StudentTimeout, timeout_message
from autograder.checks.probes import run_probe, run_probe_many
from autograder.checks.tensor_compare import plain_tensor
from solutions import softmax_backprop as reference
from solutions import mistakes, tolerance

DIGITS = Path(__file__).resolve().parent.parent / "data" / "digits.npz"
PARAM_NAMES = ("W1", "b1", "W2", "b2")
CALL_TIMEOUT = 10.0  # seconds for one call of softmax_loss or two_layer_forward_backward
BATCH_BUDGET = 5.0   # seconds for one batch of fuzzed calls; past it, one call at a time
PROBE_SLACK = 5.0    # seconds a batched probe call may take beyond the student's call


# The seed of check_softmax_loss_values's search (fuzzing.py says why it is a number).
SEARCH_SEED = int("acb213980bc012b8959a5308b51d237ed77cdc59e9eda4821e61cd2a4c14e1d74daa58c0"
                  "d4de9148b1fb1b5e98a93cb1", 16)


def fuzzed(strategy, max_examples: int, check) -> None:
    """`check(case)` over the derandomized examples of `strategy`, without shrinking; the
    first failure's AssertionError comes out as it was (no falsifying example, no test
    source)."""
    def example(case):
        try:
            check(case)
        except AssertionError as err:
            raise fuzzing.Mismatch(str(err)) from None
    try:
        fuzzing.search(strategy, example, max_examples=max_examples, seed_value=SEARCH_SEED,
                       shrink=False)
    except fuzzing.Mismatch as err:
        raise AssertionError(str(err)) from None


# --- calling the student ----------------------------------------------------------------------

def student_call(env, name: str, *args, timeout: float | None = None,
                 may_change: tuple[str, ...] = (), devices: list | None = None,
                 asked: tuple | None = None, **kwargs):
    """The student's `name(*args, **kwargs)`, called where the student's code runs. Autograd
    fails the call; so does changing an argument in place (compared there, where the
    student's code sees the caller's tensors), except the arguments named in `may_change`.
    With `devices` (a list), the student's two_layer_forward_backward is watched during the
    call, and the devices of the tensors it is handed are added to the list. `asked`: the
    probe's outcome for this call, asked ahead in a batch (`_probe_replies`), instead of a
    call now."""
    counter = getattr(env, "autograd_calls", None)  # a sandbox counts backward()/grad() itself
    if asked is not None:
        counter = None  # counted for the whole batch
        reply = _as_asked(name, *asked, timeout or CALL_TIMEOUT)
    else:
        if callable(counter):
            counter()
        spy = "two_layer_forward_backward" if devices is not None else None
        reply = run_probe(env, "probe_call", name, list(args), kwargs,
                          timeout or CALL_TIMEOUT, spy)
    if devices is not None:
        devices += reply.get("devices") or []
    if not reply.get("autograd") and callable(counter) and counter():
        reply["autograd"] = "backward() or torch.autograd.grad"
    if reply.get("autograd"):
        raise AssertionError(
            f"`{name}` uses autograd ({reply['autograd']}): this assignment asks for the "
            "gradients by hand, so this question earns no points. Remove requires_grad, "
            ".backward() and torch.autograd from your code (and from what it calls)")
    if "error" in reply:
        raise AssertionError(reply["error"])
    changed = [arg for arg in reply.get("mutated") or []
               if arg.split("[", 1)[0] not in may_change]
    if changed:
        shown = ", ".join(f"`{arg}`" for arg in changed[:4])
        plural = "s" if len(changed) > 1 else ""
        raise AssertionError(
            f"`{name}` changed its argument{plural} {shown} in place; work on a copy: the "
            "caller's tensors must come back unchanged (write `x = x - m` rather than "
            "`x -= m`, `.clamp(min=0)` rather than `.clamp_(min=0)`, or `.clone()` first)")
    return reply["value"]


def _as_asked(name: str, outcome: str, answer, timeout: float) -> dict:
    """The probe's reply that a call now would have given, from its outcome in a batch
    (common.call_many): a probe that raised raises the same (only where its process is gone:
    `fuzzing.Ahead`); one that never answered (the student's code got past the probe's own
    time limit, and the sandbox was ended) is a call past its time."""
    if outcome == "timeout":
        raise StudentTimeout(timeout_message(f"`{name}`", timeout))
    if outcome == "raised":
        raise answer
    return answer


def _probe_replies(env, name: str, arg_lists: list) -> list[tuple] | None:
    """The probe_call outcomes of `name(*args)` for each args of `arg_lists` (the student
    gets copies of their tensors), asked in one batch; None where the sandbox counted
    autograd calls in it, which no one call can then be blamed for."""
    counter = getattr(env, "autograd_calls", None)
    if callable(counter):
        counter()
    outcomes = run_probe_many(
        env, "probe_call", [(name, [a.clone() if isinstance(a, torch.Tensor) else a
                                    for a in args], {}, CALL_TIMEOUT, None)
                            for args in arg_lists],
        timeout=CALL_TIMEOUT + PROBE_SLACK, budget=BATCH_BUDGET)
    try:
        counted = counter() if callable(counter) else 0
    except AssertionError:  # the batch's last call ended the process: the replies stand
        counted = 0
    return None if counted else outcomes


def _same_tensors(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(
        x.dtype == z.dtype and x.shape == z.shape and bool(torch.equal(x, z))
        for x, z in zip(a, b))


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """The student's `a` finite and within atol + rtol * |b| of `b` (solutions/tolerance.py)."""
    return tolerance.close_all(a, b, rel=rtol, abs=atol)


def shape_of(t) -> str:
    return str(tuple(int(d) for d in t.shape))


# --- softmax_loss -----------------------------------------------------------------------------

def autograd_softmax(scores: torch.Tensor, y: torch.Tensor):
    leaf = scores.detach().double().clone().requires_grad_(True)
    loss = F.cross_entropy(leaf, y)
    loss.backward()
    return loss.detach(), leaf.grad.detach()


def _unpack_softmax(result, n: int, c: int):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise AssertionError("`softmax_loss` must return a pair (loss, dscores)")
    loss = plain_tensor(result[0], "the loss returned by `softmax_loss`")
    if loss.dim() != 0:
        raise AssertionError(f"the loss must be a 0-dim tensor (a scalar, e.g. from .mean()), "
                             f"not shape {shape_of(loss)}")
    dscores = plain_tensor(result[1], "dscores")
    if tuple(dscores.shape) != (n, c):
        raise AssertionError(f"dscores must have the shape of scores, ({n}, {c}), not "
                             f"{shape_of(dscores)}")
    return loss, dscores


def check_softmax_case(env, scores: torch.Tensor, y: torch.Tensor, rtol: float = 1e-6,
                       promise: str = "", asked: tuple | None = None) -> None:
    """`promise`: what these scores keep to, shown in the feedback (the stability case);
    `asked`: the call's outcome from a batch (student_call)."""
    n, c = scores.shape
    result = student_call(env, "softmax_loss", scores.clone(), y.clone(), asked=asked)
    loss, dscores = _unpack_softmax(result, n, c)
    want_loss, want_grad = autograd_softmax(scores, y)
    shown = (f"scores of shape ({n}, {c}) with entries up to {float(scores.abs().max()):.3g}"
             f"{promise}")
    if not torch.isfinite(dscores).all():
        raise AssertionError(f"`softmax_loss` gives inf or nan for {shown}: subtract each row's "
                             "maximum from the scores before exponentiating (it cancels out in "
                             "the softmax, and keeps exp() from overflowing); computing the "
                             "log-probabilities as shifted - log(sum(exp(shifted))) "
                             "(log-sum-exp) is better still")
    if not torch.isfinite(loss):
        raise AssertionError(f"`softmax_loss` gives an inf or nan loss for {shown}: with each "
                             "row's maximum subtracted before exp(), the correct class's "
                             "probability cannot underflow here; compute the log-probabilities "
                             "as shifted - log(sum(exp(shifted))) (log-sum-exp), which never "
                             "takes the log of 0")
    atol = 1e-9 if scores.dtype == torch.float64 else 1e-5
    if not close(loss, want_loss, rtol, atol):
        hint = ""
        if close(loss, want_loss * n, rtol, atol) and n > 1:
            hint = ": it is the sum over the batch; the loss is the mean over the N rows"
        elif close(loss, -want_loss, rtol, atol):
            hint = (": it has the wrong sign (cross-entropy is -log of the correct class's "
                    "probability)")
        raise AssertionError(f"`softmax_loss` returns a wrong loss for {shown}{hint}")
    if not close(dscores, want_grad, rtol, atol):
        probs = want_grad * n + F.one_hot(y, c).double()
        hint = ""
        if n > 1 and close(dscores, want_grad * n, rtol, atol):
            hint = ": it is N times too large; divide by N, since the loss is a mean over N rows"
        elif close(dscores, probs / n, rtol, atol) or close(dscores, probs, rtol, atol):
            hint = ": subtract 1 at each row's correct class (softmax - onehot(y))"
        elif close(dscores, -want_grad, rtol, atol):
            hint = ": its sign is flipped (it is softmax - onehot, not onehot - softmax)"
        raise AssertionError(f"`softmax_loss` returns a wrong dscores for {shown}{hint}. "
                             "It should be (softmax(scores) - onehot(y)) / N")


@st.composite
def softmax_cases(draw):
    n = draw(st.integers(1, 12))
    c = draw(st.integers(2, 12))
    scale = draw(st.sampled_from([1e-3, 1.0, 5.0, 30.0]))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, c, generator=g, dtype=torch.float64) * scale
    y = torch.randint(0, c, (n,), generator=g)
    return scores, y


SOFTMAX_EXAMPLES = 40  # check_softmax_loss_values's examples


def check_softmax_loss_values(env):
    """Hypothesis's examples, asked in one batch: where every answer is right that is all;
    otherwise the search runs as it would alone, its examples answered from the batch while
    they are the ones asked (the same cases, the same first failure, the same feedback)."""
    cases = fuzzing.drawn_examples(softmax_cases(), max_examples=SOFTMAX_EXAMPLES,
                                   seed_value=SEARCH_SEED, shrink=False)
    outcomes = _probe_replies(env, "softmax_loss", cases)
    ahead = fuzzing.Ahead(cases, outcomes or [], same=_same_tensors)
    if outcomes is not None and len(outcomes) == len(cases):
        try:
            for case, outcome in zip(cases, outcomes):
                check_softmax_case(env, *case, asked=outcome)
            return
        except Exception:  # noqa: BLE001 - the search meets it again, and says so
            pass
    fuzzed(softmax_cases(), SOFTMAX_EXAMPLES,
           lambda case: check_softmax_case(env, *case, asked=ahead.take(case)))


# The contract's promise, and no more: scores up to +-1e4, each row's correct class within
# STABLE_GAP of that row's maximum. Subtracting the row max is then enough for a finite loss
# and gradient even with log(probabilities) (e^-50 is far from underflow in float32 too); no
# shift at all overflows (e^1e4 = inf) or, where a whole row is very negative, gives 0 / 0.
STABLE_SCALE, STABLE_GAP = 1e4, 50.0
STABLE_PROMISE = (f" (each row's correct class within {STABLE_GAP:g} of the row's maximum, "
                  "as the contract promises)")


def stable_scores(n: int, c: int, seed: int, dtype=torch.float64):
    """(scores, y): scores uniform in [-1e4, 1e4], then each row's correct class set between
    STABLE_GAP below and STABLE_GAP above the row's largest other score; one row puts its
    correct class exactly STABLE_GAP below its maximum."""
    g = torch.Generator().manual_seed(seed)
    scores = (torch.rand(n, c, generator=g, dtype=torch.float64) * 2 - 1) * STABLE_SCALE
    y = torch.randint(0, c, (n,), generator=g)
    rows = torch.arange(n)
    others = scores.clone()
    others[rows, y] = -float("inf")
    gap = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * STABLE_GAP
    gap[0] = -STABLE_GAP
    scores[rows, y] = (others.max(dim=1).values + gap).clamp(-STABLE_SCALE, STABLE_SCALE)
    return scores.to(dtype), y


def check_softmax_loss_stability(env):
    """Large scores within the contract's promise: a max shift gives a finite, right loss and
    gradient (log of the probabilities included); no shift overflows."""
    scores, y = stable_scores(6, 5, seed=7)
    scores[1] = scores[1].abs()            # a row near +1e4: exp() overflows without a shift
    scores[1, y[1]] = scores[1].max() - 10.0
    scores[2] = -STABLE_SCALE + scores[2].abs() / 100  # a whole row near -1e4: 0 / 0 unshifted
    scores[2, y[2]] = scores[2].max() - 20.0
    check_softmax_case(env, scores, y, promise=STABLE_PROMISE)
    ties = torch.tensor([[1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4, -1e4]], dtype=torch.float64)
    check_softmax_case(env, ties, torch.tensor([1, 2]), promise=STABLE_PROMISE)
    scores32, y32 = stable_scores(8, 7, seed=8, dtype=torch.float32)
    check_softmax_case(env, scores32, y32, rtol=1e-4, promise=STABLE_PROMISE)


def check_softmax_loss_edge_cases(env):
    check_softmax_case(env, torch.tensor([[2.0, -1.0, 0.5]], dtype=torch.float64),
                       torch.tensor([2]))
    check_softmax_case(env, torch.zeros(4, 2, dtype=torch.float64), torch.tensor([0, 1, 1, 0]))
    g = torch.Generator().manual_seed(3)
    check_softmax_case(env, torch.randn(16, 10, generator=g), torch.arange(16) % 10, rtol=1e-4)


# --- two_layer_forward_backward ----------------------------------------------------------------

def make_params(d: int, h: int, c: int, seed: int, dtype=torch.float64) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"W1": torch.randn(d, h, generator=g, dtype=dtype) * 0.5,
            "b1": torch.randn(h, generator=g, dtype=dtype) * 0.5,
            "W2": torch.randn(h, c, generator=g, dtype=dtype) * 0.5,
            "b2": torch.randn(c, generator=g, dtype=dtype) * 0.5}


def copy_params(params: dict) -> dict:
    return {k: v.detach().clone() for k, v in params.items()}


def autograd_two_layer(params: dict, X, y, reg: float):
    leaves = {k: v.detach().double().clone().requires_grad_(True) for k, v in params.items()}
    hidden = torch.relu(X.double() @ leaves["W1"] + leaves["b1"])
    scores = hidden @ leaves["W2"] + leaves["b2"]
    loss = F.cross_entropy(scores, y) + reg * ((leaves["W1"] ** 2).sum()
                                               + (leaves["W2"] ** 2).sum())
    loss.backward()
    return scores.detach(), loss.detach(), {k: v.grad.detach() for k, v in leaves.items()}


# The catalogue's words for the gradients' mistakes (solutions/mistakes/softmax_backprop.py).
_FACTOR_2, _NO_L2, _NOT_BY_N, _BIAS_L2, _NO_RELU_MASK = (
    mistakes.BY_ID[i].description for i in ("dw2_reg_without_2", "dw1_no_reg",
                                             "softmax_grad_not_divided_by_n",
                                             "regularized_biases", "relu_mask_missing"))


def mistaken_grads(params: dict, X, y, reg: float) -> dict[str, dict[str, torch.Tensor]]:
    """grad name -> {description of a typical mistake: the gradient it gives}."""
    p = {k: v.double() for k, v in params.items()}
    X = X.double()
    n = X.shape[0]
    pre = X @ p["W1"] + p["b1"]
    hidden = pre.clamp(min=0)
    scores = hidden @ p["W2"] + p["b2"]
    dscores = (torch.softmax(scores, dim=1) - F.one_hot(y, scores.shape[1]).double()) / n
    dhidden = dscores @ p["W2"].T
    dpre = dhidden * (pre > 0)
    data = {"W2": hidden.T @ dscores, "b2": dscores.sum(0), "W1": X.T @ dpre, "b1": dpre.sum(0)}
    out = {k: {} for k in PARAM_NAMES}
    for w in ("W1", "W2"):
        if reg > 0:
            out[w][_FACTOR_2] = data[w] + reg * p[w]
            out[w][_NO_L2] = data[w]
        out[w][_NOT_BY_N] = data[w] * n + 2 * reg * p[w]
    for b in ("b1", "b2"):
        out[b][_NOT_BY_N] = data[b] * n
        if reg > 0:
            out[b][_BIAS_L2] = data[b] + 2 * reg * p[b]
    out["W1"][_NO_RELU_MASK] = X.T @ dhidden + 2 * reg * p["W1"]
    out["b1"][_NO_RELU_MASK] = dhidden.sum(0)
    out["W1"][_NOT_BY_N] = data["W1"] * n + 2 * reg * p["W1"]
    return out


TWO_LAYER_CASES = [  # (N, D, H, C, reg, seed)
    (5, 4, 6, 3, 0.0, 1), (5, 4, 6, 3, 0.1, 2), (1, 3, 5, 4, 0.05, 3), (8, 7, 10, 5, 0.3, 4),
]


def _two_layer_inputs(n, d, h, c, seed):
    params = make_params(d, h, c, seed)
    g = torch.Generator().manual_seed(seed + 100)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, c, (n,), generator=g)
    return params, X, y


def autograd_gate(env):
    """One call with labels: autograd used anywhere in the function fails every check."""
    params, X, y = _two_layer_inputs(3, 2, 4, 3, 0)
    student_call(env, "two_layer_forward_backward", copy_params(params), X, y, 0.1)


def check_two_layer_scores(env):
    autograd_gate(env)
    for n, d, h, c, reg, seed in TWO_LAYER_CASES:
        params, X, y = _two_layer_inputs(n, d, h, c, seed)
        got = student_call(env, "two_layer_forward_backward", copy_params(params), X.clone())
        got = plain_tensor(got, "with y=None, the result of `two_layer_forward_backward`")
        want, _, _ = autograd_two_layer(params, X, y, reg)
        if tuple(got.shape) != (n, c):
            raise AssertionError(f"with y=None, `two_layer_forward_backward` must return the "
                                 f"scores, shape (N, C) = ({n}, {c}), not {shape_of(got)}")
        if not close(got, want):
            hint = ""
            no_relu = (X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
            if close(got, no_relu):
                hint = ": the ReLU between the two affine layers is missing"
            raise AssertionError(f"the scores (y=None) are wrong for N={n}, D={d}, H={h}, "
                                 f"C={c}{hint}; the net is affine - ReLU - affine")


OMITTED = object()  # an argument the call leaves to its default


def _loss_and_grads(env, params, X, y, reg):
    args = (copy_params(params), X.clone(), y.clone()) + (() if reg is OMITTED else (reg,))
    result = student_call(env, "two_layer_forward_backward", *args)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise AssertionError("with labels y, `two_layer_forward_backward` must return a pair "
                             "(loss, grads)")
    loss = plain_tensor(result[0], "the loss")
    if loss.numel() != 1:
        raise AssertionError(f"the loss must be a scalar tensor, not shape {shape_of(loss)}")
    return loss.reshape(()), result[1]


def check_two_layer_loss(env):
    for n, d, h, c, reg, seed in TWO_LAYER_CASES:
        params, X, y = _two_layer_inputs(n, d, h, c, seed)
        loss, _ = _loss_and_grads(env, params, X, y, reg)
        _, want, _ = autograd_two_layer(params, X, y, reg)
        if close(loss, want):
            continue
        sumsq = float((params["W1"] ** 2).sum() + (params["W2"] ** 2).sum())
        data_loss = float(want) - reg * sumsq
        got = float(loss)
        hint = ""
        if reg > 0 and abs(got - (float(want) - reg * sumsq / 2)) < 1e-7:
            hint = (": the L2 term has a 1/2 in it; the contract's term is "
                    "reg * (sum(W1**2) + sum(W2**2)), without 1/2")
        elif reg > 0 and abs(got - data_loss) < 1e-7:
            hint = ": the L2 term reg * (sum(W1**2) + sum(W2**2)) is missing"
        elif reg > 0 and abs(got - float(want) - reg * float((params["b1"] ** 2).sum()
                                                             + (params["b2"] ** 2).sum())) < 1e-7:
            hint = ": the L2 term covers W1 and W2 only, not the biases"
        elif n > 1 and abs(got - (data_loss * n + reg * sumsq)) < 1e-7:
            hint = ": the data loss must be the mean over the N examples, not the sum"
        raise AssertionError(f"the loss is wrong for N={n}, D={d}, H={h}, C={c}, reg={reg}{hint}")
    # reg's default: a call without it is a call with reg=0.0
    n, d, h, c, _, seed = TWO_LAYER_CASES[3]
    params, X, y = _two_layer_inputs(n, d, h, c, seed)
    loss, _ = _loss_and_grads(env, params, X, y, OMITTED)
    if not close(loss, autograd_two_layer(params, X, y, 0.0)[1]):
        raise AssertionError("two_layer_forward_backward(params, X, y), called without reg, "
                             "returns another loss than with reg=0.0: reg defaults to 0.0 (no "
                             "L2 term unless reg is given)")


def check_two_layer_grads(env):
    for n, d, h, c, reg, seed in TWO_LAYER_CASES:
        params, X, y = _two_layer_inputs(n, d, h, c, seed)
        _, grads = _loss_and_grads(env, params, X, y, reg)
        if not isinstance(grads, dict) or sorted(grads) != sorted(PARAM_NAMES):
            keys = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
            raise AssertionError(f"grads must be a dict with the keys W1, b1, W2, b2 "
                                 f"(like params), got {keys}")
        _, _, want = autograd_two_layer(params, X, y, reg)
        wrong = mistaken_grads(params, X, y, reg)
        for name in PARAM_NAMES:
            got = plain_tensor(grads[name], f"grads[{name!r}]")
            if tuple(got.shape) != tuple(params[name].shape):
                hint = (": sum over the batch (dim 0) to get one entry per unit"
                        if name.startswith("b") else "")
                raise AssertionError(f"grads[{name!r}] must have the shape of {name}, "
                                     f"{shape_of(params[name])}, not {shape_of(got)}{hint}")
            if close(got, want[name], 1e-6, 1e-9):
                continue
            mistake = next((text for text, value in wrong[name].items()
                            if close(got, value, 1e-6, 1e-9)), None)
            hint = f": it looks like you {mistake}" if mistake else ""
            raise AssertionError(f"grads[{name!r}] is wrong for N={n}, D={d}, H={h}, C={c}, "
                                 f"reg={reg}{hint}")


# --- train_two_layer --------------------------------------------------------------------------

HIDDEN, LEARNING_RATE, REG, NUM_ITERS, BATCH_SIZE = 32, 0.2, 1e-3, 200, 64
REPEAT_ITERS = 20  # the runs that show a loop reproducible
MARGIN = 0.03  # the student's val_accuracy may be this much below the reference's


def digits(device: str):
    """sklearn's digits, standardized with the training part's statistics, fixed split."""
    data = np.load(DIGITS)
    X = torch.tensor(data["images"], dtype=torch.float32)
    y = torch.tensor(data["labels"], dtype=torch.int64)
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    X, y = X[order], y[order]
    X_train, y_train, X_val, y_val = X[:1400], y[:1400], X[1400:], y[1400:]
    mean, std = X_train.mean(0), X_train.std(0) + 1e-3
    X_train, X_val = (X_train - mean) / std, (X_val - mean) / std
    return [t.to(device) for t in (X_train, y_train, X_val, y_val)]


def initial_params(device: str) -> dict:
    params = make_params(64, HIDDEN, 10, seed=11, dtype=torch.float32)
    params = {k: (v * 0.2 if k.startswith("W") else v * 0.0) for k, v in params.items()}
    return {k: v.to(device) for k, v in params.items()}


def _train(env, params, data, learning_rate, reg, num_iters, batch_size, seed=0,
           timeout=60.0, devices: list | None = None) -> tuple[list[float], float]:
    """`seed`: OMITTED leaves it to the default; `devices`: see student_call."""
    X, y, X_val, y_val = data
    seeded = {} if seed is OMITTED else {"seed": seed}
    try:
        result = student_call(env, "train_two_layer", copy_params(params), X, y, X_val, y_val,
                              learning_rate, reg, num_iters, batch_size, **seeded,
                              timeout=timeout, may_change=("params",), devices=devices)
    except AssertionError as err:
        if not str(err).startswith("`train_two_layer` raised"):
            raise
        # An error inside the loop may be the gradients' (a db summed over the wrong axis
        # cannot be subtracted from b): then it is named where it is.
        reason = _own_gradients_problem(env, params, X[:batch_size], y[:batch_size], reg)
        if reason:
            raise AssertionError(f"{err}. {_OWN_BLAME.format(reason=reason)}") from None
        raise
    if not isinstance(result, dict) or "loss_history" not in result \
            or "val_accuracy" not in result:
        raise AssertionError("`train_two_layer` must return a dict with the keys "
                             "'loss_history' and 'val_accuracy'")
    history, accuracy = result["loss_history"], result["val_accuracy"]
    if type(history) is not list or not all(isinstance(v, float) and type(v) is not bool
                                            for v in history):
        raise AssertionError("'loss_history' must be a list of Python floats: append "
                             "float(loss) (or loss.item()) at every iteration")
    if len(history) != num_iters:
        raise AssertionError(f"'loss_history' must hold one loss per iteration: {num_iters} "
                             f"iterations gave {len(history)} entries")
    if not isinstance(accuracy, float) or not 0.0 <= float(accuracy) <= 1.0:
        raise AssertionError("'val_accuracy' must be a Python float between 0 and 1 "
                             "(the fraction of validation examples classified correctly)")
    return [float(v) for v in history], float(accuracy)


# --- what the student's own two_layer_forward_backward implies --------------------------------
#
# One mistake, one penalty. A training loop is judged first against minibatch SGD with the
# true gradients; where it departs, against the same SGD driven by the student's OWN
# two_layer_forward_backward (called as the loop would call it). A loop whose results are
# exactly what its own gradients imply is a right loop: the error is in
# two_layer_forward_backward, which loses its own question's points, not these. A loop that
# departs from both is wrong, and loses them.

_OWN_BLAME = ("The error is in two_layer_forward_backward, which this loop relies on: "
              "{reason} (see that question's feedback)")


class _OwnGradientsFail(Exception):
    """The student's two_layer_forward_backward cannot drive a training loop; the message
    says why, phrased for the student."""


def _own_loss_and_grads(env, params: dict, X, y, reg: float):
    """(loss as a float, grads in params' dtype and device) from the student's function."""
    try:
        loss, grads = _loss_and_grads(env, params, X, y, reg)
    except AssertionError as err:
        raise _OwnGradientsFail(str(err)) from None
    if not isinstance(grads, dict) or any(name not in grads for name in PARAM_NAMES):
        raise _OwnGradientsFail("its grads is not a dict with the keys W1, b1, W2, b2")
    out = {}
    for name in PARAM_NAMES:
        try:
            g = plain_tensor(grads[name], f"grads[{name!r}]")
        except AssertionError as err:
            raise _OwnGradientsFail(str(err)) from None
        if tuple(g.shape) != tuple(params[name].shape):
            raise _OwnGradientsFail(f"its grads[{name!r}] has shape {shape_of(g)}, not "
                                    f"{name}'s {shape_of(params[name])}")
        out[name] = g.to(device=params[name].device, dtype=params[name].dtype)
    return float(loss), out


def _own_gradients_problem(env, params, X, y, reg) -> str | None:
    """Why the student's two_layer_forward_backward cannot drive SGD, or None if it can."""
    try:
        _own_loss_and_grads(env, params, X, y, reg)
    except _OwnGradientsFail as err:
        return str(err)
    return None


def _own_sgd(env, params: dict, batches, learning_rate: float, reg: float, dtype=None):
    """Plain SGD driven by the student's own gradients, one step per (X_batch, y_batch) of
    `batches` (an iterable, drawn lazily): (loss history, final params). `dtype`: run in
    that dtype instead of the params' own. Raises _OwnGradientsFail."""
    p = {k: (v.to(dtype) if dtype else v.clone()) for k, v in params.items()}
    history = []
    for X, y in batches:
        if not all(bool(torch.isfinite(v).all()) for v in p.values()):
            # Diverged: every later loss is nan. (Not asked of the student's function: the
            # in-place probe cannot tell a nan argument from a changed one.)
            history.append(float("nan"))
            continue
        loss, grads = _own_loss_and_grads(env, p, X.to(dtype) if dtype else X, y, reg)
        history.append(loss)
        p = {k: p[k] - learning_rate * grads[k] for k in PARAM_NAMES}
    return history, p


def _accuracies(env, params: dict, X_val, y_val) -> list[float]:
    """The val accuracy of `params`, with the true forward pass and with the student's own
    (a loop computes it with the student's two_layer_forward_backward)."""
    with torch.no_grad():
        scores = torch.relu(X_val.double() @ params["W1"].double() + params["b1"].double()) \
            @ params["W2"].double() + params["b2"].double()
    found = [float((scores.argmax(1) == y_val).double().mean())]
    try:
        own = plain_tensor(student_call(env, "two_layer_forward_backward", copy_params(params),
                                        X_val.clone()), "the scores")
        if tuple(own.shape) == tuple(scores.shape):
            found.append(float((own.argmax(1) == y_val.cpu()).double().mean()))
    except AssertionError:
        pass
    return found


def _same_loss(a: float, b: float) -> bool:
    """Within the history tolerance; two nans (or two infs of one sign) are the same."""
    return tolerance.close(a, b, rel=HISTORY_RTOL, abs=HISTORY_ATOL, relative_to="expected",
                           nan_equal=True)


def first_difference(got: list[float], want: list[float]) -> int | None:
    """Index of the first entry of `got` outside the tolerance around `want`, or None."""
    for i, (a, b) in enumerate(zip(got, want)):
        if not _same_loss(a, b):
            return i
    return None if len(got) == len(want) else min(len(got), len(want))


def _reference_batches(X, y, num_iters: int, batch_size: int, seed: int):
    """The minibatches the reference's loop draws (torch.randint from a seeded Generator)."""
    generator = torch.Generator(device=X.device).manual_seed(seed)
    for _ in range(num_iters):
        batch = torch.randint(0, X.shape[0], (batch_size,), generator=generator,
                              device=X.device)
        yield X[batch], y[batch]


def _own_loss_range(env, params, X, y, reg: float, batch_size: int):
    """(lowest, highest) loss the student's own function gives a minibatch of `batch_size`
    examples of X under `params`, or None if it cannot say: the batches of batch_size
    copies of the example with the lowest and of the one with the highest loss alone (a mean,
    or a sum, of per-example terms lies between those two)."""
    try:
        singles = [_own_loss_and_grads(env, params, X[i:i + 1], y[i:i + 1], reg)[0]
                   for i in range(X.shape[0])]
        low, high = (min(range(len(singles)), key=singles.__getitem__),
                     max(range(len(singles)), key=singles.__getitem__))
        ends = [_own_loss_and_grads(env, params, X[i:i + 1].repeat(batch_size, 1),
                                    y[i:i + 1].repeat(batch_size), reg)[0] for i in (low, high)]
    except _OwnGradientsFail:
        return None
    return min(ends), max(ends)


def _check_device(device: str, X, seen: list) -> None:
    """train_two_layer runs on X's device: the tensors its two_layer_forward_backward is
    handed stay there. Only a grader with a GPU can tell; on the CPU this is a note."""
    if device == "cpu":
        logging.getLogger(NOTES_LOG).info(
            "train_two_layer: X was on the CPU, the only device here, so whether training "
            "runs on X's device was not checked (it is, where the grader has a GPU)")
        return
    elsewhere = sorted(set(seen) - {str(X.device)})
    if elsewhere:
        raise AssertionError(
            f"`train_two_layer` must run on the device of X ({X.device}), but it called "
            f"two_layer_forward_backward with tensors on {elsewhere[0]}: keep params, the "
            "minibatches and the generator on X.device (torch.Generator(device=X.device))")


def check_train_two_layer_contract(env):
    device = pick_device()
    data = [t[:200] for t in digits(device)]
    params = initial_params(device)
    seen: list = []
    _train(env, params, data, LEARNING_RATE, REG, 7, 16, devices=seen)
    _check_device(device, data[0], seen)
    # With learning_rate=0 nothing moves: the accuracy is the initial parameters', which we
    # compute ourselves, and every loss is a minibatch mean of the initial per-example losses
    # (or, where the student's own two_layer_forward_backward computes them otherwise, what
    # it gives: its mistakes are that question's).
    history, accuracy = _train(env, params, data, 0.0, REG, 5, 16)
    X, y, X_val, y_val = data
    with torch.no_grad():
        train_scores = torch.relu(X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
        per_example = F.cross_entropy(train_scores.double(), y, reduction="none")
        l2 = REG * float((params["W1"].double() ** 2).sum() + (params["W2"].double() ** 2).sum())
    if not any(abs(accuracy - a) <= 1e-6 for a in _accuracies(env, params, X_val, y_val)):
        raise AssertionError("with learning_rate=0 the parameters never change, so "
                             "'val_accuracy' must be the accuracy of the initial parameters on "
                             "X_val; yours is not (is it computed on X_val, y_val?)")

    def within(bounds):
        low, high = bounds
        return all(low - 1e-4 <= v <= high + 1e-4 for v in history)
    if within((float(per_example.min()) + l2, float(per_example.max()) + l2)):
        return
    own = _own_loss_range(env, params, X, y, REG, 16)
    if own is None or not within(own):
        raise AssertionError("with learning_rate=0, each entry of 'loss_history' must be the "
                             "loss (with its L2 term) of one minibatch under the initial "
                             "parameters; some of yours are not")


def _training_problem(history, accuracy, want: float, own_history=None) -> str | None:
    """What is wrong with a training run on the digits, or None. `own_history`: the run of
    the reference's loop driven by the student's own gradients, whose failings are not the
    loop's (a loss that blows up because dscores is N times too large)."""
    def finite(values):
        return all(math.isfinite(v) for v in values)

    def goes_down(values):
        tenth = max(1, len(values) // 10)
        return sum(values[-tenth:]) < sum(values[:tenth])
    if not finite(history):
        if own_history is None or finite(own_history):
            return ("the loss became inf or nan during training: check the gradients (the "
                    "division by N) and the update, which steps against the gradient: "
                    "params[name] -= learning_rate * grads[name]")
    elif not goes_down(history) and (own_history is None
                                     or (finite(own_history) and goes_down(own_history))):
        return ("the loss does not go down during training: the update is "
                "params[name] -= learning_rate * grads[name]")
    if accuracy < want - MARGIN:
        return (f"after {NUM_ITERS} iterations on the digits data (learning_rate="
                f"{LEARNING_RATE}, reg={REG}, batch_size={BATCH_SIZE}) your val_accuracy is "
                f"{accuracy:.3f}, more than {MARGIN:.2f} below what a correct implementation "
                f"reaches")
    return None


_REFERENCE_ACCURACY: dict[str, float] = {}


def _reference_accuracy(device: str) -> float:
    """The reference's validation accuracy on the digits, from the same start (its own
    seeded generator: the same on every run), trained once per machine (disk_cache)."""
    if device not in _REFERENCE_ACCURACY:
        def train() -> float:
            params, data = initial_params(device), digits(device)
            return float(reference.train_two_layer(
                copy_params(params), *data, LEARNING_RATE, REG, NUM_ITERS, BATCH_SIZE,
                seed=0)["val_accuracy"])

        key = repr((device, LEARNING_RATE, REG, NUM_ITERS, BATCH_SIZE))
        _REFERENCE_ACCURACY[device] = disk_cache.lookup("accuracy", key, train)
    return _REFERENCE_ACCURACY[device]


def check_train_two_layer_accuracy(env):
    device = pick_device()
    data = digits(device)
    X, y, X_val, y_val = data
    params = initial_params(device)
    history, accuracy = _train(env, params, data, LEARNING_RATE, REG, NUM_ITERS, BATCH_SIZE)
    want = _reference_accuracy(device)
    problem = _training_problem(history, accuracy, want)
    if problem:
        # The reference's loop, driven by the student's own gradients: what a right loop
        # reaches with them (other minibatches, so compared as loosely as the reference).
        try:
            own_history, own_params = _own_sgd(
                env, params, _reference_batches(X, y, NUM_ITERS, BATCH_SIZE, 0),
                LEARNING_RATE, REG)
        except _OwnGradientsFail as err:
            raise AssertionError(f"{problem}. {_OWN_BLAME.format(reason=err)}") from None
        own_accuracy = max(_accuracies(env, own_params, X_val, y_val))
        if _training_problem(history, accuracy, min(want, own_accuracy), own_history):
            raise AssertionError(problem)
    # Reproducible: two short runs with the same seed, on the same data (a second full
    # run would cost as much as the first, and tells nothing more).
    first, first_accuracy = _train(env, params, data, LEARNING_RATE, REG, REPEAT_ITERS,
                                   BATCH_SIZE)
    again, accuracy_again = _train(env, params, data, LEARNING_RATE, REG, REPEAT_ITERS,
                                   BATCH_SIZE)
    if first_difference(again, first) is not None or accuracy_again != first_accuracy:
        raise AssertionError("two calls with the same seed gave different results: draw the "
                             "minibatches from a torch.Generator seeded with `seed` (on X's "
                             "device), not from the global random state")


# Two small problems whose SGD trajectory is known whatever minibatches a correct
# implementation draws (with or without replacement, from a Generator or the global RNG).
SGD_D, SGD_H, SGD_C = 6, 10, 4
SAME_N, SAME_BATCH, SAME_ITERS, SAME_LR, SAME_REG = 40, 8, 20, 0.3, 0.02
ONE_N, ONE_ITERS, ONE_REG = 12, 30, 0.02
HISTORY_RTOL, HISTORY_ATOL = 1e-4, 1e-5


def small_params(seed: int) -> dict:
    return make_params(SGD_D, SGD_H, SGD_C, seed, dtype=torch.float32)


# Every tensor of these checks has an explicit dtype: the notebook sets float64 as torch's
# default, and under `otter run` the checks share the notebook's process.
def identical_examples_data():
    """X: ONE example repeated SAME_N times (so every minibatch, of any size, has that
    example's gradient), and a validation set of other examples."""
    g = torch.Generator().manual_seed(21)
    X = torch.randn(1, SGD_D, generator=g, dtype=torch.float32).repeat(SAME_N, 1)
    y = torch.full((SAME_N,), 2, dtype=torch.int64)
    X_val = torch.randn(30, SGD_D, generator=g, dtype=torch.float32)
    y_val = torch.randint(0, SGD_C, (30,), generator=g)
    return [X, y, X_val, y_val]


def sgd_on_one_example(params: dict, x, label, learning_rate: float, reg: float, iters: int,
                       updated=PARAM_NAMES):
    """Plain SGD on the single example (x, label), gradients from autograd, in float64:
    (the losses with L2, the data losses, the final parameters)."""
    p = {k: v.double() for k, v in params.items()}
    losses, data_losses = [], []
    for _ in range(iters):
        _, loss, grads = autograd_two_layer(p, x, label, reg)
        losses.append(float(loss))
        data_losses.append(float(loss) - reg * float((p["W1"] ** 2).sum()
                                                     + (p["W2"] ** 2).sum()))
        for name in updated:
            p[name] = p[name] - learning_rate * grads[name]
    return losses, data_losses, p


def _val_accuracy_problem(accuracy: float, candidates: list[float]) -> None:
    if not any(abs(accuracy - a) <= 1e-6 for a in candidates):
        raise AssertionError("'val_accuracy' is not the accuracy of the trained parameters "
                             "on X_val, y_val (training itself was right): compute it after "
                             "the last update, as the fraction of X_val's rows whose highest "
                             "score is at y_val's label")


def check_train_two_layer_sgd_steps(env):
    """Every training example identical: whatever minibatches are drawn, each has the same
    gradient, so plain SGD's loss_history and val_accuracy are fixed, entry by entry. Where
    the student's own two_layer_forward_backward is wrong, the SGD it implies is fixed too."""
    params = small_params(31)
    data = identical_examples_data()
    X, y, X_val, y_val = data
    history, accuracy = _train(env, params, data, SAME_LR, SAME_REG, SAME_ITERS, SAME_BATCH)
    x, label = X[:1], y[:1]
    want, want_data, trained = sgd_on_one_example(params, x, label, SAME_LR, SAME_REG,
                                                   SAME_ITERS)
    wrong = first_difference(history, want)
    if wrong is None:
        _val_accuracy_problem(accuracy, _accuracies(env, trained, X_val, y_val))
        return
    # Every minibatch of batch_size examples is the same tensor: the SGD the student's own
    # gradients imply, in the data's float32 (and in float64, for a loop that computes in it).
    batch = (X[:SAME_BATCH], y[:SAME_BATCH])
    own_blame = ""
    for dtype in (None, torch.float64):
        try:
            own, own_trained = _own_sgd(env, params, [batch] * SAME_ITERS, SAME_LR, SAME_REG,
                                        dtype)
        except _OwnGradientsFail as err:
            own_blame = f" {_OWN_BLAME.format(reason=err)}."
            break
        if first_difference(history, own) is None:
            _val_accuracy_problem(accuracy, _accuracies(env, own_trained, X_val, y_val))
            return
        if first_difference(own, want) is None:
            break  # the student's gradients are right: the loop is what is wrong
        own_blame = (" It departs from the SGD that your own two_layer_forward_backward's "
                     "gradients imply, too, so the loop is wrong as well as "
                     "two_layer_forward_backward (see that question).")
    alternatives = [
        (want_data, "loss_history holds the data loss only: record the loss that "
                    "two_layer_forward_backward returns, L2 term included"),
        (sgd_on_one_example(params, x, label, SAME_LR, 0.0, SAME_ITERS)[0],
         "the training ignores `reg`: pass it on to two_layer_forward_backward"),
        (sgd_on_one_example(params, x, label, SAME_LR, SAME_REG, SAME_ITERS,
                            updated=("W1", "W2"))[0],
         "only W1 and W2 are updated: the biases b1 and b2 take an SGD step too"),
    ]
    hint = next((f" It looks like {text}." for values, text in alternatives
                 if first_difference(history, values) is None), "")
    raise AssertionError(
        f"with every training example identical (so every minibatch has the same gradient, "
        f"whichever examples are drawn), loss_history departs from plain minibatch SGD at "
        f"iteration {wrong + 1} of {SAME_ITERS} (learning_rate={SAME_LR}, reg={SAME_REG}, "
        f"batch_size={SAME_BATCH}).{hint}{own_blame} Each iteration draws batch_size examples "
        "of X, y (not of X_val), calls two_layer_forward_backward(params, X_batch, y_batch, "
        "reg), appends that loss (L2 term included) and updates all four parameters with "
        "params[name] -= learning_rate * grads[name], at a constant learning_rate")


def distinct_examples_data():
    g = torch.Generator().manual_seed(5)
    X = torch.randn(ONE_N, SGD_D, generator=g, dtype=torch.float32) * 1.5
    y = torch.arange(ONE_N) % SGD_C
    X_val = torch.randn(10, SGD_D, generator=g, dtype=torch.float32) * 1.5
    y_val = torch.randint(0, SGD_C, (10,), generator=g)
    return [X, y, X_val, y_val]


def per_example_losses(params: dict, X, y, reg: float):
    """(each example's loss with the L2 term, the same without it), in float64."""
    p = {k: v.double() for k, v in params.items()}
    with torch.no_grad():
        scores = torch.relu(X.double() @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        data = F.cross_entropy(scores, y, reduction="none")
        l2 = reg * float((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum())
    return [float(v) + l2 for v in data], [float(v) for v in data]


def check_train_two_layer_minibatches(env):
    """learning_rate=0 and batch_size=1: each loss is ONE training example's, and the
    examples drawn depend on `seed`."""
    params = small_params(41)
    data = distinct_examples_data()
    X, y, X_val, y_val = data
    history, _ = _train(env, params, data, 0.0, ONE_REG, ONE_ITERS, 1, seed=0)
    singles, singles_data = per_example_losses(params, X, y, ONE_REG)

    def matches(value, candidates):
        return any(tolerance.close(value, c, rel=HISTORY_RTOL, abs=HISTORY_ATOL,
                                   relative_to="expected", nonfinite="arithmetic")
                   for c in candidates)
    wrong = next((i for i, v in enumerate(history) if not matches(v, singles)), None)
    if wrong is not None:
        # Single-example losses as the student's own two_layer_forward_backward gives them
        # (an L2 term with a 1/2 is that function's mistake, not the loop's).
        try:
            own = [_own_loss_and_grads(env, params, X[i:i + 1], y[i:i + 1], ONE_REG)[0]
                   for i in range(ONE_N)]
        except _OwnGradientsFail:
            own = []
        if own and all(matches(v, own) for v in history):
            wrong = None
    if wrong is not None:
        value = history[wrong]
        hint = " Is each minibatch batch_size examples drawn from X, y?"
        if matches(value, [sum(singles) / len(singles)]):
            hint = (" It is the mean loss over the whole training set: draw batch_size "
                    "examples at each iteration (minibatch SGD, not full-batch gradient "
                    "descent), and record one loss per iteration (num_iters counts "
                    "iterations, not epochs).")
        elif matches(value, singles_data):
            hint = " It lacks the L2 term: record the loss with it."
        elif matches(value, per_example_losses(params, X_val, y_val, ONE_REG)[0]):
            hint = " It is a validation example's: train on X, y only, never on X_val."
        raise AssertionError(
            f"with learning_rate=0 and batch_size=1, each entry of loss_history must be the "
            f"loss (L2 term included) of the single training example drawn at that "
            f"iteration; entry {wrong + 1} of {ONE_ITERS} is not.{hint}")
    other, _ = _train(env, params, data, 0.0, ONE_REG, ONE_ITERS, 1, seed=1)
    if other == history:
        raise AssertionError(
            "two calls that differ only in `seed` (0 and 1) drew the same minibatches: draw "
            "them at random from a torch.Generator seeded with `seed` (on X's device), not "
            "with a fixed seed nor in a fixed order")
    # seed's default. A loop that is not reproducible at all is check_..._accuracy's to tell.
    if _train(env, params, data, 0.0, ONE_REG, ONE_ITERS, 1, seed=0)[0] != history:
        return
    if _train(env, params, data, 0.0, ONE_REG, ONE_ITERS, 1, seed=OMITTED)[0] != history:
        raise AssertionError(
            "a call without `seed` drew other minibatches than a call with seed=0: seed "
            "defaults to 0")


QUESTIONS = {
    "softmax_loss": [check_softmax_loss_values, check_softmax_loss_stability,
                     check_softmax_loss_edge_cases],
    "two_layer_forward_backward": [check_two_layer_scores, check_two_layer_loss,
                                   check_two_layer_grads],
    "train_two_layer": [check_train_two_layer_contract, check_train_two_layer_accuracy,
                        check_train_two_layer_sgd_steps, check_train_two_layer_minibatches],
}
