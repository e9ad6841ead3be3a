"""`cnnlab costs MODEL [--input C,H,W] [--json] [--plot FILE [--per-layer | --group LEVEL]]`:
the lecture-style cost table.

Thin: parsing and printing only; the table comes from cnnlab.costs, the plot from
cnnlab.plots (matplotlib is imported only when --plot is given). Every argument is checked
before torch is imported, so a mistyped command answers at once."""
from __future__ import annotations

import json

from cnnlab import costs


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
                    f"{costs.MAX_GROUPS} rows.",
        epilog="example: cnnlab costs vgg16 --plot vgg16.png",
    )
    parser.add_argument("model", metavar="MODEL",
                        help=f"one of: {costs.accepted_models()} (any case; '-' and '_' "
                             f"optional: VGG-16, ResNet50)")
    parser.add_argument("--input", metavar="C,H,W", default=None,
                        help="input shape (default: the model's own, e.g. 3,224,224)")
    parser.add_argument("--json", action="store_true",
                        help="print the contract's JSON object instead of the table")
    parser.add_argument("--plot", metavar="FILE", default=None,
                        help="also write a plot of where memory, params and FLOPs go "
                             "(PNG, or PDF/SVG by the file's suffix)")
    parser.add_argument("--group", choices=("auto", *costs.GROUP_LEVELS), default=None,
                        help="rows of the --plot figure: one per layer, per block (a ResNet "
                             "block, a conv with its batch norm) or per stage (ResNet's "
                             "conv2_x, VGG's conv1..conv5); auto (the default) is the finest "
                             f"with at most {costs.MAX_GROUPS} rows")
    parser.add_argument("--per-layer", dest="group", action="store_const", const="layer",
                        help="the --plot figure with one row per layer (same as --group "
                             "layer; a tall figure for deep networks)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.cli import UserError

    try:
        model = costs.resolve_model(args.model)
        shape = costs.parse_input_shape(args.input) if args.input is not None else None
    except costs.CostError as err:
        raise UserError(str(err)) from None
    if args.group is not None and not args.plot:
        raise UserError("--per-layer and --group choose the rows of the --plot figure; "
                        "give --plot FILE too")
    if args.plot:
        from cnnlab.paths import PLOT_SUFFIXES, output_file
        output_file(args.plot, "--plot", PLOT_SUFFIXES)
    try:
        rows = costs.cost_rows(model, shape)
    except costs.CostError as err:
        raise UserError(str(err)) from None
    report = costs.report_from_rows(model, shape or costs.MODELS[model][2], rows)
    if args.json:
        print(json.dumps(report))
    else:
        print(costs.format_table(report, rows))
    if args.plot:
        from cnnlab.plots import plot_costs
        try:
            plot_costs(report, args.plot, args.group or "auto")
        except OSError as err:
            raise UserError(f"cannot write --plot {args.plot}: {err.strerror or err}") from None
    return 0
