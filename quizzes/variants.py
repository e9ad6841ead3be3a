"""Turning a seed (and a roster) into a quiz: which template fills each slot, at which
difficulty, and the random generator of every variant.

Every generator is derived with hashlib from (seed, slot, variant) or (seed, slot, student
id), never from Python's salted hash(): a seed fixes the whole quiz, and a student's
questions depend only on the seed and their own id, not on the roster's order or size."""
from __future__ import annotations

import hashlib
import random

from quizzes.csvio import MAX_STUDENTS
from quizzes.model import Question, Quiz
from quizzes.templates import DIFFICULTIES, TEMPLATES

DEFAULT_QUESTIONS = len(TEMPLATES)

# Limits that keep `quiz generate` to seconds and its answer key well under the 200 MiB that
# `quiz grade` reads (about 1 KB of key per question variant): beyond them a request is a
# typo, not a quiz. MAX_STUDENTS (a roster's length) is in csvio.
MAX_VARIANTS = 1000
MAX_QUESTIONS = 100
MAX_TOTAL = 100_000  # questions x (variants or students)


def _digest(*parts) -> bytes:
    text = "\x1f".join(str(p) for p in ("cnnlab-quiz", *parts))
    return hashlib.sha256(text.encode("utf-8")).digest()


def rng_for(seed, slot: str, who: str) -> random.Random:
    return random.Random(int.from_bytes(_digest(seed, slot, who)[:8], "big"))


def student_tag(seed, student_id: str) -> str:
    """A short stable tag for a student's question ids; the id itself stays out of the
    question text, which Canvas shows."""
    return _digest(seed, "student", student_id).hex()[:8]


def parse_difficulty(text: str) -> list[str]:
    """'medium', 'easy,hard' (slots cycle through the list) or 'mixed' (= easy,medium,hard)."""
    if text == "mixed":
        return list(DIFFICULTIES)
    levels = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in levels if t not in DIFFICULTIES]
    if bad or not levels:
        raise ValueError(f"difficulty must be {', '.join(DIFFICULTIES)} or mixed, or a comma "
                         f"list of them; got {text!r}")
    return levels


def plan(questions: int, difficulty: str = "medium",
         templates: list[str] | None = None) -> list[tuple[str, str, str]]:
    """[(slot id, template, difficulty)]: slots cycle through the templates in order."""
    names = templates or list(TEMPLATES)
    unknown = [t for t in names if t not in TEMPLATES]
    if unknown:
        raise ValueError(f"unknown template {unknown[0]!r}; known: {', '.join(TEMPLATES)}")
    if questions < 1:
        raise ValueError(f"questions must be >= 1, got {questions}")
    if questions > MAX_QUESTIONS:
        raise ValueError(f"questions must be at most {MAX_QUESTIONS}, got {questions:,}")
    levels = parse_difficulty(difficulty)
    width = max(2, len(str(questions)))
    return [(f"q{k + 1:0{width}d}", names[k % len(names)], levels[k % len(levels)])
            for k in range(questions)]


def make_variant(seed, slot: str, template: str, difficulty: str, who: str) -> Question:
    return TEMPLATES[template](rng_for(seed, slot, who), difficulty)


def build_quiz(seed, variants: int | None = None, roster: list[dict] | None = None,
               questions: int = DEFAULT_QUESTIONS, difficulty: str = "medium",
               templates: list[str] | None = None, title: str | None = None) -> Quiz:
    """Without a roster: `variants` variants of each slot (student None). With one: one
    variant of each slot per student, in roster order."""
    slots = plan(questions, difficulty, templates)
    out: list[Question] = []
    if roster is None:
        if not variants or variants < 1:
            raise ValueError(f"variants must be >= 1, got {variants}")
        if variants > MAX_VARIANTS:
            raise ValueError(f"variants must be at most {MAX_VARIANTS}, got {variants:,}")
    elif len(roster) > MAX_STUDENTS:
        raise ValueError(f"{len(roster):,} students; at most {MAX_STUDENTS:,} are supported")
    copies = variants if roster is None else len(roster)
    if questions * copies > MAX_TOTAL:
        who = "variants" if roster is None else "students"
        raise ValueError(f"{questions} questions x {copies:,} {who} = "
                         f"{questions * copies:,} question variants; at most {MAX_TOTAL:,} "
                         f"are supported: ask for fewer questions or {who}")
    if roster is None:
        width = max(3, len(str(variants)))
        for slot, template, level in slots:
            for v in range(1, variants + 1):
                q = make_variant(seed, slot, template, level, f"v{v}")
                q.id, q.slot = f"{slot}v{v:0{width}d}", slot
                out.append(q)
    else:
        tags = {s["id"]: student_tag(seed, s["id"]) for s in roster}
        if len(set(tags.values())) < len(tags):  # 32-bit tags: vanishingly rare
            tags = {s["id"]: _digest(seed, "student", s["id"]).hex() for s in roster}
        for slot, template, level in slots:
            for s in roster:
                q = make_variant(seed, slot, template, level, f"student:{s['id']}")
                q.id, q.slot, q.student = f"{slot}-{tags[s['id']]}", slot, s["id"]
                out.append(q)
    for q in out:
        q.prompt = f"[{q.id}] {q.prompt}"
    # The seed stays out of the title, which students see (on Canvas and the handout):
    # with it and their id, anyone could regenerate their questions and the key.
    return Quiz(title=title or "CNN Architectures: costs quiz", seed=str(seed),
                questions=out, students=roster)
