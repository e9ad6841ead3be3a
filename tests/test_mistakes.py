"""The mistake catalogue: every entry is a mistake that shows (on realistic arguments its
value differs from the reference), `diagnose` names it from its own wrong value, and a
student's whole table with that one mistake differs from the right one."""
from __future__ import annotations

import inspect

import pytest

from solutions.mistakes import formulas as mistakes
from solutions import cnn_costs as cc
from solutions import networks

# Realistic calls of each cost function: the lecture's layers and a few quiz-like ones,
# varied enough that every entry shows on at least one and can be told from its neighbours.
ARGUMENT_SETS = {
    "conv_output_size": [(227, 11, 4, 2), (224, 11, 4, 2), (10, 3, 2, 1), (32, 3, 1, 1),
                         (7, 3, 2, 0), (28, 5, 1, 2), (224, 7, 2, 3)],
    "pool_output_size": [(56, 3, 2), (55, 3, 2), (8, 2), (224, 2), (27, 3, None, 1),
                         (112, 3, 2, 1), (9, 4, 1, 2)],
    "conv_params": [(3, 64, 11, True), (3, 64, 11, False), (64, 192, 5, True),
                    (256, 128, 1, False)],
    "conv_flops": [(3, 227, 227, 64, 11, 4, 2), (64, 56, 56, 64, 3, 1, 1),
                   (3, 224, 224, 64, 7, 2, 3)],
    "pool_flops": [(64, 56, 56, 3, 2, 0), (64, 112, 112, 3, 2, 1), (20, 28, 28, 2)],
    "fc_params": [(9216, 4096, True), (9216, 4096, False), (500, 10, True)],
    "fc_flops": [(9216, 4096), (500, 10)],
    "memory_kb": [(200_704,), (1000,), (64 * 112 * 112,)],
}

IDS = [m.id for m in mistakes.CATALOGUE]


def test_catalogue_ids_are_unique_and_targets_exist():
    assert len(IDS) == len(set(IDS))
    assert set(mistakes.BY_ID) == set(IDS)
    for m in mistakes.CATALOGUE:
        assert callable(getattr(cc, m.target)), m.target
        assert m.description.strip()
        assert m.target in ARGUMENT_SETS, f"add realistic arguments for {m.target}"


@pytest.mark.parametrize("mistake", mistakes.CATALOGUE, ids=IDS)
def test_mistake_is_detectable_and_diagnosed(mistake):
    reference = getattr(cc, mistake.target)
    shown = diagnosed = False
    for args in ARGUMENT_SETS[mistake.target]:
        right, wrong = reference(*args), mistake.wrong(*args)
        if wrong != right or type(wrong) is not type(right):
            shown = True
            if mistakes.diagnose(mistake.target, args, {}, wrong) is mistake:
                diagnosed = True
    assert shown, "the wrong formula agrees with the reference on every argument set"
    assert diagnosed, "diagnose never names this entry for its own wrong value"


def test_diagnose_returns_none_for_the_right_value_and_unknown_wrong_values():
    for target, arg_sets in ARGUMENT_SETS.items():
        for args in arg_sets:
            right = getattr(cc, target)(*args)
            assert mistakes.diagnose(target, args, {}, right) is None
            assert mistakes.diagnose(target, args, {}, -12345) is None


def keyword_form(target, args):
    names = list(inspect.signature(getattr(cc, target)).parameters)
    return dict(zip(names, args))


@pytest.mark.parametrize("mistake", mistakes.CATALOGUE, ids=IDS)
def test_mistake_accepts_the_reference_keywords(mistake):
    # "Same signature as the target": a caller (feedback, mutants) may pass keywords.
    for args in ARGUMENT_SETS[mistake.target]:
        kwargs = keyword_form(mistake.target, args)
        assert mistake.wrong(**kwargs) == mistake.wrong(*args)
        wrong = mistake.wrong(*args)
        if wrong != getattr(cc, mistake.target)(*args):
            found = mistakes.diagnose(mistake.target, (), kwargs, wrong)
            assert found is not None
            assert found.target == mistake.target


# The AlexNet list has bias everywhere, an explicit pooling stride, and a conv1 whose
# division is exact at 227, so these entries leave its table unchanged; they must show on
# a variant that exercises them (224 input, no biases, default pooling stride, padded pools).
ALEXNET_BLIND = {"size_ceil", "size_true_division", "pool_stride_default_one",
                 "conv_params_ignores_bias_flag", "fc_params_ignores_bias_flag",
                 "pool_size_ignores_padding", "conv_flops_unrounded_size"}


def alexnet_variant():
    layers = []
    for layer in networks.ALEXNET_LAYERS:
        layer = dict(layer, bias=False) if layer["type"] in ("conv", "fc") else dict(layer)
        if layer["type"] == "pool":
            layer.pop("stride")
            layer["padding"] = 1
        layers.append(layer)
    return (3, 224, 224), layers


def computable_prefix(mistake, shape, layers):
    """(wrong, right) tables over the longest prefix of `layers` the mistake can finish: a
    fractional size from true division stops a student's table at the next layer."""
    for end in range(len(layers), 0, -1):
        try:
            return (mistakes.wrong_table(mistake, shape, layers[:end]),
                    cc.cost_table(shape, layers[:end]))
        except ValueError:
            continue
    raise AssertionError(f"{mistake.id} cannot compute even the first layer")


def tables_differ(a, b):
    keys = ("output_shape", "memory_kb", "params", "flops")
    return any(not mistakes.same_value(ra[k], rb[k]) for ra, rb in zip(a, b) for k in keys)


@pytest.mark.parametrize("mistake", mistakes.CATALOGUE, ids=IDS)
def test_wrong_table_differs_from_cost_table(mistake):
    assert mistake.target in vars(cc.FORMULAS)  # every target feeds cost_table
    wrong = mistakes.wrong_table(mistake, networks.ALEXNET_INPUT, networks.ALEXNET_LAYERS)
    right = cc.cost_table(networks.ALEXNET_INPUT, networks.ALEXNET_LAYERS)
    assert len(wrong) == len(right)
    if mistake.id in ALEXNET_BLIND:
        assert not tables_differ(wrong, right)
        shape, layers = alexnet_variant()
        assert tables_differ(*computable_prefix(mistake, shape, layers))
    else:
        assert tables_differ(wrong, right)


def test_wrong_output_size_propagates_to_flops():
    mistake = mistakes.BY_ID["size_no_plus_one"]
    wrong = mistakes.wrong_table(mistake, networks.ALEXNET_INPUT, networks.ALEXNET_LAYERS)
    right = cc.cost_table(networks.ALEXNET_INPUT, networks.ALEXNET_LAYERS)
    assert wrong[0]["output_shape"] == (64, 55, 55)
    assert wrong[0]["flops"] == 64 * 55 * 55 * 3 * 11 * 11 != right[0]["flops"]
    assert wrong[0]["params"] == right[0]["params"]


def test_wrong_table_leaves_the_reference_formulas_alone():
    before = dict(vars(cc.FORMULAS))
    for m in mistakes.CATALOGUE:
        mistakes.wrong_table(m, networks.ALEXNET_INPUT, networks.ALEXNET_LAYERS)
    assert vars(cc.FORMULAS) == before
    assert cc.conv_output_size(227, 11, 4, 2) == 56


def test_true_division_table_keeps_the_fraction():
    mistake = mistakes.BY_ID["size_true_division"]
    shape, layers = alexnet_variant()
    (row,) = mistakes.wrong_table(mistake, shape, layers[:1])
    assert row["output_shape"] == (64, 55.25, 55.25)        # (224 - 11 + 4) / 4 + 1
    assert row["memory_kb"] == pytest.approx(64 * 55.25 * 55.25 * 4 / 1024)
    with pytest.raises(ValueError):                          # pool1 cannot take 55.25
        mistakes.wrong_table(mistake, shape, layers[:2])
    # On the exact AlexNet list 56.0 flows on as 56: the whole table computes.
    full = mistakes.wrong_table(mistake, networks.ALEXNET_INPUT, networks.ALEXNET_LAYERS)
    assert full[0]["output_shape"] == (64, 56, 56)


# --- several calls: the entry that matches on every input probed ------------------------

def test_more_calls_tell_apart_what_one_call_cannot():
    by = mistakes.BY_ID
    # A 1x1 conv over one channel does 1 multiply-add: "2 FLOPs per multiply-add" and "the
    # bias add counted" both give 2. AlexNet conv1 has 56 x 56 x 64 outputs of 3*11*11 = 363.
    one = ((1, 1, 1, 1, 1, 1, 0), {}, 2)
    assert mistakes.diagnose("conv_flops", *one) in (by["conv_flops_mul_and_add"],
                                                     by["conv_flops_with_bias"])
    conv1 = (3, 227, 227, 64, 11, 4, 2)
    assert mistakes.diagnose_calls("conv_flops", [one, (conv1, {}, 64 * 56 * 56 * 364)]) \
        is by["conv_flops_with_bias"]
    assert mistakes.diagnose_calls("conv_flops", [one, (conv1, {}, 2 * 64 * 56 * 56 * 363)]) \
        is by["conv_flops_mul_and_add"]
    # A 1x1 window over a 1x1 input: no +1 means (1 - 1) // 1 = 0 outputs, 0 FLOPs, as
    # "pooling is free" says. AlexNet pool1 without the +1: (55 - 3) // 2 = 26.
    one = ((1, 1, 1, 1, None, 0), {}, 0)
    pool1 = (64, 55, 55, 3, 2)
    assert mistakes.diagnose_calls("pool_flops", [one, (pool1, {}, 64 * 26 * 26 * 9)]) \
        is by["pool_size_no_plus_one"]
    assert mistakes.diagnose_calls("pool_flops", [one, (pool1, {}, 0)]) is by["pool_flops_zero"]


def test_right_answers_count_as_evidence_too():
    by = mistakes.BY_ID
    # P == S: (10 - 3 + 2*2) // 2 = 5 without the +1, (10 - 3 + 2) // 2 + 1 = 5 with one-sided
    # padding. At P != S they part: 32, 5, 1, 2 gives 31 and 30; 7, 3, 2, 0 is 3 for both
    # mistakes but a student with one-sided padding (no padding there) gets it right.
    calls = [((10, 3, 2, 2), {}, 5), ((32, 5, 1, 2), {}, 30), ((7, 3, 2, 0), {}, 3)]
    assert mistakes.diagnose_calls("conv_output_size", calls) is by["size_one_side_padding"]
    calls = [((10, 3, 2, 2), {}, 5), ((32, 5, 1, 2), {}, 31), ((7, 3, 2, 0), {}, 2)]
    assert mistakes.diagnose_calls("conv_output_size", calls) is by["size_no_plus_one"]
    assert mistakes.diagnose_calls("conv_output_size", [((7, 3, 2, 0), {}, 3)]) is None


def test_rank_keeps_only_mistakes_behind_half_the_wrong_answers():
    # answers (args, value, is_wrong): f(1) = 2, f(2) = 4, f(3) = 9 are wrong, f(4) = 4 right.
    answers = [((1,), 2, True), ((2,), 4, True), ((3,), 9, True), ((4,), 4, False)]
    candidates = [
        ("double", lambda a: 2 * a[0]),          # fits 2, 4: two of three wrong answers
        ("square", lambda a: a[0] ** 2),         # fits 4, 9
        ("plus_one", lambda a: a[0] + 1),        # fits 2 only: a coincidence, dropped
        ("square_below_4", lambda a: a[0] ** 2 if a[0] < 4 else 4),  # fits 4, 9 and the 4
        ("never", lambda a: -1),
    ]
    assert mistakes.rank(candidates, answers) == [["square_below_4"], ["double", "square"]]
    assert mistakes.rank(candidates, [((4,), 4, False)]) == []
