"""`cnnlab costs MODEL [--input C,H,W] [--json] [--plot FILE [--per-layer | --group LEVEL]]`:
the lecture-style cost table.

Thin: parsing and printing only; the rows come from solutions.module_costs, the plot from
cnnlab.plots (matplotlib is imported only when --plot is given). Every argument is checked
before torch is imported, so a mistyped command answers at once."""
from __future__ import annotations

import json
import textwrap

from solutions import module_costs

# The counting choices of solutions.module_costs (its docstring says why), under the table.
FOOTNOTE = (
    "Memory: output elements x 4 bytes at batch 1 (KB = 1024 bytes). FLOPs: one multiply-add "
    "= one FLOP. Batch norm: params 2C, FLOPs one per output element. Adaptive average "
    "pools: kernel = stride = in // out where that divides, else the exact sum of window "
    "sizes. ReLU, dropout and residual additions are not counted."
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "costs",
        help="print the lecture-style cost table of a model",
        description="Per-layer output shape, memory, params and FLOPs of a reference model, "
                    "read off the real torch module and computed with the lecture's formulas. "
                    "--plot draws a slide-sized figure (1920x1080) of where memory, params "
                    "and FLOPs go, with rows named as the lecture names them (conv1, conv3_2, "
                    "fc6; ResNet's conv2_x ... conv5_x, fc) next to the module path; a deep "
                    "network is grouped by block or stage to keep at most "
                    f"{module_costs.MAX_GROUPS} rows.",
        epilog="example: cnnlab costs vgg16 --plot vgg16.png",
    )
    parser.add_argument("model", metavar="MODEL",
                        help=f"one of: {module_costs.accepted_models()} (any case; '-' and '_' "
                             f"optional: VGG-16, ResNet50)")
    parser.add_argument("--input", metavar="C,H,W", default=None,
                        help="input shape (default: the model's own, e.g. 3,224,224)")
    parser.add_argument("--json", action="store_true",
                        help="print the contract's JSON object instead of the table")
    parser.add_argument("--plot", metavar="FILE", default=None,
                        help="also write a plot of where memory, params and FLOPs go "
                             "(PNG, or PDF/SVG by the file's suffix)")
    parser.add_argument("--group", choices=("auto", *module_costs.GROUP_LEVELS), default=None,
                        help="rows of the --plot figure: one per layer, per block (a ResNet "
                             "block, a conv with its batch norm) or per stage (ResNet's "
                             "conv2_x, VGG's conv1..conv5); auto (the default) is the finest "
                             f"with at most {module_costs.MAX_GROUPS} rows")
    parser.add_argument("--per-layer", dest="group", action="store_const", const="layer",
                        help="the --plot figure with one row per layer (same as --group "
                             "layer; a tall figure for deep networks)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.cli import UserError

    try:
        model = module_costs.resolve_model(args.model)
    except module_costs.CostError as err:
        raise UserError(str(err)) from None
    shape = parse_input_shape(args.input) if args.input is not None else None
    if args.group is not None and not args.plot:
        raise UserError("--per-layer and --group choose the rows of the --plot figure; "
                        "give --plot FILE too")
    if args.plot:
        from cnnlab.paths import PLOT_SUFFIXES, output_file
        output_file(args.plot, "--plot", PLOT_SUFFIXES)
    try:
        rows = module_costs.cost_rows(model, shape)
    except module_costs.CostError as err:
        raise UserError(str(err)) from None
    report = module_costs.report_from_rows(model, shape or module_costs.MODELS[model][2], rows)
    if args.json:
        print(json.dumps(report))
    else:
        print(format_table(report, rows))
    if args.plot:
        from cnnlab.plots import plot_costs
        try:
            plot_costs(report, args.plot, args.group or "auto")
        except OSError as err:
            raise UserError(f"cannot write --plot {args.plot}: {err.strerror or err}") from None
    return 0


def parse_input_shape(text: str) -> tuple[int, int, int]:
    """--input 'C,H,W' -> (C, H, W), three positive ints."""
    from cnnlab.cli import UserError

    parts = [p.strip() for p in text.replace("x", ",").split(",")]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise UserError(f"--input must be three positive ints C,H,W (e.g. 3,224,224); "
                        f"got {text!r}")
    return shape  # type: ignore[return-value]


def human(n: float) -> str:
    """1234567 -> '1.23M': three significant figures with K/M/G, as the lecture writes."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            value = n / scale
            return f"{value:.3g}{unit}" if value < 100 else f"{value:,.0f}{unit}"
    return f"{n:g}"


def format_table(report: dict, rows: list[dict] | None = None) -> str:
    """The lecture-style table: Layer, Type, Output shape, Memory KB, Params, FLOPs.

    `rows` (from cost_rows, same order as report["rows"]) only adds the kernel/stride/padding
    labels to the Type column."""
    labels = [r["label"] for r in rows] if rows else [r["type"] for r in report["rows"]]
    header = ("Layer", "Type", "Output shape", "Memory KB", "Params", "FLOPs")
    body = [(r["name"], label,
             "x".join(map(str, r["output_shape"])), f"{r['memory_kb']:,.1f}",
             f"{r['params']:,}", human(r["flops"])) for r, label in zip(report["rows"], labels)]
    t = report["totals"]
    total = ("total", "", "", f"{t['memory_kb']:,.1f}", f"{t['params']:,}", human(t["flops"]))
    widths = [max(len(line[i]) for line in [header, total, *body]) for i in range(6)]

    def fmt(line):
        left = [line[i].ljust(widths[i]) for i in range(3)]
        right = [line[i].rjust(widths[i]) for i in range(3, 6)]
        return "  ".join(left + right).rstrip()

    rule = "-" * len(fmt(header))
    c, h, w = report["input_shape"]
    out = [f"{report['model']}, input {c}x{h}x{w}", rule, fmt(header), rule,
           *map(fmt, body), rule, fmt(total),
           f"Totals: {t['params']:,} params ({human(t['params'])}), "
           f"{t['flops']:,} FLOPs ({human(t['flops'])}), "
           f"memory {t['memory_kb']:,.1f} KB ({t['memory_kb'] / 1024:,.2f} MB)",
           "", textwrap.fill(FOOTNOTE, width=max(len(rule), 60))]
    return "\n".join(out)
