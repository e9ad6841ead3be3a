"""Every generated answer, re-derived independently with torch modules on the meta device
(shapes from a forward pass, params by counting, memory from numel, FLOPs from numel)."""
from __future__ import annotations

import random

import pytest

from quizzes import templates
from quizzes.templates import DIFFICULTIES, TEMPLATES
from test_quiz_support import (conv_param_count, meta_output_shape, real_block, real_stage,
                                torch_rows)

SEEDS = range(12)  # 9 templates x 3 difficulties x 12 = 324 questions


def expected_value(q):
    field, layer = q.asked["field"], q.asked["layer"]
    if field == "block_params":
        return conv_param_count(real_block(q.extra))
    if field == "receptive_field":
        # stride-1 stack: each KxK layer widens the field by K - 1
        return 1 + sum(l["kernel"] - 1 for l in q.layers[: layer + 1])
    rows = torch_rows(q.input_shape, q.layers)
    if field == "total_params":
        return sum(r[2] for r in rows)
    if field == "total_flops":
        return sum(r[3] for r in rows)
    column = {"output_shape": 0, "memory_kb": 1, "params": 2, "flops": 3}[field]
    return rows[layer][column]


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
@pytest.mark.parametrize("name", list(TEMPLATES))
def test_answers_match_torch(name, difficulty):
    for seed in SEEDS:
        q = TEMPLATES[name](random.Random(seed), difficulty)
        expected = expected_value(q)
        if isinstance(expected, tuple):
            assert tuple(q.answer) == expected, (name, difficulty, seed, q.prompt)
        else:
            assert q.answer == pytest.approx(expected, rel=1e-12), (name, difficulty, seed)
        assert q.template == name and q.difficulty == difficulty


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_resnet_questions_match_real_modules(difficulty):
    for seed in SEEDS:
        q = templates.stage_shape(random.Random(seed), difficulty)
        assert tuple(q.answer) == meta_output_shape(real_stage(q.extra), q.input_shape)
        q = templates.block_params(random.Random(seed), difficulty)
        block = real_block(q.extra)
        assert q.answer == conv_param_count(block)
        # the layers in the key are the block's convs, shortcut included
        assert q.answer == sum(r[2] for r in torch_rows(q.input_shape, q.layers)) + sum(
            r[2] for r in torch_rows(q.input_shape, q.extra["shortcut"]))
        assert bool(q.extra["shortcut"]) == (block.downsample is not None)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_choices_are_distinct_and_exactly_one_is_right(name):
    from solutions.mistakes import formulas as mistakes
    from quizzes import calculator
    for difficulty in DIFFICULTIES:
        for seed in SEEDS:
            q = TEMPLATES[name](random.Random(seed), difficulty)
            assert len(q.choices) == templates.CHOICES
            assert sum(c.correct for c in q.choices) == 1
            assert q.choices[q.correct_index].value == q.answer
            values = [c.value for c in q.choices]
            for i, a in enumerate(values):
                for b in values[i + 1:]:
                    assert not calculator.within(a, b, q.tolerance), (name, values)
            for c in q.choices:
                if c.mistake is not None:
                    # the distractor is what the catalogue's entry computes
                    assert c.mistake in mistakes.BY_ID
                    f = mistakes.formulas_with(mistakes.BY_ID[c.mistake])
                    assert calculator.evaluate(f, q.input_shape, q.layers, q.asked,
                                               q.extra) == c.value


def test_difficulties_differ_in_what_they_ask():
    """easy: stride 1 and no padding; hard: sizes where the floor matters."""
    for seed in range(40):
        easy = templates.draw_conv(random.Random(seed), "easy", 56)
        assert easy.get("stride", 1) == 1 and easy.get("padding", 0) == 0
        hard = templates.draw_conv(random.Random(seed), "hard", 57)
        assert (57 - hard["kernel"] + 2 * hard["padding"]) % hard["stride"] != 0
        medium = templates.draw_conv(random.Random(seed), "medium", 56)
        assert (56 - medium["kernel"] + 2 * medium["padding"]) % medium["stride"] == 0
