"""How long grading takes, against the floor of starting Python with torch and otter.

    .venv/bin/python bench/bench_grade.py [--repeat N] [--build DIR] [--out docs/bench/grade.md]

Measures, each as the median of N runs (the machine is shared: the load average is recorded):
- floor: `python -c "import torch, otter"` in a fresh process;
- grade: one cnn_costs submission (tests/samples/complete.ipynb) graded end to end by
  `cnnlab grade --json` in a fresh process, and by `autograder.otter_engine.run_isolated` alone;
- check: one `grader.check(q)` call in the student folder, in a process that has already
  imported torch and otter and run the notebook's cells (as a student's kernel has).
Budgets: grade <= 4x floor; every grader.check < 2 s.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
SAMPLE = ROOT / "tests" / "samples" / "complete.ipynb"
A = "cnn_costs"

CHECK_SCRIPT = """\
import json, sys, time
import torch, otter, nbformat
nb = nbformat.read("cnn_costs.ipynb", as_version=4)
env = {}
for cell in nb.cells:
    if cell.cell_type == "code" and "grader" not in cell.source:
        exec(cell.source, env)
grader = otter.Notebook("cnn_costs.ipynb")
times = {}
for q in sys.argv[1].split(","):
    runs = []
    for _ in range(int(sys.argv[2])):
        t = time.perf_counter()
        grader.check(q, global_env=env)
        runs.append(time.perf_counter() - t)
    times[q] = runs
print(json.dumps(times))
"""


def timed(cmd, **kw) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t


def median_of(n, fn) -> tuple[float, list[float]]:
    runs = [fn() for _ in range(n)]
    return statistics.median(runs), runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--build", help="a `cnnlab build` output (default: a fresh one in a temp dir)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "bench" / "grade.md"),
                        help="where the Markdown report goes (default docs/bench/grade.md)")
    args = parser.parse_args()

    from autograder import build, otter_engine
    tmp = Path(tempfile.mkdtemp(prefix="cnnlab_bench_"))
    try:
        build_dir = Path(args.build) if args.build else tmp / "build"
        if not args.build:
            build.ensure_built(A, build_dir)
        (zip_path,), _ = list((build_dir / A / "autograder").glob("*.zip")), None
        load_before = os.getloadavg()

        floor, floor_runs = median_of(args.repeat, lambda: timed([PY, "-c", "import torch, otter"]))
        cli = [str(Path(PY).parent / "cnnlab"), "grade", str(SAMPLE), "--engine", "otter",
               "--build", str(build_dir),
               "--json"]
        def graded_once() -> float:
            t = time.perf_counter()
            run = subprocess.run(cli, check=True, capture_output=True, text=True)
            elapsed = time.perf_counter() - t
            result = json.loads(run.stdout)
            assert result["total"] == result["possible"] > 0, result  # a real, full grading
            return elapsed
        graded, graded_runs = median_of(args.repeat, graded_once)

        def runner() -> float:
            t = time.perf_counter()
            result = otter_engine.run_isolated(zip_path, SAMPLE, A)
            elapsed = time.perf_counter() - t
            assert result["total"] == result["possible"] > 0, result
            return elapsed
        iso, iso_runs = median_of(args.repeat, runner)

        folder = tmp / "student"
        shutil.copytree(build_dir / A / "student", folder)
        shutil.copy(SAMPLE, folder / f"{A}.ipynb")
        questions = list(json.loads((build_dir / A / "questions.json").read_text()))
        out = subprocess.run([PY, "-c", CHECK_SCRIPT, ",".join(questions), str(args.repeat)],
                             cwd=folder, check=True, capture_output=True, text=True).stdout
        checks = json.loads(out.strip().splitlines()[-1])
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    check_medians = {q: statistics.median(r) for q, r in checks.items()}
    worst_q = max(check_medians, key=check_medians.get)
    worst_single = max(max(r) for r in checks.values())
    rows = [
        ("floor: `python -c \"import torch, otter\"`", floor, floor_runs, "1.00x"),
        ("`cnnlab grade complete.ipynb --engine otter --json` (fresh process)", graded, graded_runs,
         f"{graded / floor:.2f}x"),
        ("`autograder.otter_engine.run_isolated` (one submission)", iso, iso_runs, f"{iso / floor:.2f}x"),
    ]
    lines = [
        "# Grading benchmark (cnn_costs)",
        "",
        f"Produced by `.venv/bin/python bench/bench_grade.py --repeat {args.repeat}"
        f"{' --out ' + args.out if args.out else ''}`; medians of {args.repeat} runs.",
        f"Machine: {os.cpu_count()} CPUs, shared; load average (1, 5, 15 min) "
        f"{tuple(round(x, 2) for x in load_before)} before, "
        f"{tuple(round(x, 2) for x in load_after)} after.",
        "",
        "| what | median (s) | runs (s) | vs floor |",
        "| --- | ---: | --- | ---: |",
        *[f"| {w} | {m:.2f} | {', '.join(f'{r:.2f}' for r in runs)} | {ratio} |"
          for w, m, runs, ratio in rows],
        "",
        f"Budget: grading one submission <= 4x the floor: **{graded / floor:.2f}x** "
        f"({'met' if graded <= 4 * floor else 'NOT met'}).",
        "",
        "## `grader.check` in the student folder",
        "",
        "One call per question, in a process that already imported torch and otter and ran the",
        "notebook's cells (as in a student's kernel); the first call of the first question also",
        "pays for loading Otter's test machinery.",
        "",
        "| question | median (s) | max (s) |",
        "| --- | ---: | ---: |",
        *[f"| {q} | {check_medians[q]:.3f} | {max(r):.3f} |" for q, r in checks.items()],
        "",
        f"Budget: every call < 2 s: slowest single call **{worst_single:.3f} s** "
        f"({'met' if worst_single < 2 else 'NOT met'}); slowest median {worst_q} "
        f"{check_medians[worst_q]:.3f} s.",
        "",
        "## Notes",
        "",
        "- Grading one submission = a Python process importing otter, `otter run` unpacking the",
        "  zip, a fresh Jupyter kernel executing the notebook (cnnlab's guard cell first), then",
        "  the hidden checks (Hypothesis, derandomized). Kernel start-up and the imports dominate;",
        "  the checks themselves take well under a second for a correct submission.",
        "- A submission that loops forever costs more by design: each looping call waits for",
        "  its per-call limit (2 s in the checks), each public test for its CPU limit (5 s), and a",
        "  looping top-level cell for the cell timeout (60 s). The sample `infinite_loop.ipynb`",
        "  (a `while True` in `conv_params`, which the final AlexNet cell calls at top level)",
        "  grades in about 100 s on this machine; `cnnlab grade -j N` overlaps such submissions.",
        "- `grader.check` runs only the public tests in the student's own process: a few literal",
        "  examples, so it is fast; its cost is dominated by reading the test file.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.out:
        Path(args.out).write_text(report)
    return 0 if graded <= 4 * floor and worst_single < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
