"""What the sandbox costs: grading a well-behaved submission with and without the guards.

Guarded: autograder.runner.grade_notebook (sandbox process, audit hook, proxies, limits).
Unguarded: the same cells exec'd in the grader's own process and the same checks run on the
plain namespace (what a naive grader does). Both are timed as whole fresh processes, so the
imports count on both sides. Target (issue 7): guarded <= 1.2 x unguarded.

The kernel lock-down (issue 12: uid when root, Landlock, seccomp) is measured the same way,
against the same sandbox with only the audit hook (CNNLAB_SANDBOX_LAYERS=audit). Target:
the lock-down adds at most 10%.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GUARDED = """
import sys
from autograder.runner import grade_notebook, load_assignment
record = grade_notebook(sys.argv[1], load_assignment("cnn_costs"))
assert record["total"] == record["possible"], record
"""
UNGUARDED = """
import sys
from autograder.runner import load_assignment, notebook_cells, run_checks
env = {"__name__": "__main__"}
for _, source in notebook_cells(sys.argv[1]):
    exec(compile(source, "<cell>", "exec"), env)
questions = run_checks(lambda: env, load_assignment("cnn_costs"))
assert all(q["score"] == q["possible"] for q in questions.values()), questions
"""


def timed(code: str, path: Path, runs: int, layers: str | None = None) -> list[float]:
    env = dict(os.environ)
    env.pop("CNNLAB_SANDBOX_LAYERS", None)
    if layers:
        env["CNNLAB_SANDBOX_LAYERS"] = layers
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, str(path)], check=True, cwd=ROOT, env=env)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    from autograder import hostile

    runs = 5
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reference.ipynb"
        path.write_text(__import__("json").dumps(hostile.notebook([hostile.REFERENCE_SOURCE])))
        timed(UNGUARDED, path, 1)  # warm the file cache
        guarded, unguarded, audit_only = [], [], []
        for _ in range(runs):  # interleaved, so load on the machine hits all alike
            unguarded += timed(UNGUARDED, path, 1)
            audit_only += timed(GUARDED, path, 1, layers="audit")
            guarded += timed(GUARDED, path, 1)
    g, u = statistics.median(guarded), statistics.median(unguarded)
    a = statistics.median(audit_only)
    from autograder.lockdown import expected_layers
    layers = ", ".join(expected_layers())
    section = "\n".join([
        "## Guards: the cost of grading in a sandbox (issue 7)", "",
        f"Measured {time.strftime('%Y-%m-%d')} with `bench/bench_guards.py`: one correct "
        f"`cnn_costs` submission, whole fresh processes, median of {runs} interleaved runs.", "",
        "| grading | median (s) | runs (s) |", "| --- | --- | --- |",
        f"| unguarded (cells and checks in one process) | {u:.2f} | "
        + ", ".join(f"{t:.2f}" for t in unguarded) + " |",
        f"| sandbox with the audit hook only (`CNNLAB_SANDBOX_LAYERS=audit`) | {a:.2f} | "
        + ", ".join(f"{t:.2f}" for t in audit_only) + " |",
        f"| guarded (`cnnlab grade`'s sandbox: {layers}) | {g:.2f} | "
        + ", ".join(f"{t:.2f}" for t in guarded) + " |", "",
        f"Overhead of the guards: **{(g / u - 1) * 100:+.0f}%** (issue 7's target: at most "
        "+20%, set for the audit-hook sandbox).",
        f"Overhead of the kernel lock-down over the audit-hook sandbox: **{(g / a - 1) * 100:+.0f}%** "
        "(issue 12's target: at most +10%).", "",
    ])
    out = ROOT / "docs" / "bench" / "guards.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(section)
    print(section)


if __name__ == "__main__":
    main()
