"""Grading one submission of each assignment: wall time and peak memory (issue 5).

    .venv/bin/python bench/bench_assignments.py [--runs N] [--out docs/bench/assignments.md]

Target (issue 5): grading one submission of each assignment (cnn_costs, cnn_architectures,
softmax_backprop) takes at most 30 s and at most 1.5 GB peak memory on this machine's cores;
the ratio to the floor `python -c "import torch, otter"` is reported.

Each grading is the real command in a fresh process,
`.venv/bin/cnnlab grade samples/<a>/correct.ipynb --json` (default engine: the sandbox; the
grader process starts a sandbox child that runs the notebook, the checks run in the grader),
and its JSON line must say total == possible (the bench fails loudly otherwise). Measured:
- wall clock, median of N runs; the floor is timed the same way, interleaved with the
  gradings (floor, a1, a2, a3, floor, ...), so load on the shared machine hits both alike;
- peak memory of the process tree: a poller thread sums the RSS of the grader and all its
  descendants every ~20 ms and keeps the maximum (shared pages count once per process, so
  this errs high; a spike shorter than the period can be missed);
- the largest single process, as a cross-check: ru_maxrss from os.wait4 on the grader, which
  on Linux is the kernel's high-water mark over the grader and its reaped descendants (the
  per-run equivalent of getrusage(RUSAGE_CHILDREN).ru_maxrss, which is also reported for the
  whole bench).
Exits 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proctree import POLL_S, TreePeaks  # bench/ is on sys.path: this runs as a script
from run_all import machine

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "bench" / "assignments.md"
PY = sys.executable
CNNLAB = str(Path(PY).parent / "cnnlab")
ASSIGNMENTS = ["cnn_costs", "cnn_architectures", "softmax_backprop"]
TARGET_S = 30.0
TARGET_BYTES = 1.5 * 1024**3   # 1.5 GiB; 1.5e9 bytes is reported beside it
MIB = 1024**2


def measure(cmd: list[str]) -> dict:
    """Run cmd to completion: wall seconds, tree peak RSS, largest process, its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err)
        poller = TreePeaks(proc.pid)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        poller.done.set()
        poller.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"FAILED (exit {proc.returncode}): {' '.join(cmd)}\n{stdout[-2000:]}\n"
                         f"{stderr[-2000:]}")
    return {"seconds": elapsed, "tree_peak": poller.tree, "tree_procs": poller.tree_procs,
            "largest": usage.ru_maxrss * 1024, "cpu": usage.ru_utime + usage.ru_stime,
            "samples": poller.samples, "stdout": stdout}


def grade_once(assignment: str) -> dict:
    sample = ROOT / "samples" / assignment / "correct.ipynb"
    result = measure([CNNLAB, "grade", str(sample.relative_to(ROOT)), "--json"])
    lines = [line for line in result["stdout"].splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"FAILED: no JSON line from grading {assignment}:\n{result['stdout']}")
    record = json.loads(lines[-1])
    if not (record["possible"] > 0 and record["total"] == record["possible"]
            and not record.get("error")):
        raise SystemExit(f"FAILED: {assignment}'s correct.ipynb did not get full marks: "
                         f"{record['total']} / {record['possible']}\n"
                         + json.dumps(record, indent=1))
    result["record"] = record
    return result


def floor_once() -> dict:
    return measure([PY, "-c", "import torch, otter"])


def times(rs: list[dict]) -> str:
    return ", ".join(f"{r['seconds']:.2f}" for r in rs)


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each (median); default 3")
    parser.add_argument("--out", default=str(DOC), help="where to write the Markdown section")
    args = parser.parse_args()

    where = machine()
    date = time.strftime("%Y-%m-%d %H:%M %Z")
    load_before = load()
    floor_once()  # warm the file cache; not counted
    floors: list[dict] = []
    runs: dict[str, list[dict]] = {a: [] for a in ASSIGNMENTS}
    for i in range(args.runs):  # interleaved: the floor and every assignment in each round
        floors.append(floor_once())
        for a in ASSIGNMENTS:
            runs[a].append(grade_once(a))
            r = runs[a][-1]
            print(f"run {i + 1}/{args.runs} {a}: {r['seconds']:.2f} s, tree "
                  f"{r['tree_peak'] / MIB:.0f} MiB, largest {r['largest'] / MIB:.0f} MiB",
                  file=sys.stderr, flush=True)
    load_after = load()
    children_maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024

    floor = statistics.median(r["seconds"] for r in floors)
    floor_mem = max(r["tree_peak"] for r in floors)
    rows, missed = [], []
    for a in ASSIGNMENTS:
        wall = statistics.median(r["seconds"] for r in runs[a])
        cpu = statistics.median(r["cpu"] for r in runs[a])
        tree = max(r["tree_peak"] for r in runs[a])
        largest = max(r["largest"] for r in runs[a])
        peak = max(tree, largest)
        ok_t, ok_m = wall <= TARGET_S, peak <= TARGET_BYTES
        if not (ok_t and ok_m):
            missed.append(a)
        verdict = " / ".join([("yes" if ok_t else f"**NO** ({wall:.1f} s)"),
                              ("yes" if ok_m else f"**NO** ({peak / 1024**3:.2f} GiB)")])
        rows.append(
            f"| {a} | {wall:.2f} | {times(runs[a])} | {cpu:.1f} | "
            f"{tree / MIB:.0f} | {largest / MIB:.0f} | {wall / floor:.1f}x | {verdict} |")
    points = {a: f"{runs[a][0]['record']['total']:g}/{runs[a][0]['record']['possible']:g}"
              for a in ASSIGNMENTS}
    lines = [
        "## Assignments: grading one submission of each (issue 5)", "",
        f"Measured {date} with `bench/bench_assignments.py --runs {args.runs}`: "
        "`cnnlab grade samples/<assignment>/correct.ipynb --json` (sandbox engine) as a fresh "
        f"process, median wall clock of {args.runs} runs interleaved with the floor. "
        "Every run scored full marks ("
        + ", ".join(f"{a} {p}" for a, p in points.items()) + ").",
        "",
        f"Machine: {where}. Shared: load average (1, 5, 15 min) {load_before} at the start, "
        f"{load_after} at the end.", "",
        "| assignment | median wall (s) | runs (s) | CPU (s) | peak memory of the tree (MiB) | "
        "largest process (MiB) | ratio to floor | within 30 s / 1.5 GB? |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |",
        *rows,
        f"| floor: `python -c \"import torch, otter\"` | {floor:.2f} | "
        f"{times(floors)} | {statistics.median(r['cpu'] for r in floors):.1f} | "
        f"{floor_mem / MIB:.0f} | "
        f"{max(r['largest'] for r in floors) / MIB:.0f} | 1.0x | |", "",
        "CPU: user + system seconds of the grader and its sandbox child(ren) (median; on a "
        "shared machine the wall clock exceeds it when other work competes for the cores). "
        "Peak memory of the tree: the largest sum of the RSS of the grader and its sandbox "
        f"child(ren), sampled every {POLL_S * 1000:.0f} ms (max over the runs; pages "
        "shared between the processes are counted in each, so this errs high). Largest "
        "process: the kernel's `ru_maxrss` high-water mark of the single biggest process "
        "of the run (`os.wait4`); over the whole bench, "
        f"`getrusage(RUSAGE_CHILDREN).ru_maxrss` = {children_maxrss / MIB:.0f} MiB. The memory "
        "verdict uses the larger of the two figures; 1.5 GB is read as 1.5 GiB = 1536 MiB "
        "(1.5e9 bytes = 1431 MiB).", "",
        ("Targets: **met** for every assignment." if not missed else
         f"Targets: **NOT met** for {', '.join(missed)}."), "",
    ]
    section = "\n".join(lines)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(section)
    print(section)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
