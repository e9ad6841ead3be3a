"""The catalogue of students' mistakes in the lecture's cost formulas, written once.

Each entry is a wrong version of one function of `solutions.cnn_costs`, with the same
signature. Four features read this one list:
- the autograder's feedback names the entry whose wrong value matches a student's answer;
- quiz distractors are the values the entries give for a question;
- `cnnlab quiz grade` names the entry behind each wrong response;
- `cnnlab mutants` swaps an entry into the reference and checks the hidden tests catch it.
Adding an entry here improves all four.
"""
from __future__ import annotations

import functools
import inspect
import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

from solutions import cnn_costs
from solutions.cnn_costs import FORMULAS


@dataclass(frozen=True)
class FormulaMistake:
    id: str
    target: str          # the cnn_costs function this corrupts
    description: str     # what the student did, phrased for the student
    wrong: Callable      # same signature as the target, returns the wrong value


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


CATALOGUE: list[FormulaMistake] = [
    # output sizes
    FormulaMistake("size_no_plus_one", "conv_output_size",
                   "forgot the +1 in floor((W - K + 2P) / S) + 1", _no_plus_one[0]),
    FormulaMistake("size_one_side_padding", "conv_output_size",
                   "added the padding once instead of on both sides (2P)", _one_side_pad[0]),
    FormulaMistake("size_ceil", "conv_output_size",
                   "rounded the division up instead of taking the floor", _ceil[0]),
    FormulaMistake("size_true_division", "conv_output_size",
                   "used / instead of floor division, giving a float", _true_div[0]),
    FormulaMistake("size_ignores_stride", "conv_output_size",
                   "did not divide by the stride", _no_stride[0]),
    FormulaMistake("size_ignores_padding", "conv_output_size",
                   "left the padding out of the output size (W - K + 2P)", _no_padding[0]),
    FormulaMistake("pool_size_no_plus_one", "pool_output_size",
                   "forgot the +1 in the pooling output size", _no_plus_one[1]),
    FormulaMistake("pool_stride_default_one", "pool_output_size",
                   "took stride=None as stride 1; torch's default stride is the kernel size",
                   _pool_stride_one),
    FormulaMistake("pool_size_ceil", "pool_output_size",
                   "rounded the pooling division up instead of taking the floor", _ceil[1]),
    FormulaMistake("pool_size_ignores_padding", "pool_output_size",
                   "left the padding out of the pooling output size (W - K + 2P)",
                   _no_padding[1]),
    # parameters
    FormulaMistake("conv_params_no_bias", "conv_params",
                   "forgot the Cout bias terms",
                   lambda in_channels, out_channels, kernel, bias=True:
                   out_channels * in_channels * kernel * kernel),
    FormulaMistake("conv_params_ignores_bias_flag", "conv_params",
                   "counted the bias even with bias=False",
                   lambda in_channels, out_channels, kernel, bias=True:
                   out_channels * in_channels * kernel * kernel + out_channels),
    FormulaMistake("conv_params_no_cin", "conv_params",
                   "forgot that each filter spans all Cin input channels",
                   lambda in_channels, out_channels, kernel, bias=True:
                   out_channels * kernel * kernel + (out_channels if bias else 0)),
    FormulaMistake("conv_params_kernel_not_squared", "conv_params",
                   "used K instead of K*K for the kernel's area",
                   lambda in_channels, out_channels, kernel, bias=True:
                   out_channels * in_channels * kernel + (out_channels if bias else 0)),
    FormulaMistake("conv_params_bias_per_input", "conv_params",
                   "counted one bias per input channel (Cin) instead of per filter (Cout)",
                   lambda in_channels, out_channels, kernel, bias=True:
                   out_channels * in_channels * kernel * kernel + (in_channels if bias else 0)),
    FormulaMistake("fc_params_no_bias", "fc_params",
                   "forgot the bias of the fully connected layer",
                   lambda in_features, out_features, bias=True: in_features * out_features),
    FormulaMistake("fc_params_ignores_bias_flag", "fc_params",
                   "counted the bias even with bias=False",
                   lambda in_features, out_features, bias=True:
                   in_features * out_features + out_features),
    # FLOPs
    FormulaMistake("conv_flops_input_size", "conv_flops",
                   "multiplied by the input's H x W instead of the output's H' x W'",
                   lambda in_channels, height, width, out_channels, kernel, stride=1, padding=0:
                   out_channels * height * width * in_channels * kernel * kernel),
    FormulaMistake("conv_flops_no_cin", "conv_flops",
                   "forgot that each output element sums over all Cin channels",
                   lambda in_channels, height, width, out_channels, kernel, stride=1, padding=0:
                   out_channels * cnn_costs.conv_output_size(height, kernel, stride, padding)
                   * cnn_costs.conv_output_size(width, kernel, stride, padding)
                   * kernel * kernel),
    FormulaMistake("conv_flops_mul_and_add", "conv_flops",
                   "counted a multiply and an add as 2 FLOPs; the lecture counts 1",
                   lambda *a, **kw: 2 * cnn_costs.conv_flops(*a, **kw)),
    FormulaMistake("conv_flops_with_bias", "conv_flops",
                   "added the bias to the FLOPs (Cin*K*K + 1 per output element); the lecture "
                   "counts the Cin*K*K multiply-adds only",
                   lambda in_channels, height, width, out_channels, kernel, stride=1, padding=0:
                   out_channels * cnn_costs.conv_output_size(height, kernel, stride, padding)
                   * cnn_costs.conv_output_size(width, kernel, stride, padding)
                   * (in_channels * kernel * kernel + 1)),
    FormulaMistake("conv_flops_unrounded_size", "conv_flops",
                   "computed H' and W' with / instead of floor division, so the FLOPs use an "
                   "unrounded output size: take floor((W - K + 2P) / S) + 1 (reuse "
                   "conv_output_size)",
                   lambda in_channels, height, width, out_channels, kernel, stride=1, padding=0:
                   out_channels * _true_div[0](height, kernel, stride, padding)
                   * _true_div[0](width, kernel, stride, padding) * in_channels * kernel * kernel),
    FormulaMistake("pool_flops_no_window", "pool_flops",
                   "forgot the K*K inputs each pooling output looks at",
                   lambda channels, height, width, kernel, stride=None, padding=0:
                   channels * cnn_costs.pool_output_size(height, kernel, stride, padding)
                   * cnn_costs.pool_output_size(width, kernel, stride, padding)),
    FormulaMistake("pool_flops_zero", "pool_flops",
                   "counted pooling as free; the lecture counts (C*H'*W') * (K*K)",
                   lambda *a, **kw: 0),
    FormulaMistake("pool_flops_unrounded_size", "pool_flops",
                   "computed H' and W' with / instead of floor division, so the FLOPs use an "
                   "unrounded output size: take floor((W - K + 2P) / S) + 1 (reuse "
                   "pool_output_size)",
                   lambda channels, height, width, kernel, stride=None, padding=0:
                   channels * _true_div[1](height, kernel, stride, padding)
                   * _true_div[1](width, kernel, stride, padding) * kernel * kernel),
    FormulaMistake("fc_flops_with_bias", "fc_flops",
                   "added the bias to the FLOPs; the lecture counts Cin*Cout multiply-adds",
                   lambda in_features, out_features: in_features * out_features + out_features),
    FormulaMistake("fc_flops_mul_and_add", "fc_flops",
                   "counted a multiply and an add as 2 FLOPs; the lecture counts 1",
                   lambda in_features, out_features: 2 * in_features * out_features),
    # memory
    FormulaMistake("memory_bytes", "memory_kb",
                   "gave bytes, not KB: divide elements x 4 bytes by 1024",
                   lambda num_elements: num_elements * 4),
    FormulaMistake("memory_kb_1000", "memory_kb",
                   "divided by 1000; the lecture's KB is 1024 bytes",
                   lambda num_elements: num_elements * 4 / 1000),
    FormulaMistake("memory_no_bytes_per_element", "memory_kb",
                   "forgot the 4 bytes of each float32 element",
                   lambda num_elements: num_elements / 1024),
    FormulaMistake("memory_mb", "memory_kb",
                   "gave MB (divided by 1024 twice), not KB",
                   lambda num_elements: num_elements * 4 / 1024 / 1024),
]

BY_ID: dict[str, FormulaMistake] = {m.id: m for m in CATALOGUE}


def for_target(target: str) -> list[FormulaMistake]:
    return [m for m in CATALOGUE if m.target == target]


def _carried(size):
    """A size as a student's next layer reads it: 56.0 is 56, 55.25 stays fractional."""
    return int(size) if isinstance(size, float) and size.is_integer() else size


def formulas_with(*mistakes: FormulaMistake) -> SimpleNamespace:
    """The reference formulas with each of `mistakes` swapped in, consistently: a wrong
    output size also feeds the FLOPs of the layer, as it would in a student's own table.
    Two mistakes must be in different formulas (a student who makes both, e.g. forgets the
    + 1 and gives bytes for KB); a size mistake goes in first, so another formula's mistake
    is what that formula does with the wrong size."""
    if len({m.target for m in mistakes}) != len(mistakes):
        raise ValueError("two mistakes in the same formula")
    f = SimpleNamespace(**vars(FORMULAS))
    sizes_first = sorted(mistakes, key=lambda m: m.target not in _SIZE_FORMULAS)
    for mistake in sizes_first:
        _swap_in(f, mistake)
    return f


_SIZE_FORMULAS = ("conv_output_size", "pool_output_size")


def _swap_in(f: SimpleNamespace, mistake: FormulaMistake) -> None:
    setattr(f, mistake.target, mistake.wrong)
    if mistake.target in _SIZE_FORMULAS:
        # A size from true division is a float. The reference formulas take ints only, so
        # 56.0 goes on as 56, and a fractional size still gets its layer's memory (linear
        # in the element count); a layer after a fractional size raises ValueError.
        setattr(f, mistake.target,
                lambda *a, **kw: _carried(mistake.wrong(*a, **kw)))
        f.memory_kb = lambda n: (FORMULAS.memory_kb(1) * n if isinstance(n, float)
                                 else FORMULAS.memory_kb(n))
    if mistake.target == "conv_output_size":
        f.conv_flops = lambda cin, h, w, cout, k, s=1, p=0: (
            cout * f.conv_output_size(h, k, s, p) * f.conv_output_size(w, k, s, p) * cin * k * k)
    if mistake.target == "pool_output_size":
        f.pool_flops = lambda c, h, w, k, s=None, p=0: (
            c * f.pool_output_size(h, k, s, p) * f.pool_output_size(w, k, s, p) * k * k)


def wrong_table(mistake: FormulaMistake, input_shape: tuple, layers: list[dict]) -> list[dict]:
    """The cost table a student with this one mistake would write. ValueError where the
    mistake leaves a size no later layer can take (a fractional size from true division)."""
    return cnn_costs.cost_table_with(formulas_with(mistake), input_shape, layers)


def same_value(a, b, rel: float = 1e-6) -> bool:
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        try:
            return len(a) == len(b) and all(same_value(x, y, rel) for x, y in zip(a, b))
        except TypeError:
            return False
    try:
        return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=1e-9)
    except (TypeError, ValueError, OverflowError):
        return False


def rank(candidates: list, answers: list, fits: Callable = same_value) -> list[list]:
    """The candidate mistakes that explain a student's answers, in groups, best first.

    `candidates`: [(item, wrong)], `wrong(args)` the value a student with that mistake gives
    (it must not raise). `answers`: [(args, value, is_wrong)], every answer seen, right ones
    included. `fits(predicted, value)`: whether a predicted value is the student's.

    A candidate is kept when it reproduces at least one wrong answer and at least half of
    them (one that explains a few is a coincidence: an H x H for H x W can happen to double
    the FLOPs). Kept ones are ranked by how many of ALL the answers they reproduce, so the
    entry whose wrong value matches on every input probed comes first, ahead of one that
    only agrees where the inputs cannot tell them apart (a single 1x1 call, where 0 is
    "forgot the +1" and "counted pooling as free" alike). Equal counts share a group, in
    candidate order: the caller names all of a group or asks for more answers."""
    wrong_count = sum(1 for _, _, is_wrong in answers if is_wrong)
    kept = []
    for order, (item, wrong) in enumerate(candidates):
        agreed = explained = 0
        for args, value, is_wrong in answers:
            if fits(wrong(args), value):
                agreed += 1
                explained += is_wrong
        if explained and 2 * explained >= wrong_count:
            kept.append((-agreed, order, item))
    groups: list[tuple[int, list]] = []
    for agreed, _, item in sorted(kept, key=lambda k: k[:2]):
        if groups and groups[-1][0] == agreed:
            groups[-1][1].append(item)
        else:
            groups.append((agreed, [item]))
    return [items for _, items in groups]


_FAILED = object()  # what a wrong formula gives where it raises: no value fits it


@functools.lru_cache(maxsize=None)
def candidates(target: str) -> tuple:
    """(mistake, wrong version of `target`, whether the mistake is in `target` itself): the
    target's own entries first, as written (a float from / stays a float), then the entries
    in a formula that `target` reuses (a wrong output size feeds conv_flops and pool_flops).
    The wrong versions take the target's arguments by position."""
    base = getattr(FORMULAS, target)
    own, reused = [], []
    for m in CATALOGUE:
        if m.target == target:
            own.append((m, m.wrong, True))
            continue
        fn = getattr(formulas_with(m), target)
        if fn is not base:
            reused.append((m, fn, False))
    return tuple(own + reused)


def _quietly(fn):
    def wrong(args):
        try:
            return fn(*args)
        except Exception:  # noqa: BLE001 - a wrong formula may fail where the right one does not
            return _FAILED
    return wrong


def diagnose_calls(target: str, calls: list[tuple[tuple, dict, object]]) -> FormulaMistake | None:
    """The catalogued mistake that best explains a student's answers to several calls of
    `target` [(args, kwargs, value)] (see `rank`), or None: an entry of `target` itself or,
    where it fits better, one in an output size that `target` reuses. More calls tell more
    mistakes apart: pass every answer seen, right ones too."""
    reference = getattr(cnn_costs, target)
    signature = inspect.signature(reference)
    answers = []
    for args, kwargs, value in calls:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        full = tuple(bound.arguments.values())
        answers.append((full, value, not same_value(reference(*full), value)))
    groups = rank([(m, _quietly(fn)) for m, fn, _ in candidates(target)], answers)
    return groups[0][0] if groups else None


def diagnose(target: str, args: tuple, kwargs: dict, value) -> FormulaMistake | None:
    """The first catalogued mistake that reproduces `value` where the reference does not
    (`target`'s own entries before those of a size it reuses), or None. One call often fits
    several entries; `diagnose_calls` weighs more. Only the mistake's description should
    reach a student, never the expected value."""
    return diagnose_calls(target, [(args, kwargs, value)])
