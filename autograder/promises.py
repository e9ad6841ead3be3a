"""Every promise of shared/contract.md (and of docs/contract_notes.md, where it reads the
contract), as data: the contract's words, the hidden checks that fail when the promise is
broken, and the catalogued mutants that break it (issue 17: every promise is a check).

A promise is covered when
- `checks` names at least one check of autograder/checks/<assignment>.py (a function in
  its QUESTIONS) that fails on an implementation breaking this promise and keeping every
  other one; for cnn_costs, tests/test_promises.py runs this module's breaker of each
  promise (BREAKERS, below) against the checks, and the failing checks must be exactly the
  ones listed here; for the torch assignments the list is the checks that fail on the
  listed mutants and on a hand-made breaker, read from the checks' code and confirmed by
  running them;
- and `mutants` names at least one mutant (an id of mistakes.CATALOGUE, of
  mutants.SOURCE_MUTANTS or of mutants.REPLACEMENT_MUTANTS; SELF stands for the promise's
  own breaker, catalogued under the promise's id) whose mistake *is* a breach of this
  promise, so that `cnnlab mutants` proves the check does catch it. A mutant that breaks a
  promise only on the side is not listed: the formula mistakes of mistakes.CATALOGUE check
  no arguments at all (so each also breaks its function's ranges), and a mutant in one
  place breaks the totals downstream (a Bottleneck with expansion 2 changes ResNet-50's
  parameter count); the catch of such a mutant proves the other promise's check, not this
  one's;
- or `lenient` says why the promise is deliberately not enforced (and docs/contract_notes.md,
  "Promises and leniencies", has its line).

Anything else is a gap, and tests/test_promises.py fails on it.

A range promise is about the first value past the range ("just outside": stride 0, padding
-1, a kernel one larger than the padded input), broken alone: the implementation forgets
that one rule, or gets its boundary wrong, and keeps the others.
"""
from __future__ import annotations

import inspect as _inspect
from dataclasses import dataclass
from typing import Callable as _Callable

from autograder import registry
from solutions import cnn_costs as _ref
from solutions import networks as _networks

COSTS = "cnn_costs"
ARCH = "cnn_architectures"
SOFT = "softmax_backprop"
ASSIGNMENTS = tuple(registry.master_notebooks())  # what the promises must cover

KINDS = {
    "value": "a result's value (a formula, a layout, an SGD step)",
    "return_type": "the type or form of what a function returns",
    "range": "an argument out of range raises ValueError",
    "error_message": "what the ValueError's message says",
    "default": "an argument's default value",
    "row_field": "a cost_table row's field: present, with the right value",
    "row_field_type": "the type of a cost_table row's field",
    "order": "the order of results",
    "shape": "a tensor's shape",
    "dtype": "the dtypes a function accepts",
    "device": "where a function runs",
    "must_not": "what student code must not do (autograd, changing its arguments)",
    "naming": "module and attribute names",
    "structure": "state_dict keys and tensor shapes, torchvision's",
    "outputs": "eval-mode outputs with the reference's weights loaded",
    "param_count": "a model's parameter count",
    "permission": "what the contract allows and the checks must not refuse",
    "dependency": "what the project itself depends on",
}


@dataclass(frozen=True)
class Promise:
    id: str               # unique: "<function>.<aspect>"
    assignment: str
    function: str         # the contract's name for it, as its tables write it
    text: str             # the contract's words, short
    kind: str             # a key of KINDS
    checks: tuple[str, ...] = ()   # check functions that fail when it alone is broken
    mutants: tuple[str, ...] = ()  # mutant ids whose mistake is a breach of it
    lenient: str | None = None     # why it is deliberately not enforced

    @property
    def covered(self) -> bool:
        return self.lenient is not None or bool(self.checks and self.mutants)


# Among a promise's `mutants`: its own breaker (BREAKERS[id] below, the reference with that
# promise alone broken), catalogued as a mutant whose id is the promise's id.
SELF = "<its breaker>"


def _promises(assignment: str, rows: list[tuple]) -> list[Promise]:
    """(id, function, kind, text, checks, mutants[, lenient]) rows of one assignment."""
    return [Promise(r[0], assignment, r[1], r[3], r[2], tuple(r[4]),
                    tuple(r[0] if m == SELF else m for m in r[5]),
                    r[6] if len(r) > 6 else None) for r in rows]


# --- cnn_costs ---------------------------------------------------------------------------------

def _range_rows(function: str, errors_check: str, ranges: list[tuple]):
    """Range promises: (argument or rule, the contract's words[, mutants]); each is called
    just outside, with nothing else wrong, by the function's errors check."""
    return [(f"{function}.range_{r[0]}", function, "range", f"{r[1]} raises ValueError",
             (errors_check,), r[2] if len(r) > 2 else (SELF,)) for r in ranges]


def _common_rows(function: str, errors_check: str, value_checks: tuple[str, ...],
                 returns: str = "int"):
    rows = [(f"{function}.error_names_argument", function, "error_message",
             "the ValueError's message names the offending argument (its name or the "
             "student's own words for it: contract_notes)", (errors_check,), (SELF,))]
    if returns == "int":
        rows.append((f"{function}.returns_int", function, "return_type",
                     "the result is a plain int (all results are plain int except "
                     "memory_kb)", value_checks, (SELF,)))
    return rows


_CONV_SIZE = ("check_conv_output_size_lecture", "check_conv_output_size_random")
_POOL_SIZE = ("check_pool_output_size_lecture", "check_pool_output_size_random")
_CONV_PARAMS = ("check_conv_params_values", "check_conv_params_no_bias")
_CONV_FLOPS = ("check_conv_flops_lecture", "check_conv_flops_random")
_POOL_FLOPS = ("check_pool_flops_lecture", "check_pool_flops_random")
_FC_PARAMS = ("check_fc_params_values", "check_fc_params_no_bias")
_TABLES = ("check_cost_table_lenet", "check_cost_table_alexnet_vgg16",
           "check_cost_table_random")
# The contract's list of ranges names kernel, stride, padding and the fit; the counts it
# leaves implied (contract_notes, "Promises and leniencies": promised >= 1, as torch has it).
_SIZE_IMPLIED = "(an argument out of range; contract_notes: promised >= 1)"
# A formula mistake repeated in a whole table (autograder/mutants.py: "table_" + its id).
_TABLE_SIZE = ("table_size_no_plus_one", "table_size_ceil", "table_pool_stride_default_one")

COST_PROMISES = _promises(COSTS, [
    # conv_output_size(size, kernel, stride=1, padding=0)
    ("conv_output_size.value", "conv_output_size", "value",
     "output size along one dimension, W' = floor((W - K + 2P) / S) + 1", _CONV_SIZE,
     ("size_no_plus_one", "size_one_side_padding", "size_ceil", "size_true_division",
      "size_ignores_stride", "size_ignores_padding")),
    ("conv_output_size.floor", "conv_output_size", "value",
     "floor, not truncation toward zero: a kernel past the padded input is an error, never "
     "an output of 1", ("check_conv_output_size_errors",), (SELF,)),
    ("conv_output_size.default_stride", "conv_output_size", "default", "stride=1",
     ("check_conv_output_size_lecture",), (SELF,)),
    ("conv_output_size.default_padding", "conv_output_size", "default", "padding=0",
     ("check_conv_output_size_lecture",), (SELF,)),
    *_range_rows("conv_output_size", "check_conv_output_size_errors", [
        ("size", f"size < 1 {_SIZE_IMPLIED}"),
        ("kernel", "kernel < 1"),
        ("stride", "stride < 1"),
        ("padding", "padding < 0"),
        ("fit", "a kernel larger than the padded input (size + 2 * padding)"),
    ]),
    *_common_rows("conv_output_size", "check_conv_output_size_errors", _CONV_SIZE),

    # pool_output_size(size, kernel, stride=None, padding=0)
    ("pool_output_size.value", "pool_output_size", "value",
     "the same output size, floor((W - K + 2P) / S) + 1", _POOL_SIZE,
     ("pool_size_no_plus_one", "pool_size_ceil", "pool_size_ignores_padding")),
    ("pool_output_size.floor", "pool_output_size", "value",
     "floor, not truncation toward zero: a kernel past the padded input is an error",
     ("check_pool_output_size_errors",), (SELF,)),
    ("pool_output_size.default_stride", "pool_output_size", "default", "stride=None",
     ("check_pool_output_size_lecture",), (SELF,)),
    ("pool_output_size.stride_none_is_kernel", "pool_output_size", "value",
     "stride=None means stride=kernel, as in torch", _POOL_SIZE, ("pool_stride_default_one",)),
    ("pool_output_size.default_padding", "pool_output_size", "default", "padding=0",
     ("check_pool_output_size_lecture",), (SELF,)),
    *_range_rows("pool_output_size", "check_pool_output_size_errors", [
        ("size", f"size < 1 {_SIZE_IMPLIED}"),
        ("kernel", "kernel < 1"),
        ("stride", "stride < 1 (a stride of 0 is not None: it is out of range)",
         ("pool_stride_or_kernel",)),
        ("padding", "padding < 0"),
        ("fit", "a kernel larger than the padded input"),
        ("pool_padding", "for pooling, padding > kernel // 2, which torch rejects too"),
    ]),
    *_common_rows("pool_output_size", "check_pool_output_size_errors", _POOL_SIZE),

    # conv_params(in_channels, out_channels, kernel, bias=True)
    ("conv_params.value", "conv_params", "value", "parameter count Cout*Cin*K*K + Cout",
     _CONV_PARAMS, ("conv_params_no_bias", "conv_params_no_cin",
                    "conv_params_kernel_not_squared", "conv_params_bias_per_input")),
    ("conv_params.bias_flag", "conv_params", "value", "the + Cout only with bias",
     ("check_conv_params_no_bias",), ("conv_params_ignores_bias_flag",)),
    ("conv_params.default_bias", "conv_params", "default", "bias=True",
     ("check_conv_params_values",), (SELF,)),
    *_range_rows("conv_params", "check_conv_params_errors", [
        ("in_channels", f"in_channels < 1 {_SIZE_IMPLIED}"),
        ("out_channels", f"out_channels < 1 {_SIZE_IMPLIED}"),
        ("kernel", "kernel < 1"),
    ]),
    *_common_rows("conv_params", "check_conv_params_errors", _CONV_PARAMS),

    # conv_flops(in_channels, height, width, out_channels, kernel, stride=1, padding=0)
    ("conv_flops.value", "conv_flops", "value",
     "FLOPs (Cout*H'*W') * (Cin*K*K), one multiply-add counted as one FLOP", _CONV_FLOPS,
     ("conv_flops_input_size", "conv_flops_no_cin", "conv_flops_mul_and_add")),
    ("conv_flops.separate_h_w", "conv_flops", "value",
     "H' from height and W' from width, each by the output-size formula", _CONV_FLOPS,
     (SELF,)),
    ("conv_flops.default_stride", "conv_flops", "default", "stride=1",
     ("check_conv_flops_lecture",), (SELF,)),
    ("conv_flops.default_padding", "conv_flops", "default", "padding=0",
     ("check_conv_flops_lecture",), (SELF,)),
    *_range_rows("conv_flops", "check_conv_flops_errors", [
        ("in_channels", f"in_channels < 1 {_SIZE_IMPLIED}"),
        ("out_channels", f"out_channels < 1 {_SIZE_IMPLIED}"),
        ("height", f"height < 1 {_SIZE_IMPLIED}"),
        ("width", f"width < 1 {_SIZE_IMPLIED}"),
        ("kernel", "kernel < 1"),
        ("stride", "stride < 1"),
        ("padding", "padding < 0"),
        ("fit", "a kernel larger than the padded height or width"),
    ]),
    *_common_rows("conv_flops", "check_conv_flops_errors", _CONV_FLOPS),

    # pool_flops(channels, height, width, kernel, stride=None, padding=0)
    ("pool_flops.value", "pool_flops", "value", "FLOPs (C*H'*W') * (K*K)", _POOL_FLOPS,
     ("pool_flops_no_window", "pool_flops_zero")),
    ("pool_flops.separate_h_w", "pool_flops", "value",
     "H' from height and W' from width, each by the output-size formula", _POOL_FLOPS,
     (SELF,)),
    ("pool_flops.default_stride", "pool_flops", "default", "stride=None",
     ("check_pool_flops_lecture",), (SELF,)),
    ("pool_flops.stride_none_is_kernel", "pool_flops", "value",
     "stride=None means stride=kernel, as in torch", _POOL_FLOPS, (SELF,)),
    ("pool_flops.default_padding", "pool_flops", "default", "padding=0",
     ("check_pool_flops_lecture", "check_pool_flops_errors"), (SELF,)),
    *_range_rows("pool_flops", "check_pool_flops_errors", [
        ("channels", f"channels < 1 {_SIZE_IMPLIED}"),
        ("height", f"height < 1 {_SIZE_IMPLIED}"),
        ("width", f"width < 1 {_SIZE_IMPLIED}"),
        ("kernel", "kernel < 1 (with an explicit stride)"),
        ("stride", "stride < 1 (a stride of 0 is not None: it is out of range)",
         ("pool_stride_or_kernel",)),
        ("padding", "padding < 0"),
        ("fit", "a kernel larger than the padded height or width"),
        ("pool_padding", "for pooling, padding > kernel // 2, which torch rejects too"),
    ]),
    *_common_rows("pool_flops", "check_pool_flops_errors", _POOL_FLOPS),

    # fc_params(in_features, out_features, bias=True), fc_flops(in_features, out_features)
    ("fc_params.value", "fc_params", "value", "parameter count Cin*Cout + Cout", _FC_PARAMS,
     ("fc_params_no_bias",)),
    ("fc_params.bias_flag", "fc_params", "value", "the + Cout only with bias",
     ("check_fc_params_no_bias",), ("fc_params_ignores_bias_flag",)),
    ("fc_params.default_bias", "fc_params", "default", "bias=True",
     ("check_fc_params_values",), (SELF,)),
    *_range_rows("fc_params", "check_fc_params_errors", [
        ("in_features", f"in_features < 1 {_SIZE_IMPLIED}"),
        ("out_features", f"out_features < 1 {_SIZE_IMPLIED}"),
    ]),
    *_common_rows("fc_params", "check_fc_params_errors", _FC_PARAMS),
    ("fc_flops.value", "fc_flops", "value", "FLOPs Cin*Cout", ("check_fc_flops_values",),
     ("fc_flops_with_bias", "fc_flops_mul_and_add")),
    *_range_rows("fc_flops", "check_fc_flops_errors", [
        ("in_features", f"in_features < 1 {_SIZE_IMPLIED}"),
        ("out_features", f"out_features < 1 {_SIZE_IMPLIED}"),
    ]),
    *_common_rows("fc_flops", "check_fc_flops_errors", ("check_fc_flops_values",)),

    # memory_kb(num_elements)
    ("memory_kb.value", "memory_kb", "value",
     "float KB: num_elements x 4 bytes (float32), KB = bytes / 1024",
     ("check_memory_kb_values",),
     ("memory_bytes", "memory_kb_1000", "memory_no_bytes_per_element", "memory_mb")),
    ("memory_kb.returns_float", "memory_kb", "return_type",
     "memory_kb returns a float (numpy.float64 accepted; ints, numpy ints and other types "
     "refused: contract_notes), even where the KB are whole", ("check_memory_kb_values",),
     (SELF,)),
    *_range_rows("memory_kb", "check_memory_kb_errors", [
        ("num_elements", "num_elements < 0 (an argument out of range; contract_notes: "
                         "promised >= 0)"),
    ]),
    *_common_rows("memory_kb", "check_memory_kb_errors", (), returns="float"),

    # cost_table(input_shape, layers)
    ("cost_table.returns_list", "cost_table", "return_type", "a list of rows", (), (),
     "a tuple of rows is accepted too: the same rows, in order, and nothing in the course "
     "uses the list as a list (contract_notes, Promises and leniencies)"),
    ("cost_table.row_per_layer_in_order", "cost_table", "order",
     "input_shape (C, H, W) and layers give one row per layer, in the layers' order",
     _TABLES, (SELF,)),
    ("cost_table.worked_examples", "cost_table", "value",
     "the lecture's AlexNet, VGG-16 and LeNet tables are the worked examples",
     _TABLES[:2], (SELF, "table_conv_params_no_bias", "table_memory_bytes")),
    ("cost_table.layer_types", "cost_table", "value",
     'each layer\'s "type" is among "conv", "pool", "flatten", "fc"; another type raises '
     "(ValueError, or a dispatch table's KeyError / TypeError), never a skipped or empty "
     "row (contract_notes)", ("check_cost_table_random",), ("table_accepts_unknown_type",)),
    ("cost_table.conv_default_stride", "cost_table", "default",
     "a conv layer's out_channels, kernel, and stride=1", _TABLES, (SELF,)),
    ("cost_table.conv_default_padding", "cost_table", "default", "a conv layer's padding=0",
     ("check_cost_table_random",), (SELF,)),
    ("cost_table.conv_default_bias", "cost_table", "default", "a conv layer's bias=True",
     _TABLES, (SELF,)),
    ("cost_table.conv_bias_flag", "cost_table", "value",
     "a conv layer's bias=False leaves out its + Cout", ("check_cost_table_random",),
     ("table_ignores_conv_bias_flag",)),
    ("cost_table.pool_default_stride", "cost_table", "default",
     "a pool layer's kernel, and stride=None, which means the kernel",
     ("check_cost_table_random",), ("table_pool_stride_default_1",)),
    ("cost_table.pool_default_padding", "cost_table", "default", "a pool layer's padding=0",
     _TABLES, (SELF,)),
    ("cost_table.fc_default_bias", "cost_table", "default",
     "an fc layer's out_features, and bias=True", _TABLES, (SELF,)),
    ("cost_table.fc_bias_flag", "cost_table", "value",
     "an fc layer's bias=False leaves out its + Cout", ("check_cost_table_random",),
     ("table_ignores_fc_bias_flag",)),
    ("cost_table.implicit_flatten", "cost_table", "value",
     "an fc straight after a (C, H, W) output flattens it, as the lecture's AlexNet table "
     "does (contract_notes)", ("check_cost_table_random",), ("table_fc_no_implicit_flatten",)),
    ("cost_table.row_keys", "cost_table", "row_field",
     "each row is a dict with name, type, output_shape, memory_kb, params and flops",
     _TABLES, (SELF,)),
    ("cost_table.row_name", "cost_table", "row_field",
     'a row\'s name is its layer\'s optional "name", where it has one (the default name of '
     "an unnamed layer is left open)", _TABLES, (SELF,)),
    ("cost_table.row_type", "cost_table", "row_field", "a row's type is its layer's type",
     _TABLES, (SELF,)),
    ("cost_table.row_output_shape", "cost_table", "row_field",
     "output_shape is (C, H, W), or (N,) after flatten and fc", _TABLES, _TABLE_SIZE),
    ("cost_table.row_output_shape_tuple", "cost_table", "row_field_type",
     "output_shape is a tuple", (), (),
     "a list of the same plain ints is accepted too: the numbers are what the lecture "
     "teaches, and cnnlab's own JSON prints shapes as lists (contract_notes, Promises and "
     "leniencies)"),
    ("cost_table.row_output_shape_ints", "cost_table", "row_field_type",
     "output_shape's sizes are plain ints", _TABLES, (SELF,)),
    ("cost_table.row_memory_kb", "cost_table", "row_field",
     "memory_kb is the output's elements x 4 bytes / 1024, batch 1", _TABLES,
     ("table_memory_bytes", "table_memory_kb_1000", "table_memory_mb")),
    ("cost_table.row_memory_kb_float", "cost_table", "row_field_type",
     "memory_kb is a float (results are plain int except memory_kb, a float), even where the "
     "KB are whole", ("check_cost_table_random",), (SELF,)),
    ("cost_table.row_params", "cost_table", "row_field",
     "params: conv Cout*Cin*K*K (+ Cout with bias), fc Cin*Cout (+ Cout), pool and "
     "flatten 0", _TABLES, ("table_conv_params_no_bias", "table_conv_params_no_cin",
                            "table_fc_params_no_bias")),
    ("cost_table.row_params_int", "cost_table", "row_field_type", "params is a plain int",
     _TABLES, (SELF,)),
    ("cost_table.row_flops", "cost_table", "row_field",
     "flops: conv (Cout*H'*W')*(Cin*K*K), pool (C*H'*W')*(K*K), fc Cin*Cout, flatten 0",
     _TABLES, ("table_conv_flops_mul_and_add", "table_pool_flops_no_window",
               "table_fc_flops_with_bias")),
    ("cost_table.row_flops_int", "cost_table", "row_field_type", "flops is a plain int",
     _TABLES, (SELF,)),
    ("cost_table.range_layer", "cost_table", "range",
     "every function raises ValueError for an argument out of range: so does cost_table "
     "for a layer's (a kernel of 0, a kernel larger than the padded input)",
     ("check_cost_table_random",), (SELF,)),
    ("cost_table.no_in_place", "cost_table", "must_not",
     "must not change its arguments in place: layers, and each layer dict, come back as "
     "given (contract_notes)", ("check_cost_table_random",), (SELF,)),
])


# --- cnn_architectures -------------------------------------------------------------------------

ARCH_PROMISES = _promises(ARCH, [
    ("AlexNet.state_dict", "AlexNet", "structure",
     "state_dict has exactly the keys and tensor shapes of torchvision's AlexNet, so the "
     "reference's weights load", ("check_alexnet_structure", "check_alexnet_outputs"),
     ("alexnet_conv2_128", "alexnet_classifier_named_fc")),
    ("AlexNet.variant", "AlexNet", "structure",
     "the torchvision variant (64-192-384-256-256)",
     ("check_alexnet_structure", "check_alexnet_outputs"), ("alexnet_conv2_128",)),
    ("AlexNet.dropout", "AlexNet", "structure",
     "the torchvision variant's classifier, with its two Dropout layers",
     ("check_alexnet_structure", "check_alexnet_dropout"), ("alexnet_one_dropout",)),
    ("AlexNet.outputs", "AlexNet", "outputs",
     "with the reference's weights, the same outputs in eval mode", ("check_alexnet_outputs",),
     ("alexnet_conv1_stride_2", "alexnet_pool1_kernel_2", "alexnet_missing_relu_fc7",
      "alexnet_conv3_padding_0", "alexnet_pool1_ceil_mode")),
    ("AlexNet.avgpool_adaptive", "AlexNet", "outputs", "avgpool (adaptive 6x6)",
     ("check_alexnet_outputs",), ("alexnet_fixed_avgpool",)),
    ("AlexNet.names", "AlexNet", "naming", "submodules features and classifier",
     ("check_alexnet_structure", "check_alexnet_outputs"), ("alexnet_classifier_named_fc",)),
    ("AlexNet.name_avgpool", "AlexNet", "naming",
     "its pool is the submodule avgpool (no parameters: not in the state_dict; the "
     "structure check compares the submodules' names)", ("check_alexnet_structure",),
     ("alexnet_avgpool_named_pool",)),
    ("AlexNet.num_classes", "AlexNet", "value", "num_classes sets the classifier's outputs",
     ("check_alexnet_structure", "check_alexnet_outputs"), ("alexnet_ignores_num_classes",)),
    ("AlexNet.default_num_classes", "AlexNet", "default", "num_classes=1000",
     ("check_alexnet_structure",), ("alexnet_default_10_classes",)),
    ("AlexNet.param_count", "AlexNet", "param_count", "61,100,840 parameters at 1000 classes",
     ("check_alexnet_structure",), ("alexnet_conv2_128",)),

    ("VGG_CONFIGS.table", "VGG_CONFIGS", "value",
     'dict "vgg11", "vgg13", "vgg16", "vgg19" -> list of ints and "M", the lecture\'s '
     "configurations", ("check_vgg_configs",), ("vgg16_wrong_row",)),

    ("VGG.state_dict", "VGG", "structure",
     "state_dict has exactly the keys and tensor shapes of torchvision's VGG of that config",
     ("check_vgg_structure", "check_vgg_outputs"), ("vgg_classifier_2048",)),
    ("VGG.outputs", "VGG", "outputs",
     "with the reference's weights, the same outputs in eval mode", ("check_vgg_outputs",),
     ("vgg_avg_pool", "vgg_no_padding", "vgg_relu_before_bn",
      "vgg_no_final_relu_in_classifier", "vgg_bn_eps")),
    ("VGG.avgpool_adaptive", "VGG", "outputs", "avgpool (adaptive 7x7)",
     ("check_vgg_outputs",), ("vgg_fixed_avgpool",)),
    ("VGG.batch_norm", "VGG", "structure", "batch_norm=True: a BatchNorm after each conv",
     ("check_vgg_structure", "check_vgg_outputs"), ("vgg_ignores_batch_norm",)),
    ("VGG.names", "VGG", "naming", "submodules features and classifier",
     ("check_vgg_structure", "check_vgg_outputs"), ("vgg_features_named_layers",)),
    ("VGG.name_avgpool", "VGG", "naming",
     "its pool is the submodule avgpool (no parameters: not in the state_dict; the "
     "structure check compares the submodules' names)", ("check_vgg_structure",),
     ("vgg_avgpool_named_pool",)),
    ("VGG.defaults", "VGG", "default", "VGG(config, num_classes=1000, batch_norm=False)",
     ("check_vgg_structure",), ("vgg_default_batch_norm",)),
    ("VGG.param_count", "VGG", "param_count", "VGG-16 has 138,357,544 parameters",
     ("check_vgg_structure",), ("vgg_classifier_2048",)),
    ("vgg_builders.pass_on", "vgg11, vgg13, vgg16, vgg19", "value",
     "the builders pass num_classes and batch_norm on", ("check_vgg_structure",),
     ("vgg16_ignores_num_classes",)),
    ("vgg_builders.default_num_classes", "vgg11, vgg13, vgg16, vgg19", "default",
     "num_classes=1000", ("check_vgg_structure",), ("vgg19_default_10_classes",)),
    ("vgg_builders.default_batch_norm", "vgg11, vgg13, vgg16, vgg19", "default",
     "batch_norm=False, each builder built once with its defaults", ("check_vgg_structure",),
     ("vgg13_default_batch_norm",)),

    ("BasicBlock.expansion", "BasicBlock", "value", "expansion = 1",
     ("check_basic_block_structure",), ("basic_expansion_2",)),
    ("BasicBlock.state_dict", "BasicBlock", "structure",
     "BasicBlock(in_channels, out_channels, stride) has the keys and tensor shapes of "
     "torchvision's BasicBlock", ("check_basic_block_structure", "check_basic_block_outputs"),
     ("basic_conv1_bias",)),
    ("BasicBlock.downsample", "BasicBlock", "structure",
     "builds its own 1x1 projection downsample when the shape changes (and only then; "
     "without one, None or a module without parameters: contract_notes)",
     ("check_basic_block_structure", "check_basic_block_outputs"),
     ("projection_only_on_channel_change", "projection_without_bn", "projection_3x3")),
    ("BasicBlock.outputs", "BasicBlock", "outputs",
     "with the reference's weights, the same outputs in eval mode",
     ("check_basic_block_outputs",),
     ("basic_no_relu_after_add", "basic_relu_before_add", "basic_stride_on_conv2",
      "basic_no_residual")),
    ("BasicBlock.default_stride", "BasicBlock", "default", "stride=1",
     ("check_basic_block_structure",), ("basic_default_stride_2",)),

    ("Bottleneck.expansion", "Bottleneck", "value", "expansion = 4",
     ("check_bottleneck_structure", "check_bottleneck_outputs"), ("bottleneck_expansion_2",)),
    ("Bottleneck.stride_on_3x3", "Bottleneck", "structure",
     "the stride on the 3x3 conv (torchvision's layout)",
     ("check_bottleneck_structure", "check_bottleneck_outputs"),
     ("bottleneck_stride_on_conv1",)),
    ("Bottleneck.state_dict", "Bottleneck", "structure",
     "Bottleneck(in_channels, width, stride) has the keys and tensor shapes of "
     "torchvision's Bottleneck", ("check_bottleneck_structure", "check_bottleneck_outputs"),
     ("bottleneck_conv2_bias",)),
    ("Bottleneck.outputs", "Bottleneck", "outputs",
     "with the reference's weights, the same outputs in eval mode",
     ("check_bottleneck_outputs",), ("bottleneck_no_relu_after_conv2",)),
    ("Bottleneck.default_stride", "Bottleneck", "default", "stride=1",
     ("check_bottleneck_structure",), ("bottleneck_default_stride_2",)),

    ("ResNet.names", "ResNet", "naming", "submodules conv1, bn1, layer1..layer4, fc",
     ("check_resnet_structure", "check_resnet_outputs"), ("resnet_fc_named_classifier",)),
    ("ResNet.names_without_parameters", "ResNet", "naming",
     "submodules relu, maxpool and avgpool (no parameters: not in the state_dict; the "
     "structure check compares the submodules' names)", ("check_resnet_structure",),
     ("resnet_maxpool_named_pool",)),
    ("ResNet.state_dict", "ResNet", "structure",
     "ResNet(block, layers) has the keys and tensor shapes of torchvision's ResNet: "
     "layers[i] blocks of block in stage i + 1", ("check_resnet_structure",
                                                  "check_resnet_outputs"),
     ("resnet_layer3_width_128",)),
    ("ResNet.outputs", "ResNet", "outputs",
     "with the reference's weights, the same outputs in eval mode", ("check_resnet_outputs",),
     ("resnet_no_maxpool", "resnet_maxpool_no_padding", "resnet_layer4_stride_1",
      "resnet_stem_no_relu", "resnet_max_avgpool")),
    ("ResNet.default_num_classes", "ResNet", "default", "ResNet's own num_classes=1000",
     ("check_resnet_structure",), ("resnet_default_10_classes",)),
    ("resnet_builders.pass_on", "resnet18, resnet34, resnet50, resnet101, resnet152",
     "value", "the builders pass num_classes on", ("check_resnet_structure",),
     ("resnet34_ignores_num_classes",)),
    ("resnet_builders.default_num_classes",
     "resnet18, resnet34, resnet50, resnet101, resnet152", "default", "num_classes=1000",
     ("check_resnet_structure",), ("resnet50_default_10_classes",)),
    ("resnet_builders.param_count", "resnet18, resnet34, resnet50, resnet101, resnet152",
     "param_count", "ResNet-18 has 11,689,512 parameters and ResNet-50 25,557,032",
     ("check_resnet_structure",), ("resnet18_one_block_in_layer4",)),

    ("torchvision.not_a_dependency", "*", "dependency", "torchvision itself is not a "
     "dependency", (), (), "a promise about the project's own dependencies (pyproject.toml "
     "has no torchvision), not about students' code: no hidden check can see it"),
])


# --- softmax_backprop --------------------------------------------------------------------------

_SOFTMAX = ("check_softmax_loss_values", "check_softmax_loss_stability",
            "check_softmax_loss_edge_cases")
_TWO_LAYER = ("check_two_layer_scores", "check_two_layer_loss", "check_two_layer_grads")
_TRAIN = ("check_train_two_layer_contract", "check_train_two_layer_accuracy",
          "check_train_two_layer_sgd_steps", "check_train_two_layer_minibatches")
_NO_AUTOGRAD = "no autograd: no requires_grad tensors, .backward() or torch.autograd"

SOFT_PROMISES = _promises(SOFT, [
    ("softmax_loss.no_autograd", "softmax_loss", "must_not", _NO_AUTOGRAD, _SOFTMAX,
     ("softmax_uses_autograd_grad",)),
    ("softmax_loss.returns_pair", "softmax_loss", "return_type",
     "scores (N, C) and y (N,) int64 labels -> (loss, dscores)", _SOFTMAX,
     ("softmax_returns_dict",)),
    ("softmax_loss.loss_0dim", "softmax_loss", "shape", "the loss is a 0-dim tensor",
     _SOFTMAX, ("softmax_loss_shape_1",)),
    ("softmax_loss.mean_cross_entropy", "softmax_loss", "value", "mean cross-entropy",
     _SOFTMAX, ("softmax_loss_sum_not_mean",)),
    ("softmax_loss.dscores", "softmax_loss", "value", "dscores, the loss's gradient",
     _SOFTMAX, ("softmax_grad_not_divided_by_n", "softmax_grad_sign")),
    ("softmax_loss.dscores_shape", "softmax_loss", "shape", "dscores has scores' shape (N, C)",
     _SOFTMAX, ("softmax_dscores_flat",)),
    ("softmax_loss.stable", "softmax_loss", "value",
     "stable for large scores: subtracting each row's maximum before exp, scores up to ±1e4 "
     "give a finite loss and gradient when each row's correct class is within 50 of that "
     "row's maximum", ("check_softmax_loss_stability",), ("softmax_no_max_shift",)),
    ("softmax_loss.log_sum_exp_not_required", "softmax_loss", "permission",
     "log-sum-exp is better still, not required", (), (),
     "a permission, not a demand: check_softmax_loss_stability keeps to the promised scores, "
     "so a max shift followed by log(softmax) passes it"),
    ("softmax_loss.float_dtypes", "softmax_loss", "dtype",
     "scores is a float tensor: float32 as well as float64",
     ("check_softmax_loss_stability", "check_softmax_loss_edge_cases"), ("softmax_float64_ones",)),
    ("softmax_loss.no_in_place", "softmax_loss", "must_not",
     "must not change scores in place (contract_notes)", _SOFTMAX,
     ("softmax_shifts_scores_in_place",)),

    ("two_layer_forward_backward.no_autograd", "two_layer_forward_backward", "must_not",
     _NO_AUTOGRAD, _TWO_LAYER, ("uses_backward",)),
    ("two_layer_forward_backward.forward", "two_layer_forward_backward", "value",
     "params dict W1 (D,H), b1 (H,), W2 (H,C), b2 (C,); affine-ReLU-affine", _TWO_LAYER,
     ("forward_no_relu", "forward_no_b2")),
    ("two_layer_forward_backward.scores_without_y", "two_layer_forward_backward",
     "return_type", "with y=None (the default) returns the scores (N, C)",
     ("check_two_layer_scores",), ("scores_as_pair",)),
    ("two_layer_forward_backward.returns_loss_grads", "two_layer_forward_backward",
     "return_type", "otherwise (loss, grads)",
     ("check_two_layer_loss", "check_two_layer_grads"), ("two_layer_returns_grads_first",)),
    ("two_layer_forward_backward.loss_l2", "two_layer_forward_backward", "value",
     "the loss adds the L2 term reg * (sum(W1**2) + sum(W2**2)), with no 1/2",
     ("check_two_layer_loss", "check_two_layer_grads"), ("l2_with_half",)),
    ("two_layer_forward_backward.grads_keys", "two_layer_forward_backward", "return_type",
     "grads keyed like params", ("check_two_layer_grads",), ("grads_keyed_dW1",)),
    ("two_layer_forward_backward.grads_shapes", "two_layer_forward_backward", "shape",
     "each gradient has its parameter's shape", ("check_two_layer_grads",),
     ("db2_wrong_axis",)),
    ("two_layer_forward_backward.grads_values", "two_layer_forward_backward", "value",
     "grads are the loss's gradients", ("check_two_layer_grads",),
     ("dw2_reg_without_2", "dw1_no_reg", "relu_mask_missing")),
    ("two_layer_forward_backward.default_reg", "two_layer_forward_backward", "default",
     "reg=0.0", ("check_two_layer_loss",), ("two_layer_default_reg",)),
    ("two_layer_forward_backward.no_in_place", "two_layer_forward_backward", "must_not",
     "must not change X or params in place (contract_notes)", _TWO_LAYER,
     ("grads_written_into_params",)),

    ("train_two_layer.no_autograd", "train_two_layer", "must_not", _NO_AUTOGRAD, _TRAIN,
     ("train_uses_autograd",)),
    ("train_two_layer.returns_dict", "train_two_layer", "return_type",
     "returns a dict with loss_history and val_accuracy", _TRAIN, ("train_returns_losses_key",)),
    ("train_two_layer.history_floats", "train_two_layer", "return_type",
     "loss_history is a list of Python floats, val_accuracy a Python float in [0, 1] "
     "(contract_notes)", _TRAIN, ("train_history_of_tensors",)),
    ("train_two_layer.sgd", "train_two_layer", "value",
     "minibatch SGD using the student's gradients: params -= learning_rate * grads, for "
     "every parameter, with reg passed on",
     ("check_train_two_layer_accuracy", "check_train_two_layer_sgd_steps",
      "check_train_two_layer_minibatches"),
     ("train_ascends", "train_ignores_learning_rate", "train_ignores_reg",
      "train_weights_only", "train_lr_decay")),
    ("train_two_layer.minibatches_from_X_y", "train_two_layer", "value",
     "its minibatches come from X, y (contract_notes)", ("check_train_two_layer_sgd_steps",
                                                        "check_train_two_layer_minibatches"),
     ("train_on_val", "train_on_train_plus_val")),
    ("train_two_layer.batch_size", "train_two_layer", "value",
     "each minibatch holds batch_size examples", ("check_train_two_layer_minibatches",),
     ("train_full_batch",)),
    ("train_two_layer.loss_history", "train_two_layer", "value",
     "loss_history holds one loss per iteration (num_iters of them), L2 included "
     "(contract_notes)", _TRAIN, ("train_epochs", "train_history_without_l2")),
    ("train_two_layer.val_accuracy", "train_two_layer", "value",
     "val_accuracy: the trained parameters' accuracy on X_val, y_val",
     ("check_train_two_layer_contract", "check_train_two_layer_sgd_steps"),
     ("train_accuracy_on_training_set",)),
    ("train_two_layer.seed_matters", "train_two_layer", "value",
     "its seed must matter (contract_notes)", ("check_train_two_layer_minibatches",),
     ("train_ignores_seed",)),
    ("train_two_layer.seed_reproducible", "train_two_layer", "value",
     "a seed: the same seed gives the same run", ("check_train_two_layer_accuracy",),
     ("train_global_rng",)),
    ("train_two_layer.default_seed", "train_two_layer", "default", "seed=0",
     ("check_train_two_layer_minibatches",), ("train_default_seed_1",)),
    ("train_two_layer.device", "train_two_layer", "device",
     "runs on the device of X (seen only where the grader has a GPU: contract_notes; its "
     "mutant is catalogued there only)", ("check_train_two_layer_contract",),
     ("train_moves_data_to_cpu",)),
    ("train_two_layer.no_in_place", "train_two_layer", "must_not",
     "may update params in place (SGD's own update), but not X, y, X_val or y_val "
     "(contract_notes)", _TRAIN, ("train_shuffles_data_in_place",)),
])

PROMISES: list[Promise] = COST_PROMISES + ARCH_PROMISES + SOFT_PROMISES


def for_assignment(assignment: str) -> list[Promise]:
    return [p for p in PROMISES if p.assignment == assignment]


def gaps() -> list[Promise]:
    """The promises no check and mutant cover, and none is lenient about."""
    return [p for p in PROMISES if not p.covered]


# --- cnn_costs: the reference with one promise broken ------------------------------------------
#
# A breaker is the reference with one promise broken and every other kept: for a range, it
# lets through the first value past the range (stride 0, padding -1, a kernel one larger
# than the padded input) where that is the only thing wrong, and answers it with the bare
# formula; a check catches it only by calling just outside with nothing else wrong.
# tests/test_promises.py runs every breaker against the checks (the failing checks must be
# exactly a promise's `checks`); a promise that lists its own id among its `mutants` has its
# breaker catalogued as a mutant too (autograder/mutants.py), so `cnnlab mutants` proves it.

@dataclass(frozen=True)
class Breaker:
    function: str          # the cnn_costs function it replaces
    fn: _Callable          # the replacement, with the reference's signature
    mistake: str           # what it does wrong, for the mutants report


def _stride(a):
    return a["kernel"] if a.get("stride", 1) is None else a.get("stride", 1)


def _out(size, a):
    return (size - a["kernel"] + 2 * a["padding"]) // _stride(a) + 1


def _sizes(a):
    return [a["size"]] if "size" in a else [a["height"], a["width"]]


def _over(a):
    """How far the kernel overshoots the padded input, in its worse dimension."""
    return max(a["kernel"] - (s + 2 * a["padding"]) for s in _sizes(a))


def _count(arg, low):
    return {arg: (lambda a: a[arg] < low, lambda a: a[arg] == low - 1)}


# rule -> (the reference raises for it, the argument is just outside)
_WINDOW = {
    "kernel": (lambda a: a["kernel"] < 1, lambda a: a["kernel"] == 0),
    "stride": (lambda a: _stride(a) < 1, lambda a: _stride(a) == 0),  # None: the kernel
    "padding": (lambda a: a["padding"] < 0, lambda a: a["padding"] == -1),
    "fit": (lambda a: _over(a) > 0, lambda a: _over(a) == 1),
}
_POOL = {"pool_padding": (lambda a: a["padding"] > a["kernel"] // 2,
                          lambda a: a["padding"] == a["kernel"] // 2 + 1)}
_HW = {**_count("height", 1), **_count("width", 1)}
RULES = {
    "conv_output_size": {**_count("size", 1), **_WINDOW},
    "pool_output_size": {**_count("size", 1), **_WINDOW, **_POOL},
    "conv_params": {**_count("in_channels", 1), **_count("out_channels", 1),
                    **_count("kernel", 1)},
    "conv_flops": {**_count("in_channels", 1), **_count("out_channels", 1), **_HW, **_WINDOW},
    "pool_flops": {**_count("channels", 1), **_HW, **_WINDOW, **_POOL},
    "fc_params": {**_count("in_features", 1), **_count("out_features", 1)},
    "fc_flops": {**_count("in_features", 1), **_count("out_features", 1)},
    "memory_kb": _count("num_elements", 0),
}
_JUST_OUTSIDE = {
    "size": "a size of 0", "height": "a height of 0", "width": "a width of 0",
    "kernel": "a kernel of 0", "stride": "a stride of 0", "padding": "a padding of -1",
    "fit": "a kernel one larger than the padded input",
    "pool_padding": "a padding of kernel // 2 + 1", "in_channels": "0 input channels",
    "out_channels": "0 output channels", "channels": "0 channels",
    "in_features": "0 input features", "out_features": "0 output features",
    "num_elements": "-1 elements",
}

# The formulas with no argument checking at all (a ZeroDivisionError is a breach too).
BARE = {
    "conv_output_size": lambda a: _out(a["size"], a),
    "pool_output_size": lambda a: _out(a["size"], a),
    "conv_params": lambda a: a["out_channels"] * a["in_channels"] * a["kernel"] ** 2
    + (a["out_channels"] if a["bias"] else 0),
    "conv_flops": lambda a: a["out_channels"] * _out(a["height"], a) * _out(a["width"], a)
    * a["in_channels"] * a["kernel"] ** 2,
    "pool_flops": lambda a: a["channels"] * _out(a["height"], a) * _out(a["width"], a)
    * a["kernel"] ** 2,
    "fc_params": lambda a: a["in_features"] * a["out_features"]
    + (a["out_features"] if a["bias"] else 0),
    "fc_flops": lambda a: a["in_features"] * a["out_features"],
    "memory_kb": lambda a: a["num_elements"] * 4 / 1024,
}


def _student(name, body, signature=None):
    """A student's `name`: `body(arguments with defaults, args, kwargs)`."""
    signature = signature or _inspect.signature(getattr(_ref, name))

    def fn(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return body(dict(bound.arguments), args, kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__signature__ = signature
    return fn


def lets_through(name, rule) -> Breaker:
    def body(a, args, kwargs):
        broken = [r for r, (raises, _) in RULES[name].items() if raises(a)]
        if broken == [rule] and RULES[name][rule][1](a):
            return BARE[name](a)
        return getattr(_ref, name)(**a)
    return Breaker(name, _student(name, body),
                   f"{name} does not raise ValueError for {_JUST_OUTSIDE[rule]} (the first "
                   "value out of range): it answers with the bare formula")


def on_valid(name, change, mistake: str) -> Breaker:
    """The reference, with `change(value, arguments)` on what it returns."""
    return Breaker(name, _student(name, lambda a, args, kwargs: change(
        getattr(_ref, name)(**a), a)), mistake)


def with_defaults(name, **defaults) -> Breaker:
    signature = _inspect.signature(getattr(_ref, name))
    signature = signature.replace(parameters=[
        p.replace(default=defaults[p.name]) if p.name in defaults else p
        for p in signature.parameters.values()])
    shown = ", ".join(f"{k}={v!r}" for k, v in defaults.items())
    return Breaker(name, _student(name, lambda a, args, kwargs: getattr(_ref, name)(**a),
                                  signature), f"{name}'s default is {shown}")


def vague_errors(name) -> Breaker:
    def body(a, args, kwargs):
        try:
            return getattr(_ref, name)(**a)
        except ValueError:
            raise ValueError("invalid arguments") from None
    return Breaker(name, _student(name, body), f"{name}'s ValueError says 'invalid "
                   "arguments', naming no argument")


def truncating(name) -> Breaker:
    """Truncation toward zero, a kernel that does not fit judged by the output being < 1."""
    def body(a, args, kwargs):
        if [r for r, (raises, _) in RULES[name].items() if raises(a)] == ["fit"]:
            out = int((a["size"] - a["kernel"] + 2 * a["padding"]) / _stride(a)) + 1
            if out >= 1:
                return out
            raise ValueError("the kernel is larger than the padded input")
        return getattr(_ref, name)(**a)
    return Breaker(name, _student(name, body),
                   f"{name} truncates toward zero (int(x / s)) instead of taking the floor, "
                   "and judges a kernel that does not fit by the output being < 1")


def square_only(name) -> Breaker:
    """W' computed from the height too."""
    return on_valid(name, lambda value, a: getattr(_ref, name)(**{**a, "width": a["height"]}),
                    f"{name} computes W' from the height too (right for square inputs only)")


def stride_none_is_one(name) -> Breaker:
    return on_valid(name, lambda value, a: value if a["stride"] is not None
                    else getattr(_ref, name)(**{**a, "stride": 1}),
                    f"{name} takes stride=None as stride 1, not the kernel")


_numel = _ref._numel  # the reference's element count, not a copy of it


def _row(layer, shape, params, flops):
    return {"name": layer.get("name", layer.get("type")), "type": layer.get("type"),
            "output_shape": tuple(shape), "memory_kb": _ref.memory_kb(_numel(shape)),
            "params": params, "flops": flops}


def table(mistake: str, rows=None, reading=None, instead=None) -> Breaker:
    """A cost_table: the reference's rows through `rows(row, layer)`, or the reference
    reading each layer through `reading(layer copy) -> layer`, or `instead(input_shape,
    layers)` where it returns rows."""
    def cost_table(input_shape, layers):
        if instead:
            found = instead(input_shape, layers)
            if found is not None:
                return found
        read = [reading(dict(l)) for l in layers] if reading else layers
        table_rows = _ref.cost_table(input_shape, read)
        if rows:
            for row, layer in zip(table_rows, layers):
                rows(row, layer)
        return table_rows
    return Breaker("cost_table", cost_table, mistake)


def table_result(change, mistake: str) -> Breaker:
    return Breaker("cost_table", lambda input_shape, layers: change(
        _ref.cost_table(input_shape, layers)), mistake)


def default(kind, key, value):
    return lambda l: {**l, key: l.get(key, value)} if l["type"] == kind else l


def forced(kind, key, value):
    return lambda l: {**l, key: value} if l["type"] == kind else l


def set_field(key, change):
    def rows(row, layer):
        row[key] = change(row[key])
    return rows


def fc_takes_channels(input_shape, layers):
    rows, shape = [], tuple(input_shape)
    for layer in layers:
        at = (shape[0],) if layer["type"] == "fc" and len(shape) == 3 else shape
        out, params, flops = _ref.layer_costs(at, layer)
        rows.append(_row(layer, out, params, flops))
        shape = out
    return rows


def unknown_type_row(input_shape, layers):
    if all(l.get("type") in _ref.LAYER_TYPES for l in layers):
        return None
    rows, shape = [], tuple(input_shape)
    for layer in layers:
        out, params, flops = (_ref.layer_costs(shape, layer)
                              if layer["type"] in _ref.LAYER_TYPES else (shape, 0, 0))
        rows.append(_row(layer, out, params, flops))
        shape = out
    return rows


def no_validation(input_shape, layers):
    """The formulas inline, no argument checking: a layer out of range gets a row."""
    rows, shape = [], tuple(input_shape)
    for layer in layers:
        kind = layer["type"]
        if kind in ("conv", "pool"):
            c, h, w = shape
            a = {"kernel": layer["kernel"], "padding": layer.get("padding", 0),
                 "stride": layer.get("stride", 1 if kind == "conv" else None)}
            size = (_out(h, a), _out(w, a))
            if kind == "conv":
                cout = layer["out_channels"]
                out = (cout, *size)
                params = cout * c * a["kernel"] ** 2 + (cout if layer.get("bias", True) else 0)
                flops = _numel(out) * c * a["kernel"] ** 2
            else:
                out, params = (c, *size), 0
                flops = _numel(out) * a["kernel"] ** 2
        elif kind == "flatten":
            out, params, flops = (_numel(shape),), 0, 0
        elif kind == "fc":
            n, cout = _numel(shape), layer["out_features"]
            out = (cout,)
            params, flops = n * cout + (cout if layer.get("bias", True) else 0), n * cout
        else:
            raise ValueError(f"unknown layer type {kind!r}")
        rows.append(_row(layer, out, params, flops))
        shape = out
    return rows


def fills_in_defaults(input_shape, layers):
    for layer in layers:
        if layer["type"] == "conv":
            layer.setdefault("stride", 1)
            layer.setdefault("padding", 0)
    return None


def off_on_the_lecture_nets(rows):
    if any(len(rows) == len(net) and all(r["name"] == l["name"] for r, l in zip(rows, net))
           for net in (_networks.LENET5_LAYERS, _networks.ALEXNET_LAYERS, _networks.VGG16_LAYERS)):
        rows[-1]["params"] += 1
    return rows


def _int_when_whole(v):
    return int(v) if v == int(v) else v


def _breakers() -> dict[str, Breaker]:
    found = {}
    for name, rules in RULES.items():
        for rule in rules:
            found[f"{name}.range_{rule}"] = lets_through(name, rule)
        found[f"{name}.error_names_argument"] = vague_errors(name)
        if name != "memory_kb":
            found[f"{name}.value"] = on_valid(name, lambda v, a: v + 1, f"{name} is 1 too high")
            found[f"{name}.returns_int"] = on_valid(
                name, lambda v, a: float(v), f"{name} returns a float (56.0 for 56)")
    found.update({
        "memory_kb.value": on_valid("memory_kb", lambda v, a: v * 1.001,
                                    "memory_kb is 0.1% too high"),
        "memory_kb.returns_float": on_valid("memory_kb", lambda v, a: _int_when_whole(v),
                                            "memory_kb returns an int where the KB are whole"),
        "conv_output_size.floor": truncating("conv_output_size"),
        "pool_output_size.floor": truncating("pool_output_size"),
        "conv_output_size.default_stride": with_defaults("conv_output_size", stride=2),
        "conv_output_size.default_padding": with_defaults("conv_output_size", padding=1),
        "pool_output_size.default_stride": with_defaults("pool_output_size", stride=1),
        "pool_output_size.stride_none_is_kernel": stride_none_is_one("pool_output_size"),
        "pool_output_size.default_padding": with_defaults("pool_output_size", padding=1),
        "conv_params.bias_flag": on_valid("conv_params", lambda v, a: _ref.conv_params(
            a["in_channels"], a["out_channels"], a["kernel"]),
            "conv_params counts the bias even with bias=False"),
        "conv_params.default_bias": with_defaults("conv_params", bias=False),
        "conv_flops.separate_h_w": square_only("conv_flops"),
        "conv_flops.default_stride": with_defaults("conv_flops", stride=2),
        "conv_flops.default_padding": with_defaults("conv_flops", padding=1),
        "pool_flops.separate_h_w": square_only("pool_flops"),
        "pool_flops.default_stride": with_defaults("pool_flops", stride=1),
        "pool_flops.stride_none_is_kernel": stride_none_is_one("pool_flops"),
        "pool_flops.default_padding": with_defaults("pool_flops", padding=1),
        "fc_params.bias_flag": on_valid("fc_params", lambda v, a: _ref.fc_params(
            a["in_features"], a["out_features"]),
            "fc_params counts the bias even with bias=False"),
        "fc_params.default_bias": with_defaults("fc_params", bias=False),
        "cost_table.row_per_layer_in_order": table_result(
            lambda rows: rows[::-1], "cost_table lists the rows last layer first"),
        "cost_table.worked_examples": table_result(
            off_on_the_lecture_nets, "cost_table is off by one parameter on the lecture's "
            "LeNet-5, AlexNet and VGG-16 only"),
        "cost_table.layer_types": table(
            "cost_table gives an unknown layer type a row", instead=unknown_type_row),
        "cost_table.conv_default_stride": table(
            "cost_table reads a conv's missing stride as 2",
            reading=default("conv", "stride", 2)),
        "cost_table.conv_default_padding": table(
            "cost_table reads a conv's missing padding as 1",
            reading=default("conv", "padding", 1)),
        "cost_table.conv_default_bias": table(
            "cost_table reads a conv's missing bias as False",
            reading=default("conv", "bias", False)),
        "cost_table.conv_bias_flag": table(
            "cost_table counts a conv's bias even with bias=False",
            reading=forced("conv", "bias", True)),
        "cost_table.pool_default_stride": table(
            "cost_table reads a pool's missing stride as 1", reading=default("pool", "stride", 1)),
        "cost_table.pool_default_padding": table(
            "cost_table reads a pool's missing padding as 1",
            reading=default("pool", "padding", 1)),
        "cost_table.fc_default_bias": table(
            "cost_table reads an fc's missing bias as False", reading=default("fc", "bias", False)),
        "cost_table.fc_bias_flag": table(
            "cost_table counts an fc's bias even with bias=False",
            reading=forced("fc", "bias", True)),
        "cost_table.implicit_flatten": table(
            "cost_table feeds an fc after a (C, H, W) output with C inputs",
            instead=fc_takes_channels),
        "cost_table.row_keys": table("cost_table's rows have no 'flops'",
                                     rows=lambda row, layer: row.pop("flops")),
        "cost_table.row_name": table("cost_table names every row by its type, not its name",
                                     rows=lambda row, layer: row.update(name=layer["type"])),
        "cost_table.row_type": table("cost_table's row types are upper case ('CONV')",
                                     rows=lambda row, layer: row.update(
                                         type=layer["type"].upper())),
        "cost_table.row_output_shape": table(
            "cost_table's output shapes are 1 too large in H (or N)", rows=set_field(
                "output_shape", lambda s: (s[0], s[1] + 1, s[2]) if len(s) == 3 else (s[0] + 1,))),
        "cost_table.row_output_shape_ints": table(
            "cost_table's output shapes hold floats (56.0)", rows=set_field(
                "output_shape", lambda s: tuple(float(d) for d in s))),
        "cost_table.row_memory_kb": table("cost_table's memory_kb is 0.1% too high",
                                          rows=set_field("memory_kb", lambda v: v * 1.001)),
        "cost_table.row_memory_kb_float": table(
            "cost_table's memory_kb is an int where the KB are whole",
            rows=set_field("memory_kb", _int_when_whole)),
        "cost_table.row_params": table("cost_table's params are 1 too high",
                                       rows=set_field("params", lambda v: v + 1)),
        "cost_table.row_params_int": table("cost_table's params are floats",
                                           rows=set_field("params", float)),
        "cost_table.row_flops": table("cost_table's flops are 1 too high",
                                      rows=set_field("flops", lambda v: v + 1)),
        "cost_table.row_flops_int": table("cost_table's flops are floats",
                                          rows=set_field("flops", float)),
        "cost_table.range_layer": table(
            "cost_table computes its formulas inline, without checking a layer's arguments",
            instead=no_validation),
        "cost_table.no_in_place": table(
            "cost_table writes a conv's default stride and padding into the caller's layers "
            "(layer.setdefault)", instead=fills_in_defaults),
    })
    return found


BREAKERS: dict[str, Breaker] = _breakers()
