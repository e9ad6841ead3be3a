"""Calls into student code in one round trip (the "call_many" op, common.call_many), and the
fuzzed cnn_costs checks that use it: a function whose every answer is right is asked the
examples Hypothesis would draw in one batch; any other function meets Hypothesis's search
exactly as it would without the batch."""
from __future__ import annotations

import inspect

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
