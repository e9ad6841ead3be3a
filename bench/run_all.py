"""Run every benchmark in bench/ and rewrite docs/benchmarks.md from their sections.

Each bench/bench_<topic>.py measures one thing, prints a Markdown section and writes it to
docs/bench/<topic>.md; this script runs them in turn (never in parallel: they time things)
and joins the sections under one header that says which machine produced them.

    .venv/bin/python bench/run_all.py            # all
    .venv/bin/python bench/run_all.py costs quiz # some
    .venv/bin/python bench/run_all.py --join     # none: only rejoin the sections
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ROOT / "docs" / "bench"
# speed_history.md is written by hand: what each bench_speed run changed and measured, newest
# first (bench_speed.py rewrites speed.md, the latest run's own table, each time).
ORDER = ["costs", "grade", "assignments", "speed", "speed_history", "architectures", "gpu", "quiz",
         "guards", "demo"]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (f"{os.cpu_count()} cores (`nproc`: {len(os.sched_getaffinity(0))}), {cpu}; "
            f"Python {platform.python_version()}, torch {torch.__version__} "
            f"(CUDA available: {torch.cuda.is_available()}), {platform.system()} "
            f"{platform.release()}")


def main(argv: list[str]) -> int:
    scripts = sorted((ROOT / "bench").glob("bench_*.py"),
                     key=lambda p: (ORDER.index(p.stem[6:]) if p.stem[6:] in ORDER else 99, p))
    join_only = "--join" in argv
    wanted = set(argv) - {"--join"}
    failed = []
    for script in [] if join_only else scripts:
        topic = script.stem[len("bench_"):]
        if wanted and topic not in wanted:
            continue
        print(f"== {script.name}", file=sys.stderr, flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script)], cwd=ROOT)
        print(f"   {script.name}: exit {code} in {time.monotonic() - started:.0f} s",
              file=sys.stderr, flush=True)
        if code:
            failed.append(script.name)
    sections = sorted(SECTIONS.glob("*.md"),
                      key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else 99, p.stem))
    text = ["# Benchmarks", "",
            "Every figure below comes from `make bench` (`python bench/run_all.py`), which runs "
            "each `bench/bench_*.py` and rewrites this file from the sections they write to "
            "`docs/bench/`. Each section names the machine and date it was measured on.", "",
            (f"Sections rejoined {time.strftime('%Y-%m-%d')}; each section says when it was "
             "measured." if join_only else
             f"Last full run: {time.strftime('%Y-%m-%d')} on {machine()}." if not wanted else
             f"Sections rejoined {time.strftime('%Y-%m-%d')} after a run of "
             f"{', '.join(sorted(wanted))} only; each section says when it was measured."), ""]
    for section in sections:
        text += [section.read_text().strip(), ""]
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(text))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
