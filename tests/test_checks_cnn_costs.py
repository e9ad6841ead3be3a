"""The hidden checks of `cnn_costs`, run directly on notebook-like namespaces (no Otter):
the reference and other correct styles pass; blank stubs, every catalogued mistake, cheats
and infinite loops fail with feedback a student can act on; feedback never holds the
expected value, nor Hypothesis's own report."""
from __future__ import annotations

import ast
import math
import re
import time

import numpy as np
import pytest

from solutions.mistakes import formulas as mistakes
from autograder.checks import cnn_costs as checks
from autograder.checks import cost_table_checks, formula_probe
from solutions import cnn_costs as ref
from solutions import networks
from student_variants import failure

FUNCTIONS = ["conv_output_size", "pool_output_size", "conv_params", "conv_flops",
             "pool_flops", "fc_params", "fc_flops", "memory_kb", "cost_table"]
ALL_CHECKS = [(question, check) for question, found in checks.QUESTIONS.items()
              for check in found]
CHECK_IDS = [check.__name__ for _, check in ALL_CHECKS]


def named(fn, name):
    """`fn` under the name a student's def would give it."""
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    wrapper.__name__ = wrapper.__qualname__ = name
    return wrapper


def reference_env() -> dict:
    return {name: getattr(ref, name) for name in FUNCTIONS}


def question_failures(question: str, env: dict) -> list[str]:
    return [f for f in (failure(c, env) for c in checks.QUESTIONS[question]) if f is not None]


# ---------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------

def test_registry_covers_the_contract_with_named_checks():
    assert list(checks.QUESTIONS) == FUNCTIONS
    for question, found in checks.QUESTIONS.items():
        assert 2 <= len(found) <= 3, question
        for check in found:
            assert check.__name__.startswith(f"check_{question}_"), check.__name__
            assert getattr(checks, check.__name__) is check
    assert len(set(CHECK_IDS)) == len(CHECK_IDS)


# ---------------------------------------------------------------------------------------
# (1) The reference passes, quickly
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("question,check", ALL_CHECKS, ids=CHECK_IDS)
def test_reference_passes(question, check):
    assert failure(check, reference_env()) is None


def test_all_checks_on_the_reference_are_fast():
    env = reference_env()
    started = time.perf_counter()
    for _, check in ALL_CHECKS:
        check(env)
    elapsed = time.perf_counter() - started
    print(f"all {len(ALL_CHECKS)} checks on the reference: {elapsed:.2f} s")
    assert elapsed < 10


def test_hypothesis_reports_nothing(capsys):
    env = reference_env()
    env["conv_output_size"] = named(
        lambda size, kernel, stride=1, padding=0: (size - kernel + 2 * padding) // stride,
        "conv_output_size")
    message = failure(checks.check_conv_output_size_random, env)
    assert message is not None
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    for word in ("Falsifying", "hypothesis", "Traceback", "@given", "_Mismatch"):
        assert word not in message


# ---------------------------------------------------------------------------------------
# (2) Other correct styles pass
# ---------------------------------------------------------------------------------------

def _positive(**values):
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"{name} must be positive, got {value}")


def alt_conv_output_size(size, kernel, stride=1, padding=0):
    _positive(size=size, kernel=kernel, stride=stride)
    if padding < 0:
        raise ValueError("padding must not be negative")
    if kernel > size + 2 * padding:
        raise ValueError("kernel does not fit in the padded input")
    return math.floor((size - kernel + 2 * padding) / stride) + 1


def alt_pool_output_size(size, kernel, stride=None, padding=0):
    stride = kernel if stride is None else stride  # (`stride or kernel` takes 0 for None)
    if padding > kernel // 2:
        raise ValueError("padding should be at most half the kernel")
    return alt_conv_output_size(size, kernel, stride, padding)


def alt_conv_params(in_channels, out_channels, kernel, bias=True):
    _positive(in_channels=in_channels, out_channels=out_channels, kernel=kernel)
    weights = kernel ** 2 * in_channels * out_channels
    return weights + out_channels if bias else weights


def alt_conv_flops(in_channels, height, width, out_channels, kernel, stride=1, padding=0):
    _positive(in_channels=in_channels, out_channels=out_channels)
    h = alt_conv_output_size(height, kernel, stride, padding)
    w = alt_conv_output_size(width, kernel, stride, padding)
    return h * w * out_channels * alt_conv_params(in_channels, 1, kernel, bias=False)


def alt_pool_flops(channels, height, width, kernel, stride=None, padding=0):
    _positive(channels=channels)
    outputs = (channels * alt_pool_output_size(height, kernel, stride, padding)
               * alt_pool_output_size(width, kernel, stride, padding))
    return outputs * kernel ** 2


def alt_fc_params(in_features, out_features, bias=True):
    _positive(in_features=in_features, out_features=out_features)
    return (in_features + int(bias)) * out_features


def alt_fc_flops(in_features, out_features):
    return alt_fc_params(in_features, out_features, bias=False)


def alt_memory_kb(num_elements):
    if num_elements < 0:
        raise ValueError("num_elements cannot be negative")
    return num_elements / 256 if num_elements else 0.0  # a float even where the KB are whole


def alt_cost_table(input_shape, layers):
    """Another student's table: lists for shapes, a tuple of rows, extra keys, other
    default names, and its own loop instead of the reference's helpers."""
    shape, rows = list(input_shape), []
    for i, layer in enumerate(layers):
        kind = layer["type"]
        params = flops = 0
        if kind == "conv":
            c, h, w = shape
            k, s, p = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
            out = [layer["out_channels"], alt_conv_output_size(h, k, s, p),
                   alt_conv_output_size(w, k, s, p)]
            params = alt_conv_params(c, layer["out_channels"], k, layer.get("bias", True))
            flops = alt_conv_flops(c, h, w, layer["out_channels"], k, s, p)
        elif kind == "pool":
            c, h, w = shape
            k, s, p = layer["kernel"], layer.get("stride"), layer.get("padding", 0)
            out = [c, alt_pool_output_size(h, k, s, p), alt_pool_output_size(w, k, s, p)]
            flops = alt_pool_flops(c, h, w, k, s, p)
        elif kind == "flatten":
            out = [math.prod(shape)]
        else:
            n = math.prod(shape)
            out = [layer["out_features"]]
            params = alt_fc_params(n, layer["out_features"], layer.get("bias", True))
            flops = alt_fc_flops(n, layer["out_features"])
        rows.append({"index": i, "name": layer.get("name", f"layer{i}"), "type": kind,
                     "output_shape": out, "memory_kb": alt_memory_kb(math.prod(out)),
                     "params": params, "flops": flops, "input_shape": list(shape)})
        shape = out
    return tuple(rows)


def alternative_env() -> dict:
    return {name: named(globals()[f"alt_{name}"], name) for name in FUNCTIONS}


@pytest.mark.parametrize("question,check", ALL_CHECKS, ids=CHECK_IDS)
def test_other_correct_styles_pass(question, check):
    assert failure(check, alternative_env()) is None


def test_numpy_float64_for_memory_is_a_float():
    # numpy.float64 is a float subclass: the contract's "float" holds, in memory_kb and in
    # the tables built with it.
    env = reference_env()
    env["memory_kb"] = named(lambda n: np.float64(n) / 256, "memory_kb")
    assert failure(checks.check_memory_kb_values, env) is None
    assert failure(checks.check_cost_table_lenet, env) is None


def test_numpy_float32_and_numpy_ints_are_refused_with_a_clear_message():
    env = reference_env()
    env["memory_kb"] = named(lambda n: np.float32(ref.memory_kb(n)), "memory_kb")
    message = failure(checks.check_memory_kb_values, env)
    assert message is not None and "numpy.float32" in message and "Python float" in message
    env = reference_env()
    env["conv_params"] = named(lambda *a, **kw: np.int64(ref.conv_params(*a, **kw)),
                               "conv_params")
    message = failure(checks.check_conv_params_values, env)
    assert message is not None and "numpy.int64" in message and "int(x)" in message


def test_ordered_dict_rows_are_dicts():
    import collections

    env = reference_env()
    env["cost_table"] = named(
        lambda shape, layers: [collections.OrderedDict(reversed(list(row.items())))
                               for row in ref.cost_table(shape, layers)], "cost_table")
    for check in checks.QUESTIONS["cost_table"]:
        assert failure(check, env) is None, check.__name__


# The reference's messages with the argument names in a student's own words.
OTHER_WORDS = {"in_channels": "number of input channels", "out_channels": "number of filters",
               "in_features": "input features", "out_features": "output units",
               "kernel": "filter size", "padding": "pad", "num_elements": "element count"}


@pytest.mark.parametrize("function", ["conv_params", "conv_flops", "fc_params", "fc_flops",
                                      "memory_kb"])
def test_error_messages_may_name_arguments_in_other_words(function):
    env = reference_env()
    real = getattr(ref, function)

    def student(*args, **kwargs):
        try:
            return real(*args, **kwargs)
        except ValueError as err:
            message = str(err)
            for name, words in OTHER_WORDS.items():
                message = message.replace(name, words)
            raise ValueError(message) from None
    env[function] = named(student, function)
    for check in checks.QUESTIONS[function]:
        assert failure(check, env) is None, (check.__name__, failure(check, env))


def _table_dropping(kind):
    """A cost_table that forgets a rule of the contract: `implicit_flatten` feeds an fc
    straight after a (C, H, W) output with C inputs; `unknown_type` skips a layer it does
    not know."""
    def cost_table(input_shape, layers):
        known = [layer for layer in layers
                 if layer["type"] in ("conv", "pool", "flatten", "fc")]
        if len(known) < len(layers) and kind != "unknown_type":
            raise ValueError("unknown layer type")
        rows, shape = [], tuple(input_shape)
        for layer, row in zip(known, ref.cost_table(input_shape, known)):
            if kind == "implicit_flatten" and layer["type"] == "fc" and len(shape) == 3:
                bias = layer.get("bias", True)
                row = {**row, "params": ref.fc_params(shape[0], layer["out_features"], bias),
                       "flops": ref.fc_flops(shape[0], layer["out_features"])}
            rows.append(row)
            shape = row["output_shape"]
        return rows
    return named(cost_table, "cost_table")


def test_fc_after_pool_without_flatten_is_checked():
    env = reference_env()
    env["cost_table"] = _table_dropping("implicit_flatten")
    message = failure(checks.check_cost_table_random, env)
    assert message is not None and "fc follows a pool directly" in message


def test_unknown_layer_type_must_not_be_skipped():
    env = reference_env()
    env["cost_table"] = _table_dropping("unknown_type")
    message = failure(checks.check_cost_table_random, env)
    assert message is not None and "must raise ValueError" in message
    # A KeyError from a dispatch table is fine too: the layer is not silently skipped.
    env = reference_env()

    def dispatching(input_shape, layers):
        for layer in layers:
            {"conv": 1, "pool": 1, "flatten": 1, "fc": 1}[layer["type"]]
        return ref.cost_table(input_shape, layers)
    env["cost_table"] = named(dispatching, "cost_table")
    assert failure(checks.check_cost_table_random, env) is None


# ---------------------------------------------------------------------------------------
# (3) Blank stubs fail everything, saying so
# ---------------------------------------------------------------------------------------

def blank_env() -> dict:
    def stub(name):
        def fn(*args, **kwargs):
            raise NotImplementedError
        fn.__name__ = name
        return fn
    return {name: stub(name) for name in FUNCTIONS}


@pytest.mark.parametrize("question,check", ALL_CHECKS, ids=CHECK_IDS)
def test_blank_stubs_fail_as_not_implemented(question, check):
    message = failure(check, blank_env())
    assert message is not None and "not implemented" in message


@pytest.mark.parametrize("question,check", ALL_CHECKS, ids=CHECK_IDS)
def test_missing_function_fails_cleanly(question, check):
    env = reference_env()
    del env[question]
    message = failure(check, env)
    assert message is not None and "not defined" in message


# ---------------------------------------------------------------------------------------
# (4) Every catalogued mistake is caught, and named
# ---------------------------------------------------------------------------------------

def mistaken_env(mistake) -> dict:
    """A student with this one mistake, written as a student would: the wrong function as
    the catalogue has it, and the functions that reuse it (FLOPs, the table) consistently
    wrong."""
    formulas = mistakes.formulas_with(mistake)
    env = {name: named(getattr(formulas, name), name) for name in FUNCTIONS[:-1]}
    env[mistake.target] = named(mistake.wrong, mistake.target)
    env["cost_table"] = named(
        lambda shape, layers: ref.cost_table_with(formulas, shape, layers), "cost_table")
    return env


CATALOGUE_IDS = [m.id for m in mistakes.CATALOGUE]


@pytest.mark.parametrize("mistake", mistakes.CATALOGUE, ids=CATALOGUE_IDS)
def test_every_catalogued_mistake_is_caught_and_named(mistake):
    messages = question_failures(mistake.target, mistaken_env(mistake))
    assert messages, f"no check of {mistake.target} caught {mistake.id}"
    assert any(mistake.description in m for m in messages), messages


@pytest.mark.parametrize("mistake", mistakes.CATALOGUE, ids=CATALOGUE_IDS)
def test_a_mistake_alone_in_the_table_is_caught(mistake):
    """A student whose formulas are right but whose table repeats one mistake."""
    env = reference_env()
    formulas = mistakes.formulas_with(mistake)
    env["cost_table"] = named(
        lambda shape, layers: ref.cost_table_with(formulas, shape, layers), "cost_table")
    messages = question_failures("cost_table", env)
    assert messages, f"no cost_table check caught {mistake.id}"
    named_ones = [m for m in messages if mistake.description in m]
    if mistake.id == "size_true_division":
        # Its fractional sizes reach the next layer, where the (student's) formulas fail;
        # the feedback then is that error, which names the layer's call.
        assert named_ones or any("raised" in m for m in messages), messages
    else:
        assert named_ones, messages
        assert any(f"looks like {mistake.target}" in m for m in named_ones)


def test_shared_mistake_in_conv_flops_points_at_the_output_size():
    mistake = mistakes.BY_ID["size_no_plus_one"]
    messages = question_failures("conv_flops", mistaken_env(mistake))
    assert messages and any(mistake.description in m and "conv_output_size" in m
                            for m in messages)


def test_one_sided_padding_is_not_mistaken_for_the_missing_plus_one():
    """With P == S one call cannot tell them apart; the other answers can."""
    mistake = mistakes.BY_ID["size_one_side_padding"]
    other = mistakes.BY_ID["size_no_plus_one"]
    for check in checks.QUESTIONS["conv_output_size"][:2]:
        message = failure(check, mistaken_env(mistake))
        assert message is not None and mistake.description in message
        assert other.description not in message


def test_table_feedback_names_row_and_column():
    mistake = mistakes.BY_ID["conv_flops_mul_and_add"]
    env = reference_env()
    formulas = mistakes.formulas_with(mistake)
    env["cost_table"] = named(
        lambda shape, layers: ref.cost_table_with(formulas, shape, layers), "cost_table")
    message = failure(checks.check_cost_table_lenet, env)
    assert "LeNet-5" in message and "row 1 ('conv1'" in message and "'flops'" in message
    assert mistake.description in message


# ---------------------------------------------------------------------------------------
# (5) Cheats and wrong types
# ---------------------------------------------------------------------------------------

class RiggedInt(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


class RiggedFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __float__(self):
        return 0.0

    def __int__(self):
        return 0

    __hash__ = object.__hash__


def _returning(name, make):
    """The reference's function for `name`, its result passed through `make`."""
    fn = getattr(ref, name)
    return named(lambda *a, **kw: make(fn(*a, **kw)), name)


INT_FUNCTIONS = FUNCTIONS[:7]
CHEATS = {
    "rigged_int_right_value": RiggedInt,
    "rigged_int_zero": lambda v: RiggedInt(0),
    "always_equal": lambda v: AlwaysEqual(),
    "float": float,
    "bool": lambda v: True,
    "numpy_int": np.int64,
}


@pytest.mark.parametrize("cheat", CHEATS, ids=list(CHEATS))
@pytest.mark.parametrize("name", INT_FUNCTIONS)
def test_cheats_and_wrong_types_fail_int_functions(name, cheat):
    env = reference_env()
    env[name] = _returning(name, CHEATS[cheat])
    messages = question_failures(name, env)
    assert messages
    if cheat == "numpy_int":
        assert any("numpy.int64" in m and "Python int" in m for m in messages)
    if cheat == "rigged_int_right_value":
        assert any("RiggedInt" in m and "plain Python int" in m for m in messages)


@pytest.mark.parametrize("cheat", [RiggedFloat, lambda v: AlwaysEqual(), str, lambda v: None])
def test_cheats_fail_memory_kb(cheat):
    env = reference_env()
    env["memory_kb"] = _returning("memory_kb", cheat)
    assert question_failures("memory_kb", env)


def _table_cheat(column, make):
    def cost_table(shape, layers):
        rows = ref.cost_table(shape, layers)
        for row in rows:
            row[column] = make(row[column])
        return rows
    return cost_table


@pytest.mark.parametrize("column,make", [
    ("params", RiggedInt), ("flops", lambda v: AlwaysEqual()), ("params", float),
    ("output_shape", lambda v: AlwaysEqual()), ("output_shape", lambda v: tuple(map(float, v))),
    ("output_shape", lambda v: tuple(np.int64(x) for x in v)), ("memory_kb", RiggedFloat),
    ("name", lambda v: AlwaysEqual()), ("type", lambda v: AlwaysEqual()),
])
def test_cheats_fail_cost_table(column, make):
    env = reference_env()
    env["cost_table"] = named(_table_cheat(column, make), "cost_table")
    messages = question_failures("cost_table", env)
    assert len(messages) == 3, messages


@pytest.mark.parametrize("make", [
    lambda rows: AlwaysEqual(), lambda rows: rows[:-1],
    lambda rows: [AlwaysEqual() for _ in rows],
    lambda rows: [{k: v for k, v in r.items() if k != "flops"} for r in rows],
])
def test_malformed_tables_fail(make):
    env = reference_env()
    env["cost_table"] = named(lambda s, layers: make(ref.cost_table(s, layers)), "cost_table")
    assert len(question_failures("cost_table", env)) == 3


def test_student_editing_the_layers_changes_no_expected_value_and_costs_one_check():
    # The expected table is computed from the grader's own layers, so a table that clears
    # the layers it was given is right on every net; it breaks the promise not to change its
    # arguments, which one check asks (where the student's code runs).
    def cost_table(shape, layers):
        rows = ref.cost_table(shape, layers)
        for layer in layers:
            layer.clear()
        return rows
    env = reference_env()
    env["cost_table"] = named(cost_table, "cost_table")
    failing = {c.__name__: failure(c, env) for c in checks.QUESTIONS["cost_table"]}
    assert {name for name, m in failing.items() if m} == {"check_cost_table_random"}
    assert "changed layer 1" in failing["check_cost_table_random"]
    assert "must not change its arguments" in failing["check_cost_table_random"]


def test_student_exception_on_valid_input_is_feedback():
    env = reference_env()

    def conv_params(in_channels, out_channels, kernel, bias=True):
        raise ValueError("kernel must be odd")
    env["conv_params"] = conv_params
    message = failure(checks.check_conv_params_values, env)
    assert "raised ValueError: kernel must be odd" in message


def test_truncation_gets_a_floor_hint():
    env = reference_env()
    env["conv_output_size"] = named(lambda size, kernel, stride=1, padding=0:
                                    int((size - kernel + 2 * padding) / stride) + 1,
                                    "conv_output_size")
    message = failure(checks.check_conv_output_size_errors, env)
    assert "must raise ValueError" in message and "floor" in message
    assert failure(checks.check_conv_output_size_lecture, env) is None


def test_error_message_must_name_the_argument():
    env = reference_env()

    def fc_params(in_features, out_features, bias=True):
        if in_features < 1 or out_features < 1:
            raise ValueError("bad input")
        return ref.fc_params(in_features, out_features, bias)
    env["fc_params"] = fc_params
    message = failure(checks.check_fc_params_errors, env)
    assert "should name the offending argument" in message


def test_pool_stride_default():
    env = reference_env()
    env["pool_output_size"] = named(
        lambda size, kernel, stride=None, padding=0:
        ref.pool_output_size(size, kernel, stride or 1, padding), "pool_output_size")
    message = failure(checks.check_pool_output_size_lecture, env)
    assert mistakes.BY_ID["pool_stride_default_one"].description in message


def test_square_only_conv_flops_fails_non_square():
    env = reference_env()
    env["conv_flops"] = named(
        lambda cin, height, width, cout, kernel, stride=1, padding=0:
        ref.conv_flops(cin, height, height, cout, kernel, stride, padding),
        "conv_flops")
    message = failure(checks.check_conv_flops_lecture, env)
    assert message is not None and "H' and W'" in message


# ---------------------------------------------------------------------------------------
# (6) Infinite loops time out
# ---------------------------------------------------------------------------------------

def forever(*args, **kwargs):
    while True:
        pass


@pytest.mark.parametrize("question,check", ALL_CHECKS, ids=CHECK_IDS)
def test_infinite_loop_times_out(question, check, monkeypatch):
    monkeypatch.setattr(formula_probe, "TIMEOUT", 0.2)
    env = reference_env()
    env[question] = named(forever, question)
    started = time.monotonic()
    message = failure(check, env)
    assert time.monotonic() - started < 2
    assert message is not None and "did not return within" in message


def test_infinite_loop_times_out_at_the_real_limit():
    env = reference_env()
    env["conv_flops"] = named(forever, "conv_flops")
    started = time.monotonic()
    message = failure(checks.check_conv_flops_random, env)
    assert time.monotonic() - started < formula_probe.TIMEOUT + 1.5
    assert "did not return within" in message


# ---------------------------------------------------------------------------------------
# (7) Feedback never holds the expected value
# ---------------------------------------------------------------------------------------

CALL_RE = re.compile(r"`(\w+)\(([^`]*)\)`")


def _failing_call(message):
    """(name, args, kwargs) of the call a message names."""
    match = CALL_RE.search(message)
    assert match, message
    node = ast.parse(f"f({match.group(2)})", mode="eval").body
    args = tuple(ast.literal_eval(a) for a in node.args)
    kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    return match.group(1), args, kwargs


def _holds(message: str, value) -> bool:
    texts = {str(value), repr(value)}
    if isinstance(value, float) and value.is_integer():
        texts.add(str(int(value)))
    return any(re.search(rf"(?<![\w.]){re.escape(t)}(?![\w]|\.\d)", message) for t in texts)


OFF_BY = {  # wrong answers whose feedback must not give the right one away
    "plus_one": lambda v: v + 1,
    "doubled": lambda v: 2 * v,
    "halved": lambda v: v // 2 if isinstance(v, int) else v / 2,
}


@pytest.mark.parametrize("wrong", OFF_BY, ids=list(OFF_BY))
@pytest.mark.parametrize("question,check", [(q, c) for q, c in ALL_CHECKS
                                            if q != "cost_table" and "errors" not in c.__name__],
                         ids=[c.__name__ for q, c in ALL_CHECKS
                              if q != "cost_table" and "errors" not in c.__name__])
def test_feedback_never_shows_the_expected_value(question, check, wrong):
    env = reference_env()
    env[question] = _returning(question, OFF_BY[wrong])
    message = failure(check, env)
    assert message is not None
    name, args, kwargs = _failing_call(message)
    assert name == question
    expected = getattr(ref, name)(*args, **kwargs)
    shown_args = [*args, *kwargs.values()]
    if expected not in shown_args:
        assert not _holds(message, expected), message


@pytest.mark.parametrize("column", ["output_shape", "memory_kb", "params", "flops"])
@pytest.mark.parametrize("check", checks.QUESTIONS["cost_table"],
                         ids=[c.__name__ for c in checks.QUESTIONS["cost_table"]])
def test_table_feedback_never_shows_the_expected_cell(check, column):
    def cost_table(shape, layers):
        rows = ref.cost_table(shape, layers)
        for row in rows:
            v = row[column]
            row[column] = tuple(x + 1 for x in v) if column == "output_shape" else v * 3 + 1
        return rows
    env = reference_env()
    env["cost_table"] = named(cost_table, "cost_table")
    message = failure(check, env)
    match = re.search(r"row (\d+) ", message)
    assert match and f"'{column}'" in message, message
    if "fc follows a pool directly" in message:
        shape = cost_table_checks.IMPLICIT_FLATTEN_INPUT
        layers = cost_table_checks.IMPLICIT_FLATTEN_LAYERS
    elif check is checks.check_cost_table_random:
        head, _, _ = message.partition(": row")
        shape_text, layers_text = re.match(r"cost_table\((\(.*?\)), (\[.*\])\)$", head).groups()
        shape, layers = ast.literal_eval(shape_text), ast.literal_eval(layers_text)
    else:
        net = "LENET5" if "LeNet" in message else ("ALEXNET" if "AlexNet" in message
                                                     else "VGG16")
        shape, layers = getattr(networks, f"{net}_INPUT"), getattr(networks, f"{net}_LAYERS")
    expected = ref.cost_table(shape, layers)[int(match.group(1)) - 1][column]
    context = message.split(": row")[0]
    if str(expected) not in context:
        assert str(expected) not in message and not _holds(message, expected), message


# ---------------------------------------------------------------------------------------
# Through the sandbox, as `cnnlab grade` runs them: proxies and plain data only
# ---------------------------------------------------------------------------------------

SANDBOX_CHEATS = '''
import numpy as np
class RiggedInt(int):
    def __eq__(self, other): return True
    __hash__ = int.__hash__
_fc_flops = fc_flops
def fc_flops(a, b): return RiggedInt(_fc_flops(a, b))
_conv_params = conv_params
def conv_params(*a, **k): return np.int64(_conv_params(*a, **k))
def memory_kb(n): raise NotImplementedError
'''


def test_checks_through_the_sandbox(tmp_path):
    sandbox_module = pytest.importorskip("autograder.sandbox")
    from autograder.runner import PRIVATE_DIRS
    with sandbox_module.Sandbox(str(tmp_path), [str(p) for p in PRIVATE_DIRS]) as sandbox:
        sandbox.exec_cell(open(ref.__file__).read(), 60)
        env = sandbox_module.RemoteEnv(sandbox)
        for _, check in ALL_CHECKS:
            assert failure(check, env) is None, check.__name__
        sandbox.exec_cell(SANDBOX_CHEATS, 60)
        assert "RiggedInt (a subclass of int)" in failure(checks.check_fc_flops_values, env)
        assert "numpy.int64" in failure(checks.check_conv_params_values, env)
        assert "not implemented" in failure(checks.check_memory_kb_values, env)
        assert failure(checks.check_fc_flops_errors, env) is None


def test_a_table_that_changes_its_layers_is_seen_inside_a_sandbox(tmp_path):
    """In a sandbox the layers reach the student as copies: the comparison must happen in
    the student's process, or `layer.setdefault(...)` goes unnoticed."""
    import inspect

    from autograder.runner import PRIVATE_DIRS
    from autograder.sandbox import RemoteEnv, Sandbox
    source = inspect.getsource(ref).replace(
        '        kind = layer.get("type")\n        counts[kind]',
        '        layer.setdefault("name", "layer")\n        kind = layer.get("type")\n'
        '        counts[kind]')
    assert source != inspect.getsource(ref)
    with Sandbox(str(tmp_path), [str(p) for p in PRIVATE_DIRS]) as sandbox:
        sandbox.exec_cell(source, 30)
        env = RemoteEnv(sandbox)
        message = failure(checks.check_cost_table_random, env)
        assert message and "changed layer 1" in message, message
        # the named layers of the lecture's nets are not changed by it
        assert failure(checks.check_cost_table_lenet, env) is None
    with Sandbox(str(tmp_path), [str(p) for p in PRIVATE_DIRS]) as sandbox:
        sandbox.exec_cell(inspect.getsource(ref), 30)
        assert failure(checks.check_cost_table_random, RemoteEnv(sandbox)) is None


def test_a_pool_stride_of_zero_is_out_of_range_not_the_default():
    env = reference_env()
    env["pool_output_size"] = named(
        lambda size, kernel, stride=None, padding=0:
        ref.pool_output_size(size, kernel, stride or kernel, padding), "pool_output_size")
    env["pool_flops"] = named(
        lambda channels, height, width, kernel, stride=None, padding=0:
        ref.pool_flops(channels, height, width, kernel, stride or kernel, padding), "pool_flops")
    for question in ("pool_output_size", "pool_flops"):
        failing = {c.__name__: failure(c, env) for c in checks.QUESTIONS[question]}
        assert {n for n, m in failing.items() if m} == {f"check_{question}_errors"}, failing
        message = failing[f"check_{question}_errors"]
        assert "must raise ValueError" in message and "`stride or kernel`" in message


def test_memory_kb_is_a_float_even_where_the_kb_are_whole():
    env = reference_env()
    env["memory_kb"] = named(lambda n: ref.memory_kb(n) and (
        n // 256 if n % 256 == 0 else n / 256), "memory_kb")
    message = failure(checks.check_memory_kb_values, env)
    assert message and "Python float" in message and "whole" in message, message
    assert failure(checks.check_memory_kb_errors, env) is None
    # in a table: asked once, by the fuzzed check, whose pinned net has whole KB
    env = reference_env()
    env["cost_table"] = named(lambda shape, layers: [
        {**row, "memory_kb": int(row["memory_kb"]) if row["memory_kb"] % 1 == 0
         else row["memory_kb"]} for row in ref.cost_table(shape, layers)], "cost_table")
    failing = {c.__name__: failure(c, env) for c in checks.QUESTIONS["cost_table"]}
    assert {n for n, m in failing.items() if m} == {"check_cost_table_random"}, failing
    assert "memory_kb is a float even where the KB are whole" in \
        failing["check_cost_table_random"]


def test_lists_for_shapes_and_a_tuple_of_rows_are_deliberately_accepted():
    # docs/contract_notes.md, "Promises and leniencies"
    env = reference_env()
    env["cost_table"] = named(lambda shape, layers: tuple(
        {**row, "output_shape": list(row["output_shape"])}
        for row in ref.cost_table(shape, layers)), "cost_table")
    for check in checks.QUESTIONS["cost_table"]:
        assert failure(check, env) is None, check.__name__


@pytest.mark.parametrize("layer", [l for l, _ in cost_table_checks.OUT_OF_RANGE_LAYERS],
                         ids=["kernel_0", "kernel_too_large"])
def test_a_table_must_raise_for_a_layer_out_of_range(layer):
    env = reference_env()

    def cost_table(shape, layers):
        if layers == [layer]:
            return [{"name": "conv1", "type": "conv", "output_shape": (4, 1, 1),
                     "memory_kb": 4 / 1024, "params": 4, "flops": 0}]
        return ref.cost_table(shape, layers)
    env["cost_table"] = named(cost_table, "cost_table")
    failing = {c.__name__: failure(c, env) for c in checks.QUESTIONS["cost_table"]}
    assert {n for n, m in failing.items() if m} == {"check_cost_table_random"}
    assert "must raise ValueError" in failing["check_cost_table_random"]
