"""The shared Hypothesis strategies say what they promise: the valid ones give arguments
torch's own layers accept, the invalid ones give arguments torch and the reference reject,
and each reaches the edge cases it exists for."""
from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import find, given, settings
from torch import nn

from autograder import strategies as S
from solutions import cnn_costs as cc


def all_plain_ints(values):
    return all(type(v) is int for v in values if v is not None)


@given(S.conv_args())
def test_conv_args_are_accepted_by_torch(args):
    size, kernel, stride, padding = args
    assert all_plain_ints(args)
    out = nn.Conv2d(1, 1, kernel, stride, padding, bias=False)(torch.zeros(1, 1, size, size))
    assert out.shape[-1] >= 1


@given(S.pool_args())
def test_pool_args_are_accepted_by_torch(args):
    size, kernel, stride, padding = args
    assert all_plain_ints(args)
    out = nn.MaxPool2d(kernel, stride, padding)(torch.zeros(1, 1, size, size))
    assert out.shape[-1] >= 1


@given(S.conv_layer())
def test_conv_layer_is_accepted_by_torch(layer):
    cin, height, width, cout, kernel, stride, padding = layer
    assert all_plain_ints(layer)
    conv = nn.Conv2d(cin, cout, kernel, stride, padding, device="meta")
    out = conv(torch.empty(1, cin, height, width, device="meta"))
    assert out.shape[:2] == (1, cout) and min(out.shape[-2:]) >= 1


def torch_conv_rejects(size, kernel, stride, padding):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-element weight for kernel 0
        try:
            nn.Conv2d(1, 1, kernel, stride, padding)(torch.zeros(1, 1, size, size))
        except (RuntimeError, ValueError):
            return True
    return False


@given(S.invalid_conv_args())
def test_invalid_conv_args_are_rejected_by_torch_and_the_reference(args):
    size, kernel, stride, padding, which = args
    assert which in ("kernel", "stride", "padding")
    assert torch_conv_rejects(size, kernel, stride, padding)
    with pytest.raises(ValueError, match=which):
        cc.conv_output_size(size, kernel, stride, padding)


@given(S.invalid_pool_padding())
def test_invalid_pool_padding_is_rejected_by_torch_and_the_reference(args):
    size, kernel, stride, padding = args
    assert padding > kernel // 2
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        nn.MaxPool2d(kernel, stride, padding)(torch.zeros(1, 1, size, size))
    with pytest.raises(ValueError, match="padding"):
        cc.pool_output_size(size, kernel, stride, padding)


# The edge cases each strategy exists for are actually reached.
FIND = settings(database=None, max_examples=2000)


@pytest.mark.parametrize("strategy, condition", [
    (S.conv_args(), lambda a: a[1] == a[0] + 2 * a[3]),             # kernel = padded input
    (S.conv_args(), lambda a: a[2] > a[1]),                          # stride above kernel
    (S.conv_args(), lambda a: (a[0] - a[1] + 2 * a[3]) % a[2] != 0),  # floor matters
    (S.pool_args(), lambda a: a[2] is None),                         # default stride
    (S.pool_args(), lambda a: a[3] == a[1] // 2 > 0),                # largest padding
    (S.pool_args(), lambda a: a[1] == a[0] + 2 * a[3]),              # kernel = padded input
    (S.conv_layer(), lambda a: a[1] != a[2]),                        # non-square
    (S.invalid_conv_args(), lambda a: a[4] == "stride"),
    (S.invalid_conv_args(), lambda a: a[4] == "padding"),
    (S.invalid_conv_args(), lambda a: a[4] == "kernel" and a[1] > 0),  # too large
    (S.invalid_conv_args(), lambda a: a[4] == "kernel" and a[1] <= 0),
    (S.invalid_pool_padding(), lambda a: a[2] is None),
], ids=["conv-kernel-eq-padded", "conv-stride-gt-kernel", "conv-floor", "pool-stride-none",
        "pool-max-padding", "pool-kernel-eq-padded", "layer-non-square", "invalid-stride",
        "invalid-padding", "invalid-too-large", "invalid-kernel", "invalid-pool-stride-none"])
def test_strategy_reaches_its_edge_case(strategy, condition):
    example = find(strategy, condition, settings=FIND)
    assert condition(example)
