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
    "quiz.md": "9551519ea4e59340e68f74ca831217cfc52f2afc809c246f709e1793074cb0d1",
    "answer_key.json": "c90957f280ca5ff9f9887125986c54ad8eca8f3110926035ac39b988d0d4bc5b",
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
