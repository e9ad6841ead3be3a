"""Golden files, as hashes: a small quiz's Markdown and key must not change by accident
(a new Python, a refactor). A deliberate change (a new template, a new catalogue entry,
which changes the distractors) changes them: refresh with

    .venv/bin/python tests/test_quiz_golden.py

and paste the printed hashes here."""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

GOLDEN = {
    "quiz.md": "be861d0f4a9d0060dba86c2d5fd85143c6a16309117c09ecc506e38127e557e6",
    "answer_key.json": "71957714d374413a4261dfab04b6c9345fc67c069d897ec1fdccaf9f8fe3bf4d",
}


def golden_hashes(tmp) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from quizzes.generate import generate
    out = generate(tmp, "golden", variants=2, difficulty="mixed")
    return {name: hashlib.sha256(out[kind].read_bytes()).hexdigest()
            for kind, name in (("markdown", "quiz.md"), ("key", "answer_key.json"))}


def test_golden(tmp_path):
    got = golden_hashes(tmp_path)
    assert got == GOLDEN, f"quiz output changed; if on purpose, set GOLDEN = {got!r}"


if __name__ == "__main__":
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        print(golden_hashes(d))
