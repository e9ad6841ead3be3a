"""Mutation testing (issue 7): every catalogued student mistake must lose points."""
import json

import pytest

from autograder import mutants
from autograder.runner import load_assignment
from cnnlab.cli import main

CATALOGUE = mutants.catalogue()


def test_catalogue_is_large_and_spread_over_the_assignments():
    assert len(CATALOGUE) >= 40
    per = {a: sum(e["assignment"] == a for e in CATALOGUE)
           for a in ("cnn_costs", "cnn_architectures", "softmax_backprop")}
    assert all(n >= 8 for n in per.values()), per
    assert len({(e["assignment"], e["id"]) for e in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("mutant", mutants.SOURCE_MUTANTS, ids=lambda m: m.id)
def test_source_mutant_applies_to_the_reference(mutant):
    namespace = mutants.apply_source_mutant(mutant)
    assert namespace  # each edit was found exactly once


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: f"{e['assignment']}:{e['id']}")
def test_every_mutant_is_caught(entry):
    result = mutants.grade_mutant(entry, load_assignment(entry["assignment"]))
    assert result["caught"], f"the hidden checks miss: {entry['mistake']}"
    assert all(points > 0 for points in result["lost"].values())


def test_the_reference_itself_loses_nothing():
    from autograder.runner import run_checks
    import importlib

    for name in ("cnn_costs", "cnn_architectures", "softmax_backprop"):
        env = vars(importlib.import_module(f"solutions.{name}"))
        results = run_checks(lambda: env, load_assignment(name))
        assert all(r["score"] == r["possible"] for r in results.values()), results


def test_cli_json_report(capsys):
    code = main(["mutants", "cnn_costs", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {e["id"] for e in report} == {m["id"] for m in mutants.catalogue(["cnn_costs"])}
    assert all(set(e) == {"assignment", "id", "mistake", "caught", "lost"} for e in report)


def test_cli_rejects_unknown_assignment(capsys):
    assert main(["mutants", "nonsense"]) == 2
    assert "unknown assignment" in capsys.readouterr().err
