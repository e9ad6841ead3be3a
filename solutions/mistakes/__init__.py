"""The catalogue of students' mistakes, written once: every assignment's, formula mistakes
and source edits alike, each with one id.

A new mistake is one entry in the file of its assignment:
- solutions/mistakes/cnn_costs.py: a wrong version of a formula (FORMULA_MISTAKES), or an
  edit of the reference's source for the table's own slips (SOURCE_MISTAKES);
- solutions/mistakes/cnn_architectures.py, solutions/mistakes/softmax_backprop.py: edits of
  the reference's source (anchored on code, never on comments: solutions/mistakes/edits.py).

Each entry (solutions/mistakes/mistake.py) names the question whose checks must catch it,
its description for the student, and where the tests require it, the phrase the feedback
must contain. Everything reads this list: the autograder's feedback and the public hints,
the quiz distractors and `quiz grade`'s diagnosis (solutions/mistakes/formulas.py),
`cnnlab mutants` (autograder/mutants.py grades each entry), the samples and the tests
(tests/student_variants make each entry and check its question's feedback).
"""
from __future__ import annotations

from solutions.mistakes import cnn_architectures, cnn_costs, softmax_backprop
from solutions.mistakes.mistake import Mistake

CATALOGUE: list[Mistake] = (cnn_costs.MISTAKES + cnn_architectures.MISTAKES
                            + softmax_backprop.MISTAKES)
BY_ID: dict[str, Mistake] = {m.id: m for m in CATALOGUE}


def of(assignment: str) -> list[Mistake]:
    return [m for m in CATALOGUE if m.assignment == assignment]
