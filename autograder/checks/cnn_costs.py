"""Hidden-test logic of the `cnn_costs` assignment.

`QUESTIONS` maps each question (a contract function name) to its checks; Otter splits the
question's points equally between them. Every check takes the student notebook's global
namespace `env`, calls the student's function only through `common.call` (per-call time
limit, student exceptions become feedback), and raises AssertionError with feedback that
names the likely mistake from `autograder.mistakes`, shows the arguments of the failing call
and the student's own answer, and never the expected value. Here: the questions, their
pinned cases and hints; the calling and the diagnosis are `formula_probe.FormulaProbe`'s,
the cost_table question's checks are in cost_table_checks.py, and what a student returned
is read and shown by student_values.py.

Each check pins the lecture's examples and the edge cases first, then fuzzes against the
reference with Hypothesis (autograder/checks/fuzzing.py: deterministic). Hypothesis's
own report never reaches a student: a failure is recorded by the check, and the check raises
its own AssertionError once Hypothesis is done.

Decisions, made once here:
- Counts and sizes must be a plain `int` (`type(v) is int`): bool, float, numpy integers and
  int subclasses fail, each with a message saying what was returned and what to return.
- `memory_kb` returns a `float` (exactly that type, or numpy.float64, which is a float
  subclass), even where the KB are whole: an `int` is refused as a float is refused where an
  int is due (the contract: every result is an int except memory_kb). Compared with a
  relative tolerance of 1e-9. In a cost_table row the same rule holds, asked once, by
  check_cost_table_random (the lecture tables' checks take an int of the right value).
- `cost_table` returns a list (or, leniently, a tuple) of dicts; extra keys are fine.
  `output_shape` may be a tuple (the contract) or, leniently, a list of plain ints: the
  numbers are what the lecture teaches (docs/contract_notes.md, "Promises and leniencies").
  A row's `name` is checked only where the layer names itself; the contract leaves the
  default name of an unnamed layer open. cost_table must raise ValueError for a layer out
  of range, and must leave the layers it is given as they were (compared where the
  student's code runs: in a sandbox it works on copies).
- Student values are compared, shown and diagnosed only when made of plain ints, floats and
  strings, read by this module itself (never through a student's `__eq__`, `__float__` or
  `__repr__`), and expected values are computed only after the student's call returns.
- Out-of-range arguments must raise ValueError; in the pinned cases its message must name
  the offending argument (the contract), in the fuzzed ones any ValueError will do. Each
  range is called just outside it with nothing else wrong (stride 0, padding -1, a kernel
  one larger than the padded input, a size of 0 that padding would let the kernel fit),
  and sizes, channels and features must be >= 1 (docs/contract_notes.md). A pool's stride
  of 0 is out of range, not the default: `stride = stride or kernel` takes it for None and
  is told so.
- The likely mistake is ranked by `mistakes.rank`: the catalogued one that reproduces at
  least half of the wrong answers and agrees with the most of all the student's answers,
  so the entry that matches on every input probed wins: a single call cannot tell "forgot
  the +1" from "padding on one side" when P == S, nor, on a 1x1 input, the missing +1 from
  "pooling is free", and an H x H for H x W can happen to double the FLOPs. Before ranking,
  a failing check also asks the student's function the function's pinned cases it has not
  asked yet (DIAGNOSTIC_CASES): a fuzzed check often fails first on the smallest input,
  where most mistakes agree. Where two still fit equally well, both are named. Mistakes in
  an output size are also looked for in the FLOPs and tables that reuse it. A count that
  is the int() or round() of a mistake's float (an unrounded output size, converted at the
  end) fits that mistake.
"""
from __future__ import annotations

from typing import Callable

from hypothesis import strategies as st

from autograder import strategies
from autograder.checks.cost_table_checks import (check_cost_table_alexnet_vgg16,
                                                 check_cost_table_lenet, check_cost_table_random)
from autograder.checks.formula_probe import FormulaProbe

# Lecture hints for a wrong answer that no catalogued mistake explains. No results in them.
HINTS = {
    "conv_output_size": "use the lecture's W' = floor((W - K + 2P) / S) + 1, and work AlexNet "
                        "conv1 (227x227 input, 11x11 kernel, stride 4, padding 2) by hand",
    "pool_output_size": "a pool uses the conv formula W' = floor((W - K + 2P) / S) + 1, where "
                        "stride=None means stride = kernel (AlexNet pool1: 3x3 window, stride 2)",
    "conv_params": "a conv has Cout*Cin*K*K weights plus Cout biases (only with bias=True); "
                   "work AlexNet conv1 (64 filters 11x11 over 3 channels) by hand",
    "conv_flops": "(Cout*H'*W') output elements, each Cin*K*K multiply-adds counted as 1 FLOP; "
                  "H' and W' come from the output-size formula, separately for H and W",
    "pool_flops": "(C*H'*W') output elements, each looking at K*K inputs; stride=None means "
                  "stride = kernel, and H' and W' are computed separately",
    "fc_params": "a fully connected layer has Cin*Cout weights plus Cout biases (only with "
                 "bias=True); work AlexNet fc6 (9216 -> 4096) by hand",
    "fc_flops": "a fully connected layer does Cin*Cout multiply-adds, 1 FLOP each",
    "memory_kb": "memory is output elements x 4 bytes (float32), and KB = bytes / 1024",
}


def _probe(env, name: str) -> FormulaProbe:
    """A probe of the student's `name`, with its hint and its pinned cases for diagnosis."""
    return FormulaProbe(env, name, HINTS[name], DIAGNOSTIC_CASES.get(name, ()))


def _case(*args, **kwargs):
    return args, kwargs


def _err(*args, names=(), **kwargs):
    return args, kwargs, names


def _as_case(strategy):
    """A strategy of argument tuples as (args, kwargs) cases."""
    return strategy.map(lambda args: (tuple(args), {}))


# Words a ValueError's message may use for an argument (the contract: it names it).
KERNEL_FIT = ("kernel", "size", "input", "padding", "height", "width")


# ---------------------------------------------------------------------------------------
# conv_output_size
# ---------------------------------------------------------------------------------------

CONV_OUTPUT_SIZE_CASES = [
    _case(227, 11, stride=4, padding=2),  # AlexNet conv1
    _case(27, 5, padding=2),              # AlexNet conv2
    _case(224, 3, 1, 1),                  # VGG
    _case(28, 5, 1, 2),                   # LeNet conv1
    _case(32, 5, 1, 2),                   # P != S: one-sided padding shows
    _case(10, 3, 2, 0),                   # 7 / 2: floor, not ceil
    _case(5, 2, 2, 0),                    # 3 / 2: / gives a float
    _case(7, 7),                          # kernel = input: one output
    _case(5, 7, 1, 1),                    # kernel = padded input: one output
    _case(10, 2, 5, 0),                   # stride > kernel skips inputs
    _case(11, 3, 7, 1),
]


def check_conv_output_size_lecture(env):
    """The lecture's layers and the edge cases: floor, kernel = padded input, big strides."""
    _probe(env, "conv_output_size").cases(FormulaProbe.value, CONV_OUTPUT_SIZE_CASES)


def check_conv_output_size_random(env):
    _probe(env, "conv_output_size").fuzz(
        FormulaProbe.value, _as_case(strategies.conv_args()), max_examples=80)


def check_conv_output_size_errors(env):
    probe = _probe(env, "conv_output_size")
    probe.cases(FormulaProbe.error, [
        _err(3, 6, 4, 0, names=KERNEL_FIT),   # truncation would give 1
        _err(2, 5, 2, 1, names=KERNEL_FIT),   # floor gives 0, truncation 1
        _err(10, 0, names=("kernel",)),
        _err(10, -3, 2, names=("kernel",)),
        _err(10, 3, 0, names=("stride",)),
        _err(10, 3, -1, names=("stride",)),
        _err(10, 3, 1, -1, names=("padding",)),
        _err(0, 1, names=("size", "input", "kernel")),
        _err(-5, 3, names=("size", "input", "kernel")),
        _err(0, 1, 1, 1, names=("size", "input")),  # the padded input would fit the kernel
    ])
    probe.fuzz(FormulaProbe.error,
               strategies.invalid_conv_args().map(lambda a: (a[:4], {}, ())), max_examples=40)


# ---------------------------------------------------------------------------------------
# pool_output_size
# ---------------------------------------------------------------------------------------

POOL_OUTPUT_SIZE_CASES = [
    _case(55, 3, 2),              # AlexNet pool1
    _case(224, 2, 2),             # VGG pool1
    _case(224, 2),                # stride omitted: stride = kernel
    _case(7, 3),
    _case(9, 3, stride=None),
    _case(13, 3, None, 1),
    _case(10, 3, 2, 1),           # 9 / 2: floor, not ceil
    _case(4, 4),                  # kernel = input: one output
    _case(3, 5, None, 1),         # kernel = padded input
    _case(9, 2, 5, 0),            # stride > kernel
]


def check_pool_output_size_lecture(env):
    """The lecture's pools, the stride default (None means the kernel) and edge cases."""
    _probe(env, "pool_output_size").cases(FormulaProbe.value, POOL_OUTPUT_SIZE_CASES)


def check_pool_output_size_random(env):
    _probe(env, "pool_output_size").fuzz(
        FormulaProbe.value, _as_case(strategies.pool_args()), max_examples=80)


def check_pool_output_size_errors(env):
    probe = _probe(env, "pool_output_size")
    probe.cases(FormulaProbe.error, [
        _err(8, 3, None, 2, names=("padding",)),   # padding > kernel // 2
        _err(8, 2, 2, 2, names=("padding",)),
        _err(8, 1, 1, 1, names=("padding",)),
        _err(3, 6, 4, 0, names=KERNEL_FIT),        # truncation would give 1
        _err(10, 0, names=("kernel",)),
        _err(10, 3, 0, names=("stride",)),         # 0 is out of range, not the default
        _err(10, 3, -1, names=("stride",)),
        _err(10, 2, -2, names=("stride",)),
        _err(10, 3, None, -1, names=("padding",)),
        _err(0, 1, names=("size", "input", "kernel")),
        _err(0, 2, None, 1, names=("size", "input")),  # the padded input would fit
    ])
    invalid = st.one_of(
        strategies.invalid_pool_padding().map(lambda a: (a, {}, ())),
        strategies.invalid_conv_args().map(lambda a: (a[:4], {}, ())),
    )
    probe.fuzz(FormulaProbe.error, invalid, max_examples=40)


# ---------------------------------------------------------------------------------------
# conv_params
# ---------------------------------------------------------------------------------------

_channels = st.integers(1, 512)


CONV_PARAMS_CASES = [
    _case(3, 64, 11),             # AlexNet conv1
    _case(64, 192, 5),            # AlexNet conv2
    _case(256, 512, 3),           # VGG
    _case(1, 20, 5),              # LeNet conv1
    _case(5, 2, 3),               # Cin != Cout
    _case(16, 4, 1, bias=True),
]


def check_conv_params_values(env):
    probe = _probe(env, "conv_params")
    probe.cases(FormulaProbe.value, CONV_PARAMS_CASES)
    probe.fuzz(FormulaProbe.value, _as_case(st.tuples(_channels, _channels, st.integers(1, 11))),
               max_examples=50)


CONV_PARAMS_NO_BIAS_CASES = [
    _case(3, 64, 11, bias=False),
    _case(64, 128, 3, bias=False),
    _case(7, 5, 1, bias=False),
]


def check_conv_params_no_bias(env):
    probe = _probe(env, "conv_params")
    probe.cases(FormulaProbe.value, CONV_PARAMS_NO_BIAS_CASES)
    probe.fuzz(FormulaProbe.value,
               st.tuples(_channels, _channels, st.integers(1, 11)).map(
                   lambda a: (a, {"bias": False})), max_examples=40)


def check_conv_params_errors(env):
    probe = _probe(env, "conv_params")
    probe.cases(FormulaProbe.error, [
        _err(0, 64, 3, names=("in_channels", "in channels")),
        _err(-1, 2, 3, names=("in_channels", "in channels")),
        _err(3, 0, 3, names=("out_channels", "out channels")),
        _err(3, 64, 0, names=("kernel",)),
        _err(3, 64, -2, bias=False, names=("kernel",)),
    ])


# ---------------------------------------------------------------------------------------
# conv_flops
# ---------------------------------------------------------------------------------------

CONV_FLOPS_CASES = [
    _case(3, 227, 227, 64, 11, stride=4, padding=2),   # AlexNet conv1
    _case(64, 27, 27, 192, 5, 1, 2),                   # AlexNet conv2
    _case(3, 224, 224, 64, 3, 1, 1),                   # VGG conv1_1
    _case(1, 28, 28, 20, 5, padding=2),                # LeNet conv1
    _case(3, 227, 200, 64, 11, 4, 2),                  # non-square
    _case(1, 28, 20, 6, 5),
    _case(8, 10, 6, 4, 3, 2, 0),
    _case(2, 5, 9, 3, 7, 1, 1),                        # kernel = padded height
    _case(4, 16, 12, 8, 2, 5, 0),                      # stride > kernel
]


def check_conv_flops_lecture(env):
    """The lecture's layers, non-square inputs, kernel = padded input, big strides."""
    _probe(env, "conv_flops").cases(FormulaProbe.value, CONV_FLOPS_CASES)


def check_conv_flops_random(env):
    _probe(env, "conv_flops").fuzz(
        FormulaProbe.value, _as_case(strategies.conv_layer()), max_examples=60)


@st.composite
def _invalid_conv_flops(draw):
    """conv_flops arguments with one out of range (either spatial dimension, or a channel)."""
    cin, h, w, cout, k, s, p = draw(strategies.conv_layer())
    which = draw(st.sampled_from(["height", "width", "in_channels", "out_channels"]))
    if which == "in_channels":
        cin = draw(st.integers(-3, 0))
    elif which == "out_channels":
        cout = draw(st.integers(-3, 0))
    else:
        size, k, s, p, _ = draw(strategies.invalid_conv_args())
        h, w = (size, w + k) if which == "height" else (h + k, size)
    return (cin, h, w, cout, k, s, p), {}, ()


def check_conv_flops_errors(env):
    probe = _probe(env, "conv_flops")
    probe.cases(FormulaProbe.error, [
        _err(0, 32, 32, 16, 3, names=("in_channels", "in channels")),
        _err(3, 32, 32, 0, 3, names=("out_channels", "out channels")),
        _err(3, 4, 32, 16, 7, names=KERNEL_FIT),           # fits the width only
        _err(3, 32, 3, 16, 6, 4, 0, names=KERNEL_FIT),     # truncation would give 1
        _err(3, 4, 8, 4, 5, 1, 0, names=KERNEL_FIT),       # one larger than the height
        _err(3, 32, 32, 16, 3, 0, names=("stride",)),
        _err(3, 32, 32, 16, 3, 1, -1, names=("padding",)),
        _err(3, 32, 32, 16, 0, names=("kernel",)),
        _err(3, 0, 8, 4, 1, 1, 1, names=("height", "size", "input")),  # padding would fit
        _err(3, 8, 0, 4, 1, 1, 1, names=("width", "size", "input")),
    ])
    probe.fuzz(FormulaProbe.error, _invalid_conv_flops(), max_examples=30)


# ---------------------------------------------------------------------------------------
# pool_flops
# ---------------------------------------------------------------------------------------

@st.composite
def _pool_layer(draw):
    """pool_flops arguments, non-square, stride sometimes None."""
    height, kernel, stride, padding = draw(strategies.pool_args())
    width = draw(st.integers(max(1, kernel - 2 * padding), 64))
    channels = draw(st.integers(1, 64))
    return (channels, height, width, kernel, stride, padding), {}


POOL_FLOPS_CASES = [
    _case(64, 55, 55, 3, 2),           # AlexNet pool1
    _case(64, 224, 224, 2, 2),         # VGG pool1
    _case(64, 224, 224, 2),            # stride omitted: stride = kernel
    _case(3, 7, 9, 3),                 # non-square, default stride
    _case(6, 28, 20, 2, stride=None),
    _case(5, 13, 9, 3, None, 1),
    _case(2, 10, 7, 3, 2, 1),          # floor, not ceil
    _case(2, 9, 11, 2, 5, 0),          # stride > kernel
    _case(3, 4, 6, 4),                 # kernel = height
]


def check_pool_flops_lecture(env):
    _probe(env, "pool_flops").cases(FormulaProbe.value, POOL_FLOPS_CASES)


def check_pool_flops_random(env):
    _probe(env, "pool_flops").fuzz(FormulaProbe.value, _pool_layer(), max_examples=60)


@st.composite
def _invalid_pool_flops(draw):
    c, h, w, k, s, p = draw(_pool_layer())[0]
    which = draw(st.sampled_from(["channels", "padding", "height", "width"]))
    if which == "channels":
        c = draw(st.integers(-3, 0))
    elif which == "padding":
        size, k, s, p = draw(strategies.invalid_pool_padding())
        h, w = size, size + 1
    else:
        size, k, s, p = draw(strategies.invalid_conv_args())[:4]
        h, w = (size, w + k) if which == "height" else (h + k, size)
    return (c, h, w, k, s, p), {}, ()


def check_pool_flops_errors(env):
    probe = _probe(env, "pool_flops")
    probe.cases(FormulaProbe.error, [
        _err(0, 8, 8, 2, names=("channels",)),
        _err(3, 8, 8, 3, None, 2, names=("padding",)),
        _err(3, 8, 2, 3, names=KERNEL_FIT),               # fits the height only
        _err(3, 8, 8, 2, -1, names=("stride",)),
        _err(3, 8, 8, 2, 0, names=("stride",)),            # 0 is out of range, not the default
        _err(3, 8, 8, 0, names=("kernel",)),
        _err(3, 8, 8, 0, 1, names=("kernel",)),            # a kernel of 0 alone
        _err(3, 8, 8, 2, None, -1, names=("padding",)),
        _err(3, 0, 8, 2, None, 1, names=("height", "size", "input")),  # padding would fit
        _err(3, 8, 0, 2, None, 1, names=("width", "size", "input")),
    ])
    probe.fuzz(FormulaProbe.error, _invalid_pool_flops(), max_examples=30)


# ---------------------------------------------------------------------------------------
# fc_params, fc_flops, memory_kb
# ---------------------------------------------------------------------------------------

_features = st.integers(1, 100_000)


FC_PARAMS_CASES = [
    _case(9216, 4096),            # AlexNet fc6
    _case(4096, 1000),            # fc8
    _case(800, 500),              # LeNet fc1
    _case(7, 3, bias=True),
]


def check_fc_params_values(env):
    probe = _probe(env, "fc_params")
    probe.cases(FormulaProbe.value, FC_PARAMS_CASES)
    probe.fuzz(FormulaProbe.value, _as_case(st.tuples(_features, _features)), max_examples=50)


FC_PARAMS_NO_BIAS_CASES = [_case(9216, 4096, bias=False), _case(3, 7, bias=False)]


def check_fc_params_no_bias(env):
    probe = _probe(env, "fc_params")
    probe.cases(FormulaProbe.value, FC_PARAMS_NO_BIAS_CASES)
    probe.fuzz(FormulaProbe.value, st.tuples(_features, _features).map(
        lambda a: (a, {"bias": False})), max_examples=40)


def check_fc_params_errors(env):
    _probe(env, "fc_params").cases(FormulaProbe.error, [
        _err(0, 10, names=("in_features", "in features")),
        _err(-3, 4, names=("in_features", "in features")),
        _err(10, 0, names=("out_features", "out features")),
        _err(10, -1, bias=False, names=("out_features", "out features")),
    ])


FC_FLOPS_CASES = [_case(9216, 4096), _case(4096, 4096), _case(800, 500), _case(3, 7)]


def check_fc_flops_values(env):
    probe = _probe(env, "fc_flops")
    probe.cases(FormulaProbe.value, FC_FLOPS_CASES)
    probe.fuzz(FormulaProbe.value, _as_case(st.tuples(_features, _features)), max_examples=50)


def check_fc_flops_errors(env):
    _probe(env, "fc_flops").cases(FormulaProbe.error, [
        _err(0, 10, names=("in_features", "in features")),
        _err(10, 0, names=("out_features", "out features")),
        _err(-2, -2),
    ])


MEMORY_KB_CASES = [
    _case(64 * 56 * 56),          # AlexNet conv1's output
    _case(3 * 224 * 224),         # VGG's input
    _case(4096), _case(1000), _case(250), _case(1), _case(0),
]


def check_memory_kb_values(env):
    probe = _probe(env, "memory_kb")
    probe.cases(FormulaProbe.value, MEMORY_KB_CASES)
    probe.fuzz(FormulaProbe.value, _as_case(st.tuples(st.integers(0, 10**9))), max_examples=50)


def check_memory_kb_errors(env):
    _probe(env, "memory_kb").cases(FormulaProbe.error, [
        _err(-1, names=("num_elements", "elements")),
        _err(-1024, names=("num_elements", "elements")),
    ])


# The pinned valid cases of each function, which a failing check also asks where it has not
# (`FormulaProbe.more_answers`): lecture-sized, non-square, strides that leave a remainder, bias
# on and off, so the catalogued mistakes of a function give different values on them.
DIAGNOSTIC_CASES = {
    "conv_output_size": CONV_OUTPUT_SIZE_CASES,
    "pool_output_size": POOL_OUTPUT_SIZE_CASES,
    "conv_params": CONV_PARAMS_CASES + CONV_PARAMS_NO_BIAS_CASES,
    "conv_flops": CONV_FLOPS_CASES,
    "pool_flops": POOL_FLOPS_CASES,
    "fc_params": FC_PARAMS_CASES + FC_PARAMS_NO_BIAS_CASES,
    "fc_flops": FC_FLOPS_CASES,
    "memory_kb": MEMORY_KB_CASES,
}

QUESTIONS: dict[str, list[Callable[[dict], None]]] = {
    "conv_output_size": [check_conv_output_size_lecture, check_conv_output_size_random,
                         check_conv_output_size_errors],
    "pool_output_size": [check_pool_output_size_lecture, check_pool_output_size_random,
                         check_pool_output_size_errors],
    "conv_params": [check_conv_params_values, check_conv_params_no_bias,
                    check_conv_params_errors],
    "conv_flops": [check_conv_flops_lecture, check_conv_flops_random, check_conv_flops_errors],
    "pool_flops": [check_pool_flops_lecture, check_pool_flops_random, check_pool_flops_errors],
    "fc_params": [check_fc_params_values, check_fc_params_no_bias, check_fc_params_errors],
    "fc_flops": [check_fc_flops_values, check_fc_flops_errors],
    "memory_kb": [check_memory_kb_values, check_memory_kb_errors],
    "cost_table": [check_cost_table_lenet, check_cost_table_alexnet_vgg16,
                   check_cost_table_random],
}
