"""The one catalogue of students' mistakes (solutions/mistakes): its entries are well formed,
its source edits are anchored on code (never on comments) and made by one applier, and what
reads it takes its words from it."""
from __future__ import annotations

from pathlib import Path

import pytest

from solutions import mistakes
from solutions.cnn_costs import FORMULAS
from solutions.mistakes import edits, formulas
from solutions.mistakes.edits import EditError, apply_edits, find_span, resolved_edits
from solutions.mistakes.mistake import inside

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"
SOURCE = [m for m in mistakes.CATALOGUE if m.edits]


def reference(assignment: str) -> str:
    """The reference as the mutants and a notebook cell see it: its imports of other
    solutions modules (the networks' tables) inlined."""
    from autograder.reference_source import self_contained_source

    return self_contained_source(assignment)


def test_each_entry_has_one_id_one_way_to_make_it_and_a_question():
    from autograder.mutants import QUESTION_NAMES
    assert len(mistakes.BY_ID) == len(mistakes.CATALOGUE)
    for m in mistakes.CATALOGUE:
        assert (m.wrong is None) != (not m.edits), m.id
        assert m.question in QUESTION_NAMES[m.assignment], m.id
        assert m.description and m.needs in (None, "cuda"), m.id
    assert formulas.CATALOGUE == [m for m in mistakes.of("cnn_costs") if m.wrong]


@pytest.mark.parametrize("mistake", SOURCE, ids=lambda m: m.id)
def test_source_edits_apply_and_lean_on_no_comment(mistake):
    for edit in map(edits.as_edit, mistake.edits):
        comments = [m for m in edits._LEXEME.finditer(edit.find) if m.lastgroup == "comment"]
        assert not comments, f"{mistake.id}: a find-string with a comment: {edit.find!r}"
    source = reference(mistake.assignment)
    mutated = apply_edits(source, mistake.edits)
    assert mutated != source
    compile(mutated, mistake.id, "exec")
    # the plain excerpts the public hints and the samples replace give the same text
    resolved = resolved_edits(source, mistake.edits)
    assert apply_edits(source, resolved) == mutated
    for find, replace in resolved:
        assert source.count(find) == 1
        source = source.replace(find, replace)
    assert source == mutated


SOURCE_TEXT = '''\
class A:
    def f(self, x):
        y = g(x,  1)           # N x 64 x 27 x 27
        z = g(x, 2)            # N x 64 x 13 x 13
        return y + z


class B:
    def f(self, x):
        return g(x, 1)  # "#" in a comment
'''


def test_finds_ignore_comments_and_spacing_and_must_occur_once():
    # across a comment and an aligned column, with no comment in the find-string
    assert apply_edits(SOURCE_TEXT, [("g(x, 1)\n z = g(x, 2)", "g(x, 3)\n        z = g(x, 4)")]) \
        == SOURCE_TEXT.replace("g(x,  1)           # N x 64 x 27 x 27\n        z = g(x, 2)",
                               "g(x, 3)\n        z = g(x, 4)")
    with pytest.raises(EditError, match="occurs 2 times"):
        apply_edits(SOURCE_TEXT, [("g(x, 1)", "g(x, 5)")])
    with pytest.raises(EditError, match="occurs 0 times"):
        apply_edits(SOURCE_TEXT, [("g(x, 9)", "g(x, 5)")])
    # whole lexemes only: "g(x, 1" is no prefix of "g(x, 13"
    with pytest.raises(EditError, match="occurs 0 times"):
        apply_edits(SOURCE_TEXT, [("x, 13", "x")])


def test_inside_names_the_definition_the_find_is_in():
    assert apply_edits(SOURCE_TEXT, [inside("B", "g(x, 1)", "g(x, 5)")]) == \
        SOURCE_TEXT.replace("return g(x, 1)", "return g(x, 5)")
    assert apply_edits(SOURCE_TEXT, [inside("A.f", "g(x, 1)", "g(x, 5)")]).count("g(x, 5)") == 1
    with pytest.raises(EditError, match="no definition"):
        find_span(SOURCE_TEXT, "g(x, 1)", "C")


def test_an_exact_excerpt_edits_as_a_string_replacement_does():
    for find, replace in [("        return y + z\n", "        return y\n"),
                          ("    def f(self, x):\n        y", "    def f(self, x, w=0):\n        y"),
                          ("z = g(x, 2)", "z = 0")]:
        if SOURCE_TEXT.count(find) == 1:
            assert apply_edits(SOURCE_TEXT, [(find, replace)]) == \
                SOURCE_TEXT.replace(find, replace)
    # a trailing newline takes in the rest of the line, its comment too
    assert apply_edits(SOURCE_TEXT, [("z = g(x, 2)\n", "")]).count("13 x 13") == 0


def test_the_formulas_a_size_feeds_are_read_from_the_reference_code():
    assert {k: v for k, v in formulas.REUSED_BY.items() if v} == {
        "conv_output_size": {"conv_flops"}, "pool_output_size": {"pool_flops"}}
    for m in formulas.CATALOGUE:
        swapped = vars(formulas.formulas_with(m))
        changed = {n for n, fn in swapped.items() if fn is not getattr(FORMULAS, n)}
        extra = {"memory_kb"} if m.target in ("conv_output_size", "pool_output_size") else set()
        assert changed == {m.target} | formulas.REUSED_BY[m.target] | extra, m.id


def test_the_gradient_feedback_takes_the_catalogue_words():
    import torch

    from autograder.checks import softmax_backprop as checks
    X, y = torch.ones(2, 3, dtype=torch.float64), torch.tensor([0, 1])
    listed = checks.mistaken_grads(checks.make_params(3, 4, 2, seed=0), X, y, 0.1)
    words = {d for table in listed.values() for d in table}
    by_id = {i: mistakes.BY_ID[i].description for i in (
        "dw2_reg_without_2", "dw1_no_reg", "softmax_grad_not_divided_by_n",
        "regularized_biases", "relu_mask_missing")}
    assert words == set(by_id.values())
    # as the students have always read them
    assert by_id["dw2_reg_without_2"] == ("forgot the factor 2 in the L2 gradient: d/dW of "
                                          "reg*sum(W**2) is 2*reg*W (the contract's L2 term "
                                          "has no 1/2)")
    assert by_id["softmax_grad_not_divided_by_n"] == \
        "forgot to divide by N (dscores is (softmax - onehot) / N)"
