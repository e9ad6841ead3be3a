"""`quiz generate` as a library call: build the quiz, write the three files."""
from __future__ import annotations

from pathlib import Path

from quizzes.csvio import read_roster
from quizzes.export_key import write_key
from quizzes.export_markdown import write_markdown
from quizzes.export_qti import write_qti
from quizzes.variants import DEFAULT_QUESTIONS, build_quiz

QTI_NAME, MARKDOWN_NAME, KEY_NAME = "quiz.qti.zip", "quiz.md", "answer_key.json"


def generate(out_dir, seed, variants: int | None = None, roster_path=None,
             questions: int = DEFAULT_QUESTIONS, difficulty: str = "medium",
             templates: list[str] | None = None, all_choices: bool = False) -> dict:
    """Writes DIR/quiz.qti.zip, DIR/quiz.md and DIR/answer_key.json; returns their paths
    and the quiz."""
    roster = read_roster(roster_path) if roster_path else None
    quiz = build_quiz(seed, variants, roster, questions, difficulty, templates)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"qti": out / QTI_NAME, "markdown": out / MARKDOWN_NAME, "key": out / KEY_NAME}
    write_qti(quiz, paths["qti"], all_choices)
    write_markdown(quiz, paths["markdown"])
    write_key(quiz, paths["key"])
    return {"quiz": quiz, **paths}
