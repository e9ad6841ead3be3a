"""The public tests' feedback (issue 13, "Students").

A failing public test (`otter check`, `grader.check`) says what the student's function
returned, and for a catalogued mistake which one it looks like: the build writes
public_hints.py beside the student notebook (autograder/public_hints.py). These tests run the
built student folder's own test files, as Otter does, against the reference, against a wrong
implementation for every catalogued mistake, against mistakes the catalogues do not have, and
without the hints file; and they check that the hints file holds nothing but the public
tests' calls, wrong values and descriptions.
"""
from __future__ import annotations

import ast
import importlib.util
import re
import types
from pathlib import Path

import pytest
import torch
from otter.test_files.exception_test import ExceptionTestFile

from autograder import mutants, notebook_tools, registry
from autograder import public_hints
from autograder import public_hints_runtime as runtime
from autograder.checks import softmax_backprop as soft_checks
from buildcache import built
from solutions.mistakes import formulas as mistakes
from solutions.mistakes.mistake import Mistake

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = tuple(registry.master_notebooks())  # the one registry, not a list here


def master(assignment: str) -> Path:
    return ROOT / "assignments" / assignment / f"{assignment}.ipynb"


# ----------------------------------------------------------------------------- wrong code

def _mutant_env(m) -> dict:
    namespace = mutants.apply_source_mutant(m)
    return {k: v for k, v in namespace.items()
            if not k.startswith("__") and not isinstance(v, types.ModuleType)}


def _mistaken_gradient(name: str, description: str):
    """The reference's two_layer_forward_backward with grads[name] replaced by the value of
    one of the checks' `mistaken_grads`."""
    def overrides(env):
        right = env["two_layer_forward_backward"]

        def wrong(params, X, y=None, reg=0.0):
            result = right(params, X, y, reg)
            if y is None:
                return result
            loss, grads = result
            table = soft_checks.mistaken_grads(params, X, y, reg)[name]
            if description not in table:
                return result
            return loss, {**grads, name: table[description].to(grads[name].dtype)}
        return {"two_layer_forward_backward": wrong}
    return overrides


def _gradient_mistakes() -> list[tuple[str, str]]:
    X, y = torch.ones(2, 3, dtype=torch.float64), torch.tensor([0, 1])
    listed = soft_checks.mistaken_grads(soft_checks.make_params(3, 4, 2, seed=0), X, y, 0.1)
    return [(name, d) for name, table in listed.items() for d in table]


def catalogued() -> list:
    """(assignment, id, description, overrides(env) -> dict) for every catalogued mistake,
    made here from the catalogues themselves (not from the generator's list)."""
    found = [pytest.param("cnn_costs", m.description, lambda env, m=m: {m.target: m.wrong},
                          id=f"cnn_costs-{m.id}") for m in mistakes.CATALOGUE]
    found += [pytest.param(m.assignment, m.mistake, lambda env, m=m: _mutant_env(m),
                           id=f"{m.assignment}-{m.id}")
              for m in mutants.SOURCE_MUTANTS if m.assignment in ASSIGNMENTS]
    found += [pytest.param("softmax_backprop", d, _mistaken_gradient(name, d),
                           id=f"softmax_backprop-grads-{name}-{i}")
              for i, (name, d) in enumerate(_gradient_mistakes())]
    return found


# ----------------------------------------------------------------------------- running

_STUDENT: dict[str, Path] = {}


def student_folder(tmp_path_factory, assignment: str) -> Path:
    if assignment not in _STUDENT:
        _STUDENT[assignment] = built(tmp_path_factory, assignment) / assignment / "student"
    return _STUDENT[assignment]


def load_hints(student: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("public_hints", student / "public_hints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def failures(student: Path, assignment: str, overrides=None, hints="shipped") -> list[str]:
    """Run the student folder's public test files, as Otter does, against the reference
    with `overrides` swapped in; the error of each failure ("AssertionError: ...").
    hints: "shipped" (the folder's public_hints.py) or None (no such module)."""
    module = load_hints(student) if hints == "shipped" else None
    messages = []
    with public_hints.isolated(module):
        env = public_hints.reference_env(master(assignment))
        if overrides:
            env.update({k: v for k, v in overrides(env).items() if k in env})
        for path in sorted((student / "tests").glob("*.py")):
            test_file = ExceptionTestFile.from_file(str(path))
            test_file.run(env)
            # Otter's message: "failed", "Error at line ...", the failing line, the error
            messages += [r.message.strip().split("\n", 3)[-1]
                         for r in test_file.test_case_results if not r.passed]
    return messages


def explained(messages: list[str]) -> list[str]:
    """The failures whose message came from explain()."""
    prefix = "AssertionError: "
    return [m[len(prefix):] for m in messages if m.startswith(prefix) and " returned " in m]


# ----------------------------------------------------------------------------- fast tests

PRELUDE = ast.dump(ast.parse('''
try:
    from public_hints import explain
except Exception:
    explain = lambda call, got, expected, **_: f"{call} returned {got!r}, expected {expected!r}"
''').body[0])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_public_test_explains_its_failures(assignment):
    """Every public test imports explain with the fallback, every assert has a message, and
    explain's call text is a literal (the hints table's key)."""
    sources = public_hints.public_tests(master(assignment))
    assert sources
    for source in sources:
        (test,) = ast.parse(source).body
        first = next(n for n in test.body if not isinstance(n, (ast.Import, ast.ImportFrom)))
        assert ast.dump(first) == PRELUDE, f"{test.name}: no explain/fallback prelude"
        literals = {n.targets[0].id for n in ast.walk(test) if isinstance(n, ast.Assign)
                    and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)}
        asserts = [n for n in ast.walk(test) if isinstance(n, ast.Assert)]
        assert asserts, test.name
        for node in asserts:
            assert node.msg is not None, f"{test.name}: an assert without a message"
        for call in ast.walk(test):
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "explain":
                first = call.args[0]
                assert (isinstance(first, ast.Constant) and isinstance(first.value, str)) or \
                    (isinstance(first, ast.Name) and first.id in literals), \
                    f"{test.name}: explain's call must be literal text"


def test_explain_shows_tensors_briefly_and_never_raises(monkeypatch):
    t = torch.arange(20, dtype=torch.float64).reshape(4, 5) / 3
    text = runtime.explain("f(x)", t, torch.zeros(4, 5), what="grads['W1'] =")
    assert text.startswith("f(x) returned grads['W1'] = a tensor of shape (4, 5), float64: "
                           "[0, 0.3333, 0.6667, ...], expected a tensor of shape (4, 5)")
    assert "6.333" not in text  # not the whole tensor
    assert runtime.explain("f()", torch.tensor(2.5, dtype=torch.float64), 1.0) == \
        "f() returned tensor(2.5, float64), expected 1"
    with torch.device("meta"):
        assert "on the meta device" in runtime.shown(torch.empty(2, 3))
    assert runtime.explain("g()", 1_000_000, 999) == "g() returned 1,000,000, expected 999"
    assert runtime.explain("g()", [(1, 2), (3,)], "x") == "g() returned [(1, 2), (3,)], expected x"

    class Hostile:
        def __repr__(self):
            raise RuntimeError("no")
    assert runtime.explain("h()", Hostile(), 3) == "h() did not return 3"

    monkeypatch.setattr(runtime, "HINTS", {("h()", ""): [(("tensor", [2], [3.0, 3.0, 5.0, 1.0, 2.0]),
                                                          "you did X")]})
    assert runtime.explain("h()", torch.tensor([1.0, 2.0]), 0).endswith(": it looks like you did X")
    assert "looks like" not in runtime.explain("h()", torch.tensor([1.0, 2.5]), 0)
    assert "looks like" not in runtime.explain("h()", True, 0)


def test_a_new_catalogue_entry_reaches_the_hints_with_a_rebuild(monkeypatch):
    new = Mistake("size_plus_two", "cnn_costs", "conv_output_size", "added 2, not 1",
                  lambda size, kernel, stride=1, padding=0:
                  (size - kernel + 2 * padding) // stride + 2)
    monkeypatch.setattr(mistakes, "CATALOGUE", mistakes.CATALOGUE + [new])
    table = public_hints.hint_table("cnn_costs", master("cnn_costs"))
    assert (57, "you added 2, not 1") in table[("conv_output_size(227, 11, 4, 2)", "")]
    hints = types.ModuleType("public_hints")
    exec(public_hints.render(table), hints.__dict__)
    assert hints.explain("conv_output_size(227, 11, 4, 2)", 57, 56) == \
        "conv_output_size(227, 11, 4, 2) returned 57, expected 56: it looks like you added 2, not 1"


# ----------------------------------------------------------------------------- the build

@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_reference_passes_every_public_test(tmp_path_factory, assignment):
    student = student_folder(tmp_path_factory, assignment)
    assert (student / "public_hints.py").exists()
    assert failures(student, assignment) == []


@pytest.mark.slow
@pytest.mark.parametrize("assignment, description, overrides", catalogued())
def test_a_catalogued_mistake_is_named(tmp_path_factory, assignment, description, overrides):
    """Where a public test catches a catalogued mistake, its message says what came back,
    and one of its messages names the mistake (unless all it has to go on is True/False)."""
    student = student_folder(tmp_path_factory, assignment)
    messages = failures(student, assignment, overrides)
    shown = explained(messages)
    for message in shown:
        assert re.search(r" returned .+, expected .+", message, re.S), message
    named = [m for m in shown if description in m]
    if not shown:
        pytest.skip("no public test catches this mistake (the hidden tests do)")
    if assignment == "cnn_costs":  # the returned value is the call's own
        env = public_hints.reference_env(master(assignment))
        env.update(overrides(env))
        for message in shown:
            call = message.split(" returned ")[0]
            if "layers" not in call:
                value = eval(call, env)  # noqa: S307 - the public test's own literal call
                assert message.startswith(f"{call} returned {runtime.shown(value)}, "), message
    bare = [m for m in shown if re.search(r"returned [^,]*(True|False|None), expected", m)]
    assert named or len(bare) == len(shown), (description, shown)


@pytest.mark.slow
def test_the_lectures_example(tmp_path_factory):
    student = student_folder(tmp_path_factory, "cnn_costs")
    m = mistakes.BY_ID["size_no_plus_one"]
    shown = explained(failures(student, "cnn_costs", lambda env: {m.target: m.wrong}))
    assert any(s.startswith("conv_output_size(227, 11, 4, 2) returned 55, expected 56 "
                            "(AlexNet conv1 on 227 x 227): it looks like you forgot the +1 in "
                            "floor((W - K + 2P) / S) + 1") for s in shown), shown


UNCATALOGUED = {
    "cnn_costs": (  # kernel and stride swapped (values no catalogued mistake gives here)
        lambda env: (lambda right: {"conv_output_size": lambda size, kernel, stride=1, padding=0:
                                    right(size, stride, kernel, padding)})(env["conv_output_size"]),
        "conv_output_size(227, 11, 4, 2) returned 21, expected 56 (AlexNet conv1 on 227 x 227)"),
    "cnn_architectures": (  # AlexNet with an extra Linear(10, 10)
        lambda env: (lambda right: {"AlexNet": type("AlexNet", (right,), {
            "__init__": lambda self, num_classes=1000: (
                right.__init__(self, num_classes),
                setattr(self, "extra", torch.nn.Linear(10, 10)))[0]})})(env["AlexNet"]),
        "AlexNet() returned a model with parameter count 61,100,950, expected 61,100,840"),
    "softmax_backprop": (
        lambda env: (lambda right: {"softmax_loss": lambda scores, y: (
            right(scores, y)[0] + 1, right(scores, y)[1])})(env["softmax_loss"]),
        "softmax_loss(torch.zeros(2, 3, dtype=torch.float64), torch.tensor([0, 2])) returned "
        "the loss tensor(2.09861, float64), expected 1.0986123 (equal scores: every p is 1/3, "
        "L = log 3)"),
}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_mistake_the_catalogues_lack_gets_returned_and_expected(tmp_path_factory, assignment):
    student = student_folder(tmp_path_factory, assignment)
    overrides, first = UNCATALOGUED[assignment]
    shown = explained(failures(student, assignment, overrides))
    assert first in shown, shown
    assert not any("looks like" in m for m in shown), shown


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_without_the_hints_file_the_tests_still_say_what_came_back(tmp_path_factory, assignment):
    student = student_folder(tmp_path_factory, assignment)
    wrong = {"cnn_costs": "size_no_plus_one", "cnn_architectures": "vgg16_wrong_row",
             "softmax_backprop": "softmax_grad_not_divided_by_n"}[assignment]
    overrides = (lambda env: {mistakes.BY_ID[wrong].target: mistakes.BY_ID[wrong].wrong}) \
        if assignment == "cnn_costs" else \
        (lambda env: _mutant_env(next(m for m in mutants.SOURCE_MUTANTS if m.id == wrong)))
    with_file = explained(failures(student, assignment, overrides))
    without = explained(failures(student, assignment, overrides, hints=None))
    assert any("looks like" in m for m in with_file)
    assert without and not any("looks like" in m for m in without)
    assert all(re.search(r" returned .+, expected ", m, re.S) for m in without)
    if assignment == "cnn_costs":
        assert "conv_output_size(227, 11, 4, 2) returned 55, expected 56" in without


def _numbers(text: str) -> set:
    return {n.value for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Constant)
            and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_hints_file_holds_only_the_public_tests_calls(tmp_path_factory, assignment):
    student = student_folder(tmp_path_factory, assignment)
    text = (student / "public_hints.py").read_text()
    hints = load_hints(student)
    sources = public_hints.public_tests(master(assignment))
    squeezed = [re.sub(r"\s+", "", s) for s in sources]
    assert hints.HINTS, "no hints at all"
    for (call, what), entries in hints.HINTS.items():
        # the call is one a public test writes, with arguments that test uses
        owner = [s for s, q in zip(sources, squeezed) if re.sub(r"\s+", "", call) in q]
        assert owner, f"{call!r} is in no public test"
        try:
            wanted = _numbers(call)
        except SyntaxError:
            wanted = set()
        assert wanted <= set().union(*(_numbers(s) for s in owner)), call
        assert entries and all(isinstance(hint, str) and hint for _, hint in entries)
        if assignment == "cnn_costs" and "layers" not in call:  # never the right value
            try:
                right = eval(call, public_hints.reference_env(master(assignment)))  # noqa: S307
            except ValueError:
                continue  # a call that must raise
            assert not any(runtime.same(wrong, runtime.fingerprint(right)) for wrong, _ in entries)
    # code: the runtime's, and nothing else; no solution line, no hidden test
    code = [ast.dump(n) for n in ast.parse(text).body if not _is_hints(n)]
    runtime_code = [ast.dump(n) for n in ast.parse(Path(runtime.__file__).read_text()).body
                    if not _is_hints(n)]
    assert code == runtime_code
    lines = {line.strip() for line in text.split("\n")}
    assert not [line for line in notebook_tools.solution_code_lines(master(assignment))
                if line in lines]
    for needle in ("autograder", "solutions", "# HIDDEN", "check_"):
        assert needle not in text, needle


def _is_hints(node) -> bool:
    return isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "HINTS"
