"""The catalogued mistakes in `solutions/cnn_costs.py`.

Formula mistakes: each a wrong version of one function of `solutions.cnn_costs`, with the
same signature. The cost checks name the one whose wrong value matches a student's answer
(quoting its description), the quizzes take their distractors from them and name them in
`quiz grade`, and `cnnlab mutants` swaps each into the reference (and into cost_table, in
solutions/mistakes/formulas.py's consistent way). Source mistakes: the table's own slips,
edits of the reference's source (solutions/mistakes/edits.py)."""
from __future__ import annotations

from solutions import cnn_costs
from solutions.mistakes.mistake import Mistake

ASSIGNMENT = "cnn_costs"


def _formula(id, target, description, wrong) -> Mistake:
    return Mistake(id, ASSIGNMENT, target, description, wrong=wrong)


def _m(id, question, description, *edits, phrase=None, needs=None) -> Mistake:
    return Mistake(id, ASSIGNMENT, question, description, edits=edits, phrase=phrase,
                   needs=needs)


def _size(numerator_fn):
    """A wrong output-size formula, given how it combines (size, kernel, stride, padding)."""
    def conv(size, kernel, stride=1, padding=0):
        return numerator_fn(size, kernel, stride, padding)

    def pool(size, kernel, stride=None, padding=0):
        return numerator_fn(size, kernel, kernel if stride is None else stride, padding)
    return conv, pool


_no_plus_one = _size(lambda w, k, s, p: (w - k + 2 * p) // s)
_one_side_pad = _size(lambda w, k, s, p: (w - k + p) // s + 1)
_ceil = _size(lambda w, k, s, p: -(-(w - k + 2 * p) // s) + 1)
_true_div = _size(lambda w, k, s, p: (w - k + 2 * p) / s + 1)
_no_stride = _size(lambda w, k, s, p: w - k + 2 * p + 1)
_no_padding = _size(lambda w, k, s, p: (w - k) // s + 1)


def _pool_stride_one(size, kernel, stride=None, padding=0):
    return (size - kernel + 2 * padding) // (1 if stride is None else stride) + 1


FORMULA_MISTAKES: list[Mistake] = [
    # output sizes
    _formula("size_no_plus_one", "conv_output_size",
             "forgot the +1 in floor((W - K + 2P) / S) + 1", _no_plus_one[0]),
    _formula("size_one_side_padding", "conv_output_size",
             "added the padding once instead of on both sides (2P)", _one_side_pad[0]),
    _formula("size_ceil", "conv_output_size",
             "rounded the division up instead of taking the floor", _ceil[0]),
    _formula("size_true_division", "conv_output_size",
             "used / instead of floor division, giving a float", _true_div[0]),
    _formula("size_ignores_stride", "conv_output_size",
             "did not divide by the stride", _no_stride[0]),
    _formula("size_ignores_padding", "conv_output_size",
             "left the padding out of the output size (W - K + 2P)", _no_padding[0]),
    _formula("pool_size_no_plus_one", "pool_output_size",
             "forgot the +1 in the pooling output size", _no_plus_one[1]),
    _formula("pool_stride_default_one", "pool_output_size",
             "took stride=None as stride 1; torch's default stride is the kernel size",
             _pool_stride_one),
    _formula("pool_size_ceil", "pool_output_size",
             "rounded the pooling division up instead of taking the floor", _ceil[1]),
    _formula("pool_size_ignores_padding", "pool_output_size",
             "left the padding out of the pooling output size (W - K + 2P)",
             _no_padding[1]),
    # parameters
    _formula("conv_params_no_bias", "conv_params",
             "forgot the Cout bias terms",
             lambda in_channels, out_channels, kernel, bias=True:
             out_channels * in_channels * kernel * kernel),
    _formula("conv_params_ignores_bias_flag", "conv_params",
             "counted the bias even with bias=False",
             lambda in_channels, out_channels, kernel, bias=True:
             out_channels * in_channels * kernel * kernel + out_channels),
    _formula("conv_params_no_cin", "conv_params",
             "forgot that each filter spans all Cin input channels",
             lambda in_channels, out_channels, kernel, bias=True:
             out_channels * kernel * kernel + (out_channels if bias else 0)),
    _formula("conv_params_kernel_not_squared", "conv_params",
             "used K instead of K*K for the kernel's area",
             lambda in_channels, out_channels, kernel, bias=True:
             out_channels * in_channels * kernel + (out_channels if bias else 0)),
    _formula("conv_params_bias_per_input", "conv_params",
             "counted one bias per input channel (Cin) instead of per filter (Cout)",
             lambda in_channels, out_channels, kernel, bias=True:
             out_channels * in_channels * kernel * kernel + (in_channels if bias else 0)),
    _formula("fc_params_no_bias", "fc_params",
             "forgot the bias of the fully connected layer",
             lambda in_features, out_features, bias=True: in_features * out_features),
    _formula("fc_params_ignores_bias_flag", "fc_params",
             "counted the bias even with bias=False",
             lambda in_features, out_features, bias=True:
             in_features * out_features + out_features),
    # FLOPs
    _formula("conv_flops_input_size", "conv_flops",
             "multiplied by the input's H x W instead of the output's H' x W'",
             lambda in_channels, height, width, out_channels, kernel, stride=1, padding=0:
             out_channels * height * width * in_channels * kernel * kernel),
    _formula("conv_flops_no_cin", "conv_flops",
             "forgot that each output element sums over all Cin channels",
             lambda in_channels, height, width, out_channels, kernel, stride=1, padding=0:
             out_channels * cnn_costs.conv_output_size(height, kernel, stride, padding)
             * cnn_costs.conv_output_size(width, kernel, stride, padding)
             * kernel * kernel),
    _formula("conv_flops_mul_and_add", "conv_flops",
             "counted a multiply and an add as 2 FLOPs; the lecture counts 1",
             lambda *a, **kw: 2 * cnn_costs.conv_flops(*a, **kw)),
    _formula("conv_flops_with_bias", "conv_flops",
             "added the bias to the FLOPs (Cin*K*K + 1 per output element); the lecture "
             "counts the Cin*K*K multiply-adds only",
             lambda in_channels, height, width, out_channels, kernel, stride=1, padding=0:
             out_channels * cnn_costs.conv_output_size(height, kernel, stride, padding)
             * cnn_costs.conv_output_size(width, kernel, stride, padding)
             * (in_channels * kernel * kernel + 1)),
    _formula("conv_flops_unrounded_size", "conv_flops",
             "computed H' and W' with / instead of floor division, so the FLOPs use an "
             "unrounded output size: take floor((W - K + 2P) / S) + 1 (reuse "
             "conv_output_size)",
             lambda in_channels, height, width, out_channels, kernel, stride=1, padding=0:
             out_channels * _true_div[0](height, kernel, stride, padding)
             * _true_div[0](width, kernel, stride, padding) * in_channels * kernel * kernel),
    _formula("pool_flops_no_window", "pool_flops",
             "forgot the K*K inputs each pooling output looks at",
             lambda channels, height, width, kernel, stride=None, padding=0:
             channels * cnn_costs.pool_output_size(height, kernel, stride, padding)
             * cnn_costs.pool_output_size(width, kernel, stride, padding)),
    _formula("pool_flops_zero", "pool_flops",
             "counted pooling as free; the lecture counts (C*H'*W') * (K*K)",
             lambda *a, **kw: 0),
    _formula("pool_flops_unrounded_size", "pool_flops",
             "computed H' and W' with / instead of floor division, so the FLOPs use an "
             "unrounded output size: take floor((W - K + 2P) / S) + 1 (reuse "
             "pool_output_size)",
             lambda channels, height, width, kernel, stride=None, padding=0:
             channels * _true_div[1](height, kernel, stride, padding)
             * _true_div[1](width, kernel, stride, padding) * kernel * kernel),
    _formula("fc_flops_with_bias", "fc_flops",
             "added the bias to the FLOPs; the lecture counts Cin*Cout multiply-adds",
             lambda in_features, out_features: in_features * out_features + out_features),
    _formula("fc_flops_mul_and_add", "fc_flops",
             "counted a multiply and an add as 2 FLOPs; the lecture counts 1",
             lambda in_features, out_features: 2 * in_features * out_features),
    # memory
    _formula("memory_bytes", "memory_kb",
             "gave bytes, not KB: divide elements x 4 bytes by 1024",
             lambda num_elements: num_elements * 4),
    _formula("memory_kb_1000", "memory_kb",
             "divided by 1000; the lecture's KB is 1024 bytes",
             lambda num_elements: num_elements * 4 / 1000),
    _formula("memory_no_bytes_per_element", "memory_kb",
             "forgot the 4 bytes of each float32 element",
             lambda num_elements: num_elements / 1024),
    _formula("memory_mb", "memory_kb",
             "gave MB (divided by 1024 twice), not KB",
             lambda num_elements: num_elements * 4 / 1024 / 1024),
]

# Found by review, and (pool_stride_or_kernel, the conv bias flag) for promises of the
# contract (autograder/promises.py): cost_table slips the formula mistakes cannot express.
SOURCE_MISTAKES: list[Mistake] = [
    _m("table_fc_no_implicit_flatten", "cost_table",
       "cost_table feeds an fc right after a (C, H, W) output with C inputs instead of C*H*W",
       ('cin, cout = _numel(shape), layer["out_features"]',
        'cin, cout = shape[0], layer["out_features"]')),
    _m("table_accepts_unknown_type", "cost_table",
       "cost_table gives an unknown layer type an empty row instead of raising ValueError",
       ('raise ValueError(f"layer type must be one of {\', \'.join(LAYER_TYPES)}; got '
        '{kind!r}")',
        "return shape, 0, 0")),
    _m("table_ignores_fc_bias_flag", "cost_table",
       "cost_table does not pass an fc layer's bias flag",
       ('f.fc_params(cin, cout, layer.get("bias", True))',
        "f.fc_params(cin, cout)")),
    _m("table_pool_stride_default_1", "cost_table",
       "cost_table reads a pool's missing stride as 1",
       ('layer["kernel"], layer.get("stride"), layer.get("padding", 0)',
        'layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)')),
    _m("pool_stride_or_kernel", "pool_output_size",
       "pool_output_size reads its default with `stride = stride or kernel`, so a stride "
       "of 0 is taken for None instead of raising ValueError",
       ("    if stride is None:\n"
        "        stride = kernel\n"
        "    _check_window",
        "    stride = stride or kernel\n"
        "    _check_window")),
    _m("table_ignores_conv_bias_flag", "cost_table",
       "cost_table does not pass a conv layer's bias flag",
       ("f.conv_params(c, cout, k, bias)",
        "f.conv_params(c, cout, k)")),
]

MISTAKES: list[Mistake] = FORMULA_MISTAKES + SOURCE_MISTAKES
