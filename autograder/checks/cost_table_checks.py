"""The checks of cnn_costs's `cost_table` question (imported into its QUESTIONS by
autograder/checks/cnn_costs.py): the lecture's networks, then random small networks against
the reference, one wrong cell named per failure, with the catalogued mistake
(`mistakes.wrong_table`) that reproduces the student's table where one does.

A row is a dict with the keys of COLUMNS (extra keys are fine); `output_shape` may be a tuple
(the contract) or, leniently, a list of plain ints; a row's `name` is checked only where the
layer names itself. cost_table must raise ValueError for a layer out of range, and must
leave the layers it is given as they were (compared where the student's code runs: in a
sandbox it works on copies).
"""
from __future__ import annotations

import copy
import time

from hypothesis import strategies as st

from solutions.mistakes import formulas as mistakes
from autograder.checks import formula_probe, fuzzing
from autograder.checks.common import (StudentTimeout, call, call_many, exact_int,
                                      student_failure, student_function, timeout_message)
from autograder.checks.student_values import (OPAQUE, accepted, agree, catching, fits,
                                              is_kb_type, plain_value, show_value, type_name)
from solutions import cnn_costs as reference
from solutions import networks

TABLE_HINTS = {
    "output_shape": "conv gives (Cout, H', W'), pool (C, H', W'), flatten (C*H*W,) and fc "
                    "(out_features,), with the output-size formula for H' and W'",
    "memory_kb": "a row's memory is its output's elements x 4 bytes / 1024",
    "params": "conv Cout*Cin*K*K (+ Cout with bias), fc Cin*Cout (+ Cout with bias), where fc's "
              "Cin is the element count of its input; pool and flatten have none",
    "flops": "conv (Cout*H'*W')*(Cin*K*K), pool (C*H'*W')*(K*K), fc Cin*Cout, flatten 0",
}

COLUMNS = ("name", "type", "output_shape", "memory_kb", "params", "flops")

NUMERIC_COLUMNS = ("output_shape", "memory_kb", "params", "flops")

RANDOM_NETWORKS = 25  # check_cost_table_random's examples
# The seed of check_cost_table_random's search (fuzzing.py says why it is a number).
SEARCH_SEED = int("d0d6680bfcc511bee192f761239e938ab5505b21c36c928750372380492f4791d7d04591"
                  "efb5d782bd79409c6f5a17d7", 16)


def _cell_problem(column: str, value, expected, strict_kb: bool = True) -> str | None:
    """None if `value` is right for this column, else what is wrong with its type, or ""
    for a wrong value of the right type. Without `strict_kb`, a memory_kb that is an int of
    the right value passes (the lecture tables' checks: the float is asked once, elsewhere)."""
    if column == "output_shape":
        if type(value) not in (tuple, list):
            return (f"is a {type_name(value)}; use a tuple such as (C, H, W), or (N,) after "
                    f"flatten and fc")
        bad = [v for v in value if not exact_int(v)]
        if bad:
            return (f"holds a {type_name(bad[0])} ({show_value(bad[0])}); sizes must be Python "
                    f"ints (use // rather than /)")
        return None if (len(value) == len(expected)
                        and all(int(v) == e for v, e in zip(value, expected))) else ""
    if column == "memory_kb":
        if not is_kb_type(value, allow_int=not strict_kb):
            whole = (f" ({show_value(value)}); memory_kb is a float even where the KB are whole "
                     f"(the contract: every result is an int except memory_kb)"
                     if type(value) is int else "")
            return f"is {'an' if whole else 'a'} {type_name(value)}{whole}; use a Python float"
        return None if accepted(value, expected, "kb", allow_int=not strict_kb) else ""
    if not exact_int(value):
        return f"is {show_value(value)}, a {type_name(value)}; counts must be Python ints"
    return None if int(value) == expected else ""


def _row_label(index: int, layer: dict) -> str:
    name = layer.get("name")
    what = f"{'an' if layer['type'] == 'fc' else 'a'} {layer['type']} layer"
    return f"row {index} ({name!r}, {what})" if name else f"row {index} ({what})"


def _table_feedback(table, input_shape, layers, context: str,
                    strict_kb: bool = True) -> str | None:
    """None if the student's table is right, else feedback naming the first wrong row and
    column and, where one fits, the catalogued mistake that reproduces the table.
    `strict_kb`: whether an int memory_kb of the right value is wrong (_cell_problem)."""
    expected_rows = reference.cost_table(input_shape, layers)  # after the student's call
    if type(table) not in (list, tuple):
        return (f"{context} returned {show_value(table)}, a {type_name(table)}; return a list "
                f"with one dict per layer")
    if len(table) != len(layers):
        return (f"{context} returned {len(table)} rows for {len(layers)} layers; return one "
                f"row per layer, in order")
    cells = {}  # (row, column) -> plain value, for the diagnosis
    wrong = []  # (row, column) of every wrong cell
    first_wrong = None
    for i, (row, expected, layer) in enumerate(zip(table, expected_rows, layers), 1):
        label = _row_label(i, layer)
        if not isinstance(row, dict):  # read below with dict's own methods, never row's
            return f"{context}: {label} is a {type_name(row)}; each row must be a dict"
        missing = [c for c in COLUMNS if not dict.__contains__(row, c)]
        if missing:
            return (f"{context}: {label} has no {', '.join(repr(c) for c in missing)}; each "
                    f"row needs the keys {', '.join(COLUMNS)}")
        name, kind = dict.get(row, "name"), dict.get(row, "type")
        if "name" in layer and not (type(name) is str and name == layer["name"]):
            return (f"{context}: {label} has name {show_value(name)}; use the layer's own "
                    f"'name' where it has one")
        if not (type(kind) is str and kind == layer["type"]):
            return (f"{context}: {label} has type {show_value(kind)}; use the layer's 'type' "
                    f"({layer['type']!r})")
        for column in NUMERIC_COLUMNS:
            value = dict.get(row, column)
            cells[(i - 1, column)] = plain_value(value)
            problem = _cell_problem(column, value, expected[column], strict_kb)
            if problem is not None:
                wrong.append((i - 1, column))
                if first_wrong is None:
                    first_wrong = (i, column, value, problem, label)
    if first_wrong is None:
        return None
    i, column, value, problem, label = first_wrong
    where = f"{context}: {label}, column '{column}'"
    found = _table_mistake(cells, wrong, expected_rows, input_shape, layers)
    if found:
        mistake, others = found[0], found[1:3]
        alternatives = "".join(f" (or {m.target} {m.description})" for m in others)
        # The table may call a right formula with a wrong argument (a bias flag, a stride it
        # forgot to pass), so both places are named.
        return (f"{where} is wrong (you gave {show_value(value)}): looks like {mistake.target} "
                f"{mistake.description}{alternatives}. Check {mistake.target} and the "
                f"arguments cost_table passes to it.")
    if problem:
        return f"{where} {problem}"
    return (f"{where} is wrong (you gave {show_value(value)}). Hint: {TABLE_HINTS[column]}")


def _table_mistake(cells, wrong, expected_rows, input_shape, layers):
    """The catalogued mistakes whose whole wrong table reproduces the student's first wrong
    cell and at least half of the wrong cells, and agrees with the most cells overall (more
    than one where they fit the table equally well); empty if none does. The ranking is
    the catalogue's one diagnosis (`mistakes.rank`), each cell an answer."""
    candidates = []  # (mistake, its table's cell at (row, column))
    for mistake in mistakes.CATALOGUE:
        try:
            predicted = mistakes.wrong_table(mistake, input_shape, layers)
        except Exception:  # noqa: BLE001 - a wrong formula may fail on the network
            continue
        if len(predicted) == len(expected_rows):
            candidates.append((mistake, lambda cell, table=predicted: table[cell[0]][cell[1]]))
    wrong_cells = set(wrong)
    answers = [(cell, value, cell in wrong_cells) for cell, value in cells.items()]

    def cell_fits(predicted, value, cell):
        return fits(predicted, value, cell[1] == "memory_kb")

    def wrong_itself(predicted, value, cell):  # not a right value the student's also fits
        return not agree(predicted, expected_rows[cell[0]][cell[1]], cell[1] == "memory_kb")
    groups = mistakes.rank(candidates, answers, cell_fits, explains=wrong_itself,
                           first_wrong=True)
    return groups[0] if groups else []


def _check_table(env, input_shape, layers, context: str, strict_kb: bool = False) -> None:
    fn = student_function(env, "cost_table")
    # The student gets copies: a table that edits the layers cannot change the expected one.
    table = call(fn, tuple(input_shape), copy.deepcopy(layers), timeout=formula_probe.TIMEOUT)
    feedback = _table_feedback(table, tuple(input_shape), layers, context, strict_kb)
    if feedback:
        raise AssertionError(feedback)


def check_cost_table_lenet(env):
    _check_table(env, networks.LENET5_INPUT, networks.LENET5_LAYERS,
                 f"cost_table on the lecture's LeNet-5 (input {networks.LENET5_INPUT})")


def check_cost_table_alexnet_vgg16(env):
    _check_table(env, networks.ALEXNET_INPUT, networks.ALEXNET_LAYERS,
                 f"cost_table on the lecture's AlexNet (input {networks.ALEXNET_INPUT})")
    _check_table(env, networks.VGG16_INPUT, networks.VGG16_LAYERS,
                 f"cost_table on the lecture's VGG-16 (input {networks.VGG16_INPUT})")


@st.composite
def _network(draw):
    """A small valid (input_shape, layers): conv and pool layers, flatten, then fc layers;
    optional keys (name, stride, padding, bias) sometimes left to their defaults."""
    shape = (draw(st.integers(1, 8)), draw(st.integers(4, 40)), draw(st.integers(4, 40)))
    input_shape, layers = shape, []

    def optional(layer, key, value, default):
        if value != default or draw(st.booleans()):
            layer[key] = value

    for index in range(1, draw(st.integers(1, 4)) + 1):
        _, h, w = shape
        if draw(st.booleans()):
            padding = draw(st.integers(0, 2))
            kernel = draw(st.integers(1, min(7, min(h, w) + 2 * padding)))
            layer = {"type": "conv", "out_channels": draw(st.integers(1, 32)), "kernel": kernel}
            optional(layer, "stride", draw(st.integers(1, kernel + 2)), 1)
            optional(layer, "padding", padding, 0)
            optional(layer, "bias", draw(st.booleans()), True)
        else:
            kernel = draw(st.integers(1, min(4, h, w)))
            layer = {"type": "pool", "kernel": kernel}
            optional(layer, "stride", draw(st.none() | st.integers(1, kernel + 1)), None)
            optional(layer, "padding", draw(st.integers(0, kernel // 2)), 0)
        if draw(st.booleans()):
            layer["name"] = f"{layer['type']}_{index}"
        layers.append(layer)
        shape = reference.layer_costs(shape, layer)[0]
    # The flatten is optional: an fc right after a (C, H, W) output flattens it itself.
    flatten = draw(st.sampled_from(["named", "unnamed", "implicit"]))
    if flatten != "implicit":
        layers.append({"type": "flatten", "name": "flatten"} if flatten == "named"
                      else {"type": "flatten"})
    for index in range(1, draw(st.integers(1, 2)) + 1):
        layer = {"type": "fc", "out_features": draw(st.integers(1, 64))}
        optional(layer, "bias", draw(st.booleans()), True)
        if draw(st.booleans()):
            layer["name"] = f"fc_{index}"
        layers.append(layer)
    return input_shape, layers


# Pinned before the fuzzing: an fc straight after a pool (no flatten layer) takes C*H*W
# inputs, not C; and a layer type the contract does not know is an error, not a skipped row.
IMPLICIT_FLATTEN_INPUT = (3, 10, 10)
IMPLICIT_FLATTEN_LAYERS = [
    {"type": "conv", "name": "conv1", "out_channels": 6, "kernel": 3, "padding": 1},
    {"type": "pool", "name": "pool1", "kernel": 2},
    {"type": "fc", "name": "fc1", "out_features": 10},
]
UNKNOWN_LAYER = {"type": "dropout", "name": "drop1"}
# Every output a whole number of KB (1024, 256, 256 and 512 elements), the optional keys all
# left out and no names: memory_kb must still be a float, and the layers, the defaults not
# written into them, must come back as they were given.
WHOLE_KB_INPUT = (4, 16, 16)
WHOLE_KB_LAYERS = [
    {"type": "conv", "out_channels": 4, "kernel": 1},
    {"type": "pool", "kernel": 2},
    {"type": "flatten"},
    {"type": "fc", "out_features": 512},
]
# A layer out of range, each alone: cost_table raises ValueError as the formulas do.
OUT_OF_RANGE_INPUT = (3, 8, 8)
OUT_OF_RANGE_LAYERS = [
    ({"type": "conv", "out_channels": 4, "kernel": 0}, "a kernel of 0"),
    ({"type": "conv", "out_channels": 4, "kernel": 9}, "a kernel larger than the 8x8 input"),
]


def _check_unknown_layer_type(fn) -> None:
    layers = [dict(IMPLICIT_FLATTEN_LAYERS[0]), dict(UNKNOWN_LAYER)]
    outcome, payload = call(catching(fn, "cost_table"), IMPLICIT_FLATTEN_INPUT, layers,
                            timeout=formula_probe.TIMEOUT)
    if outcome == "raised" and isinstance(payload, (ValueError, KeyError, TypeError)):
        return
    what = (f"raised {type(payload).__name__}" if outcome == "raised"
            else f"returned {show_value(payload)}")
    raise AssertionError(
        f"cost_table({IMPLICIT_FLATTEN_INPUT!r}, [a conv, {UNKNOWN_LAYER!r}]) {what}; a layer "
        f"type other than conv, pool, flatten and fc must raise ValueError naming it, not be "
        f"skipped")


def _check_layers_out_of_range(fn) -> None:
    for layer, what in OUT_OF_RANGE_LAYERS:
        outcome, payload = call(catching(fn, "cost_table"), OUT_OF_RANGE_INPUT,
                                [dict(layer)], timeout=formula_probe.TIMEOUT)
        if outcome == "raised" and isinstance(payload, ValueError):
            continue
        answer = (f"raised {type(payload).__name__}" if outcome == "raised"
                  else "returned a table")
        raise AssertionError(
            f"cost_table({OUT_OF_RANGE_INPUT!r}, [{layer!r}]) {answer}; a layer out of range "
            f"({what}) must raise ValueError, as conv_output_size does, not get a row")


# Runs in the student's process when the checks reach it through a sandbox (where the
# layers the grader sends are copies, so a change to them would never show here).
_LAYERS_AFTER = "__cnnlab_layers_after__"
_LAYERS_AFTER_SOURCE = (
    f"def {_LAYERS_AFTER}(input_shape, layers, _env=globals()):\n"
    "    try:\n"
    "        _env['cost_table'](input_shape, layers)\n"
    "    except Exception:\n"
    "        pass\n"
    "    return layers\n")


def _layers_after_call(env, fn, input_shape, layers: list):
    """The `layers` handed to the student's cost_table, as they are after the call."""
    if hasattr(env, "run_in_sandbox"):
        env.run_in_sandbox(_LAYERS_AFTER_SOURCE, timeout=10)
        return call(student_function(env, _LAYERS_AFTER), input_shape, copy.deepcopy(layers),
                    timeout=formula_probe.TIMEOUT)
    given = copy.deepcopy(layers)
    call(catching(fn, "cost_table"), input_shape, given, timeout=formula_probe.TIMEOUT)
    return given


def _changed_layer(after, layers: list) -> int | None:
    """The 1-based index of the first layer that is not as it was given (0: the list itself
    changed), or None. Student values are read with dict's own methods, compared as plain."""
    if type(after) is not list or len(after) != len(layers):
        return 0
    for i, (got, want) in enumerate(zip(after, layers), 1):
        if type(got) is not dict or len(got) != len(want):
            return i
        for key, value in want.items():
            now = plain_value(dict.get(got, key)) if dict.__contains__(got, key) else OPAQUE
            if now is OPAQUE or type(now) is not type(value) or now != value:
                return i
    return None


def _check_layers_unchanged(env, fn) -> None:
    after = _layers_after_call(env, fn, WHOLE_KB_INPUT, WHOLE_KB_LAYERS)
    changed = _changed_layer(after, WHOLE_KB_LAYERS)
    if changed is None:
        return
    which = "the list of layers" if changed == 0 else \
        f"layer {changed} ({WHOLE_KB_LAYERS[changed - 1]!r})"
    raise AssertionError(
        f"cost_table({WHOLE_KB_INPUT!r}, layers) changed {which} in place; it must not change "
        f"its arguments: read a missing key with layer.get('stride', 1), never write defaults "
        f"or names into the caller's dicts (use a copy if you must)")


def check_cost_table_random(env):
    fn = student_function(env, "cost_table")
    _check_table(env, IMPLICIT_FLATTEN_INPUT, IMPLICIT_FLATTEN_LAYERS,
                 f"cost_table on a net whose fc follows a pool directly, with no flatten layer "
                 f"(input {IMPLICIT_FLATTEN_INPUT})", strict_kb=True)
    _check_table(env, WHOLE_KB_INPUT, WHOLE_KB_LAYERS,
                 f"cost_table on a net whose outputs are whole KB (input {WHOLE_KB_INPUT})",
                 strict_kb=True)
    _check_unknown_layer_type(fn)
    try:
        name = getattr(fn, "__name__", "your function")  # as `call` asks it, once
    except Exception:  # noqa: BLE001 - `call` meets the same in the search and says so
        name = None
    ahead, right = (fuzzing.Ahead(), False) if name is None else _tables_asked_ahead(fn)
    if not right:
        _search_tables(fn, name, ahead)
    # After the values, so that a formula mistake is named before a missing range check.
    _check_layers_out_of_range(fn)
    _check_layers_unchanged(env, fn)


def _tables_asked_ahead(fn) -> tuple[fuzzing.Ahead, bool]:
    """The student's tables of the random networks that the search draws for a right
    cost_table, asked in one batch (which ends at the first exception or call past its
    time, as the search would): the answers for the search's first examples, and whether
    every network has its right table (the search then has nothing to find)."""
    networks = fuzzing.drawn_examples(_network(), max_examples=RANDOM_NETWORKS,
                                      seed_value=SEARCH_SEED)
    # The student gets copies: a table that edits the layers cannot change the expected one.
    calls = [((input_shape, copy.deepcopy(layers)), {}) for input_shape, layers in networks]
    outcomes = call_many(fn, calls, timeout=formula_probe.TIMEOUT,
                         budget=formula_probe.BATCH_BUDGET, stop_on=(BaseException,))

    def right(network, outcome) -> bool:
        try:
            return outcome[0] == "returned" and _table_feedback(outcome[1], *network, "") is None
        except Exception:  # noqa: BLE001 - the search meets the same and says so
            return False
    every = len(outcomes) == len(networks) and all(map(right, networks, outcomes))
    return fuzzing.Ahead(networks, list(zip(calls, outcomes)),
                         outcome_of=lambda answer: answer[1]), every


def _search_tables(fn, name: str | None, ahead: fuzzing.Ahead) -> None:
    """Hypothesis's search over random networks, each one cost_table call, the first ones
    answered from the batch asked ahead (`name`: the function's, for those answers)."""
    failures: list[str] = []
    stopped: list[AssertionError] = []
    started = time.monotonic()

    def example(network):
        if stopped or (failures and time.monotonic() > started + formula_probe.SHRINK_BUDGET):
            return
        input_shape, layers = network
        context = f"cost_table({input_shape!r}, {layers!r})"
        asked = ahead.take(network)
        try:
            if asked is None:
                table = call(fn, input_shape, copy.deepcopy(layers),
                             timeout=formula_probe.TIMEOUT)
            else:  # what `call` would have given
                (args, kwargs), (outcome, table) = asked
                if outcome == "timeout":
                    raise StudentTimeout(timeout_message(f"`{name}`", formula_probe.TIMEOUT))
                if outcome == "raised":
                    raise student_failure(name, args, kwargs, table)
        except StudentTimeout as err:
            stopped.append(err)
            return
        except AssertionError as err:
            failures.append(str(err))
            raise fuzzing.Mismatch() from None
        feedback = _table_feedback(table, input_shape, layers, context)
        if feedback:
            failures.append(feedback)
            raise fuzzing.Mismatch()

    try:
        fuzzing.search(_network(), example, max_examples=RANDOM_NETWORKS,
                       seed_value=SEARCH_SEED)
    except Exception:  # noqa: BLE001 - Hypothesis's report is not for students
        if not failures and not stopped:
            raise
    if stopped:
        raise AssertionError(str(stopped[0])) from None
    if failures:
        raise AssertionError(failures[-1]) from None
