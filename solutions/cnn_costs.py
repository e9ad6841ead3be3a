"""The lecture's cost formulas for conv, pool and fully connected layers, written once.

Everything in the project that needs a shape, a memory figure, a parameter count or a FLOP
count (the autograder, the quizzes, `cnnlab costs`, the mistake catalogue) calls these.

Conventions (the lecture's, see shared/contract.md): floor in output sizes; memory is the
output's elements x 4 bytes at batch 1, in KB = bytes / 1024; FLOPs count multiply-adds.

The lecture's worked examples in cost_table's layer format (`LENET5_LAYERS`, `ALEXNET_LAYERS`,
`VGG16_LAYERS`) are in solutions.networks, derived from the networks' tables. This module
imports nothing of the project's: its source runs as a notebook cell (the hostile catalogue,
the sandbox tests), as a student's does.
"""
from __future__ import annotations

from types import SimpleNamespace

BYTES_PER_ELEMENT = 4  # float32
LAYER_TYPES = ("conv", "pool", "flatten", "fc")


def _require_int(name: str, value, minimum: int) -> None:
    # bool is an int subclass; True as a kernel size is a bug, not a 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _check_window(size: int, kernel: int, stride: int, padding: int) -> None:
    _require_int("size", size, 1)
    _require_int("kernel", kernel, 1)
    _require_int("stride", stride, 1)
    _require_int("padding", padding, 0)
    if kernel > size + 2 * padding:
        raise ValueError(
            f"kernel {kernel} is larger than the padded input {size} + 2*{padding}"
        )


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """W' = floor((W - K + 2P) / S) + 1."""
    _check_window(size, kernel, stride, padding)
    return (size - kernel + 2 * padding) // stride + 1


def pool_output_size(size: int, kernel: int, stride: int | None = None, padding: int = 0) -> int:
    """Same formula as a conv; stride=None means stride=kernel, as in torch."""
    if stride is None:
        stride = kernel
    _check_window(size, kernel, stride, padding)
    if padding > kernel // 2:
        # torch.nn.MaxPool2d rejects this too: a window could then hold padding only.
        raise ValueError(f"padding {padding} must be at most kernel // 2 = {kernel // 2}")
    return (size - kernel + 2 * padding) // stride + 1


def conv_params(in_channels: int, out_channels: int, kernel: int, bias: bool = True) -> int:
    """Cout * Cin * K * K weights, plus Cout biases."""
    _require_int("in_channels", in_channels, 1)
    _require_int("out_channels", out_channels, 1)
    _require_int("kernel", kernel, 1)
    return out_channels * in_channels * kernel * kernel + (out_channels if bias else 0)


def conv_flops(in_channels: int, height: int, width: int, out_channels: int, kernel: int,
               stride: int = 1, padding: int = 0) -> int:
    """(Cout * H' * W') output elements, each (Cin * K * K) multiply-adds."""
    _require_int("in_channels", in_channels, 1)
    _require_int("out_channels", out_channels, 1)
    _require_int("height", height, 1)  # else the message would name conv_output_size's "size"
    _require_int("width", width, 1)
    out_h = conv_output_size(height, kernel, stride, padding)
    out_w = conv_output_size(width, kernel, stride, padding)
    return (out_channels * out_h * out_w) * (in_channels * kernel * kernel)


def pool_flops(channels: int, height: int, width: int, kernel: int,
               stride: int | None = None, padding: int = 0) -> int:
    """(C * H' * W') output elements, each looking at K * K inputs."""
    _require_int("channels", channels, 1)
    _require_int("height", height, 1)
    _require_int("width", width, 1)
    out_h = pool_output_size(height, kernel, stride, padding)
    out_w = pool_output_size(width, kernel, stride, padding)
    return (channels * out_h * out_w) * (kernel * kernel)


def fc_params(in_features: int, out_features: int, bias: bool = True) -> int:
    _require_int("in_features", in_features, 1)
    _require_int("out_features", out_features, 1)
    return in_features * out_features + (out_features if bias else 0)


def fc_flops(in_features: int, out_features: int) -> int:
    _require_int("in_features", in_features, 1)
    _require_int("out_features", out_features, 1)
    return in_features * out_features


def memory_kb(num_elements: int) -> float:
    """KB of a float32 tensor: elements x 4 bytes / 1024."""
    _require_int("num_elements", num_elements, 0)
    return num_elements * BYTES_PER_ELEMENT / 1024


# The formulas cost_table is built from. The mistake catalogue swaps one of them for a
# student's wrong version to predict what a whole wrong table looks like.
FORMULAS = SimpleNamespace(
    conv_output_size=conv_output_size, pool_output_size=pool_output_size,
    conv_params=conv_params, conv_flops=conv_flops, pool_flops=pool_flops,
    fc_params=fc_params, fc_flops=fc_flops, memory_kb=memory_kb,
)


def _numel(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def layer_costs(shape: tuple, layer: dict, f=FORMULAS) -> tuple[tuple, int, int]:
    """(output_shape, params, flops) of one layer given its input shape."""
    kind = layer.get("type")
    if kind == "conv":
        if len(shape) != 3:
            raise ValueError(f"conv needs a (C, H, W) input, got shape {shape}")
        c, h, w = shape
        k, s, p = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
        cout, bias = layer["out_channels"], layer.get("bias", True)
        out = (cout, f.conv_output_size(h, k, s, p), f.conv_output_size(w, k, s, p))
        return out, f.conv_params(c, cout, k, bias), f.conv_flops(c, h, w, cout, k, s, p)
    if kind == "pool":
        if len(shape) != 3:
            raise ValueError(f"pool needs a (C, H, W) input, got shape {shape}")
        c, h, w = shape
        k, s, p = layer["kernel"], layer.get("stride"), layer.get("padding", 0)
        out = (c, f.pool_output_size(h, k, s, p), f.pool_output_size(w, k, s, p))
        return out, 0, f.pool_flops(c, h, w, k, s, p)
    if kind == "flatten":
        return (_numel(shape),), 0, 0
    if kind == "fc":
        # An fc straight after a (C, H, W) output flattens it implicitly, as the lecture's
        # AlexNet table does between pool5 and fc6.
        cin, cout = _numel(shape), layer["out_features"]
        return (cout,), f.fc_params(cin, cout, layer.get("bias", True)), f.fc_flops(cin, cout)
    raise ValueError(f"layer type must be one of {', '.join(LAYER_TYPES)}; got {kind!r}")


def cost_table_with(f, input_shape: tuple, layers: list[dict]) -> list[dict]:
    """cost_table computed with the formulas in namespace `f`."""
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {input_shape!r}")
    rows, counts = [], {}
    for layer in layers:
        kind = layer.get("type")
        counts[kind] = counts.get(kind, 0) + 1
        shape, params, flops = layer_costs(shape, layer, f)
        rows.append({
            "name": layer.get("name", f"{kind}{counts[kind]}"),
            "type": kind,
            "output_shape": tuple(shape),
            "memory_kb": f.memory_kb(_numel(shape)),
            "params": params,
            "flops": flops,
        })
    return rows


def cost_table(input_shape: tuple, layers: list[dict]) -> list[dict]:
    """One row per layer: name, type, output_shape, memory_kb, params, flops."""
    # The formulas as they are bound when called, as a student's own table finds them: in
    # the master notebook, where this runs as a cell, the public tests' hints swap a
    # mistaken formula in and the table must follow it. Here they are FORMULAS's.
    formulas = SimpleNamespace(**{name: globals()[name] for name in vars(FORMULAS)})
    return cost_table_with(formulas, input_shape, layers)

