"""The tolerance comparisons of the checks and the quizzes, pinned on their edge cases.

Each table row is what the comparison answered before they all became calls of
solutions/tolerance.py (issue 14), worked out by hand from the rule each one states: a
relative tolerance of 1e-6 (or 1e-9) with an absolute floor of 1e-9 (`same_value`, `agree`),
the quiz's absolute tolerance plus 1e-9 relative (`within`), torch-style rtol/atol on
tensors (`close`), the loss history's tolerance with equal NaNs (`_same_loss`). The rows stay
as they are: a change to the shared comparison that changes any of them changes grading.
"""
from __future__ import annotations

import collections
import math

import pytest
import torch

from autograder.checks import softmax_backprop as softmax_checks
from autograder.checks.student_values import OPAQUE, accepted, agree, fits
from quizzes.calculator import within
from solutions.mistakes.formulas import same_value

NAN, INF = math.nan, math.inf
HUGE = 10 ** 400  # an int float() cannot hold: OverflowError
Point = collections.namedtuple("Point", "x y")

SAME_VALUE = [  # (a, b, rel or None for the default 1e-6, answer)
    (1, 1.0000001, None, True),
    (1, 1.00001, None, False),
    (0, 1e-10, None, True),          # the 1e-9 absolute floor
    (0, 1e-8, None, False),
    (100, 100.5, 1e-2, True),
    (100, 100.5, None, False),
    (True, 1, None, True),           # a bool is a number here
    (None, None, None, False),
    (None, 0, None, False),
    ((1, 2), (1, 2), None, True),
    ((1, 2), [1, 2], None, True),
    ((1, 2), (1, 2, 3), None, False),
    ((1, (2, 3)), (1, (2, 3)), None, True),
    ((1, (2, 3)), (1, (2, 4)), None, False),
    ((1,), 1, None, False),          # len(1) is a TypeError
    (1, [1], None, False),
    ((1,), "1", None, True),         # the other side only needs a length: "1" reads as 1
    ((1, 2), "12", None, True),
    ("1.5", 1.5, None, True),        # float() reads strings
    ("x", "x", None, False),
    (NAN, NAN, None, False),
    (INF, INF, None, True),          # math.isclose: an infinity equals itself
    (INF, -INF, None, False),
    (INF, 1e308, None, False),
    (HUGE, HUGE, None, False),       # OverflowError
    (1, 1, -1.0, False),             # a negative tolerance: math.isclose's ValueError
    (torch.tensor(2.0), 2, None, True),
    (torch.tensor([1.0, 2.0]), 1, None, False),
]

WITHIN = [  # (value, expected, tolerance, answer)
    (10, 10.4, 0.5, True),
    (10, 10.6, 0.5, False),
    (1e9, 1e9 + 0.5, 0, True),       # 1e-9 relative to the expected: 1 in 1e9
    (1e9, 1e9 + 2, 0, False),
    (True, 1, 0, False),             # an answer that is a bool is not a number
    (1, True, 0, True),              # an expected bool is
    (None, 0, 0, False),
    (0, None, 0, False),
    ((1, 2), (1, 2), 0, True),
    ([1, 2], (1, 2), 0, True),
    ((1, 2), (1, 2, 3), 0, False),
    ((1,), 1, 0, False),
    (1, (1,), 0, False),
    ("1", (1,), 0, False),           # the answer to a shape must be a tuple or list
    ((True,), (1,), 0, False),
    ((1, (2, 3)), (1, (2, 3)), 0, True),
    ("1.5", 1.5, 0, True),
    (NAN, NAN, 0, False),
    (INF, INF, 0, False),            # inf - inf is nan
    (5, INF, 0, True),               # |5 - inf| <= 0 + 1e-9 * inf
    (INF, 5, 0, False),
    (HUGE, HUGE, 0, False),
    (Point(1, 2), (1, 2), 0, True),
]

AGREE = [  # (a, b, loose, answer)
    (1, 1, False, True),
    (1, 1.0, False, False),          # same type unless loose
    (1, 1.0, True, True),
    (True, 1, False, False),
    (True, 1, True, True),
    ((1, 2), [1, 2], False, True),
    ((1, 2), (1, 2.0), False, False),
    ((1, 2), (1, 2.0), True, True),
    ((1,), 1, True, False),
    (OPAQUE, 1, True, False),
    (1, OPAQUE, True, False),
    (1.0, 1.0 + 1e-10, False, True),  # 1e-9 relative
    (1.0, 1.0 + 1e-8, False, False),
    (0.0, 1e-10, False, True),        # 1e-9 absolute
    (NAN, NAN, False, False),
    (INF, INF, False, True),
    (Point(1, 2), (1, 2), True, False),   # a namedtuple is not a plain tuple
    (Point(1, 2), Point(1, 2), False, True),  # ... but two of one type compare by items
]

FITS = [  # (predicted, value, loose, answer)
    (56.7, 57, False, True),         # round()
    (56.7, 56, False, True),         # int()
    (56.7, 58, False, False),
    (56.5, 56, False, True),
    (56.5, 57, False, False),        # round(56.5) is 56
    (56.7, 57, True, False),         # loose (memory_kb): no rounding
    (INF, 5, False, False),
    ((1.5, 2), (1, 2), False, True),
    ((1, 2), (1,), False, False),
    (3.0, 3, True, True),
]

ACCEPTED = [  # (value, expected, kind, allow_int, answer)
    (1.0, 1.0, "kb", False, True),
    (1, 1.0, "kb", False, False),
    (1, 1.0, "kb", True, True),
    (1.0 + 1e-10, 1.0, "kb", False, True),
    (1.0 + 1e-8, 1.0, "kb", False, False),
    (0.0, 1e-13, "kb", False, True),   # 1e-12 absolute
    (0.0, 1e-11, "kb", False, False),
    (NAN, NAN, "kb", False, False),
    (INF, INF, "kb", False, True),
    (1, 1, "int", False, True),
    (True, 1, "int", False, False),
]

T = torch.tensor
TENSOR_CLOSE = [  # (a, b, rtol, atol, answer)
    (T([1.0, 2.0]), T([1.0, 2.0]), 1e-6, 1e-9, True),
    (T([1.0, 2.0]), T([1.0, 2.0, 3.0]), 1e-6, 1e-9, False),
    (T([1.0, 2.0 + 1e-7]), T([1.0, 2.0]), 1e-6, 1e-9, True),
    (T([1.0, 2.0 + 1e-5]), T([1.0, 2.0]), 1e-6, 1e-9, False),
    (T([0.0]), T([1e-10], dtype=torch.float64), 0.0, 1e-9, True),
    (T([NAN]), T([NAN]), 1e-6, 1e-9, False),
    (T([INF]), T([INF]), 1e-6, 1e-9, False),  # the student's tensor must be finite
    (T([1.0]), T([INF]), 1e-6, 1e-9, True),   # |1 - inf| <= 1e-9 + 1e-6 * inf
    (T([1.0]), T([NAN]), 1e-6, 1e-9, False),
    (T([]), T([]), 1e-6, 1e-9, True),
    (T(3.0), T(3.0), 1e-6, 1e-9, True),
    (T([[1.0, 2.0]]), T([1.0, 2.0]), 1e-6, 1e-9, False),  # no broadcasting
]

SAME_LOSS = [  # (a, b, answer); the history tolerance: atol 1e-5, rtol 1e-4
    (NAN, NAN, True),
    (INF, INF, True),
    (-INF, -INF, True),
    (INF, -INF, False),
    (1.0, INF, False),
    (INF, 1.0, False),
    (NAN, 1.0, False),
    (1.0, NAN, False),
    (1.0, 1.0 + 1.05e-4, True),
    (1.0, 1.0 + 1.2e-4, False),
    (0.0, 9e-6, True),
    (0.0, 2e-5, False),
]


@pytest.mark.parametrize("a, b, rel, answer", SAME_VALUE)
def test_same_value(a, b, rel, answer):
    assert (same_value(a, b) if rel is None else same_value(a, b, rel)) is answer


@pytest.mark.parametrize("value, expected, tol, answer", WITHIN)
def test_quiz_within(value, expected, tol, answer):
    assert within(value, expected, tol) is answer


@pytest.mark.parametrize("a, b, loose, answer", AGREE)
def test_student_values_agree(a, b, loose, answer):
    assert agree(a, b, loose) is answer


@pytest.mark.parametrize("predicted, value, loose, answer", FITS)
def test_student_values_fits(predicted, value, loose, answer):
    assert fits(predicted, value, loose) is answer


@pytest.mark.parametrize("value, expected, kind, allow_int, answer", ACCEPTED)
def test_student_values_accepted(value, expected, kind, allow_int, answer):
    assert bool(accepted(value, expected, kind, allow_int)) is answer


@pytest.mark.parametrize("a, b, rtol, atol, answer", TENSOR_CLOSE)
def test_softmax_close(a, b, rtol, atol, answer):
    assert softmax_checks.close(a, b, rtol, atol) is answer


@pytest.mark.parametrize("a, b, answer", SAME_LOSS)
def test_softmax_same_loss(a, b, answer):
    assert bool(softmax_checks._same_loss(a, b)) is answer


# --- the shared comparison itself -------------------------------------------------------

from solutions import tolerance  # noqa: E402


def test_close_relative_to_the_larger_is_math_isclose():
    assert tolerance.close(100, 101, rel=0.01)          # 1 <= 0.01 * 101
    assert not tolerance.close(100, 102, rel=0.01)
    assert tolerance.close(0, 0.5, abs=0.5)
    assert not tolerance.close(1, 1, rel=-1)             # math.isclose refuses it


def test_close_relative_to_the_expected():  # 1 <= 0.005 + 0.0099 * 101, not * 100
    assert tolerance.close(100, 101, rel=0.0099, abs=0.005, relative_to="expected")
    assert not tolerance.close(101, 100, rel=0.0099, abs=0.005, relative_to="expected")


def test_close_all_on_tensors_and_without_torch():
    class Array(list):  # the operators close_all uses, and nothing of torch's
        shape = property(lambda self: (len(self),))
        __sub__ = lambda self, o: Array(a - b for a, b in zip(self, o))  # noqa: E731
        __abs__ = lambda self: Array(abs(a) for a in self)  # noqa: E731
        __lt__ = lambda self, o: Array(a < o for a in self)  # noqa: E731
        __le__ = lambda self, o: Array(a <= b for a, b in zip(self, o))  # noqa: E731
        __rmul__ = lambda self, k: Array(k * a for a in self)  # noqa: E731
        __radd__ = lambda self, k: Array(k + a for a in self)  # noqa: E731
        all = lambda self: all(self)  # noqa: E731

    assert tolerance.close_all(Array([1.0, 2.0]), Array([1.0, 2.0 + 1e-7]), rel=1e-6, abs=0)
    assert not tolerance.close_all(Array([1.0, NAN]), Array([1.0, 2.0]), rel=1e-6, abs=0)
    assert not tolerance.close_all(Array([1.0]), Array([1.0, 2.0]), rel=1e-6, abs=0)
