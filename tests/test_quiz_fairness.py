"""Issue 13, fairness of the questions: no prompt shows its own answer, and every choice
could be an answer (a shape of whole dimensions >= 1, a whole count).

The printed forms of an answer are written out here by hand (not with the quiz's own
formatting helpers), and the values behind the specific give-aways come from torch."""
from __future__ import annotations

import math
import random
import re

import pytest
import torch
from torch import nn

from quizzes import templates
from quizzes.grade import score_one
from quizzes.templates import DIFFICULTIES, TEMPLATES
from quizzes.variants import build_quiz
from test_quiz_support import meta_output_shape, real_stage, torch_rows

VARIANTS = 150  # per template and difficulty: 9 x 3 x 150 = 4,050 questions


def printed_forms(answer) -> set[str]:
    """How the answer could be written anywhere a student reads."""
    if isinstance(answer, (tuple, list)):
        dims = [str(int(d)) for d in answer]
        grouped = [f"{int(d):,}" for d in answer]
        forms = {"(" + ", ".join(dims) + ")", "(" + ",".join(dims) + ")",
                 "(" + ", ".join(grouped) + ")", "[" + ", ".join(dims) + "]",
                 "x".join(dims), " x ".join(dims), "×".join(dims)}
        count = math.prod(int(d) for d in answer)
        if count not in answer:  # a (C, 1, 1) output's count is its C, printed anyway
            forms |= {str(count), f"{count:,}"}  # what a following in_features would show
        return forms
    if isinstance(answer, float) and not answer.is_integer():
        return {repr(answer), f"{answer:.2f}", f"{answer:,.2f}", f"{answer:,.4f}".rstrip("0")}
    n = int(answer)
    return {str(n), f"{n:,}", f"{n:_}"}


def shown(q) -> str:
    return "\n".join([q.prompt] + [cell for row in q.table or [] for cell in row])


def found(form: str, text: str) -> bool:
    """`form` as a whole token: the 3 of "3x3" or "float32" is not a 3."""
    return re.search(r"(?<![\w.,])" + re.escape(form) + r"(?![\w]|[.,]\d)", text) is not None


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
@pytest.mark.parametrize("name", list(TEMPLATES))
def test_no_prompt_shows_its_answer(name, difficulty):
    for seed in range(VARIANTS):
        q = TEMPLATES[name](random.Random(seed), difficulty)
        text = shown(q)
        leaked = [f for f in printed_forms(q.answer) if found(f, text)]
        assert not leaked, (name, difficulty, seed, leaked, text)


def test_found_is_a_whole_token():
    assert found("128", "Conv2d(128, 64)") and found("(64, 28, 28)", "shape (64, 28, 28).")
    assert not found("3", "3x3 convs") and not found("32", "float32")
    assert not found("28", "(128, 28.5)") and not found("1,024", "11,024")


def _table_cells_before_fc():
    """Table questions asking about a row before the fc."""
    out = []
    for difficulty in DIFFICULTIES:
        for seed in range(120):
            q = TEMPLATES["table_cell"](random.Random(seed), difficulty)
            fc = next(i for i, layer in enumerate(q.layers) if layer["type"] == "fc")
            if q.asked["layer"] < fc:
                out.append((q, fc))
    return out


def test_the_fc_row_does_not_give_the_rows_above_away():
    """The regression of issue 13: `Linear(in_features=N)` after conv2 is conv2's element
    count, so asking conv2's shape (or memory) showed its answer. The count comes from
    torch here."""
    cases = _table_cells_before_fc()
    assert len(cases) > 100
    for q, fc in cases:
        fc_cell = q.table[2 + fc][0]  # header, input, then one row per layer
        assert fc_cell == f"fc: Linear(out_features={q.layers[fc]['out_features']})", fc_cell
        # and the element count of the row above (torch's) shows nowhere else either
        above = torch_rows(q.input_shape, q.layers)[fc - 1][0]
        count = math.prod(above)
        if (q.asked["layer"] == fc - 1 and q.asked["field"] == "output_shape"
                and count not in above):  # a (C, 1, 1) count is its C, shown anyway
            assert not found(str(count), shown(q)), shown(q)
    assert not any(q.asked["field"] == "output_shape" and q.asked["layer"] == fc
                   for q, fc in cases)


def test_the_fc_row_still_shows_in_features_when_it_is_asked():
    for seed in range(300):
        q = TEMPLATES["table_cell"](random.Random(seed), "medium")
        fc = len(q.layers) - 1
        if q.asked["layer"] == fc:
            in_features = math.prod(torch_rows(q.input_shape, q.layers)[fc - 1][0])
            assert f"in_features={in_features}," in q.table[2 + fc][0]
            return
    pytest.fail("no question asked about the fc row")


def test_an_easy_row_asked_for_its_shape_hides_its_memory_and_flops():
    """Each would give the element count, so the shape, away."""
    seen = 0
    for seed in range(300):
        q = TEMPLATES["table_cell"](random.Random(seed), "easy")
        if q.asked["field"] == "output_shape":
            row = q.table[2 + q.asked["layer"]]
            assert row[1] == "?" and row[2] == "" and row[4] == "", row
            seen += 1
    assert seen > 10


def test_the_receptive_field_question_does_not_name_the_big_kernel():
    """VGG: n stacked 3x3 convs see 2n + 1 pixels; the prompt used to name the
    (2n+1)x(2n+1) conv they replace."""
    seen = 0
    for difficulty in DIFFICULTIES:
        for seed in range(120):
            q = TEMPLATES["vgg_stack"](random.Random(seed), difficulty)
            if q.asked["field"] != "receptive_field":
                continue
            n = len(q.layers)
            assert q.answer == 2 * n + 1
            assert f"kernel_size={2 * n + 1}" not in q.prompt
            assert f"{2 * n + 1}x{2 * n + 1}" not in q.prompt
            seen += 1
    assert seen > 20


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_no_stage_or_layer_keeps_its_input_shape_when_its_shape_is_asked(difficulty):
    """A BasicBlock stage at stride 1 (64 -> 64), or a "same" conv with as many output as
    input channels, has the input's shape as its answer. Shapes from torch."""
    outputs = {}
    for seed in range(VARIANTS):
        q = TEMPLATES["stage_shape"](random.Random(seed), difficulty)
        config = (tuple(sorted(q.extra.items())), tuple(q.input_shape))
        if config not in outputs:
            with torch.device("meta"):  # no weights to initialise
                stage = real_stage(q.extra)
            outputs[config] = meta_output_shape(stage, q.input_shape)
        assert outputs[config] != tuple(q.input_shape), (seed, q.prompt)
        q = TEMPLATES["layer_shape"](random.Random(seed), difficulty)
        assert torch_rows(q.input_shape, q.layers)[-1][0] != tuple(q.input_shape), q.prompt


def _is_shape(value) -> bool:
    return (isinstance(value, tuple) and len(value) > 0
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in value))


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_choice_could_be_an_answer(name):
    counts = ("params", "flops", "total_params", "total_flops", "block_params",
              "receptive_field")
    for difficulty in DIFFICULTIES:
        for seed in range(VARIANTS):
            q = TEMPLATES[name](random.Random(seed), difficulty)
            for c in q.choices:
                if q.asked["field"] == "output_shape":
                    assert _is_shape(c.value), (name, difficulty, seed, c)
                elif q.asked["field"] in counts:
                    assert isinstance(c.value, int) and c.value >= 0, (name, seed, c)
                else:
                    assert c.value > 0, (name, seed, c)


def _fractional_shape_question():
    """A conv shape question where true division (the catalogued size_true_division)
    gives a fractional size, and that size, computed here by hand."""
    for seed in range(2000):
        q = TEMPLATES["layer_shape"](random.Random(seed), "hard")
        layer = q.layers[0]
        if layer["type"] != "conv":
            continue
        size = q.input_shape[1]
        k, s, p = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
        divided = (size - k + 2 * p) / s + 1
        if not divided.is_integer():
            return q, (layer["out_channels"], divided, divided)
    pytest.fail("no hard conv question with a fractional true-division size")


def test_a_fractional_shape_is_never_offered_but_still_diagnosed():
    q, fractional = _fractional_shape_question()
    # torch agrees with the key's answer (floor), and the fraction is not a choice
    conv = nn.Conv2d(q.input_shape[0], q.layers[0]["out_channels"], q.layers[0]["kernel"],
                     stride=q.layers[0].get("stride", 1),
                     padding=q.layers[0].get("padding", 0), device="meta")
    assert tuple(conv(torch.empty(1, *q.input_shape, device="meta")).shape[1:]) == q.answer
    assert fractional not in [c.value for c in q.choices]
    for c in q.choices:
        assert all(float(d).is_integer() for d in c.value), c
    entry = {"id": "frac", "prompt": q.prompt, "input_shape": list(q.input_shape),
             "layers": q.layers, "asked": q.asked, "answer": list(q.answer), "tolerance": 0}
    typed = "(" + ", ".join(f"{d:g}" for d in fractional) + ")"
    r = score_one(entry, typed)
    assert not r["correct"] and r["mistake"] == "size_true_division", (typed, r)


def test_a_whole_quiz_is_still_reproducible_after_redraws():
    a = build_quiz("fair", variants=20, difficulty="mixed")
    b = build_quiz("fair", variants=20, difficulty="mixed")
    assert [(q.prompt, q.answer, q.choices) for q in a.questions] == \
        [(q.prompt, q.answer, q.choices) for q in b.questions]


def test_a_template_that_always_leaks_is_refused():
    def always(rng, difficulty):
        q = templates.layer_shape(rng, difficulty)
        q.prompt += f" Hint: {tuple(q.answer)}."
        return q
    with pytest.raises(RuntimeError, match="shows its answer"):
        templates.fair(always)(random.Random(0), "easy")
