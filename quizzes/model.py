"""What a quiz is, independent of any format: questions with their answer, tolerance and
choices, and the fields a question may ask (ASKED_FIELDS). Templates build these; the
exports (QTI, Markdown, JSON key) only read them."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AskedField:
    """A value a question may ask for (its `asked["field"]`): how it is computed, what kind
    of answer it takes and the words people see for it."""
    rule: str                 # how quizzes.calculator computes it: "row" (the cost-table
                              # column of that name), "total" (a column summed over all
                              # layers), "receptive_field", "block" (convs and shortcut)
    column: str | None        # the cost-table column it reads ("row", "total", "block")
    per_layer: bool           # whether it needs asked["layer"], the layer's index
    answer: str               # "shape" (whole dims >= 1), "count" (whole >= 0), "amount"
                              # (a real number > 0)
    formulas: frozenset       # the lecture formulas (solutions.cnn_costs.FORMULAS) its
                              # value can depend on: a mistake in another cannot change it
    asks: str                 # the instructor's key: what the question asks
    heading: str | None = None  # its column in a cost table shown to students
    words: str | None = None  # the question, after a one-layer prompt ("its output")


# The formulas of the output sizes: every shape, so every later layer's costs, depend on them.
SIZE_FORMULAS = frozenset({"conv_output_size", "pool_output_size"})
_SIZES = SIZE_FORMULAS
_PARAMS = frozenset({"conv_params", "fc_params"})  # sizes too, through an fc's in_features
_FLOPS = _SIZES | {"conv_flops", "pool_flops", "fc_flops"}

# The one registry of asked fields: the calculator, the key's reader (quizzes/csvio.py), the
# templates and the Markdown key read it. A new field is a row here (and, for a new rule,
# its computation in quizzes/calculator.py).
ASKED_FIELDS: dict[str, AskedField] = {
    "output_shape": AskedField(
        "row", "output_shape", True, "shape", _SIZES, "output shape", "Output shape",
        "What is its output shape? Answer as (C, H, W)."),
    "memory_kb": AskedField(
        "row", "memory_kb", True, "amount", _SIZES | {"memory_kb"}, "memory (KB)",
        "Memory (KB)", "How much memory does its output take, in KB (float32 values, "
                       "batch 1)? Give at least 2 decimals."),
    "params": AskedField(
        "row", "params", True, "count", _PARAMS, "params", "Params",
        "How many learnable parameters does it have?"),
    "flops": AskedField(
        "row", "flops", True, "count", _FLOPS, "FLOPs", "FLOPs",
        "How many FLOPs does it take (one multiply-add counts as 1 FLOP)?"),
    "receptive_field": AskedField(
        "receptive_field", None, True, "count", _SIZES, "receptive field"),
    "total_params": AskedField(
        "total", "params", False, "count", _PARAMS, "params (all layers)"),
    "total_flops": AskedField(
        "total", "flops", False, "count", _FLOPS, "FLOPs (all layers)"),
    "block_params": AskedField(
        "block", "params", False, "count", _PARAMS, "params of the block's convs"),
}


@dataclass(frozen=True)
class Choice:
    value: object             # an int, a float or a shape tuple
    mistake: str | None       # the catalogue id behind a distractor; None for the answer
    correct: bool = False     # or for a filler that no catalogued mistake produces


@dataclass
class Question:
    id: str                   # unique in a quiz: "q01v003", or "q01-<hash>" for a student
    slot: str                 # the slot it fills ("q01"); all its variants share it
    template: str
    difficulty: str
    student: str | None
    prompt: str               # plain text; `table` (if any) is shown after it
    input_shape: tuple
    layers: list[dict]        # the cost_table format
    asked: dict               # {"layer": index or None, "field": name}
    answer: object
    tolerance: float
    kind: str = "numerical"   # "numerical" or "choice"
    choices: list[Choice] = field(default_factory=list)
    table: list[list[str]] | None = None   # first row is the header
    extra: dict = field(default_factory=dict)  # template-specific inputs of the calculator

    @property
    def correct_index(self) -> int:
        return next(i for i, c in enumerate(self.choices) if c.correct)


@dataclass
class Quiz:
    title: str
    seed: str
    questions: list[Question]          # in slot order, then variant/student order
    students: list[dict] | None = None  # [{"id", "name"}] with a roster, in roster order

    def slots(self) -> list[str]:
        seen: dict[str, None] = {}
        for q in self.questions:
            seen.setdefault(q.slot, None)
        return list(seen)

    def by_slot(self) -> dict[str, list[Question]]:
        groups: dict[str, list[Question]] = {}
        for q in self.questions:
            groups.setdefault(q.slot, []).append(q)
        return groups


def format_value(value) -> str:
    """How an answer or a choice is shown to people: shapes as (C, H, W) with plain
    dimensions (never "(1,024, 56, 56)", which reads as four numbers), other integers with
    thousands separators, floats with at most 4 decimals."""
    if isinstance(value, (tuple, list)):
        dims = ", ".join(plain_value(v) for v in value)
        return f"({dims},)" if len(value) == 1 else f"({dims})"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return str(value)


def plain_value(value) -> str:
    """A machine-friendly rendering (no separators): what Canvas's numerical answer takes."""
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(plain_value(v) for v in value) + ")"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def answer_forms(value) -> set[str]:
    """The texts that would give `value` away if a prompt showed them: its printed forms
    (format_value, plain_value, 2 decimals for a float, a shape as CxHxW), and for a shape
    its element count (what a following Linear's in_features shows), unless that count is
    one of its dimensions (a (C, 1, 1) output)."""
    if isinstance(value, (tuple, list)):
        dims = [plain_value(v) for v in value]
        forms = {format_value(value), "(" + ",".join(dims) + ")", "x".join(dims),
                 " x ".join(dims)}
        count = 1
        for v in value:
            count *= v
        if count not in value:
            forms |= {plain_value(count), format_value(count)}
        return forms
    forms = {format_value(value), plain_value(value)}
    if isinstance(value, float):
        forms |= {f"{value:.2f}", f"{value:,.2f}"}
    return forms
