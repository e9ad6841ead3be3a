"""Where the time of grading a cnn_architectures submission goes, against the floor
`python -c "import torch"` measured in the same minutes (the machine is shared).

    .venv/bin/python bench/bench_architectures.py [--runs N] [--many N] [--before DIR]
                                                   [--skip-checks] [--out FILE]

- checks: each hidden check's seconds in one process (the sandbox engine), for the first
  submission a process grades (the reference's side computed), the second (cached) and
  the third (as a `cnnlab grade -j N` worker's next few; the weight files are written in
  full at its fifth, checks.FULL_WEIGHTS_FROM_USE);
  `probe` is the part spent waiting for the sandbox, the rest is the grader's own;
- fresh: `cnnlab grade --json samples/cnn_architectures/correct.ipynb` in a fresh process,
  median of N runs interleaved with the floor, with its peak memory: the largest single
  process (what `/usr/bin/time -f %M` reports) and the largest sum over the process tree;
- with --many N: `cnnlab grade -j 2 --json` of N copies of that sample, every copy scored
  15/15 (checked).
--before DIR times the fresh and --many runs with another checkout's code too (`python -m
cnnlab` from DIR with this venv), interleaved, so both columns share the machine's load.
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

from proctree import POLL_S, TreePeaks  # bench/ is on sys.path: this runs as a script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = str(ROOT / ".venv" / "bin" / "python")
SAMPLE = ROOT / "samples" / "cnn_architectures" / "correct.ipynb"

CHECKS_SCRIPT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from autograder import runner
import autograder.checks.cnn_architectures as A
assignment = runner.load_assignment("cnn_architectures")
rows, current, probe = [], [None], {}
real_probe = A.run_probe
def timed_probe(env, name, *args):
    start = time.perf_counter()
    try:
        return real_probe(env, name, *args)
    finally:
        probe[current[0]] = probe.get(current[0], 0.0) + time.perf_counter() - start
A.run_probe = timed_probe
times = {}
for question, checks in assignment.checks.items():
    def wrap(check):
        def timed(env):
            current[0] = check.__name__
            start = time.perf_counter()
            try:
                return check(env)
            finally:
                times[check.__name__] = time.perf_counter() - start
        return timed
    assignment.checks[question] = [wrap(c) for c in checks]
real_execute = runner.NotebookRun.execute
executed = []
def execute(self):
    start = time.perf_counter()
    real_execute(self)
    executed.append(time.perf_counter() - start)
runner.NotebookRun.execute = execute
for _ in range(3):
    times.clear(); probe.clear()
    start = time.perf_counter()
    record = runner.grade_notebook(sys.argv[2], assignment)
    rows.append({"total": record["total"], "seconds": time.perf_counter() - start,
                 "notebook": executed[-1], "checks": dict(times), "probe": dict(probe)})
print(json.dumps(rows))
"""


def run(cmd: list[str], env: dict | None = None, cwd: Path = ROOT,
        poll_s: float = POLL_S, unique: bool = False) -> dict:
    """Wall seconds, the largest process's peak RSS (MiB) and the tree's summed peak
    (sampled every `poll_s`; with `unique`, its peak of pages counted once, see TreePeaks)."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL, env=env)
        poller = TreePeaks(proc.pid, poll_s, unique)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        poller.finish()
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"FAILED (exit {code}): {' '.join(cmd)}")
    records = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return {"seconds": seconds, "records": records, "tree_mib": poller.tree / 2**20,
            "tree_pss_mib": poller.tree_pss / 2**20,
            "tree_unique_mib": None if poller.tree_unique is None else poller.tree_unique / 2**20,
            "tree_unique_bound_mib": None if poller.tree_unique_bound is None
            else poller.tree_unique_bound / 2**20,
            "largest_mib": max(poller.largest, usage.ru_maxrss * 1024) / 2**20,
            "largest_cmd": poller.largest_cmd}


def cnnlab(tree: Path) -> tuple[list[str], dict]:
    """`python -m cnnlab` with `tree`'s code: run it from `tree` (the working folder comes
    first on sys.path)."""
    return [PY, "-m", "cnnlab"], dict(os.environ, PYTHONPATH=str(tree))


def checks_table(tree: Path) -> list[str]:
    result = subprocess.run([PY, "-c", CHECKS_SCRIPT, str(tree), str(SAMPLE)], cwd=tree,
                            capture_output=True, text=True, check=True)
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    lines = [f"Checks of one process (`{tree}`), the sandbox engine, grading the sample three "
             "times: " + "; ".join(f"{r['seconds']:.2f} s (notebook {r['notebook']:.2f} s, "
                                    f"score {r['total']:g})" for r in rows) + ".", "",
             "| check | 1st s | probe | 2nd s | probe | 3rd s | probe |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    first = rows[0]
    for name in sorted(first["checks"], key=lambda n: -first["checks"][n]):
        lines.append(f"| {name} | " + " | ".join(
            f"{r['checks'][name]:.2f} | {r['probe'].get(name, 0):.2f}" for r in rows) + " |")
    lines.append("| all checks | " + " | ".join(
        f"{sum(r['checks'].values()):.2f} | {sum(r['probe'].values()):.2f}" for r in rows) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--many", type=int, default=0, help="also grade N copies with -j 2")
    parser.add_argument("--before", type=Path, help="another checkout to time alongside")
    parser.add_argument("--skip-checks", action="store_true", help="no per-check table")
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args()
    trees = {"now": ROOT}
    if args.before:
        trees = {"before": args.before.resolve(), **trees}
    lines = ["## Grading cnn_architectures", "",
             f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
             f"{os.getloadavg()[0]:.2f} at the start.", ""]
    if not args.skip_checks:
        for name, tree in trees.items():
            lines += [f"### {name}", ""] + checks_table(tree) + [""]
    work = Path(tempfile.mkdtemp(prefix="cnnlab-bench-arch-"))
    copies = []
    for i in range(args.many):
        copies.append(str(shutil.copy(SAMPLE, work / f"{i:03d}.ipynb")))
    floors, results = [], {(t, w): [] for t in trees for w in ("fresh", "many")}
    try:
        for _ in range(args.runs):
            floors.append(run([PY, "-c", "import torch"])["seconds"])
            for name, tree in trees.items():
                cmd, env = cnnlab(tree)
                result = run(cmd + ["grade", "--json", str(SAMPLE)], env, tree)
                if result["records"][0]["total"] != result["records"][0]["possible"]:
                    raise SystemExit(f"FAILED: {name} did not give full marks")
                results[(name, "fresh")].append(result)
        if args.many:
            floors.append(run([PY, "-c", "import torch"])["seconds"])
            for name, tree in trees.items():
                cmd, env = cnnlab(tree)
                result = run(cmd + ["grade", "-j", "2", "--json", *copies], env, tree)
                if len(result["records"]) != len(copies) or any(
                        r["total"] != r["possible"] for r in result["records"]):
                    raise SystemExit(f"FAILED: {name}'s -j 2 run did not give every copy "
                                     "full marks")
                results[(name, "many")].append(result)
            floors.append(run([PY, "-c", "import torch"])["seconds"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    floor = statistics.median(floors)
    lines += [f"Floor `python -c \"import torch\"`: median {floor:.2f} s (runs "
              + ", ".join(f"{x:.2f}" for x in floors) + f"); load average now "
              f"{os.getloadavg()[0]:.2f}.", "",
              "| workload | tree | median s | x floor | largest process MiB | tree MiB |",
              "|---|---|---:|---:|---:|---:|"]
    for w, label in (("fresh", "one submission, fresh process"),
                     ("many", f"{args.many} submissions, -j 2")):
        for name in trees:
            rs = results[(name, w)]
            if not rs:
                continue
            seconds = statistics.median(r["seconds"] for r in rs)
            lines.append(f"| {label} | {name} | {seconds:.2f} | {seconds / floor:.1f} | "
                         f"{max(r['largest_mib'] for r in rs):.0f} | "
                         f"{max(r['tree_mib'] for r in rs):.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
