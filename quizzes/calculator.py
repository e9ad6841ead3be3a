"""The one calculator behind every quiz question: a question's value computed from its
layers with a namespace of formulas. With the reference formulas it is the answer; with a
catalogued mistake swapped in (solutions.mistakes.formulas.formulas_with) it is what a
student with that mistake would answer. Templates, distractors and `quiz grade` all go through here."""
from __future__ import annotations

import math
from types import SimpleNamespace

from quizzes.model import ASKED_FIELDS, SIZE_FORMULAS
from solutions import cnn_costs
from solutions.cnn_costs import FORMULAS
from solutions import tolerance as tol
from solutions.mistakes import formulas

RECEPTIVE_FIELD_SEARCH = 256  # largest input size tried when searching a receptive field


def _table(f, input_shape, layers):
    return cnn_costs.cost_table_with(f, tuple(input_shape), layers)


def _receptive_field(f, input_shape, layers, layer):
    """The smallest square input that the stack (up to `layer`) maps to a 1x1 output: the
    receptive field of one output element, for stride-1 stacks without padding."""
    c = input_shape[0]
    for size in range(1, RECEPTIVE_FIELD_SEARCH + 1):
        try:
            shape = _table(f, (c, size, size), layers[: layer + 1])[-1]["output_shape"]
        except (ValueError, TypeError, ZeroDivisionError):
            continue
        if len(shape) == 3 and shape[1] == 1 and shape[2] == 1:
            return size
        if len(shape) == 3 and shape[1] > 1:
            return None  # outputs only grow from here
    return None


def evaluate(f, input_shape, layers, asked: dict, extra: dict | None = None):
    """The asked value of a question, computed with the formulas in `f`.

    Fields (quizzes.model.ASKED_FIELDS), by their rule: "row", a cost-table column
    (`output_shape`, `memory_kb`, `params`, `flops`) of layer `asked["layer"]`; "total", a
    column summed over all layers (`total_params`, `total_flops`); `receptive_field` of
    the stack up to the layer; "block" (`block_params`): all layers plus the shortcut layers
    in `extra["shortcut"]` (a residual block's projection, fed the same input)."""
    field, layer = asked["field"], asked.get("layer")
    spec = ASKED_FIELDS.get(field)
    if spec is None:
        raise ValueError(f"unknown asked field {field!r}")
    if spec.rule == "row":
        return _table(f, input_shape, layers[: layer + 1])[layer][spec.column]
    if spec.rule == "total":
        return sum(row[spec.column] for row in _table(f, input_shape, layers))
    if spec.rule == "receptive_field":
        return _receptive_field(f, input_shape, layers, layer)
    if spec.rule == "block":
        shortcut = (extra or {}).get("shortcut") or []
        rows = _table(f, input_shape, layers) + (_table(f, input_shape, shortcut) if shortcut else [])
        return sum(row[spec.column] for row in rows)
    raise ValueError(f"asked field {field!r} has an unknown rule {spec.rule!r}")


def answer(input_shape, layers, asked, extra=None):
    return evaluate(FORMULAS, input_shape, layers, asked, extra)


class _Recorder(SimpleNamespace):
    """The reference formulas, noting which of them a computation calls."""

    def __init__(self):
        used: set[str] = set()

        def wrap(name, fn):
            def call(*a, **kw):
                used.add(name)
                return fn(*a, **kw)
            return call
        super().__init__(**{n: wrap(n, fn) for n, fn in vars(FORMULAS).items()})
        self.__dict__["_used"] = used


_FORMULAS_WITH: dict[str, SimpleNamespace] = {}


def _formulas_with(mistake):
    f = _FORMULAS_WITH.get(mistake.id)
    if f is None:
        f = _FORMULAS_WITH[mistake.id] = formulas.formulas_with(mistake)
    return f


# Which formulas an asked field can depend on (ASKED_FIELDS' `formulas`): a mistake
# elsewhere cannot change it, so it is not evaluated (the generator's hot path). Sizes feed
# params only through an fc layer, whose in_features is the flattened size.
_SIZES = SIZE_FORMULAS


def _relevant(field: str, layers) -> set[str] | None:
    spec = ASKED_FIELDS.get(field)
    if spec is None:
        return None  # unknown field: try every mistake
    names = set(spec.formulas)
    if "fc_params" in names and any(layer.get("type") == "fc" for layer in layers):
        names = names | _SIZES
    return names


def within(value, expected, tolerance: float) -> bool:
    """Whether `value` counts as `expected`: every number within the tolerance (plus 1e-9
    of the expected, for round-off), a shape item by item; a bool is no answer."""
    return tol.close(value, expected, rel=1e-9, abs=tolerance, relative_to="expected",
                     nonfinite="arithmetic", bool_answers=False)


def wrong_values(input_shape, layers, asked, extra=None, tolerance: float = 0.0):
    """[(mistake id, value)] for each catalogued mistake that changes this question's value,
    in catalogue order, each value once (the first mistake that gives it names it)."""
    return answer_and_wrong_values(input_shape, layers, asked, extra, lambda _: tolerance)[1]


def answer_and_wrong_values(input_shape, layers, asked, extra=None, tolerance_of=None):
    """(answer, wrong_values) in one pass; `tolerance_of(answer)` gives the tolerance."""
    rec = _Recorder()
    correct = evaluate(rec, input_shape, layers, asked, extra)
    tolerance = tolerance_of(correct) if tolerance_of else 0.0
    used = rec._used
    relevant = _relevant(asked["field"], layers)
    # A mistake outside the size formulas leaves every shape right, so it can only change
    # the asked row: evaluate that row alone, on its (reference) input shape.
    row_alone = None
    field, index = asked["field"], asked.get("layer")
    if field in ASKED_FIELDS and ASKED_FIELDS[field].rule == "row" and index:
        before = _table(FORMULAS, input_shape, layers[:index])[-1]["output_shape"]
        if len(before) == 3:
            row_alone = (before, layers[index: index + 1], {"layer": 0, "field": field})
    out: list[tuple[str, object]] = []
    for m in formulas.CATALOGUE:
        # formulas_with also rewires the formulas that reuse the one swapped in (the FLOPs
        # take the output size).
        if m.target not in used and not (formulas.REUSED_BY[m.target] & used):
            continue
        if relevant is not None and m.target not in relevant:
            continue
        try:
            if row_alone and m.target not in _SIZES:
                value = evaluate(_formulas_with(m), *row_alone, extra)
            else:
                value = evaluate(_formulas_with(m), input_shape, layers, asked, extra)
        except (ValueError, TypeError, ZeroDivisionError, KeyError, IndexError):
            continue
        if value is None or _not_finite(value):
            continue
        if within(value, correct, tolerance) or any(within(value, v, tolerance) for _, v in out):
            continue
        out.append((m.id, value))
    return correct, out


def pair_values(input_shape, layers, asked, extra=None, tolerance: float = 0.0):
    """[("id1+id2", value)] for each pair of the mistakes that change this question's value
    on their own (wrong_values), in different formulas, whose value together is new: what a
    student who makes both gives. Grading asks for these only when no single mistake
    explains an answer."""
    correct, singles = answer_and_wrong_values(input_shape, layers, asked, extra,
                                               lambda _: tolerance)
    seen = [correct] + [v for _, v in singles]
    out: list[tuple[str, object]] = []
    ids = [mistake_id for mistake_id, _ in singles]
    for i, first in enumerate(ids):
        for second in ids[i + 1:]:
            a, b = formulas.BY_ID[first], formulas.BY_ID[second]
            if a.target == b.target:
                continue
            try:
                value = evaluate(formulas.formulas_with(a, b), input_shape, layers, asked, extra)
            except (ValueError, TypeError, ZeroDivisionError, KeyError, IndexError):
                continue
            if value is None or _not_finite(value) or any(within(value, v, tolerance)
                                                          for v in seen):
                continue
            seen.append(value)
            out.append((f"{first}+{second}", value))
    return out


def _not_finite(value) -> bool:
    if isinstance(value, (tuple, list)):
        return any(_not_finite(v) for v in value)
    return isinstance(value, float) and not math.isfinite(value)


def near_values(value, rng) -> list:
    """Plausible wrong values near `value` for when the catalogue gives too few distractors;
    none of them is a named mistake."""
    if isinstance(value, (tuple, list)):
        c, *spatial = value
        out = [(c, *(s + 1 for s in spatial)), (c, *(max(1, s - 1) for s in spatial)),
               (c * 2, *spatial), (max(1, c // 2), *spatial),
               (c, *(s * 2 for s in spatial)), (c, *(max(1, s // 2) for s in spatial))]
        return [tuple(v) for v in out]
    if isinstance(value, int):
        step = max(1, round(value * rng.choice([0.1, 0.25, 0.5])))
        return [value + step, max(0, value - step), value * 2, max(0, value // 2),
                value + 1, value + 2, max(0, value - 1)]
    return [value * 1.1, value * 0.9, value * 2, value / 2, value * 4]


def next_shape(shape, layer) -> tuple:
    """The output shape of one layer (validating it), for templates chaining layers."""
    return cnn_costs.layer_costs(tuple(shape), layer)[0]


def cost_rows(input_shape, layers) -> list[dict]:
    """The reference cost table (for showing the known cells of a table question)."""
    return _table(FORMULAS, input_shape, layers)
