"""How fast is `cnnlab quiz`? Writes docs/bench/quiz.md and prints it.

    .venv/bin/python bench/bench_quiz.py [--runs N] [--students N] [--strict]

Target (issue 6): 1000 students x 10 questions with every export (QTI zip, Markdown, JSON
key) in under 5 s, run as the command line in a fresh process (imports included). The
figure is the median of --runs runs; the load average at the start and end is recorded,
since the machine may be shared. Also timed in-process, step by step, and `quiz grade` of
every student's responses (one wrong answer in three made with a catalogued mistake).
--strict exits 1 when the target is missed.
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "bench" / "quiz.md"
TARGET_S = 5.0


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def write_roster(path: Path, n: int) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name"])
        for i in range(n):
            w.writerow([f"s{100000 + i}", f"Student {i}"])


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cli_run(roster: Path, out: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh `quiz generate` process."""
    cmd = [sys.executable, "-m", "cnnlab", "quiz", "generate", "--seed", "bench",
           "--roster", str(roster), "--questions", "10", "--difficulty", "mixed",
           "--out", str(out)]
    start, cpu = time.perf_counter(), _child_cpu()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start, _child_cpu() - cpu


def in_process(roster: Path, out: Path) -> dict:
    from quizzes.csvio import read_roster
    from quizzes.export_key import write_key
    from quizzes.export_markdown import write_markdown
    from quizzes.export_qti import write_qti
    from quizzes.variants import build_quiz

    steps = {}
    t, cpu0 = time.perf_counter(), time.process_time()
    students = read_roster(roster)
    quiz = build_quiz("bench", roster=students, questions=10, difficulty="mixed")
    steps["build the questions"] = time.perf_counter() - t
    steps["build the questions (CPU)"] = time.process_time() - cpu0
    for name, fn, file in [("QTI zip", write_qti, "quiz.qti.zip"),
                           ("Markdown", write_markdown, "quiz.md"),
                           ("JSON key", write_key, "answer_key.json")]:
        t = time.perf_counter()
        fn(quiz, out / file)
        steps[name] = time.perf_counter() - t
    return steps


def _unexplained(value):
    """A wrong answer no catalogued mistake (nor pair of them) gives: the worst case for
    diagnosis, which then tries every pair."""
    if isinstance(value, list):
        return [v + 3 for v in value]
    return value * 1.37 + 11


def grade_run(out: Path, unexplained: bool = False) -> tuple[float, int]:
    import json
    key = json.loads((out / "answer_key.json").read_text())
    path = out / "responses.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "question", "response"])
        for i, e in enumerate(key):
            wrong = [c for c in e["choices"] if c["mistake"]]
            if unexplained:
                value = _unexplained(e["answer"])
            else:
                value = wrong[0]["value"] if wrong and i % 3 == 0 else e["answer"]
            w.writerow([e["student"], e["id"],
                        "x".join(map(str, value)) if isinstance(value, list) else value])
    cmd = [sys.executable, "-m", "cnnlab", "quiz", "grade", str(path),
           "--key", str(out / "answer_key.json"), "--json"]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start, len(key)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        roster = tmp / "roster.csv"
        write_roster(roster, args.students)
        load_before = load()
        runs = [cli_run(roster, tmp / f"run{i}") for i in range(args.runs)]
        walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
        same = len({(tmp / f"run{i}" / "quiz.qti.zip").read_bytes()
                    for i in range(args.runs)}) == 1
        steps = in_process(roster, tmp / "run0")
        sizes = {p.name: p.stat().st_size for p in sorted((tmp / "run0").iterdir())}
        grade_s, responses = grade_run(tmp / "run0")
        unexplained_s, _ = grade_run(tmp / "run0", unexplained=True)
        load_after = load()

    median = statistics.median(walls)
    ok = median < TARGET_S
    lines = [
        "# `cnnlab quiz` benchmark",
        "",
        "Made by `.venv/bin/python bench/bench_quiz.py` (rerun it to refresh this page).",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; load average (1, 5, 15 min) {load_before} "
        f"before and {load_after} after: the machine is shared, so the median is reported.",
        "",
        f"## {args.students} students x 10 questions, every export",
        "",
        f"`cnnlab quiz generate --seed bench --roster ROSTER --questions 10 --difficulty mixed "
        f"--out DIR`, a fresh process each run (imports included), {args.runs} runs:",
        "",
        f"- median **{median:.2f} s** (target < {TARGET_S:.0f} s: {'met' if ok else 'MISSED'}); "
        f"runs: {', '.join(f'{w:.2f}' for w in walls)} s",
        f"- CPU time of the process (user + sys, which other load on the machine inflates "
        f"far less than wall time): median {statistics.median(cpus):.2f} s; runs: "
        f"{', '.join(f'{c:.2f}' for c in cpus)} s",
        f"- the {args.runs} runs wrote byte-identical zips: {same}",
        "- files: " + ", ".join(f"{n} {s / 1e6:.1f} MB" for n, s in sizes.items()
                                if n != "responses.csv"),
        "",
        "In-process steps of one run:",
        "",
        "| step | seconds |",
        "|---|---|",
    ] + [f"| {k} | {v:.2f} |" for k, v in steps.items()] + [
        "",
        "## Grading",
        "",
        f"`cnnlab quiz grade` of {responses:,} responses (a third of them wrong with a "
        f"catalogued mistake, each diagnosed), `--json`, one fresh process: **{grade_s:.2f} s**.",
        "",
        f"The worst case for diagnosis, every response wrong in a way no catalogued mistake "
        f"explains (so each is also tried against every pair of mistakes made together): "
        f"**{unexplained_s:.2f} s**.",
        "",
    ]
    text = "\n".join(lines)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    print(text)
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
