"""`cnnlab quiz generate` and `cnnlab quiz grade`: argument parsing only; the work is in
quizzes.generate and quizzes.grade."""
from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("quiz", help="randomized cost-table quizzes: generate, grade",
                                   description="Randomized cost-table quizzes.",
                                   epilog="example: cnnlab quiz generate --seed fall26 "
                                          "--variants 5 --out quiz/")
    sub = parser.add_subparsers(dest="quiz_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    gen = sub.add_parser(
        "generate", help="write quiz.qti.zip, quiz.md and answer_key.json",
        description="Writes DIR/quiz.qti.zip (Canvas classic quiz, QTI 1.2: one question "
                    "group per question, pick 1 of its variants), DIR/quiz.md (printable, "
                    "one section per variant or per student, answer sheet at the end) and "
                    "DIR/answer_key.json. The same seed gives byte-identical files.",
        epilog="example: cnnlab quiz generate --seed fall26 --roster quizzes/samples/roster.csv "
               "--out quiz/")
    gen.add_argument("--seed", required=True, help="any string; fixes every file")
    gen.add_argument("--variants", type=int, help="variants of each question (without --roster)")
    gen.add_argument("--roster", metavar="CSV",
                     help="one variant per student: a CSV with an 'id' column (or Canvas's "
                          "'ID' / 'SIS User ID'), 'name' optional")
    gen.add_argument("--questions", type=int, default=None, metavar="K",
                     help="questions per quiz (default: one per template)")
    gen.add_argument("--difficulty", default="medium",
                     help="easy, medium, hard, mixed, or a comma list cycled over questions "
                          "(default medium)")
    gen.add_argument("--templates", help="comma list of templates to cycle through "
                                         "(default: all)")
    gen.add_argument("--multiple-choice", action="store_true",
                     help="export numerical questions as multiple choice too")
    gen.add_argument("--out", required=True, metavar="DIR")
    gen.add_argument("--json", action="store_true",
                     help="print what was written as one JSON object (files, counts)")
    gen.set_defaults(func=run_generate)

    grade = sub.add_parser(
        "grade", help="score responses and name the likely mistakes",
        description="Scores RESPONSES.csv against the key: a CSV with columns student, "
                    "question, response, or Canvas's Student Analysis export.",
        epilog="example: cnnlab quiz grade responses.csv --key quiz/answer_key.json "
               "--plot mistakes.png")
    grade.add_argument("responses", metavar="RESPONSES.csv")
    grade.add_argument("--key", required=True, metavar="KEY.json")
    grade.add_argument("--json", action="store_true", help="print the result as one JSON object")
    grade.add_argument("--plot", metavar="FILE", help="PNG of mistake counts per question")
    grade.set_defaults(func=run_grade)


def run_generate(args) -> int:
    from cnnlab.cli import UserError
    from quizzes.csvio import QuizInputError
    from quizzes.generate import generate
    from quizzes.templates import TEMPLATES
    from quizzes.variants import DEFAULT_QUESTIONS

    if args.roster is None and args.variants is None:
        raise UserError("give --variants N (or --roster CSV for one variant per student)")
    if args.variants is not None and args.variants < 1:
        raise UserError(f"--variants must be >= 1, got {args.variants}")
    templates = None
    if args.templates:
        templates = [t.strip() for t in args.templates.split(",") if t.strip()]
        unknown = [t for t in templates if t not in TEMPLATES]
        if unknown:
            raise UserError(f"unknown template {unknown[0]!r}; known: {', '.join(TEMPLATES)}")
    questions = args.questions if args.questions is not None else (
        len(templates) if templates else DEFAULT_QUESTIONS)
    if questions < 1:
        raise UserError(f"--questions must be >= 1, got {questions}")
    try:
        result = generate(args.out, args.seed, args.variants, args.roster, questions,
                          args.difficulty, templates, args.multiple_choice)
    except QuizInputError as err:
        raise UserError(str(err)) from None
    except ValueError as err:  # a bad --difficulty
        raise UserError(str(err)) from None
    quiz = result["quiz"]
    if args.json:
        print(json.dumps({
            "questions": len(quiz.slots()),
            "students": len(quiz.students) if quiz.students is not None else None,
            "variants": None if quiz.students is not None else args.variants,
            "files": {name: str(result[name]) for name in ("qti", "markdown", "key")},
        }))
    else:
        who = (f"{len(quiz.students)} students" if quiz.students is not None
               else f"{args.variants} variants")
        print(f"{len(quiz.slots())} questions x {who}: {result['qti']}, "
              f"{result['markdown']}, {result['key']}")
    if quiz.students is not None and args.variants is not None:
        print("note: --variants is ignored with --roster (one variant per student)",
              file=sys.stderr)
    return 0


def run_grade(args) -> int:
    from cnnlab.cli import UserError
    from quizzes.csvio import QuizInputError
    from quizzes.grade import grade_files, public, report

    try:
        result = grade_files(args.responses, args.key)
    except QuizInputError as err:
        raise UserError(str(err)) from None
    if args.plot:
        from quizzes.plots import plot_mistakes
        plot_mistakes(result, args.plot)
    if args.json:
        print(json.dumps(public(result)))
    else:
        print(report(result))
        if args.plot:
            print(f"plot: {args.plot}")
    return 0
