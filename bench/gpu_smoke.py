"""The training smoke tests on whatever device torch finds (CUDA when available), timed.

Run on a GPU machine: python3 bench/gpu_smoke.py. Prints one line per check and the grading
time of each reference through the sandbox (student code in its own process on the GPU).
"""
from __future__ import annotations

import importlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from autograder import hostile  # noqa: E402
from autograder.runner import grade_notebook, load_assignment, run_checks  # noqa: E402

SMOKE = {"cnn_architectures": "training", "softmax_backprop": "train_two_layer"}


def main() -> None:
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"torch {torch.__version__}, device: {device}")
    for name, question in SMOKE.items():
        assignment = load_assignment(name)
        env = vars(importlib.import_module(f"solutions.{name}"))
        for check in assignment.checks[question]:
            for run in ("cold", "warm"):
                started = time.perf_counter()
                check(env)
                print(f"{name}.{check.__name__} ({run}): {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        results = run_checks(lambda: env, assignment)
        ok = all(r["score"] == r["possible"] for r in results.values())
        print(f"{name}: all checks in-process {time.perf_counter() - started:.1f} s, "
              f"reference full marks: {ok}")
        # as a notebook cell carries it: the networks' tables inlined (the sandbox cannot
        # import solutions)
        from autograder.reference_source import self_contained_source
        source = self_contained_source(name)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sub" / f"{name}.ipynb"
            path.parent.mkdir()
            path.write_text(json.dumps(hostile.notebook([source])))
            started = time.perf_counter()
            record = grade_notebook(path, assignment)
            print(f"{name}: sandboxed grading {time.perf_counter() - started:.1f} s, "
                  f"{record['total']:g}/{record['possible']:g}, notes={record.get('notes')}")


if __name__ == "__main__":
    main()
