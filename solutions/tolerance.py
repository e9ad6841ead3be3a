"""The one tolerance comparison: whether a value counts as an expected one, numbers,
tuples and lists of them (item by item), or tensors and arrays (`close_all`). Every check
and quiz that compares with a tolerance calls it, each with the parameters that are its
rule (tests/test_tolerance.py pins each rule on its edge cases):

- `solutions.mistakes.formulas.same_value`: rel 1e-6 (or its `rel`), abs 1e-9, relative to
  the larger of the two (math.isclose), sequences="either";
- `autograder.checks.student_values.agree` and `accepted`: the same with rel 1e-9 (and abs
  1e-12 for a float memory_kb);
- `quizzes.calculator.within`: abs = the question's tolerance, rel 1e-9 of the expected,
  infinities by arithmetic, bool answers refused;
- `autograder.checks.softmax_backprop.close`: `close_all` with its rtol and atol; its loss
  histories: relative to the expected, NaN equal to NaN.

Torch-free: tensors and arrays are handled by their own operators (`close_all`), and a
one-element tensor is a number wherever float() reads it.
"""
from __future__ import annotations

import builtins
import math

# What float() raises for a value that is no number (None, "x", 10**400, a 2-element tensor).
_NOT_A_NUMBER = (TypeError, ValueError, OverflowError)


def close(value, expected, *, rel: float = 0.0, abs: float = 0.0,  # noqa: A002 - the tolerances
          relative_to: str = "larger", nonfinite: str = "exact", nan_equal: bool = False,
          sequences: str = "both", bool_answers: bool = True) -> bool:
    """Whether `value` counts as `expected` within the tolerance; never raises.

    Numbers (anything float() reads, strings included) are within
      relative_to="larger":   |v - e| <= max(rel * max(|v|, |e|), abs)   (math.isclose)
      relative_to="expected": |v - e| <= abs + rel * |e|                 (torch, numpy)
    Infinities and NaN: nonfinite="exact", a non-finite number counts only as itself (and,
    with `nan_equal`, NaN as NaN); nonfinite="arithmetic", the formula as IEEE computes it
    (inf - inf is NaN: no match; a finite value is within |x - inf| <= abs + rel * inf).
    A value float() cannot read (None, a string that is no number, an int too large for a
    float) counts as nothing, and so does anything under a negative tolerance relative to
    the larger (math.isclose refuses one).

    Tuples and lists are compared item by item (recursively, same length). sequences="both":
    a sequence counts only as a sequence; sequences="either": when either side is a tuple or
    list, the other needs only a length and items (so (1,) counts as "1", as it always did for
    same_value). `bool_answers=False`: a bool `value` is not a number (True is no answer 1);
    an expected bool still is one."""
    seq = (tuple, list)
    if isinstance(value, seq) or isinstance(expected, seq):
        if sequences == "both" and not (isinstance(value, seq) and isinstance(expected, seq)):
            return False
        try:
            return len(value) == len(expected) and all(
                close(v, e, rel=rel, abs=abs, relative_to=relative_to, nonfinite=nonfinite,
                      nan_equal=nan_equal, sequences=sequences, bool_answers=bool_answers)
                for v, e in zip(value, expected))
        except TypeError:
            return False
    if not bool_answers and isinstance(value, bool):
        return False
    if relative_to == "larger" and (rel < 0 or abs < 0):
        return False  # math.isclose's ValueError
    try:
        v, e = float(value), float(expected)
    except _NOT_A_NUMBER:
        return False
    if nonfinite == "exact" and not (math.isfinite(v) and math.isfinite(e)):
        return v == e or (nan_equal and math.isnan(v) and math.isnan(e))
    return within_tolerance(builtins.abs(v - e), v, e, rel, abs, relative_to)


def within_tolerance(error, value, expected, rel: float, abs: float,  # noqa: A002
                     relative_to: str = "expected"):
    """`error` (|value - expected|) within the tolerance, for numbers or elementwise for
    tensors and arrays (it gives what their `<=` gives)."""
    if relative_to == "larger":
        return (error <= rel * builtins.abs(expected)) | (error <= rel * builtins.abs(value)) \
            | (error <= abs)
    if relative_to == "expected":
        return error <= abs + rel * builtins.abs(expected)
    raise ValueError(f"relative_to must be 'larger' or 'expected', not {relative_to!r}")


def close_all(value, expected, *, rel: float, abs: float) -> bool:  # noqa: A002
    """Tensors or arrays: the same shape, every entry of `value` finite, and every entry
    within abs + rel * |expected| of the expected (torch.allclose's rule, but a NaN or an
    infinity the student gives is never close). Uses only the tensors' own operators."""
    if value.shape != expected.shape:
        return False
    if not bool((builtins.abs(value) < math.inf).all()):  # NaN and infinities fail
        return False
    return bool(within_tolerance(builtins.abs(value - expected), value, expected, rel, abs,
                                 "expected").all())
