"""The JSON answer key: one entry per question variant (per student with a roster), in the
contract's format, plus what `quiz grade` needs to name mistakes (the slot, the template,
the kind and the choices with the mistake behind each)."""
from __future__ import annotations

import json

from quizzes.model import Question, Quiz


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def key_entry(q: Question) -> dict:
    entry = {
        "id": q.id,
        "student": q.student,
        "prompt": q.prompt,
        "input_shape": list(q.input_shape),
        "layers": q.layers,
        "asked": q.asked,
        "answer": q.answer,
        "tolerance": q.tolerance,
        "question": q.slot,
        "template": q.template,
        "difficulty": q.difficulty,
        "kind": q.kind,
        "choices": [{"value": c.value, "mistake": c.mistake, "correct": c.correct}
                    for c in q.choices],
    }
    if q.extra:
        entry["extra"] = q.extra
    return _jsonable(entry)


def key_json(quiz: Quiz) -> str:
    """One entry per line, so a person can diff keys and an error can name a line."""
    lines = [json.dumps(key_entry(q), sort_keys=False, separators=(", ", ": "))
             for q in quiz.questions]
    return "[\n" + ",\n".join(lines) + "\n]\n"


def write_key(quiz: Quiz, path) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(key_json(quiz))
