"""How passed checks become points: one rule for every engine and every output.

A question's score is its points times the share of its hidden checks that passed, rounded
half up to `PLACES` decimals; a submission's total is the sum of its questions' rounded
scores, so the parts always add up to the total that is shown. The sandbox engine
(autograder/runner.py), the Otter engine (autograder/otter_engine.py), Gradescope's results.json,
`cnnlab grade`'s text, CSV and JSON, and the demo all take their numbers from here, and
print them with `format_points`.

Standard library only: `cnnlab grade --help` must not pay for more.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

PLACES = 2
_QUANTUM = Decimal(1).scaleb(-PLACES)


def _rounded(value) -> Decimal:
    return Decimal(str(value)).quantize(_QUANTUM, rounding=ROUND_HALF_UP)


def question_score(possible: float, passed: int, checks: int) -> float:
    """Points for a question with `passed` of its `checks` checks passing."""
    if checks <= 0:
        return 0.0
    exact = Decimal(str(possible)) * passed / checks
    return float(exact.quantize(_QUANTUM, rounding=ROUND_HALF_UP))


def points(value: float) -> float:
    """A number of points as shown: rounded half up to PLACES decimals (Otter's own sums
    carry float noise, 2/3 + 2/3 + 2/3 = 1.9999999999999996)."""
    return float(_rounded(value))


def total(scores: Iterable[float]) -> float:
    """The sum of (already rounded) question scores, without float noise: 0.1 + 0.2 = 0.3."""
    return float(sum((_rounded(s) for s in scores), Decimal(0)))


def percent(total_points: float, possible: float) -> float:
    """The total as a percentage of the possible points, one decimal."""
    if not possible:
        return 0.0
    exact = Decimal(str(total_points)) * 100 / Decimal(str(possible))
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def format_points(value: float) -> str:
    """'6.33', '10.5', '14': at most PLACES decimals, no trailing zeros."""
    text = f"{_rounded(value):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
