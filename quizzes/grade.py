"""`quiz grade`: score responses against the answer key with its tolerances, and name the
catalogued mistake behind each wrong answer by recomputing every mistake's value for that
question (quizzes.calculator) and matching.

Responses come as a simple CSV (`student, question, response`) or as Canvas's classic-quiz
"Student Analysis" export; see read_responses."""
from __future__ import annotations

import math
import re

from autograder.mistakes import BY_ID
from quizzes import calculator
from quizzes.csvio import QuizInputError, csv_rows

# --- reading what students typed -----------------------------------------------------

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_UNITS = re.compile(r"\s*(kib|kb|k\s*b|flops?|params?|parameters|bytes|b)\.?\s*$", re.I)
_THOUSANDS = re.compile(r"(?<=\d)[,_'\u00a0\u202f ](?=\d{3}(?!\d))")
_SHAPE_OK = re.compile(rf"^[\s(\[{{]*{_NUMBER}(?:\s*[x×X*,;]\s*{_NUMBER}|\s+{_NUMBER})*[\s)\]}}]*$")


def parse_number(text: str) -> float | None:
    """'1,234', '1 234', '12.25 KB', '3e6' -> a finite number; anything else None."""
    s = _UNITS.sub("", text.strip())
    s = _THOUSANDS.sub("", s)
    if not re.fullmatch(_NUMBER, s):
        return None
    value = float(s)
    return value if math.isfinite(value) else None


def parse_shape(text: str) -> tuple | None:
    """'(64, 56, 56)', '64x56x56', '[64 56 56]' -> a tuple of numbers; else None."""
    s = text.strip()
    if not s or not _SHAPE_OK.match(s):
        return None
    values = [float(t) for t in re.findall(_NUMBER, s)]
    if not all(math.isfinite(v) for v in values):
        return None
    return tuple(int(v) if v.is_integer() else v for v in values)


def parse_response(text, expected):
    if text is None:
        return None
    return parse_shape(text) if isinstance(expected, (list, tuple)) else parse_number(text)


def _readings(value, expected):
    """A shape may be written (C, H, W) or, as many slides do, H x W x C."""
    if isinstance(expected, (list, tuple)) and isinstance(value, tuple) and len(value) == 3:
        return [value, (value[2], value[0], value[1])]
    return [value]


def _matches(value, target, tolerance) -> bool:
    return any(calculator.within(r, target, tolerance) for r in _readings(value, target))


# --- the key, and the mistakes behind wrong answers ----------------------------------

# What recomputing a key entry written by hand can raise (odd layers, huge numbers): the
# entry is still graded against its answer, only without naming mistakes.
_CANNOT_REDO = (ValueError, KeyError, TypeError, IndexError, AttributeError, ArithmeticError,
                RecursionError)


def _entry_value(entry):
    a = entry["answer"]
    return tuple(a) if isinstance(a, list) else a


def _cached(entry, slot: str, compute) -> list[tuple[str, object]]:
    """`compute(input_shape, layers, asked, extra, tolerance)` for this key entry, kept in
    `entry[slot]`; [] for an entry the calculator cannot redo (no diagnosis then)."""
    cached = entry.get(slot)
    if cached is None:
        try:
            cached = compute(entry["input_shape"], entry["layers"], entry["asked"],
                             entry.get("extra"), entry["tolerance"])
        except _CANNOT_REDO:
            cached = []
        entry[slot] = cached
    return cached


def mistake_values(entry) -> list[tuple[str, object]]:
    """[(mistake id, value)] for this key entry, recomputed from its layers."""
    return _cached(entry, "_wrong", calculator.wrong_values)


def pair_mistake_values(entry) -> list[tuple[str, object]]:
    """[("id1+id2", value)]: two catalogued mistakes made together (calculator.pair_values)."""
    return _cached(entry, "_pairs", calculator.pair_values)


def diagnose(entry, value) -> str | None:
    """The catalogued mistake behind a wrong answer ("id"), or two made together
    ("id1+id2") when no single one explains it, or None."""
    if value is None:
        return None
    for mistake, wrong in mistake_values(entry):
        if _matches(value, wrong, entry["tolerance"]):
            return mistake
    for mistakes, wrong in pair_mistake_values(entry):
        if _matches(value, wrong, entry["tolerance"]):
            return mistakes
    return None


def describe(mistake: str) -> str:
    """A diagnosis for people: the catalogue's descriptions, joined for a pair."""
    return "; and ".join(BY_ID[m].description for m in mistake.split("+"))


def score_one(entry, response: str | None) -> dict:
    expected = _entry_value(entry)
    value = parse_response(response, expected)
    correct = value is not None and _matches(value, expected, entry["tolerance"])
    return {"question": entry["id"], "slot": entry.get("question") or entry["id"],
            "response": response, "correct": correct,
            "mistake": None if correct else diagnose(entry, value)}


# --- reading responses ---------------------------------------------------------------

class Lookup:
    """Finds a key entry by its id, by (student, slot), or by the id tag in a prompt."""

    def __init__(self, key: list[dict]):
        self.by_id = {e["id"]: e for e in key}
        self.by_student_slot = {(e.get("student"), e.get("question")): e for e in key
                                if e.get("student") is not None}
        self.slots = list(dict.fromkeys(e.get("question") or e["id"] for e in key))
        self.students = {e.get("student") for e in key} - {None}

    def find(self, student: str, question: str):
        return self.by_id.get(question) or self.by_student_slot.get((student, question))


_TAG = re.compile(r"\[([^\[\]\s]+)\]")


def read_responses(path, lookup: Lookup) -> list[tuple[str, dict | None, str | None]]:
    """[(student, key entry, response)] in file order.

    Accepted: (1) a CSV with the columns `student`, `question`, `response` (any order, any
    case; `answer` for `response`), the question a key id or, with a roster key, a slot id
    such as q01; (2) Canvas's Student Analysis export: columns `name`, `id`, `sis_id`, ...,
    one column per question headed '<canvas id>: <question text>' (the text starts with
    the key id in brackets, as generated), optionally followed by its points column, then
    `n correct`, `n incorrect`, `score`. Empty cells there are questions the student was
    not given; a student with every cell empty answered nothing and comes as one
    (student, None, None), so that grade() gives them 0."""
    header, header_line, rows = csv_rows(path)
    lower = [h.lower() for h in header]
    if {"student", "question"} <= set(lower) and ("response" in lower or "answer" in lower):
        return _simple(path, lower, rows, lookup)
    if "id" in lower and ("sis_id" in lower or "n correct" in lower or "name" in lower):
        return _canvas(path, header, header_line, lower, rows, lookup)
    raise QuizInputError(path, header_line,
                         "unknown responses format: expected the columns student, question, "
                         "response, or Canvas's Student Analysis export (name, id, sis_id, "
                         "one column per question)")


def _simple(path, lower, rows, lookup):
    s, q = lower.index("student"), lower.index("question")
    r = lower.index("response") if "response" in lower else lower.index("answer")
    need = max(s, q, r)
    out, seen = [], {}
    for line, row in rows:
        if len(row) <= need:
            raise QuizInputError(path, line, f"{len(row)} columns; expected at least "
                                             f"{need + 1} (student, question, response)")
        student, question = row[s].strip(), row[q].strip()
        if not student or not question:
            raise QuizInputError(path, line, "empty student or question")
        entry = lookup.find(student, question)
        if entry is None:
            raise QuizInputError(path, line, f"question {question!r} is not in the key"
                                 + (f" for student {student!r}" if lookup.students else ""))
        slot = entry.get("question") or entry["id"]
        if (student, slot) in seen:
            raise QuizInputError(path, line, f"second answer of {student!r} to {slot} "
                                             f"(first on line {seen[(student, slot)]})")
        seen[(student, slot)] = line
        out.append((student, entry, row[r]))
    return out


def _canvas(path, header, header_line, lower, rows, lookup):
    id_col = lower.index("id")
    sis_col = lower.index("sis_id") if "sis_id" in lower else None
    columns = {}
    for i, h in enumerate(header):
        m = re.match(r"^\s*(\w[\w.-]*)\s*:\s*(.*)$", h, re.S)
        if not m:
            continue
        entry = lookup.by_id.get(m.group(1))
        if entry is None:
            tag = _TAG.search(m.group(2))
            entry = lookup.by_id.get(tag.group(1)) if tag else None
        if entry is None:
            raise QuizInputError(path, header_line,
                                 f"column {i + 1} ({h[:40]!r}...) names no question of the "
                                 f"key: its text should start with the question id in brackets")
        columns[i] = entry
    if not columns:
        raise QuizInputError(path, header_line, "no question columns ('<id>: <question "
                                                "text>') in this Canvas export")
    out, last = [], {}
    for line, row in rows:
        if len(row) <= max(columns):
            raise QuizInputError(path, line, f"{len(row)} columns; the header has {len(header)}")
        student = row[id_col].strip()
        if sis_col is not None and lookup.students and student not in lookup.students:
            student = row[sis_col].strip() or student
        if not student:
            raise QuizInputError(path, line, "empty student id")
        answers = [(student, entry, row[i]) for i, entry in columns.items() if row[i].strip()]
        # A later attempt replaces an earlier one; all blank still counts (as no answers).
        last[student] = answers or [(student, None, None)]
    for answers in last.values():
        out += answers
    return out


# --- scoring ---------------------------------------------------------------------------

def grade(key: list[dict], responses: list[tuple[str, dict | None, str | None]]) -> dict:
    """The contract's object: {"students": [...], "questions": {slot: {...}}}."""
    slots = list(dict.fromkeys(e.get("question") or e["id"] for e in key))
    templates = {e.get("question") or e["id"]: e.get("template") for e in key}
    per_student: dict[str, dict[str, dict]] = {}
    for student, entry, response in responses:
        if entry is None:  # a student who answered nothing (see read_responses)
            per_student.setdefault(student, {})
            continue
        result = score_one(entry, response)
        per_student.setdefault(student, {})[result["slot"]] = result
    students = []
    for student, answered in per_student.items():
        answers = [answered.get(slot) or {"question": slot, "slot": slot, "response": None,
                                          "correct": False, "mistake": None}
                   for slot in slots]
        students.append({"student": student, "score": sum(a["correct"] for a in answers),
                         "possible": len(slots), "answers": answers})
    questions = {}
    for slot in slots:
        got = [s["answers"][slots.index(slot)] for s in students]
        mistakes: dict[str, int] = {}
        for a in got:
            if a["mistake"]:
                mistakes[a["mistake"]] = mistakes.get(a["mistake"], 0) + 1
        questions[slot] = {
            "correct_rate": (sum(a["correct"] for a in got) / len(got)) if got else None,
            "mistakes": dict(sorted(mistakes.items(), key=lambda kv: (-kv[1], kv[0]))),
            "template": templates[slot],
            "answered": sum(a["response"] not in (None, "") for a in got),
            "unexplained": sum(not a["correct"] and not a["mistake"]
                               and a["response"] not in (None, "") for a in got),
        }
    return {"students": students, "questions": questions}


def grade_files(responses_path, key_path) -> dict:
    from quizzes.csvio import read_key
    key = read_key(key_path)
    lookup = Lookup(key)
    result = grade(key, read_responses(responses_path, lookup))
    return result


def report(result: dict) -> str:
    """The readable version: scores with each wrong answer's likely mistake, then which
    mistakes are common per question."""
    lines = []
    for s in result["students"]:
        lines.append(f"{s['student']}: {s['score']}/{s['possible']}")
        for a in s["answers"]:
            if a["correct"]:
                continue
            if a["response"] in (None, ""):
                lines.append(f"  {a['slot']}: no answer")
                continue
            why = (f"likely {a['mistake']}: {describe(a['mistake'])}"
                   if a["mistake"] else "no catalogued mistake gives this")
            lines.append(f"  {a['slot']} ({a['question']}): {a['response']!r} - {why}")
    lines += ["", f"{'question':<9} {'template':<13} {'correct':>8}  common mistakes"]
    for slot, q in result["questions"].items():
        rate = "-" if q["correct_rate"] is None else f"{q['correct_rate']:.0%}"
        common = ", ".join(f"{m} x{n}" for m, n in list(q["mistakes"].items())[:3]) or "-"
        lines.append(f"{slot:<9} {q['template'] or '':<13} {rate:>8}  {common}")
    return "\n".join(lines)


def public(result: dict) -> dict:
    """The JSON printed by --json: internal keys dropped."""
    return {"students": [{**s, "answers": [{k: a[k] for k in ("question", "response",
                                                                "correct", "mistake")}
                                           for a in s["answers"]]}
                         for s in result["students"]],
            "questions": result["questions"]}
