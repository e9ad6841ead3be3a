"""The gradebook: every graded record kept in one SQLite file, so that a class can be
regraded at the cost of what changed and reported on as a whole (`cnnlab report`).

What goes in: `cnnlab grade --db FILE` stores each notebook's record (records.py's keys)
with the student, the notebook's content hash, the grader that graded it (cnnlab's version,
the engine and a fingerprint of the grading code) and a timestamp; `cnnlab quiz grade --db
FILE` stores each student's quiz answers the same way, one "question" per quiz slot. Each
question keeps its score, possible points and feedback, and the catalogued mistakes named
in it (`mistake_ids`). Nothing is updated or deleted: a regrade adds a record, and a
student's latest record of an assignment is the one that counts.

What is refused, never touched: a file that is not SQLite, an SQLite file of another
program (its application_id, or tables without ours), a gradebook of a newer schema, and a
damaged one (PRAGMA quick_check). Two runs writing one gradebook at once both keep every
record: each record is one `BEGIN IMMEDIATE` transaction, and a writer waits for the other
(up to BUSY_TIMEOUT_S).

The checks report mistakes as text today; `mistake_ids` recovers the catalogue ids from the
feedback (autograder/mistakes.py's descriptions, and the phrases of FEEDBACK_MISTAKES for
the other assignments). Checks could report ids directly later; the records would then
carry them and this matching would only be the fallback.

Standard library only, plus autograder.mistakes (pure Python): `cnnlab grade --db` on an
unchanged class answers without importing torch.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# "cnnl" as a big-endian int: SQLite's header field for the program that owns the file.
APPLICATION_ID = 0x636E6E6C
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 120.0
SQLITE_MAGIC = b"SQLite format 3\x00"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT NOT NULL CHECK (kind IN ('notebook', 'quiz')),
    student        TEXT NOT NULL,
    assignment     TEXT NOT NULL,   -- an assignment, or a quiz's name
    submission     TEXT NOT NULL,   -- the path graded (the responses file of a quiz)
    content_hash   TEXT NOT NULL,   -- sha256 of the notebook (of the student's answers)
    grader         TEXT NOT NULL,   -- what graded it: grader_version()
    cnnlab_version TEXT NOT NULL,
    total          REAL NOT NULL,
    possible       REAL NOT NULL,
    error          TEXT,
    notes          TEXT NOT NULL,   -- JSON list
    sandbox        TEXT,            -- JSON list of layers, NULL from the otter engine
    seconds        REAL,
    graded_at      TEXT NOT NULL    -- ISO 8601, UTC
);
CREATE INDEX IF NOT EXISTS submissions_latest
    ON submissions (kind, assignment, student, id);
CREATE TABLE IF NOT EXISTS questions (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    position      INTEGER NOT NULL,
    question      TEXT NOT NULL,    -- a question, or a quiz slot (q03)
    score         REAL NOT NULL,
    possible      REAL NOT NULL,
    feedback      TEXT NOT NULL,
    item          TEXT,             -- quiz only: the key entry answered (q03-1a2b3c4d)
    template      TEXT,             -- quiz only
    response      TEXT,             -- quiz only: what the student wrote (NULL: no answer)
    parameters    TEXT,             -- quiz only: JSON object, item_parameters()
    PRIMARY KEY (submission_id, question)
);
CREATE TABLE IF NOT EXISTS mistakes (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    question      TEXT NOT NULL,
    mistake       TEXT NOT NULL,    -- a catalogue id; "id1+id2" for two made together
    PRIMARY KEY (submission_id, question, mistake)
);
"""
TABLES = ("meta", "submissions", "questions", "mistakes")


class GradebookError(Exception):
    """A gradebook that cannot be used: str() is one line for people."""


# --- who, what and by what ----------------------------------------------------------------

STUDENT_ID_FROM = ("stem", "folder", "canvas")
# Canvas's "Download Submissions" names files `<name>[_late]_<user id>_<submission id>_<file>`.
_CANVAS_NAME = re.compile(r"^[^_]+(?:_late)?_(\d+)_\d+_", re.I)


def student_id(path: str | os.PathLike, how: str = "stem") -> str:
    """The student a submission belongs to: its file name without the suffix (the default;
    exports name files by student), its folder's name, or the Canvas user id in the name
    of a file from Canvas's submission download (the file name stem if it has none)."""
    p = Path(path)
    if how == "folder":
        return p.resolve().parent.name or p.stem
    if how == "canvas":
        m = _CANVAS_NAME.match(p.name)
        return m.group(1) if m else p.stem
    if how != "stem":
        raise ValueError(f"student ids come from {', '.join(STUDENT_ID_FROM)}, not {how!r}")
    return p.stem


def quiz_name(key_path: str | os.PathLike) -> str:
    """A quiz's name in the gradebook: the folder `quiz generate --out` wrote its key into
    (quiz1/answer_key.json is quiz1), or the key's own name (midterm_key.json: midterm_key)."""
    p = Path(key_path)
    if p.stem == "answer_key" and p.resolve().parent.name:
        return p.resolve().parent.name
    return p.stem


def content_hash(path: str | os.PathLike) -> str:
    """sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cnnlab_version() -> str:
    try:
        from importlib.metadata import version
        return version("cnnlab")
    except Exception:  # noqa: BLE001 - run from a checkout that was never installed
        return "unknown"


_FINGERPRINTS: dict[str, str] = {}


# What decides a grade and its feedback: the hidden checks, the runner and its sandbox, the
# scoring rule, the mistake catalogue, the reference (solutions/), and the assignment's master
# notebook (its points). Not the build, the public hints or the CLI.
GRADING_CODE = ("autograder/checks", "autograder/runner.py", "autograder/sandbox.py",
                "autograder/sandbox_child.py", "autograder/protocol.py",
                "autograder/scoring.py", "autograder/records.py", "autograder/strategies.py",
                "autograder/grade.py", "autograder/otter_engine.py", "solutions")


def code_fingerprint(assignment: str) -> str:
    """A digest of GRADING_CODE and the assignment's master notebook: editing any of them
    makes every notebook of the assignment count as not graded yet."""
    if assignment not in _FINGERPRINTS:
        files = []
        for name in GRADING_CODE:
            p = ROOT / name
            files += sorted(p.rglob("*.py")) if p.is_dir() else [p] if p.exists() else []
        files += sorted((ROOT / "assignments" / assignment).glob("*.ipynb"))
        digest = hashlib.sha256()
        for p in files:
            digest.update(str(p.relative_to(ROOT)).encode() + b"\0")
            digest.update(p.read_bytes() + b"\0")
        _FINGERPRINTS[assignment] = digest.hexdigest()[:16]
    return _FINGERPRINTS[assignment]


def grader_version(assignment: str, engine: str = "sandbox") -> str:
    """What graded a record, as stored: 'cnnlab 0.1.0 sandbox 1a2b3c4d5e6f7a8b'."""
    return f"cnnlab {cnnlab_version()} {engine} {code_fingerprint(assignment)}"


# --- the mistakes a feedback names ----------------------------------------------------------

@dataclass(frozen=True)
class FeedbackMistake:
    """A mistake the checks of an assignment name in words of their own: `pattern` finds it
    in a feedback line; `source` is a fragment of the check's own message, which a test
    requires to be still in the check's source (so a reworded message is noticed)."""
    id: str
    assignment: str
    description: str
    pattern: str
    source: str
    mutant: bool = False   # the id is a SOURCE_MUTANTS id of autograder/mutants.py


_SOFT, _ARCH = "softmax_backprop", "cnn_architectures"

FEEDBACK_MISTAKES: list[FeedbackMistake] = [
    FeedbackMistake("softmax_grad_not_divided_by_n", _SOFT, "dscores not divided by N",
                    r"dscores [^\n]*it is N times too large|forgot to divide by N \(dscores",
                    "it is N times too large", mutant=True),
    FeedbackMistake("softmax_loss_sum_not_mean", _SOFT,
                    "the loss summed over the batch, not averaged",
                    r"it is the sum over the batch; the loss is the mean",
                    "it is the sum over the batch; the loss is the mean", mutant=True),
    FeedbackMistake("softmax_loss_wrong_sign", _SOFT,
                    "the loss with the wrong sign (cross-entropy is -log of the correct "
                    "class's probability)", r"loss [^\n]*it has the wrong sign",
                    "it has the wrong sign (cross-entropy"),
    FeedbackMistake("softmax_grad_no_onehot", _SOFT,
                    "dscores without subtracting 1 at each row's correct class",
                    r"subtract 1 at each row's correct class",
                    "subtract 1 at each row's correct class"),
    FeedbackMistake("softmax_grad_sign_flipped", _SOFT,
                    "dscores with its sign flipped (onehot - softmax)",
                    r"its sign is flipped \(it is softmax - onehot", "its sign is flipped"),
    FeedbackMistake("dw2_reg_without_2", _SOFT,
                    "dW2's regularization gradient without the factor 2",
                    r"grads\['W2'\] is wrong[^\n]*forgot the factor 2 in the L2 gradient",
                    "forgot the factor 2 in the L2 gradient", mutant=True),
    FeedbackMistake("dw1_reg_without_2", _SOFT,
                    "dW1's regularization gradient without the factor 2",
                    r"grads\['W1'\] is wrong[^\n]*forgot the factor 2 in the L2 gradient",
                    "forgot the factor 2 in the L2 gradient"),
    FeedbackMistake("dw1_no_reg", _SOFT, "dW1 without the regularization gradient",
                    r"grads\['W1'\] is wrong[^\n]*forgot the L2 gradient 2\*reg\*W",
                    "forgot the L2 gradient 2*reg*W", mutant=True),
    FeedbackMistake("dw2_no_reg", _SOFT, "dW2 without the regularization gradient",
                    r"grads\['W2'\] is wrong[^\n]*forgot the L2 gradient 2\*reg\*W",
                    "forgot the L2 gradient 2*reg*W"),
    FeedbackMistake("bias_regularized", _SOFT,
                    "regularized the biases: the L2 term covers W1 and W2 only",
                    r"regularized the bias", "regularized the bias"),
    FeedbackMistake("relu_mask_missing", _SOFT, "the backward pass ignores the ReLU",
                    r"forgot the ReLU's gradient", "forgot the ReLU's gradient", mutant=True),
    FeedbackMistake("train_history_without_l2", _SOFT,
                    "loss_history records the data loss, without the L2 term",
                    r"loss_history holds the data loss only",
                    "loss_history holds the data loss only", mutant=True),
    FeedbackMistake("train_ignores_reg", _SOFT,
                    "train_two_layer does not pass reg on (trains with reg=0)",
                    r"the training ignores `reg`", "the training ignores `reg`", mutant=True),
    FeedbackMistake("train_weights_only", _SOFT,
                    "SGD updates W1 and W2 only; the biases never move",
                    r"only W1 and W2 are updated", "only W1 and W2 are updated", mutant=True),
    FeedbackMistake("block_combination", _ARCH,
                    "every layer is right, but forward combines them wrongly (the shortcut, "
                    "the residual add, the ReLU after the add)",
                    r"check how (?:its )?forward combines them", "forward combines them"),
    # The layer where a network first departs from the reference: not a named mistake,
    # but where a class's networks go wrong, and so often where an instruction is unclear.
    FeedbackMistake("differs_at", _ARCH, "the first layer whose output differs is {}",
                    r"the first layer whose output differs is `([^`]+)`",
                    "the first layer whose output differs is"),
]


def _catalogue():
    from solutions.mistakes.formulas import CATALOGUE
    return CATALOGUE


class _Matcher:
    """The catalogue's descriptions as one regex (longest first, so a description that
    contains another wins), and the phrases of FEEDBACK_MISTAKES, per assignment."""

    def __init__(self):
        self.by_description: dict[str, list] = {}
        for m in _catalogue():
            self.by_description.setdefault(m.description, []).append(m)
        alternatives = sorted(self.by_description, key=len, reverse=True)
        self.catalogue = re.compile("|".join(map(re.escape, alternatives)))
        self.phrases: dict[str, list[tuple[re.Pattern, FeedbackMistake]]] = {}
        for f in FEEDBACK_MISTAKES:
            self.phrases.setdefault(f.assignment, []).append((re.compile(f.pattern), f))

    def pick(self, candidates: list, question: str, before: str, after: str):
        """Of catalogue entries with one description (a slip made in several functions),
        the one the feedback means: named just before it ('looks like fc_params ...'), the
        function to fix ('fix that in conv_output_size'), or the question's own."""
        if len(candidates) == 1:
            return candidates[0]
        for m in candidates:
            if before.endswith(f"{m.target} ") or f"fix that in {m.target}" in after:
                return m
        return next((m for m in candidates if m.target == question), candidates[0])

    def ids(self, assignment: str | None, question: str, feedback: str) -> list[str]:
        found: list[tuple[int, str]] = []
        for line in feedback.splitlines():
            offset = len(found)
            for hit in self.catalogue.finditer(line):
                before = line[:hit.start()]
                # "(or it ...)", "(or fc_params ...)": a mistake that fits as well, named as
                # an alternative; the diagnosis is the one before it.
                if re.search(r"\(or (?:it|\w+) $", before):
                    continue
                m = self.pick(self.by_description[hit.group()], question, before,
                              line[hit.end():])
                found.append((hit.start(), m.id))
            for pattern, f in self.phrases.get(assignment, ()):
                for hit in pattern.finditer(line):
                    mistake = f"{f.id}:{hit.group(1)}" if pattern.groups else f.id
                    found.append((hit.start(), mistake))
            found[offset:] = sorted(found[offset:])
        return list(dict.fromkeys(m for _, m in found))


_MATCHER: _Matcher | None = None


def mistake_ids(assignment: str | None, question: str, feedback: str | None) -> list[str]:
    """The ids of the mistakes a question's feedback names, in the order named, each once:
    the catalogue's (autograder/mistakes.py, whose descriptions the cnn_costs checks quote)
    and FEEDBACK_MISTAKES (the other assignments' checks). A mistake named only as an
    alternative ('(or it ...)') is not counted."""
    global _MATCHER
    if not feedback:
        return []
    if _MATCHER is None:
        _MATCHER = _Matcher()
    return _MATCHER.ids(assignment, question, feedback)


def describe(mistake: str) -> str:
    """A mistake id for people: its description; for "id1+id2" both, joined; an id this
    cnnlab does not know (a newer catalogue's) as itself."""
    known = {m.id: m.description for m in _catalogue()}
    known.update({f.id: f.description for f in FEEDBACK_MISTAKES})
    parts = []
    for one in mistake.split("+"):
        base, _, detail = one.partition(":")
        text = known.get(base, one)
        parts.append(text.format(f"`{detail}`") if detail and "{}" in text else text)
    return "; and ".join(parts)


# --- quiz items --------------------------------------------------------------------------

def item_parameters(entry: dict) -> dict:
    """What a quiz item asks about, for comparing items (a stride of 2 against 1): the
    field asked and, for a conv or pool layer, its kernel, stride (a pool's missing stride
    is its kernel, as in torch), padding and whether it pads. Across a question about the
    whole stack (no layer), a value the layers do not share is 'mixed'."""
    asked = entry.get("asked") or {}
    layers = [x for x in entry.get("layers") or [] if isinstance(x, dict)]
    index = asked.get("layer")
    params: dict = {"field": asked.get("field")}
    if isinstance(index, int) and 0 <= index < len(layers):
        chosen = [layers[index]]
        params["layer"] = layers[index].get("type")
    else:
        chosen = [x for x in layers if x.get("type") in ("conv", "pool")]
        params["layer"] = "stack"
    spatial = [x for x in chosen if x.get("type") in ("conv", "pool")]
    if spatial:
        def shared(values):
            values = set(values)
            return values.pop() if len(values) == 1 else "mixed"
        kernels = [x.get("kernel") for x in spatial]
        params["kernel"] = shared(kernels)
        params["stride"] = shared(x.get("stride") or (x.get("kernel") if x.get("type") == "pool"
                                                      else 1) for x in spatial)
        params["padding"] = shared(x.get("padding", 0) or 0 for x in spatial)
        params["padded"] = shared("on" if x.get("padding", 0) else "off" for x in spatial)
    return params


# --- the file ----------------------------------------------------------------------------

def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _refuse(path, why: str) -> GradebookError:
    return GradebookError(f"{path}: {why}; it was not changed")


class Gradebook:
    """One gradebook file, opened for writing (created if missing) or for reading only.
    Use as a context manager, or call close()."""

    def __init__(self, path: str | os.PathLike, write: bool = True):
        self.path = Path(path)
        self.write = write
        self._check_file()
        try:
            if write:
                self.db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S,
                                          isolation_level=None, check_same_thread=False)
            else:
                uri = "file:" + _quote(self.path.resolve()) + "?mode=ro"
                self.db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S,
                                          isolation_level=None, check_same_thread=False)
            self.db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._check_schema()
        except sqlite3.DatabaseError as err:
            self._close_quietly()
            raise _refuse(self.path, f"damaged, or not a gradebook ({err})") from None

    # The checks run before SQLite may write a byte.
    def _check_file(self) -> None:
        p = self.path
        if p.is_dir():
            raise GradebookError(f"{p}: is a folder; give the gradebook's file name")
        if not p.exists():
            if not self.write:
                raise GradebookError(f"{p}: no such gradebook (`cnnlab grade ... --db "
                                     f"{p}` makes one)")
            folder = p.resolve().parent
            if not folder.is_dir():
                raise GradebookError(f"{p}: folder {folder} does not exist")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise GradebookError(f"{p}: folder {folder} is not writable")
            return
        if not p.is_file():
            raise GradebookError(f"{p}: not a regular file")
        if not os.access(p, os.R_OK) or (self.write and not os.access(p, os.W_OK)):
            raise GradebookError(f"{p}: not {'writable' if self.write else 'readable'} "
                                 f"(permission denied)")
        with open(p, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
        if head and head != SQLITE_MAGIC:
            raise _refuse(p, "not a cnnlab gradebook (not an SQLite database)")

    def _check_schema(self) -> None:
        # One read transaction, so the three reads see one state: read apart, a run that
        # finds the id still 0 and then the tables another run has just created would take
        # a gradebook being made for another program's database.
        self.db.execute("BEGIN")
        try:
            app = self.db.execute("PRAGMA application_id").fetchone()[0]
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%'")}
        finally:
            self.db.execute("COMMIT")
        if app != APPLICATION_ID and (app != 0 or tables):
            owner = f"application_id {app:#x}" if app else "tables " + ", ".join(sorted(tables))
            raise _refuse(self.path, f"an SQLite database of another program ({owner}), not "
                                     f"a cnnlab gradebook")
        if version > SCHEMA_VERSION:
            raise _refuse(self.path, f"a gradebook of schema {version}, written by a newer "
                                     f"cnnlab (this one reads schema {SCHEMA_VERSION})")
        if app == APPLICATION_ID:
            check = self.db.execute("PRAGMA quick_check").fetchall()
            if check != [("ok",)]:
                problems = [line for (text,) in check for line in str(text).splitlines()
                            if line.strip() and not line.startswith("***")]
                more = f", and {len(problems) - 1} more problems" if len(problems) > 1 else ""
                raise _refuse(self.path, f"damaged ({(problems or ['?'])[0]}{more}: "
                                         f"PRAGMA quick_check)")
            missing = [t for t in TABLES if t not in tables]
            if missing:
                raise _refuse(self.path, f"damaged (tables missing: {', '.join(missing)})")
            return
        if not self.write:
            raise GradebookError(f"{self.path}: an empty file, not a gradebook yet")
        self._create()

    def _create(self) -> None:
        """The schema, once: a second run creating the same gradebook at the same moment
        waits on the lock, then finds it made."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if self.db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                for statement in _statements(SCHEMA):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                    [("created_at", _now()),
                                     ("created_by", f"cnnlab {cnnlab_version()}")])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _close_quietly(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            db.close()

    def close(self) -> None:
        self._close_quietly()
        self.db = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _transaction(self, work) -> None:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                work()
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as err:  # locked past the timeout, disk full
            raise GradebookError(f"{self.path}: cannot write ({err})") from None

    # --- writing ---------------------------------------------------------------------

    def _insert(self, kind: str, record: dict, student: str, digest: str, grader: str,
                rows: list[tuple], graded_at: str | None = None) -> int:
        cur = self.db.execute(
            "INSERT INTO submissions (kind, student, assignment, submission, content_hash, "
            "grader, cnnlab_version, total, possible, error, notes, sandbox, seconds, "
            "graded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, student, record.get("assignment") or "", str(record["submission"]),
             digest, grader, cnnlab_version(), float(record["total"]),
             float(record["possible"]), record.get("error"),
             json.dumps(record.get("notes") or []),
             None if record.get("sandbox") is None else json.dumps(record["sandbox"]),
             record.get("seconds"), graded_at or _now()))
        sid = cur.lastrowid
        self.db.executemany(
            "INSERT INTO questions (submission_id, position, question, score, possible, "
            "feedback, item, template, response, parameters) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [(sid, *r[:-1]) for r in rows])
        self.db.executemany("INSERT OR IGNORE INTO mistakes VALUES (?, ?, ?)",
                            [(sid, r[1], m) for r in rows for m in r[-1]])
        return sid

    def add_record(self, record: dict, *, student: str, content_hash: str, grader: str,
                   graded_at: str | None = None) -> None:
        """Store one notebook's record (records.py's keys) in a transaction of its own;
        each question's mistakes are its "mistakes" list when the record has one, else
        what its feedback names."""
        self.add_records([(record, student, content_hash, grader)], graded_at)

    def add_records(self, items: list[tuple[dict, str, str, str]],
                    graded_at: str | None = None) -> None:
        """Store [(record, student, content hash, grader)] at once: all or none."""
        work = [(record, student, digest, grader, _question_rows(record))
                for record, student, digest, grader in items]

        def store():
            for record, student, digest, grader, rows in work:
                self._insert("notebook", record, student, digest, grader, rows, graded_at)
        self._transaction(store)

    def add_quiz(self, result: dict, key: list[dict], quiz: str, source: str) -> int:
        """Store every student's answers of one `quiz grade` (quizzes.grade.grade_files'
        result, with each answer's slot) as one submission each; returns how many. The key
        entries give each item's template and parameters."""
        entries = {e["id"]: e for e in key}
        # An unanswered question names its slot only; with a roster, the student's variant.
        given = {(e.get("student"), e.get("question")): e for e in key
                 if e.get("student") is not None}
        key_digest = hashlib.sha256(json.dumps(
            [(e["id"], e.get("answer"), e.get("tolerance")) for e in key],
            sort_keys=True, default=str).encode()).hexdigest()
        grader = f"cnnlab {cnnlab_version()} quiz {key_digest[:16]}"
        stamp = _now()
        work = []
        for s in result["students"]:
            rows, answered = [], []
            for i, a in enumerate(s["answers"]):
                slot = a.get("slot") or a["question"]
                entry = entries.get(a["question"]) or given.get((s["student"], slot))
                response = a.get("response")
                if a["correct"]:
                    feedback = ""
                elif response in (None, ""):
                    feedback = "no answer"
                elif a.get("mistake"):
                    feedback = f"likely {a['mistake']}: {describe(a['mistake'])}"
                else:
                    feedback = "no catalogued mistake gives this"
                rows.append((i, slot, 1.0 if a["correct"] else 0.0, 1.0, feedback,
                             entry["id"] if entry else None,
                             entry.get("template") if entry else None, response,
                             json.dumps(item_parameters(entry)) if entry else None,
                             [a["mistake"]] if a.get("mistake") else []))
                answered.append((slot, a["question"], response))
            digest = hashlib.sha256(json.dumps([key_digest, answered]).encode()).hexdigest()
            record = {"submission": str(source), "assignment": quiz,
                      "total": float(s["score"]), "possible": float(s["possible"]),
                      "error": None, "notes": [], "sandbox": None}
            work.append((record, str(s["student"]), digest, rows))

        def store():
            for record, student, digest, rows in work:
                self._insert("quiz", record, student, digest, grader, rows, stamp)
        self._transaction(store)
        return len(work)

    # --- reading ---------------------------------------------------------------------

    def unchanged(self, student: str, assignment: str, digest: str, grader: str) -> dict | None:
        """The student's latest record of the assignment if it graded this very notebook
        with this very grader and the notebook could be run; else None (grade it)."""
        row = self.db.execute(
            "SELECT id, content_hash, grader, error FROM submissions WHERE kind = 'notebook' "
            "AND assignment = ? AND student = ? ORDER BY id DESC LIMIT 1",
            (assignment, student)).fetchone()
        if row is None or row[1] != digest or row[2] != grader or row[3]:
            return None
        return self._records(f"s.id = {int(row[0])}")[0]

    def records(self, kind: str | None = None, latest: bool = True) -> list[dict]:
        """The stored records as records.py's dicts plus "kind", "student", "graded_at",
        "content_hash", "grader", "cnnlab_version" and per question "mistakes" (and a
        quiz's "item", "template", "response", "parameters"); only each student's latest
        of each assignment unless `latest` is False. In the order first stored."""
        where = []
        if kind is not None:
            where.append(f"s.kind = '{'quiz' if kind == 'quiz' else 'notebook'}'")
        if latest:
            where.append("s.id IN (SELECT max(id) FROM submissions "
                         "GROUP BY kind, assignment, student)")
        return self._records(" AND ".join(where) or "1")

    def _records(self, where: str) -> list[dict]:
        try:
            return self._read(where)
        except sqlite3.DatabaseError as err:
            raise GradebookError(f"{self.path}: cannot read ({err})") from None

    def _read(self, where: str) -> list[dict]:
        out: dict[int, dict] = {}
        for (sid, kind, student, assignment, submission, digest, grader, version, total,
             possible, error, notes, sandbox, seconds, graded_at) in self.db.execute(
                f"SELECT s.id, s.kind, s.student, s.assignment, s.submission, s.content_hash, "
                f"s.grader, s.cnnlab_version, s.total, s.possible, s.error, s.notes, "
                f"s.sandbox, s.seconds, s.graded_at FROM submissions s WHERE {where} "
                f"ORDER BY s.id"):
            out[sid] = {"submission": submission, "assignment": assignment, "total": total,
                        "possible": possible, "questions": {}, "error": error,
                        "notes": json.loads(notes),
                        "sandbox": None if sandbox is None else json.loads(sandbox),
                        "seconds": seconds, "kind": kind, "student": student,
                        "graded_at": graded_at, "content_hash": digest, "grader": grader,
                        "cnnlab_version": version}
        if not out:
            return []
        subset = f"(SELECT s.id FROM submissions s WHERE {where})"
        for sid, question, score, possible, feedback, item, template, response, params in \
                self.db.execute(
                    f"SELECT submission_id, question, score, possible, feedback, item, "
                    f"template, response, parameters FROM questions WHERE submission_id IN "
                    f"{subset} ORDER BY submission_id, position"):
            q = {"score": score, "possible": possible, "feedback": feedback, "mistakes": []}
            if out[sid]["kind"] == "quiz":
                q.update(item=item, template=template, response=response,
                         parameters=None if params is None else json.loads(params))
            out[sid]["questions"][question] = q
        for sid, question, mistake in self.db.execute(
                f"SELECT submission_id, question, mistake FROM mistakes WHERE submission_id "
                f"IN {subset} ORDER BY rowid"):
            q = out[sid]["questions"].get(question)
            if q is not None:
                q["mistakes"].append(mistake)
        return list(out.values())


def _question_rows(record: dict) -> list[tuple]:
    assignment = record.get("assignment")
    rows = []
    for i, (q, r) in enumerate(record["questions"].items()):
        mistakes = r.get("mistakes")
        if mistakes is None:
            mistakes = ([] if r["score"] >= r["possible"] or record.get("error")
                        else mistake_ids(assignment, q, r.get("feedback")))
        rows.append((i, q, float(r["score"]), float(r["possible"]), r.get("feedback") or "",
                     None, None, None, None, list(mistakes)))
    return rows


def _statements(script: str) -> list[str]:
    """SCHEMA's statements, one by one: executescript() would commit the transaction that
    keeps a second run from creating the tables at the same time."""
    lines = [line.split("--")[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _quote(path: Path) -> str:
    """A path inside an SQLite URI."""
    from urllib.parse import quote
    return quote(str(path))


def open_gradebook(path, write: bool = True) -> Gradebook:
    return Gradebook(path, write)
