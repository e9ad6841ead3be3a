"""`cnnlab quiz generate` and `cnnlab quiz grade`: argument parsing only; the work is in
quizzes.generate and quizzes.grade."""
from __future__ import annotations

import json
import sys

# Mirrors quizzes.variants (MAX_VARIANTS, MAX_QUESTIONS, MAX_TOTAL) and quizzes.csvio
# (MAX_STUDENTS) for --help without importing the quiz library; a test checks they agree.
MAX_VARIANTS, MAX_QUESTIONS, MAX_STUDENTS, MAX_TOTAL = 1000, 100, 20_000, 100_000


def register(subparsers) -> None:
    parser = subparsers.add_parser("quiz", help="randomized cost-table quizzes: generate, grade",
                                   description="Randomized cost-table quizzes.",
                                   epilog="example: cnnlab quiz generate --seed fall26 "
                                          "--variants 5 --out quiz/")
    sub = parser.add_subparsers(dest="quiz_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    gen = sub.add_parser(
        "generate", help="write quiz.qti.zip, quiz.md, answer_key.md and answer_key.json",
        description="Writes DIR/quiz.qti.zip (Canvas classic quiz, QTI 1.2: one question "
                    "group per question, pick 1 of its variants), DIR/quiz.md (the "
                    "students' handout to print: one page per student or per variant, no "
                    "answers), DIR/answer_key.md (the instructor's key to that handout, "
                    "with the seed) and DIR/answer_key.json (what `quiz grade` reads). The "
                    "same seed gives byte-identical files; keep the seed from students. "
                    "Limits: "
                    f"{MAX_VARIANTS} variants, {MAX_QUESTIONS} questions, {MAX_STUDENTS:,} "
                    f"students in a roster, and {MAX_TOTAL:,} question variants in all "
                    "(questions x variants or students).",
        epilog="example: cnnlab quiz generate --seed fall26 --roster quizzes/samples/roster.csv "
               "--out quiz/")
    gen.add_argument("--seed", required=True, help="any string; fixes every file")
    gen.add_argument("--variants", type=int, metavar="N",
                     help=f"variants of each question, 1 to {MAX_VARIANTS} (without --roster)")
    gen.add_argument("--roster", metavar="CSV",
                     help="one variant per student: a CSV with an 'id' column (or Canvas's "
                          f"'ID' / 'SIS User ID'), 'name' optional; at most {MAX_STUDENTS:,} "
                          "students")
    gen.add_argument("--questions", type=int, default=None, metavar="K",
                     help=f"questions per quiz, 1 to {MAX_QUESTIONS} (default: one per "
                          "template)")
    gen.add_argument("--difficulty", default="medium",
                     help="easy, medium, hard, mixed, or a comma list cycled over questions "
                          "(default medium)")
    gen.add_argument("--templates", help="comma list of templates to cycle through "
                                         "(default: all)")
    gen.add_argument("--multiple-choice", action="store_true",
                     help="export numerical questions as multiple choice too")
    gen.add_argument("--out", required=True, metavar="DIR",
                     help="folder to write into (created if needed)")
    gen.add_argument("--json", action="store_true",
                     help="print what was written as one JSON object (files, counts)")
    gen.set_defaults(func=run_generate)

    grade = sub.add_parser(
        "grade", help="score responses and name the likely mistakes",
        description="Scores RESPONSES.csv against the key: a CSV with the columns "
                    "student, question and response (any order and case; a column named "
                    "'answer' is taken as the response, and a file with both is refused), "
                    "or Canvas's Student Analysis export. In the simple CSV, question is a "
                    "question id (q03v002, q03-1a2b3c4d) or, with a roster key, the "
                    "question (q03); a multiple-choice response may be the letter printed "
                    "on the handout (A, b). A row that cannot be graded (an unknown "
                    "student or question, a second answer) is reported on stderr with its "
                    "line and skipped; everyone else is graded. An empty file warns.",
        epilog="example: cnnlab quiz grade responses.csv --key quiz/answer_key.json "
               "--plot mistakes.png --db gradebook.sqlite")
    grade.add_argument("responses", metavar="RESPONSES.csv")
    grade.add_argument("--key", required=True, metavar="KEY.json")
    grade.add_argument("--json", action="store_true", help="print the result as one JSON object")
    grade.add_argument("--strict", action="store_true",
                       help="exit 1 when a row was skipped or the file has no responses "
                            "(the scores are still printed)")
    grade.add_argument("--plot", metavar="FILE",
                       help="figure of mistake counts per question; the suffix picks the "
                            "format (.png, .pdf, .svg, ...)")
    grade.add_argument("--db", metavar="FILE",
                       help="a gradebook (SQLite, created if missing) to store every "
                            "student's answers in, under the quiz's name: the key's folder "
                            "(quiz1/answer_key.json is quiz1), or the key's file name "
                            "without .json; `cnnlab report --db FILE` reads it")
    grade.set_defaults(func=run_grade)


def run_generate(args) -> int:
    from cnnlab.cli import UserError
    from cnnlab.paths import input_file, output_dir
    from quizzes.csvio import QuizInputError
    from quizzes.generate import FILE_NAMES, generate
    from quizzes.templates import TEMPLATES
    from quizzes.variants import DEFAULT_QUESTIONS, parse_difficulty

    if args.roster is None and args.variants is None:
        raise UserError("give --variants N (or --roster CSV for one variant per student)")
    if args.variants is not None and not 1 <= args.variants <= MAX_VARIANTS:
        raise UserError(f"--variants must be 1 to {MAX_VARIANTS}, got {args.variants:,}")
    templates = None
    if args.templates is not None:
        templates = [t.strip() for t in args.templates.split(",") if t.strip()]
        if not templates:
            raise UserError(f"--templates is empty: give a comma list of templates (known: "
                            f"{', '.join(TEMPLATES)}), or leave it out for all")
        unknown = [t for t in templates if t not in TEMPLATES]
        if unknown:
            raise UserError(f"unknown template {unknown[0]!r}; known: {', '.join(TEMPLATES)}")
    questions = args.questions if args.questions is not None else (
        len(templates) if templates else DEFAULT_QUESTIONS)
    if not 1 <= questions <= MAX_QUESTIONS:
        raise UserError(f"--questions must be 1 to {MAX_QUESTIONS}, got {questions:,}")
    if args.roster is None and questions * args.variants > MAX_TOTAL:
        raise UserError(f"--questions {questions} x --variants {args.variants} = "
                        f"{questions * args.variants:,} question variants; at most "
                        f"{MAX_TOTAL:,} are supported")
    try:
        parse_difficulty(args.difficulty)
    except ValueError as err:
        raise UserError(str(err)) from None
    if args.roster is not None:
        input_file(args.roster)
    output_dir(args.out, "--out")  # before any work; created if needed
    try:
        result = generate(args.out, args.seed, args.variants, args.roster, questions,
                          args.difficulty, templates, args.multiple_choice)
    except QuizInputError as err:
        raise UserError(str(err)) from None
    except ValueError as err:  # too many students for the questions
        raise UserError(str(err)) from None
    except OSError as err:  # the folder went away, or the disk is full
        where = err.filename or args.out
        raise UserError(f"--out {args.out}: cannot write {where} "
                        f"({err.strerror or err})") from None
    quiz = result["quiz"]
    if args.json:
        print(json.dumps({
            "questions": len(quiz.slots()),
            "students": len(quiz.students) if quiz.students is not None else None,
            "variants": None if quiz.students is not None else args.variants,
            "files": {name: str(result[name]) for name in FILE_NAMES},
        }))
    else:
        who = (f"{len(quiz.students)} students" if quiz.students is not None
               else f"{args.variants} variants")
        print(f"{len(quiz.slots())} questions x {who}:\n"
              f"  {result['qti']}  (import into Canvas)\n"
              f"  {result['markdown']}  (the handout: one page per "
              f"{'student' if quiz.students is not None else 'variant'}, no answers)\n"
              f"  {result['key_markdown']}  (the instructor's key to the handout)\n"
              f"  {result['key']}  (for cnnlab quiz grade)")
    if quiz.students is not None and args.variants is not None:
        print("note: --variants is ignored with --roster (one variant per student)",
              file=sys.stderr)
    return 0


def run_grade(args) -> int:
    from cnnlab.cli import UserError
    from cnnlab.paths import PLOT_SUFFIXES, input_file, output_file
    from quizzes.csvio import QuizInputError
    from quizzes.grade import grade_files, public, report, skipped_lines

    if args.plot is not None:  # a bad --plot is an error now, not after grading
        output_file(args.plot, "--plot", PLOT_SUFFIXES)
    book = None
    if args.db is not None:  # a foreign or damaged gradebook is refused before grading
        from autograder.gradebook import Gradebook, GradebookError
        try:
            book = Gradebook(args.db)
        except GradebookError as err:
            raise UserError(f"--db {err}") from None
    input_file(args.key)  # in the order grade_files reads them
    input_file(args.responses)
    try:
        result = grade_files(args.responses, args.key)
    except QuizInputError as err:
        raise UserError(str(err)) from None
    skipped = skipped_lines(result)
    for line in skipped:
        print(f"warning: {line}", file=sys.stderr)
    if skipped and any(s["line"] is not None for s in result["skipped"]):
        print(f"warning: {len(skipped)} skipped (above); the rest is graded"
              + ("; --strict: exit 1" if args.strict else ""), file=sys.stderr, flush=True)
    # The scores first: a plot that still fails to save loses nothing already computed.
    if args.json:
        print(json.dumps(public(result)), flush=True)
    else:
        print(report(result), flush=True)
    if book is not None:
        _store_quiz(book, result, args)
    if args.plot is not None:
        from quizzes.plots import plot_mistakes
        try:
            plot_mistakes(result, args.plot)
        except (OSError, ValueError) as err:
            reason = getattr(err, "strerror", None) or err
            raise UserError(f"--plot {args.plot}: cannot write the plot ({reason}); the "
                            f"scores above are complete") from None
        if not args.json:
            print(f"plot: {args.plot}")
    return 1 if args.strict and skipped else 0


def _store_quiz(book, result: dict, args) -> None:
    from autograder.gradebook import GradebookError, quiz_name
    from cnnlab.cli import UserError
    from quizzes.csvio import read_key
    try:
        with book:
            n = book.add_quiz(result, read_key(args.key), quiz_name(args.key), args.responses)
    except GradebookError as err:
        raise UserError(f"--db {err}; the scores above are complete") from None
    print(f"stored {n} students' answers to {quiz_name(args.key)} in {args.db}",
          file=sys.stderr)
