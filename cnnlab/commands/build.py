"""`cnnlab build [ASSIGNMENT...] --out DIR [--force] [--json]`: Otter Assign plus its proofs.

Thin: the work is autograder.build (build_assignment, or ensure_built to keep a proved build
from the same inputs). The arguments are checked before
autograder.build is imported (it brings torch and nbformat, about 2 s), so a mistyped
command answers at once."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from autograder.registry import ASSIGNMENTS, master_notebooks as masters


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "build",
        help="build the student notebooks and Gradescope zips, and prove them sound",
        description="Run Otter Assign on each master notebook (assignments/<a>/<a>.ipynb), then "
                    "check that the hidden tests match autograder/checks/<a>.py, that the zip "
                    "installs a CPU torch and carries what the tests import, that the reference "
                    "scores 100% and the blank notebook 0 when graded with the zip, and that "
                    "nothing of the solutions or hidden tests reaches the student folder. "
                    "Writes DIR/<a>/student/, DIR/<a>/autograder/ (with the zip), "
                    "DIR/<a>/leak_report.json and DIR/<a>/proofs.json. A build already in DIR "
                    "from the same inputs (the master notebook, what the zip ships, the Otter, "
                    "torch and Python versions) is kept with its proofs; --force makes it "
                    "again. Exit 1 on any failure.",
        epilog="example: cnnlab build cnn_costs --out build/",
    )
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="assignments to build (default: every one under assignments/)")
    parser.add_argument("--out", metavar="DIR", required=True, help="output folder")
    parser.add_argument("--force", action="store_true",
                        help="build again even where DIR holds a proved build from the same "
                             "inputs")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON summary per assignment instead of text")
    parser.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.paths import output_dir

    known = masters()
    for name in args.assignments:
        if name not in known:
            # Before anything is built; the message and status of autograder.build's own.
            path = ASSIGNMENTS / name / f"{name}.ipynb"
            print(f"cnnlab build: {name}: FAILED: no master notebook {path} (assignments: "
                  f"{', '.join(known) or 'none'})", file=sys.stderr)
            return 1
    output_dir(args.out)
    from autograder import build

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    names = args.assignments or build.discover()
    summaries = []
    for name in names:
        try:
            summaries += (build.build([name], args.out, progress=progress, reuse=True)
                          if not args.force
                          else [build.build_assignment(name, args.out, progress=progress)])
        except build.BuildError as err:
            print(f"cnnlab build: {name}: FAILED: {err}", file=sys.stderr)
            return 1
        s = summaries[-1]
        if args.json:
            print(json.dumps(s), flush=True)
        else:
            print(f"{name}: student notebook {s['student']}\n"
                  f"{' ' * len(name)}  Gradescope zip   {s['zip']}\n"
                  f"{' ' * len(name)}  reference {s['reference']}, blank {s['blank']}, "
                  f"leaks {s['leaks']} (see leak_report.json)"
                  + (f"\n{' ' * len(name)}  the zip installs {s['torch']}" if s.get("torch") else ""),
                  flush=True)
    return 0
