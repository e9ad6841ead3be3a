"""How fast are the class view and a regrade with a gradebook? Writes docs/bench/report.md
and prints it.

    .venv/bin/python bench/bench_report.py [--runs N] [--students N] [--strict]

Targets (issue 16), each a fresh `cnnlab` process (imports included), the median of --runs:
- `cnnlab report --db GRADEBOOK --out DIR --canvas-csv FILE --roster CSV` for 1,000
  students x 3 assignments x 15 questions in at most 5 s (and the same from `--json`);
- `cnnlab grade NOTEBOOK... --db GRADEBOOK` on an unchanged class of 100 in at most 5 s:
  every notebook's record is in the gradebook already, so none is graded again.

The class is generated: each wrong answer's feedback names catalogued mistakes as the
checks do, so the report also pays for finding the mistake ids in the text (`--json`) or
reads them from the gradebook (`--db`). --strict exits 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "bench" / "report.md"
TARGET_S = 5.0
ASSIGNMENTS, QUESTIONS = 3, 15


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def make_class(students: int, assignments: int = ASSIGNMENTS, questions: int = QUESTIONS,
               seed: int = 0) -> list[dict]:
    """`cnnlab grade --json` records of a generated class: per question, one student in
    three loses points with one or two catalogued mistakes named in the feedback (some
    mistakes far commoner than others, as in a real class)."""
    from solutions.mistakes.formulas import CATALOGUE

    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(len(CATALOGUE))]
    records = []
    for a in range(assignments):
        name = f"hw{a + 1}"
        for s in range(students):
            qs, total = {}, 0.0
            for q in range(questions):
                possible = float(1 + q % 3)
                if rng.random() < 1 / 3:
                    made = rng.choices(CATALOGUE, weights, k=rng.choice((1, 2)))
                    score = round(possible * rng.choice((0, 1 / 3, 2 / 3)), 2)
                    feedback = "\n".join(f"`{m.target}(227, 11, stride=4, padding=2)` returned "
                                         f"{rng.randint(1, 999)}: looks like it "
                                         f"{m.description}." for m in made)
                else:
                    score, feedback = possible, "all tests passed"
                qs[f"q{q + 1:02d}"] = {"score": score, "possible": possible,
                                       "feedback": feedback}
                total += score
            records.append({"submission": f"submissions/{name}/s{100000 + s}.ipynb",
                            "assignment": name, "total": round(total, 2),
                            "possible": float(sum(v["possible"] for v in qs.values())),
                            "questions": qs, "error": None, "notes": [],
                            "sandbox": ["uid", "landlock", "seccomp", "audit"]})
    return records


def write_roster(path: Path, students: int) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section"])
        for s in range(students):
            w.writerow([f"Student {s}", f"s{100000 + s}", f"sis{s}", f"login{s}",
                        f"Section {1 + s % 4}"])


def fill_gradebook(path: Path, records: list[dict]) -> None:
    from autograder.gradebook import Gradebook, student_id
    with Gradebook(path) as book:
        book.add_records([(r, student_id(r["submission"]), f"hash-{i}", "cnnlab bench")
                          for i, r in enumerate(records)])


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    return took, done.stderr


def unchanged_class(folder: Path, db: Path, students: int) -> list[Path]:
    """`students` notebooks (the bundled correct cnn_costs sample, each with a line of its
    own), with their records in the gradebook as `cnnlab grade --db` stores them."""
    from autograder import gradebook
    from autograder.runner import load_assignment

    sample = json.loads((ROOT / "samples" / "cnn_costs" / "correct.ipynb").read_text())
    assignment = load_assignment("cnn_costs")
    grader = gradebook.grader_version("cnn_costs", "sandbox")
    paths, items = [], []
    for s in range(students):
        nb = json.loads(json.dumps(sample))
        nb["cells"].append({"cell_type": "markdown", "metadata": {},
                            "source": [f"Submitted by student {s}."]})
        path = folder / f"s{100000 + s}.ipynb"
        path.write_text(json.dumps(nb))
        qs = {q: {"score": p, "possible": p, "feedback": "all tests passed"}
              for q, p in assignment.points.items()}
        record = {"submission": str(path), "assignment": "cnn_costs",
                  "total": assignment.possible, "possible": assignment.possible,
                  "questions": qs, "error": None, "notes": [], "sandbox": ["uid"]}
        items.append((record, gradebook.student_id(path), gradebook.content_hash(path),
                      grader))
        paths.append(path)
    with gradebook.Gradebook(db) as book:
        book.add_records(items)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--regrade-students", type=int, default=100)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()

    cnnlab = [sys.executable, "-m", "cnnlab"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        records = make_class(args.students)
        jsonl = tmp / "grades.jsonl"
        jsonl.write_text("".join(json.dumps(r) + "\n" for r in records))
        db = tmp / "gradebook.sqlite"
        t = time.perf_counter()
        fill_gradebook(db, records)
        fill_s = time.perf_counter() - t
        roster = tmp / "roster.csv"
        write_roster(roster, args.students)
        load_before = load()
        report_db = [timed(cnnlab + ["report", "--db", str(db), "--out", str(tmp / "out"),
                                     "--canvas-csv", str(tmp / "canvas.csv"),
                                     "--roster", str(roster)])[0] for _ in range(args.runs)]
        report_json = [timed(cnnlab + ["report", "--json", str(jsonl), "--out",
                                       str(tmp / "out2")])[0] for _ in range(args.runs)]
        sizes = {p.name: p.stat().st_size for p in sorted((tmp / "out").iterdir())}

        folder = tmp / "class"
        folder.mkdir()
        regrade_db = tmp / "regrade.sqlite"
        notebooks = unchanged_class(folder, regrade_db, args.regrade_students)
        regrade, said = [], ""
        for _ in range(args.runs):
            took, said = timed(cnnlab + ["grade", *map(str, notebooks), "--db",
                                         str(regrade_db), "--csv", str(tmp / "grades.csv")])
            regrade.append(took)
        skipped_line = next((line for line in said.splitlines() if "unchanged" in line), "")
        skipped_line = skipped_line.replace(str(regrade_db), "GRADEBOOK")
        load_after = load()

    medians = {"db": statistics.median(report_db), "json": statistics.median(report_json),
               "regrade": statistics.median(regrade)}
    ok = all(v <= TARGET_S for v in medians.values())

    def runs(values):
        return ", ".join(f"{v:.2f}" for v in values)

    def verdict(v):
        return "met" if v <= TARGET_S else "MISSED"

    cells = args.students * ASSIGNMENTS * QUESTIONS
    lines = [
        "# `cnnlab report` and `cnnlab grade --db` benchmark",
        "",
        "Made by `.venv/bin/python bench/bench_report.py` (rerun it to refresh this page).",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} "
        f"CPUs, Python "
        f"{platform.python_version()}; load average (1, 5, 15 min) {load_before} before and "
        f"{load_after} after: the machine is shared, so the median is reported.",
        "",
        f"## The class view: {args.students:,} students x {ASSIGNMENTS} assignments x "
        f"{QUESTIONS} questions",
        "",
        f"A generated class ({cells:,} graded questions, a third of them with one or two "
        f"catalogued mistakes named in the feedback), a fresh process each run, "
        f"{args.runs} runs:",
        "",
        f"- `cnnlab report --db GRADEBOOK --out DIR --canvas-csv FILE --roster CSV`: median "
        f"**{medians['db']:.2f} s** (target <= {TARGET_S:g} s: {verdict(medians['db'])}); "
        f"runs: {runs(report_db)} s",
        f"- `cnnlab report --json grades.jsonl --out DIR` (the mistake ids found in the "
        f"feedback text): median **{medians['json']:.2f} s** ({verdict(medians['json'])}); "
        f"runs: {runs(report_json)} s",
        f"- storing the {len(records):,} records in a new gradebook in one transaction "
        f"(in-process): {fill_s:.2f} s",
        "- files: " + ", ".join(f"{k} {v / 1024:,.0f} KB" for k, v in sizes.items()),
        "",
        f"## Regrading an unchanged class of {args.regrade_students} with `--db`",
        "",
        f"`cnnlab grade NOTEBOOK... --db GRADEBOOK --csv FILE`, every notebook's record "
        f"already stored with its content hash and this grader's version, {args.runs} runs: "
        f"median **{medians['regrade']:.2f} s** (target <= {TARGET_S:g} s: "
        f"{verdict(medians['regrade'])}); runs: {runs(regrade)} s. It said: "
        f"`{skipped_line}`. No notebook is run, and torch is not imported.",
        "",
    ]
    text = "\n".join(lines)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    print(text)
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
