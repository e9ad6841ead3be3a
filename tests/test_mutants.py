"""Mutation testing (issue 7, issue 17): every catalogued student mistake, and every
promise's breaker, must lose points."""
import importlib
import json

import pytest

from autograder import mutants, registry
from autograder.runner import load_assignment, run_checks
from cnnlab.cli import main
from solutions import mistakes

CATALOGUE = mutants.catalogue()
ASSIGNMENTS = tuple(registry.master_notebooks())  # the one registry, not a list here


def test_the_report_lists_the_whole_mistake_catalogue_once():
    listed = [e["id"] for e in mutants.catalogue(list(ASSIGNMENTS))]
    gpu_only = {m.id for m in mistakes.CATALOGUE if m.needs == "cuda"}
    assert set(mistakes.BY_ID) - gpu_only <= set(listed)
    assert {m.id for m in mutants.SOURCE_MUTANTS} == {m.id for m in mistakes.CATALOGUE
                                                      if m.edits}


def test_catalogue_is_large_and_spread_over_the_assignments():
    assert len(CATALOGUE) >= 40
    per = {a: sum(e["assignment"] == a for e in CATALOGUE) for a in ASSIGNMENTS}
    assert all(n >= 8 for n in per.values()), per
    assert len({(e["assignment"], e["id"]) for e in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("mutant", mutants.SOURCE_MUTANTS, ids=lambda m: m.id)
def test_source_mutant_applies_to_the_reference(mutant):
    namespace = mutants.apply_source_mutant(mutant)
    assert namespace  # each edit was found exactly once
    assert mutants.changed_names(mutant), "the edit changes no definition"


@pytest.mark.parametrize("mutant", mutants.REPLACEMENT_MUTANTS, ids=lambda m: m.id)
def test_replacement_mutant_replaces_a_function_of_the_reference(mutant):
    from solutions import cnn_costs
    assert callable(getattr(cnn_costs, mutant.target)) and callable(mutant.make())


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: f"{e['assignment']}:{e['id']}")
def test_every_mutant_is_caught(entry):
    # A catalogued mistake is graded on its own question only, which must catch it: the
    # questions it also reaches (the smoke tests train models built of nearly everything)
    # were four fifths of this test's time, and cnnlab mutants still grades them all. That
    # report grades the questions questions_of finds, so its own question must be among them.
    catalogued = mistakes.BY_ID.get(entry["id"])
    own = None if catalogued is None else [catalogued.question]
    if own is not None:
        reached = mutants.questions_of(entry)  # None: every question
        assert reached is None or catalogued.question in reached
    result = mutants.grade_mutant(entry, load_assignment(entry["assignment"]), only=own)
    assert result["caught"], f"the hidden checks miss: {entry['mistake']}"
    assert all(points > 0 for points in result["lost"].values())
    if own is not None:
        assert catalogued.question in result["lost"], result["lost"]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_each_question_reads_names_of_the_reference_and_the_reference_loses_nothing(name):
    """mutants.QUESTION_NAMES measures what each question's checks look up by grading the
    reference (raising if it loses points): every registered question, each reading names
    the reference defines."""
    names = mutants.QUESTION_NAMES[name]
    assert list(names) == list(load_assignment(name).checks)
    reference = vars(importlib.import_module(f"solutions.{name}"))
    for question in names:
        assert names[question] and names[question] <= set(reference), question


def test_the_cost_questions_read_their_own_function_only():
    # The contract: each cnn_costs question is one function, checked on its own.
    names = mutants.QUESTION_NAMES["cnn_costs"]
    assert {q: set(names[q]) for q in names} == {q: {q} for q in names}


@pytest.mark.parametrize("mutant_id", ["size_no_plus_one", "pool_stride_or_kernel",
                                       "table_fc_no_implicit_flatten",
                                       "pool_flops.range_kernel", "relu_mask_missing",
                                       "softmax_grad_sign"])
def test_grading_the_reachable_questions_only_changes_nothing(mutant_id):
    entry = next(e for e in CATALOGUE if e["id"] == mutant_id)
    assignment = load_assignment(entry["assignment"])
    env = mutants.mutant_env(entry)
    full = run_checks(lambda: env, assignment)
    lost = {q: round(r["possible"] - r["score"], 4) for q, r in full.items()
            if r["score"] < r["possible"]}
    assert mutants.grade_mutant(entry, assignment)["lost"] == lost
    assert set(lost) <= set(mutants.questions_of(entry))


def test_a_mutant_only_a_gpu_can_see_is_listed_where_there_is_one():
    import torch
    gpu_only = [m.id for m in mutants.SOURCE_MUTANTS if m.needs == "cuda"]
    assert gpu_only == ["train_moves_data_to_cpu"]
    listed = {e["id"] for e in CATALOGUE}
    assert bool(set(gpu_only) & listed) == torch.cuda.is_available()


def test_cli_json_report(capsys):
    code = main(["mutants", "cnn_costs", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {e["id"] for e in report} == {m["id"] for m in mutants.catalogue(["cnn_costs"])}
    assert all(set(e) == {"assignment", "id", "mistake", "caught", "lost"} for e in report)


def test_cli_rejects_unknown_assignment(capsys):
    assert main(["mutants", "nonsense"]) == 2
    assert "unknown assignment" in capsys.readouterr().err
