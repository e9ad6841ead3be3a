"""What one catalogued mistake is: its id, where it is made, what the student did, how to
make it, and what the feedback must say."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from solutions.mistakes.edits import Edit


@dataclass(frozen=True)
class Mistake:
    id: str
    assignment: str
    question: str         # the question whose checks must catch it
    description: str     # what the student did, phrased for the student (the feedback's words)
    wrong: Callable | None = None   # a formula mistake: the wrong version of the function
                                    # `question`, same signature
    edits: tuple = ()    # a source mistake: edits of the reference's source (edits.py)
    phrase: str | None = None   # what the feedback of `question` must contain; a formula
                                # mistake's feedback quotes its description
    needs: str | None = None    # "cuda": only a GPU grader can see it

    @property
    def target(self) -> str:
        """A formula mistake's function (cnn_costs names its questions after them)."""
        return self.question


def inside(definition: str, find: str, replace: str) -> Edit:
    """An edit whose find must be in the top-level definition `definition` ("Class.method")."""
    return Edit(find, replace, definition)
