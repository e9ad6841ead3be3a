"""Grade one student notebook: execute it in a sandbox, run the hidden checks against it,
and return the contract's record {"submission", "assignment", "total", "possible",
"questions": {name: {"score", "possible", "feedback"}}}.

Execution is resilient: a cell that raises is noted and execution goes on (as Otter does);
a cell that hangs, exits the process or exhausts memory is skipped, the sandbox restarted
and the cells that worked replayed, so one bad cell costs only what depends on it.
"""
from __future__ import annotations

import importlib
import json
import logging
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import heap, records, registry, scoring
from autograder.checks import disk_cache
from autograder.forkserver import IMPORTS_TORCH
from autograder.protocol import LIMITS, CellTimedOut
from autograder.sandbox import (ROOT, RemoteEnv, Sandbox, SandboxLost, StudentCodeError,
                                temp_folders)

GRADER_THREADS = 1  # torch threads of a grading process (grade_notebook says why)
# Directories a student's code may never read: the reference, the hidden checks, the master
# notebooks (which hold the solutions) and our own tests.
PRIVATE_DIRS = [ROOT / "solutions", ROOT / "autograder", ROOT / "assignments", ROOT / "tests",
                ROOT / "cnnlab", ROOT / "quizzes"]
# Lines of a student notebook that only make sense inside Jupyter or for Otter's own check.
_SKIPPED_LINE = re.compile(r"^\s*([%!]|import otter\b|grader\s*=\s*otter\.)")
# A cell Otter does not run when it grades (otter.execute.preprocessor.filter_ignored_cells):
# tagged "otter_ignore", or with metadata otter.ignore. Skipped here too, so that both engines
# grade the same cells; the master notebooks tag their demos (a model trained to show its
# losses) this way, since the hidden checks do that work themselves.
IGNORE_CELL_TAG = "otter_ignore"


def ignored_by_otter(cell: dict) -> bool:
    meta = cell.get("metadata")
    if not isinstance(meta, dict):
        return False
    tags = meta.get("tags")
    otter = meta.get("otter")
    return ((isinstance(tags, list) and IGNORE_CELL_TAG in tags)
            or (isinstance(otter, dict) and bool(otter.get("ignore", False))))


class SubmissionError(Exception):
    """The submission cannot be graded at all (not a notebook, unreadable)."""


@dataclass
class Assignment:
    name: str
    points: dict[str, float]        # question -> points
    checks: dict[str, list]         # question -> check functions (the QUESTIONS registry)

    @property
    def possible(self) -> float:
        return float(sum(self.points[q] for q in self.checks))


def question_points(master: Path) -> dict[str, float]:
    """Points of each question, read from the master notebook's `# BEGIN QUESTION` cells."""
    import yaml

    nb = json.loads(Path(master).read_text())
    points = {}
    for cell in nb["cells"]:
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "raw" and source.lstrip().startswith("# BEGIN QUESTION"):
            config = yaml.safe_load(source.split("\n", 1)[1]) or {}
            points[str(config["name"])] = float(config.get("points", 1))
    return points


def known_assignments() -> list[str]:
    """Assignments with hidden checks (autograder/registry.py)."""
    return registry.graded_assignments()


def load_assignment(name: str) -> Assignment:
    known = known_assignments()
    if not isinstance(name, str) or name not in known:
        raise SubmissionError(f"unknown assignment {name!r}; known: {', '.join(known)}")
    module = importlib.import_module(f"autograder.checks.{name}")
    checks = module.QUESTIONS
    master = registry.ASSIGNMENTS / name / f"{name}.ipynb"
    points = question_points(master) if master.exists() else {}
    # A question the notebook does not list is worth 1 point.
    return Assignment(name, {q: points.get(q, 1.0) for q in checks}, checks)


def notebook_cells(path: Path) -> list[tuple[int, str]]:
    """(cell number, code) of every code cell Otter would run (not `ignored_by_otter`), with
    Jupyter-only lines removed."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SubmissionError("file not found") from None
    except UnicodeDecodeError:
        raise SubmissionError("the file is not text (is it a notebook?)") from None
    except json.JSONDecodeError as err:
        raise SubmissionError(f"not a valid notebook: the JSON is broken at line {err.lineno}, "
                              f"column {err.colno} ({err.msg})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise SubmissionError("not a Jupyter notebook: no list of cells")
    cells = []
    for number, cell in enumerate(nb["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" \
                or ignored_by_otter(cell):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        kept = "\n".join(line for line in source.splitlines() if not _SKIPPED_LINE.match(line))
        if kept.strip():
            cells.append((number, kept))
    return cells


@dataclass
class NotebookRun:
    """A sandbox that has executed the notebook; restarted (and replayed) when lost."""

    cells: list[tuple[int, str]]
    make_sandbox: callable
    cell_timeout: float
    deadline: float | None = None  # time.monotonic() by which the cells must be done
    notes: list[str] = field(default_factory=list)
    reset_workdir: callable = None
    replay: list[int] = field(default_factory=list)   # indices into cells
    sandbox: Sandbox | None = None
    layers: list[str] = field(default_factory=list)

    def execute(self) -> None:
        self.sandbox = self.make_sandbox()
        self.sandbox.start()
        self.layers = list(self.sandbox.layers)
        for index, (number, source) in enumerate(self.cells):
            self._run(index, number, source, replaying=False)

    def _run(self, index: int, number: int, source: str, replaying: bool) -> None:
        timeout = self.cell_timeout
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left < 0.5:
                # Several slow cells must not hold up the grading: what is left of the
                # notebook is skipped, and the checks still run on what was defined.
                if not replaying and not any("time for its cells" in n for n in self.notes):
                    self.notes.append(f"cell {number} and the cells after it were skipped: "
                                      f"the notebook used up the time for its cells")
                return
            timeout = min(timeout, left)
        try:
            self.sandbox.exec_cell(source, timeout)
        except SyntaxError as err:
            if not replaying:
                self.notes.append(f"cell {number} has a syntax error ({err}) and was skipped")
            return
        except SandboxLost as err:
            self.notes.append(f"cell {number} was skipped: {err}")
            self._restart()
            return
        except CellTimedOut:
            self.notes.append(f"cell {number} did not finish within "
                              f"{timeout:.3g} s and was skipped")
            return
        except StudentCodeError as err:
            if not replaying:
                self.notes.append(f"cell {number}: {err}")
        except Exception as err:  # the student's own exception, as Otter would show it
            if not replaying:
                self.notes.append(f"cell {number} raised {getattr(err, 'student_type', type(err).__name__)}: "
                                  f"{str(err)[:200]}")
        if not replaying:
            self.replay.append(index)

    def _restart(self) -> None:
        self.sandbox.kill()
        if self.reset_workdir:
            self.reset_workdir()  # what the lost process left counts against no one
        self.sandbox.start()
        for index in list(self.replay):
            number, source = self.cells[index]
            self._run(index, number, source, replaying=True)

    def ensure_alive(self) -> None:
        if not self.sandbox.alive:
            self._restart()


class _NoteCollector(logging.Handler):
    """The messages checks log to records.NOTES_LOG, for the record's notes."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.notes: list[str] = []

    def emit(self, entry: logging.LogRecord) -> None:
        self.notes.append(entry.getMessage())


def run_checks(env_factory, assignment: Assignment, deadline: float | None = None,
               before_each=None, notes: list[str] | None = None) -> dict:
    """Run every check of `assignment`; a question scores its points x the share of its
    checks that pass (autograder/scoring.py). `env_factory()` gives the namespace each check
    sees. What the checks log to records.NOTES_LOG is appended to `notes`."""
    collector = _NoteCollector()
    log = logging.getLogger(records.NOTES_LOG)
    log.setLevel(logging.INFO)
    log.propagate = False  # on the record, not on the grader's stderr
    log.addHandler(collector)
    try:
        return _run_checks(env_factory, assignment, deadline, before_each)
    finally:
        log.removeHandler(collector)
        if notes is not None:
            notes += collector.notes


def _run_checks(env_factory, assignment: Assignment, deadline, before_each) -> dict:
    questions = {}
    for question, checks in assignment.checks.items():
        passed, messages = 0, []
        for check in checks:
            if deadline is not None and time.monotonic() > deadline:
                messages.append("not graded: the time limit for the whole submission ran out")
                continue
            if before_each:
                before_each()
            torch = _imported_torch()
            if torch is not None:
                torch.manual_seed(0)
            try:
                check(env_factory())
                passed += 1
            except AssertionError as err:
                message = str(err).strip() or "a hidden test failed"
                if message not in messages:
                    messages.append(message)
            except Exception as err:  # a check that cannot run counts as failed
                messages.append(f"could not test your code: {type(err).__name__}: "
                                f"{str(err)[:300]}")
            finally:
                # the model checks free several hundred MB each: back to the OS
                heap.give_back()
        possible = assignment.points[question]
        questions[question] = {
            "score": scoring.question_score(possible, passed, len(checks)),
            "possible": possible,
            "feedback": "all tests passed" if not messages else "\n".join(messages),
        }
    return questions


def failed_record(path, assignment: Assignment, reason: str) -> dict:
    """The record of a submission that could not be run: 0 on every question, the reason."""
    questions = {q: {"score": 0.0, "possible": assignment.points[q], "feedback": reason}
                 for q in assignment.checks}
    return {"submission": str(path), "assignment": assignment.name, "total": 0.0,
            "possible": assignment.possible, "questions": questions, "error": reason}


def _imported_torch():
    """torch where this process has imported it (the checks of an assignment that uses it
    import it with themselves), else None: cnn_costs is graded without it (1 to 2 s a
    process), and its seed is set only where something can draw from it, as the Otter
    engine's guard does."""
    return sys.modules.get("torch")


def _uses_torch(cells) -> bool:
    return any(IMPORTS_TORCH.search(source) for _, source in cells)


def grade_notebook(path, assignment: Assignment, *, cell_timeout: float = LIMITS.cell_s,
                   total_timeout: float = LIMITS.submission_s, memory_mb: int = LIMITS.memory_mb,
                   private_dirs: list | None = None, strict: bool = False) -> dict:
    """The contract's record for one submission; never raises for a bad submission (but
    raises SandboxUnavailable under `strict` on a machine without every layer)."""
    path = Path(path)
    # One thread for the reference's tensors: grading shares the cores with its sandbox and,
    # under -j N, with the other workers, and torch's thread pool then waits for cores at
    # every small op (its 2 threads made 200 small matmuls 400x slower on a busy 2-core
    # machine: 3.2 s instead of 8 ms).
    torch = _imported_torch()
    if torch is not None:
        torch.set_num_threads(GRADER_THREADS)
    try:
        cells = notebook_cells(path)
    except SubmissionError as err:
        return failed_record(path, assignment, f"could not grade this submission: {err}")
    start = time.monotonic()
    deadline = start + total_timeout
    tmp, workdir, inbox = temp_folders()
    copy = Path(workdir) / path.name
    forbidden = [str(p) for p in (private_dirs or PRIVATE_DIRS)]
    # Other students' notebooks sit beside this one: none of them is readable either. The
    # sandbox gets a copy of its own notebook, in its own folder.
    forbidden.append(str(path.resolve().parent))
    private = [str(ROOT), *forbidden]

    def reset_workdir():
        for entry in Path(workdir).iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        shutil.copyfile(path, copy)

    reset_workdir()
    # The cells get at most half of the submission's time; the checks get the rest.
    run = NotebookRun(cells, lambda: Sandbox(workdir, forbidden, memory_mb=memory_mb,
                                             preload=["torch"] if _uses_torch(cells) else [],
                                             private=private, strict=strict, inbox=inbox),
                      cell_timeout, deadline=start + total_timeout / 2,
                      reset_workdir=reset_workdir)
    try:
        run.execute()
        # The references' student-independent results kept between runs, where a kernel
        # layer keeps student code out of the folder they are kept in (disk_cache).
        with disk_cache.active(bool({"landlock", "uid"} & set(run.layers or []))):
            questions = run_checks(lambda: RemoteEnv(run.sandbox), assignment, deadline,
                                   before_each=run.ensure_alive, notes=run.notes)
    finally:
        if run.sandbox is not None:
            run.sandbox.kill()  # and everything of its session: nothing outlives the record
        shutil.rmtree(tmp, ignore_errors=True)
    total = scoring.total(q["score"] for q in questions.values())
    record = {"submission": str(path), "assignment": assignment.name, "total": total,
              "possible": assignment.possible, "questions": questions,
              "sandbox": run.layers}
    if run.notes:
        record["notes"] = run.notes
    return record
