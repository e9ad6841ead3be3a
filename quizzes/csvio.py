"""Reading the CSV and JSON files people hand to `cnnlab quiz`: rosters, responses, answer
keys. Every problem is a QuizInputError naming the file and line, for a one-line message."""
from __future__ import annotations

import csv
import io
import json
import math
import os
import stat

from quizzes.model import ASKED_FIELDS

# A roster this long is a mistake (a whole university's export?): each student gets every
# question, and the files would run to gigabytes.
MAX_STUDENTS = 20_000

# Quiz files are small (a roster, responses, a key of at most 100,000 question variants); a
# larger one is a mistake, refused before it is read into memory. `cnnlab quiz` checks each
# path first by the grader's rule (cnnlab/paths.py, autograder.inputs), for its messages.
MAX_FILE_BYTES = 200 * 1024 * 1024


class QuizInputError(ValueError):
    """A malformed input file: str() is 'FILE line N: what is wrong'."""

    def __init__(self, path, line: int | None, message: str):
        where = f"{path}" + (f" line {line}" if line else "")
        super().__init__(f"{where}: {message}")
        self.path, self.line = str(path), line


def read_text(path) -> str:
    """The file's text. A missing file, a folder, a device such as /dev/zero, a pipe, an
    unreadable or a huge file is refused before anything is read."""
    try:
        # O_NONBLOCK: opening a pipe must not wait for a writer (it is refused below).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise QuizInputError(path, None, f"cannot read: {err.strerror or err}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise QuizInputError(path, None, "cannot read: not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise QuizInputError(path, None, f"cannot read: larger than "
                                             f"{MAX_FILE_BYTES // 2**20} MiB")
        with open(fd, "rb", closefd=False) as file:
            raw = file.read()
    except OSError as err:
        raise QuizInputError(path, None, f"cannot read: {err.strerror or err}") from None
    finally:
        os.close(fd)
    try:
        return raw.decode("utf-8-sig")  # Excel and Canvas write a BOM
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise QuizInputError(path, line, "not UTF-8 text") from None


def csv_rows(path, allow_empty: bool = False):
    """(header, header line, [(line number, row)]) of a CSV file, blank lines skipped. A
    file without a header row is an error, or with `allow_empty` (None, 1, [])."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    header, header_line = None, 1
    try:
        for row in reader:
            if header is None:
                if any(cell.strip() for cell in row):
                    header, header_line = [cell.strip() for cell in row], reader.line_num
                continue
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, row))
    except csv.Error as err:
        raise QuizInputError(path, reader.line_num, f"not valid CSV ({err})") from None
    if header is None:
        if allow_empty:
            return None, 1, []
        raise QuizInputError(path, 1, "empty file: expected a header row")
    return header, header_line, rows


def read_roster(path) -> list[dict]:
    """[{"id", "name"}] in file order. The id is the `id` column, or Canvas's gradebook
    export's `ID` (or `SIS User ID`); the name is `name` (or Canvas's `Student`), optional.
    Canvas's "Points Possible" row and rows without an id there are skipped."""
    header, header_line, rows = csv_rows(path)
    id_col = next((header.index(c) for c in ("id", "ID", "SIS User ID") if c in header), None)
    if id_col is None:
        raise QuizInputError(path, header_line,
                             f"no student id column: expected 'id' (or Canvas's 'ID' or "
                             f"'SIS User ID'); found {', '.join(map(repr, header))}")
    name_col = next((header.index(c) for c in ("name", "Name", "Student") if c in header), None)
    students, seen = [], {}
    for line, row in rows:
        if id_col >= len(row):
            raise QuizInputError(path, line, f"{len(row)} columns, but the id is column "
                                             f"{id_col + 1} ({header[id_col]!r})")
        sid = row[id_col].strip()
        name = row[name_col].strip() if name_col is not None and name_col < len(row) else ""
        if not sid:
            if "points possible" in " ".join(row).lower():
                continue  # Canvas's second header row
            raise QuizInputError(path, line, f"empty student id in column {header[id_col]!r}")
        if sid in seen:
            raise QuizInputError(path, line, f"student id {sid!r} already on line {seen[sid]}")
        seen[sid] = line
        students.append({"id": sid, "name": name})
    if not students:
        raise QuizInputError(path, None, "no students in the roster")
    if len(students) > MAX_STUDENTS:
        raise QuizInputError(path, None, f"{len(students):,} students; at most "
                                         f"{MAX_STUDENTS:,} are supported")
    return students


KEY_FIELDS = ("id", "prompt", "input_shape", "layers", "asked", "answer", "tolerance")


def read_key(path) -> list[dict]:
    """The answer key written by `quiz generate`: a JSON list of entries. Errors name the line
    where the offending entry starts, and the entry (its number and id)."""
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise QuizInputError(path, err.lineno, f"not valid JSON ({err.msg})") from None
    except ValueError as err:  # an integer of thousands of digits
        raise QuizInputError(path, None, f"not valid JSON ({err})") from None
    except RecursionError:
        raise QuizInputError(path, None, "not valid JSON (nested too deeply)") from None
    if not isinstance(data, list):
        raise QuizInputError(path, 1, "expected a JSON list of questions")
    if not data:
        raise QuizInputError(path, None, "the key is empty: it has no questions")
    starts = _element_lines(text)
    seen = {}
    for i, entry in enumerate(data):
        line = starts[i] if i < len(starts) else None
        if not isinstance(entry, dict):
            raise QuizInputError(path, line, f"entry {i + 1} is not an object")
        missing = [k for k in KEY_FIELDS if k not in entry]
        if missing:
            named = f" (id {_show(entry['id'])})" if isinstance(entry.get("id"), str) else ""
            raise QuizInputError(path, line, f"entry {i + 1} lacks {', '.join(missing)}{named}")
        problem = _entry_problem(entry)
        if problem:
            named = f" (id {_show(entry['id'])})" if isinstance(entry["id"], str) else ""
            raise QuizInputError(path, line, f"entry {i + 1}{named}: {problem}")
        if entry["id"] in seen:
            raise QuizInputError(path, line, f"question id {_show(entry['id'])} repeats the "
                                             f"entry on line {seen[entry['id']]}")
        seen[entry["id"]] = line
        entry["_line"] = line
    return data


def _show(value) -> str:
    """A value for a one-line message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x) -> bool:
    """A finite int or float (an int too large for a float cannot be compared either)."""
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return False
    try:
        return math.isfinite(float(x))
    except OverflowError:
        return False


def _entry_problem(entry: dict) -> str | None:
    """What is wrong with one key entry (all of KEY_FIELDS present), or None."""
    if not isinstance(entry["id"], str) or not entry["id"].strip():
        return f"'id' must be a non-empty string, got {_show(entry['id'])}"
    for name in ("question", "template"):
        value = entry.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            return f"{name!r} must be a non-empty string, got {_show(value)}"
    student = entry.get("student")
    if student is not None and not isinstance(student, str):
        return f"'student' must be a string or null, got {_show(student)}"
    if not isinstance(entry["prompt"], str):
        return "'prompt' must be a string"
    shape, layers = entry["input_shape"], entry["layers"]
    if not isinstance(shape, list) or not shape or not all(_is_int(v) for v in shape):
        return f"'input_shape' must be a list of integers, got {_show(shape)}"
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        return "'layers' must be a list of objects"
    extra = entry.get("extra")
    if extra is not None and not isinstance(extra, dict):
        return "'extra' must be an object"
    asked = entry["asked"]
    if not isinstance(asked, dict) or not isinstance(asked.get("field"), str) \
            or not asked["field"]:
        return "'asked' needs a 'field' (a name such as 'output_shape')"
    # The asked fields the calculator knows (quizzes.model.ASKED_FIELDS); those of one
    # layer need its index. A key may ask for another field (written by hand): it is graded
    # against its answer, with no diagnosis.
    field, layer = asked["field"], asked.get("layer")
    spec = ASKED_FIELDS.get(field)
    if layer is not None:
        if not _is_int(layer) or not 0 <= layer < len(layers):
            return (f"'asked' names layer {_show(layer)}, but the entry's layers are numbered "
                    f"0 to {len(layers) - 1}" if layers else
                    f"'asked' names layer {_show(layer)}, but the entry has no layers")
    elif spec is not None and spec.per_layer:
        return f"'asked' field {_show(field)} needs a 'layer' index"
    answer = entry["answer"]
    if isinstance(answer, list):
        if not answer or not all(_is_int(v) and _is_number(v) for v in answer):
            return f"'answer' must be a finite number or a list of integers, got {_show(answer)}"
    elif not _is_number(answer):
        return f"'answer' must be a finite number or a list of integers, got {_show(answer)}"
    if spec is not None and spec.answer == "shape" and not isinstance(answer, list):
        return f"'asked' field {_show(field)} needs a shape (a list of integers) as 'answer'"
    if spec is not None and spec.answer != "shape" and isinstance(answer, list):
        return f"'asked' field {_show(field)} needs a number as 'answer', not a list"
    tolerance = entry["tolerance"]
    if not _is_number(tolerance) or tolerance < 0:
        return f"'tolerance' must be a finite number >= 0, got {_show(tolerance)}"
    return None


def _element_lines(text: str) -> list[int]:
    """The line on which each element of a top-level JSON list starts."""
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    lines, line, last = [], 1 + text.count("\n", 0, pos), pos
    n = len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n or text[pos] == "]":
            return lines
        line += text.count("\n", last, pos)
        lines.append(line)
        _, end = decoder.raw_decode(text, pos)
        line += text.count("\n", pos, end)
        pos = last = end
