"""Writes docs/lecture_errata.md: every cell the lecture prints, recomputed with the formulas.

    .venv/bin/python docs_tools/lecture_errata.py          # rewrite docs/lecture_errata.md
    .venv/bin/python docs_tools/lecture_errata.py --check  # exit 1 if the file is stale

The printed values are transcribed below (PRINTED). Each cell is recomputed with
solutions.cnn_costs (cost_table), converted to the column's unit and rounded the way the
slide rounds (half up, to the digits printed). A cell that still differs is an erratum; its
likely cause is named by trying every entry of the mistake catalogue (autograder.mistakes):
the first wrong formula that reproduces the printed value is the explanation, and a few
slide-specific checks (a transposed total, a sum of the printed rows) cover the rest.
tests/test_costs_cli.py checks that the committed file equals this script's output.
"""
from __future__ import annotations

import argparse
import functools
import sys
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

from solutions import cnn_costs, networks

DOC = Path(__file__).resolve().parent.parent / "docs" / "lecture_errata.md"

SOURCE = ("Justin Johnson, \"CNN Architectures\", Lecture 8 of EECS 498-007/598-005 "
          "(University of Michigan, 2019/2020)")

# The stem as the lecture tabulates it, in cost_table's format (solutions.cnn_architectures
# .googlenet_stem() is the same network as a module).
GOOGLENET_STEM_INPUT = (3, 224, 224)
GOOGLENET_STEM_LAYERS = [
    {"type": "conv", "name": "conv 7x7 s2 p3", "out_channels": 64, "kernel": 7, "stride": 2,
     "padding": 3},
    {"type": "pool", "name": "maxpool 3x3 s2 p1", "kernel": 3, "stride": 2, "padding": 1},
    {"type": "conv", "name": "conv 1x1", "out_channels": 64, "kernel": 1},
    {"type": "conv", "name": "conv 3x3 p1", "out_channels": 192, "kernel": 3, "padding": 1},
    {"type": "pool", "name": "maxpool 3x3 s2 p1 (2)", "kernel": 3, "stride": 2, "padding": 1},
]

# Columns as printed: (key, heading, unit divisor, digits after the point).
COLUMNS = {
    "memory": ("memory (KB)", 1, 0),
    "params": ("params (k)", 1000, 0),
    "flops": ("flop (M)", 10**6, 0),
}
TOTAL_COLUMNS = {
    "memory": ("total memory (MB)", 1024, 1),   # of KB
    "params": ("total params (k)", 1000, 0),
    "flops": ("total flop (M)", 10**6, 0),
}

# Transcribed cells: layer -> (output shape, memory KB, params k, flop M); None = not printed.
PRINTED = [
    {
        "table": "AlexNet",
        "input": networks.ALEXNET_INPUT,
        "layers": networks.ALEXNET_LAYERS,
        "provenance": (
            "Transcribed from the course staff's recollection of the slide (the slide deck "
            "itself was not reachable from here); the conv1 row (64x56x56, 784 KB, 23,296 "
            "params, 72,855,552 FLOPs) is corroborated by published lecture notes "
            "(e-com-net.com/article/1563304408169648128.htm). Check the other cells against "
            "the slides before quoting them."),
        "rows": {
            "conv1": ((64, 56, 56), 784, 23, 73),
            "pool1": ((64, 27, 27), 182, 0, 0),
            "conv2": ((192, 27, 27), 547, 307, 224),
            "pool2": ((192, 13, 13), 127, 0, 0),
            "conv3": ((384, 13, 13), 254, 664, 112),
            "conv4": ((256, 13, 13), 169, 885, 145),
            "conv5": ((256, 13, 13), 169, 590, 100),
            "pool5": ((256, 6, 6), 36, 0, 0),
            "flatten": ((9216,), 36, None, None),
            "fc6": ((4096,), 16, 37749, 38),
            "fc7": ((4096,), 16, 16777, 17),
            "fc8": ((1000,), 4, 4097, 4),
        },
        "totals": None,
    },
    {
        "table": "GoogLeNet stem",
        "input": GOOGLENET_STEM_INPUT,
        "layers": GOOGLENET_STEM_LAYERS,
        "provenance": "Transcribed from the course staff's recollection of the slide.",
        "rows": {
            "conv 7x7 s2 p3": ((64, 112, 112), 3136, 9, 118),
            "maxpool 3x3 s2 p1": ((64, 56, 56), 784, 0, 2),
            "conv 1x1": ((64, 56, 56), 784, 4, 13),
            "conv 3x3 p1": ((192, 56, 56), 2352, 111, 347),
            "maxpool 3x3 s2 p1 (2)": ((192, 28, 28), 588, 0, 1),
        },
        "totals": {"memory": 7.5, "params": 124, "flops": 418},
    },
]


def rounded(value: float, divisor: int, digits: int, rounding=ROUND_HALF_UP) -> Decimal:
    quantum = Decimal(1).scaleb(-digits)
    return (Decimal(value) / Decimal(divisor)).quantize(quantum, rounding=rounding)


def _fmt(value) -> str:
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return f"{value:,}"


def _exact(value: float, divisor: int) -> str:
    return _fmt(value / divisor) if divisor != 1 else _fmt(value)


def _catalogue_tables(spec: dict) -> list[tuple]:
    """(mistake, its whole table) for every catalogued mistake that yields a table."""
    from solutions.mistakes import formulas as mistakes

    out = []
    for m in mistakes.CATALOGUE:
        try:
            rows = cnn_costs.cost_table_with(mistakes.formulas_with(m), spec["input"],
                                             spec["layers"])
        except (ValueError, TypeError, ZeroDivisionError):
            continue
        out.append((m, {r["name"]: r for r in rows}))
    return out


def _cause(spec: dict, layer: str, key: str, printed, ref: dict, wrong_tables) -> str:
    _, divisor, digits = COLUMNS[key]
    field = {"memory": "memory_kb"}.get(key, key)
    for mistake, rows in wrong_tables:
        if rounded(rows[layer][field], divisor, digits) != Decimal(printed):
            continue
        note = ""
        if key == "params" and ref[layer]["type"] == "fc":
            # Does the same slide count the bias elsewhere? Then it is a slip, not a choice.
            others = [name for name, cells in spec["rows"].items()
                      if name != layer and ref[name]["type"] == "fc" and cells[2] is not None
                      and rounded(ref[name]["params"], 1000, 0) == Decimal(cells[2])]
            if others:
                note = f"; {', '.join(others)} in the same table includes the bias"
        return f"{mistake.description} [`{mistake.id}`]{note}"
    return "no catalogued mistake reproduces it; a slip on the slide"


def reference_rows(spec: dict) -> dict:
    return {r["name"]: r for r in cnn_costs.cost_table(spec["input"], spec["layers"])}


def check_table(spec: dict) -> tuple[list[list[str]], list[list[str]], int]:
    """(errata rows, notes rows, number of cells checked) for one printed table."""
    ref = reference_rows(spec)
    wrong_tables = _catalogue_tables(spec)
    errata, notes, checked = [], [], 0
    for layer, (shape, *cells) in spec["rows"].items():
        row = ref[layer]
        checked += 1
        if tuple(shape) != tuple(row["output_shape"]):
            errata.append([spec["table"], layer, "output shape", _fmt(tuple(shape)),
                           _fmt(tuple(row["output_shape"])), "output size formula"])
        for key, printed in zip(("memory", "params", "flops"), cells):
            if printed is None:
                continue
            checked += 1
            heading, divisor, digits = COLUMNS[key]
            value = row[{"memory": "memory_kb"}.get(key, key)]
            if rounded(value, divisor, digits) != Decimal(printed):
                errata.append([spec["table"], layer, heading, _fmt(printed),
                               f"{_fmt(rounded(value, divisor, digits))} "
                               f"({_exact(value, divisor)})",
                               _cause(spec, layer, key, printed, ref, wrong_tables)])
            elif printed == 0 and value > 0:
                notes.append([spec["table"], layer, heading, "0", _exact(value, divisor),
                              "agrees only after rounding to whole MFLOP: the lecture's own "
                              "pooling formula (C*H'*W')*(K*K) is not zero"])
    for key, printed in (spec["totals"] or {}).items():
        checked += 1
        heading, divisor, digits = TOTAL_COLUMNS[key]
        field = {"memory": "memory_kb"}.get(key, key)
        value = sum(r[field] for r in ref.values())
        mine = rounded(value, divisor, digits)
        if mine != Decimal(str(printed)):
            printed_rows = sum(c[{"memory": 0, "params": 1, "flops": 2}[key]] or 0
                               for _, *c in spec["rows"].values())
            if sorted(str(printed)) == sorted(str(mine)):
                cause = (f"digits transposed ({mine} -> {printed}); the slide's own per-layer "
                         f"values add up to {printed_rows}")
            else:
                cause = f"the slide's own per-layer values add up to {printed_rows}"
            errata.append([spec["table"], "total", heading, _fmt(printed),
                           f"{_fmt(mine)} ({_exact(value, divisor)})", cause])
    return errata, notes, checked


# --- Summary figures: totals the slides print outside the per-layer tables -------------
#
# A figure is recomputed over every row of its network (the per-layer tables' convention,
# which `cnnlab costs` prints). When that disagrees at the printed precision, each READING
# below is tried in order, rounded half up and then truncated; the first one that gives the
# printed value is named as the likely cause. Readings are hypotheses tried, not asserted.

def _rows_without(rows: list[dict], *names: str) -> list[dict]:
    return [r for r in rows if r["name"] not in names]


def _conv_fc(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["type"] in ("conv", "fc")]


@functools.lru_cache(maxsize=None)
def _resnet_v1_rows(model: str) -> list[dict] | None:
    """The network of He et al. (2016): stride 2 on a bottleneck's first 1x1 conv, where
    torchvision (and solutions.cnn_architectures) put it on the 3x3 ("ResNet v1.5")."""
    from solutions import cnn_architectures, module_costs

    if not model.startswith("resnet"):
        return None
    net = module_costs.build_without_init(model, "cpu")  # shapes are all a cost table needs
    moved = 0
    for block in net.modules():
        if isinstance(block, cnn_architectures.Bottleneck) and block.conv2.stride == (2, 2):
            block.conv1.stride, block.conv2.stride = (2, 2), (1, 1)
            moved += 1
    return module_costs.module_rows(net, (3, 224, 224)) if moved else None


READINGS = [
    ("only the conv and fc rows are summed (pooling, flatten and batch norm rows left out)",
     lambda source, rows: _conv_fc(rows)),
    ("conv3_3 is left out (and only the conv and fc rows are summed)",
     lambda source, rows: (_conv_fc(_rows_without(rows, "conv3_3"))
                           if source == "vgg16" else None)),
    ("conv3_3 is left out (and only the conv rows are summed)",
     lambda source, rows: ([r for r in _rows_without(rows, "conv3_3") if r["type"] == "conv"]
                           if source == "vgg16" else None)),
    ("the original ResNet (He et al. 2016) puts a bottleneck's stride 2 on its first 1x1 "
     "conv; torchvision's layout, which the course uses, puts it on the 3x3",
     lambda source, rows: _resnet_v1_rows(source)),
    ("the original ResNet's stride placement (as above), conv and fc rows only",
     lambda source, rows: (_conv_fc(v1) if (v1 := _resnet_v1_rows(source)) else None)),
]

# Units as printed: name -> (row field, divisor of the field's value).
UNITS = {
    "MB": ("memory_kb", 1024),
    "M params": ("params", 10**6),
    "MFLOP": ("flops", 10**6),
    "GFLOP": ("flops", 10**9),
}

# Where the summary figures' networks come from: the VGG-16 rows are solutions.networks'
# lecture layer list; ResNet rows come from the reference modules (solutions.module_costs,
# the rows `cnnlab costs` prints).
SUMMARY_PROVENANCE = [
    ("AlexNet vs VGG-16 bar charts, and VGG-16's row on the ResNet results slide",
     "Transcribed from the course staff's recollection of the slides; not checked against "
     "the deck."),
    ("GoogLeNet stem slide, \"Compare VGG-16\" (VGG-16 up to 28x28)",
     "Transcribed from the course staff's recollection of the slide; the stem's own total "
     "(7.5 MB) is in the GoogLeNet stem table above."),
    ("ResNet results slide (GFLOP per network)",
     "The slide quotes He et al., \"Deep Residual Learning for Image Recognition\" (CVPR "
     "2016), Table 1: 1.8, 3.6, 3.8, 7.6 and 11.3 x 10^9 FLOPs."),
]

# (slide, figure, network, rows up to and including this one (None: all), unit, printed).
SUMMARIES = [
    ("AlexNet vs VGG-16", "AlexNet memory", "alexnet", None, "MB", "1.9"),
    ("AlexNet vs VGG-16", "AlexNet params", "alexnet", None, "M params", "61"),
    ("AlexNet vs VGG-16", "AlexNet FLOPs", "alexnet", None, "GFLOP", "0.7"),
    ("AlexNet vs VGG-16", "VGG-16 memory", "vgg16", None, "MB", "48.6"),
    ("AlexNet vs VGG-16", "VGG-16 params", "vgg16", None, "M params", "138"),
    ("AlexNet vs VGG-16", "VGG-16 FLOPs", "vgg16", None, "GFLOP", "13.6"),
    ("GoogLeNet stem", "VGG-16 up to 28x28, memory", "vgg16", "pool3", "MB", "42.9"),
    ("GoogLeNet stem", "VGG-16 up to 28x28, params", "vgg16", "pool3", "M params", "1.1"),
    ("GoogLeNet stem", "VGG-16 up to 28x28, FLOPs", "vgg16", "pool3", "MFLOP", "7485"),
    ("ResNet results", "ResNet-18 FLOPs", "resnet18", None, "GFLOP", "1.8"),
    ("ResNet results", "ResNet-34 FLOPs", "resnet34", None, "GFLOP", "3.6"),
    ("ResNet results", "ResNet-50 FLOPs", "resnet50", None, "GFLOP", "3.8"),
    ("ResNet results", "ResNet-101 FLOPs", "resnet101", None, "GFLOP", "7.6"),
    ("ResNet results", "ResNet-152 FLOPs", "resnet152", None, "GFLOP", "11.3"),
    ("ResNet results", "VGG-16 FLOPs", "vgg16", None, "GFLOP", "13.6"),
]


@functools.lru_cache(maxsize=None)  # several figures per network; nothing edits the rows
def network_rows(network: str) -> list[dict]:
    if network == "alexnet":
        return cnn_costs.cost_table(networks.ALEXNET_INPUT, networks.ALEXNET_LAYERS)
    if network == "vgg16":
        return cnn_costs.cost_table(networks.VGG16_INPUT, networks.VGG16_LAYERS)
    from solutions import module_costs
    return module_costs.cost_rows(network)


def _in_unit(rows: list[dict], unit: str) -> float:
    field, divisor = UNITS[unit]
    return sum(r[field] for r in rows) / divisor


def _to_printed(value: float, printed: str, rounding) -> Decimal:
    """`value` rounded to the digits `printed` shows."""
    return rounded(value, 1, len(printed.split(".")[1]) if "." in printed else 0, rounding)


def check_summaries() -> tuple[list[list[str]], list[tuple[str, str]], int]:
    """(errata rows, (slide, reading) for each one explained, number of figures checked)."""
    errata, explained = [], []
    for slide, figure, network, upto, unit, printed in SUMMARIES:
        rows = network_rows(network)
        if upto is not None:
            rows = rows[:[r["name"] for r in rows].index(upto) + 1]
        value = _in_unit(rows, unit)
        if _to_printed(value, printed, ROUND_HALF_UP) == Decimal(printed):
            continue
        cause = "no reading tried reproduces it"
        for rounding, how in ((ROUND_HALF_UP, ""), (ROUND_DOWN, "; truncated, not rounded")):
            found = None
            for description, reading in [("every row", lambda source, r: r)] + READINGS:
                picked = reading(network, rows)
                if picked is None:
                    continue
                if _to_printed(_in_unit(picked, unit), printed, rounding) == Decimal(printed):
                    found = (description, _in_unit(picked, unit))
                    break
            if found:
                description, matched = found
                if description == "every row":
                    cause = "the printed figure is truncated, not rounded"
                else:
                    cause = (f"reproduced ({_fmt(round(matched, 3))}) when {description}"
                             f"{how}")
                explained.append((slide, description))
                break
        errata.append([slide, figure, f"{printed} {unit}",
                       f"{_to_printed(value, printed, ROUND_HALF_UP)} ({_fmt(round(value, 3))})",
                       cause])
    return errata, explained, len(SUMMARIES)


# --- Formula claims: the lecture's algebra, checked with the calculator -----------------
#
# (claim as the slide writes it, the slide's expression, the calculator's value); both are
# functions of (C, H, W) and are compared at several sizes. Params here leave the bias out,
# as the slides do when they argue in C^2.

def _conv(cin, h, w, cout, k, stride=1, padding=0):
    return cnn_costs.conv_flops(cin, h, w, cout, k, stride, padding)


def _receptive_field(channels: int, kernels: list[int]) -> int:
    from quizzes import calculator

    layers = [{"type": "conv", "name": f"conv{i}", "out_channels": channels, "kernel": k}
              for i, k in enumerate(kernels)]
    return calculator.answer((channels, 1, 1), layers,
                             {"field": "receptive_field", "layer": len(layers) - 1})


FORMULA_CLAIMS = [
    ("VGG: one 5x5 conv, C -> C: params 25C^2",
     lambda c, h, w: 25 * c * c,
     lambda c, h, w: cnn_costs.conv_params(c, c, 5, bias=False)),
    ("VGG: one 5x5 conv, C -> C, size kept: FLOPs 25HWC^2",
     lambda c, h, w: 25 * h * w * c * c,
     lambda c, h, w: _conv(c, h, w, c, 5, 1, 2)),
    ("VGG: two 3x3 convs, C -> C: params 18C^2",
     lambda c, h, w: 18 * c * c,
     lambda c, h, w: 2 * cnn_costs.conv_params(c, c, 3, bias=False)),
    ("VGG: two 3x3 convs, C -> C, size kept: FLOPs 18HWC^2",
     lambda c, h, w: 18 * h * w * c * c,
     lambda c, h, w: 2 * _conv(c, h, w, c, 3, 1, 1)),
    ("VGG: two stacked 3x3 convs (stride 1) see a 5x5 receptive field, as one 5x5 conv",
     lambda c, h, w: 5,
     lambda c, h, w: _receptive_field(c, [3, 3])),
    ("VGG: conv 3x3, C -> C on 2Hx2W: FLOPs 36HWC^2",
     lambda c, h, w: 36 * h * w * c * c,
     lambda c, h, w: _conv(c, 2 * h, 2 * w, c, 3, 1, 1)),
    ("VGG: conv 3x3, 2C -> 2C on HxW: FLOPs 36HWC^2, params 36C^2",
     lambda c, h, w: (36 * h * w * c * c, 36 * c * c),
     lambda c, h, w: (_conv(2 * c, h, w, 2 * c, 3, 1, 1),
                      cnn_costs.conv_params(2 * c, 2 * c, 3, bias=False))),
    ("ResNet: basic block, C -> C: FLOPs 18HWC^2",
     lambda c, h, w: 18 * h * w * c * c,
     lambda c, h, w: 2 * _conv(c, h, w, c, 3, 1, 1)),
    ("ResNet: bottleneck, 4C -> C -> 4C: FLOPs 17HWC^2",
     lambda c, h, w: 17 * h * w * c * c,
     lambda c, h, w: _conv(4 * c, h, w, c, 1) + _conv(c, h, w, c, 3, 1, 1)
     + _conv(c, h, w, 4 * c, 1)),
]

CLAIM_SIZES = [(64, 56, 56), (128, 28, 28), (3, 7, 5)]


def check_formula_claims() -> tuple[list[list[str]], int]:
    """(rows of the claims table, number of claims that hold at every size)."""
    rows, holding = [], 0
    for claim, slide, calculator in FORMULA_CLAIMS:
        failures = [size for size in CLAIM_SIZES if slide(*size) != calculator(*size)]
        holding += not failures
        verdict = ("holds at C,H,W = " + ", ".join("x".join(map(str, s)) for s in CLAIM_SIZES)
                   if not failures else
                   "fails at " + ", ".join("x".join(map(str, s)) for s in failures))
        rows.append([claim, verdict])
    return rows, holding


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def render() -> str:
    all_errata, all_notes, provenance, checked = [], [], [], 0
    for spec in PRINTED:
        errata, notes, n = check_table(spec)
        all_errata += errata
        all_notes += notes
        checked += n
        c, h, w = spec["input"]
        provenance.append(f"- **{spec['table']}** (input {c}x{h}x{w}): {spec['provenance']}")
    summary_errata, explained, n_summaries = check_summaries()
    claim_rows, claims_holding = check_formula_claims()
    by_conv3_3 = [slide for slide, reading in explained if "conv3_3" in reading]
    conv3_3_note = [] if len(by_conv3_3) < 2 else [
        f"{len(by_conv3_3)} VGG-16 figures on {len(set(by_conv3_3))} slides are reproduced, "
        "at the printed precision, when conv3_3 is left out of a sum over the conv (and fc) "
        "layers: the slides' VGG-16 figures most likely come from one spreadsheet that lost "
        "conv3_3. `cnnlab costs vgg16` includes it (138,357,544 params, as torchvision's "
        "VGG-16).",
        ""]
    header = ["table", "layer", "column", "printed", "formulas (exact)", "likely cause"]
    out = [
        "# Lecture errata: the printed cost tables, recomputed",
        "",
        "<!-- Generated by `.venv/bin/python docs_tools/lecture_errata.py`; do not edit by "
        "hand. tests/test_costs_cli.py fails when this file is stale. -->",
        "",
        f"Source: {SOURCE}.",
        "",
        f"Each printed cell ({checked} in all) is recomputed with `solutions.cnn_costs` "
        "(the formulas the autograder and `cnnlab costs` use), converted to the slide's unit "
        "(KB, thousands of params, MFLOP; MB for the total memory) and rounded half up to "
        "the digits the slide prints. A cell is listed when it still differs. The likely "
        "cause is the first entry of the mistake catalogue (`autograder/mistakes.py`) that "
        "reproduces the printed value, or a slide-specific check.",
        "",
        "## Where the transcribed numbers come from",
        "",
        *provenance,
        "",
        "## Cells that disagree with the formulas",
        "",
        *_table(header, all_errata),
        "",
        "## Cells that agree only after rounding",
        "",
        "Not errors at the slide's precision, but worth telling students: the formula "
        "gives a non-zero value that the table prints as 0.",
        "",
        *_table(header, all_notes),
        "",
        "## Summary figures on other slides",
        "",
        "Totals the slides print outside the per-layer tables, recomputed over every row of "
        f"the network ({n_summaries} figures; the VGG-16 rows are `solutions.networks`' "
        "layer list, the ResNet rows `cnnlab costs`' reference modules). A figure is listed "
        "when it differs at the printed precision; the likely cause is the first of a fixed "
        "list of readings (`READINGS` in docs_tools/lecture_errata.py: pooling rows left "
        "out, a layer left out, the original ResNet's stride placement; rounded, then "
        "truncated) that reproduces it.",
        "",
        *[f"- **{slide}**: {text}" for slide, text in SUMMARY_PROVENANCE],
        "",
        *_table(["slide", "figure", "printed", "formulas (exact)", "likely cause"],
                summary_errata),
        "",
        *conv3_3_note,
        "## The lecture's algebra",
        "",
        f"Each claim the slides make in C, H and W is checked with the calculator at "
        f"several sizes ({claims_holding} of {len(claim_rows)} hold). Params leave the bias "
        f"out, as the slides do when they argue in C^2.",
        "",
        *_table(["claim", "check"], claim_rows),
        "",
        "## What this means for the course",
        "",
        "- The autograder, the quizzes and `cnnlab costs` follow the formulas (fc params "
        "include the bias; pooling FLOPs are (C*H'*W')*(K*K)), so a student who copies an "
        "erratum from the slide is marked wrong; feedback names the matching mistake.",
        "- AlexNet's total, 61,100,840 params, is what torchvision's AlexNet has: the "
        "fc6/fc7 cells are the slide's slip, not a different convention.",
        "- ResNet FLOPs differ by design, not by mistake: the course's (torchvision's) "
        "bottleneck strides in its 3x3 conv, the paper's in its first 1x1. Quote "
        "`cnnlab costs resnet50` (4.1 GFLOP), not the paper's 3.8, next to the course's "
        "models.",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if docs/lecture_errata.md differs from the output")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = DOC.read_text() if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is stale; run: .venv/bin/python docs_tools/lecture_errata.py",
                  file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
