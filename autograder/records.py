"""The contract's record of one graded submission, and the three ways it is written out.

A record is `{"submission", "assignment", "total", "possible", "questions": {q: {"score",
"possible", "feedback"}}, "error", "notes", "sandbox"}` (docs/contract_notes.md). Whichever
engine graded it, `cnnlab grade` prints it as a text table or a JSON line and writes it as a
CSV row, and the demo writes the same CSV: every number comes from autograder/scoring.py and
is printed by `scoring.format_points`, so the text, the CSV and the JSON never disagree.

Standard library only.
"""
from __future__ import annotations

import json

from autograder import scoring

# A check logs here (INFO) what the grader should note on the submission's record, such as
# the device and time of a training smoke test; the sandbox engine's runner collects it.
NOTES_LOG = "cnnlab.notes"

# The keys of a JSON line, in order; "notes" is [] when there are none, "sandbox" is null
# for the Otter engine (which has no sandbox).
JSON_KEYS = ("submission", "assignment", "total", "possible", "questions", "error", "notes",
             "sandbox")


def failed_result(submission: str, assignment: str | None, questions: dict[str, float],
                  reason: str, seconds: float = 0.0) -> dict:
    """The record of a submission that could not be run: 0 on every question, the reason."""
    return {
        "submission": submission, "assignment": assignment, "total": 0.0,
        "possible": float(sum(questions.values())),
        "questions": {q: {"score": 0.0, "possible": p, "feedback": reason}
                      for q, p in questions.items()},
        "error": reason, "seconds": round(seconds, 2),
    }


def json_line(record: dict) -> str:
    return json.dumps({key: record.get(key, [] if key == "notes" else None)
                       for key in JSON_KEYS})


def csv_header(questions: list[str]) -> list[str]:
    return ["submission", "assignment", "total", "possible", "percent", *questions, "error",
            "notes", "sandbox"]


def csv_row(record: dict, questions: list[str]) -> list:
    points = scoring.format_points
    scores = [points(record["questions"][q]["score"]) if q in record["questions"] else ""
              for q in questions]
    sandbox = record.get("sandbox")
    return [record["submission"], record["assignment"], points(record["total"]),
            points(record["possible"]), scoring.percent(record["total"], record["possible"]),
            *scores, record.get("error") or "", " | ".join(record.get("notes") or []),
            "" if sandbox is None else " ".join(sandbox) or "none"]


def questions_of(records: list[dict]) -> list[str]:
    """Every question that appears in the records, in the order first seen."""
    found: list[str] = []
    for record in records:
        found += [q for q in record["questions"] if q not in found]
    return found


def format_table(record: dict) -> str:
    """A readable per-question report of one submission."""
    points = scoring.format_points
    lines = [f"{record['submission']}  ({record['assignment']}): "
             f"{points(record['total'])} / {points(record['possible'])}"]
    if record.get("error"):
        lines.append(f"  error: {record['error']}")
    for note in record.get("notes") or []:
        lines.append(f"  note: {note}")
    width = max([len(q) for q in record["questions"]] + [8])
    indent = " " * (width + 20)
    for q, r in record["questions"].items():
        line = f"  {q:<{width}}  {points(r['score']):>6} / {points(r['possible']):<5}"
        if r["score"] != r["possible"] and not record.get("error"):
            line += "  " + r["feedback"].replace("\n", "\n" + indent)
        lines.append(line)
    return "\n".join(lines)
