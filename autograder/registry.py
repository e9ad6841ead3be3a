"""Which assignments exist: the one registry, which every list of assignments reads (the
build, the runner, `cnnlab mutants`, the promises). An assignment is a folder of
assignments/ with its master notebook; nothing else lists them. Answered without importing
torch, Otter or nbformat, so the CLI can check a name before it pays for them
(`cnnlab grade --assignment nope` in 0.2 s).

- `master_notebooks()`: assignments with a master notebook assignments/<a>/<a>.ipynb (what
  `cnnlab build` builds);
- `graded_assignments()`: assignments with hidden checks, the modules of autograder/checks/
  that define QUESTIONS (what the sandbox engine grades). Read as text, not imported: the
  Gradescope zip has no assignments/ folder to look in.

Standard library only.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ROOT / "assignments"
CHECKS = ROOT / "autograder" / "checks"


def master_notebooks(root: Path = ASSIGNMENTS) -> list[str]:
    return sorted(p.parent.name for p in Path(root).glob("*/*.ipynb")
                  if p.stem == p.parent.name)


def graded_assignments() -> list[str]:
    return sorted(p.stem for p in CHECKS.glob("*.py") if not p.stem.startswith("_")
                  and re.search(r"^QUESTIONS\b", p.read_text(encoding="utf-8"), re.M))
