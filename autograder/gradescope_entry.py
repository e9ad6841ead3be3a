"""Gradescope's entry point: grade /autograder/submission/*.ipynb with the sandboxed runner
and write /autograder/results/results.json in Gradescope's format.

`cnnlab build` puts this in the autograder zip's `run_autograder`, with
`cnnlab_assignment.json` ({"assignment": name, "points": {question: points}}) beside it, so
Gradescope grades exactly as `cnnlab grade` does, with the same guards (docs/security.md).

    python -m autograder.gradescope_entry [--root /autograder]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autograder import runner

SOURCE = Path(__file__).resolve().parent.parent


def load_config(source: Path = SOURCE) -> runner.Assignment:
    config = json.loads((source / "cnnlab_assignment.json").read_text())
    assignment = runner.load_assignment(config["assignment"])
    points = {q: float(config["points"].get(q, assignment.points[q])) for q in assignment.checks}
    return runner.Assignment(assignment.name, points, assignment.checks)


def results_json(record: dict) -> dict:
    """Gradescope's results.json from the contract's record."""
    tests = [{"name": question, "score": result["score"], "max_score": result["possible"],
              "output": result["feedback"], "visibility": "visible"}
             for question, result in record["questions"].items()]
    output = []
    if record.get("error"):
        output.append(record["error"])
    output += record.get("notes", [])
    if record.get("sandbox") is not None:
        output.append("Sandbox layers: " + (", ".join(record["sandbox"]) or "none"))
    return {"score": record["total"], "tests": tests,
            "extra_data": {"sandbox": record.get("sandbox")},
            "output": "\n".join(output) or "Graded by cnnlab.",
            "stdout_visibility": "hidden"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="/autograder", help="Gradescope's folder")
    args = parser.parse_args(argv)
    root = Path(args.root)
    assignment = load_config()
    notebooks = sorted((root / "submission").glob("*.ipynb"))
    results_dir = root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    if not notebooks:
        record = runner.failed_record(root / "submission", assignment,
                                      "no .ipynb file was submitted")
    else:
        # The grader's own files and the results folder are out of the student's reach.
        private = runner.PRIVATE_DIRS + [SOURCE, results_dir]
        record = runner.grade_notebook(notebooks[0], assignment, private_dirs=private)
    (results_dir / "results.json").write_text(json.dumps(results_json(record), indent=1))
    print(f"{assignment.name}: {record['total']:g} / {record['possible']:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
