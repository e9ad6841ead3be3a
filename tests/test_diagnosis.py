"""The one diagnosis (`solutions.mistakes.formulas.rank`) under the three rules that ask it:
the formula probe's (most answers agreed, half the wrong ones explained), the cost table's
(the first wrong cell explained, and by a prediction that is itself wrong) and the quiz's
(the first single mistake in catalogue order, then the first pair). Toy candidates, so
the expected groups are worked out by hand."""
from __future__ import annotations

from solutions.mistakes.formulas import rank


def exact(predicted, value, _args):
    return predicted == value


# f(1) = 2, f(2) = 4, f(3) = 9 are wrong; f(4) = 4 is right (the reference is f(x) = x).
ANSWERS = [((1,), 2, True), ((2,), 4, True), ((3,), 9, True), ((4,), 4, False)]
CANDIDATES = [
    ("double", lambda a: 2 * a[0]),          # explains 2, 4
    ("square", lambda a: a[0] ** 2),         # explains 4, 9
    ("plus_one", lambda a: a[0] + 1),        # explains 2 only: under half, dropped
    ("square_below_4", lambda a: a[0] ** 2 if a[0] < 4 else 4),  # 4, 9 and the right 4
    ("never", lambda a: -1),
]


def test_probe_rule_ranks_by_answers_agreed_and_keeps_ties_in_order():
    assert rank(CANDIDATES, ANSWERS, exact) == [["square_below_4"], ["double", "square"]]


def test_first_wrong_drops_a_candidate_that_misses_the_first_wrong_answer():
    # square misses f(1) = 2 (the first wrong answer), so only double is left of that group.
    assert rank(CANDIDATES, ANSWERS, exact, first_wrong=True) == [["double"]]


def test_explains_counts_only_predictions_that_are_wrong_themselves():
    # A prediction equal to the reference (x) fits an answer but explains nothing.
    answers = [((1,), 1.0, True), ((2,), 5, True)]

    def loose(predicted, value, _):
        return predicted == value

    candidates = [("identity_at_1", lambda a: 1 if a[0] == 1 else 5)]
    assert rank(candidates, answers, loose) == [["identity_at_1"]]
    assert rank(candidates, answers, loose,
                explains=lambda predicted, value, args: predicted != args[0],
                first_wrong=True) == []
    # Without first_wrong, one of the two wrong answers is explained: half is enough.
    assert rank(candidates, answers, loose,
                explains=lambda predicted, value, args: predicted != args[0]) \
        == [["identity_at_1"]]


def test_fits_sees_each_answers_args():
    # The tolerance depends on the answer (a table's column): only the "kb" cell is loose.
    answers = [(("kb",), 1.05, True), (("n",), 3, True)]

    def fits(predicted, value, args):
        return abs(predicted - value) <= (0.1 if args[0] == "kb" else 0)

    assert rank([("m", lambda args: 1.0 if args[0] == "kb" else 3)], answers, fits) == [["m"]]
    assert rank([("m", lambda args: 1.0 if args[0] == "kb" else 3.05)], answers, fits) \
        == [["m"]]  # one of two wrong answers: kept
    assert rank([("m", lambda args: 1.2 if args[0] == "kb" else 3.05)], answers, fits) == []


def test_one_wrong_answer_gives_every_candidate_that_fits_in_order():
    # The quiz's rule: its first pick is the first candidate (catalogue order) that fits.
    candidates = [("a", lambda _: 10), ("b", lambda _: 12), ("c", lambda _: 12)]
    assert rank(candidates, [(None, 12, True)], exact) == [["b", "c"]]
    assert rank(candidates, [(None, 11, True)], exact) == []


def test_the_default_fits_is_same_value():
    candidates = [("close", lambda _: 1.0000001), ("far", lambda _: 1.1)]
    assert rank(candidates, [(None, 1, True)]) == [["close"]]
