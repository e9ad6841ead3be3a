"""solutions.cnn_costs against independent truth: torch's own layers (output shapes,
parameter counts), torch's FLOP counter, tensor byte sizes, and the lecture's published
figures. Nothing here recomputes a formula with the code under test."""
from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from autograder.strategies import conv_args, conv_layer, invalid_conv_args, pool_args
from solutions import cnn_costs as cc
from solutions import networks


def torch_conv_hw(height, width, kernel, stride, padding, device="cpu"):
    conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, bias=False, device=device)
    return tuple(conv(torch.zeros(1, 1, height, width, device=device)).shape[-2:])


def torch_pool_hw(height, width, kernel, stride, padding):
    pool = nn.MaxPool2d(kernel, stride=stride, padding=padding)
    return tuple(pool(torch.zeros(1, 1, height, width)).shape[-2:])


def halved_flops(module, x):
    """torch's FLOP counter counts a multiply-add as 2; the lecture counts it as 1."""
    with FlopCounterMode(display=False) as counter:
        module(x)
    total = counter.get_total_flops()
    assert total % 2 == 0
    return total // 2


def is_plain_int(value):
    return type(value) is int


# ---------------------------------------------------------------------------- output sizes

@given(conv_args())
@example((11, 11, 4, 0))      # kernel exactly the input: one output
@example((7, 11, 1, 2))       # kernel exactly the padded input 7 + 2*2
@example((10, 3, 2, 0))       # (10 - 3) / 2 = 3.5: floor gives 4, not ceil's 5
@example((227, 11, 4, 2))     # the lecture's AlexNet conv1
@example((9, 2, 5, 0))        # stride larger than the kernel skips inputs
def test_conv_output_size_matches_torch(args):
    size, kernel, stride, padding = args
    got = cc.conv_output_size(size, kernel, stride, padding)
    assert is_plain_int(got)
    assert (got, got) == torch_conv_hw(size, size, kernel, stride, padding)


@given(conv_layer(max_channels=1))
@example((1, 7, 30, 1, 7, 3, 0))  # kernel equals H; W much wider
def test_conv_output_size_non_square_matches_torch(layer):
    _, height, width, _, kernel, stride, padding = layer
    got = (cc.conv_output_size(height, kernel, stride, padding),
           cc.conv_output_size(width, kernel, stride, padding))
    assert got == torch_conv_hw(height, width, kernel, stride, padding)


@given(pool_args(), st.integers(1, 64))
@example((6, 6, None, 0), 6)      # kernel equal to the input
@example((3, 5, None, 2), 9)      # kernel equal to the padded input, padding kernel // 2
@example((56, 3, 2, 0), 40)       # (56 - 3) / 2 = 26.5: floor
@example((10, 2, 5, 1), 17)       # stride larger than the kernel
def test_pool_output_size_matches_torch(args, other):
    size, kernel, stride, padding = args
    width = max(other, kernel - 2 * padding)  # a second, different dimension
    got = (cc.pool_output_size(size, kernel, stride, padding),
           cc.pool_output_size(width, kernel, stride, padding))
    assert all(is_plain_int(v) for v in got)
    assert got == torch_pool_hw(size, width, kernel, stride, padding)


@given(pool_args())
def test_pool_stride_none_means_stride_kernel(args):
    size, kernel, _, padding = args
    by_default = cc.pool_output_size(size, kernel, padding=padding)
    assert by_default == cc.pool_output_size(size, kernel, kernel, padding)
    # torch's MaxPool2d default stride is the kernel size too
    assert (by_default, by_default) == torch_pool_hw(size, size, kernel, None, padding)


def test_floor_not_truncation_or_rounding():
    # (10 - 3 + 0) / 2 = 3.5 -> 3 (+1); torch agrees; ceil or round would give 5.
    assert cc.conv_output_size(10, 3, 2, 0) == 4 == torch_conv_hw(10, 10, 3, 2, 0)[0]
    assert cc.pool_output_size(56, 3, 2) == 27 == torch_pool_hw(56, 56, 3, 2, 0)[0]
    # A negative numerator is where truncation and floor differ: int((2 - 5) / 4) + 1 = 1
    # but floor(-3 / 4) + 1 = 0. The kernel then overhangs the input, which both reject.
    with pytest.raises(ValueError, match="kernel"):
        cc.conv_output_size(2, 5, 4, 0)
    with pytest.raises(RuntimeError):
        torch_conv_hw(2, 2, 5, 4, 0)


# ---------------------------------------------------------------------- invalid arguments

def conv_rejected_by_torch(size, kernel, stride, padding):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Initializing zero-element tensors" for kernel 0
        try:
            torch_conv_hw(size, size, kernel, stride, padding)
        except (RuntimeError, ValueError):
            return True
    return False


@given(invalid_conv_args())
def test_invalid_conv_arguments_raise_naming_the_argument(args):
    size, kernel, stride, padding, which = args
    with pytest.raises(ValueError, match=which):
        cc.conv_output_size(size, kernel, stride, padding)
    assert conv_rejected_by_torch(size, kernel, stride, padding)


@pytest.mark.parametrize("args, which", [
    ((8, 0), "kernel"),
    ((8, -2), "kernel"),
    ((8, 2, 0), "stride"),
    ((8, 2, -1), "stride"),
    ((8, 2, 2, -1), "padding"),
    ((8, 9), "kernel"),                # kernel larger than the input
    ((4, 7, 1, 1), "kernel"),          # larger than the padded input 4 + 2
    ((8, 3, 1, 2), "padding"),         # padding 2 > 3 // 2
    ((8, 1, 1, 1), "padding"),         # padding 1 > 1 // 2 = 0
    ((0, 1), "size"),
])
def test_invalid_pool_arguments_raise_naming_the_argument(args, which):
    with pytest.raises(ValueError, match=which):
        cc.pool_output_size(*args)


@pytest.mark.parametrize("size, kernel, stride, padding", [
    (8, 3, 1, 2), (8, 1, 1, 1), (8, 4, None, 3), (5, 2, 2, 2),
])
def test_torch_rejects_pool_padding_above_half_the_kernel(size, kernel, stride, padding):
    with pytest.raises(ValueError, match="padding"):
        cc.pool_output_size(size, kernel, stride, padding)
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        torch_pool_hw(size, size, kernel, stride, padding)


@pytest.mark.parametrize("size, kernel, padding", [(5, 6, 0), (4, 7, 1), (1, 4, 1)])
def test_torch_rejects_kernel_larger_than_padded_input(size, kernel, padding):
    with pytest.raises(ValueError, match="kernel"):
        cc.conv_output_size(size, kernel, 1, padding)
    with pytest.raises(RuntimeError):
        torch_conv_hw(size, size, kernel, 1, padding)
    if padding <= kernel // 2:
        with pytest.raises(ValueError, match="kernel"):
            cc.pool_output_size(size, kernel, 1, padding)
        with pytest.raises(RuntimeError):
            torch_pool_hw(size, size, kernel, 1, padding)


@pytest.mark.parametrize("call, which", [
    (lambda: cc.conv_params(0, 8, 3), "in_channels"),
    (lambda: cc.conv_params(3, 0, 3), "out_channels"),
    (lambda: cc.conv_params(3, 8, 0), "kernel"),
    (lambda: cc.fc_params(0, 10), "in_features"),
    (lambda: cc.fc_flops(10, -1), "out_features"),
    (lambda: cc.conv_flops(3, 8, 8, 4, 3, stride=0), "stride"),
    (lambda: cc.conv_flops(3, 8, 8, 4, 3, padding=-1), "padding"),
    (lambda: cc.pool_flops(3, 8, 8, 3, padding=2), "padding"),
    (lambda: cc.conv_flops(3, 0, 8, 4, 3), "height"),
    (lambda: cc.conv_flops(3, 8, -1, 4, 3), "width"),
    (lambda: cc.pool_flops(3, 8, 0, 2), "width"),
    (lambda: cc.memory_kb(-1), "num_elements"),
    (lambda: cc.conv_output_size(8, True), "kernel"),   # a bool is not a kernel size
])
def test_other_invalid_arguments_raise_naming_the_argument(call, which):
    with pytest.raises(ValueError, match=which):
        call()


# ------------------------------------------------------------------------------- params

@given(st.integers(1, 64), st.integers(1, 64), st.integers(1, 11), st.booleans())
def test_conv_params_match_torch(cin, cout, kernel, bias):
    conv = nn.Conv2d(cin, cout, kernel, bias=bias, device="meta")
    got = cc.conv_params(cin, cout, kernel, bias)
    assert is_plain_int(got)
    assert got == sum(p.numel() for p in conv.parameters())


@given(st.integers(1, 5000), st.integers(1, 5000), st.booleans())
def test_fc_params_match_torch(fin, fout, bias):
    fc = nn.Linear(fin, fout, bias=bias, device="meta")
    got = cc.fc_params(fin, fout, bias)
    assert is_plain_int(got)
    assert got == sum(p.numel() for p in fc.parameters())


def test_params_default_to_bias():
    assert cc.conv_params(3, 64, 11) == sum(p.numel() for p in nn.Conv2d(3, 64, 11).parameters())
    assert cc.fc_params(9216, 4096) == sum(
        p.numel() for p in nn.Linear(9216, 4096, device="meta").parameters())


# -------------------------------------------------------------------------------- FLOPs

@settings(max_examples=60)
@given(conv_layer())
@example((3, 227, 227, 64, 11, 4, 2))
@example((2, 5, 40, 3, 5, 7, 0))       # kernel equals H, stride above the kernel
def test_conv_flops_match_torch_flop_counter(layer):
    cin, height, width, cout, kernel, stride, padding = layer
    conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, device="meta")
    expected = halved_flops(conv, torch.empty(1, cin, height, width, device="meta"))
    got = cc.conv_flops(cin, height, width, cout, kernel, stride, padding)
    assert is_plain_int(got)
    assert got == expected


@settings(max_examples=60)
@given(st.integers(1, 5000), st.integers(1, 5000))
def test_fc_flops_match_torch_flop_counter(fin, fout):
    fc = nn.Linear(fin, fout, device="meta")
    got = cc.fc_flops(fin, fout)
    assert is_plain_int(got)
    assert got == halved_flops(fc, torch.empty(1, fin, device="meta"))


@given(st.integers(1, 8), pool_args(max_size=40), st.integers(1, 40))
@example(64, (55, 3, 2, 0), 55)
def test_pool_flops_are_output_elements_times_window(channels, args, other):
    size, kernel, stride, padding = args
    width = max(other, kernel - 2 * padding)
    out = nn.MaxPool2d(kernel, stride, padding)(torch.zeros(1, channels, size, width))
    got = cc.pool_flops(channels, size, width, kernel, stride, padding)
    assert is_plain_int(got)
    assert got == out.numel() * kernel * kernel


# ------------------------------------------------------------------------------- memory

@given(st.lists(st.integers(0, 300), min_size=1, max_size=3))
def test_memory_kb_is_float32_bytes_over_1024(shape):
    t = torch.empty(shape, dtype=torch.float32, device="meta")
    got = cc.memory_kb(t.numel())
    assert type(got) is float
    assert got == t.numel() * t.element_size() / 1024


def test_memory_kb_of_alexnet_conv1_output():
    out = torch.empty(64, 56, 56)  # batch 1, float32
    assert cc.memory_kb(out.numel()) == 784.0 == out.numel() * out.element_size() / 1024


# ---------------------------------------------------------------------------- cost_table

def torch_cost_rows(input_shape, layers):
    """The table measured on torch layers built from the layer dicts (meta tensors): shapes
    from a forward pass, params from numel, FLOPs from FlopCounterMode (halved), pooling
    as output elements x window, memory from the output tensor's bytes."""
    x = torch.empty((1, *input_shape), device="meta")
    rows = []
    for layer in layers:
        kind = layer["type"]
        if kind == "conv":
            module = nn.Conv2d(x.shape[1], layer["out_channels"], layer["kernel"],
                               stride=layer.get("stride", 1), padding=layer.get("padding", 0),
                               bias=layer.get("bias", True), device="meta")
            flops = halved_flops(module, x)
        elif kind == "pool":
            module = nn.MaxPool2d(layer["kernel"], layer.get("stride"), layer.get("padding", 0))
            flops = None
        elif kind == "flatten":
            module, flops = nn.Flatten(0), 0  # batch 1: flatten everything
        elif kind == "fc":
            if x.dim() > 1:
                x = x.reshape(-1)
            module = nn.Linear(x.shape[0], layer["out_features"], bias=layer.get("bias", True),
                               device="meta")
            flops = halved_flops(module, x)
        else:
            raise AssertionError(kind)
        x = module(x)
        if kind == "pool":
            flops = x.numel() * layer["kernel"] ** 2
        shape = tuple(x.shape[1:]) if x.dim() == 4 else tuple(x.shape)
        rows.append({
            "type": kind,
            "output_shape": shape,
            "memory_kb": x.numel() * x.element_size() / 1024,
            "params": sum(p.numel() for p in module.parameters()),
            "flops": flops,
        })
    return rows


WORKED_EXAMPLES = {
    "lenet5": (networks.LENET5_INPUT, networks.LENET5_LAYERS),
    "alexnet": (networks.ALEXNET_INPUT, networks.ALEXNET_LAYERS),
    "vgg16": (networks.VGG16_INPUT, networks.VGG16_LAYERS),
}


@pytest.mark.parametrize("model", WORKED_EXAMPLES)
def test_cost_table_matches_torch_layers(model):
    input_shape, layers = WORKED_EXAMPLES[model]
    table = cc.cost_table(input_shape, layers)
    expected = torch_cost_rows(input_shape, layers)
    assert len(table) == len(layers)
    for row, want, layer in zip(table, expected, layers):
        assert row["name"] == layer["name"]
        assert {k: row[k] for k in want} == want, row["name"]
        assert type(row["output_shape"]) is tuple
        assert all(type(row[k]) is int for k in ("params", "flops"))
        assert type(row["memory_kb"]) is float


def test_cost_table_lenet5_runs_a_real_forward():
    table = cc.cost_table(networks.LENET5_INPUT, networks.LENET5_LAYERS)
    net = nn.Sequential(nn.Conv2d(1, 20, 5, padding=2), nn.MaxPool2d(2, 2),
                        nn.Conv2d(20, 50, 5, padding=2), nn.MaxPool2d(2, 2),
                        nn.Flatten(), nn.Linear(2450, 500), nn.Linear(500, 10))
    x = torch.zeros(1, *networks.LENET5_INPUT)
    for module, row in zip(net, table):
        x = module(x)
        assert row["output_shape"] == tuple(x.shape[1:])
        assert row["params"] == sum(p.numel() for p in module.parameters())
    assert sum(r["params"] for r in table) == sum(p.numel() for p in net.parameters())


def test_alexnet_table_matches_lecture_figures():
    conv1 = cc.cost_table(networks.ALEXNET_INPUT, networks.ALEXNET_LAYERS)[0]
    assert networks.ALEXNET_INPUT == (3, 227, 227)
    assert conv1["output_shape"] == (64, 56, 56)
    assert conv1["memory_kb"] == 784.0
    assert conv1["params"] == 23_296
    assert conv1["flops"] == 72_855_552
    assert round(conv1["flops"] / 1e6, 1) == 72.9


def test_alexnet_table_total_params_equal_torchvision_alexnet():
    # At 227 input pool5 is 256 x 6 x 6, so fc6 sees torchvision's 9216 features and the
    # table's total equals torchvision's published AlexNet count.
    table = cc.cost_table(networks.ALEXNET_INPUT, networks.ALEXNET_LAYERS)
    assert table[7]["output_shape"] == (256, 6, 6)
    assert sum(r["params"] for r in table) == 61_100_840


def test_vgg16_table_total_params_equal_published_figure():
    table = cc.cost_table(networks.VGG16_INPUT, networks.VGG16_LAYERS)
    assert sum(r["params"] for r in table) == 138_357_544
    assert table[-4]["output_shape"] == (25_088,)  # flatten of 512 x 7 x 7
    # VGG-16's widely quoted ~15.5 G multiply-adds
    assert round(sum(r["flops"] for r in table) / 1e9, 1) == 15.5


@st.composite
def layer_stacks(draw):
    """A random (C, H, W) input and up to 6 layers that torch accepts in sequence (checked
    by torch itself on meta tensors), with an fc head half of the time."""
    shape = (draw(st.integers(1, 8)), draw(st.integers(1, 40)), draw(st.integers(1, 40)))
    x, layers = torch.empty((1, *shape), device="meta"), []
    for _ in range(draw(st.integers(1, 5))):
        kernel = draw(st.integers(1, 7))
        if draw(st.booleans()):
            layer = {"type": "conv", "out_channels": draw(st.integers(1, 16)),
                     "kernel": kernel, "stride": draw(st.integers(1, 4)),
                     "padding": draw(st.integers(0, 3)), "bias": draw(st.booleans())}
            module = nn.Conv2d(x.shape[1], layer["out_channels"], kernel, layer["stride"],
                               layer["padding"], device="meta")
        else:
            layer = {"type": "pool", "kernel": kernel, "padding": draw(st.integers(0, kernel // 2))}
            if draw(st.booleans()):
                layer["stride"] = draw(st.integers(1, 4))
            module = nn.MaxPool2d(kernel, layer.get("stride"), layer["padding"])
        try:
            x = module(x)
        except RuntimeError:
            break  # torch rejects this layer here: the stack ends before it
        layers.append(layer)
    if draw(st.booleans()):
        if draw(st.booleans()):
            layers.append({"type": "flatten"})
        layers.append({"type": "fc", "out_features": draw(st.integers(1, 20)),
                       "bias": draw(st.booleans())})
    return shape, layers


@settings(max_examples=60)
@given(layer_stacks())
def test_cost_table_of_random_stacks_matches_torch(case):
    input_shape, layers = case
    table = cc.cost_table(input_shape, layers)
    for row, want in zip(table, torch_cost_rows(input_shape, layers), strict=True):
        assert {k: row[k] for k in want} == want


@pytest.mark.parametrize("layer", [{"type": "relu"}, {"type": "Conv"}, {"name": "x"}])
def test_cost_table_unknown_layer_type_raises(layer):
    with pytest.raises(ValueError, match="type"):
        cc.cost_table((3, 8, 8), [layer])


def test_cost_table_does_not_mutate_layers():
    layers = [dict(layer) for layer in networks.ALEXNET_LAYERS]
    cc.cost_table(networks.ALEXNET_INPUT, layers)
    assert layers == networks.ALEXNET_LAYERS
