"""`cnnlab demo --out DIR`: the main job end to end on the bundled samples."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser(
        "demo", help="build, grade the bundled samples and make a quiz, end to end",
        description="Does what an instructor does in a term, on the bundled samples: builds "
                    "every assignment (student notebooks, Gradescope zips, with proofs), grades "
                    "the sample submissions in samples/ (correct, typical mistakes, blank, "
                    "hostile) into a score table, a grades CSV and a plot, and generates a quiz "
                    "for the sample roster (Canvas QTI zip, printable Markdown, answer key) "
                    "and grades its sample responses.\n\nexample: cnnlab demo --out demo_out",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, metavar="DIR", help="where everything is written")
    p.add_argument("-j", "--jobs", type=int, default=2, metavar="N",
                   help="submissions graded at once (default 2)")
    p.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.cli import UserError
    from cnnlab.paths import output_dir

    if args.jobs < 1:
        raise UserError("-j must be at least 1")
    output_dir(args.out)
    # Only now: autograder.build imports torch and nbformat (about 2 s).
    from autograder.build import BuildError
    from cnnlab import demo
    try:
        demo.run(args.out, jobs=args.jobs)
    except BuildError as err:
        raise UserError(f"a build failed: {err}") from None
    return 0
