"""Golden files, as hashes: a small quiz's handout, Markdown key and JSON key must not
change by accident (a new Python, a refactor). A deliberate change (a new template, a new
catalogue entry, which changes the distractors) changes them: refresh with

    .venv/bin/python tests/test_quiz_golden.py

and paste the printed hashes here."""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

GOLDEN = {
    "quiz.md": "805011c489d0440968f37a5763a302d2fc26dd81b11e353882365fb294aa1fe1",
    "answer_key.md": "f21bd3e6ad9486e2162bec101bcedd599f196267e57b5408892aeed2d54a28ad",
    "answer_key.json": "a15169854b440bda04615b5448a062f44985a8d597e442c87796ac209e23fdf1",
}


def golden_hashes(tmp) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from quizzes.generate import generate
    out = generate(tmp, "golden", variants=2, difficulty="mixed")
    return {name: hashlib.sha256(out[kind].read_bytes()).hexdigest()
            for kind, name in (("markdown", "quiz.md"), ("key_markdown", "answer_key.md"),
                               ("key", "answer_key.json"))}


def test_golden(tmp_path):
    got = golden_hashes(tmp_path)
    assert got == GOLDEN, f"quiz output changed; if on purpose, set GOLDEN = {got!r}"


if __name__ == "__main__":
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        print(golden_hashes(d))
