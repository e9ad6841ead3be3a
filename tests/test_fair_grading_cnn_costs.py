"""Fair grading (issue 13), cnn_costs: feedback names the mistake a student actually made.

The students below are written as students write them, each with its formula by hand, not
taken from the catalogue; a check must name the catalogue entry of that mistake and not a
neighbour that happens to agree on one small input."""
from __future__ import annotations

import inspect

import pytest

from solutions.mistakes import formulas as mistakes
from autograder.checks import cnn_costs as checks
from solutions import cnn_costs as ref
from student_variants import failure

FUNCTIONS = list(checks.QUESTIONS)
DESCRIBE = {m.id: m.description for m in mistakes.CATALOGUE}


def env_with(name, fn) -> dict:
    """The reference's functions, with the student's `fn` as `name`."""
    env = {n: getattr(ref, n) for n in FUNCTIONS}
    fn.__name__ = name
    env[name] = fn
    return env


def conv_flops_with_bias(in_channels, height, width, out_channels, kernel, stride=1, padding=0):
    ref.conv_flops(in_channels, height, width, out_channels, kernel, stride, padding)  # errors
    h = (height - kernel + 2 * padding) // stride + 1
    w = (width - kernel + 2 * padding) // stride + 1
    return out_channels * h * w * (in_channels * kernel * kernel + 1)


def pool_flops_missing_plus_one(channels, height, width, kernel, stride=None, padding=0):
    ref.pool_flops(channels, height, width, kernel, stride, padding)
    stride = kernel if stride is None else stride
    h = (height - kernel + 2 * padding) // stride
    w = (width - kernel + 2 * padding) // stride
    return channels * h * w * kernel * kernel


def unrounded(convert, pool: bool):
    """FLOPs from H' and W' computed with /, `convert`ed at the end (int, round, or not)."""
    def conv_flops(in_channels, height, width, out_channels, kernel, stride=1, padding=0):
        ref.conv_flops(in_channels, height, width, out_channels, kernel, stride, padding)
        h = (height - kernel + 2 * padding) / stride + 1
        w = (width - kernel + 2 * padding) / stride + 1
        return convert(out_channels * h * w * in_channels * kernel * kernel)

    def pool_flops(channels, height, width, kernel, stride=None, padding=0):
        ref.pool_flops(channels, height, width, kernel, stride, padding)
        s = kernel if stride is None else stride
        h = (height - kernel + 2 * padding) / s + 1
        w = (width - kernel + 2 * padding) / s + 1
        return convert(channels * h * w * kernel * kernel)
    return pool_flops if pool else conv_flops


def value_check_messages(name, fn) -> list[str]:
    env = env_with(name, fn)
    return [failure(c, env) for c in checks.QUESTIONS[name] if "errors" not in c.__name__]


def test_the_bias_add_is_named_not_two_flops_per_multiply_add():
    # One output element of a 1x1 conv over one channel: 1 multiply-add, +1 for the bias,
    # is 2, as "2 FLOPs per multiply-add" is. The lecture's layers tell them apart.
    assert conv_flops_with_bias(1, 1, 1, 1, 1) == 2 == 2 * ref.conv_flops(1, 1, 1, 1, 1)
    messages = value_check_messages("conv_flops", conv_flops_with_bias)
    assert all(m is not None for m in messages)
    for message in messages:
        assert DESCRIBE["conv_flops_with_bias"] in message, message
        assert DESCRIBE["conv_flops_mul_and_add"] not in message


def test_a_missing_plus_one_in_pool_flops_is_named_so():
    # A 1x1 input with a 1x1 window: (1 - 1) // 1 = 0 outputs, so 0 FLOPs, the value of
    # "pooling is free" too.
    assert pool_flops_missing_plus_one(1, 1, 1, 1) == 0
    messages = value_check_messages("pool_flops", pool_flops_missing_plus_one)
    assert all(m is not None for m in messages)
    for message in messages:
        assert DESCRIBE["pool_size_no_plus_one"] in message, message
        assert "pool_output_size" in message
        assert DESCRIBE["pool_flops_zero"] not in message


@pytest.mark.parametrize("convert", [int, round, float], ids=["int", "round", "float"])
@pytest.mark.parametrize("pool", [False, True], ids=["conv", "pool"])
def test_flops_from_an_unrounded_output_size_are_named(pool, convert):
    name = "pool_flops" if pool else "conv_flops"
    fn = unrounded(convert, pool)
    # AlexNet conv1 on a 224 input: (224 - 11 + 4) / 4 + 1 = 55.25 where the floor gives 55.
    if not pool:
        assert fn(3, 224, 224, 64, 11, 4, 2) == convert(64 * 55.25 * 55.25 * 3 * 121)
        assert ref.conv_flops(3, 224, 224, 64, 11, 4, 2) == 64 * 55 * 55 * 3 * 121
    messages = [m for m in value_check_messages(name, fn) if m is not None]
    assert messages
    wanted = DESCRIBE[f"{name}_unrounded_size"]
    assert any(wanted in m for m in messages), messages
    assert not any("Hint:" in m for m in messages), messages  # not just the formula again


def test_new_entries_give_the_hand_computed_wrong_values():
    """The catalogue's new entries against the arithmetic of the lecture's AlexNet conv1
    (56 x 56 outputs from 227) and pool1 (56 -> 27 outputs, 27.5 unrounded)."""
    by = mistakes.BY_ID
    assert by["conv_flops_with_bias"].wrong(3, 227, 227, 64, 11, 4, 2) == 64 * 56 * 56 * 364
    assert by["conv_flops_unrounded_size"].wrong(3, 224, 224, 64, 11, 4, 2) == \
        pytest.approx(64 * 55.25 ** 2 * 363)
    assert by["pool_flops_unrounded_size"].wrong(64, 56, 56, 3, 2) == \
        pytest.approx(64 * 27.5 ** 2 * 9)
    assert ref.pool_flops(64, 56, 56, 3, 2) == 64 * 27 * 27 * 9


def _full(args, kwargs) -> tuple:
    bound = inspect.signature(ref.conv_flops).bind(*args, **kwargs)
    bound.apply_defaults()
    return tuple(bound.arguments.values())


def recording(fn, calls):
    def conv_flops(*args, **kwargs):
        calls.append(_full(args, kwargs))
        return fn(*args, **kwargs)
    return conv_flops


PINNED = {_full(args, kwargs) for args, kwargs in checks.CONV_FLOPS_CASES}


def test_a_failing_fuzzed_check_asks_the_pinned_cases_too():
    calls = []
    message = failure(checks.check_conv_flops_random,
                      env_with("conv_flops", recording(conv_flops_with_bias, calls)))
    assert message is not None
    assert PINNED <= set(calls)


def test_a_passing_check_asks_nothing_more():
    calls = []
    assert failure(checks.check_conv_flops_random,
                   env_with("conv_flops", recording(ref.conv_flops, calls))) is None
    assert not PINNED & set(calls)
