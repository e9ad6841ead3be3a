"""The formula mistakes at work: a namespace of the lecture's formulas with mistakes swapped
in, the whole wrong cost table they give, and the diagnosis (which catalogued mistake
explains a student's answers). Read by the cost checks, the quizzes and `cnnlab mutants`.

CATALOGUE here is the catalogue's formula mistakes (solutions/mistakes/cnn_costs.py), the
ones these functions can swap in."""
from __future__ import annotations

import functools
import inspect
from types import SimpleNamespace
from typing import Callable

from solutions import cnn_costs, tolerance
from solutions.cnn_costs import FORMULAS
from solutions.mistakes.cnn_costs import FORMULA_MISTAKES
from solutions.mistakes.mistake import Mistake

CATALOGUE: list[Mistake] = FORMULA_MISTAKES
BY_ID: dict[str, Mistake] = {m.id: m for m in CATALOGUE}


def for_target(target: str) -> list[Mistake]:
    return [m for m in CATALOGUE if m.target == target]


def _carried(size):
    """A size as a student's next layer reads it: 56.0 is 56, 55.25 stays fractional."""
    return int(size) if isinstance(size, float) and size.is_integer() else size


def formulas_with(*mistakes: Mistake) -> SimpleNamespace:
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


def _reused_by() -> dict[str, frozenset]:
    """Formula -> the formulas whose reference code calls it (conv_flops calls
    conv_output_size): a mistake in the first changes the others too."""
    return {name: frozenset(other for other, fn in vars(FORMULAS).items()
                            if name in fn.__code__.co_names)
            for name in vars(FORMULAS)}


REUSED_BY: dict[str, frozenset] = _reused_by()

# A formula that reuses another, recomputed with the namespace's version of it (a wrong size
# as is, unvalidated, as a student's own FLOPs would take it).
_RECOMPUTED = {
    "conv_flops": lambda f: lambda cin, h, w, cout, k, s=1, p=0: (
        cout * f.conv_output_size(h, k, s, p) * f.conv_output_size(w, k, s, p) * cin * k * k),
    "pool_flops": lambda f: lambda c, h, w, k, s=None, p=0: (
        c * f.pool_output_size(h, k, s, p) * f.pool_output_size(w, k, s, p) * k * k),
}


def _swap_in(f: SimpleNamespace, mistake: Mistake) -> None:
    setattr(f, mistake.target, mistake.wrong)
    if mistake.target in _SIZE_FORMULAS:
        # A size from true division is a float. The reference formulas take ints only, so
        # 56.0 goes on as 56, and a fractional size still gets its layer's memory (linear
        # in the element count); a layer after a fractional size raises ValueError.
        setattr(f, mistake.target,
                lambda *a, **kw: _carried(mistake.wrong(*a, **kw)))
        f.memory_kb = lambda n: (FORMULAS.memory_kb(1) * n if isinstance(n, float)
                                 else FORMULAS.memory_kb(n))
    for name in REUSED_BY[mistake.target]:
        setattr(f, name, _RECOMPUTED[name](f))


def wrong_table(mistake: Mistake, input_shape: tuple, layers: list[dict]) -> list[dict]:
    """The cost table a student with this one mistake would write. ValueError where the
    mistake leaves a size no later layer can take (a fractional size from true division)."""
    return cnn_costs.cost_table_with(formulas_with(mistake), input_shape, layers)


def same_value(a, b, rel: float = 1e-6) -> bool:
    """The catalogue's "same value": math.isclose with an absolute floor of 1e-9, item by
    item for tuples and lists (solutions/tolerance.py)."""
    return tolerance.close(a, b, rel=rel, abs=1e-9, sequences="either")


def _same(predicted, value, args) -> bool:
    return same_value(predicted, value)


def rank(candidates: list, answers: list, fits: Callable = _same, *,
         explains: Callable | None = None, first_wrong: bool = False) -> list[list]:
    """The diagnosis: which candidate mistakes explain a student's answers, in groups, best
    first. The formula probe, the cost-table check and `quiz grade` all ask it, each with
    its own candidates and tolerance.

    `candidates`: [(item, wrong)], `wrong(args)` the value a student with that mistake gives
    (it must not raise). `answers`: [(args, value, is_wrong)], every answer seen, right ones
    included. `fits(predicted, value, args)`: whether a predicted value is the student's
    answer (`same_value` by default; the args say which answer, e.g. a table's cell, whose
    column sets the tolerance). `explains(predicted, value, args)`: whether a prediction
    that fits a wrong answer explains it (by default it does; a table asks that the
    prediction is itself wrong, not a right value the student's answer also fits).
    `first_wrong`: a kept candidate must explain the first wrong answer (the cell a
    table's feedback names).

    A candidate is kept when it explains at least one wrong answer and at least half of
    them (one that explains a few is a coincidence: an H x H for H x W can happen to double
    the FLOPs). Kept ones are ranked by how many of ALL the answers they reproduce, so the
    entry whose wrong value matches on every input probed comes first, ahead of one that
    only agrees where the inputs cannot tell them apart (a single 1x1 call, where 0 is
    "forgot the +1" and "counted pooling as free" alike). Equal counts share a group, in
    candidate order: the caller names all of a group or asks for more answers. With one
    wrong answer alone, the first group is every candidate that gives it, in order."""
    wrong_count = sum(1 for _, _, is_wrong in answers if is_wrong)
    kept = []
    for order, (item, wrong) in enumerate(candidates):
        agreed = explained = 0
        first = None  # whether it explains the first wrong answer
        for args, value, is_wrong in answers:
            predicted = wrong(args)
            fitted = bool(fits(predicted, value, args))
            agreed += fitted
            if is_wrong:
                hit = fitted and (explains is None or bool(explains(predicted, value, args)))
                explained += hit
                first = hit if first is None else first
        if first_wrong and not first:
            continue
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


def diagnose_calls(target: str, calls: list[tuple[tuple, dict, object]]) -> Mistake | None:
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


def diagnose(target: str, args: tuple, kwargs: dict, value) -> Mistake | None:
    """The first catalogued mistake that reproduces `value` where the reference does not
    (`target`'s own entries before those of a size it reuses), or None. One call often fits
    several entries; `diagnose_calls` weighs more. Only the mistake's description should
    reach a student, never the expected value."""
    return diagnose_calls(target, [(args, kwargs, value)])
