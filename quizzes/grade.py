"""`quiz grade`: score responses against the answer key with its tolerances, and name the
catalogued mistake behind each wrong answer by recomputing every mistake's value for that
question (quizzes.calculator) and matching.

Responses come as a simple CSV (`student, question, response`) or as Canvas's classic-quiz
"Student Analysis" export; see read_responses. A row that cannot be graded (an unknown
student or question, a second answer) is skipped with its file, line and reason, and the
rest of the class is graded; an empty file grades no one, with a warning."""
from __future__ import annotations

import math
import re

from quizzes import calculator
from quizzes.csvio import QuizInputError, csv_rows
from quizzes.model import format_value
from solutions.mistakes.formulas import BY_ID, rank

# --- reading what students typed -----------------------------------------------------

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_UNITS = re.compile(r"\s*(kib|kb|k\s*b|flops?|params?|parameters|bytes|b)\.?\s*$", re.I)
_THOUSANDS = re.compile(r"(?<=\d)[,_'\u00a0\u202f ](?=\d{3}(?!\d))")
_SHAPE_OK = re.compile(rf"^[\s(\[{{]*{_NUMBER}(?:\s*[x×X*,;]\s*{_NUMBER}|\s+{_NUMBER})*"
                       rf"\s*,?[\s)\]}}]*$")
# "1,024" inside a shape: a dimension written with a thousands separator (as quiz.md and
# the QTI choices printed them before shapes lost their separators).
_GROUPED = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d.])")
_LETTER = re.compile(r"^\s*[(\[]?\s*([A-Ja-j])\s*[)\].:]?\s*$")


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


def shape_readings(text: str) -> list[tuple]:
    """Every way to read a shape: as written ('(64, 56, 56)'), and with "1,024" taken as
    one dimension written with a thousands separator ('(1,024, 56, 56)')."""
    out = []
    for candidate in (text, _GROUPED.sub(lambda m: m.group(0).replace(",", ""), text or "")):
        value = parse_shape(candidate) if candidate else None
        if value is not None and value not in out:
            out.append(value)
    return out


def choice_letter(entry, text) -> int | None:
    """The index of the choice a letter names ('A', 'b', '(c)', 'D.'), as printed on the
    handout (the key's choice order), or None: not a letter, or a question without
    printed choices."""
    m = _LETTER.match(text or "")
    if not m or entry.get("kind") != "choice" or not isinstance(entry.get("choices"), list):
        return None
    index = "abcdefghij".index(m.group(1).lower())
    return index if index < len(entry["choices"]) else None


def response_values(entry, text, letters: bool = False) -> list:
    """The values a response can be read as: none for garbage, one number, or the readings
    of a shape; with `letters`, a choice letter stands for that choice's value."""
    if text is None:
        return []
    expected = _entry_value(entry)
    if letters:
        index = choice_letter(entry, text)
        if index is not None:
            value = entry["choices"][index].get("value")
            return [tuple(value) if isinstance(value, list) else value]
    if isinstance(expected, (list, tuple)):
        return shape_readings(text)
    value = parse_number(text)
    return [] if value is None else [value]


def parse_response(text, expected):
    if text is None:
        return None
    if isinstance(expected, (list, tuple)):
        readings = shape_readings(text)
        return readings[0] if readings else None
    return parse_number(text)


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
    answers = [(None, value, True)]  # one wrong answer: the first candidate that gives it

    def fits(wrong, answer, _):
        return _matches(answer, wrong, entry["tolerance"])
    for values in (mistake_values, pair_mistake_values):  # the pairs only where no single
        groups = rank([(mistake, lambda _, wrong=wrong: wrong) for mistake, wrong in
                       values(entry)], answers, fits)
        if groups:
            return groups[0][0]
    return None


def describe(mistake: str) -> str:
    """A diagnosis for people: the catalogue's descriptions, joined for a pair."""
    return "; and ".join(BY_ID[m].description for m in mistake.split("+"))


def score_one(entry, response: str | None, letters: bool = False) -> dict:
    """One answer scored; `letters`: a choice letter ('B') is read as that choice (the
    simple CSV of a printed quiz, whose letters are the handout's)."""
    expected = _entry_value(entry)
    values = response_values(entry, response, letters)
    correct = any(_matches(v, expected, entry["tolerance"]) for v in values)
    mistake = None
    if not correct:
        mistake = next((m for m in map(lambda v: diagnose(entry, v), values) if m), None)
    letter = letters and choice_letter(entry, response) is not None
    return {"question": entry["id"], "slot": entry.get("question") or entry["id"],
            "response": response, "correct": correct, "mistake": mistake,
            "read_as": values[0] if letter else None}


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


# The simple CSV's columns, by the names accepted for each (any case): `answer` is what a
# sheet typed up from a printed quiz tends to call the response. A file with two names for
# one column is refused: which one to grade would be a guess.
SIMPLE_COLUMNS = {"student": ("student",), "question": ("question",),
                  "response": ("response", "answer")}


def simple_columns_help() -> str:
    return ", ".join(" or ".join(names) for names in SIMPLE_COLUMNS.values())


class _Problems:
    """Rows that cannot be graded: collected as {"file", "line", "why"} when a list is
    given, else the first one raised (a library caller that wants all or nothing)."""

    def __init__(self, path, skipped: list | None):
        self.path, self.skipped = path, skipped

    def __call__(self, line, why):
        if self.skipped is None:
            raise QuizInputError(self.path, line, why)
        self.skipped.append({"file": str(self.path), "line": line, "why": why})


def read_responses(path, lookup: Lookup, skipped: list | None = None) -> list[tuple]:
    """[(student, key entry, response, letters)] in file order; `letters` is True where a
    choice letter counts as that choice (the simple CSV).

    Accepted: (1) a CSV with the columns `student`, `question`, `response` (any order, any
    case; `answer` is accepted for `response`, SIMPLE_COLUMNS), the question a key id or,
    with a roster key, a slot id such as q01, the response a value or, for a question with
    printed choices, the letter printed before its choice on the handout; (2) Canvas's
    Student Analysis export: columns `name`, `id`, `sis_id`, ..., one column per question
    headed '<canvas id>: <question text>' (the text starts with the key id in brackets, as
    generated), optionally followed by its points column, then `n correct`, `n incorrect`,
    `score`. Empty cells there are questions the student was not given; a student with
    every cell empty answered nothing and comes as one (student, None, None, False), so
    that grade() gives them 0.

    A row that cannot be graded (an unknown question or student, a second answer, too few
    cells) and a Canvas column that names no question of the key are appended to
    `skipped` as {"file", "line", "why"}, and the rest is read; with `skipped` None the
    first one raises QuizInputError. An empty file (or a header alone) gives no responses
    and one entry in `skipped`."""
    problem = _Problems(path, skipped)
    header, header_line, rows = csv_rows(path, allow_empty=True)
    if header is None or not rows:
        problem(None, "no responses in the file: nothing to grade")
        return []
    lower = [h.lower() for h in header]
    found = {col: [n for n in names if n in lower] for col, names in SIMPLE_COLUMNS.items()}
    if found["student"] and found["question"]:
        if not found["response"]:
            raise QuizInputError(path, header_line, f"no response column: the simple format "
                                                    f"has the columns {simple_columns_help()}")
        if len(found["response"]) > 1:
            raise QuizInputError(path, header_line,
                                 f"both {' and '.join(map(repr, found['response']))} columns: "
                                 f"keep the one to grade (the response column may be "
                                 f"called {' or '.join(SIMPLE_COLUMNS['response'])})")
        cols = {c: lower.index(names[0]) for c, names in found.items()}
        return _simple(lower, rows, lookup, cols, problem)
    if "id" in lower and ("sis_id" in lower or "n correct" in lower or "name" in lower):
        return _canvas(path, header, header_line, lower, rows, lookup, problem)
    raise QuizInputError(path, header_line,
                         f"unknown responses format: expected the columns "
                         f"{simple_columns_help()}, or Canvas's Student Analysis export "
                         f"(name, id, sis_id, one column per question); found "
                         f"{', '.join(map(repr, header[:8]))}" + (", ..." if len(header) > 8
                                                                  else ""))


def _unknown(lookup: Lookup, student: str, question: str) -> str:
    """Why (student, question) names no key entry, in the terms of the key."""
    slots = lookup.slots
    stranger = bool(lookup.students) and student not in lookup.students
    if question in slots:
        if stranger:
            return (f"student {student!r} is not in the key's roster, so which variant of "
                    f"{question} they got is unknown: give the question's id as printed "
                    f"before it ([{question}-...])")
        ids = [e["id"] for e in lookup.by_id.values() if e.get("question") == question]
        if not lookup.students:
            return (f"{question} has {len(ids)} variants: give the variant's id "
                    f"({ids[0]}" + (f" to {ids[-1]})" if len(ids) > 1 else ")"))
        return f"student {student!r} has no {question} in the key"
    span = f"{slots[0]} to {slots[-1]}" if len(slots) > 1 else slots[0]
    return (f"question {question!r} is not in the key (its questions are {span}, or their "
            f"ids such as {next(iter(lookup.by_id))})"
            + (f"; student {student!r} is not in its roster either" if stranger else ""))


def _cells(n: int) -> str:
    return f"{n} cell" + ("" if n == 1 else "s")


def _simple(lower, rows, lookup, cols, problem):
    s, q, r = cols["student"], cols["question"], cols["response"]
    need = max(s, q, r)
    out, seen = [], {}
    for line, row in rows:
        if len(row) <= need:
            problem(line, f"{_cells(len(row))}; expected at least {need + 1} "
                          f"(student, question, response)")
            continue
        if len(row) > len(lower):
            # A shape typed without quotes, `s1,q01,(64, 56, 56)`: its commas made cells.
            if r != len(lower) - 1:
                problem(line, f"{_cells(len(row))}, but the header has {len(lower)}: put a "
                              f"response with commas in quotes")
                continue
            row = row[:r] + [",".join(row[r:])]
        student, question = row[s].strip(), row[q].strip()
        if not student or not question:
            problem(line, "empty " + ("student" if not student else "question"))
            continue
        entry = lookup.find(student, question)
        if entry is None:
            problem(line, _unknown(lookup, student, question))
            continue
        slot = entry.get("question") or entry["id"]
        if (student, slot) in seen:
            problem(line, f"second answer of {student!r} to {slot} (the first, on line "
                          f"{seen[(student, slot)]}, is the one graded)")
            continue
        seen[(student, slot)] = line
        out.append((student, entry, row[r], True))
    return out


def _canvas(path, header, header_line, lower, rows, lookup, problem):
    id_col = lower.index("id")
    sis_col = lower.index("sis_id") if "sis_id" in lower else None
    columns, unknown = {}, []
    for i, h in enumerate(header):
        m = re.match(r"^\s*(\w[\w.-]*)\s*:\s*(.*)$", h, re.S)
        if not m:
            continue
        entry = lookup.by_id.get(m.group(1))
        if entry is None:
            tag = _TAG.search(m.group(2))
            entry = lookup.by_id.get(tag.group(1)) if tag else None
        if entry is None:
            unknown.append(f"column {i + 1} ({h[:40]!r}...) names no question of the key: "
                           f"its text should start with the question id in brackets")
            continue
        columns[i] = entry
    if not columns:
        raise QuizInputError(path, header_line, unknown[0] if unknown else
                             "no question columns ('<id>: <question text>') in this Canvas "
                             "export")
    for why in unknown:
        problem(header_line, why + "; not graded")
    out, last = [], {}
    for line, row in rows:
        if len(row) <= max(columns):
            problem(line, f"{_cells(len(row))}; the header has {len(header)}")
            continue
        student = row[id_col].strip()
        if sis_col is not None and lookup.students and student not in lookup.students:
            student = row[sis_col].strip() or student
        if not student:
            problem(line, "empty student id")
            continue
        answers = [(student, entry, row[i], False) for i, entry in columns.items()
                   if row[i].strip()]
        # A later attempt replaces an earlier one; all blank still counts (as no answers).
        last[student] = answers or [(student, None, None, False)]
    for answers in last.values():
        out += answers
    return out


# --- scoring ---------------------------------------------------------------------------

def grade(key: list[dict], responses: list[tuple]) -> dict:
    """The contract's object: {"students": [...], "questions": {slot: {...}}}. Each response
    is (student, key entry, response) or, as read_responses gives them, (student, key
    entry, response, letters)."""
    slots = list(dict.fromkeys(e.get("question") or e["id"] for e in key))
    templates = {e.get("question") or e["id"]: e.get("template") for e in key}
    per_student: dict[str, dict[str, dict]] = {}
    for student, entry, response, *letters in responses:
        if entry is None:  # a student who answered nothing (see read_responses)
            per_student.setdefault(student, {})
            continue
        result = score_one(entry, response, bool(letters and letters[0]))
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
    """grade() of the two files, with "skipped": the rows that could not be graded, each
    {"file", "line", "why"} (an empty file is one, with line None)."""
    from quizzes.csvio import read_key
    key = read_key(key_path)
    skipped: list[dict] = []
    result = grade(key, read_responses(responses_path, Lookup(key), skipped))
    result["skipped"] = skipped
    return result


def skipped_lines(result: dict) -> list[str]:
    """One line per skipped row, 'FILE line N: why', for stderr."""
    return [f"{s['file']}" + (f" line {s['line']}" if s["line"] else "") + f": {s['why']}"
            for s in result.get("skipped", [])]


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
            shown = repr(a["response"])
            if a.get("read_as") is not None:  # a choice letter
                shown += f" = {format_value(a['read_as'])}"
            lines.append(f"  {a['slot']} ({a['question']}): {shown} - {why}")
    lines += ["", f"{'question':<9} {'template':<13} {'correct':>8}  common mistakes"]
    for slot, q in result["questions"].items():
        rate = "-" if q["correct_rate"] is None else f"{q['correct_rate']:.0%}"
        common = ", ".join(f"{m} x{n}" for m, n in list(q["mistakes"].items())[:3]) or "-"
        lines.append(f"{slot:<9} {q['template'] or '':<13} {rate:>8}  {common}")
    return "\n".join(lines)


def public(result: dict) -> dict:
    """The JSON printed by --json: internal keys dropped; "skipped" lists the rows that
    could not be graded."""
    return {"students": [{**s, "answers": [{k: a[k] for k in ("question", "response",
                                                                "correct", "mistake")}
                                           for a in s["answers"]]}
                         for s in result["students"]],
            "questions": result["questions"],
            "skipped": result.get("skipped", [])}
