"""The red-team catalogue (tests/redteam/cases.py), graded in ONE run of the real CLI.

Every attack notebook (the blank cnn_costs notebook plus one attack cell, so it honestly
scores 0) and two correct classmates' notebooks are graded by
`python -m cnnlab grade --json -j 2 --assignment cnn_costs ...` in a subprocess, with HOME
pointed at a temp folder (tests/redteam/harness.py). For the whole run: it finishes, every
stdout line is exactly one of our records, one per notebook and none for anything else, the
classmates keep full marks and their files, no file changes outside the sandbox's temp
folders, no process of the run is left running. For each attack: one record, 0 points, no
hidden source in its feedback, no file left carrying its tag.
"""
from __future__ import annotations

import json
from collections import Counter

import pytest

from redteam import cases, harness

# One run of the CLI for the whole catalogue (at most harness.RUN_TIMEOUT_S, plus the grace
# given to processes it leaves running).
pytestmark = pytest.mark.slow

RECORD_KEYS = {"submission", "assignment", "total", "possible", "questions", "error"}
# Keys the CLI may add to a record besides the contract's (the sandbox's layers, timing).
EXTRA_KEYS = {"sandbox", "seconds", "notes"}


@pytest.fixture(scope="module")
def outcome(tmp_path_factory) -> harness.Outcome:
    return harness.shared_outcome(tmp_path_factory)


def _is_number(value) -> bool:
    return type(value) in (int, float)


def _as_record(line: str):
    """The line as one of our --json records, or None."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) \
            or not RECORD_KEYS <= set(record) <= RECORD_KEYS | EXTRA_KEYS:
        return None
    if not (isinstance(record["submission"], str) and record["assignment"] == "cnn_costs"
            and _is_number(record["total"]) and _is_number(record["possible"])
            and (record["error"] is None or isinstance(record["error"], str))
            and isinstance(record["questions"], dict)):
        return None
    for result in record["questions"].values():
        if not (isinstance(result, dict) and set(result) == {"score", "possible", "feedback"}
                and _is_number(result["score"]) and _is_number(result["possible"])
                and isinstance(result["feedback"], str)):
            return None
    return record


def _records(outcome) -> list[dict]:
    return [r for r in map(_as_record, outcome.stdout.splitlines()) if r is not None]


def _records_of(outcome, path: str) -> list[dict]:
    return [r for r in _records(outcome) if r["submission"] == path]


def _summary(outcome) -> str:
    return (f"(exit status {outcome.returncode}, {outcome.wall_s} s; stderr tail: "
            f"{outcome.stderr[-600:]!r})")


# ----------------------------------------------------------------------------- the run

def test_the_run_finishes(outcome):
    assert not outcome.timed_out, (f"the run did not finish within "
                                   f"{harness.RUN_TIMEOUT_S:g} s {_summary(outcome)}")
    assert outcome.returncode in (0, 1), _summary(outcome)


def test_every_stdout_line_is_one_of_our_records(outcome):
    foreign = [line for line in outcome.stdout.splitlines() if _as_record(line) is None]
    assert not foreign, f"{len(foreign)} stdout lines are not records: {foreign[:5]!r}"


def test_one_record_per_notebook_and_none_for_anything_else(outcome):
    counts = Counter(r["submission"] for r in _records(outcome))
    wrong = {path: n for path, n in counts.items() if n != 1 or path not in outcome.graded}
    missing = [path for path in outcome.graded if path not in counts]
    assert not wrong and not missing, (f"records per submission not 1: {wrong}; no record: "
                                       f"{missing} {_summary(outcome)}")


@pytest.mark.parametrize("name", harness.CLASSMATES)
def test_classmate_keeps_full_marks_and_its_file(outcome, name):
    path = outcome.classmates[name]
    assert outcome.classmates_unchanged[name], f"{path} was changed during the run"
    records = _records_of(outcome, path)
    assert len(records) == 1, f"{len(records)} records for {path}: {records} {_summary(outcome)}"
    record = records[0]
    possible = sum(outcome.points.values())
    assert record["total"] == record["possible"] == possible and record["error"] is None, record
    assert record["questions"] == {q: {"score": p, "possible": p, "feedback": "all tests passed"}
                                   for q, p in outcome.points.items()}, record


def test_no_file_changed_outside_the_sandbox_temp_folders(outcome):
    sizes = outcome.snapshot_sizes
    # The snapshots saw what they watch (a snapshot of nothing would prove nothing).
    assert sizes["project"] > 50 and sizes["site-packages"] > 20 and sizes["bin"] > 3, sizes
    assert sizes["classmates"] == len(harness.CLASSMATES), sizes
    shown = [f"{c['change']} {c['path']} (by {c['attack'] or 'an unknown attack'})"
             for c in outcome.changes]
    assert not outcome.changes, f"{len(shown)} changes: " + "; ".join(shown[:40])


def test_no_process_of_the_run_is_left_running(outcome):
    left = outcome.left_running + outcome.marked_left_running
    assert not left, f"{len(left)} processes left running: " + "; ".join(
        f"{p['pid']}: {p['cmdline'][:120]}" for p in left[:20])


def test_stderr_has_no_forged_text(outcome):
    forged = [line for line in outcome.stderr.splitlines() if cases.FORGED_MARKER in line]
    assert not forged, f"forged lines on stderr: {forged[:3]}"


# ----------------------------------------------------------------------------- each attack

@pytest.mark.parametrize("attack", cases.ATTACKS, ids=lambda a: a.id)
def test_attack_earns_nothing_and_leaves_nothing(outcome, attack):
    path = outcome.attackers[attack.id]
    records = _records_of(outcome, path)
    assert len(records) == 1, (f"{len(records)} records for {attack.id} ({attack.aims}): "
                               f"{[r['total'] for r in records]} {_summary(outcome)}")
    record = records[0]
    earned = {q: r["score"] for q, r in record["questions"].items() if r["score"] != 0}
    assert record["total"] == 0 and not earned, (
        f"{attack.id} implemented nothing but earned {record['total']} ({earned}) through "
        f"{attack.what}")
    leaked = [m for m in (*cases.LEAK_MARKERS, outcome.token)
              for r in record["questions"].values() if m in r["feedback"]]
    assert not leaked, f"hidden source or the grader's environment in {attack.id}'s " \
                       f"feedback: {leaked}"
    left = [c["path"] for c in outcome.changes if c["attack"] == attack.id]
    assert not left, f"{attack.id} changed {left}"
