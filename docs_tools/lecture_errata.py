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
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from solutions import cnn_costs

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
        "input": cnn_costs.ALEXNET_INPUT,
        "layers": cnn_costs.ALEXNET_LAYERS,
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


def rounded(value: float, divisor: int, digits: int) -> Decimal:
    quantum = Decimal(1).scaleb(-digits)
    return (Decimal(value) / Decimal(divisor)).quantize(quantum, rounding=ROUND_HALF_UP)


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
    from autograder import mistakes

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
        "## What this means for the course",
        "",
        "- The autograder, the quizzes and `cnnlab costs` follow the formulas (fc params "
        "include the bias; pooling FLOPs are (C*H'*W')*(K*K)), so a student who copies an "
        "erratum from the slide is marked wrong; feedback names the matching mistake.",
        "- AlexNet's total, 61,100,840 params, is what torchvision's AlexNet has: the "
        "fc6/fc7 cells are the slide's slip, not a different convention.",
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
