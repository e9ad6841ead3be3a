"""Issue 17: every promise of the contract is a check. autograder/promises.py lists each
promise of shared/contract.md with the hidden checks that catch a breach of it and the
catalogued mutants that prove they do; this file keeps that table honest:

(a) every promise is covered (a check and a mutant, or a stated leniency), and every
    leniency has its line in docs/contract_notes.md ("Promises and leniencies");
(b) every check and mutant the table names exists (a promise that names itself among its
    mutants has its breaker catalogued as a replacement mutant);
(c) the table covers the contract: every name, argument and field of its tables (and of the
    cost_table paragraph) appears in a promise;
(d) for cnn_costs, the table is what the checks do: one breaker per promise (the reference
    with that promise alone broken) is run against the checks, and the checks that fail
    must be exactly the ones listed; every listed mutant fails a listed check; and what a
    leniency lets through keeps full marks.
The torch assignments' lists were filled by reading the checks and running their source
mutants and hand-made breakers against them; tests/test_mutants.py proves every catalogued
mutant is caught (`cnnlab mutants`).
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from autograder import mutants, promises
from autograder.checks import cnn_costs as cost_checks
from autograder.promises import PROMISES
from solutions import cnn_costs as ref
from solutions.mistakes import formulas as mistakes
from student_variants import failure

ROOT = Path(__file__).resolve().parent.parent
BY_ID = {p.id: p for p in PROMISES}


# ---------------------------------------------------------------------------------------
# (a) Every promise is covered, and every leniency is written down
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("promise", PROMISES, ids=lambda p: p.id)
def test_every_promise_has_a_check_and_a_mutant(promise):
    assert promise.lenient or promise.checks, "no check fails when it is broken"
    assert promise.lenient or promise.mutants, "no catalogued mutant breaks it"


def test_there_are_no_gaps():
    assert promises.gaps() == []


def _leniency_notes() -> str:
    text = (ROOT / "docs" / "contract_notes.md").read_text()
    start = text.index("## Promises and leniencies")
    following = text.find("\n## ", start + 1)
    return text[start:] if following < 0 else text[start:following]


@pytest.mark.parametrize("promise", [p for p in PROMISES if p.lenient], ids=lambda p: p.id)
def test_every_leniency_has_its_line_in_the_contract_notes(promise):
    assert f"`{promise.id}`" in _leniency_notes(), promise.id


# ---------------------------------------------------------------------------------------
# (b) Every check and mutant named exists
# ---------------------------------------------------------------------------------------

def _registered_checks(assignment: str) -> set[str]:
    module = importlib.import_module(f"autograder.checks.{assignment}")
    return {check.__name__ for found in module.QUESTIONS.values() for check in found}


def _catalogued_mutants(assignment: str) -> set[str]:
    """Every mutant of the assignment, those only a GPU grader lists included."""
    ids = {m.id for m in mutants.SOURCE_MUTANTS + mutants.REPLACEMENT_MUTANTS
           if m.assignment == assignment}
    return ids | (set(mistakes.BY_ID) if assignment == "cnn_costs" else set())


@pytest.mark.parametrize("assignment", promises.ASSIGNMENTS)
def test_named_checks_and_mutants_exist(assignment):
    checks, catalogued = _registered_checks(assignment), _catalogued_mutants(assignment)
    for p in promises.for_assignment(assignment):
        assert set(p.checks) <= checks, (p.id, set(p.checks) - checks)
        assert set(p.mutants) <= catalogued, (p.id, set(p.mutants) - catalogued)
        assert len(set(p.checks)) == len(p.checks) and len(set(p.mutants)) == len(p.mutants)


def test_a_promise_that_names_itself_among_its_mutants_has_its_breaker_catalogued():
    replacements = {m.id: m for m in mutants.REPLACEMENT_MUTANTS}
    for p in PROMISES:
        if p.id in p.mutants:
            assert p.assignment == "cnn_costs" and p.id in promises.BREAKERS, p.id
            assert replacements[p.id].target == p.function
            assert replacements[p.id].make() is promises.BREAKERS[p.id].fn


def test_promises_are_well_formed():
    assert len(BY_ID) == len(PROMISES), "promise ids must be unique"
    for p in PROMISES:
        assert p.assignment in promises.ASSIGNMENTS and p.kind in promises.KINDS, p.id
        # "<function>.<aspect>"; a group of builders or the whole assignment ("*") aside
        assert p.id.split(".")[0] == p.function or "," in p.function or p.function == "*", p.id
        assert p.text.strip() and (p.lenient is None or p.lenient.strip()), p.id


# ---------------------------------------------------------------------------------------
# (c) The table covers the contract
# ---------------------------------------------------------------------------------------

def _contract() -> str:
    for path in (ROOT / "shared" / "contract.md", ROOT.parent / "shared" / "contract.md"):
        if path.exists():
            return path.read_text()
    pytest.skip("shared/contract.md is not next to this checkout")


def _sections(text: str) -> dict[str, str]:
    """assignment name -> its section of the contract."""
    found = {}
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        m = re.match(r"Assignment `(\w+)`", part)
        if m:
            found[m.group(1)] = part
    return found


def _table_rows(section: str) -> list[list[str]]:
    rows = []
    for line in section.splitlines():
        if line.startswith("|") and not re.match(r"\|\s*-", line):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows[1:] if rows else rows  # without the header


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def _contract_entries(assignment: str) -> list[tuple[str, list[str], set[str]]]:
    """(name, its arguments, the identifiers its description cell puts in backticks) for
    every name of the assignment's table."""
    entries = []
    for first, second in (row[:2] for row in _table_rows(_sections(_contract())[assignment])):
        spans = re.findall(r"`([^`]*)`", first)
        names, args = [], []
        for span in spans:
            m = re.match(r"(\w+)\s*(?:\((.*)\))?$", span)
            if m:
                names.append(m.group(1))
                if m.group(2) is not None:
                    args = _arguments(m.group(2))
            elif span.startswith("("):
                args = _arguments(span[1:-1])
        described = {w for span in re.findall(r"`([^`]*)`", second) for w in _words(span)
                     if len(w) > 1}
        entries += [(name, args, described) for name in names]
    return entries


def _arguments(inside: str) -> list[str]:
    return [a.split("=")[0].strip() for a in inside.split(",") if a.strip()]


def _promises_of(assignment: str, name: str):
    return [p for p in promises.for_assignment(assignment) if name in _words(p.function)]


def test_the_contract_has_these_assignments():
    assert set(_sections(_contract())) == set(promises.ASSIGNMENTS)


@pytest.mark.parametrize("assignment", promises.ASSIGNMENTS)
def test_every_name_argument_and_field_of_the_contract_has_a_promise(assignment):
    entries = _contract_entries(assignment)
    assert entries
    missing = []
    for name, args, described in entries:
        found = _promises_of(assignment, name)
        if not found:
            missing.append(name)
            continue
        said = set().union(*(_words(p.text) for p in found))
        missing += [f"{name}: {w}" for w in [*args, *sorted(described)] if w not in said]
    assert not missing, missing
    names = {name for name, _, _ in entries}
    for p in promises.for_assignment(assignment):
        listed = {w for w in _words(p.function) if w in names}
        assert listed or p.function == "*", f"{p.id}: {p.function} is not in the contract"


def _cost_table_paragraph() -> str:
    section = _sections(_contract())["cnn_costs"]
    start = section.index("`input_shape` is")
    return section[start:section.index("\n\n", start)]


def test_every_layer_key_and_row_field_of_cost_table_has_a_promise():
    paragraph = _cost_table_paragraph()
    said = set().union(*(_words(p.text) for p in _promises_of("cnn_costs", "cost_table")))
    keys = {w for span in re.findall(r"`([^`]*)`", paragraph) for w in _words(span)
            if len(w) > 1}
    assert not keys - said, keys - said
    row = re.search(r"Each row is a dict with (.*?)\. ", paragraph, flags=re.S).group(1)
    fields = re.findall(r"`(\w+)`", row)
    assert fields == ["name", "type", "output_shape", "memory_kb", "params", "flops"]
    table = _promises_of("cnn_costs", "cost_table")
    for field in fields:
        kinds = {p.kind for p in table if field in _words(p.text)}
        assert "row_field" in kinds, field
        # the contract fixes the type of every field but name and type, which it leaves open
        if field not in ("name", "type"):
            assert "row_field_type" in kinds, field


# ---------------------------------------------------------------------------------------
# (d) cnn_costs: the table is what the checks do
# ---------------------------------------------------------------------------------------
#
# The breakers (autograder/promises.py) are the reference with one promise broken and every
# other kept; the checks that fail on each must be exactly the ones its promise lists.

COST_PROMISES = [p for p in promises.for_assignment("cnn_costs") if p.lenient is None]


def _reference_env() -> dict:
    return {name: getattr(ref, name) for name in cost_checks.QUESTIONS}


def test_every_cnn_costs_promise_has_a_breaker():
    assert set(promises.BREAKERS) == {p.id for p in COST_PROMISES}
    assert all(promises.BREAKERS[p.id].function == p.function for p in COST_PROMISES)


@pytest.mark.parametrize("promise", COST_PROMISES, ids=lambda p: p.id)
def test_cnn_costs_checks_that_catch_each_breach_are_the_listed_ones(promise):
    breaker = promises.BREAKERS[promise.id]
    env = _reference_env()
    env[breaker.function] = breaker.fn
    failing = {check.__name__ for check in cost_checks.QUESTIONS[breaker.function]
               if failure(check, env) is not None}
    assert failing and failing == set(promise.checks)


@pytest.mark.parametrize("promise", [p for p in COST_PROMISES if p.mutants], ids=lambda p: p.id)
def test_cnn_costs_listed_mutants_fail_a_listed_check(promise):
    for mutant in promise.mutants:
        env = mutants.mutant_env({"assignment": "cnn_costs", "id": mutant})
        assert any(failure(getattr(cost_checks, check), env) is not None
                   for check in promise.checks), mutant


@pytest.mark.parametrize("promise", [p for p in promises.for_assignment("cnn_costs")
                                     if p.lenient], ids=lambda p: p.id)
def test_what_a_leniency_lets_through_keeps_full_marks(promise):
    forms = {  # the accepted form, on the reference's tables
        "cost_table.returns_list": lambda shape, layers: tuple(ref.cost_table(shape, layers)),
        "cost_table.row_output_shape_tuple": lambda shape, layers: [
            {**row, "output_shape": list(row["output_shape"])}
            for row in ref.cost_table(shape, layers)],
    }
    env = _reference_env()
    env["cost_table"] = forms[promise.id]
    assert all(failure(check, env) is None for check in cost_checks.QUESTIONS["cost_table"])
