"""`cnnlab costs MODEL [--input C,H,W] [--json] [--plot FILE]`: the lecture-style cost table.

Thin: parsing and printing only; the table comes from cnnlab.costs, the plot from
cnnlab.plots (matplotlib is imported only when --plot is given)."""
from __future__ import annotations

import json

from cnnlab import costs


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "costs",
        help="print the lecture-style cost table of a model",
        description="Per-layer output shape, memory, params and FLOPs of a reference model, "
                    "read off the real torch module and computed with the lecture's formulas.",
        epilog="example: cnnlab costs vgg16 --plot vgg16.png",
    )
    parser.add_argument("model", metavar="MODEL",
                        help=f"one of: {costs.accepted_models()}")
    parser.add_argument("--input", metavar="C,H,W", default=None,
                        help="input shape (default: the model's own, e.g. 3,224,224)")
    parser.add_argument("--json", action="store_true",
                        help="print the contract's JSON object instead of the table")
    parser.add_argument("--plot", metavar="FILE", default=None,
                        help="also write a plot of where memory, params and FLOPs go "
                             "(PNG, or PDF/SVG by the file's suffix)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.cli import UserError

    if args.plot:
        from cnnlab.paths import PLOT_SUFFIXES, output_file
        output_file(args.plot, "--plot", PLOT_SUFFIXES)
    try:
        shape = costs.parse_input_shape(args.input) if args.input is not None else None
        rows = costs.cost_rows(args.model, shape)
    except costs.CostError as err:
        raise UserError(str(err)) from None
    report = costs.report_from_rows(args.model, shape or costs.MODELS[args.model][2], rows)
    if args.json:
        print(json.dumps(report))
    else:
        print(costs.format_table(report, rows))
    if args.plot:
        from cnnlab.plots import plot_costs
        try:
            plot_costs(report, args.plot)
        except OSError as err:
            raise UserError(f"cannot write --plot {args.plot}: {err.strerror or err}") from None
    return 0
