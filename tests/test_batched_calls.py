"""Calls into student code in one round trip (the "call_many" op, common.call_many), and the
fuzzed checks that use it (cnn_costs's formulas and cost_table, softmax_loss's values): a
function whose every answer is right is asked the examples Hypothesis would draw in one
batch; any other function meets Hypothesis's search exactly as it would without the batch."""
from __future__ import annotations

import copy
import importlib
import inspect
import time

import pytest

from autograder.checks import cnn_costs as checks
from autograder.checks.common import call_many
from autograder.checks.formula_probe import FormulaProbe
from autograder.runner import PRIVATE_DIRS
from autograder.sandbox import RemoteEnv, RemoteObject, Sandbox, SandboxLost
from solutions import cnn_costs as ref
from student_variants import failure

STUDENT = '''
class Rigged(int):
    def __eq__(self, other):
        return True

def f(x):
    if x < 0:
        raise ValueError(f"x must be >= 0, got {x}")
    if x == 5:
        return Rigged(6)
    if x == 7:
        while True:
            pass
    return x + 1
'''


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with Sandbox(str(tmp_path_factory.mktemp("batch")), [str(p) for p in PRIVATE_DIRS]) as sb:
        sb.exec_cell(STUDENT, 10)
        yield sb


def _student_locally():
    namespace: dict = {}
    exec(STUDENT, namespace)
    return namespace["f"]


def _shown(outcomes):
    """Outcomes as comparable plain data."""
    shown = []
    for outcome, answer in outcomes:
        if outcome == "raised":
            shown.append((outcome, type(answer).__name__, str(answer)))
        elif outcome == "returned":
            shown.append((outcome, type(answer).__name__ if type(answer) is not int else answer))
        else:
            shown.append((outcome,))
    return shown


def test_answers_come_back_in_order_as_values_and_exceptions(sandbox):
    f = RemoteEnv(sandbox)["f"]
    outcomes = call_many(f, [((1,), {}), ((-1,), {}), ((5,), {}), ((), {"x": 2})],
                         timeout=2, budget=5)
    assert _shown(outcomes)[:2] == [("returned", 2), ("raised", "ValueError",
                                                       "x must be >= 0, got -1")]
    # A rigged int subclass stays in the sandbox: the grader gets a handle, never an int.
    assert outcomes[2][0] == "returned" and type(outcomes[2][1]) is RemoteObject
    assert outcomes[3] == ("returned", 3)


def test_the_sandbox_and_a_local_function_give_the_same_outcomes(sandbox):
    calls = [((0,), {}), ((-3,), {}), ((4,), {})]
    remote = call_many(RemoteEnv(sandbox)["f"], calls, timeout=2, budget=5)
    local = call_many(_student_locally(), calls, timeout=2, budget=5)
    assert _shown(remote) == _shown(local)


@pytest.mark.parametrize("where", ["sandbox", "local"])
def test_a_call_past_its_time_ends_the_batch(sandbox, where):
    f = RemoteEnv(sandbox)["f"] if where == "sandbox" else _student_locally()
    outcomes = call_many(f, [((1,), {}), ((7,), {}), ((2,), {})], timeout=0.3, budget=5)
    assert _shown(outcomes) == [("returned", 2), ("timeout",)]
    if where == "sandbox":
        assert sandbox.alive  # the sandbox ended the call itself and goes on answering
        assert RemoteEnv(sandbox)["f"](3) == 4


def test_the_budget_ends_the_batch(sandbox):
    f = RemoteEnv(sandbox)["f"]
    outcomes = call_many(f, [((1,), {}), ((7,), {}), ((2,), {})], timeout=5, budget=0.3)
    assert _shown(outcomes) == [("returned", 2), ("timeout",)]


def test_a_function_that_ends_its_process_loses_the_sandbox(tmp_path):
    with Sandbox(str(tmp_path), [str(p) for p in PRIVATE_DIRS]) as sb:
        sb.exec_cell("import os\ndef g(x):\n    os._exit(3)", 10)
        outcomes = call_many(RemoteEnv(sb)["g"], [((1,), {}), ((2,), {})], timeout=2, budget=5)
        # The call that ended the process is the last outcome, as it would be alone.
        assert len(outcomes) == 1 and outcomes[0][0] == "raised"
        assert isinstance(outcomes[0][1], SandboxLost) and "exit code 3" in str(outcomes[0][1])
        assert not sb.alive


# --- the fuzzed checks of cnn_costs -----------------------------------------------------

FUZZED = [c for cs in checks.QUESTIONS.values() for c in cs
          if ".fuzz(" in inspect.getsource(c) and "cost_table" not in c.__name__]


def _recording_env(calls: list) -> dict:
    def recorded(name):
        fn = getattr(ref, name)

        def wrapper(*args, **kwargs):
            calls.append((name, args, kwargs))
            return fn(*args, **kwargs)
        wrapper.__name__ = name
        return wrapper
    return {name: recorded(name) for name in ("conv_output_size", "pool_output_size",
                                              "conv_params", "conv_flops", "pool_flops",
                                              "fc_params", "fc_flops", "memory_kb")}


@pytest.mark.parametrize("check", FUZZED, ids=[c.__name__ for c in FUZZED])
def test_the_batch_asks_exactly_what_hypothesis_asks_a_right_function(check, monkeypatch):
    batched: list = []
    assert failure(check, _recording_env(batched)) is None
    monkeypatch.setattr(FormulaProbe, "_all_right", lambda self, method, cases: False)
    searched: list = []
    assert failure(check, _recording_env(searched)) is None
    # Without the batch every call is Hypothesis's own; with it, the pinned cases and then
    # the drawn examples, in one round trip: the same calls, in the same order.
    assert batched == searched and len(batched) >= 10


def _off_by_one(size, kernel, stride=1, padding=0):
    if kernel < 1 or stride < 1 or padding < 0 or size < 1 or kernel > size + 2 * padding:
        raise ValueError("kernel does not fit the padded input")
    return (size - kernel + 2 * padding) // stride


@pytest.mark.parametrize("wrong", [
    ("conv_output_size", _off_by_one),
    ("conv_params", lambda in_channels, out_channels, kernel, bias=True: in_channels * out_channels * kernel * kernel),
    ("fc_flops", lambda in_features, out_features: 2 * in_features * out_features),
])
def test_a_wrong_function_gets_the_feedback_it_got_without_the_batch(wrong, monkeypatch):
    name, fn = wrong
    env = {n: getattr(ref, n) for n in ("conv_output_size", "pool_output_size", "conv_params",
                                        "conv_flops", "pool_flops", "fc_params", "fc_flops",
                                        "memory_kb")}
    fn.__name__ = name
    env[name] = fn
    mine = [c for c in FUZZED if c.__name__.startswith(f"check_{name}")]
    with_batch = [failure(c, env) for c in mine]
    monkeypatch.setattr(FormulaProbe, "_all_right", lambda self, method, cases: False)
    without = [failure(c, env) for c in mine]
    assert with_batch == without and any(with_batch)


# --- check_cost_table_random and check_softmax_loss_values ---------------------------------

from autograder.checks import cost_table_checks, fuzzing  # noqa: E402
from autograder.checks import softmax_backprop as softmax_checks  # noqa: E402
from autograder.reference_source import self_contained_source  # noqa: E402
from solutions.mistakes.edits import apply_edits  # noqa: E402
from student_variants import softmax_mistakes  # noqa: E402


class _RoundTrips:
    """The sandbox's round trips, by op: each request, and each batch ("call_many")."""

    def __init__(self, monkeypatch):
        self.ops: list[str] = []
        request, many = Sandbox.request, Sandbox.call_many

        def counted_request(sb, op, args=None, timeout=None):
            self.ops.append(op)
            return request(sb, op, args, timeout)

        def counted_many(sb, *args, **kwargs):
            self.ops.append("call_many")
            return many(sb, *args, **kwargs)
        monkeypatch.setattr(Sandbox, "request", counted_request)
        monkeypatch.setattr(Sandbox, "call_many", counted_many)

    def taken(self) -> list[str]:
        ops, self.ops = self.ops, []
        return ops


def _without_batches(monkeypatch):
    """Each check as it was before its batch: every example one call."""
    monkeypatch.setattr(cost_table_checks, "_tables_asked_ahead",
                        lambda fn: (fuzzing.Ahead(), False))
    monkeypatch.setattr(softmax_checks, "_probe_replies", lambda env, name, arg_lists: None)


COSTS_SOURCE = self_contained_source("cnn_costs")
SOFTMAX_SOURCE = self_contained_source("softmax_backprop")


@pytest.fixture(scope="module")
def softmax_sandbox(tmp_path_factory):
    with Sandbox(str(tmp_path_factory.mktemp("softmax")), [str(p) for p in PRIVATE_DIRS],
                 preload=["torch"]) as sb:
        yield sb


def _sandboxed(tmp_path, source: str, check, torch_too: bool = False) -> str | None:
    """The check's feedback for `source` run in a fresh sandbox of its own."""
    tmp_path.mkdir(exist_ok=True)
    with Sandbox(str(tmp_path), [str(p) for p in PRIVATE_DIRS],
                 preload=["torch"] if torch_too else []) as sb:
        sb.exec_cell(source, 60)
        return failure(check, RemoteEnv(sb))


def test_a_right_cost_table_gets_its_random_networks_in_one_round_trip(tmp_path, monkeypatch):
    trips = _RoundTrips(monkeypatch)
    with Sandbox(str(tmp_path), [str(p) for p in PRIVATE_DIRS]) as sb:
        sb.exec_cell(COSTS_SOURCE, 30)
        trips.taken()
        assert failure(cost_table_checks.check_cost_table_random, RemoteEnv(sb)) is None
        batched = trips.taken()
        _without_batches(monkeypatch)
        assert failure(cost_table_checks.check_cost_table_random, RemoteEnv(sb)) is None
        alone = trips.taken()
    # Without the batch each of the 25 random networks is a call of its own; with it, they
    # are one batch, and the check's pinned calls are what they were.
    assert batched.count("call_many") == 1 and alone.count("call_many") == 0
    assert alone.count("call") - batched.count("call") == 25
    assert len(alone) - len(batched) == 24


def test_the_tables_batch_asks_exactly_what_hypothesis_asks_a_right_function(monkeypatch):
    def recording(calls):
        def cost_table(input_shape, layers):
            calls.append((input_shape, copy.deepcopy(layers)))
            return ref.cost_table(input_shape, layers)
        return dict(vars(ref), cost_table=cost_table)
    batched: list = []
    assert failure(cost_table_checks.check_cost_table_random, recording(batched)) is None
    _without_batches(monkeypatch)
    searched: list = []
    assert failure(cost_table_checks.check_cost_table_random, recording(searched)) is None
    assert batched == searched and len(batched) >= 25


# Student cost_tables that go wrong only on some of the random networks (their layer names,
# `conv_2` or `fc_2`, occur in none of the pinned ones), after right answers to the first.
_WRONG_TABLES = {
    "wrong_value": "        rows[-1]['flops'] += 1\n",
    "raises": "        raise KeyError('stride')\n",
    "ends_the_process": "        import os\n        os._exit(3)\n",
    "loops_forever": "        while True:\n            pass\n",
}


def _wrong_table(kind: str, trigger: str) -> str:
    return (COSTS_SOURCE + "\n_right_table = cost_table\n\n"
            "def cost_table(input_shape, layers):\n"
            "    rows = _right_table(input_shape, layers)\n"
            f"    if any(layer.get('name') == {trigger!r} for layer in layers):\n"
            f"{_WRONG_TABLES[kind]}"
            "    return rows\n")


def test_the_wrong_tables_are_wrong_only_after_right_ones():
    networks = fuzzing.drawn_examples(cost_table_checks._network(),
                                      max_examples=25, seed_value=cost_table_checks.SEARCH_SEED)
    for trigger in ("conv_2", "fc_2"):
        first = next(i for i, (_, layers) in enumerate(networks)
                     if any(layer.get("name") == trigger for layer in layers))
        assert first >= 2


@pytest.mark.parametrize("trigger", ["conv_2", "fc_2"])
@pytest.mark.parametrize("kind", sorted(_WRONG_TABLES))
def test_a_wrong_cost_table_gets_the_feedback_it_got_without_the_batch(
        kind, trigger, tmp_path, monkeypatch):
    monkeypatch.setattr(cost_table_checks.formula_probe, "TIMEOUT", 0.5)
    source = _wrong_table(kind, trigger)
    check = cost_table_checks.check_cost_table_random
    with_batch = _sandboxed(tmp_path / "batched", source, check)
    local = {"__name__": "student"}
    exec(source, local)
    local_with_batch = failure(check, local) if kind != "ends_the_process" else None
    _without_batches(monkeypatch)
    assert with_batch and with_batch == _sandboxed(tmp_path / "alone", source, check)
    if kind != "ends_the_process":
        local = {"__name__": "student"}
        exec(source, local)
        assert local_with_batch and local_with_batch == failure(check, local)


def test_a_right_softmax_loss_gets_its_examples_in_one_round_trip(softmax_sandbox, monkeypatch):
    trips = _RoundTrips(monkeypatch)
    softmax_sandbox.exec_cell(SOFTMAX_SOURCE, 60)
    trips.taken()
    env = RemoteEnv(softmax_sandbox)
    assert failure(softmax_checks.check_softmax_loss_values, env) is None
    batched = trips.taken()
    _without_batches(monkeypatch)
    assert failure(softmax_checks.check_softmax_loss_values, env) is None
    alone = trips.taken()
    # Without the batch, each of the 40 examples is a probe call of its own (and the probe
    # installed, and the autograd count asked, around each); with it, one batch.
    assert batched.count("call_many") == 1 and batched.count("call") == 0
    assert alone.count("call_many") == 0 and alone.count("call") == 40
    assert len(batched) <= 6 < 160 <= len(alone)


SOFTMAX_LOSS_MISTAKES = [m for m in softmax_mistakes.MISTAKES if m[1] == "softmax_loss"]


@pytest.mark.parametrize("mistake", SOFTMAX_LOSS_MISTAKES, ids=[m[0] for m in SOFTMAX_LOSS_MISTAKES])
def test_a_catalogued_softmax_mistake_gets_the_feedback_it_got_without_the_batch(
        mistake, softmax_sandbox, monkeypatch):
    module = mistake[2]
    source = apply_edits(SOFTMAX_SOURCE if module == "solutions.softmax_backprop" else
                         inspect.getsource(importlib.import_module(module)), mistake[3])
    check = softmax_checks.check_softmax_loss_values
    results = []
    for batched in (True, False):
        if not batched:
            _without_batches(monkeypatch)
        local = {"__name__": "student"}
        exec(source, local)
        softmax_sandbox.exec_cell(source, 60)
        results.append((failure(check, local), failure(check, RemoteEnv(softmax_sandbox))))
    assert results[0] == results[1]


# softmax_loss going wrong only on some examples: a shape that the first examples do not have.
_WRONG_SOFTMAX = {
    "wrong_value": "        loss = loss * 2\n",
    "raises": "        raise IndexError('row out of range')\n",
    "ends_the_process": "        import os\n        os._exit(3)\n",
    "loops_forever": "        while True:\n            pass\n",
    "escapes_its_time_limit": "        while True:\n            try:\n                while True:\n"
                              "                    pass\n            except BaseException:\n"
                              "                pass\n",
    "uses_backward": "        scores.detach().requires_grad_(True).sum().backward()\n",
    "changes_scores": "        scores.zero_()\n",
}


def _softmax_trigger() -> tuple[int, int]:
    cases = fuzzing.drawn_examples(softmax_checks.softmax_cases(), max_examples=40,
                                   seed_value=softmax_checks.SEARCH_SEED, shrink=False)
    shapes = [tuple(scores.shape) for scores, _ in cases]
    shape = shapes[5]
    assert shape not in shapes[:5]
    return shape


def _wrong_softmax(kind: str) -> str:
    return (SOFTMAX_SOURCE + "\n_right_loss = softmax_loss\n\n"
            "def softmax_loss(scores, y):\n"
            "    loss, dscores = _right_loss(scores, y)\n"
            f"    if tuple(scores.shape) == {_softmax_trigger()!r}:\n"
            f"{_WRONG_SOFTMAX[kind]}"
            "    return loss, dscores\n")


@pytest.mark.parametrize("kind", sorted(set(_WRONG_SOFTMAX) - {"escapes_its_time_limit"}))
def test_a_softmax_loss_wrong_on_some_examples_gets_the_feedback_it_got_without_the_batch(
        kind, tmp_path, monkeypatch):
    monkeypatch.setattr(softmax_checks, "CALL_TIMEOUT", 0.5)
    source = _wrong_softmax(kind)
    check = softmax_checks.check_softmax_loss_values
    with_batch = _sandboxed(tmp_path / "batched", source, check, torch_too=True)
    _without_batches(monkeypatch)
    assert with_batch and with_batch == _sandboxed(tmp_path / "alone", source, check,
                                                   torch_too=True)


def test_a_softmax_loss_that_escapes_its_time_limit_ends_its_process(tmp_path, monkeypatch):
    """Its probe never answers: the batch gives up on it after the probe's time and a
    margin (a call alone waits out the sandbox's request timeout, 120 s, to the same end:
    the process ended, which Hypothesis's replay of the failure then meets)."""
    monkeypatch.setattr(softmax_checks, "CALL_TIMEOUT", 0.5)
    monkeypatch.setattr(softmax_checks, "PROBE_SLACK", 0.5)
    started = time.monotonic()
    message = _sandboxed(tmp_path, _wrong_softmax("escapes_its_time_limit"),
                         softmax_checks.check_softmax_loss_values, torch_too=True)
    assert message == "your notebook's process had already ended"
    assert time.monotonic() - started < 60
