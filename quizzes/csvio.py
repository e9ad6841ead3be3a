"""Reading the CSV and JSON files people hand to `cnnlab quiz`: rosters, responses, answer
keys. Every problem is a QuizInputError naming the file and line, for a one-line message."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path


class QuizInputError(ValueError):
    """A malformed input file: str() is 'FILE line N: what is wrong'."""

    def __init__(self, path, line: int | None, message: str):
        where = f"{path}" + (f" line {line}" if line else "")
        super().__init__(f"{where}: {message}")
        self.path, self.line = str(path), line


def read_text(path) -> str:
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise QuizInputError(path, None, f"cannot read: {err.strerror or err}") from None
    try:
        return raw.decode("utf-8-sig")  # Excel and Canvas write a BOM
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise QuizInputError(path, line, "not UTF-8 text") from None


def csv_rows(path):
    """(header, [(line number, row)]) of a CSV file, blank lines skipped."""
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
    return students


KEY_FIELDS = ("id", "prompt", "input_shape", "layers", "asked", "answer", "tolerance")


def read_key(path) -> list[dict]:
    """The answer key written by `quiz generate`: a JSON list of entries. Errors name the line
    where the offending entry starts."""
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise QuizInputError(path, err.lineno, f"not valid JSON ({err.msg})") from None
    if not isinstance(data, list):
        raise QuizInputError(path, 1, "expected a JSON list of questions")
    starts = _element_lines(text)
    seen = {}
    for i, entry in enumerate(data):
        line = starts[i] if i < len(starts) else None
        if not isinstance(entry, dict):
            raise QuizInputError(path, line, f"entry {i + 1} is not an object")
        missing = [k for k in KEY_FIELDS if k not in entry]
        if missing:
            raise QuizInputError(path, line, f"entry {i + 1} lacks {', '.join(missing)}")
        asked = entry["asked"]
        if not isinstance(asked, dict) or "field" not in asked:
            raise QuizInputError(path, line, f"entry {i + 1}: 'asked' needs a 'field'")
        if not isinstance(entry["layers"], list) or not isinstance(entry["input_shape"], list):
            raise QuizInputError(path, line, f"entry {i + 1}: 'layers' and 'input_shape' "
                                             f"must be lists")
        if not isinstance(entry["tolerance"], (int, float)) or isinstance(entry["tolerance"], bool):
            raise QuizInputError(path, line, f"entry {i + 1}: 'tolerance' must be a number")
        if entry["id"] in seen:
            raise QuizInputError(path, line, f"question id {entry['id']!r} repeats the "
                                             f"entry on line {seen[entry['id']]}")
        seen[entry["id"]] = line
        entry["_line"] = line
    return data


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
