"""`quiz generate` as a library call: build the quiz, write the four files."""
from __future__ import annotations

from pathlib import Path

from quizzes.csvio import read_roster
from quizzes.export_key import write_key
from quizzes.export_markdown import write_answer_key, write_handout
from quizzes.export_qti import write_qti
from quizzes.variants import DEFAULT_QUESTIONS, build_quiz

QTI_NAME, MARKDOWN_NAME, KEY_NAME = "quiz.qti.zip", "quiz.md", "answer_key.json"
KEY_MARKDOWN_NAME = "answer_key.md"
FILE_NAMES = {"qti": QTI_NAME, "markdown": MARKDOWN_NAME, "key_markdown": KEY_MARKDOWN_NAME,
              "key": KEY_NAME}


def generate(out_dir, seed, variants: int | None = None, roster_path=None,
             questions: int = DEFAULT_QUESTIONS, difficulty: str = "medium",
             templates: list[str] | None = None, all_choices: bool = False) -> dict:
    """Writes DIR/quiz.qti.zip (Canvas), DIR/quiz.md (the students' handout, one page
    each, no answers), DIR/answer_key.md (the instructor's printable key) and
    DIR/answer_key.json (what `quiz grade` reads); returns their paths and the quiz."""
    roster = read_roster(roster_path) if roster_path else None
    quiz = build_quiz(seed, variants, roster, questions, difficulty, templates)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {kind: out / name for kind, name in FILE_NAMES.items()}
    write_qti(quiz, paths["qti"], all_choices)
    write_handout(quiz, paths["markdown"])
    write_answer_key(quiz, paths["key_markdown"])
    write_key(quiz, paths["key"])
    return {"quiz": quiz, **paths}
