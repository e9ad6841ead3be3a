"""The class view: what a whole class got right and wrong, per assignment, question and quiz
item, and which catalogued mistakes are behind it, made from the gradebook or from `--json`
files; and the files `cnnlab report` writes from it (questions.csv, mistakes.csv,
parameters.csv, the Canvas gradebook CSV). report_html.py renders the same view as a page.

The view is plain data (`class_view`): the writers only read it. A student counts once per
assignment, with their latest record; a mistake counts the students who made it (not the
times it was named), per question and across the assignment.

Standard library only (autograder.gradebook and scoring are too): `cnnlab report` on a
class of 1,000 takes about a second.
"""
from __future__ import annotations

import csv
import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from autograder import gradebook, scoring

# How many rows the "look here first" list shows of each kind.
LOOK_FIRST = 5
BINS = 10  # score histogram: 0-10 %, ..., 90-100 % (100 % in the last bin)
# A wrong answer chosen by one student on a variant of their own says nothing of the item.
MIN_OUTDRAWN = 2


class ReportInputError(ValueError):
    """An input `cnnlab report` cannot read: str() is one line, 'FILE line N: why'."""


# --- reading ----------------------------------------------------------------------------

def from_gradebook(path) -> list[dict]:
    """Every student's latest record of each assignment and quiz in the gradebook."""
    with gradebook.Gradebook(path, write=False) as book:
        return book.records()


def _load_json(path) -> list:
    """The JSON values in a file: the whole file as one value, else one value per line
    (`cnnlab grade --json` prints a line per submission)."""
    from quizzes.csvio import QuizInputError, read_text
    try:
        text = read_text(path)
    except QuizInputError as err:
        raise ReportInputError(str(err)) from None
    try:
        value = json.loads(text)
        return value if isinstance(value, list) else [value]
    except json.JSONDecodeError:
        pass
    except (ValueError, RecursionError) as err:
        raise ReportInputError(f"{path}: not valid JSON ({err})") from None
    values = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                values.append(json.loads(line))
            except (ValueError, RecursionError) as err:
                raise ReportInputError(f"{path} line {n}: not valid JSON "
                                       f"({getattr(err, 'msg', err)})") from None
    return values


def from_json(paths, keys=(), student_id_from: str = "stem") -> list[dict]:
    """Records from `cnnlab grade --json` lines and `cnnlab quiz grade --json` objects
    (the quiz named by its file's name). `keys`: answer keys (answer_key.json) whose items
    give the quiz answers their templates and parameters. A student graded twice for one
    assignment counts with the record read last."""
    from quizzes.csvio import QuizInputError, read_key
    entries: dict[str, dict] = {}
    for key in keys:
        try:
            entries.update({e["id"]: e for e in read_key(key)})
        except QuizInputError as err:
            raise ReportInputError(str(err)) from None
    out: dict[tuple, dict] = {}
    for path in paths:
        values = _load_json(path)
        if not values:
            raise ReportInputError(f"{path}: no records (expected the output of `cnnlab grade "
                                   f"--json` or `cnnlab quiz grade --json`)")
        for i, value in enumerate(values, 1):
            if isinstance(value, dict) and "students" in value and "questions" in value:
                for record in _quiz_records(value, Path(path).stem, str(path), entries, path):
                    out[("quiz", record["assignment"], record["student"])] = record
            elif isinstance(value, dict) and {"submission", "questions"} <= set(value):
                record = _notebook_record(value, path, i, student_id_from)
                out[("notebook", record["assignment"], record["student"])] = record
            else:
                raise ReportInputError(f"{path}: value {i} is neither a record of `cnnlab "
                                       f"grade --json` (with 'submission' and 'questions') nor "
                                       f"the object of `cnnlab quiz grade --json`")
    return list(out.values())


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReportInputError(f"{where}: expected a number, got {value!r:.40}")
    return float(value)


def _notebook_record(value: dict, path, i: int, how: str) -> dict:
    where = f"{path}: record {i} ({value.get('submission')!r:.60})"
    questions = value["questions"]
    if not isinstance(questions, dict):
        raise ReportInputError(f"{where}: 'questions' must be an object")
    assignment = value.get("assignment") or ""
    qs = {}
    for q, r in questions.items():
        if not isinstance(r, dict):
            raise ReportInputError(f"{where}: question {q!r} must be an object")
        score = _number(r.get("score"), f"{where}, {q} score")
        possible = _number(r.get("possible"), f"{where}, {q} possible")
        mistakes = r.get("mistakes")
        if mistakes is None:
            mistakes = ([] if score >= possible or value.get("error")
                        else gradebook.mistake_ids(assignment, q, r.get("feedback")))
        qs[q] = {"score": score, "possible": possible, "feedback": r.get("feedback") or "",
                 "mistakes": list(mistakes)}
    return {"kind": "notebook", "student": gradebook.student_id(str(value["submission"]), how),
            "assignment": assignment, "submission": str(value["submission"]),
            "total": _number(value.get("total"), f"{where}, total"),
            "possible": _number(value.get("possible"), f"{where}, possible"),
            "error": value.get("error"), "questions": qs}


def _quiz_records(value: dict, quiz: str, source: str, entries: dict, path) -> list[dict]:
    if not isinstance(value["questions"], dict) or not isinstance(value["students"], list):
        raise ReportInputError(f"{path}: 'questions' must be an object and 'students' a list "
                               f"(the output of `cnnlab quiz grade --json`)")
    slots = list(value["questions"])
    templates = {s: (q or {}).get("template") for s, q in value["questions"].items()}
    records = []
    for s in value["students"]:
        if not isinstance(s, dict) or "student" not in s or \
                not isinstance(s.get("answers"), list) or \
                not all(isinstance(a, dict) for a in s["answers"]):
            raise ReportInputError(f"{path}: each student needs 'student' and a list of "
                                   f"'answers' (the output of `cnnlab quiz grade --json`)")
        qs = {}
        for slot, a in zip(slots, s["answers"]):
            entry = entries.get(a.get("question"))
            mistake = a.get("mistake")
            qs[slot] = {"score": 1.0 if a.get("correct") else 0.0, "possible": 1.0,
                        "feedback": "", "mistakes": [mistake] if mistake else [],
                        "item": a.get("question"),
                        "template": (entry or {}).get("template") or templates.get(slot),
                        "response": a.get("response"),
                        "parameters": gradebook.item_parameters(entry) if entry else None}
        records.append({"kind": "quiz", "student": str(s["student"]), "assignment": quiz,
                        "submission": source, "total": float(s.get("score", 0)),
                        "possible": float(s.get("possible", len(slots))), "error": None,
                        "questions": qs})
    return records


# --- the view -----------------------------------------------------------------------------

@dataclass
class MistakeRow:
    id: str
    description: str
    students: list[str]
    questions: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.students)


@dataclass
class QuestionRow:
    question: str
    possible: float
    scores: list[float]
    mistakes: list[MistakeRow]
    template: str | None = None
    answered: int = 0

    @property
    def n(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores) if self.scores else 0.0

    @property
    def mean_share(self) -> float:
        return self.mean / self.possible if self.possible else 0.0

    @property
    def full(self) -> int:
        return sum(s >= self.possible for s in self.scores)

    @property
    def zero(self) -> int:
        return sum(s <= 0 for s in self.scores)


@dataclass
class Outdrawn:
    """A quiz item (or a whole slot) where a wrong answer drew more students than the key
    did, and at least MIN_OUTDRAWN."""
    scope: str            # "question" (the slot, all its variants) or "item" (one variant)
    id: str
    template: str | None
    correct: int
    mistake: str
    description: str
    count: int


@dataclass
class AssignmentView:
    kind: str                       # "notebook" or "quiz"
    name: str
    students: list[str]
    totals: list[float]
    possible: float
    questions: list[QuestionRow]
    mistakes: list[MistakeRow]      # across the assignment: students, and where
    failed: list[str] = field(default_factory=list)   # could not be run at all
    parameters: list[dict] = field(default_factory=list)
    outdrawn: list[Outdrawn] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.students)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.totals) if self.totals else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.totals) if self.totals else 0.0

    def histogram(self) -> list[int]:
        counts = [0] * BINS
        for t in self.totals:
            share = t / self.possible if self.possible else 0.0
            counts[min(BINS - 1, max(0, int(share * BINS + 1e-9)))] += 1
        return counts


@dataclass
class ClassView:
    assignments: list[AssignmentView]
    source: str

    @property
    def students(self) -> list[str]:
        return list(dict.fromkeys(s for a in self.assignments for s in a.students))

    def lowest_questions(self, k: int = LOOK_FIRST) -> list[tuple[AssignmentView, QuestionRow]]:
        rows = [(a, q) for a in self.assignments for q in a.questions if q.n and q.possible]
        rows.sort(key=lambda aq: (aq[1].mean_share, -aq[1].n, aq[0].name, aq[1].question))
        return rows[:k]

    def widespread_mistakes(self, k: int = LOOK_FIRST) -> list[tuple[AssignmentView, MistakeRow]]:
        rows = [(a, m) for a in self.assignments for m in a.mistakes]
        rows.sort(key=lambda am: (-am[1].count / max(1, am[0].n), -am[1].count, am[0].name,
                                  am[1].id))
        return rows[:k]


def _ranked(found: dict[str, list[str]], where: dict[str, list[str]] | None = None):
    rows = [MistakeRow(m, gradebook.describe(m), sorted(set(who), key=_natural),
                       list(dict.fromkeys((where or {}).get(m, []))))
            for m, who in found.items()]
    rows.sort(key=lambda r: (-r.count, r.id))
    return rows


def _natural(text: str):
    """s2 before s10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def class_view(records: list[dict], source: str = "") -> ClassView:
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r.get("kind") or "notebook", r.get("assignment") or ""), []).append(r)
    views = [_assignment(kind, name, rs) for (kind, name), rs in groups.items()]
    views.sort(key=lambda a: (a.kind != "notebook", a.name))
    return ClassView(views, source)


def _assignment(kind: str, name: str, records: list[dict]) -> AssignmentView:
    records = sorted(records, key=lambda r: _natural(r["student"]))
    order: list[str] = []
    for r in records:
        order += [q for q in r["questions"] if q not in order]
    scores: dict[str, list[float]] = {q: [] for q in order}
    possible: dict[str, float] = {}
    per_question: dict[str, dict[str, list[str]]] = {q: {} for q in order}
    across: dict[str, list[str]] = {}
    where: dict[str, list[str]] = {}
    templates: dict[str, str | None] = {}
    answered = dict.fromkeys(order, 0)
    for r in records:
        for q, a in r["questions"].items():
            scores[q].append(a["score"])
            possible[q] = max(possible.get(q, 0.0), a["possible"])
            if a.get("template") and not templates.get(q):
                templates[q] = a["template"]
            if kind == "quiz" and a.get("response") not in (None, ""):
                answered[q] += 1
            for m in a.get("mistakes") or []:
                per_question[q].setdefault(m, []).append(r["student"])
                across.setdefault(m, []).append(r["student"])
                where.setdefault(m, []).append(q)
    where = {m: sorted(set(qs), key=order.index) for m, qs in where.items()}
    questions = [QuestionRow(q, possible[q], scores[q], _ranked(per_question[q]),
                             templates.get(q), answered[q]) for q in order]
    view = AssignmentView(kind, name, [r["student"] for r in records],
                          [r["total"] for r in records],
                          max([r["possible"] for r in records] or [0.0]), questions,
                          _ranked(across, where),
                          [r["student"] for r in records if r.get("error") and not r["total"]])
    if kind == "quiz":
        view.parameters = _parameters(records)
        view.outdrawn = _outdrawn(records)
    return view


def _parameters(records: list[dict]) -> list[dict]:
    """Per template, per parameter, per value: answers (blanks left out), share right, the
    commonest mistake. Only parameters that take two values or more in a template (a
    stride always 1 says nothing)."""
    cells: dict[tuple, dict] = {}
    for r in records:
        for a in r["questions"].values():
            if not a.get("parameters") or a.get("response") in (None, ""):
                continue  # a blank says nothing about strides
            for p, v in a["parameters"].items():
                cell = cells.setdefault((a.get("template") or "", p, str(v)),
                                        {"answers": 0, "correct": 0, "mistakes": {}})
                cell["answers"] += 1
                cell["correct"] += a["score"] >= a["possible"]
                for m in a.get("mistakes") or []:
                    cell["mistakes"][m] = cell["mistakes"].get(m, 0) + 1
    values: dict[tuple, int] = {}
    for template, p, _ in cells:
        values[(template, p)] = values.get((template, p), 0) + 1
    rows = []
    for (template, p, v), cell in cells.items():
        if values[(template, p)] < 2:
            continue
        top = sorted(cell["mistakes"].items(), key=lambda kv: (-kv[1], kv[0]))
        rows.append({"template": template, "parameter": p, "value": v,
                     "answers": cell["answers"], "correct": cell["correct"],
                     "rate": cell["correct"] / cell["answers"],
                     "top_mistake": top[0][0] if top else None,
                     "top_mistake_count": top[0][1] if top else 0})
    rows.sort(key=lambda d: (d["template"], d["parameter"], _natural(d["value"])))
    return rows


def _outdrawn(records: list[dict]) -> list[Outdrawn]:
    tallies: dict[tuple[str, str], dict] = {}
    for r in records:
        for slot, a in r["questions"].items():
            keys = [("question", slot)]
            if a.get("item") and a["item"] != slot:
                keys.append(("item", a["item"]))
            for key in keys:
                t = tallies.setdefault(key, {"correct": 0, "mistakes": {},
                                             "template": a.get("template")})
                t["correct"] += a["score"] >= a["possible"]
                for m in a.get("mistakes") or []:
                    t["mistakes"][m] = t["mistakes"].get(m, 0) + 1
    out = []
    for (scope, ident), t in tallies.items():
        for m, n in sorted(t["mistakes"].items(), key=lambda kv: (-kv[1], kv[0])):
            if n > t["correct"] and n >= MIN_OUTDRAWN:
                out.append(Outdrawn(scope, ident, t["template"], t["correct"], m,
                                    gradebook.describe(m), n))
    out.sort(key=lambda o: (o.scope != "question", -(o.count - o.correct), o.id))
    return out


# --- the CSV files -------------------------------------------------------------------------

QUESTION_COLUMNS = ["kind", "assignment", "question", "template", "students", "possible",
                    "mean", "mean_percent", "full_marks_percent", "zero_percent",
                    "top_mistake", "top_mistake_students"]
MISTAKE_COLUMNS = ["kind", "assignment", "question", "mistake", "description", "students",
                   "percent", "assignment_students", "who"]
PARAMETER_COLUMNS = ["quiz", "template", "parameter", "value", "answers", "correct",
                     "correct_percent", "top_mistake", "top_mistake_answers"]


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}" if whole else ""


def write_csvs(view: ClassView, out: Path) -> dict[str, Path]:
    """questions.csv (a row per question), mistakes.csv (a row per question and mistake,
    the most students first; `who` is their ids, space-separated) and parameters.csv (a
    row per quiz template, parameter and value)."""
    points = scoring.format_points
    files = {"questions": out / "questions.csv", "mistakes": out / "mistakes.csv",
             "parameters": out / "parameters.csv"}
    with open(files["questions"], "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(QUESTION_COLUMNS)
        for a in view.assignments:
            for q in a.questions:
                top = q.mistakes[0] if q.mistakes else None
                w.writerow([a.kind, a.name, q.question, q.template or "", q.n,
                            points(q.possible), points(q.mean), _pct(q.mean, q.possible),
                            _pct(q.full, q.n), _pct(q.zero, q.n), top.id if top else "",
                            top.count if top else ""])
    with open(files["mistakes"], "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(MISTAKE_COLUMNS)
        for a in view.assignments:
            across = {m.id: m.count for m in a.mistakes}
            for q in a.questions:
                for m in q.mistakes:
                    w.writerow([a.kind, a.name, q.question, m.id, m.description, m.count,
                                _pct(m.count, q.n), across[m.id], " ".join(m.students)])
    with open(files["parameters"], "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(PARAMETER_COLUMNS)
        for a in view.assignments:
            for p in a.parameters:
                w.writerow([a.name, p["template"], p["parameter"], p["value"], p["answers"],
                            p["correct"], _pct(p["correct"], p["answers"]),
                            p["top_mistake"] or "", p["top_mistake_count"] or ""])
    return files


# --- Canvas -------------------------------------------------------------------------------

# Canvas's gradebook import: these four columns, then one per assignment; a second row
# "Points Possible" as Canvas's own export has (Canvas reads it as such, not as a student).
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "Section"]


@dataclass
class RosterStudent:
    id: str
    name: str
    canvas_id: str
    sis_id: str
    section: str
    login: str = ""

    def ids(self) -> list[str]:
        return [i for i in (self.id, self.canvas_id, self.sis_id, self.login) if i]


def read_canvas_roster(path) -> list[RosterStudent]:
    """The roster (quizzes' reader: an `id` column, or Canvas's `ID` / `SIS User ID`; a
    name), with Canvas's `SIS User ID`, `SIS Login ID` and `Section` where it has them."""
    from quizzes.csvio import QuizInputError, csv_rows, read_roster
    try:
        students = read_roster(path)
        header, _, rows = csv_rows(path)
    except QuizInputError as err:
        raise ReportInputError(str(err)) from None
    id_col = next(header.index(c) for c in ("id", "ID", "SIS User ID") if c in header)

    def column(name):
        return header.index(name) if name in header else None

    cols = {k: column(c) for k, c in (("canvas", "ID"), ("sis", "SIS User ID"),
                                      ("section", "Section"), ("login", "SIS Login ID"))}
    extra = {}
    for _, row in rows:
        if id_col < len(row) and row[id_col].strip():
            extra[row[id_col].strip()] = {k: row[i].strip() if i is not None and i < len(row)
                                          else "" for k, i in cols.items()}
    out = []
    for s in students:
        e = extra.get(s["id"], {})
        out.append(RosterStudent(s["id"], s["name"], e.get("canvas") or s["id"],
                                 e.get("sis", ""), e.get("section", ""), e.get("login", "")))
    return out


def write_canvas_csv(records: list[dict], roster_path, out) -> dict:
    """A Canvas gradebook import: a row per roster student, in roster order, with their
    latest total per assignment and quiz; a student without a submission is listed with an
    empty cell (Canvas leaves that grade as it is). Returns {"students", "missing": {column:
    [ids]}, "unmatched": [graded ids not in the roster]}."""
    roster = read_canvas_roster(roster_path)
    columns: list[tuple[str, str]] = []
    for r in sorted(records, key=lambda r: (r.get("kind") != "notebook", r["assignment"])):
        key = (r.get("kind") or "notebook", r["assignment"])
        if key not in columns:
            columns.append(key)
    by_id: dict[str, RosterStudent] = {}
    for s in roster:
        for i in s.ids():
            by_id.setdefault(i, s)
    totals: dict[tuple[str, tuple], float] = {}
    possible: dict[tuple, float] = {}
    unmatched = []
    for r in records:
        key = (r.get("kind") or "notebook", r["assignment"])
        possible[key] = max(possible.get(key, 0.0), r["possible"])
        s = by_id.get(r["student"])
        if s is None:
            unmatched.append(r["student"])
            continue
        totals[(s.id, key)] = r["total"]
    names = _column_names(columns)
    points = scoring.format_points
    missing: dict[str, list[str]] = {names[c]: [] for c in columns}
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CANVAS_COLUMNS + [names[c] for c in columns])
        w.writerow(["Points Possible", "", "", ""] + [points(possible[c]) for c in columns])
        for s in roster:
            cells = []
            for c in columns:
                value = totals.get((s.id, c))
                if value is None:
                    missing[names[c]].append(s.id)
                cells.append("" if value is None else points(value))
            w.writerow([s.name or s.id, s.canvas_id, s.sis_id, s.section] + cells)
    return {"students": len(roster), "missing": missing,
            "unmatched": sorted(set(unmatched), key=_natural)}


def _column_names(columns: list[tuple[str, str]]) -> dict[tuple, str]:
    """An assignment's column is its name; a quiz of the same name as an assignment gets
    ' (quiz)' after it."""
    notebooks = {name for kind, name in columns if kind == "notebook"}
    return {(kind, name): name + (" (quiz)" if kind == "quiz" and name in notebooks else "")
            for kind, name in columns}
