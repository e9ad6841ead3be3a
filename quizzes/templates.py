"""Quiz templates: each a small function from a random generator and a difficulty to a
Question. A template only draws parameters and writes the prompt; the answer, the tolerance
and the distractors come from quizzes.calculator (the lecture's formulas and the mistake
catalogue), so no formula is written here.

Difficulties: easy (stride 1, no padding, sizes that divide), medium (padding and strides,
still exact), hard (sizes where the floor matters, pool padding, torch's default pool
stride, bias=False).

No prompt gives its own answer away: every template is wrapped by `fair`, which draws again
(from the same generator, so a seed still fixes the question) while the prompt or its table
shows the answer in any printed form (quizzes.model.answer_forms). The templates avoid the
structural give-aways themselves (a layer that keeps its input's shape, a Linear's
in_features before the cell asked, VGG's big kernel next to the receptive field), so a
redraw only catches coincidences (a 128 KB output next to a 128-channel conv)."""
from __future__ import annotations

import functools
import math
import random
import re

from quizzes import calculator
from quizzes.model import ASKED_FIELDS, Choice, Question, answer_forms, format_value
from solutions.networks import (EXPANSION, RESNET_STAGES, RESNET_STEM_CHANNELS, needs_projection,
                                residual_block_convs)

DIFFICULTIES = ("easy", "medium", "hard")
CHOICES = 4  # answer + 3 distractors
CHANNELS = [3, 16, 32, 64, 96, 128, 192, 256, 384, 512]
FC_OUT = [10, 100, 128, 256, 500, 512, 1000, 4096]
SIZES = {"easy": [8, 12, 16, 24, 28, 32, 56, 64],
         "medium": [28, 32, 56, 64, 112, 224, 227],
         "hard": [13, 27, 31, 35, 55, 57, 99, 113, 225, 227]}

# --- drawing valid layers -------------------------------------------------------------

def _fits(layer: dict, size: int) -> bool:
    """Whether the calculator accepts `layer` on a size x size input (as torch would)."""
    try:
        calculator.next_shape((1, size, size), layer)
        return True
    except ValueError:
        return False


def _exact(size, kernel, stride, padding) -> bool:
    return (size - kernel + 2 * padding) % stride == 0


def draw_conv(rng: random.Random, difficulty: str, size: int, name: str = "conv",
              not_out: int | None = None) -> dict:
    """A conv layer valid on a `size` x `size` input, as hard as `difficulty` asks, with
    out_channels other than `not_out` (the input's channels, where a conv that keeps the
    size would show its output shape as its input's)."""
    for _ in range(1000):
        if difficulty == "easy":
            k, s, p, bias = rng.choice([1, 3, 5]), 1, 0, True
        elif difficulty == "medium":
            k = rng.choice([3, 5, 7, 11])
            s, p, bias = rng.choice([1, 2, 2, 4]), rng.randint(0, k // 2), True
        else:
            k = rng.choice([3, 5, 7, 11])
            s, p, bias = rng.choice([2, 3, 4]), rng.randint(0, k // 2), rng.random() < 0.5
        if (difficulty != "hard") != _exact(size, k, s, p):
            continue
        layer = {"type": "conv", "name": name,
                 "out_channels": rng.choice([c for c in CHANNELS[1:] if c != not_out]),
                 "kernel": k, "stride": s, "padding": p}
        if not bias:
            layer["bias"] = False
        if _fits(layer, size):
            return layer
    raise RuntimeError(f"no {difficulty} conv fits size {size}")


def draw_pool(rng: random.Random, difficulty: str, size: int, name: str = "pool") -> dict:
    for _ in range(1000):
        if difficulty == "easy":
            k, s, p = 2, 2, 0
        elif difficulty == "medium":
            k, s, p = rng.choice([2, 3]), 2, 0
        else:
            k = rng.choice([2, 3, 5])
            s, p = rng.choice([None, 2]), rng.randint(0, k // 2)
        stride = k if s is None else s
        if (difficulty != "hard") != _exact(size, k, stride, p):
            continue
        layer = {"type": "pool", "name": name, "kernel": k}
        if s is not None:
            layer["stride"] = s
        if p:
            layer["padding"] = p
        if _fits(layer, size):
            return layer
    raise RuntimeError(f"no {difficulty} pool fits size {size}")


def draw_input(rng: random.Random, difficulty: str, channels=None) -> tuple:
    size = rng.choice(SIZES[difficulty])
    return (channels or rng.choice(CHANNELS[:6]), size, size)


def describe(layer: dict, in_channels: int | None = None) -> str:
    """The layer as the torch call that builds it."""
    kind = layer["type"]
    if kind == "conv":
        args = [str(in_channels), str(layer["out_channels"]), f"kernel_size={layer['kernel']}"]
        if layer.get("stride", 1) != 1:
            args.append(f"stride={layer['stride']}")
        if layer.get("padding", 0):
            args.append(f"padding={layer['padding']}")
        if not layer.get("bias", True):
            args.append("bias=False")
        return f"Conv2d({', '.join(args)})"
    if kind == "pool":
        args = [f"kernel_size={layer['kernel']}"]
        if layer.get("stride") is not None:
            args.append(f"stride={layer['stride']}")
        if layer.get("padding", 0):
            args.append(f"padding={layer['padding']}")
        return f"MaxPool2d({', '.join(args)})"
    if kind == "fc":
        bias = "" if layer.get("bias", True) else ", bias=False"
        return f"Linear(in_features={in_channels}, out_features={layer['out_features']}{bias})"
    return "Flatten()"


def shape_text(shape) -> str:
    return format_value(tuple(shape))


# --- the answer, tolerance and choices of a drawn question ----------------------------

def tolerance_for(field: str, answer) -> float:
    if field == "memory_kb":
        # Two decimals are enough; 0.1% keeps KB = 1000 bytes (2.4% off) wrong.
        return max(0.01, round(abs(answer) * 0.001, 4))
    return 0


def offerable(field: str, value):
    """`value` as a choice can show it, or None where it cannot be an answer to `field`: a
    shape needs whole dimensions >= 1 (never (256, 28.5, 28.5), from a true-division
    mistake, or a 0 from a forgotten + 1), a count a whole number >= 0, memory a number
    > 0. Whole floats come back as ints (28.0 is shown as 28)."""
    def whole(v, least):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
        if isinstance(v, float) and not (math.isfinite(v) and v.is_integer()):
            return None
        return int(v) if v >= least else None
    kind = ASKED_FIELDS[field].answer if field in ASKED_FIELDS else None
    if kind == "shape":
        if not isinstance(value, (tuple, list)) or not value:
            return None
        dims = [whole(v, 1) for v in value]
        return None if None in dims else tuple(dims)
    if isinstance(value, (tuple, list, bool)) or not isinstance(value, (int, float)):
        return None
    if kind == "count":
        return whole(value, 0)
    if kind == "amount":
        return value if math.isfinite(value) and value > 0 else None
    return value


def make_question(rng: random.Random, template: str, difficulty: str, prompt: str,
                  input_shape: tuple, layers: list[dict], asked: dict, *,
                  extra: dict | None = None, table=None) -> Question:
    extra = extra or {}
    answer, wrong = calculator.answer_and_wrong_values(
        input_shape, layers, asked, extra, lambda a: tolerance_for(asked["field"], a))
    tol = tolerance_for(asked["field"], answer)
    # Grading still names the mistake behind "(256, 28.5, 28.5)"; only the catalogue's
    # values that could be an answer are offered as choices.
    wrong = [(m, v) for m, v in ((m, offerable(asked["field"], v)) for m, v in wrong)
             if v is not None]
    picked = rng.sample(wrong, CHOICES - 1) if len(wrong) > CHOICES - 1 else list(wrong)
    distractors = [Choice(v, m) for m, v in picked]
    for v in calculator.near_values(answer, rng):
        if len(distractors) >= CHOICES - 1:
            break
        v = offerable(asked["field"], v)
        if (v is None or calculator.within(v, answer, tol) or v in (0, ())
                or any(calculator.within(v, c.value, tol) for c in distractors)):
            continue
        distractors.append(Choice(v, None))
    choices = distractors + [Choice(answer, None, correct=True)]
    rng.shuffle(choices)
    kind = "choice" if asked["field"] == "output_shape" else "numerical"
    return Question(id="", slot="", template=template, difficulty=difficulty,
                    student=None, prompt=prompt, input_shape=tuple(input_shape),
                    layers=layers, asked=dict(asked), answer=answer, tolerance=tol,
                    kind=kind, choices=choices, table=table, extra=extra)


# --- no prompt gives its answer away -------------------------------------------------

MAX_REDRAWS = 200


def shown_text(q: Question) -> str:
    """What a student reads of a question before answering: the prompt and the cells of
    its table (the choices aside)."""
    cells = [c for row in q.table or [] for c in row]
    return "\n".join([q.prompt, *cells])


def gives_away(q: Question) -> list[str]:
    """The printed forms of the answer that the prompt or its table shows, as whole tokens
    (the 3 of "3x3" or the 28 of "(128, 28, 28)" do not count as a 3 or a 128)."""
    text = shown_text(q)
    return sorted(f for f in answer_forms(q.answer) if f in text  # the cheap test first
                  and re.search(r"(?<![\w.,])" + re.escape(f) + r"(?![\w]|[.,]\d)", text))


def fair(template):
    """`template`, drawn again while its prompt gives its answer away."""
    @functools.wraps(template)
    def draw(rng: random.Random, difficulty: str) -> Question:
        for _ in range(MAX_REDRAWS):
            q = template(rng, difficulty)
            if not gives_away(q):
                return q
        raise RuntimeError(f"{template.__name__} ({difficulty}): every draw shows its answer "
                           f"in its prompt, e.g. {gives_away(q)} in {q.prompt!r}")
    return draw


# --- templates ------------------------------------------------------------------------

def _single_layer(rng, difficulty, template, field, kinds):
    kind = rng.choice(kinds)
    shape = draw_input(rng, difficulty)
    if kind == "fc":
        c = rng.choice([64, 128, 256, 512])
        h = rng.choice({"easy": [1, 2, 4], "medium": [4, 6, 7], "hard": [3, 5, 6, 7]}[difficulty])
        shape = (c, h, h)
        layer = {"type": "fc", "name": "fc", "out_features": rng.choice(FC_OUT)}
        if difficulty == "hard" and rng.random() < 0.5:
            layer["bias"] = False
        layers = [{"type": "flatten", "name": "flatten"}, layer]
        what = (f"A feature map of shape {shape_text(shape)} is flattened and fed to "
                f"Linear(out_features={layer['out_features']}"
                f"{'' if layer.get('bias', True) else ', bias=False'}).")
    else:
        if kind == "conv":
            # asked for its shape, a conv that keeps the size must change the channels
            not_out = shape[0] if field == "output_shape" else None
            layer = draw_conv(rng, difficulty, shape[1], not_out=not_out)
        else:
            layer = draw_pool(rng, difficulty, shape[1])
        layers = [layer]
        what = f"The layer {describe(layer, shape[0])} gets an input of shape {shape_text(shape)}."
    asked = {"layer": len(layers) - 1, "field": field}
    words = ASKED_FIELDS[field].words
    if kind == "fc":
        words = words.replace("its output", "the Linear layer's output").replace(
            "does it", "does the Linear layer")
    return make_question(rng, template, difficulty, f"{what} {words}", shape, layers, asked)


def layer_shape(rng, difficulty):
    return _single_layer(rng, difficulty, "layer_shape", "output_shape", ["conv", "conv", "pool"])


def layer_memory(rng, difficulty):
    return _single_layer(rng, difficulty, "layer_memory", "memory_kb", ["conv", "pool"])


def layer_params(rng, difficulty):
    return _single_layer(rng, difficulty, "layer_params", "params", ["conv", "conv", "fc"])


def layer_flops(rng, difficulty):
    return _single_layer(rng, difficulty, "layer_flops", "flops", ["conv", "pool", "fc"])


# The columns of a table question (a quiz choice: the lecture's cost-table columns), headed
# by their asked fields' words.
TABLE_FIELDS = ["output_shape", "memory_kb", "params", "flops"]
TABLE_HEADER = ["Layer"] + [ASKED_FIELDS[f].heading for f in TABLE_FIELDS]


def _short_network(rng, difficulty):
    shape = (rng.choice([1, 3]), *([rng.choice(SIZES[difficulty])] * 2))
    layers, current = [], shape
    for i in range(1, rng.randint(2, 3) + 1):
        conv_level = "easy" if difficulty == "easy" else rng.choice(["easy", difficulty])
        layers.append(draw_conv(rng, conv_level, current[1], f"conv{i}"))
        current = calculator.next_shape(current, layers[-1])
        pool_level = "easy" if current[1] % 2 == 0 else (None if difficulty == "easy"
                                                         else "hard")
        if current[1] >= 2 and pool_level:  # an easy quiz pools even sizes only
            layers.append(draw_pool(rng, pool_level, current[1], f"pool{i}"))
            current = calculator.next_shape(current, layers[-1])
        if current[1] < 3:
            break
    layers.append({"type": "fc", "name": "fc", "out_features": rng.choice(FC_OUT[:4])})
    return shape, layers


def table_cell(rng, difficulty):
    """One missing cell of a short network's cost table, the rows before it filled in."""
    for _ in range(100):
        try:
            shape, layers = _short_network(rng, difficulty)
            break
        except RuntimeError:  # no layer of that difficulty fits a size drawn on the way
            continue
    rows = calculator.cost_rows(shape, layers)
    # A pool has no params to ask for; the fc's output shape is its out_features.
    candidates = [(i, f) for i, layer in enumerate(layers) for f in TABLE_FIELDS
                  if not (layer["type"] == "pool" and f == "params")
                  and not (layer["type"] == "fc" and f == "output_shape")]
    index, field = rng.choice(candidates)
    table = [TABLE_HEADER, ["input", shape_text(shape), "", "", ""]]
    in_channels = shape[0]
    for i, (layer, row) in enumerate(zip(layers, rows)):
        if layer["type"] == "fc" and index < i:
            # Its in_features is the element count of the row above: shown, it would give
            # away that row's shape and memory, and so the cell asked.
            what = f"Linear(out_features={layer['out_features']})"
        else:
            what = describe(layer, in_channels if layer["type"] != "fc"
                            else _numel(rows[i - 1]["output_shape"]))
        cells = [f"{layer['name']}: {what}"]
        for f in TABLE_FIELDS:
            # An easy question shows the rest of its row, except the memory and FLOPs of
            # a row whose shape is asked (either gives the element count away).
            same_row = (i == index and f != field and difficulty == "easy"
                        and not (field == "output_shape" and f in ("memory_kb", "flops")))
            if i < index or same_row:
                cells.append(shape_text(row[f]) if f == "output_shape" else format_value(row[f]))
            elif i == index and f == field:
                cells.append("?")
            else:
                cells.append("")
        table.append(cells)
        if layer["type"] == "conv":
            in_channels = layer["out_channels"]
    prompt = (f"Fill in the cell marked ? of this network's cost table (batch 1, float32, "
              f"memory in KB, one multiply-add = 1 FLOP; fc flattens its input): the "
              f"{TABLE_HEADER[1 + TABLE_FIELDS.index(field)]} of {layers[index]['name']}."
              + (" Answer as (C, H, W)." if field == "output_shape" else ""))
    return make_question(rng, "table_cell", difficulty, prompt, shape, layers,
                         {"layer": index, "field": field}, table=table)


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def vgg_stack(rng, difficulty):
    """VGG's argument: n stacked 3x3 convs see as far as one (2n+1)x(2n+1) conv, for fewer
    parameters and FLOPs."""
    n = 3 if difficulty == "hard" else 2
    c = rng.choice([64, 128, 256, 512])
    size = rng.choice([14, 28, 56, 112])
    bias = difficulty != "hard" or rng.random() < 0.5
    big = 2 * n + 1

    def conv(k, pad, name):
        layer = {"type": "conv", "name": name, "out_channels": c, "kernel": k, "padding": pad}
        if not bias:
            layer["bias"] = False
        return layer
    stack = [conv(3, 1, f"conv{i + 1}") for i in range(n)]
    single = [conv(big, n, "conv")]
    b = "" if bias else ", bias=False"
    intro = (f"VGG replaces one Conv2d({c}, {c}, kernel_size={big}, padding={n}{b}) by a stack "
             f"of {n} Conv2d({c}, {c}, kernel_size=3, padding=1{b}) layers, on an input of "
             f"shape {shape_text((c, size, size))}.")
    which = rng.choice(["receptive_field", "stack_params", "stack_flops", "single_params",
                        "single_flops"])
    if which == "receptive_field":
        # Without the intro: the kernel size of the big conv it names is the answer.
        layers = [conv(3, 0, f"conv{i + 1}") for i in range(n)]
        prompt = (f"VGG stacks small convs instead of one large one. A stack of {n} "
                  f"Conv2d({c}, {c}, kernel_size=3{b}) layers (stride 1) gets an input of "
                  f"shape {shape_text((c, size, size))}. How large (in input pixels, along "
                  f"one side) is the receptive field of one output element of the stack?")
        asked = {"layer": n - 1, "field": "receptive_field"}
    elif which.startswith("stack"):
        layers, field = stack, "total_" + which[6:]
        what = "learnable parameters" if field == "total_params" else \
            "FLOPs (one multiply-add = 1 FLOP)"
        prompt = f"{intro} How many {what} does the whole stack of {n} 3x3 convs have?"
        asked = {"layer": None, "field": field}
    else:
        layers, field = single, which[7:]
        what = "learnable parameters does" if field == "params" else \
            "FLOPs (one multiply-add = 1 FLOP) does"
        prompt = f"{intro} How many {what} the single {big}x{big} conv take?"
        if field == "params":
            prompt = prompt.replace(" take?", " have?")
        asked = {"layer": 0, "field": field}
    return make_question(rng, "vgg_stack", difficulty, prompt, (c, size, size), layers, asked)


BASIC_CONFIGS = {"easy": [(64, 64, 1), (128, 128, 1), (256, 256, 1), (512, 512, 1)],
                 "medium": [(64, 128, 2), (128, 256, 2), (256, 512, 2), (64, 64, 1)],
                 "hard": [(64, 128, 2), (128, 256, 2), (256, 512, 2), (32, 64, 1)]}
BOTTLENECK_CONFIGS = {"easy": [(256, 64, 1), (512, 128, 1), (1024, 256, 1), (2048, 512, 1)],
                      "medium": [(64, 64, 1), (256, 128, 2), (512, 256, 2), (1024, 512, 2)],
                      "hard": [(64, 64, 1), (256, 128, 2), (512, 256, 2), (1024, 512, 2)]}


def block_params(rng, difficulty):
    """A BasicBlock or a Bottleneck: the parameters of its convolutions."""
    block = rng.choice(["basic", "bottleneck"])
    configs = BASIC_CONFIGS if block == "basic" else BOTTLENECK_CONFIGS
    cin, width, stride = rng.choice(configs[difficulty])
    size = rng.choice([14, 28, 56])
    main, shortcut = residual_block_convs(block, cin, width, stride)
    if block == "basic":
        what = (f"A ResNet BasicBlock(in_channels={cin}, out_channels={width}, stride={stride}) "
                f"(torchvision's layout: 3x3 conv with the stride, BN, ReLU, 3x3 conv, BN)")
    else:
        what = (f"A ResNet Bottleneck(in_channels={cin}, width={width}, stride={stride}) "
                f"(torchvision's layout: 1x1 conv to {width} channels, 3x3 conv with the "
                f"stride, 1x1 conv to {width * EXPANSION[block]} channels, each followed by BN)")
    prompt = (f"{what} gets an input of shape {shape_text((cin, size, size))}. All its convs "
              f"have bias=False, and a 1x1 conv projects the shortcut wherever the identity "
              f"would not fit the output's shape. How many parameters do its convolutions "
              f"have in all (leave the batch norms out)?")
    extra = {"shortcut": shortcut, "block": block, "in_channels": cin, "width": width,
             "stride": stride}
    return make_question(rng, "block_params", difficulty, prompt, (cin, size, size), main,
                         {"layer": None, "field": "block_params"}, extra=extra)


# Per block kind, the first block of each of ResNet's stages (solutions/networks.py's
# RESNET_STAGES, after its stem) as (in_channels, width, stride): a stage's input is the
# stage before's output, its width times the block's EXPANSION.
def _first_blocks(kind: str) -> list[tuple[int, int, int]]:
    blocks, channels = [], RESNET_STEM_CHANNELS
    for width, stride in RESNET_STAGES:
        blocks.append((channels, width, stride))
        channels = width * EXPANSION[kind]
    return blocks


STAGES = {kind: _first_blocks(kind) for kind in EXPANSION}


def stage_shape(rng, difficulty):
    """The output shape of a ResNet stage (several blocks, the first one strided)."""
    block = rng.choice(["basic", "bottleneck"])
    # A stage that keeps its input's shape (BasicBlocks at stride 1, 64 -> 64: no
    # projection needed) would show its answer as its input: left out. Easy sizes are even,
    # so a stride 2 halves them exactly (no floor to think about).
    cin, width, stride = rng.choice([(c, w, s) for c, w, s in STAGES[block]
                                     if needs_projection(c, w * EXPANSION[block], s)])
    blocks = rng.choice([2, 3, 4, 6])
    size = rng.choice({"easy": [56, 28], "medium": [56, 28, 14, 112],
                       "hard": [57, 29, 15, 113, 55]}[difficulty])
    layers, c = [], cin
    for i in range(blocks):
        main, _ = residual_block_convs(block, c, width, stride if i == 0 else 1)
        for layer in main:
            layer["name"] = f"{i}.{layer['name']}"
        layers += main
        c = main[-1]["out_channels"]
    name = "BasicBlock" if block == "basic" else "Bottleneck"
    args = f"out_channels={width}" if block == "basic" else f"width={width}"
    prompt = (f"A ResNet stage of {blocks} {name} blocks ({args}, torchvision's layout: 3x3 "
              f"convs with padding 1, 1x1 convs without padding, the first block's stride "
              f"{stride} on its {'first' if block == 'basic' else 'middle'} conv, the others "
              f"stride 1) gets an input of shape {shape_text((cin, size, size))}. What is the "
              f"stage's output shape? Answer as (C, H, W).")
    extra = {"block": block, "in_channels": cin, "width": width, "stride": stride,
             "blocks": blocks}
    return make_question(rng, "stage_shape", difficulty, prompt, (cin, size, size), layers,
                         {"layer": len(layers) - 1, "field": "output_shape"}, extra=extra)


def pool_vs_conv(rng, difficulty):
    """Downsampling by pooling or by a strided conv: what each costs."""
    c = rng.choice([64, 128, 256])
    size = rng.choice({"easy": [56, 28, 112], "medium": [56, 28, 112, 224],
                       "hard": [55, 27, 113, 57]}[difficulty])
    pk, pp = (3, 1) if difficulty == "hard" and rng.random() < 0.5 else (2, 0)
    pool = {"type": "pool", "name": "pool", "kernel": pk, "stride": 2}
    if pp:
        pool["padding"] = pp
    conv = {"type": "conv", "name": "conv", "out_channels": c, "kernel": 3, "stride": 2,
            "padding": 1}
    if difficulty == "hard" and rng.random() < 0.5:
        conv["bias"] = False
    shape = (c, size, size)
    prompt = (f"To halve the spatial size of a {shape_text(shape)} feature map, a network can "
              f"use {describe(pool)} or a strided {describe(conv, c)}.")
    which, field = rng.choice([("pool", "flops"), ("conv", "flops"), ("conv", "params"),
                               ("pool", "output_shape"), ("conv", "output_shape"),
                               ("conv", "memory_kb")])
    layer = pool if which == "pool" else conv
    words = ASKED_FIELDS[field].words.replace("its output", f"the {which}'s output").replace(
        "does it", f"does the {which}")
    if field == "output_shape":
        words = words.replace("its output shape", f"the {which}'s output shape")
    return make_question(rng, "pool_vs_conv", difficulty, f"{prompt} {words}", shape,
                         [layer], {"layer": 0, "field": field})


# The order slots cycle through: the first nine questions cover every template once.
TEMPLATES = {template.__name__: fair(template) for template in (
    layer_shape, layer_memory, layer_params, layer_flops, table_cell, vgg_stack,
    block_params, stage_shape, pool_vs_conv)}
