"""Mutation testing of the autograder: apply a catalogue of realistic student mistakes to the
reference implementation and grade each mutant with the real hidden checks.

A mutant is caught when it loses points. An instructor runs `cnnlab mutants` after editing
the checks to see what got weaker; the test suite requires every mutant to be caught.

Three kinds of mutant share one report:
- the formula mistakes of the catalogue (solutions/mistakes, cnn_costs): the reference
  namespace with one function swapped for the catalogued wrong version;
- the source mistakes of the catalogue (all three assignments; for cnn_costs, the table's
  own slips): the reference's source with the entry's edits made (solutions/mistakes/edits.py,
  each edit found exactly once, anchored on code);
- replacement mutants (cnn_costs): one function swapped for a version that breaks one
  promise of the contract (autograder/promises.py: a promise that lists its own id among
  its mutants has its breaker here), and cost_table repeating each formula mistake.

A mutant is graded on the questions whose checks can reach what it changes, and only on
those: a swapped function is looked up by its own question's checks only, and a source edit
reaches the questions whose names (QUESTION_NAMES: what the checks look up when they grade
the reference, measured once per process) use the definitions it changes. The other
questions cannot lose points to it, so the report is the same, and much faster to make.
"""
from __future__ import annotations

import ast
import functools
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from autograder.reference_source import self_contained_source
from autograder.runner import Assignment, known_assignments, load_assignment, run_checks
from solutions import mistakes
from solutions.mistakes import formulas
from solutions.mistakes.edits import EditError, apply_edits, as_edit, resolved_edits
from solutions.mistakes.mistake import Mistake

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


@dataclass(frozen=True)
class SourceMutant:
    """A source mistake of the catalogue (solutions/mistakes), as the report shows it."""
    assignment: str
    id: str
    mistake: str                           # the catalogue's description
    edits: tuple[tuple[str, str], ...]     # (find, replace): exact excerpts of the reference
                                           # (edits.resolved_edits), each found exactly once
    needs: str | None = None               # "cuda": only a GPU grader can see it


@dataclass(frozen=True)
class ReplacementMutant:
    assignment: str
    id: str
    mistake: str
    target: str                            # the function of the reference it replaces
    make: Callable[[], Callable]           # builds the replacement


COSTS = "cnn_costs"


@functools.cache
def reference_source(assignment: str) -> str:
    """The reference every mutant edits, as a notebook cell carries it (the networks' tables
    inlined); read once per process: the catalogue's ~80 source mutants are resolved against
    it at import, and each mutant made and compared reads it again."""
    return self_contained_source(assignment)


def _source_mutant(mistake: Mistake) -> SourceMutant:
    """The catalogue's anchored edits as plain excerpts of today's reference (the public hints
    and the samples replace them as text); where one no longer applies, as written, so that
    making the mutant says which."""
    try:
        found = resolved_edits(reference_source(mistake.assignment), mistake.edits)
    except EditError:
        found = [(e.find, e.replace) for e in map(as_edit, mistake.edits)]
    return SourceMutant(mistake.assignment, mistake.id, mistake.description,
                        tuple(map(tuple, found)), mistake.needs)


SOURCE_MUTANTS: list[SourceMutant] = [_source_mutant(m) for m in mistakes.CATALOGUE
                                      if m.edits]


class _Recording(dict):
    """A namespace that notes every name the checks look up in it."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


@functools.cache
def _reference_namespace(assignment: str) -> dict:
    return _module_namespace(reference_source(assignment), assignment)


@functools.cache
def _names_read(assignment: str, question: str, checks: tuple) -> frozenset[str]:
    reference = _reference_namespace(assignment)
    env = _Recording(reference)
    result = run_checks(lambda: env, Assignment(assignment, {question: 1.0},
                                                {question: list(checks)}))[question]
    if result["score"] < result["possible"]:
        raise RuntimeError(f"{assignment}: the reference loses points on {question!r} "
                           f"({result['feedback'][:200]}); fix the checks first")
    return frozenset(n for n in env.read if n in reference and not n.startswith("__"))


class QuestionNames(Mapping):
    """question -> the names its checks look up in the student's namespace, for one
    assignment. The questions are its checks registry's (autograder/checks/<assignment>.py,
    the one list of them); each question's names are measured on first look-up, once per
    process, by grading the reference with a namespace that notes every look-up.

    A mutant reaches the questions whose names use what it changes (changed_names closes
    over the reference's uses): a question that reads none of them runs as it does on the
    reference, so it cannot lose points, and is not graded. The reference must score full
    marks (a check that fails stops early and may not read every name it would)."""

    def __init__(self, assignment: str):
        self.assignment = assignment

    @functools.cached_property
    def _checks(self) -> dict[str, list]:
        return load_assignment(self.assignment).checks

    def __getitem__(self, question: str) -> frozenset[str]:
        return _names_read(self.assignment, question, tuple(self._checks[question]))

    def __contains__(self, question) -> bool:  # the registry's, nothing measured
        return question in self._checks

    def __iter__(self):
        return iter(self._checks)

    def __len__(self) -> int:
        return len(self._checks)


# assignment -> question -> names, for every graded assignment; nothing is measured until a
# question's names are looked up.
QUESTION_NAMES: dict[str, QuestionNames] = {a: QuestionNames(a) for a in known_assignments()}


def _table_with(mistake: Mistake):
    def cost_table(input_shape, layers):
        return formulas.wrong_table(mistake, input_shape, layers)
    return cost_table


def _replacement_mutants() -> list[ReplacementMutant]:
    from autograder import promises

    found = [ReplacementMutant(COSTS, p.id, promises.BREAKERS[p.id].mistake, p.function,
                               lambda b=promises.BREAKERS[p.id]: b.fn)
             for p in promises.COST_PROMISES if p.id in p.mutants]
    # A formula mistake repeated in the table: a student whose cost_table computes its
    # formulas inline, and gets one of them wrong there only.
    found += [ReplacementMutant(COSTS, f"table_{m.id}", f"cost_table: {m.target} "
                                f"{m.description}", "cost_table",
                                functools.partial(_table_with, m))
              for m in formulas.CATALOGUE]
    return found


REPLACEMENT_MUTANTS: list[ReplacementMutant] = _replacement_mutants()
_REPLACEMENTS = {m.id: m for m in REPLACEMENT_MUTANTS}


def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def catalogue(assignments: list[str] | None = None) -> list[dict]:
    """Every mutant as {"assignment", "id", "mistake"}, in report order. A mutant only a
    GPU grader can see (`needs="cuda"`) is listed where there is one."""
    entries = [{"assignment": "cnn_costs", "id": m.id, "mistake": m.description}
               for m in formulas.CATALOGUE]
    entries += [{"assignment": m.assignment, "id": m.id, "mistake": m.mistake}
                for m in SOURCE_MUTANTS if m.needs is None or (m.needs == "cuda" and _cuda())]
    entries += [{"assignment": m.assignment, "id": m.id, "mistake": m.mistake}
                for m in REPLACEMENT_MUTANTS]
    return [e for e in entries if not assignments or e["assignment"] in assignments]


def _module_namespace(source: str, name: str) -> dict:
    module = types.ModuleType(name)
    module.__file__ = str(SOLUTIONS / f"{name}.py")
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module.__dict__


@functools.lru_cache(maxsize=None)
def _edited(source: str, edits: tuple) -> str:
    return apply_edits(source, edits)


def mutated_source(mutant: SourceMutant) -> str:
    """The reference's source with the mutant's edits made (kept per reference text: a hint
    table and the mutants report ask for each mutant's source more than once)."""
    try:
        return _edited(reference_source(mutant.assignment), tuple(mutant.edits))
    except EditError as err:
        raise EditError(f"mutant {mutant.id}: {err}") from None


def apply_source_mutant(mutant: SourceMutant) -> dict:
    return _module_namespace(mutated_source(mutant), mutant.assignment)


def _definitions(tree: ast.Module) -> tuple[dict[str, str], list[str]]:
    """(top-level name -> its statement, dumped; the other top-level statements, dumped)."""
    named, other = {}, []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            named[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and all(
                isinstance(t, ast.Name) for t in
                (node.targets if isinstance(node, ast.Assign) else [node.target])):
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                named[t.id] = node
        else:
            other.append(ast.dump(node))
    return named, other


def _segment(lines: list[str], node: ast.AST) -> str:
    """The source text of a top-level statement."""
    if node.lineno == node.end_lineno:
        return lines[node.lineno - 1][node.col_offset:node.end_col_offset]
    return "".join([lines[node.lineno - 1][node.col_offset:],
                    *lines[node.lineno:node.end_lineno - 1],
                    lines[node.end_lineno - 1][:node.end_col_offset]])


def _names_used(node: ast.AST) -> frozenset[str]:
    return frozenset(x.id for x in ast.walk(node) if isinstance(x, ast.Name))


@functools.lru_cache(maxsize=8)
def _reference_definitions(source: str) -> tuple[dict, list[str], dict]:
    """_definitions of a reference source, each named statement as (its text, its dump),
    and the names each one uses: kept, as every mutant is compared with the same reference
    (parsing and dumping it for each was most of a cnn_architectures hint table's 4 s of
    mutant bookkeeping)."""
    named, other = _definitions(ast.parse(source))
    lines = source.splitlines(keepends=True)
    return ({n: (_segment(lines, node), ast.dump(node)) for n, node in named.items()}, other,
            {n: _names_used(node) for n, node in named.items()})


def changed_names(mutant: SourceMutant) -> frozenset[str] | None:
    """The reference's top-level names whose definition the mutant changes, and every name
    that uses one of them; None when it changes a statement that defines no name (every
    question may see it then)."""
    old, old_other, old_uses = _reference_definitions(reference_source(mutant.assignment))
    source = mutated_source(mutant)
    new, new_other = _definitions(ast.parse(source))
    if old_other != new_other:
        return None
    lines = source.splitlines(keepends=True)
    # The same text is the same statement; other text may still parse alike (spacing).
    changed = {n for n in old.keys() | new.keys()
               if n not in old or n not in new or (_segment(lines, new[n]) != old[n][0]
                                                   and ast.dump(new[n]) != old[n][1])}
    uses = {n: _names_used(node) if n in changed else old_uses[n] for n, node in new.items()}
    while True:
        more = {n for n, used in uses.items() if used & changed} - changed
        if not more:
            return frozenset(changed)
        changed |= more


def questions_of(entry: dict) -> list[str] | None:
    """The questions whose checks can reach the mutant; None: all of them."""
    if entry["assignment"] == COSTS and entry["id"] in formulas.BY_ID:
        reached = {formulas.BY_ID[entry["id"]].target}
    elif entry["id"] in _REPLACEMENTS:
        reached = {_REPLACEMENTS[entry["id"]].target}
    else:
        reached = changed_names(next(m for m in SOURCE_MUTANTS if m.id == entry["id"]))
        if reached is None:
            return None
    return [q for q, used in QUESTION_NAMES[entry["assignment"]].items() if reached & used]


def mutant_env(entry: dict) -> dict:
    if entry["assignment"] == COSTS and (entry["id"] in formulas.BY_ID
                                         or entry["id"] in _REPLACEMENTS):
        from solutions import cnn_costs

        env = dict(vars(cnn_costs))
        if entry["id"] in formulas.BY_ID:
            mistake = formulas.BY_ID[entry["id"]]
            env[mistake.target] = mistake.wrong
        else:
            replacement = _REPLACEMENTS[entry["id"]]
            env[replacement.target] = replacement.make()
        return env
    mutant = next(m for m in SOURCE_MUTANTS if m.id == entry["id"])
    return apply_source_mutant(mutant)


def _only(assignment: Assignment, questions: list[str] | None) -> Assignment:
    if questions is None:
        return assignment
    return Assignment(assignment.name, {q: assignment.points[q] for q in questions},
                      {q: assignment.checks[q] for q in questions})


def grade_mutant(entry: dict, assignment: Assignment | None = None,
                 only: list[str] | None = None) -> dict:
    """{"assignment", "id", "mistake", "caught", "lost": {question: points}}, graded on the
    questions that can see the mutant (questions_of), or on the questions `only` names (the
    test suite's: a catalogued mistake's own question, which must catch it)."""
    assignment = assignment or load_assignment(entry["assignment"])
    env = mutant_env(entry)
    questions = run_checks(lambda: env, _only(assignment, questions_of(entry)
                                              if only is None else only))
    lost = {q: round(r["possible"] - r["score"], 4) for q, r in questions.items()
            if r["score"] < r["possible"]}
    feedback = {q: questions[q]["feedback"] for q in lost}
    return {**entry, "caught": bool(lost), "lost": lost, "feedback": feedback}


def run(assignments: list[str] | None = None, progress=None) -> list[dict]:
    entries = catalogue(assignments)
    loaded = {name: load_assignment(name) for name in {e["assignment"] for e in entries}}
    results = []
    for entry in entries:
        results.append(grade_mutant(entry, loaded[entry["assignment"]]))
        if progress:
            progress(results[-1])
    return results
