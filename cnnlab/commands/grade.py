"""`cnnlab grade SUBMISSION...`: grade notebooks locally with the Gradescope zip, in parallel.

Thin: the work is autograder.grade (each submission in its own process, with limits)."""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

DEFAULT_BUILD = ".cnnlab_build"
MIN_MEMORY_GB, MAX_MEMORY_GB = 1.0, 1024.0


def register(subparsers) -> None:
    from autograder.grade import DEFAULT_MEMORY_BYTES, DEFAULT_TIMEOUT_S
    from autograder.gradebook import STUDENT_ID_FROM
    parser = subparsers.add_parser(
        "grade",
        help="grade student notebooks locally (no Docker), with per-question feedback",
        description="Grade student notebooks locally, no Docker needed. By default (--engine "
                    "sandbox) each notebook runs in a guarded process of its own (time, memory "
                    "and file limits; no access to the hidden tests or the reference) and the "
                    "hidden checks run in the grader, exactly as the Gradescope zip built by "
                    "`cnnlab build` grades (docs/security.md). --engine otter grades with "
                    "`otter run` and the zip instead, with the same scores but without the "
                    "guards; its zip comes from --build DIR, or else from a build cached in "
                    f"{DEFAULT_BUILD}/, remade when its inputs change. A "
                    "submission that cannot be run still gets its line, with total 0 and the "
                    "reason, and the exit status is then 1 (2 for a bad command line)."
                    "\n\nexample: cnnlab grade submissions/*.ipynb -j 2 --csv grades.csv"
                    "\nexample: cnnlab grade submissions/*.ipynb --db gradebook.sqlite  "
                    "(again later: only new or changed notebooks are graded)"
                    "\nexample: cnnlab grade submissions/*.ipynb --scheduler tcp://HOST:8786  "
                    "(on a Dask cluster's workers)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION", help="notebooks (.ipynb)")
    parser.add_argument("--assignment", metavar="NAME",
                        help="assignment to grade against (default: read from each notebook's "
                             "otter metadata, which `cnnlab build` writes into the student "
                             "notebook)")
    parser.add_argument("--build", metavar="DIR",
                        help=f"with --engine otter: a `cnnlab build --out DIR` folder to take "
                             f"the zip from (default: {DEFAULT_BUILD}/, built when missing or "
                             f"stale)")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                        help="submissions graded at once (default 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="grade on the workers of a Dask cluster, e.g. tcp://HOST:8786 "
                             "(sandbox engine only; its workers decide how many at once; "
                             "README, 'Grading on a cluster')")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                        help=f"wall-clock seconds per submission (default {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--memory", type=float, default=DEFAULT_MEMORY_BYTES / 1024**3,
                        metavar="GB", help="memory limit per submission, address space "
                        f"(default {DEFAULT_MEMORY_BYTES / 1024**3:g})")
    parser.add_argument("--engine", choices=("sandbox", "otter"),
                        default="sandbox",
                        help="sandbox: cnnlab's guarded grader (the default); otter: `otter "
                             "run` with the Gradescope zip, the same scores, no guards against "
                             "hostile code")
    parser.add_argument("--strict", action="store_true",
                        help="refuse to grade unless the sandbox has every layer this machine "
                             "should give (see `cnnlab doctor`)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per submission, as each finishes")
    parser.add_argument("--csv", metavar="FILE",
                        help="also write one row per submission with per-question scores")
    parser.add_argument("--db", metavar="FILE",
                        help="a gradebook (SQLite, created if missing) that keeps every "
                             "record; a notebook whose content and grader are unchanged "
                             "since its record there is not graded again (its stored record "
                             "is shown); `cnnlab report --db FILE` reads it")
    parser.add_argument("--student-id-from", choices=STUDENT_ID_FROM, default="stem",
                        help="with --db: the student a notebook belongs to is its file "
                             "name without .ipynb (stem, the default), its folder's name "
                             "(folder), or the user id in the name of Canvas's submission "
                             "download (canvas: doejane_12345_678_hw.ipynb is 12345)")
    parser.set_defaults(func=run)


def _assignments_of(submissions, given) -> list[str]:
    from autograder.grade import notebook_assignment
    if given:
        return [given]
    found = []
    for s in submissions:
        try:
            name = notebook_assignment(Path(s))
        except Exception:  # noqa: BLE001 - unreadable: it gets its error line later
            name = None
        if name and name not in found:
            found.append(name)
    return found


def _gradebook_error():
    from autograder.gradebook import GradebookError
    return GradebookError


def _open_gradebook(path):
    """The gradebook of --db, checked before any grading (a foreign or damaged file is
    refused, and left as it is)."""
    from autograder.gradebook import Gradebook, GradebookError
    from cnnlab.cli import UserError
    try:
        return Gradebook(path)
    except GradebookError as err:
        raise UserError(f"--db {err}") from None


def _unchanged(book, args, known) -> tuple[list, list[dict], dict]:
    """(notebooks to grade, stored records of the others, {submission: (student, hash)}):
    a notebook is not graded again when its student's latest record of its assignment
    graded the same bytes with the same grader (and could run it)."""
    from autograder import gradebook
    from autograder.grade import notebook_assignment
    from autograder.inputs import input_problem

    todo, stored, keys = [], [], {}
    for s in args.submissions:
        student = gradebook.student_id(s, args.student_id_from)
        if input_problem(s):
            keys[str(s)] = keys[str(Path(s))] = (student, "")
            todo.append(s)  # it gets its error line from the grader
            continue
        digest = gradebook.content_hash(s)
        keys[str(s)] = keys[str(Path(s))] = (student, digest)
        try:
            name = args.assignment or notebook_assignment(Path(s))
        except Exception:  # noqa: BLE001 - not a notebook: the grader says why
            name = None
        previous = None
        if name in known:
            previous = book.unchanged(student, name, digest,
                                      gradebook.grader_version(name, args.engine))
        if previous is None:
            todo.append(s)
        else:
            stored.append({**previous, "submission": str(s)})
    print(f"cnnlab grade: {len(stored)} of {len(args.submissions)} notebooks unchanged since "
          f"{args.db} graded them, not graded again (their stored records are shown)",
          file=sys.stderr)
    return todo, stored, keys


def _store(book, result: dict, keys: dict, engine: str) -> None:
    from autograder import gradebook
    student, digest = keys.get(result["submission"]) or (
        gradebook.student_id(result["submission"]), "")
    grader = (gradebook.grader_version(result["assignment"], engine)
              if result.get("assignment") else f"cnnlab {gradebook.cnnlab_version()} {engine}")
    book.add_record(result, student=student, content_hash=digest, grader=grader)


def run(args) -> int:
    from cnnlab.cli import UserError

    if args.jobs < 1:
        raise UserError(f"-j {args.jobs}: the number of jobs must be at least 1")
    if not (math.isfinite(args.timeout) and args.timeout >= 1):
        raise UserError(f"--timeout {args.timeout}: give the seconds per submission, at least 1")
    if not (math.isfinite(args.memory) and MIN_MEMORY_GB <= args.memory <= MAX_MEMORY_GB):
        raise UserError(f"--memory {args.memory}: give GB between {MIN_MEMORY_GB:g} (importing "
                        f"torch alone needs about that) and {MAX_MEMORY_GB:g}")
    if args.csv:
        from cnnlab.paths import output_file
        output_file(args.csv, "--csv")

    if args.scheduler is not None and not args.scheduler.strip():
        raise UserError("--scheduler: give the Dask scheduler's address, tcp://HOST:8786")
    if args.scheduler and args.engine != "sandbox":
        raise UserError("--scheduler needs the sandbox engine (--engine otter grades on this "
                        "machine only)")
    if args.scheduler and args.jobs != 1:
        raise UserError(f"-j {args.jobs} with --scheduler: the cluster's workers decide the "
                        "parallelism (their --nthreads)")
    if args.build and args.engine == "sandbox":
        raise UserError("--build is only used with --engine otter (the default sandbox engine "
                        "needs no build and grades the same)")
    if args.strict and args.engine != "sandbox":
        raise UserError("--strict needs the sandbox engine: otter runs student code unguarded")
    if args.strict and not args.scheduler:  # on a cluster each worker's grader refuses
        from autograder import doctor, lockdown
        missing = doctor.missing_layers(doctor.sandbox_report())
        if missing:
            raise UserError("--strict: the sandbox lacks " + lockdown.status_line([], missing)
                            + "; see `cnnlab doctor`")
    from autograder.registry import graded_assignments
    known = graded_assignments()
    if args.assignment and args.assignment not in known:
        import difflib
        near = difflib.get_close_matches(args.assignment, known, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise UserError(f"unknown assignment {args.assignment!r}{hint}; known: "
                        f"{', '.join(known)}")
    if args.engine == "sandbox" and args.jobs == 1 and not args.scheduler:
        from autograder import forkserver
        forkserver.prestart(args.submissions)
    book = _open_gradebook(args.db) if args.db else None
    from autograder import grade, records
    if args.engine == "otter":
        from autograder.otter_engine import OTTER_WARNING
        print(f"cnnlab grade: warning: {OTTER_WARNING}", file=sys.stderr)
    # With --db: the notebooks graded before, unchanged, keep their stored records.
    todo, stored, keys = list(args.submissions), [], {}
    if book:
        todo, stored, keys = _unchanged(book, args, known)
    # A notebook that names an unknown assignment gets its own error line, later; the
    # others are graded.
    names = [n for n in _assignments_of(todo, args.assignment) if n in known] if todo else []
    build_dir = None  # the sandbox engine needs no build
    if args.engine == "otter" and args.build:
        build_dir = Path(args.build)
        for name in names:
            if not list((build_dir / name / "autograder").glob("*.zip")):
                raise UserError(f"--build {build_dir}: no zip for {name!r}; run "
                                f"`cnnlab build {name} --out {build_dir}`")
    elif args.engine == "otter":
        from autograder import build
        build_dir = Path(DEFAULT_BUILD)
        masters = build.discover()
        for name in [n for n in names if n in masters] or masters[:1]:
            try:
                build.ensure_built(name, build_dir, progress=lambda m: print(m, file=sys.stderr))
            except build.BuildError as err:
                raise UserError(f"building {name} failed: {err}") from None

    from tqdm import tqdm
    questions: list[str] = []
    for name in names:
        if build_dir is None:
            from autograder.runner import load_assignment
            found = list(load_assignment(name).checks)
        else:
            qfile = build_dir / name / "questions.json"
            found = list(json.loads(qfile.read_text())) if qfile.exists() else []
        questions += [q for q in found if q not in questions]
    questions += [q for q in records.questions_of(stored) if q not in questions]
    csv_file = open(args.csv, "w", newline="") if args.csv else None
    writer = csv.writer(csv_file) if csv_file else None
    if writer:
        writer.writerow(records.csv_header(questions))
    bar = tqdm(total=len(args.submissions), desc="grading", unit="nb", file=sys.stderr,
               disable=None)

    failed: list[dict] = []
    warned: list[str] = []

    def warn_about_layers(result: dict) -> None:
        # Once per run: a record graded with fewer layers than this machine should give.
        from autograder.lockdown import expected_layers
        if warned or result.get("sandbox") is None or result.get("error"):
            return
        lacking = [x for x in expected_layers() if x not in result["sandbox"]]
        if lacking:
            warned.append(result["submission"])
            tqdm.write(f"cnnlab grade: warning: the sandbox ran without {', '.join(lacking)} "
                       "(see `cnnlab doctor`; --strict refuses to grade so)", file=sys.stderr)

    def on_result(result: dict) -> None:
        warn_about_layers(result)
        if result.get("error") and not result["total"]:
            failed.append(result)
        if args.json:
            bar.clear()
            print(records.json_line(result), flush=True)
        else:
            tqdm.write(records.format_table(result) + "\n", file=sys.stdout)
        if writer:
            writer.writerow(records.csv_row(result, questions))
            csv_file.flush()
        bar.update(1)

    def on_graded(result: dict) -> None:
        if book:
            _store(book, result, keys, args.engine)
        on_result(result)

    for result in stored:
        on_result(result)
    if args.engine == "sandbox" and args.jobs == 1 and todo and not args.scheduler:
        grade.bound_grader_memory()  # -j N: each worker bounds itself; so does a Dask worker
    from autograder.executors import ClusterError
    try:
        grade.grade_many(todo, build_dir, args.assignment, jobs=args.jobs,
                         timeout=args.timeout, memory_bytes=int(args.memory * 1024**3),
                         on_result=on_graded, engine=args.engine, strict=args.strict,
                         scheduler=args.scheduler)
    except _gradebook_error() as err:
        raise UserError(f"--db {err}") from None
    except ClusterError as err:
        raise UserError(str(err)) from None
    finally:
        bar.close()
        if csv_file:
            csv_file.close()
        if book:
            book.close()
    if book and todo:
        print(f"cnnlab grade: {len(todo)} graded and stored in {args.db}", file=sys.stderr)
    if failed:
        # Every submission has its line above; the exit status and this summary say that
        # some could not be graded at all, for scripts and for people.
        print(f"cnnlab grade: {len(failed)} of {len(args.submissions)} submissions could not "
              f"be graded:", file=sys.stderr)
        for result in failed:
            print(f"  {result['submission']}: {result['error']}", file=sys.stderr)
        return 1
    return 0
