"""`cnnlab report`: the class view of a gradebook or of --json files. Argument checks only;
the work is cnnlab.classview (the numbers, the CSV files, Canvas) and cnnlab.report_html."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers) -> None:
    from autograder.gradebook import STUDENT_ID_FROM
    parser = subparsers.add_parser(
        "report", help="the class view: per question and mistake, report.html and CSV; "
                       "grades for Canvas",
        description="What a whole class got right and wrong. Reads a gradebook (--db, "
                    "written by `cnnlab grade --db` and `cnnlab quiz grade --db`; each "
                    "student's latest record counts) or --json files (`cnnlab grade --json` "
                    "lines, `cnnlab quiz grade --json` objects). With --out DIR it writes "
                    "DIR/report.html (one self-contained page, no script, no network; it "
                    "names students, for the course staff), DIR/questions.csv, "
                    "DIR/mistakes.csv and DIR/parameters.csv: per assignment the score "
                    "distribution; per question the mean, the share with full marks and "
                    "with zero, and the catalogued mistakes ranked by how many students "
                    "made them, with who; for quizzes the same per template and parameter "
                    "value, and every item where a wrong answer drew more students than the "
                    "right one. With --canvas-csv FILE --roster CSV it writes the totals in "
                    "the layout of Canvas's gradebook import (Student, ID, SIS User ID, "
                    "Section, a column per assignment and quiz); a student of the roster "
                    "without a submission is listed with an empty cell."
                    "\n\nexample: cnnlab report --db gradebook.sqlite --out report/"
                    "\nexample: cnnlab report --json grades.jsonl --canvas-csv canvas.csv "
                    "--roster roster.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", metavar="FILE", help="a gradebook to read (never changed)")
    parser.add_argument("--json", nargs="+", action="extend", default=[], metavar="FILE",
                        help="records from `cnnlab grade --json` or `cnnlab quiz grade "
                             "--json` (a quiz is named by its file's name)")
    parser.add_argument("--key", action="append", default=[], metavar="KEY.json",
                        help="with --json: the quiz's answer key, for the per-parameter "
                             "view (the gradebook keeps what it needs)")
    parser.add_argument("--student-id-from", choices=STUDENT_ID_FROM, default="stem",
                        help="with --json: a notebook's student is its file name without "
                             ".ipynb (stem, the default), its folder (folder), or the user id "
                             "of Canvas's download names (canvas)")
    parser.add_argument("--out", metavar="DIR",
                        help="folder for report.html and the CSV files (created if needed)")
    parser.add_argument("--canvas-csv", metavar="FILE",
                        help="write the grades for Canvas's gradebook import (needs --roster)")
    parser.add_argument("--roster", metavar="CSV",
                        help="the class: an 'id' column (or Canvas's gradebook export, with "
                             "ID, SIS User ID, Section), 'name' optional")
    parser.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.cli import UserError
    from autograder.inputs import input_problem
    from cnnlab.paths import output_dir, output_file

    if not args.db and not args.json:
        raise UserError("give the records to report on: --db GRADEBOOK or --json FILE...")
    if not args.out and not args.canvas_csv:
        raise UserError("give --out DIR (report.html and CSV files), --canvas-csv FILE, "
                        "or both")
    if args.canvas_csv and not args.roster:
        raise UserError("--canvas-csv needs --roster CSV: Canvas matches grades to its "
                        "students by their ids (its own gradebook export is such a roster)")
    if args.roster and not args.canvas_csv:
        raise UserError("--roster is only used with --canvas-csv FILE")
    if args.key and not args.json:
        raise UserError("--key is only used with --json (the gradebook keeps each item's "
                        "parameters)")
    for option, path in ([("--db", args.db)] if args.db else []) + \
            [("--json", p) for p in args.json] + [("--key", k) for k in args.key] + \
            ([("--roster", args.roster)] if args.roster else []):
        problem = input_problem(path)
        if problem:
            raise UserError(f"{option} {path}: cannot read: {problem}")
    if args.canvas_csv:
        output_file(args.canvas_csv, "--canvas-csv", (".csv",))
    out = output_dir(args.out, "--out") if args.out else None

    from autograder.gradebook import GradebookError
    from cnnlab import classview
    try:
        records = classview.from_gradebook(args.db) if args.db else []
        if args.json:
            records += classview.from_json(args.json, args.key, args.student_id_from)
    except GradebookError as err:
        raise UserError(f"--db {err}") from None
    except classview.ReportInputError as err:
        raise UserError(str(err)) from None
    if not records:
        raise UserError(f"{args.db or args.json[0]}: no records to report on")

    written = {}
    try:
        if out is not None:
            from cnnlab import report_html
            view = classview.class_view(records, args.db or ", ".join(args.json))
            page = out / "report.html"
            page.write_text(report_html.render(view), encoding="utf-8")
            written["report"] = page
            written.update(classview.write_csvs(view, out))
        if args.canvas_csv:
            result = classview.write_canvas_csv(records, args.roster, args.canvas_csv)
            written["canvas"] = Path(args.canvas_csv)
    except classview.ReportInputError as err:
        raise UserError(str(err)) from None
    except OSError as err:
        raise UserError(f"cannot write {err.filename or args.out} "
                        f"({err.strerror or err})") from None

    if args.canvas_csv:
        for column, ids in result["missing"].items():
            if ids:
                print(f"cnnlab report: {len(ids)} of {result['students']} students have no "
                      f"{column} record; their cells are empty", file=sys.stderr)
        if result["unmatched"]:
            shown = " ".join(result["unmatched"][:10]) + (" ..." if len(result["unmatched"])
                                                           > 10 else "")
            print(f"cnnlab report: warning: {len(result['unmatched'])} graded students are not "
                  f"in {args.roster}, so not in {args.canvas_csv}: {shown}", file=sys.stderr)
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0
